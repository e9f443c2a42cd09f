"""Celery for real: a task sent through Redis reaches a real worker process, and beat on its
own schedule starts retrains that a worker runs. (Unit tests run tasks in-process.)"""

import json
import re
import time
from datetime import UTC, datetime, timedelta

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


@pytest.mark.services
def test_after_a_promotion_a_real_worker_warms_the_plans_the_web_serves(tmp_path, real_services):
    """The retrain task queues the warming of the members' plans (homepage.tasks.plans_warm);
    the worker computes them into the shared store (Redis), and each member's next page
    comes from a plan made for the new model instead of being computed in its request."""
    import redis

    from tests.e2e.test_scale_out import play_events

    database_url, broker_url = real_services
    plan_store = broker_url.rsplit("/", 1)[0] + "/13"
    client = redis.Redis.from_url(plan_store)
    for key in client.scan_iter("homepage:*"):
        client.delete(key)
    with postgres_database(database_url) as url:
        stack = seeded_stack(tmp_path, database_url=url, broker_url=broker_url)
        stack.env.update(HOMEPAGE_CANDIDATES="popularity", HOMEPAGE_PLAN_CACHE_URL=plan_store)
        with stack.running("web", "worker"):
            staff = Api(stack.base_url, "demo", "demo-password")
            accounts = json.loads((tmp_path / "world" / "members.json").read_text())["accounts"]
            apis = [Api(stack.base_url, a["username"], a["password"]) for a in accounts]
            profiles = [(api, m["id"]) for api in apis for m in api.get("/api/v1/me")["members"]]
            titles = staff.get("/api/v1/titles", page_size=500)["results"]
            since = datetime.now(UTC) - timedelta(hours=2)
            for api, events in play_events(profiles, titles, since=since, per_member=6).items():
                api.post("/api/v1/events", {"events": events})
            path = "/api/v1/members/{}/homepage"
            for api, member in profiles:  # served before the promotion: recent members
                assert api.get(path.format(member))["model_version"] is None

            run = staff.retrain_and_wait(stack)
            assert run["status"] == "succeeded" and run["promoted"], run
            deadline = time.monotonic() + 60
            while "Plans warmed:" not in stack.log("worker") and time.monotonic() < deadline:
                time.sleep(0.5)
            warmed = re.search(r"Plans warmed: (\d+) computed", stack.log("worker"))
            assert warmed is not None, stack.log("worker")
            assert int(warmed.group(1)) == len(profiles)
            for api, member in profiles:
                page = api.get(path.format(member))
                assert page["model_version"]["id"] == run["promoted"], page["model_version"]
                assert page["planned_at"] is not None, member  # not computed for the request
