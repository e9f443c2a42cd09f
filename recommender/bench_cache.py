"""KV-cache benchmark: serving latency of one more play with and without the cache.

    python -m recommender.bench_cache [--titles 5000] [--lengths 200 1000] [--calls 50]

A SASRec (d=64, 2 blocks, 2 heads, ``position_from="start"``, ``max_len`` = the longest
length) is trained briefly on a synthetic Markov-chain log (the latency does not depend on
what it learned). For each history length L, each of ``--calls`` requests adds one play to
a member's history ending at L plays: "full" scores the whole history
(``model.score(histories=...)``), "cached" reuses the member's :class:`HistoryCache` from
the previous request. Both are timed on one thread, same run, and the largest score gap
between them is printed. The figures are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import torch

from recommender.bench import load, markov_log
from recommender.sasrec import SASRecConfig, SASRecRecommender
from recommender.sasrec_cache import HistoryCache

T0 = 1_700_000_000.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--titles", type=int, default=5000)
    parser.add_argument("--lengths", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args(argv)
    if min(args.lengths) <= args.calls:
        print("--calls must be below every --lengths value", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    longest = max(args.lengths)
    data, walks = markov_log(rng, n_items=args.titles, n_users=200, per_user=longest + 1)
    config = SASRecConfig(
        dim=64,
        blocks=2,
        heads=2,
        max_len=longest,
        position_from="start",
        validation_members=0,
        epochs=1,
        min_steps=1,
        use_metadata=False,
    )
    start = time.perf_counter()
    model = SASRecRecommender(config).fit(data)
    print(f"trained in {time.perf_counter() - start:.1f} s ({load()})")
    titles = [f"i{c}" for c in walks[0]]
    history = [(titles[k], T0 + 3600.0 * k) for k in range(longest)]
    for length in args.lengths:
        first = length - args.calls
        cache = HistoryCache(model)
        cache.scores(history[:first])  # the member's earlier requests filled the cache
        timings = {"full": [], "cached": []}
        gap = 0.0
        for n in range(first + 1, length + 1):
            plays, at = history[:n], history[n - 1][1] + 600.0
            t = time.perf_counter()
            full = model.score(["m"], histories=[plays], at=at)[0]
            timings["full"].append(time.perf_counter() - t)
            t = time.perf_counter()
            cached = cache.scores(plays, at=at)
            timings["cached"].append(time.perf_counter() - t)
            gap = max(gap, float(np.abs(full - cached).max()))
        full_ms, cached_ms = (1e3 * statistics.median(timings[k]) for k in ("full", "cached"))
        print(
            f"history {length}: full {full_ms:.2f} ms, cached {cached_ms:.2f} ms "
            f"(median of {args.calls}; {full_ms / cached_ms:.1f}x), max score gap {gap:.1e}, "
            f"recomputed {cache.recomputed} ({load()})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
