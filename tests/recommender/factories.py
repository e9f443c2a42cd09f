"""Small, seeded interaction logs for the recommender tests."""

from __future__ import annotations

import numpy as np

from recommender.data import Interactions

T0 = 1_700_000_000.0
"""Unix time of the first synthetic interaction (2023-11-14)."""
DAY = 86_400.0


def clustered_interactions(
    rng: np.random.Generator,
    *,
    n_users: int = 300,
    n_items: int = 120,
    n_clusters: int = 4,
    per_user: int = 30,
    in_cluster: float = 0.85,
    days: float = 28.0,
) -> Interactions:
    """Members who each mostly watch titles of their own taste cluster.

    Every member and title belongs to one cluster; a member picks ``per_user`` distinct
    titles, ``in_cluster`` of the probability mass going to their cluster, weighted within it
    by a long-tailed appeal, at uniformly random times over ``days``. Popularity alone cannot
    see the clusters, so a personalized model should rank clearly better.
    """
    user_cluster = rng.integers(n_clusters, size=n_users)
    item_cluster = np.arange(n_items) % n_clusters
    appeal = rng.pareto(1.5, size=n_items) + 1.0
    users: list[str] = []
    items: list[str] = []
    for user in range(n_users):
        same = item_cluster == user_cluster[user]
        mass = np.where(same, in_cluster / same.sum(), (1 - in_cluster) / (~same).sum())
        p = appeal * mass
        chosen = rng.choice(n_items, size=per_user, replace=False, p=p / p.sum())
        users += [f"u{user}"] * per_user
        items += [f"i{item}" for item in chosen]
    timestamps = T0 + rng.uniform(0.0, days * DAY, size=len(users))
    return Interactions.from_records(users, items, timestamps)
