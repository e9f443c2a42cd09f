"""LinUCB with disjoint linear models (Li, Chu, Langford and Schapire, WWW 2010).

Optimism in the face of uncertainty: score every action by an upper confidence bound on its
expected reward and take the best. With one ridge regression per action id
(:class:`recommender.bandits.linear.Disjoint`)::

    ucb_a = x . theta_a + alpha * sqrt(x^T A_a^-1 x)

an action shown rarely in contexts like ``x`` has a wide bound and gets tried; one shown
often is judged by its mean. An action id never updated has the prior (``theta = 0``,
bound ``alpha * |x| / sqrt(l2)``). The argmax is deterministic, so the logged probability
comes only from the floor: at each position, over the ``n`` remaining actions,

    p(argmax) = 1 - floor * n + floor,      p(any other) = floor

exact, ties to the first candidate. A ranking of ``k`` takes the remaining argmax at each
position (the bounds do not change within one choice).
"""

from __future__ import annotations

import numpy as np

from recommender.bandits.base import Candidates, Choice
from recommender.bandits.linear import IMPORTANCE_WEIGHTED, L2, LinearPolicy
from recommender.bandits.params import FLOOR, Param, greedy_ranking, report

ALPHA = Param("alpha", float, 1.0, "width of the confidence bound (exploration); >= 0", 0.0)


class LinUCB(LinearPolicy):
    """Disjoint LinUCB: per-action ridge regression, argmax of the bound (module docstring)."""

    name = "linucb"
    PARAMS = (ALPHA, L2, FLOOR, IMPORTANCE_WEIGHTED)
    alpha: float

    def bounds(self, context: np.ndarray, candidates: Candidates) -> np.ndarray:
        """(n,) the upper confidence bound of each candidate."""
        mean, var = self.posterior(context, candidates)
        return mean + self.alpha * np.sqrt(var)

    def choose(
        self,
        context: np.ndarray,
        candidates: Candidates | np.ndarray,
        k: int,
        rng: np.random.Generator,
    ) -> Choice:
        """``k`` distinct actions, by bound, each position mixed with the floor."""
        candidates, k = self._candidates(candidates, k)
        ucb = self.bounds(context, candidates)
        index, p, q, left = greedy_ranking(ucb, k, 0.0, self.floor, rng)
        return self._choice(candidates, index, report(p, q, index, self.floor, left))

    def _own_each(self, context: np.ndarray, candidates: Candidates, size: int) -> np.ndarray:
        ucb = self.bounds(context, candidates).reshape(-1, size)
        q = np.zeros(ucb.shape)
        q[np.arange(len(q)), np.argmax(ucb, axis=1)] = 1.0
        return q
