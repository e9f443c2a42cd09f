"""The page context: everything the row builders read, gathered once per request."""

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from itertools import repeat

import numpy as np

from catalog.models import Title
from catalog.selectors import titles_on_offer
from events.selectors import PlayRecord, play_history, thumbs_latest, trending_counts
from members.models import Member
from members.selectors import my_list_title_ids
from modeling.ranking import Ranking, rank_for_member
from modeling.selectors import serving_version_for

TRENDING_DAYS = 7


@dataclass(frozen=True)
class PageContext:
    """One member's request: who, when, what is on offer, what they played, rated and saved,
    how the serving model ranks it, and what everyone played this week. Read-only for the
    row builders."""

    member: Member
    at: datetime
    titles: dict[int, Title]  # on offer at `at` (a kids profile: kids titles only), by id
    genre_ids: dict[int, frozenset[int]]  # title id -> its genre ids
    history: list[PlayRecord]  # the member's plays of titles on offer, newest first
    unplayed: list[Title]  # on offer, neither played nor turned down by the member, by id
    ranking: Ranking  # the serving model's scores (or the fallback's)
    trending: dict[int, float]  # plays per title in the TRENDING_DAYS before `at`
    thumbs: dict[int, str]  # title id -> the member's latest "thumb_up" / "thumb_down"
    my_list: list[int]  # ids of the titles on offer on the member's list, newest first

    @cached_property
    def candidates(self) -> "Candidates":
        """The unplayed titles as arrays, for the builders that rank all of them."""
        return Candidates.build(self)

    @property
    def disliked(self) -> frozenset[int]:
        """Titles the member turned down: no row the service chooses shows them again."""
        return frozenset(pk for pk, verdict in self.thumbs.items() if verdict == "thumb_down")

    @property
    def liked(self) -> list[int]:
        """Titles on offer the member gave a thumb up, most recent rating last."""
        return [pk for pk, v in self.thumbs.items() if v == "thumb_up" and pk in self.titles]


@dataclass(frozen=True)
class Candidates:
    """`PageContext.unplayed` as arrays, in the same order: a builder ranks 5,000 titles with
    one numpy sort instead of a Python sort key per title (docs/benchmarks.md, "Load")."""

    ids: np.ndarray  # (n,) int64 title ids
    scores: np.ndarray  # (n,) float64 serving scores, NaN where the model has none
    added: np.ndarray  # (n,) float64 added_at as Unix seconds
    genres: np.ndarray | None  # (n,) uint64 genre bit masks (None: over 64 genres)
    years: np.ndarray  # (n,) float64 release years
    ascending: bool = False  # ids strictly ascending (a title is found by binary search)

    @classmethod
    def build(cls, ctx: "PageContext") -> "Candidates":
        offer = offer_arrays(ctx.titles, ctx.genre_ids)
        keep = offer.unplayed(hidden_titles(ctx.history, ctx.thumbs))
        ids = offer.ids[keep]
        return cls(
            ids=ids,
            scores=np.fromiter(
                map(ctx.ranking.scores.get, ids.tolist(), repeat(np.nan)), np.float64, len(ids)
            ),
            added=offer.added[keep],
            genres=None if offer.genres is None else offer.genres[keep],
            years=offer.years[keep],
            ascending=offer.ascending,  # a subset in the offer's order
        )


@dataclass(frozen=True)
class OfferArrays:
    """The titles on offer as arrays, in the offer's order: what every page of the same offer
    would otherwise convert again, title by title."""

    titles: np.ndarray  # (n,) object: the Title objects
    ids: np.ndarray  # (n,) int64
    added: np.ndarray  # (n,) float64 added_at as Unix seconds
    genres: np.ndarray | None  # (n,) uint64 genre bit masks (None: over 64 genres)
    years: np.ndarray  # (n,) float64 release years
    ascending: bool  # ids strictly ascending (the snapshot holds the titles by id)

    def unplayed(self, hidden: set[int]) -> np.ndarray:
        """Boolean mask of the titles not in `hidden`."""
        if not hidden:
            return np.ones(len(self.ids), bool)
        return ~np.isin(self.ids, np.fromiter(hidden, np.int64, len(hidden)))


_offers_lock = threading.Lock()
_offers: OrderedDict[int, tuple[dict, OfferArrays]] = OrderedDict()
OFFER_ARRAYS_KEPT = 8


