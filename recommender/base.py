"""The one contract every recommender fits, plus checkpoint reading and model dispatch.

Serving (platform/ranking) and training (platform/modeling, the CLI) only ever talk to a
:class:`Recommender`: ``fit`` on interactions, ``score`` every title for a batch of members,
``save``/``load`` a checkpoint. A new model (EASE, a SASRec-like transformer) subclasses it,
sets ``kind`` and ``config_class``, and is imported in ``recommender/__init__.py``; defining
the subclass registers it in :data:`MODELS`, which :func:`load_model` dispatches on.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import torch

from recommender.data import Interactions
from recommender.metadata import ItemMetadata

CHECKPOINT_NAME = "checkpoint.pt"
HISTORY_KEYS = ("history_offsets", "history_items", "history_times")
"""Reserved state_dict names: every member's training plays, kept so that ``score`` can use
them (sequence models, EASE) and ``recommend`` can exclude them. Older checkpoints lack them."""

History = Sequence[
    tuple[str, float] | tuple[str, float, str | None] | tuple[str, float, str | None, float]
]
"""A member's plays known at request time: ``(item_id, unix_seconds)`` pairs, oldest first;
a play may add its device (``str`` or None) and its watch weight (what the log's ``weight``
holds), which models that read them (SASRec with ``use_device``/``merge_repeats``) use and
the others ignore."""

MODELS: dict[str, type[Recommender]] = {}
"""Every concrete model by its ``kind``; filled as the model classes are defined."""


class CheckpointError(ValueError):
    """A model directory that cannot be loaded: missing, corrupt, or of the wrong kind.

    Serving catches this one exception to fall back to the last good model or popularity.
    """


@dataclass(frozen=True)
class IndexedInteractions:
    """Interactions with ids replaced by positions in the model's user and item lists."""

    users: np.ndarray
    """(N,) int64 row in ``model.user_ids``."""
    items: np.ndarray
    """(N,) int64 column in ``model.item_ids``."""
    timestamps: np.ndarray
    """(N,) float64 unix seconds."""
    weights: np.ndarray
    """(N,) float32 positive weights."""
    n_users: int
    """Number of distinct users (``len(model.user_ids)``)."""
    n_items: int
    """Number of distinct items (``len(model.item_ids)``)."""


