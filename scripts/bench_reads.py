"""The CPU of the two reads every homepage request makes, the API token with its account and
the member, through the ORM (what DRF and Django's `get` do) and as the platform reads them
(plain SQL, api.authentication and members.selectors), and of the connection's health check
before a request's first query (Django's `SELECT 1`, CONN_HEALTH_CHECKS), in one run on the
load bench's database. Usage, after `scripts/bench_load.py` has set that database up::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/homepage_perf \\
        .venv/bin/python scripts/bench_reads.py --var-dir var/bench-load

Prints each read's CPU and wall time per call, the median of --repeats runs of --calls calls
(docs/benchmarks.md, "A page's CPU without the ORM's and DRF's per-request work")."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def timed(read, calls: int, repeats: int) -> tuple[float, float]:
    """Median CPU and wall microseconds a call of `read(i)`."""
    for i in range(50):
        read(i)
    cpu, wall = [], []
    for _ in range(repeats):
        c, w = time.process_time(), time.perf_counter()
        for i in range(calls):
            read(i)
        cpu.append(1e6 * (time.process_time() - c) / calls)
        wall.append(1e6 * (time.perf_counter() - w) / calls)
    return statistics.median(cpu), statistics.median(wall)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--var-dir", type=Path, default=ROOT / "var" / "bench-load")
    parser.add_argument("--calls", type=positive_int, default=2000)
    parser.add_argument("--repeats", type=positive_int, default=5)
    args = parser.parse_args(argv)
    fixture_path = args.var_dir / "fixture.json"
    if not fixture_path.exists():
        parser.error(f"{fixture_path} does not exist: run scripts/bench_load.py first")
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        parser.error("set DATABASE_URL to the load bench's PostgreSQL database")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.bench")
    os.environ.setdefault("HOMEPAGE_VAR_DIR", str(args.var_dir))
    import django

    django.setup()
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from api.authentication import account_for_token
    from members.models import Member
    from members.selectors import member_get_for_account

    clients = json.loads(fixture_path.read_text())["clients"]
    keys = [c["token"] for c in clients]
    members = [(c["member"], account_for_token(c["token"])[0]) for c in clients]
    n = len(clients)
    reads = {
        "token and account, ORM": lambda i: Token.objects.select_related("user").get(
            key=keys[i % n]
        ),
        "token and account, SQL": lambda i: account_for_token(keys[i % n]),
        "member, ORM": lambda i: Member.objects.get(
            pk=members[i % n][0], account=members[i % n][1]
        ),
        "member, SQL": lambda i: member_get_for_account(
            member_id=members[i % n][0], account=members[i % n][1]
        ),
        "health check (SELECT 1)": lambda i: connection.is_usable(),
    }
    print(f"{n} clients' tokens and members, {args.calls} calls x {args.repeats} runs, medians:")
    for name, read in reads.items():
        cpu, wall = timed(read, args.calls, args.repeats)
        print(f"  {name:<24} {cpu:7.0f} us CPU  {wall:7.0f} us wall a call")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
