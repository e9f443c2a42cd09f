"""Build training data from the fact log "as of" a time."""

from dataclasses import dataclass
from datetime import datetime

from events import selectors as facts

from .features import play_weight


@dataclass(frozen=True)
class PlayTable:
    """Plays as parallel columns; training.to_interactions hands them to the recommender."""

    member_ids: list[str]
    title_ids: list[str]
    timestamps: list[float]
    weights: list[float]
    devices: list[str]  # the device of each play ("": unknown), for models that read it


def plays_as_of(*, at: datetime) -> PlayTable:
    """Plays (from the homepage or search) that occurred at or before `at`, weighted by how
    much was watched, with the device each came from. Facts after `at` do not exist for
    this dataset."""
    users, items, times, weights, devices = [], [], [], [], []
    for play in facts.plays_as_of(at=at):
        users.append(str(play.member_id))
        items.append(str(play.title_id))
        times.append(play.occurred_at.timestamp())
        weights.append(
            play_weight(watched_seconds=play.watched_seconds, runtime_minutes=play.runtime_minutes)
        )
        devices.append(play.device)
    return PlayTable(users, items, times, weights, devices)
