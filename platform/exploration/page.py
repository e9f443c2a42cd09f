"""The explorer at the page builder's seams: row order, exploration slots, artwork.

    candidate rows -> rows_order -> rows_fill -> slots_explore -> artwork_choose -> record

Each function takes the use's `Explorer` (None: the use is off, nothing changes and every
slot stays deterministic, propensity 1.0) and the page's random generator, changes the
rows it is given, and writes into `PageExploration.record` what off-policy evaluation of
another policy for the same decision needs: the eligible actions (with the scores the
policy saw), the choice, its per-position propensities and the context vector.

What each record holds (the page's `exploration` JSON, docs/api.md):

- ``row_order``: the eligible row-kind ids (rowkinds.ROW_KINDS) with their prior scores
  (minus the registry index), the chosen kinds in page order, each one's propensity given
  the ones above, and the context. The page's row-order probability is their product.
- ``top_picks`` / ``something_different``: the eligible titles, at most
  EXPLORATION_CANDIDATES of them (Top Picks: the best by the serving model's score of the
  titles not already on the page; Something different: the newest arrivals first, then the
  least played this week), each as [title id, score or null]; the positions explored; the
  chosen titles and their propensities; the context. Title features per choice are on its
  impression.
- ``artwork``: the number of variants and the context of the page (each title's own
  context and the variant's propensity are on its impression).
"""

import threading
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings

from homepage.context import PageContext
from homepage.rows import CandidateRow, Row, Slot

from . import bandit
from .rowkinds import PINNED_FIRST, ROW_KINDS, SOMETHING_DIFFERENT
from .serving import Explorer


@dataclass
class PageExploration:
    """What the explorer did to one page."""

    context: np.ndarray
    row_order_policy: str = ""  # "": the builders' own order, probability 1
    row_order_state_id: int | None = None
    row_order_probability: float = 1.0
    record: dict = field(default_factory=dict)


def _genre_counts(ctx: PageContext) -> dict[int, int]:
    """Genre id -> how many of the member's plays were of that genre."""
    counts: dict[int, int] = {}
    for play in ctx.history:
        for genre in ctx.genre_ids.get(play.title_id, ()):
            counts[genre] = counts.get(genre, 0) + 1
    return counts


def page_exploration_start(ctx: PageContext) -> PageExploration:
    return PageExploration(context=bandit.page_context(at=ctx.at, genre_counts=_genre_counts(ctx)))


def _floats(values) -> list[float]:
    """Exact: the logged numbers are the ones the policy used (JSON keeps a float's digits)."""
    return [float(v) for v in values]


def rows_order(
    candidates: list[CandidateRow],
    *,
    explorer: Explorer | None,
    rng: np.random.Generator,
    page: PageExploration,
) -> list[CandidateRow]:
    """Which rows appear and in which order: the row-order policy ranks the row kinds that
    have something to show, up to EXPLORATION_MAX_ROWS of them; rows it leaves out do not
    appear. The billboard stays on top. The builders' registry order is the prior score."""
    if explorer is None:
        return candidates
    pinned = [c for c in candidates if c.key not in ROW_KINDS]
    eligible = [c for c in candidates if c.key in ROW_KINDS and c.ranked]
    if not eligible:
        return candidates
    kinds = [ROW_KINDS[c.key] for c in eligible]
    prior = [-float(i) for i in range(len(eligible))]
    choice = explorer.policy.choose(
        page.context,
        bandit.row_candidates(kind_ids=kinds, prior=prior, n_kinds=len(ROW_KINDS)),
        min(len(eligible), settings.EXPLORATION_MAX_ROWS),
        rng,
    )
    by_kind = dict(zip(kinds, eligible, strict=True))
    page.row_order_policy = explorer.label
    page.row_order_state_id = explorer.state_id
    page.row_order_probability = choice.slate_propensity
    page.record["row_order"] = {
        "eligible": kinds,
        "prior": prior,
        "chosen": [int(a) for a in choice.actions],
        "propensities": _floats(choice.propensities),
        "estimated": choice.estimated,
        "draws": choice.draws,
        "context": _floats(page.context),
    }
    first = [c for c in pinned if c.key == PINNED_FIRST]
    rest = [c for c in pinned if c.key != PINNED_FIRST]
    return first + [by_kind[int(a)] for a in choice.actions] + rest


