"""Small, seeded interaction logs for the recommender tests."""

from __future__ import annotations

import numpy as np

from recommender.data import Interactions
from recommender.metadata import ItemMetadata
from recommender.synthetic import chain_interactions

T0 = 1_700_000_000.0
"""Unix time of the first synthetic interaction (2023-11-14)."""
DAY = 86_400.0
__all__ = ["chain_interactions"]  # lives in recommender.synthetic, for the studies too


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


def daypart_interactions(
    rng: np.random.Generator, *, n_users: int = 150, n_items: int = 40, per_user: int = 24
) -> Interactions:
    """Members who watch "morning" titles (even ids) at 8:00 and "evening" titles (odd) at 20:00.

    Each play's day part is random, so the history says nothing about which kind comes
    next; only the request's time of day does.
    """
    users: list[str] = []
    items: list[str] = []
    times: list[float] = []
    for user in range(n_users):
        day = 0.0
        for _ in range(per_user):
            day += int(rng.integers(1, 3))
            morning = rng.random() < 0.5
            hour = 8.0 if morning else 20.0
            pool = np.arange(0 if morning else 1, n_items, 2)
            users.append(f"u{user}")
            items.append(f"i{int(rng.choice(pool))}")
            times.append(T0 - T0 % DAY + day * DAY + hour * 3600 + rng.uniform(-1800, 1800))
    return Interactions.from_records(users, items, times)


GENRES = ("drama", "comedy", "horror", "documentary")


def genre_catalog(
    rng: np.random.Generator, *, n_users: int = 160, n_items: int = 60, per_user: int = 15
) -> tuple[Interactions, ItemMetadata]:
    """Members who each watch only titles of one genre, with metadata naming the genres.

    Title ``i{k}`` has genre ``GENRES[k % 4]`` and a synopsis that mentions it; member
    ``u{m}`` likes genre ``GENRES[m % 4]``.
    """
    genres = [GENRES[k % len(GENRES)] for k in range(n_items)]
    items = ItemMetadata.from_records(
        [f"i{k}" for k in range(n_items)],
        genres=[[g] for g in genres],
        year=rng.integers(1990, 2023, size=n_items).tolist(),
        text=[f"a {g} story number {k}" for k, g in enumerate(genres)],
        maturity=["PG" if k % 3 else "R" for k in range(n_items)],
        added_at=[T0 - 100 * DAY] * n_items,
    )
    users: list[str] = []
    played: list[str] = []
    for user in range(n_users):
        pool = [k for k in range(n_items) if k % len(GENRES) == user % len(GENRES)]
        for k in rng.choice(pool, size=min(per_user, len(pool)), replace=False):
            users.append(f"u{user}")
            played.append(f"i{k}")
    times = T0 + rng.uniform(0, 20 * DAY, size=len(users))
    return Interactions.from_records(users, played, times), items


def device_interactions(
    rng: np.random.Generator, *, n_users: int = 150, n_items: int = 40, per_user: int = 24
) -> Interactions:
    """Members who watch "tv" titles (even ids) on the TV and "phone" titles (odd) on the
    phone, at random hours. Each play's device is random, so neither the history nor the
    time says which kind comes next; only the request's device does."""
    users: list[str] = []
    items: list[str] = []
    times: list[float] = []
    devices: list[str] = []
    for user in range(n_users):
        t = T0 + rng.uniform(0, DAY)
        for _ in range(per_user):
            tv = rng.random() < 0.5
            pool = np.arange(0 if tv else 1, n_items, 2)
            users.append(f"u{user}")
            items.append(f"i{int(rng.choice(pool))}")
            times.append(t)
            devices.append("tv" if tv else "phone")
            t += rng.uniform(0.3, 2.0) * DAY
    return Interactions.from_records(users, items, times, devices=devices)


def repeat_interactions(
    rng: np.random.Generator, *, n_users: int = 120, n_items: int = 40, per_user: int = 12
) -> Interactions:
    """Chain walkers (see :func:`chain_interactions`) who play each title 1 to 4 times in a
    row (episodes of one show, say), each play's weight a random watch fraction."""
    users: list[str] = []
    items: list[str] = []
    times: list[float] = []
    weights: list[float] = []
    for user in range(n_users):
        start = int(rng.integers(n_items))
        t = T0 + rng.uniform(0, DAY)
        for step in range(per_user):
            for _ in range(int(rng.integers(1, 5))):
                users.append(f"u{user}")
                items.append(f"i{(start + step) % n_items}")
                times.append(t)
                weights.append(float(rng.uniform(0.2, 1.0)))
                t += rng.uniform(0.02, 0.5) * DAY
    return Interactions.from_records(users, items, times, weights)


def watch_catalog(
    rng: np.random.Generator, *, n_users: int = 160, n_items: int = 60, per_user: int = 15
) -> tuple[Interactions, ItemMetadata]:
    """:func:`genre_catalog`'s titles; each member plays their liked genre 70% of the time
    and watches it through (weight 0.9), other genres 30%, abandoned early (weight 0.1)."""
    _, items = genre_catalog(np.random.default_rng(0), n_items=n_items)
    users: list[str] = []
    played: list[str] = []
    weights: list[float] = []
    for user in range(n_users):
        liked = user % len(GENRES)
        for _ in range(per_user):
            keep = rng.random() < 0.7
            pool = [k for k in range(n_items) if (k % len(GENRES) == liked) == keep]
            users.append(f"u{user}")
            played.append(f"i{int(rng.choice(pool))}")
            weights.append(0.9 if keep else 0.1)
    times = T0 + np.sort(rng.uniform(0, 20 * DAY, size=len(users)))
    return Interactions.from_records(users, played, times, weights), items
