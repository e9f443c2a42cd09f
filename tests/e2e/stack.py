"""Run the real system in subprocesses: migrate, seed, a gunicorn web server and a Celery worker.

The end-to-end tests talk to it only over HTTP, like the simulator and the browser do. The
same harness runs on the embedded default (a SQLite file, a folder as the broker) and on the
real services (a fresh PostgreSQL database, a Redis queue of its own).
"""

import os
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import requests

from scripts.demo import WebNotReady, wait_for_web, web_command

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
BIN = Path(PYTHON).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgres_database(base_url: str):
    """A fresh, uniquely named database on the server of `base_url`, dropped afterwards."""
    import psycopg

    name = f"homepage_e2e_{uuid.uuid4().hex[:10]}"
    parts = urlparse(base_url)
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunparse(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_world(path: Path, *, titles: int, members: int, seed: int = 0) -> None:
    """A simulated world's files (catalogue, members, hidden tastes) in `path`."""
    subprocess.run(
        [PYTHON, "-m", "simulator.world", "--out", str(path), "--titles", str(titles)]
        + ["--members", str(members), "--seed", str(seed)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )


class Stack:
    def __init__(
        self, workdir: Path, *, database_url: str | None = None, broker_url: str | None = None
    ):
        self.workdir = workdir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DJANGO_DEBUG": "0",
            "HOMEPAGE_VAR_DIR": str(workdir / "var"),
            "HOMEPAGE_CELERY_QUEUE": f"homepage-e2e-{uuid.uuid4().hex[:8]}",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT)]),
            "PYTHONUNBUFFERED": "1",
        }
        for key, value in (("DATABASE_URL", database_url), ("CELERY_BROKER_URL", broker_url)):
            if value:
                self.env[key] = value
            else:
                self.env.pop(key, None)
        self.processes: dict[str, subprocess.Popen] = {}

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [PYTHON, str(ROOT / "manage.py"), *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
            )
        return result.stdout

    def seed(self, world: Path, *, demo_password: str = "demo-password") -> None:
        """Migrate the stack's database and seed it with the simulated world in `world`.
        Both skip Django's system checks, which import every view and so torch: seconds of
        CPU a command, twice for each of a dozen stacks a run. The checks themselves are
        tests/platform/config's."""
        self.manage("migrate", "--noinput", "--skip-checks")
        self.manage("seed_world", str(world), "--demo-password", demo_password, "--skip-checks")

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = open(self.workdir / f"{name}.log", "w")  # noqa: SIM115 - closed in stop()
        self.processes[name] = subprocess.Popen(
            argv, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )

    def start_web(self) -> None:
        self._spawn("web", web_command(self.port))
        try:
            wait_for_web(self.base_url, self.processes["web"], timeout_s=60)
        except WebNotReady as exc:
            raise RuntimeError(f"{exc}:\n{self.log('web')}") from None

    def start_worker(self) -> None:
        self._spawn(
            "worker",
            [
                str(BIN / "celery"),
                "-A",
                "config",
                "worker",
                "--loglevel",
                "INFO",
                "--pool",
                "solo",
                "--queues",
                self.env["HOMEPAGE_CELERY_QUEUE"],
                "--hostname",
                f"e2e-{self.port}@%h",
            ],
        )

    def start_beat(self) -> None:
        """Celery beat, with its schedule file in this stack's own var folder."""
        self._spawn(
            "beat",
            [
                str(BIN / "celery"),
                "-A",
                "config",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(self.workdir / "var" / "celerybeat-schedule"),
            ],
        )

    @contextmanager
    def running(self, *names: str):
        """Start the processes `names` ("web", "worker", "beat"), in that order, and stop
        every process of the stack on the way out; if the body fails, print their logs first
        (pytest shows a failing test's output)."""
        try:
            for name in names:
                getattr(self, f"start_{name}")()
            yield self
        except BaseException:
            for name in self.processes:
                print(f"--- {name} log ---\n{self.log(name)}")
            raise
        finally:
            self.stop()

    def _check_alive(self, name: str) -> None:
        process = self.processes[name]
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.log(name)}")

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text()[-6000:] if path.exists() else ""

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


class Api:
    """A thin authenticated client for the test's own calls (the simulator has its own)."""

    def __init__(self, base_url: str, username: str, password: str):
        self.base_url = base_url
        response = requests.post(
            f"{base_url}/api/v1/auth/token",
            json={"username": username, "password": password},
            timeout=30,
        )
        response.raise_for_status()
        self.headers = {"Authorization": f"Token {response.json()['token']}"}

    def get(self, path: str, **params):
        response = requests.get(
            f"{self.base_url}{path}", params=params, headers=self.headers, timeout=60
        )
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()

    def get_or_none(self, path: str, **params):
        """The JSON of a 200 answer, or None for a 404."""
        response = requests.get(
            f"{self.base_url}{path}", params=params, headers=self.headers, timeout=60
        )
        if response.status_code == 404:
            return None
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()

    def post(self, path: str, body=None, expect: int = 201):
        response = requests.post(
            f"{self.base_url}{path}", json=body, headers=self.headers, timeout=60
        )
        assert response.status_code == expect, (path, response.status_code, response.text)
        return response.json()

    def put(self, path: str, body, expect: int = 200):
        response = requests.put(
            f"{self.base_url}{path}", json=body, headers=self.headers, timeout=60
        )
        assert response.status_code == expect, (path, response.status_code, response.text)
        return response.json()

    def retrain_and_wait(self, stack: Stack, timeout: float = 300) -> dict:
        run = self.post("/api/v1/models/retrain", expect=202)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            stack._check_alive("worker")
            state = self.get(f"/api/v1/models/retrain/{run['run_id']}")
            if state["status"] in ("succeeded", "failed"):
                return state
            time.sleep(1)
        raise AssertionError(
            f"retrain run {run['run_id']} not done in {timeout} s:\n{stack.log('worker')}"
        )