class Recommender(ABC):
    """Fit on interactions, then score the whole catalogue for any batch of members.

    Contract for subclasses: ``fit`` must call :meth:`_index` (which fixes ``user_ids``,
    ``item_ids`` and the members' play histories) and set ``self.prior``; a model scores
    either members it saw (``_score_known``) or, with ``uses_history = True``, play
    histories (``_score_histories``); ``_state_dict``/``_load_state`` hold whatever tensors
    the model needs beyond the prior and histories; ``_extend_items`` grows them for titles
    added after training.
    """

    kind: ClassVar[str]
    """Registry name, saved in the checkpoint: "popularity", "mf", ..."""
    config_class: ClassVar[type]
    """The model's ``@dataclass`` config; its ``asdict`` is saved and fed back on load."""

    uses_history: ClassVar[bool] = False
    """True for models that score from the member's plays (EASE, SASRec): ``score`` then
    accepts ``histories`` and personalizes members it never saw in training."""

    def __init__(self, config: Any = None) -> None:
        self.config = config if config is not None else self.config_class()
        if not isinstance(self.config, self.config_class):
            raise TypeError(
                f"{type(self).__name__} takes a {self.config_class.__name__}, "
                f"got {type(config).__name__}"
            )
        self.item_ids: list[str] = []
        self.user_ids: list[str] = []
        self.prior = np.zeros(0, np.float32)  # (n_items,) scores for members the model never saw
        self._user_index: dict[str, int] = {}
        self._item_index: dict[str, int] = {}
        self._history_offsets = np.zeros(1, np.int64)  # (n_users + 1,) CSR row starts
        self._history_items = np.zeros(0, np.int64)  # (N,) columns, each member oldest first
        self._history_times = np.zeros(0, np.float64)  # (N,) unix seconds

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if kind is None:
            return
        known = MODELS.get(kind)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise TypeError(f"model kind {kind!r} is taken by {known.__qualname__}")
        MODELS[kind] = cls

    @abstractmethod
    def fit(
        self,
        interactions: Interactions,
        *,
        items: ItemMetadata | None = None,
        rng: np.random.Generator | None = None,
        warm_start: Recommender | None = None,
    ) -> Self:
        """Learn from ``interactions``, replacing anything learned before; returns ``self``.

        ``items``: title metadata; every title in it joins ``item_ids`` even with no plays.
        Models that cannot read metadata still rank those titles (by their prior).
        ``rng``, when given, is the only source of randomness; otherwise the config's seed is.
        ``warm_start``: a previous version to start from; models that cannot use one ignore it.
        """

    def score(
        self,
        user_ids: Sequence[str],
        *,
        at: float | Sequence[float] | np.ndarray | None = None,
        histories: Sequence[History | None] | None = None,
        devices: str | Sequence[str | None] | None = None,
    ) -> np.ndarray:
        """(B, n_items) float32 scores over ``self.item_ids``; higher means show it sooner.

        ``at``: request time in unix seconds, one for all or one per member; time-aware
        models use it, others ignore it. ``histories``: per member, the plays known at request
        time (``(item_id, unix_seconds)``, oldest first), or ``None`` for "what training saw".
        History models (``uses_history``) score from it, so they use plays made after
        training and personalize members they never saw; other models ignore it. Titles in
        a history the model does not know are skipped. A member with no usable history (or,
        for other models, a member the model never saw) gets ``self.prior``. ``devices``:
        the device each request comes from (one for all, or one per member; None unknown),
        read by models that use it (SASRec with ``use_device``), ignored by the others.
        """
        if not self.item_ids:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit() or load()")
        n = len(user_ids)
        if histories is not None and len(histories) != n:
            raise ValueError(f"histories has {len(histories)} entries for {n} user_ids")
        times = None
        if at is not None:
            times = np.broadcast_to(np.asarray(at, np.float64), (n,)).copy()  # (B,)
            if not np.isfinite(times).all():
                raise ValueError(f"at must be finite unix seconds, got {at!r}")
        if devices is None or isinstance(devices, str):
            request_devices = [devices] * n
        else:
            request_devices = list(devices)
            if len(request_devices) != n:
                raise ValueError(f"devices has {len(request_devices)} entries for {n} user_ids")
        rows = np.array([self._user_index.get(str(u), -1) for u in user_ids], np.int64)
        out = np.broadcast_to(self.prior, (n, len(self.item_ids))).copy()  # (B, I)
        if self.uses_history:
            sequences = [
                self._sequence(row=int(rows[b]), plays=None if histories is None else histories[b])
                for b in range(n)
            ]
            active = np.array(
                [b for b in range(n) if self._sequence_length(sequences[b])], np.int64
            )
            if len(active):
                out[active] = self._score_histories(
                    [sequences[b] for b in active],
                    at=None if times is None else times[active],
                    devices=[request_devices[b] for b in active],
                )
            return out
        known = rows >= 0
        if known.any():
            out[known] = self._score_known(rows[known], at=None if times is None else times[known])
        return out

    def history(
        self, *, row: int = -1, plays: History | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """A member's plays as (columns (n,) int64, times (n,) float64), oldest first.

        ``plays`` (request-time history) wins over the training history of ``row``; titles
        unknown to the model are dropped.
        """
        if plays is not None:
            pairs = [(self._item_index.get(str(p[0]), -1), float(p[1])) for p in plays]
            pairs = [(c, t) for c, t in pairs if c >= 0]
            if not pairs:
                return np.zeros(0, np.int64), np.zeros(0, np.float64)
            columns, times = (np.array(x) for x in zip(*pairs, strict=True))
            order = np.argsort(times, kind="stable")
            return columns.astype(np.int64)[order], times.astype(np.float64)[order]
        if row < 0 or row + 1 >= len(self._history_offsets):
            return np.zeros(0, np.int64), np.zeros(0, np.float64)
        start, stop = self._history_offsets[row], self._history_offsets[row + 1]
        return self._history_items[start:stop], self._history_times[start:stop]

    def _sequence(self, *, row: int = -1, plays: History | None = None) -> Any:
        """What ``_score_histories`` gets per member: :meth:`history`'s (columns, times) by
        default; a model that reads more of each play (SASRec) returns more, and says how
        many plays it holds in :meth:`_sequence_length`."""
        return self.history(row=row, plays=plays)

    def _sequence_length(self, sequence: Any) -> int:
        """Usable plays in what :meth:`_sequence` returned."""
        return len(sequence[0])

    @property
    def has_history(self) -> bool:
        """Whether the model holds its members' training plays (checkpoints written before
        models kept their training histories do not)."""
        return len(self._history_offsets) == len(self.user_ids) + 1 and len(self.user_ids) > 0

    def _score_histories(
        self,
        histories: list[Any],
        *,
        at: np.ndarray | None,
        devices: list[str | None] | None = None,
    ) -> np.ndarray:
        """(b, n_items) scores from what :meth:`_sequence` returned per member, ``at`` (b,)
        request times or None, ``devices`` the requests' devices; history models
        (``uses_history``) override it."""
        raise NotImplementedError(f"{type(self).__name__} does not score from histories")

    def extend_items(self, items: ItemMetadata) -> list[str]:
        """Add titles that entered the catalogue after training; returns the new ids.

        Titles already known are left alone. New columns are appended to ``item_ids`` (old
        columns keep their positions). Their prior is 0 (no plays yet: below every watched
        title in the popularity order); each model fills its own tensors in
        :meth:`_extend_items` (SASRec embeds them from metadata).
        """
        if not self.item_ids:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit() or load()")
        rows = [r for r, i in enumerate(items.item_ids) if str(i) not in self._item_index]
        if not rows:
            return []
        new = items.select(rows)
        new_ids = [str(i) for i in new.item_ids]
        for item in new_ids:
            self._item_index[item] = len(self.item_ids)
            self.item_ids.append(item)
        self.prior = np.concatenate([self.prior, np.zeros(len(new_ids), np.float32)])
        self._extend_items(new)
        return new_ids

    def _extend_items(self, new: ItemMetadata) -> None:
        """Grow per-title tensors by ``len(new)`` rows; the default model has none."""
        return None

    def _score_known(self, rows: np.ndarray, *, at: np.ndarray | None) -> np.ndarray:
        """(b, n_items) float32 scores for users at positions ``rows`` of ``self.user_ids``.

        Models that score from histories need not override it; ``at`` is (b,) or None.
        """
        raise NotImplementedError(f"{type(self).__name__} scores members from histories")

    @abstractmethod
    def _state_dict(self) -> dict[str, torch.Tensor]:
        """The learned tensors other than the prior."""

    @abstractmethod
    def _load_state(self, state: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`_state_dict` returned; ids, config and prior are already set."""

    def save(self, directory: str | Path) -> None:
        """Write ``directory/checkpoint.pt`` (created if needed), replacing it atomically.

        The file holds only plain data: kind, ``asdict(config)``, a state dict of tensors and
        the id lists, so it loads with ``torch.load(weights_only=True)``.
        """
        if not self.item_ids:
            raise RuntimeError(f"{type(self).__name__} is not fitted: nothing to save")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        checkpoint = {
            "kind": self.kind,
            "config": asdict(self.config),
            "state_dict": {
                "prior": torch.from_numpy(self.prior.copy()),
                "history_offsets": torch.from_numpy(self._history_offsets.copy()),
                "history_items": torch.from_numpy(self._history_items.copy()),
                "history_times": torch.from_numpy(self._history_times.copy()),
                **self._state_dict(),
            },
            "user_ids": list(self.user_ids),
            "item_ids": list(self.item_ids),
        }
        target = directory / CHECKPOINT_NAME
        partial = directory / f".{CHECKPOINT_NAME}.partial"
        torch.save(checkpoint, partial)
        os.replace(partial, target)  # a reader never sees a half-written checkpoint

    @classmethod
    def load(cls, directory: str | Path) -> Self:
        """Load a checkpoint written by ``save`` of this same model kind.

        Called on ``Recommender`` itself it loads any kind, like :func:`load_model`.
        """
        checkpoint = read_checkpoint(directory)
        if "kind" not in vars(cls):
            return _model_class(checkpoint, Path(directory))._from_checkpoint(
                checkpoint, Path(directory)
            )
        if checkpoint["kind"] != cls.kind:
            raise CheckpointError(
                f"{Path(directory) / CHECKPOINT_NAME} holds a {checkpoint['kind']!r} model, "
                f"not {cls.kind!r}; use load_model() to load any kind"
            )
        return cls._from_checkpoint(checkpoint, Path(directory))

    @classmethod
    def _from_checkpoint(cls, checkpoint: dict[str, Any], directory: Path) -> Self:
        where = directory / CHECKPOINT_NAME
        try:
            model = cls(cls.config_class(**checkpoint["config"]))
        except (TypeError, ValueError) as error:
            raise CheckpointError(f"{where}: config does not fit {cls.__name__}: {error}") from None
        state = dict(checkpoint["state_dict"])
        prior = state.pop("prior", None)
        if prior is None or prior.shape != (len(checkpoint["item_ids"]),):
            raise CheckpointError(f"{where}: state_dict has no prior matching item_ids")
        model.user_ids = list(checkpoint["user_ids"])
        model.item_ids = list(checkpoint["item_ids"])
        model._user_index = {u: row for row, u in enumerate(model.user_ids)}
        model._item_index = {item: col for col, item in enumerate(model.item_ids)}
        model.prior = prior.numpy().astype(np.float32)
        history = [state.pop(key, None) for key in HISTORY_KEYS]
        if all(h is not None for h in history):
            offsets, items, times = (h.numpy() for h in history)
            if len(offsets) != len(model.user_ids) + 1 or offsets[-1] != len(items):
                raise CheckpointError(f"{where}: history tensors do not match user_ids")
            model._history_offsets = offsets.astype(np.int64)
            model._history_items = items.astype(np.int64)
            model._history_times = times.astype(np.float64)
        try:
            model._load_state(state)
        except (KeyError, RuntimeError, ValueError) as error:
            raise CheckpointError(
                f"{where}: state_dict does not fit {cls.__name__}: {error}"
            ) from None
        return model

    def _index(
        self, interactions: Interactions, items: ItemMetadata | None = None
    ) -> IndexedInteractions:
        """Fix ``user_ids``/``item_ids`` (sorted, so the order never depends on row order).

        ``item_ids`` is every interacted title plus every title of ``items``. Also keeps each
        member's plays in time order (see :meth:`history`).
        """
        if len(interactions) == 0:
            raise ValueError(f"{type(self).__name__}.fit needs at least one interaction")
        users, user_rows = factorize(interactions.user_ids)
        catalog = interactions.item_ids
        if items is not None:
            catalog = np.concatenate([catalog, items.item_ids])
        all_items, item_cols = factorize(catalog)
        item_cols = item_cols[: len(interactions)]
        self.user_ids = [str(u) for u in users]
        self.item_ids = [str(i) for i in all_items]
        self._user_index = {u: row for row, u in enumerate(self.user_ids)}
        self._item_index = {item: col for col, item in enumerate(self.item_ids)}
        order = np.lexsort((interactions.timestamps, user_rows))  # by member, then time
        self._history_order = order  # (N,) rows of ``interactions`` in history order
        self._history_items = item_cols[order].astype(np.int64)
        self._history_times = interactions.timestamps[order].astype(np.float64)
        counts = np.bincount(user_rows, minlength=len(users))
        self._history_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return IndexedInteractions(
            users=user_rows.astype(np.int64),
            items=item_cols.astype(np.int64),
            timestamps=interactions.timestamps,
            weights=interactions.weights,
            n_users=len(users),
            n_items=len(all_items),
        )


def factorize(values: np.ndarray) -> tuple[list[str], np.ndarray]:
    """(sorted distinct values, (N,) int64 position of each value among them).

    Same result as ``np.unique(values, return_inverse=True)`` on an object array of str,
    several times faster: a dict assigns codes in one pass and only the distinct values
    are sorted (half a million plays: 0.1 s instead of 0.7 s).
    """
    codes: dict[str, int] = {}
    first = np.fromiter((codes.setdefault(v, len(codes)) for v in values), np.int64, len(values))
    distinct = list(codes)
    order = sorted(range(len(distinct)), key=distinct.__getitem__)
    rank = np.empty(len(distinct), np.int64)
    rank[order] = np.arange(len(distinct))
    return [distinct[i] for i in order], rank[first]


def read_checkpoint(directory: str | Path) -> dict[str, Any]:
    """Read and check the shape of ``directory/checkpoint.pt``; raises CheckpointError."""
    path = Path(directory) / CHECKPOINT_NAME
    if not path.is_file():
        raise CheckpointError(f"no model checkpoint at {path} (train one with recommender.train)")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a damaged file
        raise CheckpointError(f"{path} is not a readable checkpoint: {error}") from None
    expected = {"kind": str, "config": dict, "state_dict": dict, "user_ids": list, "item_ids": list}
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"{path} does not hold a checkpoint dict")
    for key, kind in expected.items():
        if not isinstance(checkpoint.get(key), kind):
            raise CheckpointError(f"{path}: {key!r} is missing or not a {kind.__name__}")
    if not all(isinstance(t, torch.Tensor) for t in checkpoint["state_dict"].values()):
        raise CheckpointError(f"{path}: state_dict holds something other than tensors")
    return checkpoint


def load_model(directory: str | Path) -> Recommender:
    """Load whatever model kind ``directory`` holds; raises CheckpointError if it cannot."""
    checkpoint = read_checkpoint(directory)
    return _model_class(checkpoint, Path(directory))._from_checkpoint(checkpoint, Path(directory))


def _model_class(checkpoint: dict[str, Any], directory: Path) -> type[Recommender]:
    model_class = MODELS.get(checkpoint["kind"])
    if model_class is None:
        raise CheckpointError(
            f"{directory / CHECKPOINT_NAME} holds an unknown model kind "
            f"{checkpoint['kind']!r}; known kinds: {', '.join(sorted(MODELS))}"
        )
    return model_class
