"""Reads of the fact log that page construction needs."""

import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count, Max, Q

from .models import Interaction

PLAY_TYPES = (Interaction.Type.PLAY, Interaction.Type.SEARCH_PLAY)
"""What counts as a play, from the homepage or from search: for histories, trending and
training alike."""


@dataclass(frozen=True)
class PlayRecord:
    title_id: int
    watched_seconds: int
    occurred_at: datetime
    device: str = ""  # the device it was played on (blank: unknown)


def play_history(*, member_id: int, at: datetime, limit: int = 500) -> list[PlayRecord]:
    """The member's plays up to `at`, newest first, one record per title (its latest play)."""
    rows = (
        Interaction.objects.filter(member_id=member_id, type__in=PLAY_TYPES, occurred_at__lte=at)
        .order_by("-occurred_at", "-id")
        .values_list("title_id", "watched_seconds", "occurred_at", "device")[: limit * 4]
    )
    seen: set[int] = set()
    history = []
    for title_id, watched, occurred_at, device in rows:
        if title_id not in seen:
            seen.add(title_id)
            history.append(PlayRecord(title_id, watched or 0, occurred_at, device))
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


def activity_stamp_sql() -> tuple[str, int]:
    """A query of one row, the id and number of a member's plays and thumbs (what a page
    reads of their history), and its number of columns; its one parameter is the member's
    id. The log is append-only, so a new play or rating changes it and nothing else does."""
    quote = connection.ops.quote_name
    table = quote(Interaction._meta.db_table)
    kinds = ", ".join(f"'{kind}'" for kind in (*PLAY_TYPES, *THUMB_TYPES))
    return (
        f"SELECT MAX({quote('id')}), COUNT(*) FROM {table} "
        f"WHERE {quote('member_id')} = %s AND {quote('type')} IN ({kinds})",
        2,
    )


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


_trending_lock = threading.Lock()
_trending: OrderedDict[tuple[datetime, float], tuple[int, dict[int, float]]] = OrderedDict()
TRENDING_BUCKETS = 8


def trending_counts(*, at: datetime, days: float = 7.0) -> dict[int, float]:
    """What `title_play_counts(at=at, days=days)` answers, without counting the window again
    on every page (one GROUP BY over a week of plays was the homepage's heaviest query).

    Per process, the counts for the window ending at the start of `at`'s minute are kept with
    the highest event id they include (the watermark). A request then reads only what differs
    from them: plays stored since the watermark that fall in its own window, and the plays at
    the two edges between the minute's window and its own (at most a minute of plays each).
    The answer is the same as counting afresh, except that a play committed after the counts
    were taken but with an id below the watermark (a transaction that was still open) is
    missed until the minute rolls over. Callers must not change the dict.
    """
    window = timedelta(days=days)
    bucket = at.replace(second=0, microsecond=0)
    with _trending_lock:
        cached = _trending.get((bucket, days))
        if cached is not None:
            _trending.move_to_end((bucket, days))
    if cached is None:
        watermark = Interaction.objects.aggregate(top=Max("id"))["top"] or 0
        counts = _play_counts(bucket - window, bucket, Q(id__lte=watermark))
        cached = (watermark, counts)
        with _trending_lock:
            _trending[(bucket, days)] = cached
            while len(_trending) > TRENDING_BUCKETS:
                _trending.popitem(last=False)
    watermark, counts = cached
    changes = Interaction.objects.filter(type__in=PLAY_TYPES).filter(
        Q(id__gt=watermark, occurred_at__gt=at - window, occurred_at__lte=at)
        | Q(id__lte=watermark, occurred_at__gt=bucket, occurred_at__lte=at)
        | Q(id__lte=watermark, occurred_at__gt=bucket - window, occurred_at__lte=at - window)
    )
    delta: dict[int, float] = {}
    for pk, title_id, occurred_at in changes.values_list("id", "title_id", "occurred_at"):
        now_in = at - window < occurred_at <= at
        then_in = pk <= watermark and bucket - window < occurred_at <= bucket
        if now_in != then_in:
            delta[title_id] = delta.get(title_id, 0.0) + (1.0 if now_in else -1.0)
    if not delta:
        return counts
    merged = dict(counts)
    for title_id, change in delta.items():
        merged[title_id] = merged.get(title_id, 0.0) + change
        if not merged[title_id]:
            del merged[title_id]
    return merged


def trending_reset() -> None:
    """Forget the kept counts (tests, whose rolled-back transactions reuse event ids)."""
    with _trending_lock:
        _trending.clear()


def _play_counts(start: datetime, end: datetime, extra: Q) -> dict[int, float]:
    rows = (
        Interaction.objects.filter(extra, type__in=PLAY_TYPES, occurred_at__lte=end)
        .filter(occurred_at__gt=start)
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
    """One play as training reads it: who, what, when, how much, the title's runtime, and
    the device it was played on (blank: unknown)."""

    member_id: int
    title_id: int
    occurred_at: datetime
    watched_seconds: int
    runtime_minutes: int
    device: str = ""


def plays_as_of(*, at: datetime, chunk_size: int = 5000) -> Iterator[PlayFact]:
    """Every play that occurred at or before `at`, oldest first (ties by arrival), streamed
    in chunks: facts after `at` do not exist for a dataset built "as of" `at`."""
    rows = (
        Interaction.objects.filter(type__in=PLAY_TYPES, occurred_at__lte=at)
        .order_by("occurred_at", "id")
        .values_list(
            "member_id",
            "title_id",
            "occurred_at",
            "watched_seconds",
            "title__runtime_minutes",
            "device",
        )
    )
    for member_id, title_id, occurred_at, watched, runtime, device in rows.iterator(
        chunk_size=chunk_size
    ):
        yield PlayFact(member_id, title_id, occurred_at, watched or 0, runtime, device)


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
