"""The whole loop, end to end, over HTTP against real processes.

Seed a world, simulate days of members over the API, retrain on a real Celery worker, and
check that the new version is in production and that a member's Top Picks moved toward
what they played. Runs on the embedded default (SQLite + a folder broker) and on the real
services (PostgreSQL + Redis), which CI requires.
"""

import subprocess
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from simulator.behaviour import BehaviourConfig
from simulator.client import run_traffic
from tests.e2e.stack import PYTHON, ROOT, Api, Stack, postgres_database

pytestmark = pytest.mark.e2e

DEMO = ("demo", "demo-password")
# Members visit a few times a day, so a few simulated days give each of them a history a
# personalized model can learn from (and the promotion gate a holdout it can judge on).
BUSY = BehaviourConfig(activity_scale=4.0)


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


def top_picks(api: Api, member_id: int, at: datetime | None = None) -> list[dict]:
    params = {"at": at.isoformat()} if at else {}
    page = api.get(f"/api/v1/members/{member_id}/homepage", **params)
    row = next(r for r in page["rows"] if r["key"] == "top_picks")
    return [item["title"] for item in row["items"]]


def genre_share(titles: list[dict], genre: str) -> float:
    return sum(genre in t["genres"] for t in titles) / max(len(titles), 1)


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
    staff = Api(stack.base_url, *DEMO)

    # Days 1-4 of simulated history, then the first retrain: nothing in production yet.
    report = run_traffic(
        stack.base_url,
        world,
        days=4,
        start=now - timedelta(days=8),
        seed=1,
        concurrency=4,
        behaviour=BUSY,
    )
    assert report.plays > 40, report
    first = staff.retrain_and_wait(stack)
    assert first["status"] == "succeeded", first
    assert first["promoted"] is not None

    # A probe member binges a genre they were not being shown much of.
    probe = staff.get("/api/v1/me")["members"][0]  # the demo account's first, adult profile
    before = top_picks(staff, probe["id"], at=now - timedelta(days=4))
    catalog = staff.get("/api/v1/titles", page_size=500)["results"]
    adult = [t for t in catalog if t["added_at"] < (now - timedelta(days=4)).isoformat()]
    counts = Counter(g for t in adult for g in t["genres"])
    genre = min((g for g, n in counts.items() if n >= 20), key=lambda g: genre_share(before, g))
    binge = [t for t in adult if genre in t["genres"]][:10]
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "type": "search_play",
            "member": probe["id"],
            "title": t["id"],
            "watched_seconds": t["runtime_minutes"] * 60,
            "query": genre,
            "occurred_at": (now - timedelta(days=4) + timedelta(hours=i)).isoformat(),
        }
        for i, t in enumerate(binge)
    ]
    assert staff.post("/api/v1/events", {"events": events}) == {
        "stored": len(events),
        "duplicates": 0,
    }

    # Days 5-8, then the second retrain: a candidate that saw the new facts must win the gate.
    run_traffic(
        stack.base_url,
        world,
        days=4,
        start=now - timedelta(days=4),
        seed=2,
        concurrency=4,
        behaviour=BUSY,
    )
    second = staff.retrain_and_wait(stack)
    assert second["status"] == "succeeded", second
    assert second["promoted"] is not None, staff.get("/api/v1/models")
    models = {m["id"]: m for m in staff.get("/api/v1/models")}
    assert models[second["promoted"]]["is_production"] is True
    assert models[first["promoted"]]["is_production"] is False

    page = staff.get(f"/api/v1/members/{probe['id']}/homepage")
    assert page["model_version"]["id"] == second["promoted"] and page["fallback"] is False
    after = top_picks(staff, probe["id"])
    assert genre_share(after, genre) > genre_share(before, genre), (genre, before, after)


def loop_stack(tmp_path, **urls) -> Stack:
    stack = Stack(tmp_path, **urls)
    # The loop's personalization is what this test checks, so the worker trains the
    # personalized model only (the popularity-versus-MF gate is tested in tests/platform).
    stack.env["HOMEPAGE_CANDIDATES"] = "mf"
    return stack


def test_loop_on_the_embedded_default(tmp_path):
    run_loop(loop_stack(tmp_path), tmp_path)


@pytest.mark.services
def test_loop_on_postgresql_and_redis(tmp_path, real_services):
    database_url, broker_url = real_services
    with postgres_database(database_url) as url:
        run_loop(loop_stack(tmp_path, database_url=url, broker_url=broker_url), tmp_path)
