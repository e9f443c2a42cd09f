"""The explorer's context vectors and action features, from the models' own feature code.

Every vector here is built from :mod:`recommender.features` (the functions the models and
the fact log use, so a logged context means what serving meant) plus what the production
model already knows: its score of a title, or the member's embedding. Keep the entries and
their order stable: a bandit's state is only meaningful for the layout it was trained on
(``layout`` strings are logged with the policy state for that reason).

**Member context** ``x`` (:func:`member_context`, ``MEMBER_BASE + taste`` entries), the
``context`` of every decision about one member's page:

====  ==========  ==========================================================================
 0    bias        1.0, so a linear model has an intercept
 1    day_sin     sin of the time of day (UTC), ``cyclic_time(t)[0]``
 2    day_cos     cos of the time of day, ``cyclic_time(t)[1]``
 3    week_sin    sin of the time of week (phase 0 = Monday 00:00 UTC), ``cyclic_time(t)[2]``
 4    week_cos    cos of the time of week, ``cyclic_time(t)[3]``
 5..  taste_i     the member's model embedding, randomly projected to ``taste`` entries and
                  scaled to unit length (0 when the member has no embedding: a new member)
====  ==========  ==========================================================================

The projection (:func:`taste`) is a fixed Gaussian matrix drawn from ``seed``, so serving
and training agree without storing it; unit length keeps the ridge prior on the same scale
for every member.

**Title features** ``f`` (:func:`title_features`, ``TITLE_FEATURES`` = 5 entries), the
``Candidates.features`` of an exploration-slot decision (hybrid policies: a title never
shown is judged by these):

====  ==========  ==========================================================================
 0    bias        1.0 (with the member context: a per-context intercept shared by titles)
 1    score       the production model's score of the title, standardized over the page's
                  candidates (mean 0, sd 1; 0 if all equal)
 2    new         1.0 if the title entered the catalogue at most ``new_days`` days ago
 3    catalog     ``log1p(days_in_catalog) / log1p(3650)``, capped at 1; 1 if unknown
 4    age         ``release_age`` in years / 50, clipped to [0, 1]; 0.5 if unknown
====  ==========  ==========================================================================

**Row kinds** and **artwork variants** are one-hot (:func:`one_hot`): ``f[i] = 1`` for row
kind or artwork style ``i``. With the hybrid model ``z = x outer f`` then holds one weight
per (member-context entry, style): how this kind of member at this time of week responds to
a style, shared by every title, which is what lets a never-shown variant be chosen.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.typing import ArrayLike

from recommender.features import cyclic_time, days_in_catalog, release_age

MEMBER_BASE = 5
"""Entries of the member context before the taste entries (bias + cyclic time)."""
TASTE = 4
"""Default number of projected embedding entries."""
TITLE_FEATURES = 5
"""Width of :func:`title_features`."""
NEW_DAYS = 30.0
"""A title at most this many days in the catalogue is a new arrival."""
MEMBER_ENTRIES = ("bias", "day_sin", "day_cos", "week_sin", "week_cos")
TITLE_ENTRIES = ("bias", "score", "new", "catalog", "age")


def layout(taste_dims: int = TASTE) -> str:
    """A string naming the member-context layout, logged beside a bandit's state."""
    return f"member:{','.join(MEMBER_ENTRIES)},taste*{taste_dims}"


@functools.lru_cache(maxsize=32)
def _projection(width: int, dims: int, seed: int) -> np.ndarray:
    """(width, dims) the fixed Gaussian projection of :func:`taste`, drawn once per shape
    (read-only: it is shared by every call)."""
    projection = np.random.default_rng(seed).standard_normal((width, dims))
    projection.flags.writeable = False
    return projection


def taste(embedding: ArrayLike | None, dims: int = TASTE, seed: int = 0) -> np.ndarray:
    """(..., dims) a member embedding (..., E) projected by a fixed Gaussian matrix, unit length.

    ``None`` (a member the model has no embedding for) gives zeros.
    """
    if embedding is None:
        return np.zeros(dims)
    e = np.asarray(embedding, np.float64)
    projected = e @ _projection(e.shape[-1], dims, seed)
    if projected.ndim == 1:  # one member (a page's): the same numbers in fewer numpy calls
        norm = np.sqrt(np.add.reduce(projected * projected))
        return projected / norm if norm > 0 else np.zeros(dims)
    norm = np.sqrt(np.add.reduce(projected * projected, axis=-1, keepdims=True))  # as linalg.norm
    return np.divide(projected, norm, out=np.zeros_like(projected), where=norm > 0)


