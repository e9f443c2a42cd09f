"""Plans: a member's page computed once and served again for a while, each serve logged.

Most of a page's cost is reading who is asking and what they did, scoring the catalogue
for them and converting the page's impressions for the log (docs/benchmarks.md, "Load").
None of that changes between two requests of the same member a few seconds apart unless
something the page was computed from changes. A plan keeps it, in this process, under a key
made of everything the page context reads that can change:

- the serving stamps (`homepage.services.serving_stamps`): experiments, the gate's
  decisions (a promotion), the explorers' configs and states, the catalogue;
- the member's own activity: their plays and thumbs (the log is append-only: a new fact
  changes its newest id and count) and their list (number of entries and newest id);
- the member's profile (kids or not), the request's device, the experiment arms serving
  the member, the row size.

A plan is reused for at most `HOMEPAGE_PLAN_SECONDS` after it was computed, and only for
requests at the present time (an explicit `at` always computes its page). What may be that
much older on a reused page: the trending counts, and titles that entered the catalogue by
the passing of time (their `added_at` was in the future when the plan was made).

Every serve is still a page of its own: its own page id, row-order and slot draws from its
own generator, and its own record in the fact log (`events.services.page_record`) with
every impression. The features logged are the plan's, the ones its scores were computed
from, and the page says when that was (`PageView.planned_at`), so training still reads what
serving used. Two kinds of plan:

- **finished**: no explorer touches the member's page, so the whole page is deterministic
  given its context. The plan holds the filled rows, their match percentiles and their
  impressions converted for the log (`events.services.ImpressionRows`); a serve writes them
  under its own page id and time.
- **open**: an explorer is on for some use. The plan holds the page context and the
  candidate rows; each serve draws its own row order, explored slots and artwork from them
  and converts its own impressions, so every logged propensity is that serve's own draw.
"""

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings

from events.services import ImpressionRows
from exploration.page import PageExploration
from modeling.ranking import Ranking

from .context import PageContext
from .rows import CandidateRow, Row


@dataclass(frozen=True, eq=False)
class Finished:
    """A deterministic page, ready to serve again."""

    rows: list[Row]
    impressions: ImpressionRows
    match: dict[int, int]
    personal: bool
    exploration: PageExploration  # no explorer drew anything: row order 1, empty record
    memo: dict = field(default_factory=dict)
    """What a caller derives from the rows once per plan (the API keeps the rows' JSON)."""


@dataclass(frozen=True, eq=False)
class Plan:
    """A finished plan keeps only what its pages need (not the page context: the serving
    model's scores of every title on offer, the unplayed titles as arrays); an open one
    keeps the context and candidate rows the explorer draws from."""

    at: datetime  # when its context was read and its rows computed
    ranking: Ranking
    finished: Finished | None  # None: an open plan (an explorer draws on every serve)
    ctx: PageContext | None = None  # an open plan's
    candidates: list[CandidateRow] | None = None  # the builders' rows, before the explorer


_lock = threading.Lock()
_plans: OrderedDict[tuple, tuple[tuple, Plan]] = OrderedDict()
"""(member id, device) -> (the key its plan was computed under, the plan): one plan per
member and device, so a member whose activity changes the key replaces their plan."""


def plan_key(*, member, stamps: tuple, device: str, arms: tuple, size: int) -> tuple:
    """Everything a plan was computed from that can change (the module's docstring)."""
    return (member.pk, device, bool(member.is_kids), tuple(stamps), arms, size)


def plan_get(key: tuple, *, at: datetime) -> Plan | None:
    """The plan kept under `key`, if it is at most HOMEPAGE_PLAN_SECONDS older than `at`."""
    seconds = settings.HOMEPAGE_PLAN_SECONDS
    if seconds <= 0:
        return None
    with _lock:
        kept = _plans.get(key[:2])
        if kept is None or kept[0] != key:
            return None
        plan = kept[1]
        if not 0 <= (at - plan.at).total_seconds() <= seconds:
            return None
        _plans.move_to_end(key[:2])
        return plan


def plan_keep(key: tuple, plan: Plan) -> None:
    """Keep `plan` under `key` in place of the member's previous one, the least recently
    used plans going past HOMEPAGE_PLANS_KEPT."""
    if settings.HOMEPAGE_PLAN_SECONDS <= 0:
        return
    with _lock:
        _plans[key[:2]] = (key, plan)
        _plans.move_to_end(key[:2])
        while len(_plans) > settings.HOMEPAGE_PLANS_KEPT:
            _plans.popitem(last=False)


def plans_forget() -> None:
    """Drop every plan this process keeps (tests)."""
    with _lock:
        _plans.clear()


def plans_kept() -> int:
    with _lock:
        return len(_plans)
