"""Page construction: build a member's homepage and log every impression on it.

    page context (once per request) -> candidate rows (one builder per row kind)
      -> [explorer: row order] -> filled rows (no title twice)
      -> [explorer: exploration slots, artwork] -> page record

The explorer's steps are exploration.page's functions; each leaves the page as it is when its
use is off.

Each step is its own function, so a new row kind, or a policy that reorders rows or fills
slots, is a new function rather than an edit of this one.
"""

import dataclasses
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from catalog.selectors import catalog_stamp_sql
from events.models import PageView
from events.selectors import activity_stamp_sql
from events.services import impression_rows, page_record
from exploration.page import (
    PageExploration,
    artwork_choose,
    page_exploration_start,
    rows_order,
    slots_explore,
)
from exploration.serving import (
    Explorer,
    explorer_for_arm,
    explorers_current,
    explorers_stamp_sql,
)
from members.models import Member
from members.selectors import my_list_stamp_sql
from modeling.features import context_features, title_features_each
from modeling.models import PromotionDecision
from modeling.ranking import Ranking
from modeling.selectors import decisions_stamp_sql, gate_decisions
from rollouts.serving import ServedArm, assignments_for, experiments_stamp_sql, page_experiments

from .builders import NON_PERSONAL_KINDS, candidate_rows
from .context import PageContext, match_percentiles, page_context_build
from .plans import (
    Finished,
    Plan,
    plan_get,
    plan_keep,
    plan_key,
    plan_refresh_due,
    plan_refresh_soon,
)
from .rows import Row, rows_fill

PERSONAL_ROWS = frozenset(
    {"continue_watching", "my_list", "because_you_watched", "because_you_liked"}
)
"""Row kinds that exist only because of what this member did."""


@dataclass(frozen=True)
class Homepage:
    page: PageView
    ranking: Ranking
    rows: list[Row]
    match: dict[int, int]  # title id on the page -> percentile of its score for this member
    # (no entry: none)
    gate: list[PromotionDecision]  # the gate's decisions that put the serving version there
    personal: bool  # whether anything on the page depends on this member's own activity
    exploration: PageExploration  # what the explorer did (row order, its probability)
    experiments: dict[str, ServedArm]  # surface -> the experiment arm that served it
    planned_at: datetime | None = None  # when its rows were computed, if before the page
    memo: dict = field(default_factory=dict)
    """What a caller derives from `rows` and `match`, kept with them: shared by every page
    served from the same finished plan (homepage.plans), this page's own otherwise."""