def explored_positions(n: int, size: int) -> list[int]:
    """Where the n explored slots of a row of `size` go: spread evenly, never the first (the
    model's top pick keeps the best spot)."""
    n = min(n, max(size - 1, 0))
    return sorted({round((i + 1) * size / (n + 1)) for i in range(n)} - {0})


def _choose_titles(
    ctx: PageContext,
    pool: list,
    k: int,
    *,
    explorer: Explorer,
    rng: np.random.Generator,
    page: PageExploration,
    name: str,
    extra: dict,
) -> list[Slot]:
    """k slots chosen by the slots policy out of `pool` (titles), recorded under `name`."""
    scores = ctx.ranking.scores
    known = [scores[t.pk] for t in pool if t.pk in scores]
    missing = min(known) - 1.0 if known else 0.0
    policy_scores = [scores.get(t.pk, missing) for t in pool]
    candidates = bandit.slot_candidates(
        at=ctx.at,
        ids=[t.pk for t in pool],
        scores=policy_scores,
        added_at=[t.added_at.timestamp() for t in pool],
        years=[t.release_date.year for t in pool],
    )
    choice = explorer.policy.choose(page.context, candidates, k, rng)
    index = {int(pk): i for i, pk in enumerate(candidates.ids)}
    by_id = {t.pk: t for t in pool}
    slots = []
    for action, propensity in zip(choice.actions, choice.propensities, strict=True):
        i = index[int(action)]
        slots.append(
            Slot(
                by_id[int(action)],
                scores.get(int(action)),
                propensity=float(propensity),
                explored=True,
                policy=explorer.label,
                state_id=explorer.state_id,
                estimated=choice.estimated,
                draws=choice.draws,
                inputs={
                    "context": _floats(page.context),
                    "features": _floats(candidates.features[i])
                    if candidates.features is not None
                    else [],
                },
            )
        )
    page.record[name] = {
        **extra,
        "eligible": [[t.pk, scores.get(t.pk)] for t in pool],
        "chosen": [int(a) for a in choice.actions],
        "propensities": _floats(choice.propensities),
        "estimated": choice.estimated,
        "draws": choice.draws,
        "context": _floats(page.context),
    }
    return slots


_added_lock = threading.Lock()
_added: tuple[object, dict[int, float], dict[int, dict]] | None = None
"""(the catalogue snapshot's genre map, title id -> added_at in unix seconds, the title
selections already merged into it by id, each kept alive so its id stays its own)."""
_ADDED_SELECTIONS = 256


def _added_seconds(ctx: PageContext) -> dict[int, float]:
    """Title id -> when it entered the catalogue (unix seconds), kept per catalogue snapshot
    (the snapshot's genre map is the same object while the catalogue is unchanged,
    catalog.selectors._catalog_snapshot), so a page does not convert 5,000 datetimes. Pages
    see different selections of the snapshot (a kids profile's, one at an earlier time), so
    each selection is merged in the first time a page brings it: a kids page first must not
    leave the grown-ups' titles out."""
    global _added
    current = _added
    if current is not None and current[0] is ctx.genre_ids and id(ctx.titles) in current[2]:
        return current[1]
    with _added_lock:
        if _added is None or _added[0] is not ctx.genre_ids:
            _added = (ctx.genre_ids, {}, {})
        seconds, merged = _added[1], _added[2]
        missing = {pk: t.added_at.timestamp() for pk, t in ctx.titles.items() if pk not in seconds}
        seconds.update(missing)
        if len(merged) >= _ADDED_SELECTIONS:
            merged.clear()
        merged[id(ctx.titles)] = ctx.titles
        return seconds


def _pool_arrays(ctx: PageContext, pool: list) -> tuple[np.ndarray, np.ndarray]:
    """(ids, entered the catalogue in unix seconds) of the titles of `pool` (all on offer)."""
    added = _added_seconds(ctx)
    pks = np.fromiter((t.id for t in pool), np.int64, len(pool))
    return pks, np.fromiter((added[pk] for pk in pks.tolist()), np.float64, len(pool))


