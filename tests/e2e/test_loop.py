"""The whole loop, end to end, over HTTP against real processes.

Seed a world, simulate days of members over the API, retrain on a real Celery worker, and
check that the new version is in production and that a member's Top Picks moved toward
what they played. Runs on the embedded default (SQLite + a folder broker) and on the real
services (PostgreSQL + Redis), which CI requires.
"""

import json
import subprocess
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from simulator.behaviour import BehaviourConfig
from simulator.client import run_traffic
from tests.e2e.stack import PYTHON, ROOT, Api, Stack, postgres_database

pytestmark = pytest.mark.e2e

DEMO = ("demo", "demo-password")
# Members visit a few times a day, so a few simulated days give each of them a history a
# personalized model can learn from (and the promotion gate a holdout it can judge on).
# Collaborative filtering needs co-plays: with ~500 plays on 160 titles MF barely separates
# tastes, with ~1,500 it does (docs/architecture.md), so the first phase is the busy one.
BUSY = BehaviourConfig(activity_scale=12.0)
STEADY = BehaviourConfig(activity_scale=4.0)
# One member at a time: the fact log, and so every model and page, is the same on every run
# (fits are deterministic), so the outcome does not depend on thread timing.
SEQUENTIAL = 1


def make_world(path) -> None:
    subprocess.run(
        [
            PYTHON,
            "-m",
            "simulator.world",
            "--out",
            str(path),
            "--titles",
            "160",
            "--members",
            "36",
            "--seed",
            "3",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )


def typical_member(base_url: str, world) -> tuple[int, Api]:
    """A simulated adult profile that has played about fifteen titles so far (enough history to
    learn from, not so much that it has used up the catalogue), with its account's client."""
    candidates = []
    for account in json.loads((world / "members.json").read_text())["accounts"]:
        api = Api(base_url, account["username"], account["password"])
        for member in api.get("/api/v1/me")["members"]:
            if not member["is_kids"]:
                plays = api.get(f"/api/v1/members/{member['id']}/plays")["plays"]
                distinct = len({p["title"]["id"] for p in plays})
                if distinct >= 5:
                    candidates.append((abs(distinct - 15), member["id"], api))
    assert candidates, "no simulated member has played 5 titles yet"
    _, member_id, api = min(candidates, key=lambda c: c[:2])
    return member_id, api


def overlap(a: list[dict], b: list[dict]) -> float:
    """Jaccard overlap of two lists of titles."""
    ids_a, ids_b = {t["id"] for t in a}, {t["id"] for t in b}
    return len(ids_a & ids_b) / max(len(ids_a | ids_b), 1)


def top_picks(api: Api, member_id: int, at: datetime | None = None) -> list[dict]:
    params = {"at": at.isoformat()} if at else {}
    page = api.get(f"/api/v1/members/{member_id}/homepage", **params)
    row = next(r for r in page["rows"] if r["key"] == "top_picks")
    return [item["title"] for item in row["items"]]


def run_loop(stack: Stack, tmp_path) -> None:
    world = tmp_path / "world"
    make_world(world)
    stack.manage("migrate", "--noinput")
    stack.manage("seed_world", str(world), "--demo-password", DEMO[1])
    stack.start_web()
    stack.start_worker()
    try:
        _loop(stack, world)
    except Exception:
        print("--- web log ---\n" + stack.log("web"))
        print("--- worker log ---\n" + stack.log("worker"))
        raise
    finally:
        stack.stop()


def _loop(stack: Stack, world) -> None:
    now = datetime.now(UTC)
    then = now - timedelta(days=4)
    staff = Api(stack.base_url, *DEMO)

    # Days 1-4 of simulated history, then the first retrain: nothing in production yet.
    report = run_traffic(
        stack.base_url,
        world,
        days=4,
        start=now - timedelta(days=8),
        seed=1,
        behaviour=BUSY,
        concurrency=SEQUENTIAL,
    )
    assert report.plays > 40, report
    first = staff.retrain_and_wait(stack)
    assert first["status"] == "succeeded", first
    assert first["promoted"] is not None

    # The demo account's adult profiles have no history. One, the probe, replays what a
    # simulated member (its twin) played; the other, the control, plays nothing. Under the
    # same new model, the plays, and only they, set the probe's Top Picks apart from the
    # control's, and must move them to the twin's.
    twin, twin_api = typical_member(stack.base_url, world)
    played = {p["title"]["id"]: p for p in twin_api.get(f"/api/v1/members/{twin}/plays")["plays"]}
    probe, control = [m["id"] for m in staff.get("/api/v1/me")["members"] if not m["is_kids"]][:2]
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "type": "play",
            "member": probe,
            "title": title,
            "watched_seconds": p["watched_seconds"],
            "occurred_at": (then + timedelta(minutes=i + 1)).isoformat(),
        }
        for i, (title, p) in enumerate(played.items())
    ]
    assert staff.post("/api/v1/events", {"events": events})["stored"] == len(events)

    # Days 5-8, then the second retrain: a candidate that saw the new facts is promoted.
    run_traffic(
        stack.base_url, world, days=4, start=then, seed=2, behaviour=STEADY, concurrency=SEQUENTIAL
    )
    second = staff.retrain_and_wait(stack)
    assert second["status"] == "succeeded", second
    assert second["promoted"] is not None, staff.get("/api/v1/models")
    models = {m["id"]: m for m in staff.get("/api/v1/models")}
    assert models[second["promoted"]]["is_production"] is True
    assert models[first["promoted"]]["is_production"] is False

    page = staff.get(f"/api/v1/members/{probe}/homepage")
    assert page["model_version"]["id"] == second["promoted"] and page["fallback"] is False

    # All three pages at the same moment, just after the replay. The twin's and the probe's
    # leave out the same played titles; the control's are filtered to match.
    at = then + timedelta(hours=1)
    twin_picks = top_picks(twin_api, twin, at=at)
    probe_picks = top_picks(staff, probe, at=at)
    control_picks = [t for t in top_picks(staff, control, at=at) if t["id"] not in played]
    k = min(len(twin_picks), len(probe_picks), len(control_picks))
    toward_twin = overlap(probe_picks[:k], twin_picks[:k])
    without_plays = overlap(control_picks[:k], twin_picks[:k])
    print(
        f"Top Picks overlap with the twin's: probe {toward_twin:.2f}, control {without_plays:.2f}"
    )
    # EASE scores a member from their plays as of the page: the probe, whose history is the
    # twin's, gets (nearly) the twin's Top Picks; the control, with no plays, gets popularity.
    assert k >= 5
    assert toward_twin >= 0.8, (k, toward_twin, without_plays)
    assert toward_twin >= without_plays + 0.3, (k, toward_twin, without_plays)


def loop_stack(tmp_path, **urls) -> Stack:
    stack = Stack(tmp_path, **urls)
    # The loop's personalization is what this test checks, so the worker trains one
    # personalized model, EASE, which scores a member from their plays as of the request
    # (the gate between kinds is tested in tests/platform).
    stack.env["HOMEPAGE_CANDIDATES"] = "ease"
    return stack


def test_loop_on_the_embedded_default(tmp_path):
    run_loop(loop_stack(tmp_path), tmp_path)


@pytest.mark.services
def test_loop_on_postgresql_and_redis(tmp_path, real_services):
    database_url, broker_url = real_services
    with postgres_database(database_url) as url:
        run_loop(loop_stack(tmp_path, database_url=url, broker_url=broker_url), tmp_path)
