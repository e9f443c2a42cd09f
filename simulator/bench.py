"""Benchmark of the vectorized runner: page visits per second, with every mechanism on.

Times each visit's device draw (:meth:`~simulator.behaviour.Population.draw_devices`) and
:meth:`~simulator.behaviour.Population.visit` (the visit's context: daypart, device, time
away and shows in progress; examination, abandonment, choice, search, watching, thumbs, and
the state updates: satiation, drift, satisfaction, churn) on batches of distinct members viewing pages of ``rows`` x ``slots`` distinct titles. Page
composition is a policy's cost and is not timed: pages are drawn once, up front. Members
who churn are restored, so the batch stays full. The machine is shared, so the load average
is printed with the figure: re-take it when the load is low.

Usage::

    python -m simulator.bench [--titles 5000] [--members 20000] [--rows 10] [--slots 20]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from simulator.arguments import number
from simulator.behaviour import BehaviourConfig, Population
from simulator.world import World


def measure(
    world: World, *, rows: int, slots: int, batch: int, seconds: float, seed: int = 0
) -> tuple[float, int]:
    """(visits per second, visits timed) of batched visits for about ``seconds``."""
    rng = np.random.default_rng(seed)
    population = Population(world, BehaviourConfig())
    n_pages = 64
    pages = np.stack(
        [rng.choice(world.n_titles, rows * slots, replace=False) for _ in range(n_pages)]
    ).reshape(n_pages, rows, slots)
    at = np.full(batch, world.now.timestamp())
    groups = [
        np.arange(lo, lo + batch) % world.n_members for lo in range(0, world.n_members, batch)
    ]
    k = 0

    def step() -> None:
        nonlocal k
        members = groups[k % len(groups)]
        population.reset(members[population.churned[members]])
        page = pages[rng.integers(n_pages, size=batch)]
        devices = population.draw_devices(members, at, rng)  # as the runner draws them
        population.visit(members, page, rng, at=at, devices=devices)
        k += 1

    for _ in range(3):  # warm up
        step()
    visits, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        step()
        visits += batch
    return visits / (time.perf_counter() - started), visits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m simulator.bench",
        description="Page visits per second of the vectorized population runner.",
    )
    parser.add_argument("--titles", type=number(int, minimum=1), default=5000)
    parser.add_argument("--members", type=number(int, minimum=1), default=20000)
    parser.add_argument("--rows", type=number(int, minimum=1), default=10)
    parser.add_argument("--slots", type=number(int, minimum=1), default=20)
    parser.add_argument("--batch", type=number(int, minimum=1), default=4096, help="visits/batch")
    parser.add_argument(
        "--seconds", type=number(float, minimum=0, inclusive=False), default=5.0, help="duration"
    )
    parser.add_argument("--seed", type=number(int, minimum=0), default=0)
    args = parser.parse_args(argv)
    if args.rows * args.slots > args.titles:
        parser.error(
            f"argument --titles: a page of {args.rows} x {args.slots} needs at least "
            f"{args.rows * args.slots} titles, got {args.titles}"
        )
    if args.batch > args.members:
        parser.error(
            f"argument --batch: a batch holds distinct members, at most --members "
            f"({args.members}), got {args.batch}"
        )
    world = World.generate(args.titles, args.members, args.seed)
    load_before = os.getloadavg()
    rate, visits = measure(
        world, rows=args.rows, slots=args.slots, batch=args.batch, seconds=args.seconds
    )
    load_after = os.getloadavg()
    print(
        f"{rate:,.0f} page visits/s ({visits:,} visits, {args.rows} x {args.slots} pages, "
        f"{args.titles} titles, {args.members} members, batch {args.batch}, 1 process); "
        f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
        f"on {os.cpu_count()} cores"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
