"""Readout metrics from a hand-built fact log, against values computed by hand; readouts are
written once per whole simulated day, and a rerun writes nothing."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from events.models import Interaction, PageView
from recommender.abtest import stats
from rollouts.models import Readout
from rollouts.selectors import arm_values
from rollouts.services import experiment_create, readouts_compute
from tests.factories import MemberFactory, TitleFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 5, tzinfo=UTC)  # the experiment's simulated start

TWO_HALVES = [
    {"name": "control", "share": 0.5, "is_control": True},
    {"name": "treatment", "share": 0.5},
]
"""A control and a treatment arm, half the members each."""
FIRST_TWO_DAYS = [(0, "control"), (0, "treatment"), (1, "control"), (1, "treatment")]
"""The (day, arm) readouts of the hand-built log's two whole days."""


def at(day: float, hour: float = 0.0) -> datetime:
    return T0 + timedelta(days=day, hours=hour)


@pytest.fixture
def log(settings):
    """Control a, b; treatment c, d (d first seen on day 1); e outside, only moving the clock."""
    settings.ROLLOUTS_RETENTION_DAYS = 1
    settings.ROLLOUTS_PRE_DAYS = 2
    title = TitleFactory(runtime_minutes=120, added_at=T0 - timedelta(days=30))
    a, b, c, d, e = (MemberFactory() for _ in range(5))
    experiment = experiment_create(
        name="hand-built",
        surface="model",
        arms=TWO_HALVES,
        start=True,
        at=T0,
    )
    key = str(experiment.pk)
    pages = [
        (a, at(0, 12), "control", 100.0),
        (a, at(1, 10), "control", 120.0),
        (b, at(0, 13), "control", 80.0),
        (c, at(0, 9), "treatment", 200.0),
        (c, at(1, 9), "treatment", 220.0),
        (d, at(1, 15), "treatment", 180.0),
    ]
    for member, served_at, arm, build_ms in pages:
        PageView.objects.create(
            member=member, served_at=served_at, experiments={key: arm}, build_ms=build_ms
        )
    PageView.objects.create(member=e, served_at=at(2, 1))  # the clock: days 0 and 1 are whole
    plays = [
        (a, at(0, 12.5), 1800),
        (a, at(1, 10.5), 600),
        (a, at(-1), 1200),  # pre-period
        (b, at(0, 13.2), 3000),
        (b, at(-2, 1), 2400),  # pre-period
        (b, at(-3), 6000),  # before the pre-period: not counted
        (c, at(0, 8), 900),  # before c's first page of the experiment: not the arm's
        (c, at(0, 9.5), 1200),
        (d, at(1, 15.5), 2400),
        (e, at(1, 2), 5000),  # in no arm
    ]
    for member, occurred_at, seconds in plays:
        Interaction.objects.create(
            event_id=uuid.uuid4(),
            type="play",
            member=member,
            title=title,
            watched_seconds=seconds,
            occurred_at=occurred_at,
        )
    return experiment, (a, b, c, d, e)


def test_per_member_values_through_a_day_are_the_hand_computed_ones(log):
    experiment, _ = log
    values = arm_values(experiment, day=1)
    control, treatment = values["control"].values, values["treatment"].values
    # minutes per day: minutes played while in the arm / days since first seen (through day 1)
    assert control["minutes_per_day"] == [40 / 2, 50 / 2]  # a: 30 + 10 over 2 days; b: 50 / 2
    assert treatment["minutes_per_day"] == [20 / 2, 40 / 1]  # c: the 8:00 play is before; d: 1 day
    assert control["plays_per_visit"] == [2 / 2, 1 / 1]
    assert treatment["plays_per_visit"] == [1 / 2, 1 / 1]
    assert control["latency_ms"] == [110.0, 80.0]
    assert treatment["latency_ms"] == [210.0, 180.0]
    assert control["retention"] == treatment["retention"] == []  # day 1 - N = 0: no cohort yet
    # CUPED's covariate: minutes per day over the 2 days before the start
    assert values["control"].pre == [20 / 2, 40 / 2]
    assert values["treatment"].pre == [0.0, 0.0]


def test_retention_is_the_share_of_members_first_seen_before_day_d_minus_n_seen_since(log):
    experiment, _ = log
    values = arm_values(experiment, day=2)
    assert values["control"].values["retention"] == [1.0, 0.0]  # a came back on day 1, b did not
    assert values["treatment"].values["retention"] == [1.0]  # c; d was first seen on day 1
    assert values["control"].values["minutes_per_day"] == [40 / 3, 50 / 3]