def homepage_build(
    *,
    member: Member,
    at: datetime,
    device: str = "",
    rng: np.random.Generator | None = None,
    reuse: bool = False,
) -> Homepage:
    """Rows for `member` at time `at` (see `builders.ROW_BUILDERS`). No title twice on a page;
    a kids profile sees only kids titles; every slot is logged as an impression before the
    page is returned. The explorer's draws come from `rng` (tests), by default from a
    generator seeded with the page's own id, so a logged page says how to replay them.
    `device` is the one the request came from ("": unknown): the serving model reads it and
    the page records it.

    `reuse`: `at` is the present, and the page may be served from the member's plan, what an
    earlier page computed up to HOMEPAGE_PLAN_SECONDS ago with nothing it read changed since
    (`homepage.plans`); the page is drawn and logged as its own all the same.

    A member in a running online experiment (rollouts) is served its arm's model version or
    explorer policy on that experiment's surface, production elsewhere; the page records
    the experiments and arms, and how long it took to build (their latency guardrail)."""
    started = time.perf_counter()
    page_id = uuid.uuid4()
    rng = rng if rng is not None else np.random.default_rng(page_id.int)
    serving = _serving(member=member, device=device)
    stamps, assigned, explorers, size = (
        serving.stamps,
        serving.assigned,
        serving.explorers,
        serving.size,
    )
    plan = plan_get(serving.key, at=at, catalogue=stamps.catalogue) if reuse else None
    if plan is None:
        plan = _plan(
            member=member,
            at=at,
            device=device,
            assigned=assigned,
            stamps=stamps,
            finish=not any(explorers.values()),
            size=size,
        )
        if reuse:
            plan_keep(serving.key, plan)
    elif plan_refresh_due(plan, at=at):
        member_id = member.pk
        plan_refresh_soon(
            (member_id, device), lambda: plan_refresh(member_id=member_id, device=device)
        )
    if plan.finished is not None:
        done = plan.finished
        rows, slots, match = done.rows, done.impressions, done.match
        personal, explore, memo = done.personal, done.exploration, done.memo
    else:
        explore = page_exploration_start(plan.ctx)
        rows = _explored_rows(plan, explorers=explorers, rng=rng, page=explore, size=size)
        slots = _impressions(rows, at=plan.at)
        match = _match(plan.ctx, rows)
        personal, memo = _personal(plan.ctx, rows), {}
    ranking = plan.ranking
    page = page_record(
        page_id=page_id,
        member=member,
        served_at=at,
        model_version_id=ranking.version.pk if ranking.version else None,
        fallback=ranking.fallback,
        fallback_reason=ranking.fallback_reason,
        device=device,
        row_order_policy=explore.row_order_policy,
        row_order_state_id=explore.row_order_state_id,
        row_order_probability=explore.row_order_probability,
        exploration=explore.record,
        slots=slots,
        experiments=page_experiments(assigned),
        build_ms=(time.perf_counter() - started) * 1000.0,
        planned_at=plan.at if plan.at != at else None,
    )
    version = ranking.version
    return Homepage(
        page=page,
        ranking=ranking,
        rows=rows,
        match=match,
        gate=gate_decisions(version=version, stamp=stamps.decisions) if version is not None else [],
        personal=personal,
        exploration=explore,
        experiments=assigned,
        planned_at=page.planned_at,
        memo=memo,
    )


class _Serving(NamedTuple):
    """What serves a member's page now, read before its plan is looked up or computed."""

    stamps: "ServingStamps"
    assigned: dict[str, ServedArm]
    explorers: dict[str, Explorer]
    size: int
    key: tuple  # the member's plan's (homepage.plans.plan_key)


def _serving(*, member: Member, device: str) -> _Serving:
    stamps = serving_stamps(member_id=member.pk)
    assigned = assignments_for(member_id=member.pk, stamp=stamps.experiments)
    explorers = _arm_explorers(explorers_current(stamp=stamps.explorers), assigned)
    size = settings.HOMEPAGE_ROW_SIZE
    key = plan_key(
        member=member,
        stamps=stamps,
        device=device,
        arms=tuple(sorted((s, a.arm_id) for s, a in assigned.items())),
        size=size,
    )
    return _Serving(stamps, assigned, explorers, size, key)


def plan_refresh(*, member_id: int, device: str) -> Plan | None:
    """Compute the member's plan now and keep it, in place of the one a page was just served
    from (homepage.plans: a plan near the end of its HOMEPAGE_PLAN_SECONDS is computed again
    off the request, so the member's next page does not wait for it). None: the member
    is gone."""
    member = Member.objects.filter(pk=member_id, account__isnull=False).first()
    if member is None:
        return None
    serving = _serving(member=member, device=device)
    return _plan_kept(member=member, device=device, serving=serving, at=timezone.now())


def _plan_kept(*, member: Member, device: str, serving: _Serving, at: datetime) -> Plan:
    plan = _plan(
        member=member,
        at=at,
        device=device,
        assigned=serving.assigned,
        stamps=serving.stamps,
        finish=not any(serving.explorers.values()),
        size=serving.size,
    )
    plan_keep(serving.key, plan)
    return plan


