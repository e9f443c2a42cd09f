"""Soak: minutes of simulated traffic with retraining (and bandit updates) every 2 minutes,
sampling the memory of the web and worker processes; 0 errors expected, memory flat.

Sets up a database of its own (DATABASE_URL's name + "_soak", dropped and re-made) with a
simulated world, then runs the stack as compose.yaml does: gunicorn (2 workers x 4 threads),
a Celery worker on Redis (CELERY_BROKER_URL) and the simulator's HTTP client as live traffic
(simulator.client --live). Every --every seconds it sends `modeling.tasks.retrain`, and
`exploration.tasks.update` (the explorer is on with `make demo`'s defaults, so every page has
explored slots, a sampled row order and chosen artwork to learn from). Every --sample seconds it records
the resident memory (RSS) of each web and worker process. At the end it writes
soak-rss.csv and soak-rss.png to --out and prints errors (failed traffic rounds, 5xx in the
access log, retrains that failed) and the RSS at the start and end. Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/homepage_perf \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/15 \\
        .venv/bin/python scripts/soak.py --minutes 10 --out docs/figures
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

from scripts import loadtools  # noqa: E402
from scripts.bench_load import positive_float, positive_int  # noqa: E402

BANDIT_TASK = "exploration.tasks.update"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=positive_float, default=10.0, help="traffic duration")
    parser.add_argument("--every", type=positive_float, default=120.0, help="seconds per retrain")
    parser.add_argument("--sample", type=positive_float, default=5.0, help="seconds per RSS sample")
    parser.add_argument("--titles", type=positive_int, default=1000)
    parser.add_argument("--members", type=positive_int, default=300)
    parser.add_argument("--activity-scale", type=positive_float, default=400.0)
    parser.add_argument("--history-days", type=positive_float, default=3.0, help="before traffic")
    parser.add_argument("--candidates", default="popularity,ease,mf")
    parser.add_argument(
        "--attribution-seconds",
        type=positive_float,
        default=60.0,
        help="the explorer's attribution window (live pages close after it)",
    )
    parser.add_argument("--var-dir", type=Path, default=ROOT / "var" / "soak")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "soak", help="CSV and PNG")
    args = parser.parse_args(argv)
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        parser.error("set DATABASE_URL to a PostgreSQL server (the soak makes its own database)")
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
        parser.error("set CELERY_BROKER_URL to a Redis database of your own")
    return args


def soak_database(url: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path=f"{parts.path}_soak"))


def plot(rows: list[dict], path: Path, retrains: list[float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=110)
    for role in sorted({r["process"] for r in rows}):
        points = [(r["seconds"], r["rss_mib"]) for r in rows if r["process"] == role]
        ax.plot([p[0] / 60 for p in points], [p[1] for p in points], label=role, lw=1.4)
    for i, at in enumerate(retrains):
        ax.axvline(at / 60, color="grey", lw=0.6, ls=":", label="retrain sent" if i == 0 else None)
    ax.set_xlabel("minutes of traffic")
    ax.set_ylabel("RSS (MiB)")
    ax.set_title("Soak: resident memory of web and worker processes")
    ax.legend(fontsize=7, loc="upper left", ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    loadtools.stop_on_sigterm()
    var, out = args.var_dir.resolve(), args.out.resolve()
    var.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    database_url = soak_database(os.environ["DATABASE_URL"])
    loadtools.database_recreate(database_url)
    queue = f"homepage-soak-{uuid.uuid4().hex[:8]}"
    env = loadtools.app_env(
        settings="config.settings.local",
        database_url=database_url,
        var_dir=var,
        CELERY_BROKER_URL=os.environ["CELERY_BROKER_URL"],
        HOMEPAGE_CELERY_QUEUE=queue,
        HOMEPAGE_CANDIDATES=args.candidates,
        HOMEPAGE_ANON_RATE="100000/minute",
        # Live pages are served at wall-clock time: with the default 6-hour attribution window
        # no page of a 10-minute soak would close, and every update after the first would
        # count nothing. A minute lets each update learn from the pages of the minutes before.
        HOMEPAGE_EXPLORATION_ATTRIBUTION_SECONDS=str(args.attribution_seconds),
    )
    manage = [sys.executable, str(ROOT / "manage.py")]
    world = var / "world"
    for step in (
        manage + ["migrate", "--noinput"],
        [sys.executable, "-m", "simulator.world", "--out", str(world)]
        + ["--titles", str(args.titles), "--members", str(args.members)],
        manage + ["seed_world", str(world)],
        manage + ["explorer_on"],
    ):
        subprocess.run(step, env=env, cwd=ROOT, check=True, capture_output=True, timeout=900)
    print(f"set-up: {args.titles} titles, {args.members} members, queue {queue}", flush=True)

    os.environ.update(env)
    import django

    django.setup()
    from config.celery import app
    from exploration.models import BanditState, UpdateRun
    from modeling.models import RetrainRun

    port = loadtools.free_port()
    base_url = f"http://127.0.0.1:{port}"
    web_argv = loadtools.gunicorn_argv(port=port, workers=2, worker_class="gthread", threads=4)
    web_argv += ["--access-logfile", str(var / "access.log")]
    worker_argv = [str(loadtools.BIN / "celery"), "-A", "config", "worker", "--loglevel", "INFO"]
    worker_argv += ["--concurrency", "1", "--queues", queue, "--hostname", f"soak-{port}@%h"]
    seconds = args.minutes * 60
    traffic_argv = [sys.executable, "-m", "simulator.client", "--base-url", base_url]
    traffic_argv += ["--world", str(world), "--live", "--duration", str(seconds)]
    traffic_argv += ["--pause", "5", "--concurrency", "4"]
    traffic_argv += ["--activity-scale", str(args.activity_scale)]

    rows: list[dict] = []
    sent: list[float] = []
    with (
        loadtools.running(web_argv, env=env, log=var / "web.log") as web,
        loadtools.running(worker_argv, env=env, log=var / "worker.log") as worker,
    ):
        loadtools.wait_for_http(f"{base_url}/api/v1/schema/", web)
        # A history and a first model before the live traffic, as `make demo` starts.
        subprocess.run(
            [sys.executable, "-m", "simulator.client", "--base-url", base_url, "--world"]
            + [str(world), "--days", str(args.history_days), "--concurrency", "4"],
            env=env, cwd=ROOT, check=True, capture_output=True, timeout=1200,
        )  # fmt: skip
        app.send_task("modeling.tasks.retrain", queue=queue)
        deadline = time.monotonic() + 900
        while not RetrainRun.objects.filter(status__in=["succeeded", "failed"]).exists():
            if time.monotonic() > deadline or worker.poll() is not None:
                raise SystemExit(f"the first retrain did not finish:\n{loadtools_tail(var)}")
            time.sleep(2)
        first = RetrainRun.objects.get()
        if first.status != "succeeded":
            raise SystemExit(f"the first retrain failed: {first.error}")
        print("first model trained; traffic starts", flush=True)
        with loadtools.running(traffic_argv, env=env, log=var / "traffic.log") as traffic:
            start = time.monotonic()
            next_task = start + args.every
            while traffic.poll() is None:
                now = time.monotonic()
                if now >= next_task and now - start < seconds:
                    app.send_task("modeling.tasks.retrain", queue=queue)
                    app.send_task(BANDIT_TASK, queue=queue)
                    sent.append(now - start)
                    next_task += args.every
                for role, root in (("web", web.pid), ("worker", worker.pid)):
                    for n, pid in enumerate([root, *loadtools.children(root)]):
                        rss = loadtools.rss_bytes(pid)
                        if rss is not None:
                            name = f"{role} {'main' if n == 0 else f'child {n}'}"
                            rows.append(
                                {
                                    "seconds": round(now - start, 1),
                                    "process": name,
                                    "pid": pid,
                                    "rss_mib": round(rss / 2**20, 1),
                                }
                            )
                time.sleep(args.sample)
        traffic_rc = traffic.returncode
        time.sleep(2)

    with open(out / "soak-rss.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["seconds", "process", "pid", "rss_mib"])
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, out / "soak-rss.png", sent)

    traffic_log = (var / "traffic.log").read_text()
    failed_rounds = re.findall(r"round \d+ failed.*", traffic_log)
    visits = sum(int(v) for v in re.findall(r"round \d+: (\d+) visits", traffic_log))
    plays = sum(int(v) for v in re.findall(r"round \d+: \d+ visits, (\d+) plays", traffic_log))
    access = (var / "access.log").read_text().splitlines()
    server_errors = [line for line in access if re.search(r'" 5\d\d ', line)]
    runs = list(RetrainRun.objects.order_by("id").values_list("status", "error"))
    # A retrain that finds no play newer than production's refuses, correctly: not an error.
    idle = [e for s, e in runs if s == "failed" and "nothing new to learn" in e]
    failed = [e for s, e in runs if s == "failed" and "nothing new to learn" not in e]
    succeeded = sum(s == "succeeded" for s, _ in runs)
    print(
        f"traffic: {visits} visits, {plays} plays in {args.minutes:g} min; {len(access)} "
        f"requests; exit {traffic_rc}"
    )
    print(
        f"errors: {len(failed_rounds)} failed traffic rounds, {len(server_errors)} 5xx answers, "
        f"{len(failed)} failed retrains; retrains: {succeeded} succeeded, {len(idle)} found "
        f"nothing new, of {len(runs)} ({len(sent)} sent during traffic)"
    )
    updates = list(UpdateRun.objects.order_by("id").values_list("status", "error"))
    failed_updates = [e for s, e in updates if s != "succeeded"]
    states = BanditState.objects.values_list("use", flat=True)
    print(
        f"bandit updates: {len(updates) - len(failed_updates)} succeeded, "
        f"{len(failed_updates)} failed or unfinished, of {len(updates)}; states saved per use: "
        + ", ".join(f"{u} {list(states).count(u)}" for u in sorted(set(states)))
    )
    for line in (failed_rounds + server_errors + failed + failed_updates)[:5]:
        print(f"    {line}")
    print("RSS (MiB) first / last sample:")
    for role in sorted({r["process"] for r in rows}):
        series = [r["rss_mib"] for r in rows if r["process"] == role]
        print(f"  {role:<16} {series[0]:7.1f} / {series[-1]:7.1f}  (max {max(series):.1f})")
    print(f"wrote {out / 'soak-rss.csv'} and {out / 'soak-rss.png'}")
    errors = len(failed_rounds) + len(server_errors) + len(failed) + len(failed_updates)
    errors += traffic_rc != 0
    return 0 if errors == 0 else 1


def loadtools_tail(var: Path) -> str:
    return (var / "worker.log").read_text()[-3000:] if (var / "worker.log").exists() else ""


if __name__ == "__main__":
    raise SystemExit(main())
