"""Serving never waits on training: with the broker down the homepage still serves the
production model and stores events, and a retrain request says at once that nothing was
queued."""

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.e2e.stack import Api, Stack, make_world

pytestmark = pytest.mark.e2e

NOBODY_LISTENS = "redis://127.0.0.1:1/0"


def plays(members: list[int], titles: list[int], start: datetime) -> list[dict]:
    """Each member plays a different run of titles, a few minutes apart."""
    events = []
    for step in range(10):
        for m, member in enumerate(members):
            events.append(
                {
                    "event_id": str(uuid.uuid4()),
                    "type": "play",
                    "member": member,
                    "title": titles[(3 * m + step) % len(titles)],
                    "watched_seconds": 1800,
                    "occurred_at": (start + timedelta(minutes=10 * step + m)).isoformat(),
                }
            )
    return events


def test_broker_down_homepage_serves_the_model_and_retrain_is_503(tmp_path):
    world = tmp_path / "world"
    make_world(world, titles=40, members=6)
    stack = Stack(tmp_path, broker_url=NOBODY_LISTENS)
    stack.env["HOMEPAGE_CANDIDATES"] = "popularity"
    stack.seed(world)
    with stack.running("web"):
        api = Api(stack.base_url, "demo", "demo-password")
        members = [m["id"] for m in api.get("/api/v1/me")["members"] if not m["is_kids"]]
        kids = [m["id"] for m in api.get("/api/v1/me")["members"] if m["is_kids"]]
        catalogue = api.get("/api/v1/titles", page_size=100)["results"]
        titles = [t["id"] for t in catalogue if t["maturity_rating"] in ("all", "7+")]  # kids too
        assert len(titles) >= 5
        start = datetime.now(UTC) - timedelta(days=1)
        # Events are stored with the broker down: nothing on the request path needs it.
        assert api.post("/api/v1/events", {"events": plays(members + kids, titles, start)})[
            "stored"
        ] == 10 * len(members + kids)
        # A model trained outside Celery (manage.py retrain runs the same service in-process)
        # goes into production; the homepage serves it although no broker is reachable.
        stack.manage("retrain")
        page = api.get(f"/api/v1/members/{members[0]}/homepage")
        assert page["fallback"] is False and page["model_version"]["kind"] == "popularity"
        assert any(row["key"] == "top_picks" and row["items"] for row in page["rows"])

        started = time.monotonic()
        response = requests.post(
            f"{stack.base_url}/api/v1/models/retrain", headers=api.headers, timeout=60
        )
        assert time.monotonic() - started < 30
        assert response.status_code == 503, response.text
        run = response.json()
        assert run["status"] == "failed" and "broker is unreachable" in run["error"]
        assert api.get(f"/api/v1/models/retrain/{run['run_id']}")["status"] == "failed"