class PlansWarmed(NamedTuple):
    """What `plans_warm` did, one count per member and device it looked at."""

    computed: int  # their plan computed and kept
    current: int  # a plan under the current key was kept already, not near its end
    open: int  # an explorer is on for them: each page draws its own, there is no plan to share
    seconds: float

    @property
    def looked_at(self) -> int:
        return self.computed + self.current + self.open


def plans_warm(*, since: datetime, limit: int | None = None) -> PlansWarmed:
    """Compute ahead the plans of the members who were served a page since `since`, for each
    device they were served on, the most recent first (at most `limit` of them): after a
    promotion every plan's key has changed, and without this each of those members' next
    page would be computed in its request, all at about the same time (homepage.plans).

    Run where the plans are kept for the web processes: by a worker with a shared plan store
    (`homepage.tasks.plans_warm`), or in a web process. A member whose plan under the
    current key is kept and not due for a refresh is left as is, so running it twice, or
    beside pages that compute plans, computes each plan once."""
    started = time.perf_counter()
    seen = (
        PageView.objects.filter(served_at__gte=since, member__account__isnull=False)
        .values_list("member_id", "device")
        .annotate(last=Max("served_at"))
        .order_by("-last", "member_id", "device")
    )
    pairs = [(member_id, device) for member_id, device, _ in seen[:limit]]
    members = Member.objects.filter(account__isnull=False).in_bulk({m for m, _ in pairs})
    computed = current = open_ = 0
    for member_id, device in pairs:
        member = members.get(member_id)
        if member is None:  # deleted since
            continue
        serving = _serving(member=member, device=device)
        if any(serving.explorers.values()):
            open_ += 1
            continue
        at = timezone.now()
        kept = plan_get(serving.key, at=at, catalogue=serving.stamps.catalogue)
        if kept is not None and not plan_refresh_due(kept, at=at):
            current += 1
            continue
        _plan_kept(member=member, device=device, serving=serving, at=at)
        computed += 1
    return PlansWarmed(computed, current, open_, time.perf_counter() - started)


def _plan(
    *,
    member: Member,
    at: datetime,
    device: str,
    assigned: dict[str, ServedArm],
    stamps: "ServingStamps",
    finish: bool,
    size: int,
) -> Plan:
    """Read the page context and rank the candidate rows; `finish` (no explorer on): fill
    the rows and convert their impressions too, the whole page being deterministic."""
    ctx = page_context_build(
        member=member,
        at=at,
        device=device,
        assigned=assigned,
        decisions=stamps.decisions,
        catalogue=stamps.catalogue,
    )
    candidates = candidate_rows(ctx)
    if not finish:
        return Plan(at=at, ranking=ctx.ranking, finished=None, ctx=ctx, candidates=candidates)
    rows = rows_fill(candidates, size=size)
    finished = Finished(
        rows=rows,
        impressions=impression_rows(_impressions(rows, at=at)),
        match=_match(ctx, rows),
        personal=_personal(ctx, rows),
        exploration=page_exploration_start(ctx),
    )
    # its pages read the serving version and the fallback, not the catalogue's scores
    return Plan(at=at, ranking=dataclasses.replace(ctx.ranking, scores={}), finished=finished)


def _explored_rows(
    plan: Plan,
    *,
    explorers: dict[str, Explorer],
    rng: np.random.Generator,
    page: PageExploration,
    size: int,
) -> list[Row]:
    """The explorer's three seams over the plan's candidate rows, drawn for this page."""
    ctx = plan.ctx
    candidates = rows_order(
        plan.candidates, explorer=explorers.get("row_order"), rng=rng, page=page
    )
    rows = rows_fill(candidates, size=size)
    rows = slots_explore(ctx, rows, explorer=explorers.get("slots"), rng=rng, page=page, size=size)
    artwork_choose(ctx, rows, explorer=explorers.get("artwork"), rng=rng, page=page)
    return rows


def _match(ctx: PageContext, rows: list[Row]) -> dict[int, int]:
    return match_percentiles(ctx, [slot.title.pk for row in rows for slot in row.slots])


