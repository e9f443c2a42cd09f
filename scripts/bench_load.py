"""Load benchmark: the homepage under concurrent clients, beside a bare endpoint, in one run.

Sets up a PostgreSQL database of its own (DATABASE_URL; it is dropped and re-made), a simulated
world of --titles titles and --members members, plays, thumbs and saved titles for every
member, and a production model trained and promoted by the real retrain service. Then it runs
gunicorn on that database and drives, with --clients closed-loop clients (no think time):

- ``homepage``: GET /api/v1/members/{id}/homepage, token-authenticated, each client cycling
  through its own members; every page is logged with its impressions, as in production;
- ``bare``: GET /bench/bare?bytes=N, a plain Django view answering a JSON document of the
  homepage's median size, with no query, no authentication and no serializer
  (config.urls_bench, routed only by config.settings.bench);
- ``floor`` (with --floor): GET /bench/floor/{id}?bytes=N, the same document after what the
  homepage's contract asks of any page: the token's authentication, the member's check, and
  the page logged with as many impressions as a homepage in one statement (config.urls_bench).
  What the homepage costs above it is its own; what the floor costs above bare, every page
  of this contract pays.

They alternate for --rounds rounds of --seconds each, after a warm-up of each, and the
script prints p50/p95/p99, requests per second and errors of each, and the ratio of their
throughputs. Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/homepage_perf \\
        .venv/bin/python scripts/bench_load.py                 # set up, then measure
    ... scripts/bench_load.py --reuse                          # measure on the last set-up
    ... scripts/bench_load.py --reuse --cprofile 50            # where a page's time goes
    ... scripts/bench_load.py --reuse --py-spy                 # sample the served workers

Figures are readings on a shared machine; the load average is printed beside them, and the
clients run on the same machine as the server (docs/benchmarks.md, "Load").
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

from scripts import loadtools  # noqa: E402

SETTINGS = "config.settings.bench"
PASSWORD = "bench-password"


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    setup = parser.add_argument_group("set-up")
    setup.add_argument("--titles", type=positive_int, default=5000, help="catalogue size")
    setup.add_argument("--members", type=positive_int, default=400, help="simulated members")
    setup.add_argument("--plays", type=positive_int, default=60, help="plays per member")
    setup.add_argument(
        "--candidates", default="popularity,ease,mf", help="model kinds the retrain trains"
    )
    setup.add_argument("--seed", type=int, default=0)
    setup.add_argument(
        "--reuse", action="store_true", help="keep the database and model of the last set-up"
    )
    setup.add_argument(
        "--var-dir", type=Path, default=ROOT / "var" / "bench-load", help="models, logs"
    )
    page = parser.add_argument_group("page")
    page.add_argument("--row-size", type=positive_int, default=25, help="slots per row")
    page.add_argument(
        "--plan-seconds",
        type=non_negative_float,
        default=None,
        help="HOMEPAGE_PLAN_SECONDS of the server: how long a member's plan serves their "
        "pages (0: every page computes its own; default: the settings' default)",
    )
    page.add_argument(
        "--plan-refresh-seconds",
        type=non_negative_float,
        default=None,
        help="HOMEPAGE_PLAN_REFRESH_SECONDS of the server: a plan this close to its end is "
        "computed again off the request (0: off; default: the settings' default)",
    )
    page.add_argument(
        "--plan-cache",
        type=redis_url,
        default=None,
        metavar="URL",
        help="HOMEPAGE_PLAN_CACHE_URL of the server: a Redis database where the web processes "
        "share their finished plans (default: none, each process keeps its own); the bench "
        "deletes the plans kept there before it starts",
    )
    page.add_argument(
        "--warm-plans",
        action="store_true",
        help="before the traffic, compute every member's plan into the shared store with "
        "`manage.py plans_warm` (what a worker does after a promotion); needs --plan-cache",
    )
    load = parser.add_argument_group("load")
    load.add_argument("--clients", type=positive_int, default=16, help="concurrent clients")
    load.add_argument("--client-processes", type=positive_int, default=4)
    load.add_argument("--seconds", type=positive_float, default=15.0, help="per phase")
    load.add_argument("--rounds", type=positive_int, default=2, help="rounds of each endpoint")
    load.add_argument("--warmup", type=positive_float, default=4.0, help="seconds, each endpoint")
    load.add_argument("--workers", type=positive_int, default=2, help="gunicorn workers")
    load.add_argument("--worker-class", choices=("sync", "gthread"), default="gthread")
    load.add_argument("--threads", type=positive_int, default=4, help="per gthread worker")
    load.add_argument(
        "--floor",
        action="store_true",
        help="measure the floor endpoint too: authentication, the member and the page's log",
    )
    prof = parser.add_argument_group("profiling")
    prof.add_argument(
        "--cprofile", type=int, default=0, metavar="PAGES", help="profile PAGES pages in-process"
    )
    prof.add_argument(
        "--py-spy", action="store_true", help="sample the web workers in the first homepage round"
    )
    args = parser.parse_args(argv)
    if args.warm_plans and not args.plan_cache:
        parser.error(
            "--warm-plans needs --plan-cache: a worker's plans reach the web processes "
            "only through a shared store"
        )
    if "DATABASE_URL" not in os.environ or not os.environ["DATABASE_URL"].startswith("postgres"):
        parser.error("set DATABASE_URL to a PostgreSQL database of the bench's own (it is reset)")
    return args


def redis_url(text: str) -> str:
    if not text.startswith(("redis://", "rediss://", "unix://")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a Redis URL (redis://host:port/db)")
    return text


def plans_shared_forget(url: str) -> int:
    """Delete the plans a shared store keeps and its marks of refreshes under way (Django's
    keys `homepage:<version>:plan:...` and `...:refresh:...`), so a run starts as cold as
    one without it. Returns how many there were."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    keys = [
        key
        for pattern in ("homepage:*:plan:*", "homepage:*:refresh:*")
        for key in client.scan_iter(pattern, count=1000)
    ]
    if keys:
        client.delete(*keys)
    return len(keys)


