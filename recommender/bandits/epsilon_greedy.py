"""Epsilon-greedy over the production model's scores, position by position.

The oldest exploration rule there is (Sutton and Barto, *Reinforcement Learning*, ch. 2):
exploit what the model believes, except for a fixed share ``epsilon`` of choices made
uniformly at random, so every title keeps being shown now and then and the logs stay
informative about the ones the model would never pick.

At each position, over the ``n`` actions not yet placed, with ``best`` the highest-scoring
of them (ties: the first in candidate order)::

    q(a) = (1 - epsilon) * [a == best] + epsilon / n
    p(a) = floor + (1 - floor * n) * q(a)

``p`` is exact and is what :class:`~recommender.bandits.base.Choice` reports. With
``epsilon=0`` and ``floor=0`` this is the greedy ranking (propensity 1 everywhere), the
baseline the explorer is measured against. The policy has nothing to learn: the scores are
the production model's, retrained elsewhere, so ``update`` only checks its input.
"""

from __future__ import annotations

import numpy as np

from recommender.bandits.base import Candidates, Choice, Feedback, State
from recommender.bandits.params import (
    ConfiguredPolicy,
    Param,
    check_feedback,
    greedy_ranking,
    report,
    scores_of,
)


class EpsilonGreedy(ConfiguredPolicy):
    """Best remaining by score with probability 1 - epsilon, else uniform (module docstring)."""

    name = "epsilon_greedy"
    PARAMS = (
        Param("epsilon", float, 0.1, "share of uniformly random choices", 0.0, 1.0),
        Param(
            "floor",
            float,
            0.0,
            "least probability of every eligible action at every position (floor * n <= 1)",
            0.0,
            1.0,
        ),
    )
    epsilon: float
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
        scores, eps = scores_of(self.name, candidates), self.epsilon
        index, p, q, left = greedy_ranking(scores, k, eps, self.floor, rng)
        return self._choice(candidates, index, report(p, q, index, self.floor, left))

    def _own_each(self, context: np.ndarray, candidates: Candidates, size: int) -> np.ndarray:
        scores = scores_of(self.name, candidates).reshape(-1, size)
        q = np.full(scores.shape, self.epsilon / size)
        q[np.arange(len(q)), np.argmax(scores, axis=1)] += 1.0 - self.epsilon
        return q

    def update(self, batch: Feedback) -> None:
        """Nothing to learn (module docstring); the batch is still checked."""
        check_feedback(batch)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {}

    def load_state_dict(self, state: State) -> None:
        if len(state):
            raise ValueError(f"epsilon_greedy has no state; got {', '.join(state)}")