def _best_by_score(ctx: PageContext, pool: list, limit: int) -> list:
    """The `limit` titles of `pool` the serving model scores highest (unscored last, then
    newest first, then by id)."""
    scores = ctx.ranking.scores
    pks, when = _pool_arrays(ctx, pool)
    score = np.fromiter((scores.get(t.id, np.nan) for t in pool), np.float64, len(pool))
    unknown = np.isnan(score)
    order = np.lexsort((pks, -when, -np.where(unknown, 0.0, score), unknown))
    return [pool[i] for i in order[:limit]]


def _least_known(ctx: PageContext, pool: list, limit: int) -> list:
    """The `limit` titles of `pool` the recommendations know least: newest arrivals first,
    then the least played this week, then by id."""
    trending = ctx.trending
    pks, when = _pool_arrays(ctx, pool)
    plays = np.fromiter((trending.get(t.id, 0.0) for t in pool), np.float64, len(pool))
    order = np.lexsort((pks, plays, -when))
    return [pool[i] for i in order[:limit]]


def slots_explore(
    ctx: PageContext,
    rows: list[Row],
    *,
    explorer: Explorer | None,
    rng: np.random.Generator,
    page: PageExploration,
    size: int,
) -> list[Row]:
    """Fill `positions` slots of Top Picks, and a row "Something different", with titles
    the explorer chooses from those not on the page (module docstring: which ones)."""
    if explorer is None:
        return rows
    limit = settings.EXPLORATION_CANDIDATES
    on_page = {slot.title.id for row in rows for slot in row.slots}
    pool = [t for t in ctx.unplayed if t.id not in on_page]
    top = next((row for row in rows if row.key == "top_picks"), None)
    if top is not None:
        positions = explored_positions(explorer.config.positions, len(top.slots))
        best = _best_by_score(ctx, pool, limit)
        if positions and len(best) >= len(positions):
            chosen = _choose_titles(
                ctx,
                best,
                len(positions),
                explorer=explorer,
                rng=rng,
                page=page,
                name="top_picks",
                extra={"positions": positions},
            )
            for position, slot in zip(positions, chosen, strict=True):
                top.slots[position] = slot
            taken = {slot.title.id for slot in chosen}
            pool = [t for t in pool if t.id not in taken]
    unsure = _least_known(ctx, pool, limit)
    if not unsure:
        return rows
    slots = _choose_titles(
        ctx,
        unsure,
        min(size, len(unsure)),
        explorer=explorer,
        rng=rng,
        page=page,
        name=SOMETHING_DIFFERENT,
        extra={},
    )
    row = Row(
        SOMETHING_DIFFERENT,
        "Something different",
        "Titles the recommendations know least about, newest arrivals first, picked by "
        f"the explorer ({explorer.label}) so that {ctx.member.name} can tell us about them.",
        explorer.label,
        slots,
    )
    at = next((i + 1 for i, r in enumerate(rows) if r.key == "top_picks"), None)
    if at is None:
        at = 1 if rows and rows[0].key == PINNED_FIRST else 0
    return rows[:at] + [row] + rows[at:]


def artwork_choose(
    ctx: PageContext,
    rows: list[Row],
    *,
    explorer: Explorer | None,
    rng: np.random.Generator,
    page: PageExploration,
) -> None:
    """The artwork variant of every slot on the page, chosen per member and title in one
    batch (`choose_each`: one independent pick per title among its variants). The action of
    variant v of title t is ``t * variants + v``, with the one-hot style as its features: a
    disjoint policy learns each (title, variant) for this kind of member (the page context
    holds the member's taste), a hybrid one also what each style does for such members
    across every title."""
    if explorer is None:
        return
    n = settings.EXPLORATION_ARTWORK_VARIANTS
    slots = [slot for row in rows for slot in row.slots]
    if not slots:
        return
    candidates = bandit.artwork_candidates([slot.title.pk for slot in slots], n)
    choice = explorer.policy.choose_each(page.context, candidates, n, rng)
    for slot, action, propensity in zip(slots, choice.actions, choice.propensities, strict=True):
        slot.artwork = int(action) % n
        slot.artwork_propensity = float(propensity)
        slot.artwork_policy = explorer.label
        slot.artwork_state_id = explorer.state_id
        if choice.estimated:
            slot.inputs = {**slot.inputs, "artwork_draws": choice.draws}
    page.record["artwork"] = {
        "variants": n,
        "context": _floats(page.context),
        "estimated": choice.estimated,
        "draws": choice.draws,
    }
