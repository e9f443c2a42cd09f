"""Explorer benchmark: all the exploration of one homepage, in milliseconds per page.

    OPENBLAS_NUM_THREADS=1 python -m recommender.bandits.bench [--titles 5000] [--pool 200]
        [--pages 300] [--draws 200] [--seed 0] [--evict-mb 0]

One BLAS thread, as a serving worker process should run: the products here are small, and
a multi-threaded BLAS on a busy 2-core box stalls for milliseconds waiting for its threads
(a (200, 36) x (36, 1000) product measured 30 ms with the default threads against 0.5 ms
with one, in the same conditions).

One page's exploration is three decisions, timed together and apart, each with the policy
state of a platform that has run a while (updated from ``--train-rows`` 20,000 logged rows:
most titles and variants have per-arm state, the slow case):

1. **Exploration slots**: 3 positions out of the ``--titles`` scored titles. Either
   ``epsilon_greedy`` over all of them (the model's scores), or ``thompson_hybrid`` over a
   pool of ``--pool`` (200) candidates: the new arrivals and the titles the model is least
   sure about, which the platform preselects from the same scores. Its title features and
   member context are built inside the timing (:mod:`recommender.bandits.contexts`).
2. **Row order**: a ranking of all 10 row kinds by ``linucb`` (disjoint per kind), or by
   ``softmax`` over the row scores.
3. **Artwork**: one of 4 variants for each of the page's 250 titles, one batched
   ``choose_each`` of ``thompson_hybrid`` over one-hot styles (or ``linucb_hybrid``).

Thompson sampling's Monte Carlo propensities (``draws``, default 200) are included. Each
page draws a new member context; the median and 95th percentile over ``--pages`` pages of
the wall time and of the thread's CPU time are printed, with the load average (the machine
is shared).

**Warm and cold.** Back to back, a decision finds its code and data in the CPU's caches.
In a served page it does not: the row builders in between walk thousands of titles and
evict them. ``--evict-mb N`` reads an N MB buffer before each timed decision (outside the
timing), and prints each figure both ways, so the difference is measured, not guessed
(docs/benchmarks.md, the explorer's cost per page).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

import numpy as np

from recommender.bandits import Candidates, Feedback, make_policy
from recommender.bandits.contexts import member_context, one_hot, title_features
from recommender.bandits.thompson import DRAWS

T0 = 1_700_000_000.0
ROW_KINDS = 10
VARIANTS = 4
PAGE_TITLES = 250
SLOTS = 3
EMBEDDING = 32


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


class Page:
    """The world one page is chosen in: titles, their scores and metadata, trained policies."""

    def __init__(
        self, titles: int, pool: int, rng: np.random.Generator, draws: int, rows: int
    ) -> None:
        self.rng = rng
        self.draws = draws
        self.titles = titles
        self.pool = pool
        self.ids = np.arange(titles, dtype=np.int64)
        self.added_at = T0 - rng.exponential(400, titles) * 86_400
        self.year = 2023 - rng.exponential(10, titles).round()
        self.embedding_of = rng.normal(size=(1000, EMBEDDING))
        self.variant_ids = np.arange(titles * VARIANTS, dtype=np.int64)
        self.policies: dict[str, object] = {}
        self.train(rng, rows)

    def context(self) -> np.ndarray:
        member = self.rng.integers(len(self.embedding_of))
        t = T0 + self.rng.uniform(0, 7 * 86_400)
        return member_context(t, self.embedding_of[member])

    def train(self, rng: np.random.Generator, rows: int) -> None:
        contexts = np.stack([self.context() for _ in range(rows)])
        rewards = rng.random(rows)
        propensities = np.full(rows, 0.1)
        titles = rng.integers(self.titles, size=rows)
        features = title_features(
            T0, scores=rng.normal(size=rows), added_at=self.added_at[titles], year=self.year[titles]
        )
        slots = make_policy("thompson_hybrid", floor=1e-4, draws=self.draws)
        slots.update(Feedback(contexts, titles, rewards, propensities, features))
        kinds = rng.integers(ROW_KINDS, size=rows)
        rows_policy = make_policy("linucb", floor=1e-3)
        rows_policy.update(Feedback(contexts, kinds, rewards, propensities))
        variants = titles * VARIANTS + rng.integers(VARIANTS, size=rows)
        styles = one_hot(variants % VARIANTS, VARIANTS)
        artwork = {}
        for name, extra in (("thompson_hybrid", {"draws": self.draws}), ("linucb_hybrid", {})):
            artwork[name] = make_policy(name, floor=1e-3, **extra)
            artwork[name].update(Feedback(contexts, variants, rewards, propensities, styles))
        self.policies = {
            "slots:thompson_hybrid": slots,
            "slots:epsilon_greedy": make_policy("epsilon_greedy", epsilon=0.1, floor=1e-5),
            "rows:linucb": rows_policy,
            "rows:softmax": make_policy("softmax", floor=1e-3),
            "artwork:thompson_hybrid": artwork["thompson_hybrid"],
            "artwork:linucb_hybrid": artwork["linucb_hybrid"],
        }

    def inputs(self) -> dict:
        """What the platform hands the explorer for one page (not timed: the model's work)."""
        scores = self.rng.normal(size=self.titles)
        on_page = self.rng.choice(self.titles, PAGE_TITLES, replace=False)
        variants = (on_page[:, None] * VARIANTS + np.arange(VARIANTS)).reshape(-1)
        return {
            "context": self.context(),
            "scores": scores,
            "pool": np.argsort(np.abs(scores))[: self.pool],  # least sure: scores nearest 0
            "row_scores": self.rng.normal(size=ROW_KINDS),
            "variants": variants,
        }

    def slots(self, name: str, page: dict, rng: np.random.Generator) -> None:
        policy = self.policies[f"slots:{name}"]
        if name == "epsilon_greedy":
            policy.choose(page["context"], Candidates(self.ids, scores=page["scores"]), SLOTS, rng)
            return
        pool = page["pool"]
        features = title_features(
            T0, scores=page["scores"][pool], added_at=self.added_at[pool], year=self.year[pool]
        )
        policy.choose(page["context"], Candidates(self.ids[pool], features=features), SLOTS, rng)

    def rows(self, name: str, page: dict, rng: np.random.Generator) -> None:
        candidates = Candidates(np.arange(ROW_KINDS), scores=page["row_scores"])
        self.policies[f"rows:{name}"].choose(page["context"], candidates, ROW_KINDS, rng)

    def artwork(self, name: str, page: dict, rng: np.random.Generator) -> None:
        variants = page["variants"]
        candidates = Candidates(variants, features=STYLES[: len(variants)])
        self.policies[f"artwork:{name}"].choose_each(page["context"], candidates, VARIANTS, rng)


STYLES = one_hot(np.tile(np.arange(VARIANTS), PAGE_TITLES), VARIANTS)


def timed(
    pages: list[dict],
    step: Callable[[dict, np.random.Generator], None],
    evict: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(wall ms, this thread's CPU ms) of ``step`` on each page.

    On a shared box the wall time includes the slices other processes take from this one;
    the thread's CPU time does not, so both are printed. ``evict``: a buffer read before
    each page's step, outside its timing (module docstring, "Warm and cold").
    """
    rng = np.random.default_rng(1)
    step(pages[0], rng)  # warm-up
    wall, cpu = np.empty(len(pages)), np.empty(len(pages))
    for i, page in enumerate(pages):
        if evict is not None:
            evict.sum()
        start, start_cpu = time.perf_counter(), time.thread_time()
        step(page, rng)
        wall[i] = (time.perf_counter() - start) * 1e3
        cpu[i] = (time.thread_time() - start_cpu) * 1e3
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recommender.bandits.bench")
    parser.add_argument("--titles", type=int, default=5000)
    parser.add_argument("--pool", type=int, default=200, help="thompson slot candidates")
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--draws", type=int, default=DRAWS, help="Thompson Monte Carlo draws")
    parser.add_argument("--train-rows", type=int, default=20_000, help="logged rows learned")
    parser.add_argument(
        "--evict-mb",
        type=int,
        default=0,
        help="also time each decision after reading a buffer of this many MB (cold caches)",
    )
    args = parser.parse_args(argv)
    if args.titles < PAGE_TITLES or not 1 <= args.pool <= args.titles or args.pages < 2:
        parser.error(f"need --titles >= {PAGE_TITLES}, 1 <= --pool <= --titles, --pages >= 2")
    if args.draws < 1 or args.train_rows < 1:
        parser.error(f"--draws {args.draws}, --train-rows {args.train_rows}: must be >= 1")
    if args.evict_mb < 0:
        parser.error(f"--evict-mb {args.evict_mb}: must be >= 0")
    started = time.perf_counter()
    world = Page(
        args.titles, args.pool, np.random.default_rng(args.seed), args.draws, args.train_rows
    )
    pages = [world.inputs() for _ in range(args.pages)]
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    print(
        f"{args.titles} titles, pool {args.pool}, {args.pages} pages, {args.draws} Thompson "
        f"draws, OPENBLAS_NUM_THREADS={threads}; trained in "
        f"{time.perf_counter() - started:.1f} s; {load()}"
    )
    steps = {
        "slots: epsilon_greedy, 3 of all titles": lambda p, r: world.slots("epsilon_greedy", p, r),
        "slots: thompson_hybrid, 3 of the pool": lambda p, r: world.slots("thompson_hybrid", p, r),
        "rows: linucb, order of 10 kinds": lambda p, r: world.rows("linucb", p, r),
        "rows: softmax, order of 10 kinds": lambda p, r: world.rows("softmax", p, r),
        "artwork: thompson_hybrid, 250 x 4": lambda p, r: world.artwork("thompson_hybrid", p, r),
        "artwork: linucb_hybrid, 250 x 4": lambda p, r: world.artwork("linucb_hybrid", p, r),
    }
    pages_of = {
        "page: thompson slots + linucb rows + thompson artwork": (
            lambda p, r: (
                world.slots("thompson_hybrid", p, r),
                world.rows("linucb", p, r),
                world.artwork("thompson_hybrid", p, r),
            )
        ),
        "page: epsilon slots + softmax rows + linucb artwork": (
            lambda p, r: (
                world.slots("epsilon_greedy", p, r),
                world.rows("softmax", p, r),
                world.artwork("linucb_hybrid", p, r),
            )
        ),
    }
    buffer = np.ones(args.evict_mb * 2**20 // 8) if args.evict_mb else None
    ways = (
        {"": None} if buffer is None else {"warm": None, f"cold ({args.evict_mb} MB read)": buffer}
    )
    for way, evict in ways.items():
        if way:
            print(way)
        print(f"{'':<56}{'wall ms':>20}{'CPU ms':>20}")
        print(f"{'decision':<56}{'median':>10}{'p95':>10}{'median':>10}{'p95':>10}")
        for label, step in {**steps, **pages_of}.items():
            wall, cpu = timed(pages, step, evict)
            figures = [
                np.median(wall),
                np.percentile(wall, 95),
                np.median(cpu),
                np.percentile(cpu, 95),
            ]
            print(f"{label:<56}" + "".join(f"{f:>10.3f}" for f in figures))
    print(load())
    return 0


if __name__ == "__main__":
    sys.exit(main())