def member_context(
    t: ArrayLike, embedding: ArrayLike | None = None, *, dims: int = TASTE, seed: int = 0
) -> np.ndarray:
    """(..., MEMBER_BASE + dims) float64: the member context ``x`` (module docstring).

    ``t`` is unix seconds (UTC) of the page; ``embedding`` the member's model embedding
    (..., E), or None.
    """
    time = cyclic_time(t)  # (..., 4) float32
    out = np.empty((*time.shape[:-1], MEMBER_BASE + dims))  # filled in place: one a page
    out[..., 0] = 1.0
    out[..., 1:MEMBER_BASE] = time
    out[..., MEMBER_BASE:] = taste(embedding, dims, seed)
    return out


def title_features(
    t: float,
    *,
    scores: ArrayLike,
    added_at: ArrayLike,
    year: ArrayLike,
    new_days: float = NEW_DAYS,
) -> np.ndarray:
    """(n, TITLE_FEATURES) float64: each candidate title's features ``f`` (module docstring).

    ``scores``: the production model's scores; ``added_at``: unix seconds the title entered
    the catalogue (nan if unknown); ``year``: release year (nan if unknown); all (n,).
    """
    s = np.asarray(scores, np.float64).reshape(-1)
    out = np.empty((len(s), TITLE_FEATURES))
    _title_own_features(out, t, added_at, year, new_days)
    return title_score_feature(out, s)


def title_own_features(
    t: float, *, added_at: ArrayLike, year: ArrayLike, new_days: float = NEW_DAYS
) -> np.ndarray:
    """(n, TITLE_FEATURES) float64: :func:`title_features` but for the score entry, left 0.

    These entries depend on the title alone, not on the candidates it is among (the score
    is standardized over them), so one call can build them for several candidate sets:
    each set's rows, then :func:`title_score_feature`, give what ``title_features`` gives
    that set, bit for bit (element-wise operations, the same whatever the array).
    """
    added = np.asarray(added_at, np.float64).reshape(-1)
    out = np.empty((len(added), TITLE_FEATURES))
    out[:, 1] = 0.0
    return _title_own_features(out, t, added, year, new_days)


def title_score_feature(features: np.ndarray, scores: ArrayLike) -> np.ndarray:
    """``features`` (n, TITLE_FEATURES) with its score entry set, in place, to ``scores``
    (n,) standardized over these n candidates (:func:`title_features`); returns it."""
    s = np.asarray(scores, np.float64).reshape(-1)
    n = len(s)
    # the mean and sd as ndarray.mean and .std reduce them (bit for bit), in fewer calls:
    # the page's explorer builds these features for two candidate sets a page, where
    # numpy's per-call cost is most of their time
    if n:
        deviation = s - np.add.reduce(s) / n
        sd = math.sqrt(np.add.reduce(deviation * deviation) / n)
    else:
        sd = 0.0
    features[:, 1] = deviation / sd if sd > 0 else 0.0
    return features


def _title_own_features(
    out: np.ndarray, t: float, added_at: ArrayLike, year: ArrayLike, new_days: float
) -> np.ndarray:
    """Fill the entries of ``out`` (n, TITLE_FEATURES) but the score, column by column."""
    out[:, 0] = 1.0
    days = days_in_catalog(t, np.asarray(added_at, np.float64)).astype(np.float64)
    out[:, 2] = days <= new_days  # False for NaN (unknown): not new
    # np.fmin ignores NaN: an unknown time in the catalogue reads as 1 (old)
    out[:, 3] = np.fmin(np.log1p(days) / _LOG1P_10_YEARS, 1.0)
    age = release_age(t, np.asarray(year, np.float64)).astype(np.float64)
    age /= 50.0
    np.maximum(age, 0.0, out=age)  # as np.clip(age, 0, 1); NaN stays NaN, then 0.5
    np.minimum(age, 1.0, out=age)
    out[:, 4] = np.where(np.isnan(age), 0.5, age)
    return out


_LOG1P_10_YEARS = np.log1p(3650.0)
"""The ``catalog`` entry's scale: ten years in the catalogue read as 1."""


def one_hot(index: ArrayLike, size: int) -> np.ndarray:
    """(n, size) float64 one-hot rows: row kinds or artwork styles as action features."""
    i = np.asarray(index, np.int64).reshape(-1)
    if len(i) and (i.min() < 0 or i.max() >= size):
        raise ValueError(f"one_hot: indices must lie in [0, {size}), got {i.min()}..{i.max()}")
    out = np.zeros((len(i), size))
    out[np.arange(len(i)), i] = 1.0
    return out
