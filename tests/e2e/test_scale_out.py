"""Scale out: two web processes and two Celery workers on one PostgreSQL and one Redis give
the results one of each gives (docs/scaling.md).

- A member's homepage at a fixed `at` is the same from either web process, and the same as
  the single web process served before the second one started.
- A batch of events posted through both web processes at once is stored once.
- A retrain with two workers, its task delivered twice, registers one version per candidate
  kind, as the retrain with one worker did, and runs once.
"""

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from scripts.demo import wait_for_web, web_command
from tests.e2e.stack import Api, Stack, free_port, make_world, postgres_database

pytestmark = [pytest.mark.e2e, pytest.mark.services]

CANDIDATES = "popularity,mf"


class ScaleStack(Stack):
    """The harness's stack, with a second web server on a port of its own and a second
    worker on the same queue."""

    def start_second_web(self) -> str:
        port = free_port()
        self._spawn("web2", web_command(port))
        wait_for_web(f"http://127.0.0.1:{port}", self.processes["web2"], timeout_s=90)
        return f"http://127.0.0.1:{port}"

    def start_second_worker(self) -> None:
        first = self.processes.pop("worker")  # the harness names its worker "worker"
        self.start_worker()
        self.processes["worker2"] = self.processes.pop("worker")
        self.processes["worker"] = first


def page_facts(page: dict) -> dict:
    """What a page shows and why: everything but its id (each request logs a new page)."""
    return {key: value for key, value in page.items() if key != "page_id"}


def play_events(profiles, titles, *, since: datetime, per_member: int, shift: int = 0) -> dict:
    """Plays for every profile, spread from `since` to now, by account (`shift` picks other
    titles than the same call without it)."""
    span = (datetime.now(UTC) - since).total_seconds()
    batches: dict = {}
    for n, (api, member) in enumerate(profiles):
        for k in range(per_member):
            title = titles[(n * 5 + k * 3 + shift) % len(titles)]
            batches.setdefault(api, []).append({
                "event_id": str(uuid.uuid4()), "type": "play", "member": member,
                "title": title["id"], "watched_seconds": title["runtime_minutes"] * 30,
                "occurred_at": (since + timedelta(seconds=span * (k + 1) / (per_member + 1))).isoformat(),
            })  # fmt: skip
    return batches


def versions_of_run(staff: Api, run_id: int) -> list[tuple[str, int]]:
    """(kind, version id) of every version the run registered."""
    ids = staff.get(f"/api/v1/models/retrain/{run_id}")["candidates"]
    kinds = {v["id"]: v["kind"] for v in staff.get("/api/v1/models")}
    return sorted((kinds[pk], pk) for pk in ids)


def test_two_web_processes_and_two_workers_answer_as_one_of_each(tmp_path, real_services):
    database_url, broker_url = real_services
    world = tmp_path / "world"
    make_world(world, titles=30, members=6, seed=3)
    with postgres_database(database_url) as url:
        stack = ScaleStack(tmp_path, database_url=url, broker_url=broker_url)
        stack.env["HOMEPAGE_CANDIDATES"] = CANDIDATES
        stack.seed(world)
        stack.start_web()
        stack.start_worker()
        try:
            staff = Api(stack.base_url, "demo", "demo-password")
            accounts = json.loads((world / "members.json").read_text())["accounts"]
            apis = [Api(stack.base_url, a["username"], a["password"]) for a in accounts]
            profiles = [(api, m["id"]) for api in apis for m in api.get("/api/v1/me")["members"]]
            titles = [
                t
                for t in staff.get("/api/v1/titles", page_size=500)["results"]
                if t["added_at"] < (datetime.now(UTC) - timedelta(days=3)).isoformat()
            ]
            since = datetime.now(UTC) - timedelta(hours=2)
            for api, events in play_events(profiles, titles, since=since, per_member=6).items():
                api.post("/api/v1/events", {"events": events})

            # One of each: a retrain on one worker, pages from one web process.
            first = staff.retrain_and_wait(stack)
            assert first["status"] == "succeeded", first
            one_worker = versions_of_run(staff, first["run_id"])
            assert [kind for kind, _ in one_worker] == sorted(CANDIDATES.split(","))
            at = datetime.now(UTC).isoformat()
            path = "/api/v1/members/{}/homepage"
            single = {m: page_facts(api.get(path.format(m), at=at)) for api, m in profiles}
            assert all(page["model_version"] for page in single.values())

            # Two of each.
            second_url = stack.start_second_web()
            stack.start_second_worker()
            for api, member in profiles:
                other = Api.__new__(Api)
                other.base_url, other.headers = second_url, api.headers
                from_first = page_facts(api.get(path.format(member), at=at))
                from_second = page_facts(other.get(path.format(member), at=at))
                assert from_first == from_second == single[member], member

            # The same batch through both web processes at once: stored once.
            api, member = profiles[0]
            batch = play_events([(api, member)], titles, since=since, per_member=5, shift=2)[api]
            before = len(api.get(f"/api/v1/members/{member}/plays", limit=1000)["plays"])
            replies: list = []

            def post(base: str) -> None:
                replies.append(
                    requests.post(
                        f"{base}/api/v1/events",
                        json={"events": batch},
                        headers=api.headers,
                        timeout=60,
                    ).json()
                )

            threads = [
                threading.Thread(target=post, args=(b,)) for b in (stack.base_url, second_url)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            after = len(api.get(f"/api/v1/members/{member}/plays", limit=1000)["plays"])
            assert after - before == len(batch), (before, after, replies)
            # and each reply says what it stored: together, the batch once.
            assert sum(r["stored"] for r in replies) == len(batch), replies
            assert sum(r["duplicates"] for r in replies) == len(batch), replies

            # A retrain on two workers, its task delivered to both: one version per kind. It
            # needs plays newer than what production saw.
            recent = datetime.now(UTC) - timedelta(seconds=30)
            new = play_events(profiles, titles, since=recent, per_member=2, shift=1)
            for api, events in new.items():
                api.post("/api/v1/events", {"events": events})
            other = Api.__new__(Api)
            other.base_url, other.headers = second_url, staff.headers
            run = other.post("/api/v1/models/retrain", expect=202)
            stack.manage(
                "shell", "-c",
                f"from modeling.tasks import retrain; retrain.apply_async(args=[{run['run_id']}])",
            )  # fmt: skip
            second = None
            for _ in range(240):
                stack._check_alive("worker")
                stack._check_alive("worker2")
                second = staff.get(f"/api/v1/models/retrain/{run['run_id']}")
                if second["status"] in ("succeeded", "failed"):
                    break
                threading.Event().wait(0.5)
            assert second is not None and second["status"] == "succeeded", second.get("error")
            two_workers = versions_of_run(staff, run["run_id"])
            assert [kind for kind, _ in two_workers] == [kind for kind, _ in one_worker]
            threading.Event().wait(2)  # let the duplicate delivery land, if it was still queued
            assert staff.get(f"/api/v1/models/retrain/{run['run_id']}")["attempts"] == 1
            kinds = [v["kind"] for v in staff.get("/api/v1/models")]
            assert sorted(kinds) == sorted(CANDIDATES.split(",") * 2), kinds
        finally:
            stack.stop()
