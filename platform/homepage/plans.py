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

Plans live in the process that computed them. With `HOMEPAGE_PLAN_CACHE_URL` set (a Redis
server), a finished plan is also written there, so the other web processes and replicas
serve it too instead of each computing the member's page on its first request of them; an
open plan holds the whole page context (the scores of every title on offer) and stays in its
process. The shared store only ever saves work: a plan read from it is checked against the
full key like a local one, and when it cannot be reached pages are computed as without it
(and it is not asked again for `SHARED_RETRY_SECONDS`). Plans are pickled, as Django's own
Redis cache pickles what it keeps: whoever can write to that Redis database can run code in
the web processes, so it must be as closed as the database.

A plan near its end (within `HOMEPAGE_PLAN_REFRESH_SECONDS` of `HOMEPAGE_PLAN_SECONDS`)
that serves a page is computed again off the request, on one background thread a process:
the page is served from the old plan, and the member's next page from the new one, so a
member who keeps visiting never waits for their page to be computed (the slowest 1-2% of
pages under load, docs/benchmarks.md). A refresh reads everything afresh, like a computed
page, and replaces the plan only through `plan_keep`. Each plan comes due at a point of its
own, drawn when it is made, up to HOMEPAGE_PLAN_REFRESH_SECONDS earlier than that: plans
made together (the warming after a promotion, below) would otherwise come due together, a
wave of refreshes that backs up the refresher threads until pages are computed in their
requests again, and with every refresh their points drift further apart.

A promotion, or a canary starting or shipping, changes every member's key at once. With a
shared store, a worker then computes ahead the plans of the members served recently
(`homepage.services.plans_warm`, queued by the retrain and readouts tasks), so their next
pages are served from plans made for what serves now instead of all being computed in
their requests within the same minute.

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

import io
import logging
import math
import pickle
import queue
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.cache import caches
from django.db import close_old_connections, connections

from catalog.models import Title
from catalog.selectors import catalog_titles
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
    refresh_spread: float = field(default_factory=random.random)
    """In [0, 1): how much of HOMEPAGE_PLAN_REFRESH_SECONDS earlier than the others this plan
    comes due for its refresh (`plan_refresh_due`)."""


_lock = threading.Lock()
_plans: OrderedDict[tuple, tuple[tuple, Plan]] = OrderedDict()
"""(member id, device) -> (the key its plan was computed under, the plan): one plan per
member and device, so a member whose activity changes the key replaces their plan."""


SHARED_RETRY_SECONDS = 5.0
"""After the shared store failed, pages go without it this long before it is asked again, so
an outage of Redis costs one failed call per process per period, not one per page."""

logger = logging.getLogger(__name__)
_shared_down_until = 0.0


def _shared():
    """The shared store's cache (HOMEPAGE_PLAN_CACHE_URL), or None: not set, or down."""
    if not settings.HOMEPAGE_PLAN_CACHE or time.monotonic() < _shared_down_until:
        return None
    return caches[settings.HOMEPAGE_PLAN_CACHE]


def _shared_failed(doing: str, exc: Exception) -> None:
    global _shared_down_until
    _shared_down_until = time.monotonic() + SHARED_RETRY_SECONDS
    logger.warning(
        "The shared plan store failed %s (%s: %s); pages go without it for %g s.",
        doing,
        type(exc).__name__,
        exc,
        SHARED_RETRY_SECONDS,
    )


PLAN_FORMAT = 2
"""The shape of a pickled plan: a change of `Plan` or what it holds takes the next number, so
that processes of a new release never read a plan the old one kept in the shared store (say,
one without a field the new code reads), nor the old ones a new plan, while both run."""


def _shared_name(key: tuple) -> str:
    # one plan per member and device, as in this process
    return f"plan:v{PLAN_FORMAT}:{key[0]}:{key[1]}"


