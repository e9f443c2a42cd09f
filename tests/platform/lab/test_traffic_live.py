"""A traffic run for real: queued on the lab's queue in Redis, then run as the worker runs it,
driving the simulator's own client (a child process) against a live server, on PostgreSQL."""

import threading
import time

import pytest
import redis
from django.core.management import call_command
from django.db import connection
from django.db.models import F

from events.models import Interaction, PageView
from lab.models import TrafficRun
from lab.services import traffic_execute, traffic_start, traffic_stop

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_a_run_drives_simulated_members_through_the_api_and_stops(
    real_services, world, live_server, settings
):
    _, broker = real_services
    call_command("seed_world", str(world), stdout=None)
    settings.LAB_BASE_URL = live_server.url
    queue = redis.Redis.from_url(broker)
    queue.delete(settings.LAB_TRAFFIC_QUEUE)
    try:
        finished = traffic_start(members=8, rate=0.5, duration_s=50)
        assert queue.llen(settings.LAB_TRAFFIC_QUEUE) == 1
        finished = traffic_execute(run_id=finished.pk, poll_s=0.5)
        assert finished.status == TrafficRun.Status.FINISHED, finished.log_tail
        assert finished.visits > 0 and "visits, " in finished.log_tail, finished.log_tail
        assert PageView.objects.count() >= finished.visits  # every visit is a served page
        # The client names each visit's device: the pages record it, and every event of a
        # page carries that page's device.
        assert not PageView.objects.filter(device="").exists()
        paged = Interaction.objects.filter(page__isnull=False)
        assert paged.exists()
        assert not paged.exclude(device=F("page__device")).exists()
        # Members who visit once a day at any hour: the first guess is right, so the rate
        # measured after the first round is the target, give or take Poisson noise.
        assert 0.15 < finished.measured_rate < 1.5, finished.measured_rate

        stopped = traffic_start(members=8, rate=0.5, duration_s=600)

        def stop_after_a_round():
            try:
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    if TrafficRun.objects.get(pk=stopped.pk).visits > 0:
                        traffic_stop(run_id=stopped.pk)
                        return
                    time.sleep(0.5)
            finally:
                connection.close()  # this thread's own connection

        stopper = threading.Thread(target=stop_after_a_round)
        stopper.start()
        stopped = traffic_execute(run_id=stopped.pk, poll_s=0.5)
        stopper.join()
        assert stopped.status == TrafficRun.Status.STOPPED, stopped.log_tail
        assert stopped.finished_at is not None and stopped.visits > 0
    finally:
        queue.delete(settings.LAB_TRAFFIC_QUEUE)
