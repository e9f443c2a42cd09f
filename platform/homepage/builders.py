"""The row builders: one function per row kind, registered in page order in `ROW_BUILDERS`.

A builder reads the page context and proposes a candidate row (or None when it has nothing
to propose); it never looks at other rows, because `rows_fill` decides which titles each row
keeps. Adding a row kind is a new function here and one entry in the registry.

Titles the member turned down (a thumb down) are left out of every row the service chooses;
only My List, the member's own choice, shows what the member put there.
"""

from collections.abc import Callable, Sequence
from datetime import timedelta
from itertools import repeat

import numpy as np

from catalog.models import Title
from modeling.features import WATCHED_COMPLETE, watched_fraction

from .context import TRENDING_DAYS, PageContext, genre_bits
from .rows import CandidateRow, RankedTitles, jaccard

NEW_RELEASE_DAYS = 60
NON_PERSONAL_KINDS = frozenset({"popularity"})
"""Model kinds whose ranking is the same for every member (only what they played differs)."""

RowBuilder = Callable[[PageContext], CandidateRow | None]


def _ranker(ctx: PageContext) -> str:
    version = ctx.ranking.version
    if version is None:
        return "this week's plays (no model in production)"
    return f"model v{version.pk} ({version.kind})"


def billboard(ctx: PageContext) -> CandidateRow | None:
    """One title at the top of the page: of the new releases the member has not played, the
    one the serving model scores highest (if nothing is new, its top pick overall; unscored
    titles last, then the newest, then the lowest id). Titles on the member's list are left
    for My List."""
    c = ctx.candidates
    pool = ~np.isin(c.ids, np.asarray(ctx.my_list, np.int64))
    recent = (ctx.at - timedelta(days=NEW_RELEASE_DAYS)).timestamp()
    fresh = np.flatnonzero(pool & (c.added >= recent))
    if len(fresh):
        policy, among = (
            "billboard:new_release_top_score",
            f"titles added in the last {NEW_RELEASE_DAYS} days",
        )
    elif pool.any():
        fresh, policy, among = np.flatnonzero(pool), "billboard:top_score", "everything on offer"
    else:
        return None
    missing = np.isnan(c.scores[fresh])
    score = np.where(missing, 0.0, c.scores[fresh])
    best = ctx.unplayed[int(fresh[np.lexsort((c.ids[fresh], -c.added[fresh], -score, missing))[0]])]
    return CandidateRow(
        "billboard",
        f"Featured for {ctx.member.name}",
        f"Of the {among} that {ctx.member.name} has not played, the one {_ranker(ctx)} scores highest.",
        policy,
        [(best, ctx.ranking.scores.get(best.id))],
    )


def continue_watching(ctx: PageContext) -> CandidateRow:
    """Titles the member started and did not finish, most recent first; the score is the
    fraction watched."""
    unfinished = []
    disliked = ctx.disliked
    for play in ctx.history:
        if play.title_id in disliked:
            continue
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


def my_list(ctx: PageContext) -> CandidateRow | None:
    """The titles the member saved, most recently added first."""
    if not ctx.my_list:
        return None
    return CandidateRow(
        "my_list",
        "My List",
        f"Titles {ctx.member.name} saved, most recently added first.",
        "my_list",
        [(ctx.titles[pk], None) for pk in ctx.my_list],
    )


def top_picks(ctx: PageContext) -> CandidateRow:
    """Unplayed titles by the serving model's score (titles it cannot score last, by id)."""
    ranking = ctx.ranking
    if ranking.version is None:
        why = "No personalized model yet: the most played titles this week."
    elif ranking.version.kind in NON_PERSONAL_KINDS:
        why = (
            f"Ranked by model v{ranking.version.pk} ({ranking.version.kind}), the same for "
            f"everyone: only the titles {ctx.member.name} has played are left out."
        )
    else:
        why = (
            f"Ranked for {ctx.member.name} by model v{ranking.version.pk} ({ranking.version.kind})."
        )
    if ranking.fallback:
        why += f" Fallback: {ranking.fallback_reason}."
    c = ctx.candidates
    missing = np.isnan(c.scores)
    order = np.lexsort((c.ids, -np.where(missing, 0.0, c.scores), missing))
    unplayed, scores = ctx.unplayed, ranking.scores
    scored = RankedTitles(unplayed, order, lambda i: scores.get(unplayed[i].id))
    return CandidateRow(
        "top_picks", f"Top Picks for {ctx.member.name}", why, ranking.policy, scored
    )


