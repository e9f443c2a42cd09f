"""LinUCB with the hybrid linear model (Li et al., WWW 2010, section 3.2, Algorithm 2).

The disjoint model learns nothing about an action until it is shown. The hybrid one adds
weights ``beta`` shared by every action over ``z_a = vec(x outer f_a)``, the products of
the context's entries with the action's features (Li et al. used the same outer product of
user and article features), so what was learned from one title's plays transfers to a title
never shown that has similar features::

    ucb_a = z_a . beta + x . theta_a + alpha * sqrt(s_a)

with ``s_a`` the posterior variance of the score (:mod:`recommender.bandits.linear`, which
has the block-elimination formulas). Choosing, the floor and the exact propensities are as
in :mod:`recommender.bandits.linucb`: ``1 - floor * n + floor`` on the remaining argmax,
``floor`` on every other remaining action.
"""

from __future__ import annotations

from recommender.bandits.linucb import LinUCB


class LinUCBHybrid(LinUCB):
    """Hybrid LinUCB: needs ``Candidates.features`` and ``Feedback.action_features``."""

    name = "linucb_hybrid"
    hybrid = True
