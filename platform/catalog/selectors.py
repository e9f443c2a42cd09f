"""Reads of the catalogue."""

import threading
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, Q, QuerySet

from .models import KIDS_RATINGS, Title


def title_list(*, kids_only: bool = False) -> QuerySet[Title]:
    titles = Title.objects.prefetch_related("genres").order_by("id")
    if kids_only:
        titles = titles.filter(maturity_rating__in=KIDS_RATINGS)
    return titles


def title_available(*, at: datetime, kids_only: bool = False) -> QuerySet[Title]:
    """Titles in the catalogue at time `at` (a title is not shown before it was added)."""
    return title_list(kids_only=kids_only).filter(added_at__lte=at)


@dataclass(frozen=True)
class _Snapshot:
    stamp: tuple
    titles: tuple[Title, ...]  # every title, genres prefetched, by id
    genre_ids: dict[int, frozenset[int]]  # title id -> its genre ids


_snapshot_lock = threading.Lock()
_snapshot: _Snapshot | None = None


def _catalog_snapshot() -> _Snapshot:
    """Every title with its genres, loaded once per process and reloaded when the catalogue
    changes (a title added, removed or saved, or its genres relinked).

    Page construction needs the whole catalogue on every request; at 5,000 titles reading it
    from the database with its genres costs about half a second (docs/benchmarks.md), while
    checking that nothing changed is one aggregate query. The titles are shared between
    requests, so callers must treat them as read-only.
    """
    global _snapshot
    links = Title.genres.through.objects.aggregate(n=Count("id"), last=Max("id"))
    stamp = (
        *Title.objects.aggregate(n=Count("id"), changed=Max("updated_at")).values(),
        *links.values(),  # a genre relinked without saving its title
    )
    current = _snapshot
    if current is not None and current.stamp == stamp:
        return current
    with _snapshot_lock:
        if _snapshot is None or _snapshot.stamp != stamp:
            titles = tuple(title_list())
            genres = {t.pk: frozenset(g.pk for g in t.genres.all()) for t in titles}
            _snapshot = _Snapshot(stamp, titles, genres)
        return _snapshot


@dataclass(frozen=True)
class TitlesOnOffer:
    """The titles a member can be shown at one time, with each title's genre ids."""

    titles: dict[int, Title]
    genre_ids: dict[int, frozenset[int]]


def titles_on_offer(*, at: datetime, kids_only: bool = False) -> TitlesOnOffer:
    """What `title_available` selects, served from the in-process catalogue snapshot."""
    snapshot = _catalog_snapshot()
    titles = {
        t.pk: t
        for t in snapshot.titles
        if t.added_at <= at and (not kids_only or t.maturity_rating in KIDS_RATINGS)
    }
    return TitlesOnOffer(titles, snapshot.genre_ids)


def title_search(*, query: str, member=None, limit: int = 40) -> list[Title]:
    """Second discovery path: match every word of the query in name, synopsis or genres.
    Searching for a kids profile (`member`) finds kids titles only, as its homepage shows."""
    titles = title_list(kids_only=member is not None and member.is_kids)
    for word in query.split():
        titles = titles.filter(
            Q(name__icontains=word) | Q(synopsis__icontains=word) | Q(genres__name__iexact=word)
        )
    return list(titles.distinct()[:limit])
