"""Reads for the lab: model versions over time, loop health and click-through from the fact
log, the progress of a retrain and of simulated traffic. Every number the lab shows is
computed here, in a fixed number of queries whatever the window holds."""

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDay, TruncHour, TruncMinute
from django.utils import timezone

from catalog.models import Title
from events.models import Impression, Interaction, PageView
from events.selectors import PLAY_TYPES
from modeling.models import ModelVersion, PromotionDecision, RetrainRun

from . import metrics
from .models import TrafficRun

WINDOWS: dict[str, tuple[timedelta, str]] = {
    "1h": (timedelta(hours=1), "minute"),
    "24h": (timedelta(days=1), "hour"),
    "7d": (timedelta(days=7), "day"),
    "30d": (timedelta(days=30), "day"),
}
"""Window name -> (length, bucket): the lab's choices of how far back to look, and how finely."""
_TRUNC = {"minute": TruncMinute, "hour": TruncHour, "day": TruncDay}
_STEP = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
HOMOGENIZATION_PAGES = 40
"""Pages (one per member, the latest) per bucket compared pairwise for homogenization."""
STALE_AFTER = timedelta(seconds=60)
"""A running traffic run whose task has not reported for this long has lost its worker."""


def _floor(at: datetime, bucket: str) -> datetime:
    at = at.astimezone(timezone.get_current_timezone())
    if bucket == "minute":
        return at.replace(second=0, microsecond=0)
    if bucket == "hour":
        return at.replace(minute=0, second=0, microsecond=0)
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


# --- loop health ------------------------------------------------------------------------------


@dataclass(frozen=True)
class HealthPoint:
    """The loop over one bucket of time. Ratios are None where there was nothing to divide."""

    start: datetime
    pages: int  # homepages served (visits)
    members: int  # distinct members who visited
    impressions: int
    coverage: float | None  # distinct titles shown / titles on offer
    exposure_gini: float | None  # Gini of impressions over the titles on offer
    homogenization: float | None  # mean pairwise Jaccard of members' pages
    exploration_rate: float | None  # share of impressions an explorer chose (explored, or p < 1)
    plays_per_visit: float | None
    minutes_per_member: float | None  # minutes watched / members who visited


def loop_health(*, end: datetime, window: str) -> list[HealthPoint]:
    """One point per bucket of `window` (see WINDOWS) up to `end`, oldest first; buckets with
    no traffic are kept (zero counts, None ratios) so the time axis stays even."""
    span, bucket = WINDOWS[window]
    start, trunc = end - span, _TRUNC[bucket]
    in_window = {"served_at__gt": start, "served_at__lte": end}

    pages = {
        row["b"]: row
        for row in PageView.objects.filter(**in_window)
        .annotate(b=trunc("served_at"))
        .values("b")
        .annotate(n=Count("page_id"), m=Count("member_id", distinct=True))
        .order_by()
    }
    shown: dict[datetime, list[int]] = defaultdict(list)
    explored: dict[datetime, int] = defaultdict(int)
    for b, _title, n, n_explored in (
        Impression.objects.filter(**in_window)
        .annotate(b=trunc("served_at"))
        .values("b", "title_id")
        .annotate(n=Count("id"), x=Count("id", filter=Q(explored=True) | Q(propensity__lt=1)))
        .values_list("b", "title_id", "n", "x")
        .order_by()
    ):
        shown[b].append(n)
        explored[b] += n_explored
    plays = {
        row["b"]: row
        for row in Interaction.objects.filter(
            type__in=PLAY_TYPES, occurred_at__gt=start, occurred_at__lte=end
        )
        .annotate(b=trunc("occurred_at"))
        .values("b")
        .annotate(n=Count("id"), seconds=Sum("watched_seconds"))
        .order_by()
    }
    added = sorted(Title.objects.values_list("added_at", flat=True))
    alike = _homogenization(start=start, end=end, trunc=trunc)

    points = []
    at, step = _floor(start, bucket), _STEP[bucket]
    while at <= end:
        counts = shown.get(at, [])
        n_impressions = sum(counts)
        on_offer = bisect_right(added, min(at + step, end))
        page = pages.get(at, {"n": 0, "m": 0})
        play = plays.get(at, {"n": 0, "seconds": 0})
        points.append(
            HealthPoint(
                start=at,
                pages=page["n"],
                members=page["m"],
                impressions=n_impressions,
                coverage=metrics.ratio(len(counts), on_offer) if counts else None,
                exposure_gini=metrics.gini(counts, n=max(on_offer, len(counts))),
                homogenization=alike.get(at),
                exploration_rate=metrics.ratio(explored.get(at, 0), n_impressions),
                plays_per_visit=metrics.ratio(play["n"], page["n"]),
                minutes_per_member=metrics.ratio((play["seconds"] or 0) / 60, page["m"]),
            )
        )
        at += step
    return points


