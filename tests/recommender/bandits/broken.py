"""Broken variants for the propensity tests: sample like the policy, report a wrong formula.

``reporting(wrong)`` replaces :func:`recommender.bandits.params.report` (what a ranking
logs: ``p[j]``, the chosen action's probability at position ``j`` given those above) with
``wrong(p[j], q[j], index[j], floor, left)`` at each position, ``q[j]`` the policy's own
probability of that action there (before the floor) and ``left`` the actions remaining
there. The policy draws exactly as the real one does; a test patches it into a policy's
module and checks the chi-square rejects.
"""

from __future__ import annotations

import numpy as np


def reporting(wrong):
    def report(p, q, index, floor, left):
        return np.array(
            [wrong(p[j], q[j], int(index[j]), floor, int(left[j])) for j in range(len(index))]
        )

    return report


def forget_floor(p, q, i, floor, left):
    """Report the policy's own probability, as if there were no floor."""
    return q


def floor_over_all(n):
    """Mix the floor as if all ``n`` candidates remained at every position."""
    return lambda p, q, i, floor, left: floor + (1.0 - floor * n) * q
