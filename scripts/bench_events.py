"""Event ingestion benchmark: sustained events per second into PostgreSQL, batches of 100.

Runs gunicorn on the database that scripts/bench_load.py set up (its fixture in --var-dir:
5,000 titles, members with tokens), and --clients closed-loop clients POST /api/v1/events,
each batch --batch new events (plays and thumbs of the client's own member, fresh ids) for
--seconds. Then it checks the duplicate-once guarantee: every batch of a sample sent again,
unchanged, must answer stored 0 / duplicates --batch, and the fact log must hold exactly one
row per event id sent, no more. Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/homepage_perf \\
        .venv/bin/python scripts/bench_load.py            # once, for the set-up
    ... .venv/bin/python scripts/bench_events.py --clients 8 --seconds 20
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

from scripts import loadtools  # noqa: E402
from scripts.bench_load import SETTINGS, positive_float, positive_int  # noqa: E402


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=positive_int, default=8, help="concurrent clients")
    parser.add_argument("--batch", type=positive_int, default=100, help="events per request")
    parser.add_argument("--seconds", type=positive_float, default=20.0)
    parser.add_argument("--workers", type=positive_int, default=3, help="gunicorn workers")
    parser.add_argument("--resend", type=positive_int, default=50, help="batches sent again")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--var-dir", type=Path, default=ROOT / "var" / "bench-load")
    args = parser.parse_args(argv)
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        parser.error("set DATABASE_URL to the database scripts/bench_load.py set up")
    if not (args.var_dir / "fixture.json").exists():
        parser.error(f"no {args.var_dir / 'fixture.json'}: run scripts/bench_load.py first")
    return args


def titles(database_url: str) -> list[tuple[int, int, datetime]]:
    """(id, runtime minutes, added_at) of every title, straight from the database."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT id, runtime_minutes, added_at FROM catalog_title").fetchall()


def fact_count(database_url: str, ids: list[str] | None = None) -> int:
    import psycopg

    with psycopg.connect(database_url) as conn:
        if ids is None:
            return conn.execute("SELECT COUNT(*) FROM events_interaction").fetchone()[0]
        return conn.execute(
            "SELECT COUNT(*) FROM events_interaction WHERE event_id = ANY(%s::uuid[])", (ids,)
        ).fetchone()[0]


class Client(threading.Thread):
    def __init__(self, base_url, token, member, catalogue, batch, deadline, seed):
        super().__init__(daemon=True)
        self.url, self.member, self.catalogue = f"{base_url}/api/v1/events", member, catalogue
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"
        self.batch, self.deadline = batch, deadline
        self.rng = np.random.default_rng(seed)
        self.sent: list[list[dict]] = []  # the batches the server stored
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def events(self) -> list[dict]:
        now = datetime.now(UTC)
        out = []
        for i in self.rng.integers(len(self.catalogue), size=self.batch):
            pk, runtime, added_at = self.catalogue[i]
            when = max(now - timedelta(hours=float(self.rng.uniform(0, 48))), added_at)
            event = {
                "event_id": str(uuid.uuid4()),
                "member": self.member,
                "title": pk,
                "occurred_at": when.isoformat(),
            }
            if self.rng.random() < 0.8:
                event |= {
                    "type": "play",
                    "watched_seconds": int(self.rng.integers(1, 60 * runtime)),
                }
            else:
                event["type"] = "thumb_up"
            out.append(event)
        return out

    def run(self) -> None:
        while time.perf_counter() < self.deadline:
            batch = self.events()
            start = time.perf_counter()
            try:
                response = self.session.post(self.url, json={"events": batch}, timeout=60)
            except requests.RequestException as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            elapsed = time.perf_counter() - start
            body = response.json() if response.status_code == 201 else None
            if body == {"stored": len(batch), "duplicates": 0}:
                self.latencies.append(elapsed)
                self.sent.append(batch)
            else:
                self.errors.append(f"HTTP {response.status_code}: {response.text[:200]}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    loadtools.stop_on_sigterm()
    args.var_dir = args.var_dir.resolve()
    database_url = os.environ["DATABASE_URL"]
    fixture = json.loads((args.var_dir / "fixture.json").read_text())
    catalogue = titles(database_url)
    port = loadtools.free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = loadtools.app_env(settings=SETTINGS, database_url=database_url, var_dir=args.var_dir)
    argv_web = loadtools.gunicorn_argv(
        port=port, workers=args.workers, worker_class="sync", threads=1
    )
    log = args.var_dir / "gunicorn-events.log"
    with loadtools.running(argv_web, env=env, log=log) as web:
        loadtools.wait_for_http(f"{base_url}/bench/bare?bytes=100", web)
        before = fact_count(database_url)
        meter = loadtools.CpuMeter(web.pid, urlparse(database_url).path[1:])
        meter.start()
        deadline = time.perf_counter() + args.seconds
        clients = [
            Client(
                base_url, c["token"], c["member"], catalogue, args.batch, deadline, args.seed + n
            )
            for n, c in enumerate(fixture["clients"][: args.clients])
        ]
        started = time.perf_counter()
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        elapsed = time.perf_counter() - started
        cpu = meter.stop()
        stored = fact_count(database_url) - before
        latencies = loadtools.Readings(
            elapsed, [x for c in clients for x in c.latencies], sum(len(c.errors) for c in clients)
        )
        batches = [b for c in clients for b in c.sent]
        print(
            f"ingest: {args.clients} clients x batches of {args.batch} for {elapsed:.1f} s on "
            f"gunicorn {args.workers} sync workers ({loadtools.load_average()})"
        )
        print("  " + latencies.line("batch"))
        print(
            f"  {stored:,} events stored: {stored / elapsed:,.0f} events/s; the clients counted "
            f"{len(batches) * args.batch:,} accepted"
        )
        per_event = {k: 1000 * v / max(stored, 1) for k, v in cpu.items()}
        print(
            f"  server CPU per 1,000 events: web {1000 * per_event['web']:.0f} ms + db "
            f"{1000 * per_event['db']:.0f} ms"
        )
        for client in clients:
            for error in client.errors[:3]:
                print(f"    error: {error}")

        # Duplicate-once: the same batches again, from the same accounts.
        rng = np.random.default_rng(args.seed)
        owners = [(c, b) for c in clients for b in c.sent]
        sample = [owners[i] for i in rng.permutation(len(owners))[: args.resend]]
        replies = [c.session.post(c.url, json={"events": b}, timeout=60).json() for c, b in sample]
        ids = [e["event_id"] for _, b in sample for e in b]
        after = fact_count(database_url)
        all_ids = [e["event_id"] for b in batches for e in b]
        once = fact_count(database_url, all_ids)
        replay_ok = all(r == {"stored": 0, "duplicates": args.batch} for r in replies)
        print(
            f"resend of {len(sample)} batches ({len(ids):,} events): "
            f"{'every reply stored 0' if replay_ok else 'WRONG replies: ' + str(replies[:3])}; "
            f"fact log grew by {after - before - stored} rows on resend; "
            f"{once:,} rows for the {len(all_ids):,} ids sent (must be equal)"
        )
        ok = (
            replay_ok
            and after == before + stored
            and once == len(all_ids) == stored
            and not latencies.errors
        )
        print("duplicate-once: " + ("held" if ok else "BROKEN"))
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
