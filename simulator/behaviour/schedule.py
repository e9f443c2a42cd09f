"""When members visit: the one visit schedule of the runner, the env and the client.

A member's visits on one day are a Poisson process whose intensity follows their daily and
weekly habit: the count is Poisson(activity, times the member's weekend factor on Saturdays
and Sundays) and each visit's hour is normal around the member's peak hour, wrapped at
midnight. :func:`day_visits` draws a day for a batch of members at once. The population
runner calls it for every active member, the env and the client for one member, both
through :meth:`simulator.behaviour.Population.day_visits`, so the fast path and the
faithful paths cannot drift apart.
"""

from __future__ import annotations

import numpy as np


def day_visits(
    rng: np.random.Generator,
    activity: np.ndarray,
    peak_hour: np.ndarray,
    hour_spread: np.ndarray,
    *,
    weekend_factor: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One day's visits of B members: (visitor (V,), hour (V,)), sorted by visitor, then hour.

    Args:
        rng: draws one Poisson count per member, then one normal hour per visit.
        activity: (B,) mean visits per day of each member (any time compression included).
        peak_hour: (B,) hour of day (0-24) around which each member visits.
        hour_spread: (B,) standard deviation in hours around ``peak_hour``.
        weekend_factor: (B,) multiplier on ``activity`` for this day (a weekend day, when
            members have weekly habits); None: 1.

    ``visitor`` indexes the batch (0 to B-1); hours are in [0, 24).
    """
    rate = activity if weekend_factor is None else activity * weekend_factor
    counts = rng.poisson(rate)
    visitor = np.repeat(np.arange(len(rate)), counts)
    hours = rng.normal(peak_hour[visitor], hour_spread[visitor]) % 24.0
    order = np.lexsort((hours, visitor))
    return visitor[order], hours[order]


def day_visit_hours(
    rng: np.random.Generator,
    activity: float,
    peak_hour: float,
    hour_spread: float,
    *,
    weekend_factor: float = 1.0,
    weekend: bool = False,
) -> np.ndarray:
    """Sorted hours of day (in [0, 24)) of one day's visits of one member with this habit:
    :func:`day_visits` for a batch of one (``weekend_factor`` applies when ``weekend``)."""
    _, hours = day_visits(
        rng,
        np.array([activity], dtype=np.float64),
        np.array([peak_hour], dtype=np.float64),
        np.array([hour_spread], dtype=np.float64),
        weekend_factor=np.array([weekend_factor], dtype=np.float64) if weekend else None,
    )
    return hours
