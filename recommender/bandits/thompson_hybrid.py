"""Linear Thompson sampling over the hybrid model (shared weights over context x features).

Thompson sampling (:mod:`recommender.bandits.thompson`: fresh draw per position, Monte
Carlo propensities) on Li et al.'s hybrid model (:mod:`recommender.bandits.linear`): a draw
is ``beta ~ N(beta_hat, v^2 A0^-1)`` shared by every action, then each action's own
``theta_a`` given ``beta``. An action never shown is drawn from what its features imply
through ``beta``, so a new title or a new artwork variant can win on evidence from similar
ones. Needs ``Candidates.features`` and ``Feedback.action_features``.
"""

from __future__ import annotations

from recommender.bandits.thompson import Thompson


class ThompsonHybrid(Thompson):
    """Hybrid linear Thompson sampling (module docstring)."""

    name = "thompson_hybrid"
    hybrid = True
