"""Build training data from the fact log "as of" a time."""

from dataclasses import dataclass
from datetime import datetime

from events.models import Interaction

from .features import play_weight


@dataclass(frozen=True)
class PlayTable:
    """Plays as parallel columns; training.to_interactions hands them to the recommender."""

    member_ids: list[str]
    title_ids: list[str]
    timestamps: list[float]
    weights: list[float]


POSITIVE_TYPES = (Interaction.Type.PLAY, Interaction.Type.SEARCH_PLAY)


def plays_as_of(*, at: datetime) -> PlayTable:
    """Plays (from the homepage or search) that occurred at or before `at`, weighted by how
    much was watched. Facts after `at` do not exist for this dataset."""
    rows = (
        Interaction.objects.filter(type__in=POSITIVE_TYPES, occurred_at__lte=at)
        .order_by("occurred_at", "id")
        .values_list(
            "member_id", "title_id", "occurred_at", "watched_seconds", "title__runtime_minutes"
        )
    )
    users, items, times, weights = [], [], [], []
    for member_id, title_id, occurred_at, watched, runtime in rows.iterator(chunk_size=5000):
        users.append(str(member_id))
        items.append(str(title_id))
        times.append(occurred_at.timestamp())
        weights.append(play_weight(watched_seconds=watched or 0, runtime_minutes=runtime))
    return PlayTable(users, items, times, weights)
