"""The page context: everything the row builders read, gathered once per request."""

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime

from catalog.models import Title
from catalog.selectors import titles_on_offer
from events.selectors import PlayRecord, play_history, thumbs_latest, title_play_counts
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

    @property
    def disliked(self) -> frozenset[int]:
        """Titles the member turned down: no row the service chooses shows them again."""
        return frozenset(pk for pk, verdict in self.thumbs.items() if verdict == "thumb_down")

    @property
    def liked(self) -> list[int]:
        """Titles on offer the member gave a thumb up, most recent rating last."""
        return [pk for pk, v in self.thumbs.items() if v == "thumb_up" and pk in self.titles]


def page_context_build(*, member: Member, at: datetime) -> PageContext:
    offer = titles_on_offer(at=at, kids_only=member.is_kids)
    history = [p for p in play_history(member_id=member.pk, at=at) if p.title_id in offer.titles]
    thumbs = thumbs_latest(member_id=member.pk, at=at)
    hidden = {p.title_id for p in history} | {
        pk for pk, verdict in thumbs.items() if verdict == "thumb_down"
    }
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
        unplayed=[t for pk, t in offer.titles.items() if pk not in hidden],
        ranking=ranking,
        trending=trending,
        thumbs=thumbs,
        my_list=[pk for pk in my_list_title_ids(member_id=member.pk, at=at) if pk in offer.titles],
    )


def match_percentiles(ctx: PageContext) -> dict[int, int]:
    """Title id -> its "match" for this member: the percentile of its score among the scores
    the serving model gave the titles on offer (100: the model's top pick; 0: its last; tied
    titles share the mean of their ranks). Titles the model could not score have no match.
    One sort per page, no query."""
    scores = {pk: s for pk, s in ctx.ranking.scores.items() if pk in ctx.titles}
    ordered = sorted(scores.values())
    if len(ordered) == 1:
        return dict.fromkeys(scores, 100)
    top = len(ordered) - 1

    def rank(s: float) -> float:
        return (bisect_left(ordered, s) + bisect_right(ordered, s) - 1) / 2

    return {pk: round(100 * rank(s) / top) for pk, s in scores.items()}
