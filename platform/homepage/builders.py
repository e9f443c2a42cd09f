"""The row builders: one function per row kind, registered in page order in `ROW_BUILDERS`.

A builder reads the page context and proposes a candidate row (or None when it has nothing
to propose); it never looks at other rows, because `rows_fill` decides which titles each row
keeps. Adding a row kind is a new function here and one entry in the registry.
"""

from collections.abc import Callable
from datetime import timedelta

from modeling.features import WATCHED_COMPLETE, watched_fraction

from .context import TRENDING_DAYS, PageContext
from .rows import CandidateRow, jaccard

NEW_RELEASE_DAYS = 60

RowBuilder = Callable[[PageContext], CandidateRow | None]


def continue_watching(ctx: PageContext) -> CandidateRow:
    """Titles the member started and did not finish, most recent first; the score is the
    fraction watched."""
    unfinished = []
    for play in ctx.history:
        title = ctx.titles[play.title_id]
        fraction = watched_fraction(
            watched_seconds=play.watched_seconds, runtime_minutes=title.runtime_minutes
        )
        if fraction < WATCHED_COMPLETE:
            unfinished.append((title, round(fraction, 4)))
    return CandidateRow(
        "continue_watching",
        f"Continue Watching for {ctx.member.name}",
        "Titles you started and did not finish, most recent first.",
        "continue_watching",
        unfinished,
    )


def top_picks(ctx: PageContext) -> CandidateRow:
    """Unplayed titles by the serving model's score (titles it cannot score last, by id)."""
    ranking = ctx.ranking
    if ranking.version is not None:
        why = (
            f"Ranked for {ctx.member.name} by model v{ranking.version.pk} ({ranking.version.kind})."
        )
    else:
        why = "No personalized model yet: the most played titles this week."
    if ranking.fallback:
        why += f" Fallback: {ranking.fallback_reason}."
    scored = [(t, ranking.scores.get(t.pk)) for t in ctx.unplayed]
    scored.sort(key=lambda ts: (ts[1] is None, -(ts[1] or 0.0), ts[0].pk))
    return CandidateRow(
        "top_picks", f"Top Picks for {ctx.member.name}", why, ranking.policy, scored
    )


def because_you_watched(ctx: PageContext) -> CandidateRow | None:
    """Unplayed titles sharing genres with the member's latest play, most alike first (ties by
    the model's score); the score is the genre overlap."""
    if not ctx.history:
        return None
    anchor = ctx.titles[ctx.history[0].title_id]
    anchor_genres = ctx.genre_ids[anchor.pk]
    overlaps = {t.pk: jaccard(anchor_genres, ctx.genre_ids[t.pk]) for t in ctx.unplayed}
    similar = [t for t in ctx.unplayed if overlaps[t.pk] > 0]
    scores = ctx.ranking.scores
    similar.sort(key=lambda t: (-overlaps[t.pk], -(scores.get(t.pk) or 0.0), t.pk))
    return CandidateRow(
        "because_you_watched",
        f"Because you watched {anchor.name}",
        f"Shares genres with {anchor.name}, which {ctx.member.name} played most recently.",
        "because_you_watched",
        [(t, round(overlaps[t.pk], 4)) for t in similar],
    )


def trending_now(ctx: PageContext) -> CandidateRow:
    """Unplayed titles by plays this week; the score is the play count."""
    trending = ctx.trending
    hot = sorted(
        (t for t in ctx.unplayed if trending.get(t.pk)), key=lambda t: (-trending[t.pk], t.pk)
    )
    return CandidateRow(
        "trending_now",
        "Trending Now",
        f"Most played by everyone in the last {TRENDING_DAYS} days.",
        "trending_now",
        [(t, trending[t.pk]) for t in hot],
    )


def new_releases(ctx: PageContext) -> CandidateRow:
    """Unplayed titles added in the last NEW_RELEASE_DAYS, newest first."""
    recent = ctx.at - timedelta(days=NEW_RELEASE_DAYS)
    fresh = sorted(
        (t for t in ctx.unplayed if t.added_at >= recent),
        key=lambda t: (t.added_at, t.pk),
        reverse=True,
    )
    return CandidateRow(
        "new_releases",
        "New Releases",
        f"Added to the catalogue in the last {NEW_RELEASE_DAYS} days.",
        "new_releases",
        [(t, None) for t in fresh],
    )


ROW_BUILDERS: tuple[RowBuilder, ...] = (
    continue_watching,
    top_picks,
    because_you_watched,
    trending_now,
    new_releases,
)
"""Every row kind, in the order rows appear on the page (and claim titles)."""


def candidate_rows(ctx: PageContext) -> list[CandidateRow]:
    """What every registered builder proposes for this page, in page order."""
    return [row for build in ROW_BUILDERS if (row := build(ctx)) is not None]
