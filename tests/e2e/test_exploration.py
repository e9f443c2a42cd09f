"""The explorer end to end on the real services: PostgreSQL, Redis and a real Celery worker.

Staff turn the three uses on through the API; simulated members visit through the API and
play; their pages carry explored slots with propensities below 1; an update requested
through the API runs on the worker and saves new states; the next page serves them; and the
fact log holds every propensity the pages showed.
"""

import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from simulator.behaviour import BehaviourConfig
from simulator.client import run_traffic
from tests.e2e.stack import Api, Stack, make_world, postgres_database

pytestmark = pytest.mark.e2e

DEMO = ("demo", "demo-password")
CONFIGS = {
    "slots": {"enabled": True, "policy": "epsilon_greedy", "rate": 0.3, "positions": 2},
    "row_order": {"enabled": True, "policy": "softmax", "rate": 0.0},
    "artwork": {
        "enabled": True,
        "policy": "linucb",
        "rate": 0.0,
        "floor": 0.1,
        "params": {"alpha": 0.5},
    },
}


def wait_for_update(api: Api, stack: Stack, run_id: int, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack._check_alive("worker")
        run = api.get(f"/api/v1/exploration/updates/{run_id}")
        if run["status"] in ("succeeded", "failed"):
            return run
        time.sleep(0.5)
    raise AssertionError(f"update {run_id} not done in {timeout} s:\n{stack.log('worker')}")


def homepage_items(api: Api, member_id: int) -> tuple[dict, list[dict]]:
    page = api.get(f"/api/v1/members/{member_id}/homepage")
    return page, [dict(item, row=r["key"]) for r in page["rows"] for item in r["items"]]


@pytest.mark.services
def test_explored_pages_learn_on_a_real_worker_and_the_new_state_serves(tmp_path, real_services):
    database_url, broker_url = real_services
    world = tmp_path / "world"
    make_world(world, titles=60, members=8, seed=2)
    with postgres_database(database_url) as url:
        stack = Stack(tmp_path, database_url=url, broker_url=broker_url)
        stack.env["HOMEPAGE_EXPLORATION_COMMIT_GRACE_SECONDS"] = "0"
        stack.seed(world, demo_password=DEMO[1])
        with stack.running("web", "worker"):
            _explore(stack, world, url)


def _explore(stack: Stack, world, url: str) -> None:
    staff = Api(stack.base_url, *DEMO)
    for use, config in CONFIGS.items():
        response = staff.put(f"/api/v1/exploration/configs/{use}", config)
        assert response["enabled"], response

    # A simulated day, two days ago: every page's attribution window has closed by now.
    now = datetime.now(UTC)
    report = run_traffic(
        stack.base_url,
        world,
        days=1,
        start=now - timedelta(days=2),
        seed=1,
        concurrency=1,
        behaviour=BehaviourConfig(activity_scale=10.0),
    )
    assert report.visits > 10 and report.plays > 0, report

    with psycopg.connect(url) as db:
        explored = db.execute(
            "SELECT count(*), count(*) FILTER (WHERE propensity < 1), min(propensity) "
            "FROM events_impression WHERE explored AND bandit_state_id IS NULL"
        ).fetchone()
        # (the last pick of a row that takes every eligible title has probability 1)
        assert explored[0] > 0 and explored[1] > explored[0] / 2 and explored[2] > 0
        policies = {
            row[0]
            for row in db.execute("SELECT DISTINCT policy FROM events_impression WHERE explored")
        }
        assert policies == {"epsilon_greedy@v0"}
        pages = db.execute(
            "SELECT count(*), max(row_order_probability) FROM events_pageview "
            "WHERE row_order_policy = 'softmax@v0'"
        ).fetchone()
        assert pages[0] >= report.visits and pages[1] < 1

    run = staff.post("/api/v1/exploration/updates", expect=202)
    done = wait_for_update(staff, stack, run["run_id"])
    assert done["status"] == "succeeded", done
    assert "exploration.tasks.update" in stack.log("worker")
    learned = {state["use"]: state for state in done["states"]}
    assert set(learned) == {"slots", "row_order", "artwork"}, done
    assert all(state["version"] == 1 and state["counted"] > 0 for state in learned.values())
    again = staff.post("/api/v1/exploration/updates", expect=202)
    rerun = wait_for_update(staff, stack, again["run_id"])
    assert rerun["status"] == "succeeded" and rerun["states"] == []  # nothing counted twice
    assert all(c["counted"] == 0 for c in rerun["counts"].values()), rerun

    # The next page serves the new states, with no restart, and logs every number it shows.
    member = next(m["id"] for m in staff.get("/api/v1/me")["members"] if not m["is_kids"])
    page, items = homepage_items(staff, member)
    assert page["row_order"]["policy"] == "softmax@v1"
    shown = [i for i in items if i["explored"]]
    assert shown and all(0 < i["propensity"] <= 1 for i in shown)
    assert any(i["propensity"] < 1 for i in shown)
    assert {i["policy"] for i in shown} == {"epsilon_greedy@v1"}
    assert {i["artwork_policy"] for i in items} == {"linucb@v1"}
    with psycopg.connect(url) as db:
        facts = {
            (row_key, position): (propensity, explored, artwork, artwork_propensity, state)
            for row_key, position, propensity, explored, artwork, artwork_propensity, state in db.execute(
                "SELECT row_key, position, propensity, explored, artwork, artwork_propensity, "
                "bandit_state_id FROM events_impression WHERE page_id = %s",
                [page["page_id"]],
            )
        }
        probability = db.execute(
            "SELECT row_order_probability FROM events_pageview WHERE page_id = %s",
            [page["page_id"]],
        ).fetchone()[0]
    assert probability == page["row_order"]["probability"]
    assert len(facts) == len(items)
    for item in items:
        propensity, explored, artwork, artwork_propensity, state = facts[
            item["row"], item["position"]
        ]
        assert (propensity, explored) == (item["propensity"], item["explored"])
        assert (artwork, artwork_propensity) == (item["artwork"], item["artwork_propensity"])
        assert state == (learned["slots"]["id"] if explored else None)
