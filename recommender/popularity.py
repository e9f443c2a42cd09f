"""Recency-weighted popularity: the baseline every personalized model has to beat.

Every member sees the same ranking: titles ordered by how much they were watched lately,
each interaction counting ``weight * 0.5 ** (age / half_life)``. It is also the prior that
every model serves to members it has never seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np
import torch

from recommender.base import IndexedInteractions, Recommender
from recommender.data import Interactions
from recommender.metadata import ItemMetadata

SECONDS_PER_DAY = 86_400.0


@dataclass
class PopularityConfig:
    """Settings of :class:`PopularityRecommender`."""

    half_life_days: float = 7.0
    """An interaction this many days older than the newest one counts half as much."""

    def __post_init__(self) -> None:
        if not self.half_life_days > 0:
            raise ValueError(f"half_life_days must be > 0, got {self.half_life_days}")


def recency_popularity(data: IndexedInteractions, *, half_life_days: float) -> np.ndarray:
    """(n_items,) float32 sum of ``weight * 0.5 ** ((t_ref - t) / half_life)`` per item.

    ``t_ref`` is the newest timestamp in ``data``, so the newest interaction counts its full
    weight and scores stay comparable in size whatever the calendar date.
    """
    age_days = (data.timestamps.max() - data.timestamps) / SECONDS_PER_DAY  # (N,) >= 0
    decayed = data.weights * np.exp2(-age_days / half_life_days)
    return np.bincount(data.items, weights=decayed, minlength=data.n_items).astype(np.float32)


class PopularityRecommender(Recommender):
    """The same recency-weighted popularity scores for every member.

    ``score(at=...)`` ignores ``at``: decaying every title to a later time multiplies all
    scores by one factor, which leaves the ranking unchanged.
    """

    kind = "popularity"
    config_class = PopularityConfig

    def __init__(self, config: PopularityConfig | None = None) -> None:
        super().__init__(config)

    def fit(
        self,
        interactions: Interactions,
        *,
        items: ItemMetadata | None = None,
        rng: np.random.Generator | None = None,
        warm_start: Recommender | None = None,
    ) -> Self:
        """Count decayed interactions per title; deterministic, so ``rng`` is unused.

        Titles in ``items`` without plays score 0; ``warm_start`` is ignored (a count has
        nothing to warm up).
        """
        data = self._index(interactions, items)
        self.prior = recency_popularity(data, half_life_days=self.config.half_life_days)
        return self

    def _score_known(self, rows: np.ndarray, *, at: np.ndarray | None) -> np.ndarray:
        return np.broadcast_to(self.prior, (len(rows), len(self.prior))).copy()

    def _state_dict(self) -> dict[str, torch.Tensor]:
        return {}

    def _load_state(self, state: dict[str, torch.Tensor]) -> None:
        if state:
            raise ValueError(f"unexpected tensors {sorted(state)}")
