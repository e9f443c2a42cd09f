"""Continuous time and catalogue features, shared by training and serving (no skew).

Netflix's lesson from a decade of deep recommenders (Steck et al., *Deep Learning for
Recommender Systems: A Netflix Case Study*, AI Magazine 2021): deep models beat tuned simple
baselines only once they get heterogeneous inputs, above all time as a *continuous* feature,
so a model can learn what a member watches on a Sunday evening versus a weekday morning.

Every function here is pure numpy on unix seconds (UTC), vectorised over arrays, with no
state. The platform logs the features of each impression with these same functions and the
models compute their inputs with them, so training and serving can never disagree. Keep the
signatures stable: a change here changes what every logged impression means.

Signatures (all inputs broadcast; outputs float32):

- ``cyclic_time(t) -> (..., 4)``: sin/cos of time of day, sin/cos of time of week.
- ``time_since(t, event_t) -> (...)``: ``log1p(hours)`` elapsed, clipped at 0.
- ``days_in_catalog(t, added_at) -> (...)``: days since the title entered the catalogue
  (``nan`` when unknown), clipped at 0.
- ``release_age(t, year) -> (...)``: years since the release year (``nan`` when unknown).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

SECONDS_PER_HOUR = 3_600.0
SECONDS_PER_DAY = 86_400.0
SECONDS_PER_WEEK = 7 * SECONDS_PER_DAY
SECONDS_PER_YEAR = 365.2425 * SECONDS_PER_DAY
UNIX_EPOCH_YEAR = 1970.0
MONDAY_OFFSET = 3 * SECONDS_PER_DAY
"""1970-01-01 was a Thursday; shifting by 3 days makes phase 0 of the week Monday 00:00 UTC."""

N_CYCLIC = 4
"""Width of :func:`cyclic_time`."""


def cyclic_time(t: ArrayLike) -> np.ndarray:
    """(..., 4) float32 ``[sin, cos]`` of the time of day, then of the time of week (UTC).

    Sine and cosine together make 23:59 and 00:00 neighbours, which a raw hour is not.
    """
    if isinstance(t, float | int):
        return _cyclic_time_one(float(t))
    seconds = np.asarray(t, np.float64)
    day = 2 * np.pi * np.mod(seconds, SECONDS_PER_DAY) / SECONDS_PER_DAY
    week = 2 * np.pi * np.mod(seconds + MONDAY_OFFSET, SECONDS_PER_WEEK) / SECONDS_PER_WEEK
    return np.stack([np.sin(day), np.cos(day), np.sin(week), np.cos(week)], -1).astype(np.float32)


_TWO_PI = 2 * np.pi


def _cyclic_time_one(seconds: float) -> np.ndarray:
    """`cyclic_time` of one time (a page's), in five numpy calls instead of fifteen: the
    phases on Python floats, which are the array path's IEEE operations in the same order
    (``%`` is ``np.mod`` for floats), and the sines and cosines by numpy's own functions,
    so the numbers are the same bit for bit."""
    day = _TWO_PI * (seconds % SECONDS_PER_DAY) / SECONDS_PER_DAY
    week = _TWO_PI * ((seconds + MONDAY_OFFSET) % SECONDS_PER_WEEK) / SECONDS_PER_WEEK
    return np.array([np.sin(day), np.cos(day), np.sin(week), np.cos(week)], np.float32)


def time_since(t: ArrayLike, event_t: ArrayLike) -> np.ndarray:
    """(...) float32 ``log1p(hours from event_t to t)``, 0 for events at or after ``t``.

    The log keeps minutes-apart plays distinguishable while months-old ones saturate.
    """
    hours = (np.asarray(t, np.float64) - np.asarray(event_t, np.float64)) / SECONDS_PER_HOUR
    return np.log1p(np.maximum(hours, 0.0)).astype(np.float32)


def days_in_catalog(t: ArrayLike, added_at: ArrayLike) -> np.ndarray:
    """(...) float32 days the title has been in the catalogue at ``t``; ``nan`` if unknown.

    Titles added after ``t`` (a future release already in the metadata) count as 0 days.
    """
    added = np.asarray(added_at, np.float64)
    days = (np.asarray(t, np.float64) - added) / SECONDS_PER_DAY
    return np.where(np.isnan(added), np.nan, np.maximum(days, 0.0)).astype(np.float32)


def release_age(t: ArrayLike, year: ArrayLike) -> np.ndarray:
    """(...) float32 years from the middle of the release ``year`` to ``t``; ``nan`` if unknown.

    May be negative for announced titles; the models clip and log-compress it themselves.
    """
    now_year = UNIX_EPOCH_YEAR + np.asarray(t, np.float64) / SECONDS_PER_YEAR
    return (now_year - (np.asarray(year, np.float64) + 0.5)).astype(np.float32)