def plans_warm(env: dict[str, str]) -> None:
    """Every member's plan computed into the shared store, in a process of its own with the
    web server's settings, as a worker does after a promotion (homepage.tasks.plans_warm):
    the members served a page in the last year, which --reuse's earlier runs served."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "plans_warm", "--seconds", str(365 * 86400)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py plans_warm failed:\n{result.stdout}{result.stderr}")
    print(f"warmed: {result.stdout.strip()} ({time.perf_counter() - started:.1f} s with start-up)")


def django_setup(args: argparse.Namespace) -> None:
    os.environ.update(
        loadtools.app_env(
            settings=SETTINGS,
            database_url=os.environ["DATABASE_URL"],
            var_dir=args.var_dir,
            HOMEPAGE_CANDIDATES=args.candidates,
            HOMEPAGE_ROW_SIZE=str(args.row_size),
        )
    )
    import django

    django.setup()


def prepare(args: argparse.Namespace) -> dict:
    """A fresh database with the world, its activity and a production model; the clients'
    tokens and member ids (also written to the var folder for --reuse)."""
    import numpy as np
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from catalog.models import Title
    from events.models import Interaction
    from members.models import Member, MyListEntry
    from modeling.services import retrain_execute, retrain_run_create
    from simulator.world import World

    loadtools.database_recreate(os.environ["DATABASE_URL"])
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    world = World.generate(n_titles=args.titles, n_members=args.members, seed=args.seed)
    world.save(args.var_dir / "world")
    call_command("seed_world", str(args.var_dir / "world"), verbosity=0)

    rng = np.random.default_rng(args.seed)
    members = list(Member.objects.filter(is_kids=False).select_related("account"))
    title_pk = dict(Title.objects.values_list("external_id", "pk"))
    runtime = dict(Title.objects.values_list("pk", "runtime_minutes"))
    now = datetime.now(UTC)
    catalogue = np.array([title_pk[t.external_id] for t in world.titles])
    playable = world.available(now - timedelta(days=28))  # nobody plays a title before it exists
    index = {(m.username, m.name): i for i, m in enumerate(world.members)}
    facts, saved = [], []
    for member in members:
        # Plays follow the member's hidden tastes and the titles' popularity, as the
        # simulator's members choose: a personalized model has something to learn.
        logits = 3.0 * world.affinity(index[(member.account.username, member.name)])
        logits += np.log(world.popularity)
        p = np.where(playable, np.exp(logits - logits.max()), 0.0)
        picks = catalogue[rng.choice(len(catalogue), size=args.plays, p=p / p.sum())]
        days = np.sort(rng.uniform(0.01, 28, size=args.plays))[::-1]
        for title, day in zip(picks, days, strict=True):
            facts.append(
                Interaction(
                    event_id=uuid.uuid4(),
                    type=Interaction.Type.PLAY,
                    member=member,
                    title_id=int(title),
                    watched_seconds=int(60 * runtime[int(title)] * rng.uniform(0.1, 1.0)),
                    occurred_at=now - timedelta(days=float(day)),
                )
            )
        for title in picks[:3]:  # a thumb up for some of what they played
            facts.append(
                Interaction(
                    event_id=uuid.uuid4(),
                    type=Interaction.Type.THUMB_UP,
                    member=member,
                    title_id=int(title),
                    occurred_at=now - timedelta(minutes=5),
                )
            )
        for title in rng.choice(catalogue[playable], size=5, replace=False):
            saved.append(MyListEntry(member=member, title_id=int(title)))
    Interaction.objects.bulk_create(facts, batch_size=5000)
    MyListEntry.objects.bulk_create(saved, batch_size=5000, ignore_conflicts=True)
    print(
        f"set-up: {len(catalogue)} titles, {len(members)} adult members, {len(facts)} facts "
        f"({time.perf_counter() - started:.1f} s)",
        flush=True,
    )
    started = time.perf_counter()
    run = retrain_execute(run_id=retrain_run_create(trigger="bench").pk, at=now)
    if run.status != "succeeded" or run.promoted is None:
        raise SystemExit(f"retrain did not promote a model: {run.status} {run.error}")
    print(
        f"retrain: promoted v{run.promoted.pk} ({run.promoted.kind}) of {args.candidates} "
        f"({time.perf_counter() - started:.1f} s)",
        flush=True,
    )
    clients = [
        {"token": Token.objects.get_or_create(user=m.account)[0].key, "member": m.pk}
        for m in members
    ]
    fixture = {"titles": len(catalogue), "model": run.promoted.kind, "clients": clients}
    (args.var_dir / "fixture.json").write_text(json.dumps(fixture))
    return fixture


def page_shape(fixture: dict) -> str:
    """Rows and slots of a sample page, through the platform's own code."""
    from django.test import Client

    client = Client()
    first = fixture["clients"][0]
    response = client.get(
        f"/api/v1/members/{first['member']}/homepage", HTTP_AUTHORIZATION=f"Token {first['token']}"
    )
    if response.status_code != 200:
        raise SystemExit(f"GET homepage answered {response.status_code}: {response.content[:300]}")
    rows = response.json()["rows"]
    sizes = [len(r["items"]) for r in rows]
    return (
        f"page: {len(rows)} rows, {sum(sizes)} slots {sizes}, {len(response.content) / 1000:.1f} "
        f"kB, model {response.json()['model_version']}"
    )


