"""Benchmark: the explorer's seams of this checkout against another's, in one process.

On a loaded box, two runs of bench_explorer.py (one per checkout) differ by more than a
change of a tenth of a millisecond: the load moves between the runs. This script loads
the explorer's own modules of both checkouts into one process (this one's, and --base's
copies of ``exploration.page``, ``exploration.bandit``, ``recommender.bandits.thompson``,
``recommender.bandits.contexts`` and the ``recommender.features`` functions that one
imports; every other module is this checkout's) and times,
for every page, both sides' four seams (the page context, row order, slots and artwork)
back to back, in turn first, on the same page context, with the same policy
configuration (Thompson sampling everywhere by default, `--policy defaults` for those of
`make demo`; fresh states; the disjoint
Thompson policy is --base's class on its side, every other policy this checkout's on
both) and the same seed.
It prints each side's median per seam and the median of the pages' paired savings (base
minus this), and how many pages gave identical records, slots, propensities and logged
inputs on both sides.

It compares modules, not whole trees: a change elsewhere (the row builders, the page
context) is on both sides. Setup as in bench_explorer.py (SQLite, a seeded world, plays).

Usage::

    git worktree add --detach ../explorer-main main
    OPENBLAS_NUM_THREADS=1 .venv/bin/python scripts/bench_explorer_ab.py --base ../explorer-main
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

from bench_homepage import bench_django, bench_world, positive_int, world_args  # noqa: E402  (the same setup as the page bench)

SEAMS = ("page context", "row order", "slots", "artwork")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = world_args(__doc__, members=40, plays=5000, pages=50, pages_help="pages timed")
    parser.add_argument("--base", type=Path, required=True, help="the other checkout")
    parser.add_argument("--repeat", type=positive_int, default=10, help="times over the pages")
    parser.add_argument(
        "--policy",
        default="thompson",
        help="every use's policy, or 'defaults': the installed defaults (those of make demo)",
    )
    return parser.parse_args(argv)


def _load(name: str, path: Path, package: str | None = None):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    if package:
        module.__package__ = package
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    base_root = args.base.resolve()
    workdir = bench_django("bench-explorer-ab-")

    import numpy as np
    from django.conf import settings

    import recommender.bandits.thompson as this_thompson
    from exploration import page as this_page
    from exploration.models import ExplorerConfig
    from exploration.services import explorer_defaults_install
    from exploration.serving import Explorer, explorers_current, reset_cache
    from homepage.builders import candidate_rows
    from homepage.context import page_context_build
    from homepage.rows import rows_fill
    from members.models import Member

    base_thompson = _load("base_thompson", base_root / "recommender/bandits/thompson.py")
    base_contexts = _load("base_contexts", base_root / "recommender/bandits/contexts.py")
    base_features = _load("base_features", base_root / "recommender/features.py")
    for name in ("cyclic_time", "days_in_catalog", "release_age"):  # what contexts imports
        setattr(base_contexts, name, getattr(base_features, name))
    base_bandit = _load(
        "exploration.base_bandit", base_root / "platform/exploration/bandit.py", "exploration"
    )
    base_bandit.Thompson = base_thompson.Thompson
    base_bandit.SharedNormals = base_thompson.SharedNormals
    base_bandit.bandit_contexts = base_contexts
    base_page = _load(
        "exploration.base_page", base_root / "platform/exploration/page.py", "exploration"
    )
    base_page.bandit = base_bandit

    rng, members, now = bench_world(args, workdir)
    sample = [Member.objects.get(pk=m) for m in rng.choice(members, size=args.pages)]
    contexts = [page_context_build(member=m, at=now) for m in sample]
    for ctx in contexts:
        ctx.candidates  # noqa: B018  (built once a page, explorer on or off)
    size = settings.HOMEPAGE_ROW_SIZE

    explorer_defaults_install(enabled=True)
    if args.policy != "defaults":
        floor = 0.01 if args.policy.startswith("thompson") else 0.0
        ExplorerConfig.objects.update(policy=args.policy, params={}, floor=floor)
    reset_cache()
    this_explorers = explorers_current()

    def rebuilt(explorer: Explorer) -> Explorer:
        """The same config's fresh policy, of the base's class where it has its own."""
        policy = explorer.policy
        if isinstance(policy, this_thompson.Thompson) and not policy.hybrid:
            policy = base_thompson.Thompson(**policy.config)
        return Explorer(explorer.use, explorer.config, policy, None)

    sides = {
        "base": (
            base_page,
            base_thompson.SharedNormals,
            {u: rebuilt(e) for u, e in this_explorers.items()},
        ),
        "this": (this_page, this_thompson.SharedNormals, this_explorers),
    }

    def page_once(side: str, i: int, ctx) -> tuple[tuple[float, ...], tuple]:
        page_module, normals, explorers = sides[side]
        draw = np.random.default_rng(i)
        t0 = time.perf_counter()
        page = page_module.page_exploration_start(ctx)
        page.normals = normals()  # the side's own class (the default is this checkout's)
        t1 = time.perf_counter()
        built = candidate_rows(ctx)
        t2 = time.perf_counter()
        ordered = page_module.rows_order(
            built, explorer=explorers.get("row_order"), rng=draw, page=page
        )
        t3 = time.perf_counter()
        rows = rows_fill(ordered, size=size)  # the page's own step, in neither seam
        t4 = time.perf_counter()
        rows = page_module.slots_explore(
            ctx, rows, explorer=explorers.get("slots"), rng=draw, page=page, size=size
        )
        t5 = time.perf_counter()
        page_module.artwork_choose(
            ctx, rows, explorer=explorers.get("artwork"), rng=draw, page=page
        )
        t6 = time.perf_counter()
        logged = (
            repr(page.record),
            [
                (s.title.id, s.propensity, s.artwork, s.artwork_propensity, repr(s.inputs))
                for row in rows
                for s in row.slots
            ],
        )
        return (t1 - t0, t3 - t2, t5 - t4, t6 - t5), logged

    print(
        f"{args.titles} titles, {args.plays} plays, {args.pages} pages x {args.repeat}, "
        f"policies {', '.join(f'{u}={e.policy.name}' for u, e in sorted(this_explorers.items()))}, "
        f"base {base_root.name}, load average "
        f"{os.getloadavg()[0]:.2f}, OPENBLAS_NUM_THREADS="
        f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}"
    )
    times: dict[str, list[tuple[float, ...]]] = {"base": [], "this": []}
    same = 0
    for rep in range(args.repeat):
        for i, ctx in enumerate(contexts):
            logged = {}
            for side in ("base", "this") if (i + rep) % 2 else ("this", "base"):
                seams, logged[side] = page_once(side, i, ctx)
                times[side].append(seams)
            same += logged["base"] == logged["this"]
    pages = len(times["this"])
    print(f"identical records, slots, propensities and inputs on {same} of {pages} pages")
    for j, name in enumerate((*SEAMS, "all four")):
        base, this = (
            [sum(t) if j == len(SEAMS) else t[j] for t in times[side]] for side in ("base", "this")
        )
        saving = statistics.median(b - t for b, t in zip(base, this, strict=True)) * 1000
        print(
            f"{name:<13} base {statistics.median(base) * 1000:6.3f} ms  this "
            f"{statistics.median(this) * 1000:6.3f} ms  median of the pages' savings "
            f"{saving:+.3f} ms"
        )
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
