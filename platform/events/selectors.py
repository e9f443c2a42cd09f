"""Reads of the fact log that page construction needs."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count

from .models import Interaction

PLAY_TYPES = (Interaction.Type.PLAY, Interaction.Type.SEARCH_PLAY)
"""What counts as a play, from the homepage or from search: for histories, trending and
training alike."""


@dataclass(frozen=True)
class PlayRecord:
    title_id: int
    watched_seconds: int
    occurred_at: datetime


def play_history(*, member_id: int, at: datetime, limit: int = 500) -> list[PlayRecord]:
    """The member's plays up to `at`, newest first, one record per title (its latest play)."""
    rows = (
        Interaction.objects.filter(member_id=member_id, type__in=PLAY_TYPES, occurred_at__lte=at)
        .order_by("-occurred_at", "-id")
        .values_list("title_id", "watched_seconds", "occurred_at")[: limit * 4]
    )
    seen: set[int] = set()
    history = []
    for title_id, watched, occurred_at in rows:
        if title_id not in seen:
            seen.add(title_id)
            history.append(PlayRecord(title_id, watched or 0, occurred_at))
    return history[:limit]


THUMB_TYPES = (Interaction.Type.THUMB_UP, Interaction.Type.THUMB_DOWN)


def thumbs_latest(*, member_id: int, at: datetime) -> dict[int, str]:
    """The member's verdict on each title they rated up to `at`: "thumb_up" or "thumb_down",
    the latest rating of a title replacing earlier ones (a member may change their mind)."""
    rows = (
        Interaction.objects.filter(member_id=member_id, type__in=THUMB_TYPES, occurred_at__lte=at)
        .order_by("occurred_at", "id")
        .values_list("title_id", "type")
    )
    return dict(rows)


def title_play_counts(*, at: datetime, days: float = 7.0) -> dict[int, float]:
    """Plays per title in the `days` before `at`: what is trending."""
    rows = (
        Interaction.objects.filter(
            type__in=PLAY_TYPES, occurred_at__lte=at, occurred_at__gt=at - timedelta(days=days)
        )
        .values("title_id")
        .annotate(n=Count("id"))
        .values_list("title_id", "n")
    )
    return {title_id: float(n) for title_id, n in rows}


def play_list(*, member_id: int, limit: int = 100) -> list[Interaction]:
    """A member's viewing activity: every play, newest first, with its title."""
    return list(
        Interaction.objects.filter(member_id=member_id, type__in=PLAY_TYPES)
        .select_related("title")
        .prefetch_related("title__genres")
        .order_by("-occurred_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class PlayFact:
    """One play as training reads it: who, what, when, how much, and the title's runtime."""

    member_id: int
    title_id: int
    occurred_at: datetime
    watched_seconds: int
    runtime_minutes: int


def plays_as_of(*, at: datetime, chunk_size: int = 5000) -> Iterator[PlayFact]:
    """Every play that occurred at or before `at`, oldest first (ties by arrival), streamed
    in chunks: facts after `at` do not exist for a dataset built "as of" `at`."""
    rows = (
        Interaction.objects.filter(type__in=PLAY_TYPES, occurred_at__lte=at)
        .order_by("occurred_at", "id")
        .values_list(
            "member_id", "title_id", "occurred_at", "watched_seconds", "title__runtime_minutes"
        )
    )
    for member_id, title_id, occurred_at, watched, runtime in rows.iterator(chunk_size=chunk_size):
        yield PlayFact(member_id, title_id, occurred_at, watched or 0, runtime)


def played_titles(*, member_ids: list[int]) -> dict[int, set[int]]:
    """Each member's set of titles ever played (the lab's history-overlap check). One query."""
    played: dict[int, set[int]] = {member_id: set() for member_id in member_ids}
    rows = (
        Interaction.objects.filter(member_id__in=member_ids, type__in=PLAY_TYPES)
        .values_list("member_id", "title_id")
        .distinct()
    )
    for member_id, title_id in rows:
        played[member_id].add(title_id)
    return played
