"""Broken variants for the propensity tests: sample like the policy, report a wrong formula.

``sequential_reporting(wrong)`` is :func:`recommender.bandits.params.sequential` drawing
exactly as the real one does but logging ``wrong(p, q, i, floor, left)`` instead of
``p[i]``; a test patches it into a policy's module and checks the chi-square rejects.
"""

from __future__ import annotations

import numpy as np

from recommender.bandits.params import draw


def sequential_reporting(wrong):
    def sequential(n, k, floor, rng, own):
        remaining = np.ones(n, bool)
        chosen, reported = np.empty(k, np.int64), np.empty(k)
        for j in range(k):
            left = n - j
            q = own(remaining)
            p = np.where(remaining, floor + (1.0 - floor * left) * q, 0.0)
            i = draw(p, rng)
            chosen[j], reported[j] = i, wrong(p, q, i, floor, left)
            remaining[i] = False
        return chosen, reported

    return sequential


def forget_floor(p, q, i, floor, left):
    """Report the policy's own probability, as if there were no floor."""
    return q[i]


def floor_over_all(n):
    """Mix the floor as if all ``n`` candidates remained at every position."""
    return lambda p, q, i, floor, left: floor + (1.0 - floor * n) * q[i]
