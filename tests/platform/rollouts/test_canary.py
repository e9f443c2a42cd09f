"""A canary decides by itself, day by day: a candidate worse on the latency guardrail is
rolled back and production stays; a candidate that wins the primary metric advances share by
share and ships, and production changes only through the PromotionDecision its ship records."""

from datetime import timedelta

import pytest
from django.utils import timezone

from modeling.models import ModelVersion, PromotionDecision
from modeling.selectors import production_version
from modeling.services import promotion_decide
from rollouts.models import Experiment, ExperimentDecision
from rollouts.selectors import experiments_summary
from rollouts.services import experiment_create
from tests.factories import MemberFactory, TitleFactory
from tests.platform.rollouts.canary_log import T0, run_until_decided

pytestmark = pytest.mark.django_db


def version(kind: str) -> ModelVersion:
    return ModelVersion.objects.create(
        kind=kind, checkpoint=kind, trained_as_of=timezone.now(), n_train_events=1
    )


@pytest.fixture
def canary(settings):
    settings.ROLLOUTS_CANARY_MIN_DAYS = 1
    production, candidate = version("popularity"), version("mf")
    promotion_decide(candidate=production, candidate_value=0.1, baseline=None, baseline_value=None)
    members = [MemberFactory() for _ in range(240)]
    clock_member = MemberFactory()
    title = TitleFactory(runtime_minutes=180, added_at=T0 - timedelta(days=30))
    experiment = experiment_create(
        name="canary mf",
        surface="model",
        kind="canary",
        arms=[
            {"name": "control", "model_version": production.pk},
            {"name": "candidate", "model_version": candidate.pk},
        ],
        start=True,
        at=T0,
    )
    return experiment, production, candidate, members, clock_member, title


def test_a_candidate_slower_than_the_guardrail_allows_is_rolled_back_by_itself(canary):
    experiment, production, candidate, members, clock_member, title = canary
    day = run_until_decided(
        experiment,
        members,
        clock_member,
        title,
        latency={"control": 100.0, "candidate": 200.0},
        minutes={"control": 30.0, "candidate": 30.0},
    )
    experiment.refresh_from_db()
    assert day is not None and experiment.status == Experiment.Status.ROLLED_BACK
    rollback = ExperimentDecision.objects.get(experiment=experiment, action="rollback")
    assert "latency_ms" in rollback.reason and rollback.day == day
    assert production_version() == production  # production never moved
    verdict = PromotionDecision.objects.filter(candidate=candidate).get()
    assert not verdict.promoted and f"canary experiment {experiment.pk}" in verdict.reason
    # every day before it was read out once and judged once
    assert ExperimentDecision.objects.filter(experiment=experiment, day__isnull=False).count() == (
        day + 1
    )
    assert experiment.readouts.count() == 2 * (day + 1)
    lab = experiments_summary()["experiments"][0]  # what the lab charts
    assert [s["action"] for s in lab["shares"]][-1] == "rollback" and len(lab["shares"]) == day + 1
    assert {p["arm"] for p in lab["primary"]} == {"control", "candidate"}


def test_a_candidate_that_wins_the_primary_advances_step_by_step_and_ships(canary):
    experiment, production, candidate, members, clock_member, title = canary
    day = run_until_decided(
        experiment,
        members,
        clock_member,
        title,
        latency={"control": 100.0, "candidate": 100.0},
        minutes={"control": 30.0, "candidate": 45.0},
    )
    experiment.refresh_from_db()
    assert day is not None and experiment.status == Experiment.Status.SHIPPED
    actions = list(
        ExperimentDecision.objects.filter(experiment=experiment).values_list("action", "share")
    )
    assert actions[0] == ("start", 0.01)
    advances = [share for action, share in actions if action == "advance"]
    assert advances == [0.05, 0.25, 0.5]  # every share in turn, none skipped
    assert actions[-1][0] == "ship"
    assert production_version() == candidate
    shipped = PromotionDecision.objects.filter(promoted=True).order_by("-id").first()
    assert shipped.candidate == candidate and shipped.baseline == production
    assert f"canary experiment {experiment.pk}" in shipped.reason