def offer_arrays(titles: dict[int, Title], genre_ids: dict[int, frozenset[int]]) -> OfferArrays:
    """`titles` (an offer of `catalog.selectors.titles_on_offer`, which keeps one dict per
    offer and catalogue snapshot) as arrays, kept for that dict: a new snapshot or offer is
    a new dict, so what is kept is never stale."""
    with _offers_lock:
        kept = _offers.get(id(titles))
        if kept is not None and kept[0] is titles:
            _offers.move_to_end(id(titles))
            return kept[1]
    n = len(titles)
    objects = np.empty(n, object)
    objects[:] = list(titles.values())
    bits = genre_bits(genre_ids)
    ids = np.fromiter(titles, np.int64, n)
    arrays = OfferArrays(
        titles=objects,
        ids=ids,
        added=np.fromiter((t.added_at.timestamp() for t in titles.values()), np.float64, n),
        genres=None if bits is None else np.fromiter(map(bits.get, titles), np.uint64, n),
        years=np.fromiter((t.release_date.year for t in titles.values()), np.float64, n),
        ascending=bool((ids[1:] > ids[:-1]).all()),
    )
    with _offers_lock:
        _offers[id(titles)] = (titles, arrays)
        while len(_offers) > OFFER_ARRAYS_KEPT:
            _offers.popitem(last=False)
    return arrays


def hidden_titles(history: list[PlayRecord], thumbs: dict[int, str]) -> set[int]:
    """Titles the builders that rank the catalogue leave out: played, or turned down."""
    return {p.title_id for p in history} | {
        pk for pk, verdict in thumbs.items() if verdict == "thumb_down"
    }


_bits: tuple[object, dict[int, int] | None] = (None, None)


def genre_bits(genre_ids: dict[int, frozenset[int]]) -> dict[int, int] | None:
    """Title id -> its genres as a bit mask (one bit per genre), or None if there are more
    than 64 genres. Kept for the catalogue snapshot's dict it was computed from."""
    global _bits
    source, bits = _bits
    if source is not genre_ids:
        every = sorted({g for genres in genre_ids.values() for g in genres})
        if len(every) > 64:
            bits = None
        else:
            bit = {g: 1 << i for i, g in enumerate(every)}
            bits = {pk: sum(bit[g] for g in genres) for pk, genres in genre_ids.items()}
        _bits = (genre_ids, bits)
    return bits


def page_context_build(
    *,
    member: Member,
    at: datetime,
    device: str = "",
    assigned: dict | None = None,
    decisions: tuple | None = None,
    catalogue: tuple | None = None,
) -> PageContext:
    """The context of one request; `device` is the one it came from ("": unknown), which
    the serving model reads with each play's own device. `assigned`: the member's online
    experiment arms (rollouts.serving.assignments_for), when the caller has read them;
    `decisions` and `catalogue`: the gate's decisions and the catalogue stamps
    (homepage.services.serving_stamps), when the caller has read them."""
    offer = titles_on_offer(at=at, kids_only=member.is_kids, stamp=catalogue)
    history = [p for p in play_history(member_id=member.pk, at=at) if p.title_id in offer.titles]
    thumbs = thumbs_latest(member_id=member.pk, at=at)
    arrays = offer_arrays(offer.titles, offer.genre_ids)
    trending = trending_counts(at=at, days=TRENDING_DAYS)
    ranking = rank_for_member(
        version=serving_version_for(member=member, assigned=assigned, stamp=decisions),
        member_id=member.pk,
        at=at,
        popularity=trending,
        history=[(p.title_id, p.occurred_at, p.device) for p in history],
        catalog=offer.titles,
        device=device,
    )
    return PageContext(
        member=member,
        at=at,
        titles=offer.titles,
        genre_ids=offer.genre_ids,
        history=history,
        unplayed=arrays.titles[arrays.unplayed(hidden_titles(history, thumbs))].tolist(),
        ranking=ranking,
        trending=trending,
        thumbs=thumbs,
        my_list=[pk for pk in my_list_title_ids(member_id=member.pk, at=at) if pk in offer.titles],
    )


def match_percentiles(ctx: PageContext, title_ids: list[int]) -> dict[int, int]:
    """Title id -> its "match" for this member, for each of `title_ids` the model scored:
    the percentile of its score among the scores the serving model gave the titles on offer
    (100: the model's top pick; 0: its last; tied titles share the mean of their ranks).
    Titles the model could not score have no match. One sort per page, no query; only the
    titles asked for (the page's) are ranked in it."""
    titles, scores = ctx.titles, ctx.ranking.scores
    keys = np.fromiter(scores.keys(), np.int64, len(scores))
    values = np.fromiter(scores.values(), np.float64, len(scores))
    on_offer = np.isin(keys, offer_arrays(titles, ctx.genre_ids).ids)
    ordered = np.sort(values[on_offer])
    wanted = [pk for pk in title_ids if pk in titles and pk in scores]
    if len(ordered) <= 1:
        return dict.fromkeys(wanted, 100)
    mine = np.fromiter(map(scores.__getitem__, wanted), np.float64, len(wanted))
    rank = (
        np.searchsorted(ordered, mine, "left") + np.searchsorted(ordered, mine, "right") - 1
    ) / 2
    percent = np.round(100 * rank / (len(ordered) - 1)).astype(np.int64).tolist()
    return dict(zip(wanted, percent, strict=True))
