"""Reads of the online experiments, and their metrics from the fact log only.

Days are simulated days: day d of an experiment is [started_at + d days, + 1 day) on the
pages' clock (served_at, the simulator's `at`), never wall time, so a month of simulated
traffic gives a month of readouts in minutes. A day is complete once the log holds a page
served after it (`simulated_now`).

Units are members: each metric is one value per member of an arm seen so far (a member is
in an arm from their first page served by it), so the per-member values are independent
and the intervals honest (pages of one member are not).
"""

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max

from events.models import Interaction, PageView

from .models import Arm, Experiment, Readout

DAY = timedelta(days=1)
PLAY_TYPES = (Interaction.Type.PLAY, Interaction.Type.SEARCH_PLAY)
PRIMARY = "minutes_per_day"
METRICS = ("minutes_per_day", "plays_per_visit", "retention", "latency_ms")
"""Streaming minutes per member per day (the primary), plays per visit, retention (share of
members first seen before day d - N who visited on or after it), page build latency in ms
(the guardrail: higher is worse)."""


def simulated_now() -> datetime | None:
    """The simulated clock: the latest page served (None: no page yet)."""
    return PageView.objects.aggregate(at=Max("served_at"))["at"]


def experiment_list() -> list[Experiment]:
    return list(Experiment.objects.prefetch_related("arms__model_version").order_by("-id"))


def experiment_get(*, experiment_id: int) -> Experiment | None:
    return (
        Experiment.objects.prefetch_related("arms__model_version", "decisions", "readouts__arm")
        .filter(pk=experiment_id)
        .first()
    )


def running_on(*, surface: str, exclude: int | None = None) -> Experiment | None:
    return (
        Experiment.objects.filter(surface=surface, status=Experiment.Status.RUNNING)
        .exclude(pk=exclude)
        .order_by("id")
        .first()
    )


def model_surface_busy() -> str | None:
    """Why no other experiment can start on the model surface now, or None."""
    running = running_on(surface="model")
    if running is None:
        return None
    return f"experiment {running.pk} ({running.name!r}) already runs on the model surface"


def completed_days(experiment: Experiment, *, now: datetime | None) -> int:
    """How many whole simulated days of `experiment` lie behind the clock (and before it
    stopped)."""
    if experiment.started_at is None or now is None:
        return 0
    end = now if experiment.stopped_at is None else min(now, experiment.stopped_at)
    return max(0, math.floor((end - experiment.started_at) / DAY))


def last_readout_day(experiment: Experiment) -> int | None:
    return Readout.objects.filter(experiment=experiment).aggregate(d=Max("day"))["d"]


@dataclass
class MemberFacts:
    first_seen: datetime
    pages: int = 0
    latency: list[float] = field(default_factory=list)
    visit_days: set[int] = field(default_factory=set)
    seconds: float = 0.0
    plays: int = 0
    pre_seconds: float = 0.0


@dataclass(frozen=True)
class ArmValues:
    """One arm's per-member values through a day, members in id order."""

    arm: Arm
    members: list[int]
    values: dict[str, list[float]]  # metric -> one value per unit (retention: its cohort)
    pre: list[float]  # per member (as `members`): minutes per day before the start


