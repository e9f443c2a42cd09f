"""Faults injected for real into the running system: gunicorn and Celery processes on a fresh
PostgreSQL database, with a Redis of the test's own (the machine's shared Redis is never
touched). A worker is killed with SIGKILL mid-retrain, the broker is killed and started
again, the database's backends are terminated and its connections refused for a while.

The stack is shared by the tests of this module (migrating and seeding it is most of the
cost); each test posts its own new plays, so each retrain has new facts to learn from.
Retrains here gate popularity and the transformer (sasrec), whose fit takes seconds: long
enough to kill a worker while it runs.
"""

import json
import os
import signal
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import requests

from tests.conftest import services_env, skip_or_fail
from tests.e2e.stack import BIN, PYTHON, ROOT, Api, Stack, free_port, postgres_database

pytestmark = [pytest.mark.e2e, pytest.mark.services]

DEMO = ("demo", "demo-password")
SLOW_CANDIDATES = "popularity,sasrec"
VISIBILITY_TIMEOUT_S = 5  # a killed worker's task is back on the queue after this
EXPLORED_SLOTS = {"enabled": True, "policy": "epsilon_greedy", "rate": 0.3, "positions": 2}


class OwnRedis:
    """A redis-server of the test's own on a free port, which the test may kill and restart."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log = workdir / "redis.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no"],
            stdout=self.log.open("a"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            ping = subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
            )
            if ping.stdout.strip() == "PONG":
                return
            time.sleep(0.1)
        raise RuntimeError(f"redis-server did not start:\n{self.log.read_text()}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


class FaultStack(Stack):
    def __init__(self, workdir: Path, *, database_url: str, redis: OwnRedis):
        super().__init__(workdir, database_url=database_url, broker_url=redis.url)
        self.database_url = database_url
        self.env["HOMEPAGE_CANDIDATES"] = SLOW_CANDIDATES
        self.env["HOMEPAGE_BROKER_VISIBILITY_TIMEOUT"] = str(VISIBILITY_TIMEOUT_S)
        # Short rows leave titles of the small world off the page, for the explorer to pick.
        self.env["HOMEPAGE_ROW_SIZE"] = "5"
        self.env.pop("DJANGO_DEBUG")  # the settings as `make demo` runs them, defaults and all

    def start_celery(self, name: str, *, pool: str = "solo", beat: bool = False, **env) -> None:
        argv = [str(BIN / "celery"), "-A", "config", "worker", "--loglevel", "INFO",
                "--pool", pool, "--concurrency", "1",
                "--queues", self.env["HOMEPAGE_CELERY_QUEUE"], "--hostname", f"{name}-{self.port}@%h"]  # fmt: skip
        if beat:
            argv += ["--beat", "--schedule", str(self.workdir / "celerybeat-schedule")]
        log = open(self.workdir / f"{name}.log", "a")  # noqa: SIM115 - closed with the process
        self.processes[name] = subprocess.Popen(
            argv, env={**self.env, **env}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )

    def kill(self, name: str) -> None:
        """kill -9 the worker and every process it started (a prefork pool's child, the
        embedded beat): the main process alone would leave beat running on, orphaned."""
        process = self.processes.pop(name)
        for pid in [process.pid, *children_of(process.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # gone already
        process.wait(timeout=10)

    def sql(self, query: str, *params):
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def admin_sql(self, query: str) -> None:
        admin = self.database_url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(query)


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    found = services_env()
    if found is None:
        skip_or_fail("DATABASE_URL=postgres://... and CELERY_BROKER_URL=redis://... are not set")
    workdir = tmp_path_factory.mktemp("faults")
    world = workdir / "world"
    subprocess.run(
        [PYTHON, "-m", "simulator.world", "--out", str(world), "--titles", "40",
         "--members", "12", "--seed", "5"],
        cwd=ROOT, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    redis = OwnRedis(workdir)
    redis.start()
    with postgres_database(found[0]) as database_url:
        stack = FaultStack(workdir, database_url=database_url, redis=redis)
        stack.redis, stack.world = redis, world
        stack.seed(world, demo_password=DEMO[1])
        stack.start_web()
        try:
            yield stack
        finally:
            stack.stop()
            redis.kill()
            left = _left_running([str(workdir), stack.env["HOMEPAGE_CELERY_QUEUE"]])
    assert not left, f"processes of this stack still running after it stopped: {left}"


def _left_running(marks: list[str], wait_s: float = 10.0) -> list[str]:
    """The command lines of processes still running with one of `marks` in them (the
    stack's folder, its workers' queue: a worker's beat, say, that outlived its worker),
    after up to `wait_s` for them to exit; those found are killed, so one module's
    leftovers never reach the next."""
    deadline = time.monotonic() + wait_s
    while True:
        found = {}
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                argv = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = (cmdline.parent / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            # a zombie ("Z") has exited already: its parent reaps it
            if any(mark in argv for mark in marks) and state != "Z":
                found[int(cmdline.parent.name)] = argv.strip()
        if not found or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for pid in found:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return sorted(found.values())


@pytest.fixture(autouse=True)
def logs(stack):
    """The processes' logs, printed after each test (pytest shows them when it fails)."""
    yield
    for name in ("web", "worker", "second"):
        print(f"--- {name} log ---\n{stack.log(name)}")


class Members:
    """The world's accounts signed in, and plays posted for their profiles over the API."""

    def __init__(self, stack: FaultStack):
        accounts = json.loads((stack.world / "members.json").read_text())["accounts"]
        self.apis = [Api(stack.base_url, a["username"], a["password"]) for a in accounts]
        self.profiles = [
            (api, member["id"]) for api in self.apis for member in api.get("/api/v1/me")["members"]
        ]
        titles = self.apis[0].get("/api/v1/titles", page_size=500)["results"]
        self.titles = [
            t for t in titles if _time(t["added_at"]) < datetime.now(UTC) - timedelta(days=3)
        ]

    def play(self, *, per_member: int, since: datetime, seed: int) -> int:
        """`per_member` plays for every profile, at times from `since` to now (a retrain
        learns something only from plays newer than what production saw)."""
        posted = 0
        span = (datetime.now(UTC) - since).total_seconds()
        for n, (api, member) in enumerate(self.profiles):
            events = []
            for k in range(per_member):
                title = self.titles[(seed * 7 + n * 5 + k * 3) % len(self.titles)]
                at = since + timedelta(seconds=span * (k + 1) / (per_member + 1))
                events.append({
                    "event_id": str(uuid.uuid4()), "type": "play", "member": member,
                    "title": title["id"], "occurred_at": at.isoformat(),
                    "watched_seconds": title["runtime_minutes"] * 30,
                })  # fmt: skip
            assert api.post("/api/v1/events", {"events": events})["stored"] == len(events)
            posted += len(events)
        return posted

    def count_plays(self) -> int:
        return sum(
            len(api.get(f"/api/v1/members/{m}/plays", limit=1000)["plays"])
            for api, m in self.profiles
        )


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def wait_for(check, *, timeout: float, every: float = 0.2, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def run_state(staff: Api, run_id: int) -> dict:
    return staff.get(f"/api/v1/models/retrain/{run_id}")


def versions_by_kind(staff: Api) -> dict[str, list[int]]:
    kinds: dict[str, list[int]] = {}
    for version in staff.get("/api/v1/models"):
        kinds.setdefault(version["kind"], []).append(version["id"])
    return kinds


def test_the_server_answers_every_error_in_json_without_a_debug_page(stack):
    staff = Api(stack.base_url, *DEMO)
    missing = requests.get(f"{stack.base_url}/api/v1/nowhere", timeout=30)
    assert missing.status_code == 404 and missing.headers["Content-Type"] == "application/json"
    assert "members/<id:member_id>" not in missing.text and len(missing.content) < 300
    huge = b'{"events": [' + b'{"type": "play"},' * 100_000 + b"{}]}"  # 1.7 MB
    too_big = requests.post(
        f"{stack.base_url}/api/v1/events",
        data=huge,
        headers={**staff.headers, "Content-Type": "application/json"},
        timeout=60,
    )
    assert too_big.status_code == 413, too_big.text
    assert too_big.json()["detail"].startswith("The request body is over 1000000 bytes")
    form = requests.post(
        f"{stack.base_url}/api/v1/events", data={"events": "x"}, headers=staff.headers, timeout=30
    )
    assert form.status_code == 415 and "Unsupported media type" in form.json()["detail"]


def test_a_dropped_database_connection_recovers_without_a_restart(stack):
    staff = Api(stack.base_url, *DEMO)
    member = staff.get("/api/v1/me")["members"][0]["id"]
    for _ in range(8):  # every web thread opens its persistent connection
        staff.get(f"/api/v1/members/{member}/homepage")
    name = stack.database_url.rsplit("/", 1)[1]
    terminate = (
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    )
    assert stack.sql(terminate)[0][0] >= 1
    for _ in range(16):  # no request fails: each reconnects when it finds its connection dead
        staff.get(f"/api/v1/members/{member}/homepage")

    # The database refuses connections for a while: requests say so (503), then recover.
    stack.admin_sql(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
    stack.admin_sql(terminate)
    try:
        down = requests.get(f"{stack.base_url}/api/v1/me", headers=staff.headers, timeout=30)
        assert down.status_code == 503, down.text
        assert down.json()["detail"].startswith("The database is unreachable")
        assert down.headers["Retry-After"] == "5"
    finally:
        stack.admin_sql(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
    assert staff.get("/api/v1/me")["username"] == "demo"


def test_a_worker_killed_mid_retrain_is_redelivered_and_registers_each_kind_once(stack):
    members = Members(stack)
    staff = Api(stack.base_url, *DEMO)
    members.play(per_member=8, since=datetime.now(UTC) - timedelta(days=2), seed=1)
    stack.start_celery("worker", pool="prefork")  # as compose runs it: a parent and its child
    run = staff.post("/api/v1/models/retrain", expect=202)

    # The child running the task dies once popularity is registered, inside the sasrec fit.
    state = wait_for(
        lambda: (s := run_state(staff, run["run_id"]))["candidates"] and s,
        timeout=120, what="the first candidate to be registered",
    )  # fmt: skip
    assert state["status"] == "running", state
    (child,) = children_of(stack.processes["worker"].pid)
    os.kill(child, signal.SIGKILL)
    lost_at = time.monotonic()
    # Facts keep arriving while it is down: none is lost.
    before = members.count_plays()
    posted = members.play(per_member=1, since=datetime.now(UTC) - timedelta(minutes=5), seed=2)

    done = wait_for(
        lambda: (s := run_state(staff, run["run_id"]))["status"] in ("succeeded", "failed") and s,
        timeout=180, every=1, what="the redelivered run to finish",
    )  # fmt: skip
    assert done["status"] == "succeeded", (done, stack.log("worker"))
    assert done["attempts"] == 2, done
    assert done["candidates"][0] == state["candidates"][0]  # popularity kept, not refit
    kinds = versions_by_kind(staff)
    assert {kind: len(ids) for kind, ids in kinds.items()} == {"popularity": 1, "sasrec": 1}
    assert sorted(done["candidates"]) == sorted(kinds["popularity"] + kinds["sasrec"])
    assert "WorkerLostError" in stack.log("worker") or "SIGKILL" in stack.log("worker")
    assert members.count_plays() == before + posted
    print(f"killed worker's run resumed and finished {time.monotonic() - lost_at:.0f} s later")

    # The whole worker this time (parent and child): its unacknowledged task comes back
    # on the queue after the visibility timeout, and a new worker resumes the run.
    members.play(per_member=2, since=datetime.now(UTC) - timedelta(seconds=20), seed=3)
    run = staff.post("/api/v1/models/retrain", expect=202)
    wait_for(
        lambda: run_state(staff, run["run_id"])["candidates"],
        timeout=120, what="the first candidate of the second run",
    )  # fmt: skip
    worker = stack.processes["worker"]
    for pid in [worker.pid, *children_of(worker.pid)]:
        os.kill(pid, signal.SIGKILL)
    worker.wait(timeout=10)
    stack.processes.pop("worker")
    stack.start_celery("worker", pool="prefork")
    done = wait_for(
        lambda: (s := run_state(staff, run["run_id"]))["status"] in ("succeeded", "failed") and s,
        timeout=240, every=1, what="the run of the killed worker to resume on a new one",
    )  # fmt: skip
    assert done["status"] == "succeeded" and done["attempts"] == 2, done
    counts = {kind: len(ids) for kind, ids in versions_by_kind(staff).items()}
    assert counts == {"popularity": 2, "sasrec": 2}, counts  # one of each per run


def test_two_workers_retraining_at_once_do_the_work_once(stack):
    members = Members(stack)
    staff = Api(stack.base_url, *DEMO)
    members.play(per_member=2, since=datetime.now(UTC) - timedelta(seconds=20), seed=4)
    if "worker" not in stack.processes:
        stack.start_celery("worker", pool="prefork")
    stack.start_celery("second")
    before = versions_by_kind(staff)
    first = staff.post("/api/v1/models/retrain", expect=202)
    second = staff.post("/api/v1/models/retrain", expect=202)
    # And the first run's task a second time, as a broker may redeliver it.
    stack.manage(
        "shell", "-c",
        f"from modeling.tasks import retrain; retrain.apply_async(args=[{first['run_id']}])",
    )  # fmt: skip
    finished = [
        wait_for(
            lambda r=r: (
                (s := run_state(staff, r["run_id"]))["status"] in ("succeeded", "failed") and s
            ),
            timeout=240,
            every=1,
            what=f"run {r['run_id']}",
        )  # fmt: skip
        for r in (first, second)
    ]
    succeeded = [r for r in finished if r["status"] == "succeeded"]
    assert len(succeeded) == 1, finished
    (refused,) = [r for r in finished if r["status"] == "failed"]
    assert "retraining at the same time" in refused["error"] or "nothing new" in refused["error"], (
        refused
    )
    assert refused["candidates"] == []
    after = versions_by_kind(staff)
    new = {kind: len(after[kind]) - len(before.get(kind, [])) for kind in after}
    assert new == {"popularity": 1, "sasrec": 1}, new  # one version of each kind in all
    time.sleep(VISIBILITY_TIMEOUT_S)  # let the duplicate delivery of the first run land
    assert run_state(staff, succeeded[0]["run_id"])["attempts"] == 1
    stack.kill("second")


def test_with_the_broker_down_pages_and_events_are_served_and_retraining_and_bandits_catch_up(
    stack,
):
    members = Members(stack)
    staff = Api(stack.base_url, *DEMO)
    if "worker" in stack.processes:
        stack.kill("worker")
    # A fact log a retrain can learn from, whether or not the tests above ran first
    members.play(per_member=2, since=datetime.now(UTC) - timedelta(days=1), seed=6)
    # The explorer fills two Top Picks positions of every page (the web reads its config per
    # request); its update counts a page's slots once their attribution window (here a
    # second) has closed.
    staff.put("/api/v1/exploration/configs/slots", EXPLORED_SLOTS)
    # A quick retrain and bandit update on a short schedule: beat keeps asking while the
    # broker is away.
    stack.start_celery(
        "worker",
        beat=True,
        HOMEPAGE_CANDIDATES="popularity",
        HOMEPAGE_RETRAIN_INTERVAL_SECONDS="3",
        HOMEPAGE_EXPLORATION_UPDATE_INTERVAL_SECONDS="3",
        HOMEPAGE_EXPLORATION_ATTRIBUTION_SECONDS="1",
        HOMEPAGE_EXPLORATION_COMMIT_GRACE_SECONDS="0",
    )
    member = members.profiles[0]

    stack.redis.kill()
    down_since = datetime.now(UTC)
    api, member_id = member
    page = api.get(f"/api/v1/members/{member_id}/homepage")
    assert page["rows"], page
    ((explored_up_to,),) = stack.sql(
        "SELECT max(id) FROM events_impression WHERE explored AND page_id = %s", page["page_id"]
    )
    assert explored_up_to is not None, page  # the page served with the broker down explored
    posted = members.play(per_member=1, since=down_since, seed=5)
    started = time.monotonic()
    refused = requests.post(
        f"{stack.base_url}/api/v1/models/retrain", headers=staff.headers, timeout=60
    )
    assert time.monotonic() - started < 30
    assert refused.status_code == 503 and "broker is unreachable" in refused.json()["error"]
    time.sleep(4)  # a scheduled retrain and update fall due while the broker is away

    stack.redis.start()  # the same port: workers and beat reconnect by themselves

    def caught_up():
        for version in staff.get("/api/v1/models"):
            if _time(version["trained_as_of"]) >= down_since:
                return version  # trained on plays stored while the broker was down
        return None

    version = wait_for(caught_up, timeout=120, every=1, what="a retrain on the outage's plays")
    assert version["kind"] == "popularity"
    assert posted >= len(members.profiles)

    def learned():  # a state of the slots' bandit that counted the outage's page
        ((watermark,),) = stack.sql(
            "SELECT max(watermark) FROM exploration_banditstate WHERE use = 'slots'"
        )
        return watermark is not None and watermark >= explored_up_to

    wait_for(learned, timeout=120, every=1, what="a bandit update counting the outage's page")
    # and the states counted every explored slot (the two rows exploration.services.SLOT_ROWS
    # explores) through their watermark, the outage page's too: none skipped as it moved past
    ((counted, explored, outage_page),) = stack.sql(
        """
        WITH w AS (SELECT max(watermark) AS id FROM exploration_banditstate WHERE use = 'slots')
        SELECT
            (SELECT sum(counted) FROM exploration_banditstate WHERE use = 'slots'),
            count(*),
            count(*) FILTER (WHERE page_id = %s)
        FROM events_impression, w
        WHERE explored AND row_key IN ('top_picks', 'something_different') AND events_impression.id <= w.id
        """,
        page["page_id"],
    )
    assert outage_page >= 1 and counted == explored, (counted, explored, outage_page)
    stack.kill("worker")
