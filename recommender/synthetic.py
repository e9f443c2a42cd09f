"""Seeded synthetic logs shared by the tests and the studies that quote their figures."""

from __future__ import annotations

import numpy as np

from recommender.data import Interactions

T0 = 1_700_000_000.0
"""Unix time of the first synthetic interaction (2023-11-14)."""
DAY = 86_400.0


def chain_interactions(
    rng: np.random.Generator, *, n_users: int = 200, n_items: int = 40, per_user: int = 12
) -> Interactions:
    """Members who each walk the catalogue in order: i, i+1, i+2, ... from a random start.

    Every title is equally popular and every member sees every neighbourhood, so a model of
    who-likes-what (MF) has nothing to go on; only the order of plays predicts the next one.
    """
    users: list[str] = []
    items: list[str] = []
    times: list[float] = []
    for user in range(n_users):
        start = int(rng.integers(n_items))
        t = T0 + rng.uniform(0, DAY)
        for step in range(per_user):
            users.append(f"u{user}")
            items.append(f"i{(start + step) % n_items}")
            times.append(t)
            t += rng.uniform(0.5, 2.0) * DAY
    return Interactions.from_records(users, items, times)
