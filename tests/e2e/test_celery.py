"""Celery for real: a task sent through Redis reaches a real worker process, and beat on its
own schedule starts retrains that a worker runs. (Unit tests run tasks in-process.)"""

import time

import pytest

from tests.e2e.stack import Api, Stack, make_world, postgres_database

pytestmark = pytest.mark.e2e


def seeded_stack(tmp_path, **urls) -> Stack:
    world = tmp_path / "world"
    make_world(world, titles=30, members=4)
    stack = Stack(tmp_path, **urls)
    stack.seed(world)
    return stack


def wait_for_run(api: Api, stack: Stack, run_id: int, *, timeout: float = 120) -> dict | None:
    """The run once a worker has finished it; None if it does not exist by the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name in ("worker", "beat"):
            if name in stack.processes:
                stack._check_alive(name)
        response = api.get_or_none(f"/api/v1/models/retrain/{run_id}")
        if response is not None and response["status"] in ("succeeded", "failed"):
            return response
        time.sleep(0.5)
    return None


@pytest.mark.services
def test_a_retrain_request_travels_through_redis_to_a_real_worker(tmp_path, real_services):
    database_url, broker_url = real_services
    with postgres_database(database_url) as url:
        stack = seeded_stack(tmp_path, database_url=url, broker_url=broker_url)
        with stack.running("web"):
            api = Api(stack.base_url, "demo", "demo-password")
            run = api.post("/api/v1/models/retrain", expect=202)
            time.sleep(2)  # no worker yet: the task waits in Redis
            assert api.get(f"/api/v1/models/retrain/{run['run_id']}")["status"] == "queued"
            stack.start_worker()
            done = wait_for_run(api, stack, run["run_id"])
            assert done is not None, stack.log("worker")
            # The worker ran the service: with no plays logged it refuses, and says why.
            assert done["status"] == "failed" and "plays in the fact log" in done["error"]
            assert "modeling.tasks.retrain" in stack.log("worker")


def test_beat_starts_scheduled_retrains_that_a_worker_runs(tmp_path):
    """On the embedded default (SQLite, the folder broker), as `make demo` runs it."""
    stack = seeded_stack(tmp_path)
    stack.env["HOMEPAGE_RETRAIN_INTERVAL_SECONDS"] = "1"
    with stack.running("web", "worker", "beat"):
        api = Api(stack.base_url, "demo", "demo-password")
        first = wait_for_run(api, stack, 1, timeout=180)
        assert first is not None, f"no scheduled run:\n{stack.log('beat')}\n{stack.log('worker')}"
        assert first["trigger"] == "schedule" and first["status"] == "failed"
        assert wait_for_run(api, stack, 2, timeout=60) is not None  # and again, on schedule
        assert "Scheduler: Sending due task retrain-periodically" in stack.log("beat")