def cprofile(fixture: dict, pages: int) -> None:
    """Where the time of `pages` homepages goes, in this process (Django's test client)."""
    from django.test import Client

    client = Client()
    paths = [
        (f"/api/v1/members/{c['member']}/homepage", f"Token {c['token']}")
        for c in fixture["clients"]
    ]
    client.get(paths[0][0], HTTP_AUTHORIZATION=paths[0][1])  # load the model
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(pages):
        path, auth = paths[i % len(paths)]
        client.get(path, HTTP_AUTHORIZATION=auth)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"in-process: {pages} pages, {1000 * wall / pages:.1f} ms a page, of which "
        f"{1000 * cpu / pages:.1f} ms CPU in this process ({loadtools.load_average()})"
    )
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for i in range(pages):
        path, auth = paths[i % len(paths)]
        client.get(path, HTTP_AUTHORIZATION=auth)
    profiler.disable()
    elapsed = time.perf_counter() - started
    print(f"cProfile: {pages} pages, {1000 * elapsed / pages:.1f} ms a page (profiler on)")
    stats = pstats.Stats(profiler).sort_stats("cumulative")
    stats.print_stats(35)
    stats.sort_stats("tottime").print_stats(25)


def py_spy(pids: list[int], seconds: float, out: Path) -> list[subprocess.Popen]:
    spy = loadtools.BIN / "py-spy"
    if not spy.exists():
        raise SystemExit("py-spy is not installed: pip install -r requirements-dev.txt")
    for old in out.glob("py-spy-*.txt"):  # an earlier run's workers: not this run's samples
        old.unlink()
    return [
        subprocess.Popen(
            [str(spy), "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate"]
            + [
                "200",
                "--format",
                "raw",
                "--output",
                str(out / f"py-spy-{pid}.txt"),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in pids
    ]


def py_spy_report(out: Path, top: int = 30) -> None:
    """Self and inclusive samples per function over the collapsed stacks py-spy wrote."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for path in out.glob("py-spy-*.txt"):
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack:
                continue
            n = int(count)
            total += n
            frames = stack.split(";")
            for frame in set(frames):
                inclusive[frame] = inclusive.get(frame, 0) + n
            own[frames[-1]] = own.get(frames[-1], 0) + n
    if not total:
        print("py-spy: no samples")
        return
    print(f"py-spy: {total} samples over the web workers")
    print("  inclusive %   function")
    for frame, n in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {100 * n / total:10.1f}   {frame}")
    print("  self %   function")
    for frame, n in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {100 * n / total:7.1f}   {frame}")


def pages_planned(*, since: datetime) -> str:
    """How many of the pages logged since `since` were served from a plan (homepage.plans),
    how old their plans were, and each kind's mean build time (PageView.build_ms)."""
    from django.db.models import Avg

    from events.models import PageView

    pages = PageView.objects.filter(served_at__gte=since)
    ages = sorted(
        (served - planned).total_seconds()
        for served, planned in pages.filter(planned_at__isnull=False).values_list(
            "served_at", "planned_at"
        )
    )
    total = pages.count()
    if not total:
        return "pages: none logged"
    computed = pages.filter(planned_at__isnull=True).aggregate(ms=Avg("build_ms"))["ms"] or 0
    planned = pages.filter(planned_at__isnull=False).aggregate(ms=Avg("build_ms"))["ms"] or 0
    median = f", plan age median {ages[len(ages) // 2]:.1f} s" if ages else ""
    return (
        f"pages: {total}, {len(ages)} from a plan ({100 * len(ages) / total:.0f}%){median}; "
        f"build time mean: computed {computed:.1f} ms, from a plan {planned:.1f} ms"
    )


def measure(args: argparse.Namespace, fixture: dict) -> int:
    port = loadtools.free_port()
    base_url = f"http://127.0.0.1:{port}"
    from django.conf import settings

    plan_seconds = (
        settings.HOMEPAGE_PLAN_SECONDS if args.plan_seconds is None else args.plan_seconds
    )
    refresh_seconds = (
        settings.HOMEPAGE_PLAN_REFRESH_SECONDS
        if args.plan_refresh_seconds is None
        else args.plan_refresh_seconds
    )
    env = loadtools.app_env(
        settings=SETTINGS,
        database_url=os.environ["DATABASE_URL"],
        var_dir=args.var_dir,
        HOMEPAGE_ROW_SIZE=str(args.row_size),
        HOMEPAGE_PLAN_SECONDS=str(plan_seconds),
        HOMEPAGE_PLAN_REFRESH_SECONDS=str(refresh_seconds),
        HOMEPAGE_PLAN_CACHE_URL=args.plan_cache or "",
    )
    if args.plan_cache:
        plans_shared_forget(args.plan_cache)
    if args.warm_plans:
        plans_warm(env)
    argv = loadtools.gunicorn_argv(
        port=port, workers=args.workers, worker_class=args.worker_class, threads=args.threads
    )
    requests = [
        (f"/api/v1/members/{c['member']}/homepage", f"Token {c['token']}")
        for c in fixture["clients"]
    ]
    homepage = [loadtools.Target(tuple(requests[i :: args.clients])) for i in range(args.clients)]
    server = "gthread" if args.worker_class == "gthread" else "sync"
    print(
        f"server: gunicorn {args.workers} {server} workers"
        + (f" x {args.threads} threads" if server == "gthread" else "")
        + f"; {args.clients} clients in {args.client_processes} processes; {args.rounds} rounds of "
        f"{args.seconds:.0f} s per endpoint after {args.warmup:.0f} s warm-up; plans serve "
        f"for {plan_seconds:g} s (HOMEPAGE_PLAN_SECONDS), refreshed {refresh_seconds:g} s "
        "before (HOMEPAGE_PLAN_REFRESH_SECONDS), "
        + (f"shared in {args.plan_cache}" if args.plan_cache else "each process its own"),
        flush=True,
    )
    log = args.var_dir / "gunicorn.log"
    with loadtools.running(argv, env=env, log=log) as web:
        try:
            loadtools.wait_for_http(f"{base_url}/bench/bare?bytes=100", web)
        except RuntimeError as exc:
            raise SystemExit(f"{exc}:\n{log.read_text()[-3000:]}") from None
        driver = loadtools.Driver(base_url, processes=args.client_processes)
        try:
            warm = driver.run(homepage, args.warmup)
            if not warm.ok:
                raise SystemExit(f"no homepage answered in the warm-up: {warm.error_samples}")
            size = int(warm.body_bytes / warm.ok)
            bare = [loadtools.Target(((f"/bench/bare?bytes={size}", None),))] * args.clients
            endpoints = [("homepage", homepage), ("bare", bare)]
            if args.floor:
                floors = [
                    (f"/bench/floor/{c['member']}?bytes={size}", f"Token {c['token']}")
                    for c in fixture["clients"]
                ]
                floor = [
                    loadtools.Target(tuple(floors[i :: args.clients])) for i in range(args.clients)
                ]
                endpoints.insert(1, ("floor", floor))
            for _, targets in endpoints[1:]:
                driver.run(targets, args.warmup)
            print(f"warm-up: homepage {warm.line('')}; bare endpoint answers {size} bytes")
            results: dict[str, list[loadtools.Readings]] = {name: [] for name, _ in endpoints}
            cpu: dict[str, dict[str, float]] = {name: {"web": 0.0, "db": 0.0} for name in results}
            meter = loadtools.CpuMeter(web.pid, urlparse(os.environ["DATABASE_URL"]).path[1:])
            for round_ in range(args.rounds):
                spies = []
                if args.py_spy and round_ == 0:
                    spies = py_spy(loadtools.children(web.pid), args.seconds, args.var_dir)
                for name, targets in endpoints:
                    started = datetime.now(UTC)
                    meter.start()
                    readings = driver.run(targets, args.seconds)
                    for part, seconds in meter.stop().items():
                        cpu[name][part] += seconds
                    results[name].append(readings)
                    print(
                        f"round {round_ + 1}: {readings.line(name)}  ({loadtools.load_average()})"
                    )
                    if name == "homepage":
                        print("    " + pages_planned(since=started))
                    for sample in readings.error_samples:
                        print(f"    error: {sample}")
                for spy in spies:
                    spy.wait()
        finally:
            driver.close()
    total = {
        name: loadtools.Readings.combine(parts, seconds=sum(p.seconds for p in parts))
        for name, parts in results.items()
    }
    print(f"all rounds ({loadtools.load_average()}):")
    for name, readings in total.items():
        print("  " + readings.line(name))
    print("server CPU per request (web workers + PostgreSQL backends, whatever else runs):")
    capacity = {}
    for name, readings in total.items():
        web_ms, db_ms = (1000 * cpu[name][part] / max(readings.ok, 1) for part in ("web", "db"))
        capacity[name] = 1000 * (os.cpu_count() or 1) / (web_ms + db_ms)
        print(
            f"  {name:<9} web {web_ms:6.2f} ms + db {db_ms:6.2f} ms = {web_ms + db_ms:6.2f} ms; "
            f"{os.cpu_count()} idle cores would serve about {capacity[name]:,.0f} req/s"
        )
    print(f"  capacity ratio homepage / bare: {capacity['homepage'] / capacity['bare']:.3f}")
    if args.floor:
        print(
            f"  capacity ratio floor / bare: {capacity['floor'] / capacity['bare']:.3f}; "
            f"homepage / floor: {capacity['homepage'] / capacity['floor']:.3f}"
        )
        print(
            "throughput ratio floor / bare: "
            f"{total['floor'].rate / max(total['bare'].rate, 1e-9):.3f}; homepage / floor: "
            f"{total['homepage'].rate / max(total['floor'].rate, 1e-9):.3f}"
        )
    ratio = total["homepage"].rate / total["bare"].rate if total["bare"].rate else float("nan")
    p99 = total["homepage"].percentile(99)
    print(
        f"throughput ratio homepage / bare: {ratio:.3f} (goal >= 0.5: "
        f"{'met' if ratio >= 0.5 else 'not met'}); homepage p99 {p99:.1f} ms (goal <= 100 ms: "
        f"{'met' if p99 <= 100 else 'not met'})"
    )
    if args.py_spy:
        py_spy_report(args.var_dir)
    return 1 if any(readings.errors for readings in total.values()) else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    loadtools.stop_on_sigterm()
    args.var_dir = args.var_dir.resolve()
    args.var_dir.mkdir(parents=True, exist_ok=True)
    django_setup(args)
    stored = args.var_dir / "fixture.json"
    if args.reuse and stored.exists():
        fixture = json.loads(stored.read_text())
        print(f"set-up: reusing {stored} ({fixture['titles']} titles, model {fixture['model']})")
    else:
        if args.reuse:  # the set-up is kept in the var folder of the checkout that made it
            print(f"set-up: --reuse found no {stored}; making a new set-up", flush=True)
        fixture = prepare(args)
    print(page_shape(fixture), flush=True)
    if args.cprofile:
        cprofile(fixture, args.cprofile)
        return 0
    from django.db import connection, connections

    with connection.cursor() as cursor:
        # The planner's statistics, as autovacuum would have gathered them after the set-up's
        # bulk load and the pages of earlier runs (it may be off, as on the reference box;
        # without them the trending correction read a week of plays per page, 7-13 ms).
        cursor.execute("ANALYZE")
    connections.close_all()
    return measure(args, fixture)


if __name__ == "__main__":
    raise SystemExit(main())
