"""The page context: everything the row builders read, gathered once per request."""

from dataclasses import dataclass
from datetime import datetime

from catalog.models import Title
from catalog.selectors import titles_on_offer
from events.selectors import PlayRecord, play_history, title_play_counts
from members.models import Member
from modeling.ranking import Ranking, rank_for_member
from modeling.selectors import serving_version_for

TRENDING_DAYS = 7


@dataclass(frozen=True)
class PageContext:
    """One member's request: who, when, what is on offer, what they played, how the serving
    model ranks it, and what everyone played this week. Read-only for the row builders."""

    member: Member
    at: datetime
    titles: dict[int, Title]  # on offer at `at` (a kids profile: kids titles only), by id
    genre_ids: dict[int, frozenset[int]]  # title id -> its genre ids
    history: list[PlayRecord]  # the member's plays of titles on offer, newest first
    unplayed: list[Title]  # titles on offer the member has not played, by id
    ranking: Ranking  # the serving model's scores (or the fallback's)
    trending: dict[int, float]  # plays per title in the TRENDING_DAYS before `at`


def page_context_build(*, member: Member, at: datetime) -> PageContext:
    offer = titles_on_offer(at=at, kids_only=member.is_kids)
    history = [p for p in play_history(member_id=member.pk, at=at) if p.title_id in offer.titles]
    played = {p.title_id for p in history}
    trending = title_play_counts(at=at, days=TRENDING_DAYS)
    ranking = rank_for_member(
        version=serving_version_for(member=member),
        member_id=member.pk,
        at=at,
        popularity=trending,
        history=[(p.title_id, p.occurred_at) for p in history],
        catalog=offer.titles,
    )
    return PageContext(
        member=member,
        at=at,
        titles=offer.titles,
        genre_ids=offer.genre_ids,
        history=history,
        unplayed=[t for pk, t in offer.titles.items() if pk not in played],
        ranking=ranking,
        trending=trending,
    )
