"""`make test`: the suite as two pytest processes at once, each with a share of the tests.

- **stacks**: the tests that start real processes or share the real services (marked
  `e2e`, `browser` or `services`), one at a time, as they would run alone. They spend their
  time waiting on their servers and workers, and two at once would share the real Redis's
  queues.
- **units**: every other test, CPU-bound in the test process itself, and the e2e tests
  marked `embedded`, which run on the embedded default in a scratch folder and share no
  service with anything (`make demo`'s own test: it moves a minute and a half off the
  longer half).

On a two-core machine the two overlap almost fully, so the suite takes about as long as its
longer half. The units get a database and a Redis database of their own when the real
services are configured (`DATABASE_URL` with `_units` added to its name, so pytest-django's
test database is `test_<name>_units`; the Redis database after `CELERY_BROKER_URL`'s), so
nothing the halves store meets. Arguments are passed to both; `--junitxml=PATH` gives each
half its own report, `PATH` with `-stacks` or `-units` before its suffix. Each half's
output goes to `var/test-<half>.log`; a failing half's log is printed whole, and the exit
status is the worse of the two.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
STACKS = "e2e or browser or services"
HALVES = {"stacks": f"({STACKS}) and not embedded", "units": f"not ({STACKS}) or embedded"}


def units_env(env: dict[str, str]) -> dict[str, str]:
    """The units' environment: their own PostgreSQL database and Redis database."""
    env = dict(env)
    database = env.get("DATABASE_URL", "")
    if database.startswith(("postgres://", "postgresql://")):
        parts = urlparse(database)
        env["DATABASE_URL"] = urlunparse(parts._replace(path=parts.path.rstrip("/") + "_units"))
    broker = env.get("CELERY_BROKER_URL", "")
    if broker.startswith("redis://"):
        parts = urlparse(broker)
        db = int(parts.path.strip("/") or 0)
        env["CELERY_BROKER_URL"] = urlunparse(parts._replace(path=f"/{db + 1}"))
    return env


def half_args(args: list[str], half: str) -> list[str]:
    """`args` with a `--junitxml=PATH` of this half's own."""
    out = []
    for arg in args:
        if arg.startswith("--junitxml="):
            path = Path(arg.split("=", 1)[1])
            arg = f"--junitxml={path.with_name(f'{path.stem}-{half}{path.suffix}')}"
        out.append(arg)
    return out


def main(argv: list[str]) -> int:
    logs = ROOT / "var"
    logs.mkdir(exist_ok=True)
    started = time.monotonic()
    running = {}
    for half, marks in HALVES.items():
        env = units_env(os.environ) if half == "units" else dict(os.environ)
        log = (logs / f"test-{half}.log").open("w")
        command = [sys.executable, "-m", "pytest", "-m", marks, *half_args(argv, half)]
        print(f"==> {half}: {' '.join(command[1:])} (log: var/test-{half}.log)", flush=True)
        running[half] = (
            subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT),
            log,
        )
    status = 0
    for half, (process, log) in running.items():
        code = process.wait()
        log.close()
        text = (logs / f"test-{half}.log").read_text()
        if code not in (0, 5):  # 5: no test collected (a half can be empty with -k or paths)
            print(f"==> {half} FAILED (exit {code}); its whole log:\n{text}", flush=True)
            status = max(status, code)
        else:
            summary = [line for line in text.splitlines() if line.startswith("=")][-1:]
            print(f"==> {half}: {' '.join(summary) or 'no output'}", flush=True)
    print(f"==> both halves done in {time.monotonic() - started:.0f} s", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
