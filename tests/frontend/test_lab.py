"""The lab in a real browser, against the real system: gunicorn, a Celery worker for retrains
and one for the lab's traffic queue, on the embedded default (a SQLite file, a folder broker).
Simulated traffic started from the lab drives the simulator's client through the API, the
charts fill with what it did (the explorer's among them: the demo's defaults are on), a
retrain from the lab shows the gate's decisions, and an explorer update from the lab shows
what it counted and the state it saved."""

import re
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.stack import BIN, Api, Stack
from tests.frontend.browser import accessibility_problems, browser_page, screenshot, sign_in
from tests.platform.lab.conftest import flat_world

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

DEMO = ("demo", "demo-password")


def start_lab_worker(stack: Stack) -> None:
    queue = f"{stack.env['HOMEPAGE_CELERY_QUEUE']}-traffic"
    stack._spawn(
        "lab-worker",
        [str(BIN / "celery"), "-A", "config", "worker", "--loglevel", "INFO", "--pool", "solo",
         "--queues", queue, "--hostname", f"lab-{stack.port}@%h"],
    )  # fmt: skip


def wait_for(condition, *, timeout: float, what: str, stack: Stack):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"{what} not within {timeout:.0f} s:\n{stack.log('lab-worker')}")


def chart_points(page, canvas_id: str) -> int:
    """Points with a value in every dataset of one chart (Chart.js's own record of it)."""
    return page.evaluate(
        """(id) => Chart.getChart(document.getElementById(id)).data.datasets
            .flatMap(d => d.data).filter(v => v !== null && v !== undefined).length""",
        canvas_id,
    )


def test_simulated_traffic_fills_the_charts_and_a_retrain_shows_the_gate(tmp_path, chromium_path):
    stack = Stack(tmp_path)
    world = flat_world(tmp_path / "var" / "world", titles=60, members=10)
    stack.env.update(
        HOMEPAGE_LAB_BASE_URL=stack.base_url,
        HOMEPAGE_CANDIDATES="popularity,mf",
        # Impressions final two seconds after they are served, so "update now" counts them.
        HOMEPAGE_EXPLORATION_ATTRIBUTION_SECONDS="2",
        HOMEPAGE_EXPLORATION_COMMIT_GRACE_SECONDS="0",
    )
    stack.seed(world, demo_password=DEMO[1])
    stack.manage("explorer_on")
    try:
        stack.start_web()
        stack.start_worker()
        start_lab_worker(stack)
        staff = Api(stack.base_url, *DEMO)
        with browser_page(chromium_path) as (page, console):
            sign_in(page, f"{stack.base_url}/lab", *DEMO)
            expect(page.locator("#lab")).to_be_visible(timeout=20000)
            expect(page.locator(".serving-text")).to_contain_text("No model in production")
            a11y = accessibility_problems(page)

            page.fill("#traffic-members", "10")
            page.fill("#traffic-rate", "1")
            page.fill("#traffic-duration", "300")
            page.click(".traffic-start")
            status = page.locator(".traffic-status")
            expect(status).to_contain_text("running", timeout=60000)
            # Live progress: the status counts the client's visits as they happen.
            expect(status).to_contain_text(re.compile(r"[1-9]\d* visits"), timeout=120000)
            wait_for(
                lambda: staff.get("/api/v1/lab/traffic")[0]["plays"] >= 30,
                timeout=240, what="30 simulated plays", stack=stack,
            )  # fmt: skip
            page.click(".traffic-stop")
            expect(status).to_contain_text("stopped", timeout=60000)

            page.select_option("#health-window", "1h")
            page.wait_for_function(
                "Chart.getChart(document.getElementById('chart-visits')).data.datasets[0]"
                ".data.some(v => v > 0)",
                timeout=20000,
            )
            page.wait_for_function(
                "Chart.getChart(document.getElementById('chart-explore-share')).data.datasets[0]"
                ".data.some(v => v > 0)",
                timeout=20000,
            )
            expect(page.locator(".explorer-table")).to_contain_text("epsilon_greedy")
            expect(page.locator(".explorer-table")).to_contain_text("none yet")
            page.wait_for_timeout(2500)  # every impression's attribution window closes
            page.click(".explorer-update")
            update = page.locator(".explorer-update-status")
            expect(update).to_contain_text("succeeded", timeout=120000)
            update_text = update.text_content()
            expect(page.locator(".explorer-table")).to_contain_text(
                "v1 (epsilon_greedy", timeout=20000
            )
            explorer = {
                name: chart_points(page, f"chart-{name}")
                for name in ("explore-share", "explore-propensity", "explore-ctr",
                             "artwork-share", "artwork-rate")
            }  # fmt: skip
            page.click(".retrain-button")
            expect(page.locator(".retrain-status")).to_contain_text("done", timeout=300000)
            decisions = page.locator(".retrain-decisions li").all_text_contents()
            expect(page.locator(".serving-text")).to_contain_text("serves every member")
            page.wait_for_timeout(500)
            charts = {
                name: chart_points(page, f"chart-{name}")
                for name in ("models", "visits", "coverage", "gini", "homogenization",
                             "exploration", "plays", "minutes", "positions", "rows")
            }  # fmt: skip
            a11y += accessibility_problems(page)
            screenshot(page, "lab", tmp_path, full_page=True)
            page.wait_for_load_state("networkidle")
    except Exception:
        print("--- web log ---\n" + stack.log("web"))
        print("--- worker log ---\n" + stack.log("worker"))
        print("--- lab worker log ---\n" + stack.log("lab-worker"))
        raise
    finally:
        stack.stop()

    assert console.problems == [] and a11y == []
    assert len(decisions) == 2 and any("promoted" in d for d in decisions), decisions
    assert all(points > 0 for points in charts.values()), charts
    assert all(points > 0 for points in explorer.values()), explorer
    assert re.search(r"Slots [1-9]\d* counted → v1", update_text), update_text
