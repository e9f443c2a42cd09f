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

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

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
    normals: bandit.SharedNormals = field(default_factory=bandit.SharedNormals)
    """The Monte Carlo noise the page's Thompson decisions share (bandit.choose); this
    page's own, never another's."""

    @cached_property
    def logged_context(self) -> list[float]:
        """`context` as every record and slot logs it, converted once a page: each use logs
        its own copy (``list(...)``), so no record or slot shares a list with another."""
        return _floats(self.context)


def page_exploration_start(ctx: PageContext) -> PageExploration:
    profile = bandit.genre_profile(
        title_ids=[play.title_id for play in ctx.history], genre_ids=ctx.genre_ids
    )
    return PageExploration(context=bandit.page_context(at=ctx.at, profile=profile))


def _floats(values) -> list[float]:
    """Exact: the logged numbers are the ones the policy used (JSON keeps a float's digits)."""
    return np.asarray(values, np.float64).tolist()


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
    choice = bandit.choose(
        explorer.policy,
        page.context,
        bandit.row_candidates(kind_ids=kinds, prior=prior, n_kinds=len(ROW_KINDS)),
        min(len(eligible), settings.EXPLORATION_MAX_ROWS),
        rng,
        page.normals,
    )
    by_kind = dict(zip(kinds, eligible, strict=True))
    page.row_order_policy = explorer.label
    page.row_order_state_id = explorer.state_id
    page.row_order_probability = choice.slate_propensity
    page.record["row_order"] = {
        "eligible": kinds,
        "prior": prior,
        "chosen": choice.actions.tolist(),
        "propensities": _floats(choice.propensities),
        "estimated": choice.estimated,
        "draws": choice.draws,
        "context": list(page.logged_context),
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
    among: np.ndarray,
    k: int,
    *,
    explorer: Explorer,
    rng: np.random.Generator,
    page: PageExploration,
    name: str,
    extra: dict,
    features: np.ndarray,
) -> tuple[list[Slot], np.ndarray]:
    """k slots chosen by the slots policy out of the titles `among` (indices into
    `ctx.candidates`, in the pool's order), recorded under `name`, and the chosen titles'
    indices into `ctx.candidates`. `features`: the titles' rows of
    `bandit.title_own_features`, this pool's own (their score entry is set here)."""
    c, scores = ctx.candidates, ctx.ranking.scores
    ids, pool_scores = c.ids[among], c.scores[among]
    unknown = np.isnan(pool_scores)
    lowest = np.fmin.reduce(pool_scores) if len(pool_scores) else np.nan  # of the known ones
    missing = float(lowest) - 1.0 if not np.isnan(lowest) else 0.0
    candidates = bandit.slot_candidates(
        ids=ids, scores=np.where(unknown, missing, pool_scores), features=features
    )
    choice = bandit.choose(explorer.policy, page.context, candidates, k, rng, page.normals)
    pks, actions = ids.tolist(), choice.actions.tolist()
    index = dict(zip(pks, range(len(pks)), strict=True))
    chosen = [index[action] for action in actions]
    features = (
        candidates.features[chosen].tolist()  # the chosen titles' only: those are logged
        if candidates.features is not None
        else [[] for _ in chosen]
    )
    context = page.logged_context
    label, state_id = explorer.label, explorer.state_id
    model_scores = list(map(scores.get, pks))
    picked = among[chosen]  # indices into ctx.candidates, whose titles are ctx.unplayed
    unplayed = ctx.unplayed
    slots = []
    for i, j, propensity, title_features in zip(
        chosen, picked.tolist(), choice.propensities.tolist(), features, strict=True
    ):
        slots.append(
            Slot(
                unplayed[j],
                model_scores[i],
                propensity=propensity,
                explored=True,
                policy=label,
                state_id=state_id,
                estimated=choice.estimated,
                draws=choice.draws,
                inputs={"context": list(context), "features": title_features},
            )
        )
    page.record[name] = {
        **extra,
        "eligible": [[pk, score] for pk, score in zip(pks, model_scores, strict=True)],
        "chosen": actions,
        "propensities": _floats(choice.propensities),
        "estimated": choice.estimated,
        "draws": choice.draws,
        "context": list(context),
    }
    return slots, picked


def _first(
    primary: np.ndarray,
    among: np.ndarray,
    limit: int,
    others: Callable[[np.ndarray], tuple[np.ndarray, ...]],
) -> np.ndarray:
    """The indices in `among` of the `limit` first by their keys, as one full sort would
    give them: `primary` (one per index of `among`) first, then `others(indices)`, the
    further keys of some of them (np.lexsort's order: the last key first).

    A partition on the primary key keeps only the rows at most as large as the `limit`-th
    one (every tie of it included), and only those get their other keys and are sorted by
    every key: some 50 rows of 5,000, so a page sorts 50 titles, not the catalogue."""
    if len(among) > limit:
        bound = np.partition(primary, limit - 1)[limit - 1]
        if not np.isnan(bound):  # NaN sorts last: with one among the first, keep all
            keep = primary <= bound
            among, primary = among[keep], primary[keep]
    return among[np.lexsort((*others(among), primary))[:limit]]


