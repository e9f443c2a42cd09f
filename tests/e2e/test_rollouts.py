"""Promotion through a canary, end to end on the real services: PostgreSQL, Redis and a real
Celery worker, every call over HTTP.

The first retrain puts a model in production directly (nothing served before). Members visit
and play; the second retrain's candidate passes the offline gate against it, so instead of
being promoted it goes to a canary experiment between the two model versions. Simulated
members then visit day by day under the canary; after each simulated day the readouts,
requested through the API, run on the worker, which records each day's decision and acts on
it (the share grows: members of the arms are served their arm's version, and the page names
experiment and arm). Production changes only if the canary ships.
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
CANARY_DAYS = 3
BEHAVIOUR = BehaviourConfig(activity_scale=6.0)


def wait_for_readouts(api: Api, stack: Stack, experiment_id: int, day: int, timeout=120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack._check_alive("worker")
        experiment = api.get(f"/api/v1/experiments/{experiment_id}")
        if experiment["status"] != "running" or any(
            d["day"] == day for d in experiment["decisions"]
        ):
            return experiment
        time.sleep(0.5)
    raise AssertionError(f"no readout of day {day} in {timeout} s:\n{stack.log('worker')}")


@pytest.mark.services
def test_a_retrained_candidate_goes_through_a_canary_read_out_by_the_worker(
    tmp_path, real_services
):
    database_url, broker_url = real_services
    world = tmp_path / "world"
    make_world(world, titles=40, members=24, seed=4)
    with postgres_database(database_url) as url:
        stack = Stack(tmp_path, database_url=url, broker_url=broker_url)
        stack.env["HOMEPAGE_CANDIDATES"] = "popularity"  # a refresh: the gate passes it
        stack.seed(world, demo_password=DEMO[1])
        with stack.running("web", "worker"):
            _canary(stack, world, url)


def _traffic(stack, world, start, days, seed):
    report = run_traffic(
        stack.base_url, world, days=days, start=start, seed=seed, concurrency=2,
        behaviour=BEHAVIOUR,
    )  # fmt: skip
    assert report.visits > 0, report
    return report


def _canary(stack: Stack, world, url: str) -> None:
    staff = Api(stack.base_url, *DEMO)
    begin = datetime.now(UTC).replace(microsecond=0) - timedelta(days=CANARY_DAYS + 4)
    _traffic(stack, world, begin, 2, seed=1)
    first = staff.retrain_and_wait(stack)
    assert first["status"] == "succeeded" and first["promoted"] is not None, first
    production = first["promoted"]

    _traffic(stack, world, begin + timedelta(days=2), 1, seed=2)
    second = staff.retrain_and_wait(stack)
    assert second["status"] == "succeeded", second
    assert second["promoted"] is None  # it passed the gate, but a canary decides
    experiments = staff.get("/api/v1/experiments")
    assert len(experiments) == 1, experiments
    canary = experiments[0]
    assert (canary["source"], canary["kind"], canary["status"]) == ("gate", "canary", "running")
    arms = {a["name"]: a["model_version"] for a in canary["arms"]}
    assert arms["control"] == production and arms["candidate"] not in (None, production)
    assert [m["id"] for m in staff.get("/api/v1/models") if m["is_production"]] == [production]
    started = datetime.fromisoformat(canary["started_at"])

    shares = [canary["canary_share"]]
    member = next(m["id"] for m in staff.get("/api/v1/me")["members"] if not m["is_kids"])
    for day in range(CANARY_DAYS):
        # one simulated day, and a page just after it: the clock says the day is whole
        _traffic(stack, world, started + timedelta(days=day), 1, seed=10 + day)
        after = started + timedelta(days=day + 1, minutes=1)
        staff.get(f"/api/v1/members/{member}/homepage", at=after.isoformat())
        queued = staff.post(f"/api/v1/experiments/{canary['id']}/readouts", expect=202)
        assert queued == {"experiment": canary["id"], "queued": True}
        state = wait_for_readouts(staff, stack, canary["id"], day)
        shares.append(state["canary_share"])
        if state["status"] != "running":
            break
    assert "rollouts.tasks.readouts" in stack.log("worker")

    detail = staff.get(f"/api/v1/experiments/{canary['id']}")
    days = sorted({r["day"] for r in detail["readouts"]})
    assert days == list(range(len(days))) and len(days) >= 1
    assert {r["arm"] for r in detail["readouts"]} == {"control", "candidate"}
    steps = [d for d in detail["decisions"] if d["day"] is not None]
    assert [d["day"] for d in steps] == days  # one decision per day read out
    assert all(d["reason"] for d in steps)
    assert shares == sorted(shares) and shares[-1] > shares[0]  # the canary grew: acted on

    with psycopg.connect(url) as db:
        served = db.execute(
            "SELECT experiments->>%s, model_version_id, count(*) FROM events_pageview "
            "WHERE served_at >= %s GROUP BY 1, 2",
            [str(canary["id"]), started],
        ).fetchall()
        duplicates = db.execute(
            "SELECT count(*) FROM rollouts_readout GROUP BY experiment_id, day, arm_id "
            "HAVING count(*) > 1"
        ).fetchall()
    assert duplicates == []
    by_arm = {(arm, version) for arm, version, _ in served}
    assert ("candidate", arms["candidate"]) in by_arm and ("control", production) in by_arm
    assert not {(a, v) for a, v in by_arm if a == "candidate" and v != arms["candidate"]}
    assert not {(a, v) for a, v in by_arm if a is None and v != production}  # outside: production

    print("canary days:", [(d["day"], d["action"], d["share"], d["reason"]) for d in steps])
    final = detail["status"]
    production_now = [m["id"] for m in staff.get("/api/v1/models") if m["is_production"]]
    if final == "shipped":
        assert production_now == [arms["candidate"]]
    else:
        assert production_now == [production]  # held, rolled back or stopped: unchanged
