"""Serving: load a checkpoint once, then rank the whole catalogue for one member in well under
a millisecond (embedding models) or about a millisecond (SASRec over 200 plays).

A ``Ranker`` is the one holder of a loaded model for serving, here and in the platform: it keeps
the model, the map from each title's key to its score column, and the code that adds titles
the model has not seen. It answers ``scores`` (every title's score, which the platform's rows
sort and tie-break by), ``top_k`` for one member, or ``top_k_batch`` for precomputing many.
Scores come from the model's own ``score`` (one code path with training-time evaluation); the
top k of 5,000 titles is taken with ``argpartition`` (O(I)) and only those k are sorted. Optional speed-ups for SASRec, each measured in
docs/benchmarks.md: int8 dynamic quantization of its linear layers
(``torch.ao.quantization.quantize_dynamic``) and ``torch.compile`` of its encoder.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from recommender.base import History, Recommender, load_model
from recommender.metadata import ItemMetadata


class Ranker:
    """Scores and top-k titles for members from one loaded model.

    ``model`` is a fitted :class:`Recommender` or a checkpoint directory. ``key`` turns a
    model item id (a string) into the key callers use for titles: the platform passes ``int``
    so it can look its title ids up without converting 5,000 of them on every request.
    ``quantize`` and ``compile`` apply to models with a transformer (SASRec) and are ignored
    otherwise. A Ranker is not thread-safe: ``extend_items`` grows the model; callers that
    share one between threads hold a lock around it and scoring.
    """

    def __init__(
        self,
        model: Recommender | str | Path,
        *,
        key: Callable[[str], Hashable] = str,
        quantize: bool = False,
        compile: bool = False,
    ) -> None:
        self.model = model if isinstance(model, Recommender) else load_model(model)
        net = getattr(self.model, "net", None)
        if quantize and net is not None and hasattr(net, "blocks"):
            from torch.ao.quantization import quantize_dynamic

            for block in net.blocks:
                quantize_dynamic(block, {nn.Linear}, dtype=torch.qint8, inplace=True)
        if compile and net is not None and hasattr(net, "encode"):
            net.encode = torch.compile(net.encode, dynamic=False)
        self._key = key
        self.keys: list[Hashable] = [key(item) for item in self.model.item_ids]
        """The key of the title in each score column, in column order."""
        self._column = {k: col for col, k in enumerate(self.keys)}

    @property
    def item_ids(self) -> list[str]:
        return self.model.item_ids

    def missing(self, keys: Iterable[Hashable]) -> set[Hashable]:
        """The keys among ``keys`` of titles the model has no column for yet."""
        return set(keys).difference(self._column)

    def extend_items(self, items: ItemMetadata) -> list[str]:
        """Add titles that entered the catalogue since training (see ``Recommender``); their
        columns are appended, so earlier columns and keys keep their places."""
        added = self.model.extend_items(items)
        for item in added:
            self._column[self._key(item)] = len(self.keys)
            self.keys.append(self._key(item))
        return added

    def scores(
        self,
        user_id: str | None = None,
        *,
        history: History | None = None,
        at: float | None = None,
        device: str | None = None,
    ) -> np.ndarray:
        """(I,) float32 score of every title for one member, in the order of ``keys``.

        ``history`` (``(item_id, unix_seconds)`` oldest first) overrides the training history
        for history models; ``at`` is the request time for time-aware models; ``device`` the
        request's device, for models that read it.
        """
        return self.model.score(
            [user_id or ""],
            at=at,
            histories=None if history is None else [history],
            devices=device,
        )[0]

    def top_k(
        self,
        user_id: str | None = None,
        *,
        history: History | None = None,
        at: float | None = None,
        k: int = 200,
        exclude: Iterable[str] = (),
        exclude_seen: bool = False,
        device: str | None = None,
    ) -> tuple[list[str], np.ndarray]:
        """The ``k`` best titles for one member, best first, and their (k,) float32 scores.

        ``history`` (``(item_id, unix_seconds)`` oldest first) overrides the training
        history for history models; titles with a key in ``exclude`` never appear;
        ``exclude_seen`` also drops titles in the member's history (given or from training).
        """
        scores = self.scores(user_id, history=history, at=at, device=device)
        return self._top(scores, k, self._excluded(user_id, history, exclude, exclude_seen))

    def top_k_batch(
        self,
        user_ids: Sequence[str],
        *,
        histories: Sequence[History | None] | None = None,
        at: float | Sequence[float] | None = None,
        k: int = 200,
        exclude_seen: bool = True,
        batch_size: int = 256,
    ) -> list[tuple[list[str], np.ndarray]]:
        """``top_k`` for many members, scored ``batch_size`` at a time (precomputation)."""
        out: list[tuple[list[str], np.ndarray]] = []
        times = (
            None if at is None else np.broadcast_to(np.asarray(at, np.float64), (len(user_ids),))
        )
        for start in range(0, len(user_ids), batch_size):
            users = list(user_ids[start : start + batch_size])
            hist = None if histories is None else list(histories[start : start + batch_size])
            scores = self.model.score(
                users,
                at=None if times is None else times[start : start + batch_size],
                histories=hist,
            )
            for row, user in enumerate(users):
                h = None if hist is None else hist[row]
                out.append(self._top(scores[row], k, self._excluded(user, h, (), exclude_seen)))
        return out

    def _excluded(
        self, user_id: str | None, history: History | None, exclude: Iterable[str], seen: bool
    ) -> list[int]:
        columns = [self._column[i] for i in exclude if i in self._column]
        if seen:
            row = self.model._user_index.get(str(user_id), -1) if user_id is not None else -1
            columns += self.model.history(row=row, plays=history)[0].tolist()
        return columns

    def _top(self, scores: np.ndarray, k: int, excluded: list[int]) -> tuple[list[str], np.ndarray]:
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if excluded:
            scores = scores.copy()
            scores[excluded] = -np.inf
        n = len(scores) - len(set(excluded))
        k = min(k, n)
        if k <= 0:
            return [], np.zeros(0, np.float32)
        best = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        best = best[np.argsort(-scores[best], kind="stable")]
        return [self.model.item_ids[c] for c in best], scores[best].astype(np.float32)