def _best_by_score(ctx: PageContext, among: np.ndarray, limit: int) -> np.ndarray:
    """The `limit` titles (indices into `ctx.candidates`) of `among` the serving model
    scores highest (unscored last, then newest first, then by id)."""
    c = ctx.candidates
    scores = c.scores[among]
    # (unknown, -score) folded into one primary key: unscored titles are +inf, and a title
    # scored -inf that ties with them is still put first by the full sort below
    primary = np.fmin(-scores, np.inf)  # fmin takes the inf where -score is NaN

    def others(kept: np.ndarray) -> tuple[np.ndarray, ...]:
        known = c.scores[kept]
        return c.ids[kept], -c.added[kept], -np.where(np.isnan(known), 0.0, known)

    return _first(primary, among, limit, others)


def _least_known(ctx: PageContext, among: np.ndarray, limit: int) -> np.ndarray:
    """The `limit` titles (indices into `ctx.candidates`) of `among` the recommendations
    know least: newest arrivals first, then the least played this week, then by id. This
    week's plays are read for the newest titles only (the ties of the `limit`-th included)."""
    c, trending = ctx.candidates, ctx.trending

    def others(kept: np.ndarray) -> tuple[np.ndarray, ...]:
        ids = c.ids[kept]
        plays = np.fromiter((trending.get(pk, 0.0) for pk in ids.tolist()), np.float64, len(ids))
        return ids, plays

    return _first(-c.added[among], among, limit, others)


def _kept(first: np.ndarray, dropped: np.ndarray, limit: int) -> np.ndarray | slice:
    """Where in `first` (`_least_known` of a pool, its first `limit` + len(`dropped`)) the
    first `limit` titles not in `dropped` are (indices into `ctx.candidates`, all in the
    pool): `_least_known` of the pool without them. One order ranks both (the ids break
    every tie), so these are the same titles in the same order, and the pool is not rebuilt
    without them. Something different takes `first` before Top Picks has chosen (both
    pools' features are built in one call), and this once it has."""
    if not len(dropped):
        return slice(limit)
    return np.flatnonzero((first[:, None] != dropped).all(axis=1))[:limit]


def _indices_of(ids: np.ndarray, wanted: list[int], ordered: bool) -> np.ndarray:
    """The indices in `ids` of the `wanted` ids that are in it. `ctx.candidates` holds the
    unplayed titles by id (`ordered`: `ids` ascending), so a binary search per wanted id
    does it (121 of them, against an `np.isin` over the 5,000 candidates)."""
    wanted = np.asarray(wanted, np.int64)
    if ordered:
        at = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
        return at[ids[at] == wanted]
    return np.flatnonzero(np.isin(ids, wanted))


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
    c = ctx.candidates
    free = np.ones(len(c.ids), bool)  # not on the page yet, by index into ctx.candidates
    on_page = [slot.title.id for row in rows for slot in row.slots]
    free[_indices_of(c.ids, on_page, c.ascending and len(c.ids) > 0)] = False
    pool = np.flatnonzero(free)
    top = next((row for row in rows if row.key == "top_picks"), None)
    positions = (
        explored_positions(explorer.config.positions, len(top.slots)) if top is not None else []
    )
    best = _best_by_score(ctx, pool, limit) if top is not None else pool[:0]
    if not positions or len(best) < len(positions):
        best = best[:0]  # Top Picks explores nothing
    # Something different's pool: the first of these that Top Picks does not take
    first = _least_known(ctx, pool, limit + (len(positions) if len(best) else 0))
    # both pools' title features but the score in one call (they depend on the title alone)
    both = np.concatenate((best, first))
    features = bandit.title_own_features(at=ctx.at, added_at=c.added[both], years=c.years[both])
    explored = np.empty(0, np.int64)  # Top Picks' explored titles, by index
    if len(best):
        chosen, explored = _choose_titles(
            ctx,
            best,
            len(positions),
            explorer=explorer,
            rng=rng,
            page=page,
            name="top_picks",
            extra={"positions": positions},
            features=features[: len(best)],
        )
        for position, slot in zip(positions, chosen, strict=True):
            top.slots[position] = slot
    kept = _kept(first, explored, limit)
    unsure = first[kept]
    if not len(unsure):
        return rows
    slots, _ = _choose_titles(
        ctx,
        unsure,
        min(size, len(unsure)),
        explorer=explorer,
        rng=rng,
        page=page,
        name=SOMETHING_DIFFERENT,
        extra={},
        features=features[len(best) :][kept],
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
    candidates = bandit.artwork_candidates([slot.title.id for slot in slots], n)
    choice = bandit.choose_each(explorer.policy, page.context, candidates, n, rng, page.normals)
    label, state_id = explorer.label, explorer.state_id
    variants = (choice.actions % n).tolist()
    draws = {"artwork_draws": choice.draws} if choice.estimated else None
    for slot, variant, propensity in zip(
        slots, variants, choice.propensities.tolist(), strict=True
    ):
        slot.artwork = variant
        slot.artwork_propensity = propensity
        slot.artwork_policy = label
        slot.artwork_state_id = state_id
        if draws:
            slot.inputs = {**slot.inputs, **draws}
    page.record["artwork"] = {
        "variants": n,
        "context": list(page.logged_context),
        "estimated": choice.estimated,
        "draws": choice.draws,
    }