class _TitlesById(pickle.Pickler):
    """Pickles a plan with each title as its id: the reader takes the titles from its own
    catalogue snapshot (the plan's key holds the catalogue's stamp, so the two are the
    same catalogue), which keeps the stored plan small and the reader's titles shared."""

    def persistent_id(self, obj):
        return obj.pk if type(obj) is Title else None


class _TitlesFromSnapshot(pickle.Unpickler):
    def __init__(self, data: bytes, titles: dict[int, Title]):
        super().__init__(io.BytesIO(data))
        self.titles = titles

    def persistent_load(self, pid):
        return self.titles[pid]


def _plan_dumps(plan: Plan) -> bytes:
    out = io.BytesIO()
    _TitlesById(out, protocol=pickle.HIGHEST_PROTOCOL).dump(plan)
    return out.getvalue()


def plan_key(*, member, stamps: tuple, device: str, arms: tuple, size: int) -> tuple:
    """Everything a plan was computed from that can change (the module's docstring)."""
    return (member.pk, device, bool(member.is_kids), tuple(stamps), arms, size)


def plan_get(key: tuple, *, at: datetime, catalogue: tuple) -> Plan | None:
    """The plan kept under `key`, if it is at most HOMEPAGE_PLAN_SECONDS older than `at`:
    this process's, else the shared store's. `catalogue`: the catalogue's stamp, which `key`
    holds too (a shared plan's titles are read from that snapshot)."""
    seconds = settings.HOMEPAGE_PLAN_SECONDS
    if seconds <= 0:
        return None
    with _lock:
        kept = _plans.get(key[:2])
        if kept is not None and kept[0] == key and _fresh(kept[1], at, seconds):
            _plans.move_to_end(key[:2])
            return kept[1]
    shared = _shared()
    if shared is None:
        return None
    try:
        kept = shared.get(_shared_name(key))
    except Exception as exc:  # the store is an optimisation: never fail a page for it
        _shared_failed("to read a plan", exc)
        return None
    if kept is None or kept[0] != key:
        return None
    try:
        plan = _TitlesFromSnapshot(kept[1], catalog_titles(stamp=catalogue)).load()
    except Exception as exc:  # this plan only (say, a title this snapshot lacks): the store
        # itself answered, so it stays in use
        logger.warning(
            "A shared plan of member %s could not be read back (%s: %s); computing the page.",
            key[0],
            type(exc).__name__,
            exc,
        )
        return None
    if not _fresh(plan, at, seconds):
        return None
    _keep_here(key, plan)
    return plan


def _fresh(plan: Plan, at: datetime, seconds: float) -> bool:
    return 0 <= (at - plan.at).total_seconds() <= seconds


def plan_keep(key: tuple, plan: Plan) -> None:
    """Keep `plan` under `key` in place of the member's previous one, the least recently
    used plans going past HOMEPAGE_PLANS_KEPT; a finished plan in the shared store too,
    for HOMEPAGE_PLAN_SECONDS."""
    if settings.HOMEPAGE_PLAN_SECONDS <= 0:
        return
    _keep_here(key, plan)
    shared = _shared() if plan.finished is not None else None
    if shared is not None:
        try:
            shared.set(
                _shared_name(key),
                (key, _plan_dumps(plan)),
                timeout=math.ceil(settings.HOMEPAGE_PLAN_SECONDS),
            )
        except Exception as exc:
            _shared_failed("to keep a plan", exc)


def _keep_here(key: tuple, plan: Plan) -> None:
    with _lock:
        _plans[key[:2]] = (key, plan)
        _plans.move_to_end(key[:2])
        while len(_plans) > settings.HOMEPAGE_PLANS_KEPT:
            _plans.popitem(last=False)


