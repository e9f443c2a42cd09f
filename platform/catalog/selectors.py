"""Reads of the catalogue."""

import gc
import threading
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import Q, QuerySet

from .models import KIDS_RATINGS, CatalogStamp, Title


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
    added: list[datetime] = field(default_factory=list)  # every title's added_at, sorted
    offers: dict = field(default_factory=dict)  # (kids_only, titles added by `at`) -> titles
    by_id: dict[int, Title] = field(default_factory=dict)  # every title, by id


FREEZE_MIN_TITLES = 1000
"""From this catalogue size a new snapshot is moved out of the garbage collector's sight."""

_snapshot_lock = threading.Lock()
_snapshot: _Snapshot | None = None


def catalog_stamp_sql() -> tuple[str, int]:
    """A query of one row, the catalogue's change count and the time of its last change
    (`CatalogStamp`, which the database moves on every write to titles, genres and their
    links), and its number of columns. Both are NULL when no stamp row exists (a flushed
    test database before its first catalogue write: an empty catalogue)."""
    quote = connection.ops.quote_name
    table = quote(CatalogStamp._meta.db_table)
    one = f"FROM {table} WHERE {quote('id')} = 1"
    return (
        f"SELECT (SELECT {quote('changes')} {one}), (SELECT {quote('changed_at')} {one})",
        2,
    )


def _catalog_stamp() -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(catalog_stamp_sql()[0])
        return tuple(cursor.fetchone())


def _catalog_snapshot(stamp: tuple | None = None) -> _Snapshot:
    """Every title with its genres, loaded once per process and reloaded when the catalogue
    changes (a title added, removed or saved, or its genres relinked).

    Page construction needs the whole catalogue on every request; at 5,000 titles reading it
    from the database with its genres costs about half a second (docs/benchmarks.md), while
    checking that nothing changed is one aggregate query. The titles are shared between
    requests, so callers must treat them as read-only. `stamp`: `catalog_stamp_sql`'s row,
    when the caller has read it (the homepage, with its other stamps in one query).
    """
    global _snapshot
    stamp = stamp if stamp is not None else _catalog_stamp()
    current = _snapshot
    if current is not None and current.stamp == stamp:
        return current
    with _snapshot_lock:
        if _snapshot is None or _snapshot.stamp != stamp:
            titles = tuple(title_list())
            genres = {t.pk: frozenset(g.pk for g in t.genres.all()) for t in titles}
            _snapshot = _Snapshot(
                stamp,
                titles,
                genres,
                sorted(t.added_at for t in titles),
                by_id={t.pk: t for t in titles},
            )
            if len(titles) >= FREEZE_MIN_TITLES:
                # Some 100,000 objects that live as long as the snapshot: without this, every
                # full collection walks them again, about a quarter of a page's CPU at 5,000
                # titles (docs/benchmarks.md, "Load"). A replaced snapshot is still freed by
                # reference counting; only cyclic garbage of it would stay.
                gc.freeze()
        return _snapshot


def catalog_titles(*, stamp: tuple | None = None) -> dict[int, Title]:
    """Every title of the catalogue snapshot, by id: the objects every request shares, so
    read-only (see `_catalog_snapshot`; `stamp` as there)."""
    return _catalog_snapshot(stamp).by_id


@dataclass(frozen=True)
class TitlesOnOffer:
    """The titles a member can be shown at one time, with each title's genre ids."""

    titles: dict[int, Title]
    genre_ids: dict[int, frozenset[int]]


def titles_on_offer(
    *, at: datetime, kids_only: bool = False, stamp: tuple | None = None
) -> TitlesOnOffer:
    """What `title_available` selects, served from the in-process catalogue snapshot.

    What is on offer changes only when `at` passes a title's added_at, so the selection is
    kept per (kids_only, number of titles added by `at`): a request finds it by bisection
    instead of filtering the whole catalogue. Callers must not change the dict. `stamp`: as
    for `_catalog_snapshot`."""
    snapshot = _catalog_snapshot(stamp)
    key = (kids_only, bisect_right(snapshot.added, at))
    offer = snapshot.offers.get(key)
    if offer is None:
        titles = {
            t.pk: t
            for t in snapshot.titles
            if t.added_at <= at and (not kids_only or t.maturity_rating in KIDS_RATINGS)
        }
        offer = TitlesOnOffer(titles, snapshot.genre_ids)
        if len(snapshot.offers) > 64:  # a run of requests at many past times (the simulator)
            snapshot.offers.clear()
        snapshot.offers[key] = offer
    return offer


def title_search(*, query: str, member=None, limit: int = 40) -> list[Title]:
    """Second discovery path: match every word of the query in name, synopsis or genres.
    Searching for a kids profile (`member`) finds kids titles only, as its homepage shows."""
    titles = title_list(kids_only=member is not None and member.is_kids)
    for word in query.split():
        titles = titles.filter(
            Q(name__icontains=word) | Q(synopsis__icontains=word) | Q(genres__name__iexact=word)
        )
    return list(titles.distinct()[:limit])
