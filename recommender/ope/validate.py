"""Every estimator against an exact truth, over many seeded logs: bias, spread, coverage.

    python -m recommender.ope.validate [--seeds 100] [--bootstrap 200]

Four synthetic worlds from :mod:`recommender.ope.synthetic`, each with a fixed world and a
fresh log per seed:

- ``bandit``: one decision per row, 5 actions, 2,000 rows per log.
- ``page``: pages of 2 x 3 slots under the position-based model, positions randomized,
  4 actions, 500 pages per log.
- ``page-best-first``: the same world, with a target that shows one action per slot, the
  most attractive in the best-examined slots (its slots differ as much as they can).
- ``cascade``: 3 slots scanned top down by members who stop at the first click, 1,000
  slates per log: rewards interact, so estimators assuming they do not are biased.

For each estimator the script prints the mean error over seeds (bias), that error in
standard errors of the mean (``z``; |z| > 3 is a bias the seeds can see), the standard
deviation over seeds (spread), and how often the 95% interval held the truth (coverage).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from recommender.ope.evaluate import OPEConfig, evaluate_policy
from recommender.ope.synthetic import make_bandit, make_cascade, make_page

PAGE_THETA = np.outer(0.7 ** np.arange(2), 0.8 ** np.arange(3))


def worlds() -> dict[str, tuple[object, int]]:
    """name -> (problem with ``sample`` and ``true_value``, log size in rows or slates)."""
    page = make_page(np.random.default_rng(7), theta=PAGE_THETA, n_actions=4, epsilon=0.5)
    m, k, a = page.target.shape
    best = np.argsort(-page.attraction.mean(axis=0))
    best_first = np.zeros((m, k, a))
    best_first[:, np.arange(k), best[np.arange(k) % a]] = 1.0
    return {
        "bandit": (make_bandit(np.random.default_rng(123), n_actions=5), 2000),
        "page": (page, 500),
        "page-best-first": (replace(page, target=best_first), 500),
        "cascade": (make_cascade(np.random.default_rng(7)), 1000),
    }


def run_world(
    problem, size: int, *, seeds: int, replicates: int, progress: Callable[[str], None]
) -> dict[str, dict[str, float]]:
    """Per estimator: bias, z, spread and coverage over ``seeds`` logs."""
    truth = problem.true_value()
    values: dict[str, list[float]] = {}
    covered: dict[str, list[bool]] = {}
    units: dict[str, str] = {}
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        log, target = problem.sample(size, rng)
        report = evaluate_policy(log, target, config=OPEConfig(replicates=replicates), rng=rng)
        slots = len(log) / max(log.n_slates, 1)
        for e in report.estimates:
            wanted = truth if e.unit == "slate" or log.slates is None else truth / slots
            values.setdefault(e.name, []).append(e.value - wanted)
            low, high = e.ci95 if e.ci95 else (math.nan, math.nan)
            covered.setdefault(e.name, []).append(low <= wanted <= high)
            units[e.name] = e.unit
        if seed % 20 == 19:
            progress(f"  {seed + 1} logs")
    out = {}
    for name, errors in values.items():
        x = np.array(errors)
        spread = float(x.std())
        out[name] = {
            "unit": units[name],
            "bias": float(x.mean()),
            "z": float(x.mean() / (spread / math.sqrt(len(x)))) if spread > 0 else 0.0,
            "spread": spread,
            "coverage": float(np.mean(covered[name])),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recommender.ope.validate")
    parser.add_argument("--seeds", type=int, default=100, help="logs per world")
    parser.add_argument("--bootstrap", type=int, default=200, help="replicates per interval")
    parser.add_argument("--worlds", default=",".join(worlds()), help="comma-separated")
    args = parser.parse_args(argv)
    chosen = worlds()
    names = [w for w in args.worlds.split(",") if w]
    unknown = [w for w in names if w not in chosen]
    if unknown or args.seeds < 2 or args.bootstrap < 1:
        parser.error(f"need known worlds ({', '.join(chosen)}), --seeds >= 2, --bootstrap >= 1")
    started = time.perf_counter()
    for name in names:
        problem, size = chosen[name]
        truth = problem.true_value()
        print(f"{name}: true value {truth:.4f} per {'row' if name == 'bandit' else 'slate'}")
        results = run_world(
            problem, size, seeds=args.seeds, replicates=args.bootstrap, progress=print
        )
        print(f"  {'estimator':<15}{'per':<6}{'bias':>9}{'z':>7}{'spread':>9}{'coverage':>10}")
        for estimator, r in results.items():
            print(
                f"  {estimator:<15}{r['unit']:<6}{r['bias']:>+9.4f}{r['z']:>7.1f}"
                f"{r['spread']:>9.4f}{r['coverage']:>10.2f}"
            )
    print(
        f"{args.seeds} seeds per world, {args.bootstrap} bootstrap replicates, "
        f"{time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