def plan_refresh_due(plan: Plan, *, at: datetime) -> bool:
    """Whether a page served at `at` from `plan` should have it computed again: from
    HOMEPAGE_PLAN_REFRESH_SECONDS before its end on, or earlier by up to as long again, by
    its spread (the module's docstring), but never before half of that usual point."""
    ahead = settings.HOMEPAGE_PLAN_REFRESH_SECONDS
    if ahead <= 0 or settings.HOMEPAGE_PLAN_SECONDS <= 0:
        return False
    latest = settings.HOMEPAGE_PLAN_SECONDS - ahead
    due = latest - min(ahead, max(latest, 0.0) / 2) * plan.refresh_spread
    return (at - plan.at).total_seconds() >= due


_refresh_lock = threading.Lock()
_refresh_queue: "queue.Queue[tuple[tuple, Callable[[], object]]]" = queue.Queue()
_refreshing: set[tuple] = set()  # (member id, device) queued or being refreshed
_refresh_declined: dict[tuple, float] = {}  # another process refreshes it: until when
_refresher: threading.Thread | None = None


def plan_refresh_soon(name: tuple, refresh: Callable[[], object]) -> bool:
    """Run `refresh` (it computes and keeps the plan of `name`, (member id, device)) on this
    process's refresher thread, unless that plan is queued or being refreshed already: here,
    or with a shared store in another process (`_refresh_claim`). Returns whether it was
    queued."""
    global _refresher
    now = time.monotonic()
    with _refresh_lock:
        if name in _refreshing or _refresh_declined.get(name, 0.0) > now:
            return False
    if not _refresh_claim(name):
        with _refresh_lock:
            _refresh_declined[name] = now + settings.HOMEPAGE_PLAN_REFRESH_SECONDS
        return False
    with _refresh_lock:
        if name in _refreshing:
            return False
        _refreshing.add(name)
        if len(_refresh_declined) > 4 * max(settings.HOMEPAGE_PLANS_KEPT, 1):
            _refresh_declined.clear()
        if _refresher is None or not _refresher.is_alive():
            # started on first use, so in each web process (after gunicorn's fork)
            _refresher = threading.Thread(target=_refresh_loop, name="plan-refresh", daemon=True)
            _refresher.start()
    _refresh_queue.put((name, refresh))
    return True


def _refresh_claim(name: tuple) -> bool:
    """With a shared store, one process refreshes a member's plan, the one that marks it
    first (an atomic add that expires after HOMEPAGE_PLAN_REFRESH_SECONDS); the others go
    on serving the plan they have and then read the new one from the store. Without a
    store, or when it fails, every process refreshes its own."""
    shared = _shared()
    if shared is None:
        return True
    try:
        return shared.add(
            f"refresh:{name[0]}:{name[1]}",
            1,
            timeout=math.ceil(settings.HOMEPAGE_PLAN_REFRESH_SECONDS),
        )
    except Exception as exc:
        _shared_failed("to mark a refresh", exc)
        return True


def _refresh_loop() -> None:
    while True:
        name, refresh = _refresh_queue.get()
        try:
            close_old_connections()
            refresh()
        except Exception:  # a failed refresh leaves the old plan to expire: pages compute
            logger.exception("Refreshing the plan of member %s (device %r) failed.", *name)
        finally:
            if _refresh_queue.qsize() == 0:
                connections.close_all()  # this thread's own: an idle thread holds none
            with _refresh_lock:
                _refreshing.discard(name)


def plan_refreshes_wait(timeout: float = 30.0) -> None:
    """Return once every refresh queued so far has run (tests, benchmarks); TimeoutError if
    that takes longer than `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        with _refresh_lock:
            if not _refreshing:
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"plan refreshes still running after {timeout:g} s")
        time.sleep(0.01)


def plans_forget() -> None:
    """Drop every plan this process keeps, and forget that the shared store failed (tests);
    the shared store's plans expire on their own."""
    global _shared_down_until
    with _lock:
        _plans.clear()
        _shared_down_until = 0.0
    with _refresh_lock:
        _refresh_declined.clear()


def plans_kept() -> int:
    with _lock:
        return len(_plans)
