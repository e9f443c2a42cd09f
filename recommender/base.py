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

CHECKPOINT_NAME = "checkpoint.pt"

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
    ``item_ids``) and set ``self.prior``; ``_score_known`` scores users the model saw;
    ``_state_dict``/``_load_state`` hold whatever tensors the model needs beyond the prior.
    """

    kind: ClassVar[str]
    """Registry name, saved in the checkpoint: "popularity", "mf", ..."""
    config_class: ClassVar[type]
    """The model's ``@dataclass`` config; its ``asdict`` is saved and fed back on load."""

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
    def fit(self, interactions: Interactions, *, rng: np.random.Generator | None = None) -> Self:
        """Learn from ``interactions``, replacing anything learned before; returns ``self``.

        ``rng``, when given, is the only source of randomness; otherwise the config's seed is.
        """

    def score(self, user_ids: Sequence[str], *, at: float | None = None) -> np.ndarray:
        """(B, n_items) float32 scores over ``self.item_ids``; higher means show it sooner.

        A member the model never saw gets ``self.prior`` (recency-weighted popularity), so
        serving never fails for a new member. ``at`` is the request time in unix seconds,
        for time-aware models; the current models ignore it.
        """
        if not self.item_ids:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit() or load()")
        rows = np.array([self._user_index.get(str(u), -1) for u in user_ids], np.int64)
        out = np.broadcast_to(self.prior, (len(rows), len(self.item_ids))).copy()  # (B, I)
        known = rows >= 0
        if known.any():
            out[known] = self._score_known(rows[known], at=at)
        return out

    @abstractmethod
    def _score_known(self, rows: np.ndarray, *, at: float | None) -> np.ndarray:
        """(b, n_items) float32 scores for users at positions ``rows`` of ``self.user_ids``."""

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
            "state_dict": {"prior": torch.from_numpy(self.prior.copy()), **self._state_dict()},
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
        model.prior = prior.numpy().astype(np.float32)
        try:
            model._load_state(state)
        except (KeyError, RuntimeError, ValueError) as error:
            raise CheckpointError(
                f"{where}: state_dict does not fit {cls.__name__}: {error}"
            ) from None
        return model

    def _index(self, interactions: Interactions) -> IndexedInteractions:
        """Fix ``user_ids``/``item_ids`` (sorted, so the order never depends on row order)."""
        if len(interactions) == 0:
            raise ValueError(f"{type(self).__name__}.fit needs at least one interaction")
        users, user_rows = np.unique(interactions.user_ids, return_inverse=True)
        items, item_cols = np.unique(interactions.item_ids, return_inverse=True)
        self.user_ids = [str(u) for u in users]
        self.item_ids = [str(i) for i in items]
        self._user_index = {u: row for row, u in enumerate(self.user_ids)}
        return IndexedInteractions(
            users=user_rows.astype(np.int64),
            items=item_cols.astype(np.int64),
            timestamps=interactions.timestamps,
            weights=interactions.weights,
            n_users=len(users),
            n_items=len(items),
        )


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
