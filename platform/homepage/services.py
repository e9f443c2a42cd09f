"""Page construction: build a member's homepage and log every impression on it."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from catalog.selectors import titles_on_offer
from events.models import PageView
from events.selectors import play_history, title_play_counts
from events.services import page_record
from members.models import Member
from modeling.features import WATCHED_COMPLETE, context_features, title_features, watched_fraction
from modeling.ranking import Ranking, rank_for_member

from .rows import Row, jaccard, take

NEW_RELEASE_DAYS = 60
TRENDING_DAYS = 7


@dataclass(frozen=True)
class Homepage:
    page: PageView
    ranking: Ranking
    rows: list[Row]


def homepage_build(*, member: Member, at: datetime) -> Homepage:
    """Rows for `member` at time `at`: Continue Watching, Top Picks (production model),
    Because You Watched X, Trending Now, New Releases. No title twice on a page; a kids
    profile sees only kids titles; every slot is logged as an impression."""
    size = settings.HOMEPAGE_ROW_SIZE
    offer = titles_on_offer(at=at, kids_only=member.is_kids)
    titles, genres = offer.titles, offer.genre_ids
    history = [p for p in play_history(member_id=member.pk, at=at) if p.title_id in titles]
    played = {p.title_id for p in history}
    trending = title_play_counts(at=at, days=TRENDING_DAYS)
    ranking = rank_for_member(
        member_id=member.pk,
        at=at,
        popularity=trending,
        history=[(p.title_id, p.occurred_at) for p in history],
        catalog=titles,
    )
    first = member.name

    def by_score(candidates) -> list:
        scored = [(t, ranking.scores.get(t.pk)) for t in candidates]
        return sorted(scored, key=lambda ts: (ts[1] is None, -(ts[1] or 0.0), ts[0].pk))

    unplayed = [t for pk, t in titles.items() if pk not in played]
    used: set[int] = set()
    rows: list[Row] = []

    unfinished = []
    for play in history:
        title = titles[play.title_id]
        fraction = watched_fraction(
            watched_seconds=play.watched_seconds, runtime_minutes=title.runtime_minutes
        )
        if fraction < WATCHED_COMPLETE:
            unfinished.append((title, round(fraction, 4)))
    rows.append(
        Row(
            "continue_watching",
            f"Continue Watching for {first}",
            "Titles you started and did not finish, most recent first.",
            "continue_watching",
            take(unfinished, used=used, size=size),
        )
    )

    if ranking.version is not None:
        top_why = f"Ranked for {first} by model v{ranking.version.pk} ({ranking.version.kind})."
    else:
        top_why = "No personalized model yet: the most played titles this week."
    if ranking.fallback:
        top_why += f" Fallback: {ranking.fallback_reason}."
    rows.append(
        Row(
            "top_picks",
            f"Top Picks for {first}",
            top_why,
            ranking.policy,
            take(by_score(unplayed), used=used, size=size),
        )
    )

    anchor = next((titles[p.title_id] for p in history), None)
    if anchor is not None:
        overlaps = {t.pk: jaccard(genres[anchor.pk], genres[t.pk]) for t in unplayed}
        similar = [t for t in unplayed if overlaps[t.pk] > 0]
        similar.sort(key=lambda t: (-overlaps[t.pk], -(ranking.scores.get(t.pk) or 0.0), t.pk))
        rows.append(
            Row(
                "because_you_watched",
                f"Because you watched {anchor.name}",
                f"Shares genres with {anchor.name}, which {first} played most recently.",
                "because_you_watched",
                take([(t, round(overlaps[t.pk], 4)) for t in similar], used=used, size=size),
            )
        )

    hot = sorted((t for t in unplayed if trending.get(t.pk)), key=lambda t: (-trending[t.pk], t.pk))
    rows.append(
        Row(
            "trending_now",
            "Trending Now",
            f"Most played by everyone in the last {TRENDING_DAYS} days.",
            "trending_now",
            take([(t, trending[t.pk]) for t in hot], used=used, size=size),
        )
    )

    recent = at - timedelta(days=NEW_RELEASE_DAYS)
    fresh = sorted(
        (t for t in unplayed if t.added_at >= recent),
        key=lambda t: (t.added_at, t.pk),
        reverse=True,
    )
    rows.append(
        Row(
            "new_releases",
            "New Releases",
            f"Added to the catalogue in the last {NEW_RELEASE_DAYS} days.",
            "new_releases",
            take([(t, None) for t in fresh], used=used, size=size),
        )
    )

    rows = [row for row in rows if row.slots]
    page = page_record(
        member=member,
        served_at=at,
        model_version_id=ranking.version.pk if ranking.version else None,
        fallback=ranking.fallback,
        fallback_reason=ranking.fallback_reason,
        slots=_slots(rows, at=at),
    )
    return Homepage(page=page, ranking=ranking, rows=rows)


def _slots(rows: list[Row], *, at: datetime) -> list[dict]:
    context = context_features(at=at)
    slots = []
    for row_index, row in enumerate(rows):
        for position, slot in enumerate(row.slots):
            features = {
                **context,
                **title_features(
                    added_at=slot.title.added_at, release_date=slot.title.release_date, at=at
                ),
                "score": slot.score,
            }
            slots.append(
                {
                    "row_key": row.key,
                    "row_index": row_index,
                    "position": position,
                    "title_id": slot.title.pk,
                    "policy": row.policy,
                    "propensity": slot.propensity,
                    "features": features,
                }
            )
    return slots
