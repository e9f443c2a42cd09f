"""Features, computed by one function for serving and for training.

Serving logs these with every impression; the dataset builder derives training weights with
the same functions. Keeping both in one place is what prevents training-serving skew.
"""

import math
from datetime import date, datetime

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
    """Time of the request as continuous, cyclic features (hour of day, day of week)."""
    hour = at.hour + at.minute / 60.0
    day = at.weekday() + hour / 24.0
    return {
        "hour_sin": round(math.sin(2 * math.pi * hour / 24.0), 6),
        "hour_cos": round(math.cos(2 * math.pi * hour / 24.0), 6),
        "week_sin": round(math.sin(2 * math.pi * day / 7.0), 6),
        "week_cos": round(math.cos(2 * math.pi * day / 7.0), 6),
    }


def title_features(*, added_at: datetime, release_date: date, at: datetime) -> dict[str, float]:
    """How long a title has been in the catalogue and how old it is, at request time."""
    return {
        "days_in_catalog": round(max(0.0, (at - added_at).total_seconds() / 86400.0), 4),
        "release_age_years": round(max(0.0, (at.date() - release_date).days / 365.25), 4),
    }