def test_readouts_cover_each_whole_day_once_with_intervals_srm_and_cuped(log):
    experiment, _ = log
    written = readouts_compute(experiment_id=experiment.pk)
    assert sorted((r.day, r.arm.name) for r in written) == FIRST_TWO_DAYS
    assert readouts_compute(experiment_id=experiment.pk) == []  # rerun: nothing new
    assert Readout.objects.filter(experiment=experiment).count() == 4

    day1 = {r.arm.name: r for r in Readout.objects.filter(experiment=experiment, day=1)}
    expected = stats.mean_ci([20.0, 25.0])
    assert day1["control"].metrics["minutes_per_day"] == {
        "mean": 22.5,
        "low": pytest.approx(expected.low),
        "high": pytest.approx(expected.high),
        "n": 2,
    }
    assert day1["treatment"].metrics["minutes_per_day"]["mean"] == 25.0
    assert day1["control"].metrics["retention"] is None  # no unit yet
    assert day1["control"].members == day1["treatment"].members == 2
    assert day1["control"].srm_p == pytest.approx(stats.srm_check([2, 2], [0.5, 0.5]).p_value)
    primary = day1["treatment"].comparison["minutes_per_day"]
    cuped = stats.compare([20.0, 25.0], [10.0, 40.0], control_pre=[10, 20], treatment_pre=[0, 0])
    assert primary["cuped"] is True
    assert primary["diff"] == pytest.approx(cuped.diff)
    assert (primary["low"], primary["high"]) == (
        pytest.approx(cuped.low),
        pytest.approx(cuped.high),
    )
    assert day1["control"].comparison == {}
    # the sequential p-value is carried: it never rises from one day to the next
    day0 = Readout.objects.get(experiment=experiment, day=0, arm__name="treatment")
    assert day1["treatment"].sequential_p <= (day0.sequential_p or 1.0)


def test_a_new_whole_day_is_read_out_on_the_next_run_only(log):
    experiment, (a, *_rest, e) = log
    readouts_compute(experiment_id=experiment.pk)
    PageView.objects.create(member=e, served_at=at(2, 23))  # day 2 not whole yet
    assert readouts_compute(experiment_id=experiment.pk) == []
    PageView.objects.create(
        member=e,
        served_at=at(
            3,
            0,
        ),
    )
    assert {r.day for r in readouts_compute(experiment_id=experiment.pk)} == {2}


def test_an_injected_imbalance_trips_the_sample_ratio_check(settings):
    """50/50 by the hash, but 40 members logged in control and 10 in treatment (a broken
    assignment, or a bug that drops one arm's pages): the readout flags it."""
    title = TitleFactory(added_at=T0 - timedelta(days=30))
    experiment = experiment_create(
        name="imbalanced",
        surface="model",
        arms=TWO_HALVES,
        start=True,
        at=T0,
    )
    for i in range(50):
        arm = "control" if i < 40 else "treatment"
        member = MemberFactory()
        PageView.objects.create(
            member=member, served_at=at(0, 10), experiments={str(experiment.pk): arm}, build_ms=50.0
        )
    PageView.objects.create(member=MemberFactory(), served_at=at(1, 1))
    readouts = readouts_compute(experiment_id=experiment.pk)
    assert {r.members for r in readouts} == {40, 10}
    assert all(r.srm_mismatch for r in readouts)
    assert readouts[0].srm_p == pytest.approx(stats.srm_check([40, 10], [0.5, 0.5]).p_value)
    assert readouts[0].srm_p < 0.001 and title.pk


def test_each_experiment_keeps_its_own_day_watermark(log):
    """An experiment that ran alongside (on another surface, from three days earlier) and is
    read out through its day 4 leaves this one's days 0 and 1 to be read out, once each."""
    experiment, _ = log
    alongside = experiment_create(
        name="alongside",
        surface="artwork",
        arms=TWO_HALVES,
        start=True,
        at=at(-3),
    )
    assert {r.day for r in readouts_compute(experiment_id=alongside.pk)} == {0, 1, 2, 3, 4}
    written = readouts_compute(experiment_id=experiment.pk)
    assert sorted((r.day, r.arm.name) for r in written) == FIRST_TWO_DAYS
    assert readouts_compute(experiment_id=experiment.pk) == []
    assert readouts_compute(experiment_id=alongside.pk) == []
    assert Readout.objects.filter(experiment=alongside).count() == 10
