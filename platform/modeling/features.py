"""Features, computed by one function for serving and for training.

Serving logs these with every impression; the dataset builder derives training weights with
the same functions, and the time and title features are the recommender's own functions
(recommender/features.py), which its models call on their inputs. One definition for logging,
training and serving is what prevents training-serving skew. This module is the platform's
bridge to those functions.
"""

from collections.abc import Iterable, Sequence
from datetime import date, datetime

import numpy as np

from recommender import ItemMetadata
from recommender import features as recommender_features

WATCHED_COMPLETE = 0.9  # a play watched past this fraction is "finished", not "continue"


def watched_fraction(*, watched_seconds: int, runtime_minutes: int) -> float:
    return min(1.0, watched_seconds / max(60.0 * runtime_minutes, 1.0))


def play_weight(*, watched_seconds: int, runtime_minutes: int) -> float:
    """Training weight of a play: how much of the title was watched, floored so a short
    sample still counts as a (weak) positive."""
    return max(
        0.05, watched_fraction(watched_seconds=watched_seconds, runtime_minutes=runtime_minutes)
    )


def context_features(*, at: datetime) -> dict[str, float]:
    """Time of the request as continuous, cyclic features (time of day, time of week, UTC):
    the request-time inputs of the time-aware model, computed by its own function."""
    hour_sin, hour_cos, week_sin, week_cos = recommender_features.cyclic_time(at.timestamp())
    return {
        "hour_sin": round(float(hour_sin), 6),
        "hour_cos": round(float(hour_cos), 6),
        "week_sin": round(float(week_sin), 6),
        "week_cos": round(float(week_cos), 6),
    }


def title_features(*, added_at: datetime, release_date: date, at: datetime) -> dict[str, float]:
    """How long a title has been in the catalogue and how old it is, at request time: the
    inputs of the metadata tower's gate, computed by the model's own functions."""
    t = at.timestamp()
    days = recommender_features.days_in_catalog(t, added_at.timestamp())
    age = recommender_features.release_age(t, release_date.year)
    return {"days_in_catalog": round(float(days), 4), "release_age_years": round(float(age), 4)}


def title_features_each(
    *, added_at: Sequence[datetime], release_date: Sequence[date], at: datetime
) -> list[dict[str, float]]:
    """`title_features` of many titles at one request time, in one call of each of the
    model's functions over arrays (the same values, title by title: a page logs 135)."""
    t = at.timestamp()
    days = recommender_features.days_in_catalog(t, [a.timestamp() for a in added_at])
    age = recommender_features.release_age(t, [d.year for d in release_date])
    return [
        {"days_in_catalog": round(d, 4), "release_age_years": round(a, 4)}
        for d, a in zip(
            days.astype(np.float64).tolist(), age.astype(np.float64).tolist(), strict=True
        )
    ]


def item_metadata(titles: Iterable) -> ItemMetadata:
    """What the models may know of each title (genres, maturity, release year, synopsis, when
    it entered the catalogue), keyed by title id. Training and serving both call this, so a
    title added after a model was trained is embedded from exactly the fields it learned on.
    Genres must be prefetched."""
    titles = list(titles)
    return ItemMetadata.from_records(
        [t.pk for t in titles],
        genres=[[g.name for g in t.genres.all()] for t in titles],
        year=[t.release_date.year for t in titles],
        text=[t.synopsis for t in titles],
        maturity=[t.maturity_rating for t in titles],
        added_at=[t.added_at.timestamp() for t in titles],
        runtime=[t.runtime_minutes for t in titles],
    )