def _homogenization(*, start: datetime, end: datetime, trunc) -> dict[datetime, float | None]:
    """Per bucket: the latest page of up to HOMOGENIZATION_PAGES members, compared pairwise.
    Two queries: the pages (newest first, streamed), then the titles of the sampled ones."""
    sampled: dict[datetime, dict[int, object]] = defaultdict(dict)
    rows = (
        PageView.objects.filter(served_at__gt=start, served_at__lte=end)
        .annotate(b=trunc("served_at"))
        .order_by("-served_at")
        .values_list("b", "member_id", "page_id")
    )
    for b, member_id, page_id in rows.iterator(chunk_size=5000):
        members = sampled[b]
        if len(members) < HOMOGENIZATION_PAGES and member_id not in members:
            members[member_id] = page_id
    page_bucket = {page: b for b, members in sampled.items() for page in members.values()}
    titles: dict[object, set[int]] = defaultdict(set)
    for page_id, title_id in Impression.objects.filter(page_id__in=list(page_bucket)).values_list(
        "page_id", "title_id"
    ):
        titles[page_id].add(title_id)
    by_bucket: dict[datetime, list[frozenset[int]]] = defaultdict(list)
    for page_id, b in page_bucket.items():
        by_bucket[b].append(frozenset(titles[page_id]))
    return {b: metrics.mean_pairwise_jaccard(sets) for b, sets in by_bucket.items()}


# --- click-through ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ClickRate:
    """Plays from the homepage per impression served, for one row kind or one position."""

    key: str | int
    impressions: int
    plays: int
    ctr: float | None


@dataclass(frozen=True)
class ClickThrough:
    by_position: list[ClickRate]  # positions across every row: the position-bias curve
    by_row: list[ClickRate]  # row kinds, most impressions first


def click_through(*, end: datetime, window: str) -> ClickThrough:
    """Click-through measured from the platform's own impressions in `window` before `end`:
    a play counts where its event names the page, row and position it was played from."""
    start = end - WINDOWS[window][0]
    served = (
        Impression.objects.filter(served_at__gt=start, served_at__lte=end)
        .values_list("row_key", "position")
        .annotate(n=Count("id"))
        .order_by()
    )
    played = (
        Interaction.objects.filter(
            type=Interaction.Type.PLAY,
            page__isnull=False,
            position__isnull=False,
            occurred_at__gt=start,
            occurred_at__lte=end,
        )
        .values_list("row_key", "position")
        .annotate(n=Count("id"))
        .order_by()
    )
    cells: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for row_key, position, n in served:
        cells[(row_key, position)][0] += n
    for row_key, position, n in played:
        cells[(row_key, position)][1] += n
    by_position: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    by_row: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (row_key, position), (n_served, n_played) in cells.items():
        for totals in (by_position[position], by_row[row_key]):
            totals[0] += n_served
            totals[1] += n_played

    def rate(key, totals) -> ClickRate:
        return ClickRate(key, totals[0], totals[1], metrics.ratio(totals[1], totals[0]))

    return ClickThrough(
        by_position=[rate(p, t) for p, t in sorted(by_position.items()) if t[0]],
        by_row=[
            rate(k, t) for k, t in sorted(by_row.items(), key=lambda kt: (-kt[1][0], kt[0])) if t[0]
        ],
    )


# --- model versions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelPoint:
    """One registered version: its offline metrics, any off-policy estimates, the gate's
    verdict, and when it served."""

    version: ModelVersion
    decision: PromotionDecision | None
    ope: dict | None  # metrics["ope"] once off-policy evaluation records it
    served_from: datetime | None
    served_until: datetime | None  # None while it serves (or if it never did)
    is_production: bool


@dataclass(frozen=True)
class ModelTimeline:
    versions: list[ModelPoint]  # oldest first
    production: int | None
    experiments: dict = field(default_factory=dict)  # canary share and readouts, once built


