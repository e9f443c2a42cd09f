"""A canary's traffic, built by hand: each simulated day, every member in an arm (as the
experiment assigns them at that day's share) visits once and streams; then the readouts run,
as the beat task would, and the canary takes its step."""

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np

from events.models import Interaction, PageView
from rollouts import analysis
from rollouts.models import Experiment
from rollouts.services import readouts_compute

T0 = datetime(2026, 2, 2, tzinfo=UTC)


def day_of_traffic(experiment, members, clock_member, title, day, *, latency, minutes, rng):
    """One day: `latency[arm]` ms pages and `minutes[arm]` of streaming (both with noise)."""
    experiment.refresh_from_db()
    arms = list(experiment.arms.all())
    key = str(experiment.pk)
    pages, plays = [], []
    for member in members:
        arm = analysis.assigned_arm(experiment, arms, member.pk)
        if arm is None:
            continue
        served_at = T0 + timedelta(days=day, hours=float(rng.uniform(8, 20)))
        pages.append(
            PageView(
                member=member,
                served_at=served_at,
                experiments={key: arm},
                build_ms=float(latency[arm] * rng.uniform(0.9, 1.1)),
            )
        )
        plays.append(
            Interaction(
                event_id=uuid.uuid4(),
                type="play",
                member=member,
                title=title,
                watched_seconds=int(minutes[arm] * 60 * rng.uniform(0.7, 1.3)),
                occurred_at=served_at + timedelta(minutes=5),
            )
        )
    pages.append(PageView(member=clock_member, served_at=T0 + timedelta(days=day + 1, minutes=1)))
    PageView.objects.bulk_create(pages)
    Interaction.objects.bulk_create(plays)
    return readouts_compute(experiment_id=experiment.pk)


def run_until_decided(experiment, members, clock_member, title, *, latency, minutes, days=12):
    rng = np.random.default_rng(0)
    for day in range(days):
        day_of_traffic(
            experiment, members, clock_member, title, day, latency=latency, minutes=minutes, rng=rng
        )
        experiment.refresh_from_db()
        if experiment.status != Experiment.Status.RUNNING:
            return day
    return None
