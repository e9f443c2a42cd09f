"""Benchmark: how long one personalized homepage takes to build, at catalogue sizes that matter.

Builds a throw-away platform in a temporary folder (SQLite, or DATABASE_URL if set), seeds a
simulated world of --titles titles, writes --plays plays, trains and promotes a model with the
real retrain service, then times three things for members chosen at random:

- ``rank``: the production model scoring every title for the member from their plays as of
  the request (modeling.ranking; the history is read before the clock starts),
- ``build``: the whole page (catalogue, history, rows, features) and its impression log,
- ``api``: GET /api/v1/members/{id}/homepage through Django's test client, JSON included.

Usage::

    .venv/bin/python scripts/bench_homepage.py --titles 5000 --members 400 --plays 20000

Figures are readings on a shared machine; the load average is printed beside them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

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


def plays_seed(
    *,
    members: list[int],
    titles: list[tuple[int, int]],
    plays: int,
    rng: np.random.Generator,
    now: datetime,
) -> None:
    """Store `plays` plays of the last four weeks: titles ((pk, runtime minutes), in catalogue
    order) by power-law popularity, members uniformly, watch fractions 0.1-1."""
    from events.models import Interaction

    weights = 1.0 / np.arange(1, len(titles) + 1) ** 0.8  # power-law popularity
    picks = rng.choice(len(titles), size=plays, p=weights / weights.sum())
    Interaction.objects.bulk_create(
        [
            Interaction(
                event_id=uuid.uuid4(),
                type=Interaction.Type.PLAY,
                member_id=members[rng.integers(len(members))],
                title_id=titles[t][0],
                watched_seconds=int(60 * titles[t][1] * rng.uniform(0.1, 1.0)),
                occurred_at=now - timedelta(days=float(rng.uniform(0.01, 28))),
            )
            for t in picks
        ],
        batch_size=2000,
    )


def bench_django(prefix: str, *, sqlite: bool = True, **env: str) -> Path:
    """Django set up for a bench in-process: a fresh scratch folder (returned) as the var
    folder, the local settings, DEBUG off, `env` set; an empty SQLite database there, or,
    with `sqlite` False, DATABASE_URL's when it is set."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ.update(env, HOMEPAGE_VAR_DIR=str(workdir))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ["DJANGO_DEBUG"] = "0"  # DEBUG records every query: not what serving does
    if sqlite:
        os.environ.pop("DATABASE_URL", None)

    import django

    django.setup()
    return workdir


def bench_world(args, workdir: Path) -> tuple[np.random.Generator, list[int], datetime]:
    """The benches' shared set-up, in the configured (empty) database: migrated, a simulated
    world of `args.titles` titles and `args.members` members seeded, and `args.plays` plays
    stored (`plays_seed`). Returns the seeded generator, the adult members' ids and "now"."""
    from django.core.management import call_command

    from catalog.models import Title
    from members.models import Member
    from simulator.world import World

    call_command("migrate", verbosity=0)
    world = World.generate(n_titles=args.titles, n_members=args.members, seed=args.seed)
    world.save(workdir / "world")
    call_command("seed_world", str(workdir / "world"), demo_password="bench-password", verbosity=0)
    rng = np.random.default_rng(args.seed)
    members = list(Member.objects.filter(is_kids=False).values_list("pk", flat=True))
    titles = list(Title.objects.values_list("pk", "runtime_minutes"))
    now = datetime.now(UTC)
    start = time.perf_counter()
    plays_seed(members=members, titles=titles, plays=args.plays, rng=rng, now=now)
    print(
        f"setup: {args.titles} titles, {len(members)} adult members, {args.plays} plays "
        f"({time.perf_counter() - start:.1f} s to write)"
    )
    return rng, members, now


def world_args(
    doc: str, *, members: int, plays: int, pages: int, pages_help: str
) -> argparse.ArgumentParser:
    """A parser with the options `bench_world` reads (--titles, --members, --plays, --seed)
    and --pages, with a bench's own defaults; `doc` is the script's docstring."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--titles", type=positive_int, default=5000, help="catalogue size")
    parser.add_argument("--members", type=positive_int, default=members, help="simulated members")
    parser.add_argument("--plays", type=positive_int, default=plays, help="plays in the log")
    parser.add_argument("--pages", type=positive_int, default=pages, help=pages_help)
    parser.add_argument("--seed", type=int, default=0)
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = world_args(
        __doc__, members=400, plays=20000, pages=100, pages_help="pages timed per stage"
    )
    parser.add_argument("--candidates", default="mf", help="model kinds to train, comma-separated")
    return parser.parse_args(argv)


def report(name: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    print(f"{name:<6} median {statistics.median(ms):8.2f} ms   p95 {p95:8.2f} ms   n={len(ms)}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = bench_django("bench-homepage-", sqlite=False, HOMEPAGE_CANDIDATES=args.candidates)

    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from catalog.selectors import titles_on_offer
    from events.selectors import play_history
    from homepage.services import homepage_build
    from members.models import Member
    from modeling.ranking import rank_for_member
    from modeling.selectors import production_version
    from modeling.services import retrain_execute, retrain_run_create

    setup_test_environment()
    rng, members, now = bench_world(args, workdir)

    start = time.perf_counter()
    run = retrain_execute(run_id=retrain_run_create(trigger="bench").pk, at=now)
    print(f"retrain: {run.status}, promoted={run.promoted} ({time.perf_counter() - start:.1f} s)")
    if run.status != "succeeded":
        print(f"retrain failed: {run.error}", file=sys.stderr)
        return 1

    sample = [Member.objects.get(pk=m) for m in rng.choice(members, size=args.pages)]
    rank_for_member(
        version=production_version(), member_id=sample[0].pk, at=now, popularity={}
    )  # load the checkpoint
    timings: dict[str, list[float]] = {"rank": [], "build": [], "api": []}
    for member in sample:
        offer = titles_on_offer(at=now).titles
        history = [(p.title_id, p.occurred_at) for p in play_history(member_id=member.pk, at=now)]
        t0 = time.perf_counter()
        rank_for_member(
            version=production_version(),
            member_id=member.pk,
            at=now,
            popularity={},
            history=history,
            catalog=offer,
        )
        timings["rank"].append(time.perf_counter() - t0)
    for member in sample:
        t0 = time.perf_counter()
        homepage_build(member=member, at=now)
        timings["build"].append(time.perf_counter() - t0)
    client = Client()
    client.login(username="demo", password="bench-password")
    demo_members = list(
        Member.objects.filter(account__username="demo").values_list("pk", flat=True)
    )
    for i in range(args.pages):
        t0 = time.perf_counter()
        response = client.get(f"/api/v1/members/{demo_members[i % len(demo_members)]}/homepage")
        timings["api"].append(time.perf_counter() - t0)
        if response.status_code != 200:
            print(f"GET homepage answered {response.status_code}: {response.content[:300]!r}")
            return 1
    print(f"load average {os.getloadavg()[0]:.2f}, database {connection.vendor}")
    for name, seconds in timings.items():
        report(name, seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