def model_timeline() -> ModelTimeline:
    """Every version oldest first, and the serving periods the gate's promotions make: a
    promoted version serves from its decision until the next promotion. Two queries."""
    versions = list(ModelVersion.objects.prefetch_related("decisions").order_by("id"))
    promotions = list(
        PromotionDecision.objects.filter(promoted=True)
        .order_by("id")
        .values_list("candidate_id", "decided_at")
    )
    periods = {
        candidate: (since, promotions[i + 1][1] if i + 1 < len(promotions) else None)
        for i, (candidate, since) in enumerate(promotions)
    }
    production = promotions[-1][0] if promotions else None
    points = [
        ModelPoint(
            version=v,
            decision=getattr(v, "decision", None),
            ope=v.metrics.get("ope") if isinstance(v.metrics.get("ope"), dict) else None,
            served_from=periods.get(v.pk, (None, None))[0],
            served_until=periods.get(v.pk, (None, None))[1],
            is_production=v.pk == production,
        )
        for v in versions
    ]
    return ModelTimeline(versions=points, production=production, experiments=_experiments())


def _experiments() -> dict:
    """Canary share and experiment readouts (rollouts.selectors.experiments_summary); without
    the rollouts app installed the lab says so instead of showing an empty chart."""
    if not apps.is_installed("rollouts"):
        return {
            "available": False,
            "note": "Online experiments and canary rollouts are not built yet "
            "(platform/rollouts); every member is served by production.",
        }
    from rollouts.selectors import experiments_summary

    return experiments_summary()


# --- retraining and traffic -------------------------------------------------------------------


@dataclass(frozen=True)
class RetrainProgress:
    run: RetrainRun
    expected: int  # candidate kinds this retrain fits (HOMEPAGE_CANDIDATES)
    decisions: list[PromotionDecision]  # the gate's verdict on each candidate done so far


def retrain_progress(*, run_id: int) -> RetrainProgress | None:
    """A retrain run with the gate's decisions so far: candidates register one by one, so
    done / expected is the run's progress. Two queries."""
    run = RetrainRun.objects.filter(pk=run_id).first()
    if run is None:
        return None
    decisions = list(
        PromotionDecision.objects.filter(candidate__run=run)
        .select_related("candidate")
        .order_by("id")
    )
    return RetrainProgress(run, len(settings.MODELING_CANDIDATES), decisions)


def traffic_is_stale(run: TrafficRun, *, now: datetime | None = None) -> bool:
    """A run still marked running whose task stopped reporting (its worker died)."""
    if run.status not in (TrafficRun.Status.RUNNING, TrafficRun.Status.STOPPING):
        return False
    beat = run.heartbeat_at or run.started_at or run.requested_at
    return (now or timezone.now()) - beat > STALE_AFTER


def traffic_run_list(*, limit: int = 10) -> list[TrafficRun]:
    return list(TrafficRun.objects.order_by("-id")[:limit])


def traffic_run_active() -> TrafficRun | None:
    """The run that holds the traffic slot (queued, running or stopping, and alive)."""
    for run in TrafficRun.objects.filter(status__in=TrafficRun.ACTIVE).order_by("-id"):
        if not traffic_is_stale(run):
            return run
    return None


def visits_per_member_day(*, at: datetime, days: float = 7.0) -> float | None:
    """How often a member comes by at this time of day, in visits per day: the homepages
    served within an hour either side of `at`'s hour on the `days` before it, per member who
    visited, scaled to 24 hours. Members keep daily habits (most visit in the evening), so the
    rate at eight in the morning is not the daily mean; the estimate is kept at no less than
    a twentieth of the daily mean so a quiet hour never reads as "nobody ever comes". The
    lab sizes a traffic run with it. None without any visit."""
    near = [(at.astimezone(UTC).hour + d) % 24 for d in (-1, 0, 1)]
    row = PageView.objects.filter(
        served_at__gt=at - timedelta(days=days), served_at__lte=at
    ).aggregate(
        n=Count("page_id"),
        m=Count("member_id", distinct=True),
        near=Count("page_id", filter=Q(served_at__hour__in=near)),
    )
    if not row["m"]:
        return None
    daily = row["n"] / (row["m"] * days)
    return max(row["near"] / (row["m"] * days * len(near) / 24), daily / 20)
