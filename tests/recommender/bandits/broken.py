"""Broken variants for the propensity tests: sample like the policy, report a wrong formula.

``reporting(wrong)`` replaces :func:`recommender.bandits.params.report` (what a ranking
logs: ``p[j, index[j]]``) with ``wrong(p[j], q[j], index[j], floor, left)`` at each
position ``j``, where ``p[j]`` and ``q[j]`` are the logged and the policy's own
distribution over the ``left`` actions remaining there (0 elsewhere). The policy draws
exactly as the real one does; a test patches it into a policy's module and checks the
chi-square rejects.
"""

from __future__ import annotations

import numpy as np


def reporting(wrong):
    def report(p, q, index, floor):
        n = p.shape[1]  # row j is position j: n - j actions remain there
        return np.array([wrong(p[j], q[j], int(i), floor, n - j) for j, i in enumerate(index)])

    return report


def forget_floor(p, q, i, floor, left):
    """Report the policy's own probability, as if there were no floor."""
    return q[i]


def floor_over_all(n):
    """Mix the floor as if all ``n`` candidates remained at every position."""
    return lambda p, q, i, floor, left: floor + (1.0 - floor * n) * q[i]