def _alike(ctx: PageContext, anchor: Title) -> Sequence[tuple[Title, float]]:
    """Unplayed titles sharing genres with `anchor`, most alike first (ties by the model's
    score); the score is the genre overlap."""
    c, unplayed = ctx.candidates, ctx.unplayed
    if c.genres is None:  # more genres than bits: one set operation per title
        anchor_genres, genre_ids, scores = (
            ctx.genre_ids[anchor.id],
            ctx.genre_ids,
            ctx.ranking.scores,
        )
        similar = []
        for t in unplayed:
            overlap = jaccard(anchor_genres, genre_ids[t.id])
            if overlap > 0 and t.id != anchor.id:
                similar.append((-overlap, -(scores.get(t.id) or 0.0), t.id, t))
        similar.sort(key=lambda item: item[:3])
        return [(t, round(-overlap, 4)) for overlap, _, _, t in similar]
    mask = np.uint64(genre_bits(ctx.genre_ids)[anchor.id])
    shared = np.bitwise_count(c.genres & mask)
    either = np.bitwise_count(c.genres | mask)
    overlap = np.divide(shared, either, out=np.zeros(len(shared)), where=either > 0)
    keep = np.flatnonzero((overlap > 0) & (c.ids != anchor.id))
    score = np.nan_to_num(c.scores[keep], nan=0.0)
    order = keep[np.lexsort((c.ids[keep], -score, -overlap[keep]))]
    return RankedTitles(unplayed, order, lambda i: round(float(overlap[i]), 4))


def because_you_watched(ctx: PageContext) -> CandidateRow | None:
    """Titles like the member's latest play (one they did not turn down)."""
    disliked = ctx.disliked
    anchor_play = next((p for p in ctx.history if p.title_id not in disliked), None)
    if anchor_play is None:
        return None
    anchor = ctx.titles[anchor_play.title_id]
    return CandidateRow(
        "because_you_watched",
        f"Because you watched {anchor.name}",
        f"Shares genres with {anchor.name}, which {ctx.member.name} played most recently.",
        "because_you_watched",
        _alike(ctx, anchor),
    )


def because_you_liked(ctx: PageContext) -> CandidateRow | None:
    """Titles like the one the member most recently gave a thumb up."""
    if not ctx.liked:
        return None
    anchor = ctx.titles[ctx.liked[-1]]
    return CandidateRow(
        "because_you_liked",
        f"Because you liked {anchor.name}",
        f"Shares genres with {anchor.name}, which {ctx.member.name} gave a thumb up most recently.",
        "because_you_liked",
        _alike(ctx, anchor),
    )


def trending_now(ctx: PageContext) -> CandidateRow:
    """Unplayed titles by plays this week (then by id); the score is the play count."""
    trending, c, unplayed = ctx.trending, ctx.candidates, ctx.unplayed
    counts = np.fromiter(map(trending.get, c.ids.tolist(), repeat(0.0)), np.float64, len(c.ids))
    hot = np.flatnonzero(counts)
    order = hot[np.lexsort((c.ids[hot], -counts[hot]))]
    return CandidateRow(
        "trending_now",
        "Trending Now",
        f"Most played by everyone in the last {TRENDING_DAYS} days.",
        "trending_now",
        RankedTitles(unplayed, order, lambda i: trending[unplayed[i].id]),
    )


def new_releases(ctx: PageContext) -> CandidateRow:
    """Unplayed titles added in the last NEW_RELEASE_DAYS, newest first."""
    recent = (ctx.at - timedelta(days=NEW_RELEASE_DAYS)).timestamp()
    c = ctx.candidates
    keep = np.flatnonzero(c.added >= recent)
    order = keep[np.lexsort((c.ids[keep], c.added[keep]))[::-1]]
    return CandidateRow(
        "new_releases",
        "New Releases",
        f"Added to the catalogue in the last {NEW_RELEASE_DAYS} days.",
        "new_releases",
        [(ctx.unplayed[i], None) for i in order.tolist()],
    )


ROW_BUILDERS: tuple[RowBuilder, ...] = (
    billboard,
    continue_watching,
    my_list,
    top_picks,
    because_you_watched,
    because_you_liked,
    trending_now,
    new_releases,
)
"""Every row kind, in the order rows appear on the page (and claim titles)."""


def candidate_rows(ctx: PageContext) -> list[CandidateRow]:
    """What every registered builder proposes for this page, in page order."""
    return [row for build in ROW_BUILDERS if (row := build(ctx)) is not None]
