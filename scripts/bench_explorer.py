"""Benchmark: what the explorer adds to building one homepage, at 5,000 titles.

Builds a throw-away platform in a temporary folder (SQLite), seeds a simulated world of
--titles titles and writes --plays plays, then for members chosen at random builds each
page's context once and times, on that same context and in the same run, for each set of
policies below:

- ``plain``: the candidate rows filled into rows (the page without the explorer),
- ``explored``: the same with the explorer's three seams (row order, exploration slots and
  Something different, the artwork of every slot),

back to back for every page, in turn first (--repeat times over the pages), so the
machine's load, which on a shared box moves every figure, reaches both sides alike. Each
side's rows are freed after its timing, outside both. The
difference of the medians is the explorer's cost per page, and beside it the median of
each page's own difference (explored minus plain, the pair timed together), which a load
that changes between pages moves least (the page's query for the configs and the wider
impression rows are not in it; bench_homepage.py times whole pages). Under each line, the
median wall time of each of the explorer's own steps (the page context vector and the
three seams) on the explored pages.

Usage::

    .venv/bin/python scripts/bench_explorer.py --titles 5000 --members 200 --plays 10000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

from bench_homepage import bench_django, bench_world, positive_int, world_args  # noqa: E402  (the same setup as the page bench)

POLICY_SETS = {
    "defaults (make demo)": None,
    "linucb everywhere": {
        "slots": ("linucb", {}),
        "row_order": ("linucb", {}),
        "artwork": ("linucb", {}),
    },
    "hybrid linucb": {
        "slots": ("linucb_hybrid", {}),
        "row_order": ("linucb_hybrid", {}),
        "artwork": ("linucb_hybrid", {}),
    },
    "thompson everywhere": {
        "slots": ("thompson", {}),
        "row_order": ("thompson", {}),
        "artwork": ("thompson", {}),
    },
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = world_args(
        __doc__, members=200, plays=10000, pages=50, pages_help="pages timed per set"
    )
    parser.add_argument(
        "--repeat", type=positive_int, default=1, help="times each page is timed per set"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = bench_django("bench-explorer-")

    import numpy as np
    from django.conf import settings

    from exploration.models import ExplorerConfig
    from exploration.page import (
        artwork_choose,
        page_exploration_start,
        rows_order,
        slots_explore,
    )
    from exploration.services import explorer_defaults_install
    from exploration.serving import explorers_current, reset_cache
    from homepage.builders import candidate_rows
    from homepage.context import page_context_build
    from homepage.rows import rows_fill
    from members.models import Member

    rng, members, now = bench_world(args, workdir)
    sample = [Member.objects.get(pk=m) for m in rng.choice(members, size=args.pages)]
    contexts = [page_context_build(member=m, at=now) for m in sample]
    for ctx in contexts:
        # the unplayed titles as arrays, built once per page by the first builder that
        # ranks them (explorer on or off): built here so neither timed line pays it
        ctx.candidates  # noqa: B018
    size = settings.HOMEPAGE_ROW_SIZE
    print(
        f"{args.titles} titles, {args.plays} plays, {args.pages} pages, row size {size}, "
        f"load average {os.getloadavg()[0]:.2f}, OPENBLAS_NUM_THREADS="
        f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}"
    )

    every_plain, every_plain_cpu, lines = [], [], []
    for name, policies in POLICY_SETS.items():
        ExplorerConfig.objects.all().delete()
        explorer_defaults_install(enabled=True)
        for use, (policy, params) in (policies or {}).items():
            floor = 0.01 if policy.startswith("thompson") else 0.0
            ExplorerConfig.objects.filter(use=use).update(policy=policy, params=params, floor=floor)
        reset_cache()
        explorers = explorers_current()
        plain, plain_cpu, times, cpu, seams, slots = [], [], [], [], [], 0
        for rep in range(args.repeat):
            for i, ctx in enumerate(contexts):
                # the page without the explorer and with it, on the same context, back to
                # back (in turn first): a change in the machine's load reaches both alike
                for explored in (False, True) if (i + rep) % 2 else (True, False):
                    # each side's rows are freed after its timing, not inside the next
                    # page's (the candidate rows hold every unplayed title: freeing them
                    # took some 0.2 ms, which went to the next explored page's row order)
                    built = ordered = rows = None
                    if not explored:
                        t0, c0 = time.perf_counter(), time.thread_time()
                        rows = rows_fill(built := candidate_rows(ctx), size=size)
                        plain.append(time.perf_counter() - t0)
                        plain_cpu.append(time.thread_time() - c0)
                        continue
                    draw = np.random.default_rng(i)
                    t0, c0 = time.perf_counter(), time.thread_time()
                    page = page_exploration_start(ctx)
                    t1 = time.perf_counter()
                    built = candidate_rows(ctx)
                    t2 = time.perf_counter()
                    ordered = rows_order(
                        built, explorer=explorers.get("row_order"), rng=draw, page=page
                    )
                    t3 = time.perf_counter()
                    rows = rows_fill(ordered, size=size)
                    t4 = time.perf_counter()
                    rows = slots_explore(
                        ctx, rows, explorer=explorers.get("slots"), rng=draw, page=page, size=size
                    )
                    t5 = time.perf_counter()
                    artwork_choose(
                        ctx, rows, explorer=explorers.get("artwork"), rng=draw, page=page
                    )
                    t6 = time.perf_counter()
                    times.append(t6 - t0)
                    cpu.append(time.thread_time() - c0)
                    seams.append((t1 - t0, t3 - t2, t5 - t4, t6 - t5))
                    slots += sum(len(r.slots) for r in rows)
                built = ordered = rows = None
        every_plain += plain
        every_plain_cpu += plain_cpu
        base, base_cpu = (statistics.median(x) * 1000 for x in (plain, plain_cpu))
        ms, ms_cpu = (statistics.median(x) * 1000 for x in (times, cpu))
        paired = statistics.median(e - p for e, p in zip(times, plain, strict=True)) * 1000
        paired_cpu = statistics.median(e - p for e, p in zip(cpu, plain_cpu, strict=True)) * 1000
        labels = ", ".join(f"{u}={e.policy.name}" for u, e in sorted(explorers.items()))
        lines.append(
            f"{name:<22} median {ms:7.2f} ms  cpu {ms_cpu:7.2f} ms  (+{ms - base:.2f} ms, "
            f"cpu +{ms_cpu - base_cpu:.2f} ms, against plain {base:.2f} ms in the same loop; "
            f"median of the page pairs' differences +{paired:.2f} ms, cpu +{paired_cpu:.2f} ms; "
            f"{slots / len(times):.0f} slots a page; {labels})"
        )
        split = (statistics.median(column) * 1000 for column in zip(*seams, strict=True))
        lines.append(
            "    seams, median ms: page context {:.2f}, row order {:.2f}, slots {:.2f}, "
            "artwork {:.2f}".format(*split)
        )
    base, base_cpu = (statistics.median(x) * 1000 for x in (every_plain, every_plain_cpu))
    print(f"{'plain':<22} median {base:7.2f} ms  cpu {base_cpu:7.2f} ms  (every loop)")
    for line in lines:
        print(line)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
