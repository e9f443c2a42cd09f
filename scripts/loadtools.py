"""What the load scripts share: a PostgreSQL database of their own, a gunicorn web server and
Celery workers in subprocesses, the processes' memory, and a closed-loop HTTP load driver.

Used by scripts/bench_load.py, scripts/bench_events.py and scripts/soak.py. Nothing here
imports Django: the scripts set Django up themselves (or leave it to the subprocesses).
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so a stopped script still stops its subprocesses."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_recreate(url: str) -> None:
    """Drop and create the database that `url` names (on the same server), empty."""
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    if not name or not name.replace("_", "").isalnum():
        raise SystemExit(f"DATABASE_URL must name a database of letters, digits and _: {url!r}")
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def app_env(*, settings: str, database_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment the web server and workers run in (platform/ on the path)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings,
        "DJANGO_DEBUG": "0",
        "DATABASE_URL": database_url,
        "HOMEPAGE_VAR_DIR": str(var_dir),
        "HOMEPAGE_LOG_LEVEL": "WARNING",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT)]),
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


def gunicorn_argv(
    *, port: int, workers: int, worker_class: str, threads: int, wsgi: str = "config.wsgi"
) -> list[str]:
    argv = [str(BIN / "gunicorn"), wsgi, "--bind", f"127.0.0.1:{port}"]
    argv += ["--workers", str(workers), "--worker-class", worker_class, "--timeout", "120"]
    argv += ["--backlog", "2048", "--keep-alive", "5"]
    if worker_class == "gthread":
        argv += ["--threads", str(threads)]
    return argv


def wait_for_http(url: str, process: subprocess.Popen, *, timeout_s: float = 90) -> None:
    """Return once `url` answers 200; raise if `process` exits first or it takes too long."""
    import requests

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            if requests.get(url, timeout=10).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer in {timeout_s:.0f} s")


@contextmanager
def running(argv: list[str], *, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A subprocess for the duration of the block, terminated (then killed) after it."""
    with open(log, "w") as out:
        process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def children(pid: int) -> list[int]:
    """Ids of the direct children of process `pid` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: read what follows it.
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def rss_bytes(pid: int) -> int | None:
    """Resident memory of process `pid` in bytes, or None if it has gone."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time process `pid` has used, in seconds."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_backends(database: str) -> list[int]:
    """Ids of the PostgreSQL server processes serving connections to `database` (on this
    machine: their command line reads "postgres: [CLUSTER: ]USER DATABASE HOST(PORT) STATE")."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        words = argv.split()
        if words[:1] == ["postgres:"] and database in words[2:4]:
            found.append(int(entry.name))
    return found


class CpuMeter:
    """CPU seconds that the web workers and the database's backends spend between `start`
    and `stop`: a cost per request that other jobs on a shared machine do not inflate, as
    they do wall-clock latency."""

    def __init__(self, web_pid: int, database: str):
        self.web_pid, self.database = web_pid, database

    def _read(self) -> dict[str, dict[int, float]]:
        groups = {"web": children(self.web_pid), "db": postgres_backends(self.database)}
        return {
            name: {pid: cpu for pid in pids if (cpu := cpu_seconds(pid)) is not None}
            for name, pids in groups.items()
        }

    def start(self) -> None:
        self._before = self._read()

    def stop(self) -> dict[str, float]:
        after = self._read()
        return {
            name: sum(cpu - self._before[name].get(pid, 0.0) for pid, cpu in now.items())
            for name, now in after.items()
        }


# --- the load driver --------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One client's requests: GET each (path, Authorization header or None) in turn."""

    requests: tuple[tuple[str, str | None], ...]


@dataclass
class Readings:
    """What the clients saw in one phase."""

    seconds: float
    latencies: list[float] = field(default_factory=list)  # of successful requests, seconds
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    body_bytes: int = 0

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        """The q-th percentile (nearest rank) of the latencies, in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]

    @classmethod
    def combine(cls, parts: list[Readings], *, seconds: float) -> Readings:
        """Readings of clients that ran side by side for `seconds` (concurrent) or of phases
        run one after another (pass the sum of their seconds)."""
        return cls(
            seconds,
            [x for p in parts for x in p.latencies],
            sum(p.errors for p in parts),
            [e for p in parts for e in p.error_samples][:5],
            sum(p.body_bytes for p in parts),
        )

    def line(self, name: str) -> str:
        size = self.body_bytes / self.ok if self.ok else 0
        return (
            f"{name:<9} p50 {self.percentile(50):7.1f} ms  p95 {self.percentile(95):7.1f} ms  "
            f"p99 {self.percentile(99):7.1f} ms  {self.rate:7.1f} req/s  errors {self.errors}  "
            f"n={self.ok}  {size / 1000:.1f} kB/response"
        )


def _client_thread(host, port, target: Target, deadline: float, out: Readings, offset: int):
    conn = http.client.HTTPConnection(host, port, timeout=60)
    i = offset
    while time.perf_counter() < deadline:
        path, authorization = target.requests[i % len(target.requests)]
        headers = {"Authorization": authorization} if authorization else {}
        i += 1
        start = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            if response.will_close:
                conn.close()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            out.errors += 1
            if len(out.error_samples) < 5:
                out.error_samples.append(f"{path}: {type(exc).__name__}: {exc}")
            continue
        elapsed = time.perf_counter() - start
        if response.status == 200:
            out.latencies.append(elapsed)
            out.body_bytes += len(body)
        else:
            out.errors += 1
            if len(out.error_samples) < 5:
                out.error_samples.append(f"{path}: HTTP {response.status}: {body[:200]!r}")
    conn.close()


def _client_process(base_url: str, targets: list[Target], seconds: float, start_at: float):
    """Run one thread per target until `seconds` after the wall clock reaches `start_at`."""
    parts = urlparse(base_url)
    delay = start_at - time.time()
    if delay > 0:
        time.sleep(delay)
    deadline = time.perf_counter() + seconds
    readings = [Readings(seconds) for _ in targets]
    threads = [
        threading.Thread(
            target=_client_thread,
            args=(parts.hostname, parts.port, t, deadline, r, n),
            daemon=True,
        )
        for n, (t, r) in enumerate(zip(targets, readings, strict=True))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Readings.combine(readings, seconds=seconds)


class Driver:
    """Closed-loop clients: each sends its next request as soon as the previous one is
    answered (no think time), so `concurrency` requests are in flight at all times. Clients
    are threads spread over `processes` processes, so the driver's own GIL does not cap the
    rate it can measure."""

    def __init__(self, base_url: str, *, processes: int):
        self.base_url = base_url
        self.processes = processes
        self._pool = multiprocessing.get_context("spawn").Pool(processes)

    def run(self, targets: list[Target], seconds: float) -> Readings:
        shares = [targets[i :: self.processes] for i in range(self.processes)]
        start_at = time.time() + 0.5  # every process starts together, after its spawn
        results = [
            self._pool.apply_async(_client_process, (self.base_url, share, seconds, start_at))
            for share in shares
            if share
        ]
        return Readings.combine([r.get() for r in results], seconds=seconds)

    def close(self) -> None:
        self._pool.close()
        self._pool.join()


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} (1 / 5 min) on {os.cpu_count()} cores"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
