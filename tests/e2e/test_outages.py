"""Serving never waits on training: with the broker down the homepage still renders, and a
retrain request says at once that nothing was queued."""

import subprocess
import time

import pytest
import requests

from tests.e2e.stack import PYTHON, ROOT, Api, Stack

pytestmark = pytest.mark.e2e

NOBODY_LISTENS = "redis://127.0.0.1:1/0"


def test_broker_down_homepage_renders_and_retrain_is_503(tmp_path):
    world = tmp_path / "world"
    subprocess.run(
        [PYTHON, "-m", "simulator.world", "--out", str(world), "--titles", "40", "--members", "6"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    stack = Stack(tmp_path, broker_url=NOBODY_LISTENS)
    stack.manage("migrate", "--noinput")
    stack.manage("seed_world", str(world), "--demo-password", "demo-password")
    stack.start_web()
    try:
        api = Api(stack.base_url, "demo", "demo-password")
        member = api.get("/api/v1/me")["members"][0]["id"]
        page = api.get(f"/api/v1/members/{member}/homepage")
        assert page["rows"] and page["fallback"] is True

        started = time.monotonic()
        response = requests.post(
            f"{stack.base_url}/api/v1/models/retrain", headers=api.headers, timeout=60
        )
        assert time.monotonic() - started < 30
        assert response.status_code == 503, response.text
        run = response.json()
        assert run["status"] == "failed" and "broker is unreachable" in run["error"]
        assert api.get(f"/api/v1/models/retrain/{run['run_id']}")["status"] == "failed"
    finally:
        stack.stop()