def arm_values(experiment: Experiment, *, day: int) -> dict[str, ArmValues]:
    """Every arm's per-member metric values over days 0..`day`, by arm name. Three queries:
    the experiment's pages, its members' plays then, and their plays in the pre-period."""
    start = experiment.started_at
    end = start + (day + 1) * DAY
    key = str(experiment.pk)
    facts: dict[str, dict[int, MemberFacts]] = defaultdict(dict)
    arm_of: dict[int, str] = {}
    pages = (
        PageView.objects.filter(served_at__gte=start, served_at__lt=end, experiments__has_key=key)
        .order_by("served_at")
        .values_list("member_id", "served_at", "experiments", "build_ms")
    )
    for member_id, served_at, experiments, build_ms in pages:
        arm = arm_of.setdefault(member_id, experiments[key])  # a member keeps their first arm
        member = facts[arm].get(member_id)
        if member is None:
            member = facts[arm][member_id] = MemberFacts(first_seen=served_at)
        member.pages += 1
        member.visit_days.add(math.floor((served_at - start) / DAY))
        if build_ms is not None:
            member.latency.append(build_ms)
    pre_days = settings.ROLLOUTS_PRE_DAYS
    plays = Interaction.objects.filter(
        member_id__in=list(arm_of),
        type__in=PLAY_TYPES,
        occurred_at__gte=start - pre_days * DAY,
        occurred_at__lt=end,
    ).values_list("member_id", "occurred_at", "watched_seconds")
    for member_id, occurred_at, watched in plays:
        member = facts[arm_of[member_id]][member_id]
        if occurred_at < start:
            member.pre_seconds += watched or 0
        elif occurred_at >= member.first_seen:  # played while in the arm
            member.seconds += watched or 0
            member.plays += 1
    retention_days = settings.ROLLOUTS_RETENTION_DAYS
    cutoff = day - retention_days
    arms = {arm.name: arm for arm in experiment.arms.all()}
    result = {}
    for name, arm in arms.items():
        members = sorted(facts.get(name, {}))
        rows = [facts[name][m] for m in members]
        first_days = [math.floor((r.first_seen - start) / DAY) for r in rows]
        values = {
            "minutes_per_day": [
                r.seconds / 60.0 / (day - first + 1)
                for r, first in zip(rows, first_days, strict=True)
            ],
            "plays_per_visit": [r.plays / r.pages for r in rows],
            "retention": [
                float(max(r.visit_days) >= cutoff)
                for r, first in zip(rows, first_days, strict=True)
                if cutoff > 0 and first < cutoff
            ],
            "latency_ms": [sum(r.latency) / len(r.latency) for r in rows if r.latency],
        }
        pre = [r.pre_seconds / 60.0 / pre_days for r in rows] if pre_days > 0 else []
        result[name] = ArmValues(arm, members, values, pre)
    return result


def live_metrics(experiment: Experiment) -> dict[str, dict]:
    """Every arm's metrics now, over the experiment's traffic so far (the day in progress
    included), each {mean, low, high, n} or null with fewer than 2 units: what the readouts
    will say, before the day is whole. Empty before the start."""
    from . import analysis

    if experiment.started_at is None:
        return {}
    now = simulated_now()
    if now is None:
        return {}
    end = now if experiment.stopped_at is None else min(now, experiment.stopped_at)
    if end < experiment.started_at:
        return {}
    day = math.floor((end - experiment.started_at) / DAY)
    live = {}
    for name, arm in arm_values(experiment, day=day).items():
        figures = {}
        for metric in METRICS:
            values = arm.values[metric]
            if len(values) < 2:
                figures[metric] = None
                continue
            e = analysis.estimate(values, alpha=settings.ROLLOUTS_ALPHA)
            figures[metric] = {"mean": e.mean, "low": e.low, "high": e.high, "n": e.n}
        live[name] = {"members": len(arm.members), "day": day, "metrics": figures}
    return live


def experiments_summary(*, limit: int = 5) -> dict:
    """The lab's view of the newest experiments: each one's canary share over its days and
    its primary metric per arm per day (mean and interval), and a line saying what runs."""
    experiments = list(
        Experiment.objects.prefetch_related("readouts__arm", "decisions").order_by("-id")[:limit]
    )
    rows = []
    for e in experiments:
        readouts = sorted(e.readouts.all(), key=lambda r: (r.day, r.arm_id))
        rows.append(
            {
                "id": e.pk,
                "name": e.name,
                "surface": e.surface,
                "kind": e.kind,
                "status": e.status,
                "canary_share": e.canary_share,
                "shares": [
                    {"day": d.day, "share": d.share, "action": d.action}
                    for d in e.decisions.all()
                    if d.day is not None
                ],
                "primary": [
                    {"day": r.day, "arm": r.arm.name, **(r.metrics.get(PRIMARY) or {})}
                    for r in readouts
                ],
            }
        )
    running = [r for r in rows if r["status"] == Experiment.Status.RUNNING]
    if running:
        note = "Running: " + "; ".join(
            f"experiment {r['id']} {r['name']!r} ({r['kind']} on {r['surface']}"
            + (f", {r['canary_share']:.0%} of members per arm" if r["kind"] == "canary" else "")
            + ")"
            for r in running
        )
    else:
        note = "No experiment runs: every member is served by production."
    return {"available": True, "note": note, "experiments": rows}
