"""A softmax (Plackett-Luce) sampler over the production model's scores, for rankings.

Plackett-Luce (Luce 1959; Plackett 1975) draws a ranking one position at a time, each time
picking among the actions not yet placed with probability proportional to
``exp(score / temperature)``. It explores in proportion to how close a title's score is to
the best, instead of epsilon-greedy's all-or-nothing, and every ranking has a closed-form
probability, which is why it is the usual stochastic logging policy for slates (e.g. the
Plackett-Luce policies in Swaminathan et al., *Off-policy evaluation for slate
recommendation*, 2017). At each position, over the ``n`` remaining actions ``R``::

    q(a) = exp(s_a / T) / sum_{b in R} exp(s_b / T)
    p(a) = floor + (1 - floor * n) * q(a)

computed with the maximum subtracted, so large scores cannot overflow; the floor keeps a
title whose ``q`` underflows to 0 loggable. Low ``temperature`` approaches the greedy
ranking, high approaches uniform. Stateless like epsilon-greedy (the scores are learned
elsewhere).
"""

from __future__ import annotations

import numpy as np

from recommender.bandits.base import Candidates, Choice, Feedback, State
from recommender.bandits.params import (
    FLOOR,
    ConfiguredPolicy,
    Param,
    check_feedback,
    rank_greedy_or_uniform,
    remaining_rows,
    report,
    scores_of,
    with_floor,
)


class Softmax(ConfiguredPolicy):
    """Plackett-Luce over scores / temperature, mixed with the floor (module docstring)."""

    name = "softmax"
    PARAMS = (
        Param("temperature", float, 1.0, "scores are divided by it; > 0", 0.0, None, True),
        FLOOR,
    )
    temperature: float
    floor: float

    def choose(
        self,
        context: np.ndarray,
        candidates: Candidates | np.ndarray,
        k: int,
        rng: np.random.Generator,
    ) -> Choice:
        """``k`` distinct actions; ``context`` is unused (the scores already carry it)."""
        candidates, k = self._candidates(candidates, k)
        logits = scores_of(self.name, candidates) / self.temperature
        n, floor, rows = len(logits), self.floor, np.arange(k)
        keys = logits + rng.gumbel(size=n)  # first by key: a Plackett-Luce ranking
        left = n - rows
        share = (floor * left).tolist()
        index, _ = rank_greedy_or_uniform(np.argsort(-keys), share, rng.random((2, k)).tolist())
        index = np.array(index, np.int64)
        remaining = remaining_rows(n, index)  # (k, n): each position's q over its remaining
        top = np.where(remaining, logits, -np.inf).max(axis=1, keepdims=True)
        weights = np.exp(np.where(remaining, logits - top, -np.inf))
        q = weights[rows, index] / weights.sum(axis=1)
        return self._choice(
            candidates, index, report(with_floor(q, left, floor), q, index, floor, left)
        )

    def _own_each(self, context: np.ndarray, candidates: Candidates, size: int) -> np.ndarray:
        logits = scores_of(self.name, candidates).reshape(-1, size) / self.temperature
        weights = np.exp(logits - logits.max(axis=1, keepdims=True))
        return weights / weights.sum(axis=1, keepdims=True)

    def update(self, batch: Feedback) -> None:
        """Nothing to learn (module docstring); the batch is still checked."""
        check_feedback(batch)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {}

    def load_state_dict(self, state: State) -> None:
        if len(state):
            raise ValueError(f"softmax has no state; got {', '.join(state)}")