def _personal(ctx: PageContext, rows: list[Row]) -> bool:
    version = ctx.ranking.version
    return any(row.key in PERSONAL_ROWS for row in rows) or (
        version is not None and version.kind not in NON_PERSONAL_KINDS and bool(ctx.history)
    )


class ServingStamps(NamedTuple):
    """What `serving_stamps` reads, each the stamp of one thing a page is served from."""

    experiments: tuple
    decisions: tuple
    explorers: tuple
    catalogue: tuple
    member: tuple = ()  # the member's plays, thumbs and list; empty: not asked


def serving_stamps(*, member_id: int | None = None) -> ServingStamps:
    """The stamps of the running experiments, the gate's decisions, the explorer's configs
    and states, and the catalogue, in one query: each says whether this process's copy of
    what serves (experiment arms, production and its gate evidence, the explorers, the
    catalogue snapshot) is still current, so a page asks the database once instead of four
    or five times, and a start, a stop, a promotion, a new bandit state or a new title
    serves from the next page on. With `member_id`, the same query reads the stamps of that
    member's plays, thumbs and list too (a plan's key, homepage.plans)."""
    parts = [
        experiments_stamp_sql(),
        decisions_stamp_sql(),
        explorers_stamp_sql(),
        catalog_stamp_sql(),
    ]
    params = []
    if member_id is not None:
        activity, my_list = activity_stamp_sql(), my_list_stamp_sql()
        parts.append((f"SELECT * FROM ({activity[0]}) AS a, ({my_list[0]}) AS l", 4))
        params = [int(member_id), int(member_id)]
    sql = "SELECT * FROM " + ", ".join(
        f"({query}) AS stamp{i}" for i, (query, _) in enumerate(parts)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    stamps, start = [], 0
    for _, width in parts:
        stamps.append(tuple(row[start : start + width]))
        start += width
    return ServingStamps(*stamps)


def _arm_explorers(
    explorers: dict[str, Explorer], assigned: dict[str, ServedArm]
) -> dict[str, Explorer]:
    """Production's explorers, with each experiment arm's own policy on its surface (an arm
    without one, a control, serves production's)."""
    explorers = dict(explorers)
    for surface, served in assigned.items():
        if surface == "model" or not served.explorer:
            continue
        explorer = explorer_for_arm(
            use=surface,
            spec=served.explorer,
            key=("arm", served.arm_id),
            production=explorers.get(surface),
        )
        if explorer is not None:
            explorers[surface] = explorer
    return explorers


def _impressions(rows: list[Row], *, at: datetime) -> list[dict]:
    """One fact per slot: where it was, what was shown, by which policy with what
    probability (explored or deterministic; the explorer's state, and whether the
    probability is a Monte Carlo estimate), the artwork variant and its probability, and the
    features serving used (the models' own feature functions; the bandits' inputs apart)."""
    context = context_features(at=at)
    titles = [slot.title for row in rows for slot in row.slots]
    each = iter(
        title_features_each(
            added_at=[t.added_at for t in titles],
            release_date=[t.release_date for t in titles],
            at=at,
        )
    )
    impressions = []
    for row_index, row in enumerate(rows):
        for position, slot in enumerate(row.slots):
            features = {**context, **next(each), "score": slot.score}
            impressions.append(
                {
                    "row_key": row.key,
                    "row_index": row_index,
                    "position": position,
                    "title_id": slot.title.pk,
                    "policy": slot.policy or row.policy,
                    "propensity": slot.propensity,
                    "explored": slot.explored,
                    "bandit_state_id": slot.state_id,
                    "estimated": slot.estimated,
                    "draws": slot.draws,
                    "features": features,
                    "bandit_inputs": slot.inputs,
                    "artwork": slot.artwork,
                    "artwork_propensity": slot.artwork_propensity,
                    "artwork_policy": slot.artwork_policy,
                    "artwork_state_id": slot.artwork_state_id,
                }
            )
    return impressions
