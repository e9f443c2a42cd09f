"""Simulated traffic from the lab: the client's command line, the rate controller, and the
run's life (queued on the lab's own queue, stopped, refused while another holds the slot)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from lab import traffic as plan
from lab.models import TrafficRun
from lab.services import traffic_start, traffic_stop
from simulator.client.cli import build_parser as client_parser
from tests.platform.lab.conftest import queued

pytestmark = pytest.mark.django_db


def test_the_command_line_is_one_the_simulators_client_accepts(tmp_path):
    argv = plan.client_argv(
        base_url="http://127.0.0.1:8000", world=tmp_path, members=12, activity_scale=37.5, seed=3
    )
    assert argv[1:3] == ["-m", "simulator.client"]
    args = client_parser().parse_args(argv[3:])
    assert args.live and args.members == 12 and args.activity_scale == 37.5
    assert args.pause == plan.PAUSE_S and args.seed == 3 and args.world == tmp_path


def test_round_reports_are_read_from_the_clients_lines():
    assert plan.round_report("round 7: 12 visits, 3 plays") == plan.Round(7, 12, 3)
    assert plan.round_report("platform not ready (ConnectionError); retrying in 2 s") is None


def test_the_controller_aims_the_scale_at_the_target_rate():
    # 10 members at 2 visits a day each: 1 visit/s needs a scale of 86400 / 20.
    assert plan.initial_scale(rate=1, members=10, visits_per_member_day=2) == 4320
    assert plan.initial_scale(rate=1, members=10, visits_per_member_day=None) == 8640
    assert plan.corrected_scale(scale=100, target=1.0, measured=1.2) is None  # within tolerance
    assert plan.corrected_scale(scale=100, target=1.0, measured=0.5) == pytest.approx(200)
    assert plan.corrected_scale(scale=100, target=1.0, measured=4.0) == pytest.approx(25)
    assert plan.corrected_scale(scale=100, target=1.0, measured=0.0) == pytest.approx(1000)


def test_a_run_is_queued_on_the_lab_queue_and_one_holds_the_slot(world, memory_broker, settings):
    run = traffic_start(members=8, rate=0.5, duration_s=60)
    assert run.status == TrafficRun.Status.QUEUED
    assert queued(memory_broker, settings.LAB_TRAFFIC_QUEUE) == [
        {"task": "lab.tasks.traffic", "args": [run.pk]}
    ]
    with pytest.raises(ValidationError, match=f"Traffic run {run.pk} is queued"):
        traffic_start(members=2, rate=1, duration_s=60)
    assert traffic_stop(run_id=run.pk).status == TrafficRun.Status.STOPPED
    assert traffic_start(members=2, rate=1, duration_s=60).pk != run.pk


def test_bad_requests_name_the_value_and_the_limit(world, memory_broker, tmp_path, settings):
    with pytest.raises(ValidationError) as caught:
        traffic_start(members=9, rate=80, duration_s=0)
    errors = caught.value.message_dict
    assert "Choose 1 to 8 members" in errors["members"][0]
    assert "at most 50" in errors["rate"][0] and "duration" in errors["duration_s"][0]
    settings.LAB_WORLD_DIR = tmp_path / "nowhere"
    with pytest.raises(ValidationError, match="No simulated world"):
        traffic_start(members=1, rate=1, duration_s=10)
    assert not TrafficRun.objects.exists()


def test_stopping_marks_a_running_run_and_closes_one_whose_worker_died():
    now = timezone.now()
    alive = TrafficRun.objects.create(
        members=1, rate=1, duration_s=60, status="running", started_at=now, heartbeat_at=now
    )
    assert traffic_stop(run_id=alive.pk).status == TrafficRun.Status.STOPPING
    dead = TrafficRun.objects.create(
        members=1, rate=1, duration_s=60, status="running", started_at=now,
        heartbeat_at=now - timedelta(minutes=5),
    )  # fmt: skip
    stopped = traffic_stop(run_id=dead.pk)
    assert stopped.status == TrafficRun.Status.STOPPED and "stopped reporting" in stopped.error
    with pytest.raises(ValidationError, match="is stopped already"):
        traffic_stop(run_id=dead.pk)
