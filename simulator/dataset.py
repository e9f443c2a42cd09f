"""Write a simulated interaction log as CSV, for offline recommender experiments.

The members of a generated world use the service for ``--days`` days, in-process (the
vectorized :class:`~simulator.runner.PopulationRunner`), under a fixed logging policy
(:class:`~simulator.runner.LoggingPolicy`: half the pages a popularity-weighted random ranking,
half uniformly random, so every title can be exposed but popular ones are exposed most, as
on a real service). The period ends at the world's ``now`` and starts ``--days`` before it,
so the titles added in that window arrive during the log: items.csv lists them with their
``added_at`` and they have no plays before it (cold start).

Output, in ``--out``:

- ``interactions.csv``: ``user_id,item_id,timestamp,weight,device``, one row per play (from
  the page or found by search), sorted by time; ``timestamp`` unix seconds, ``weight`` the
  watched fraction (> 0), a noisy proxy of how much the member liked it, ``device`` the
  device the visit came from (one of ``simulator.world.DEVICES``: tv, phone, tablet,
  desktop), what a homepage request carries.
- ``items.csv``: ``item_id,genres,year,text,maturity,added_at,runtime,series,episode``;
  ``genres`` ``|``-separated, ``year`` the release year, ``text`` the synopsis, ``added_at``
  unix seconds, ``runtime`` minutes (one episode for a series), ``series`` the show an
  episode belongs to and ``episode`` its number from 1 (both blank for a movie).

``--context-strength`` sets ``BehaviourConfig.context_strength``: how much what members play
depends on the hour, the device, the time away and a series in progress (0: not at all).

Usage::

    python -m simulator.dataset --out var/data --titles 5000 --members 10000 --days 30 --seed 0
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

from simulator.arguments import iso_time, number
from simulator.behaviour import BehaviourConfig
from simulator.env import DEFAULT_WORLD_NOW
from simulator.runner import LoggingPolicy, PopulationRunner
from simulator.world import DEVICES, World

INTERACTIONS_HEADER = ("user_id", "item_id", "timestamp", "weight", "device")
ITEMS_HEADER = (
    "item_id",
    "genres",
    "year",
    "text",
    "maturity",
    "added_at",
    "runtime",
    "series",
    "episode",
)


def simulate_dataset(
    world: World,
    *,
    days: int,
    seed: int = 0,
    rows: int = 4,
    slots: int = 10,
    popular_share: float = 0.5,
    config: BehaviourConfig | None = None,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Run the logging policy for ``days`` days; returns the plays (see ``VisitLog.plays``)."""
    runner = PopulationRunner(world, config, rows=rows, slots=slots, days=days, seed=seed)
    policy = LoggingPolicy(world, rows=rows, slots=slots, popular_share=popular_share)
    return runner.run(policy, progress=progress, desc="simulating days").plays()


def write_dataset(world: World, plays: dict[str, np.ndarray], out: Path) -> tuple[Path, Path]:
    """Write interactions.csv and items.csv to ``out`` (created if needed)."""
    out.mkdir(parents=True, exist_ok=True)
    order = np.lexsort((plays["member"], plays["at"]))
    keys = np.array([m.key for m in world.members], dtype=object)
    ids = np.array([t.external_id for t in world.titles], dtype=object)
    # A play starts a few seconds after the visit; the timestamp is that whole second.
    stamps = plays["at"][order].astype(np.int64)
    weights = np.maximum(plays["watched_fraction"][order], 1e-6)
    devices = np.array(DEVICES, dtype=object)[plays["device"][order]]
    interactions = out / "interactions.csv"
    with interactions.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(INTERACTIONS_HEADER)
        writer.writerows(
            zip(
                keys[plays["member"][order]],
                ids[plays["title"][order]],
                stamps.tolist(),
                [f"{x:.6g}" for x in weights],
                devices,
                strict=True,
            )
        )
    items = out / "items.csv"
    with items.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(ITEMS_HEADER)
        for t in world.titles:
            writer.writerow(
                [
                    t.external_id,
                    "|".join(t.genres),
                    t.release_date.year,
                    t.synopsis,
                    t.maturity_rating,
                    int(t.added_at.timestamp()),
                    t.runtime_minutes,
                    t.series or "",
                    "" if t.episode is None else t.episode,
                ]
            )
    return interactions, items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m simulator.dataset",
        description="Simulate members in-process under a logging policy (half popularity-"
        "weighted, half random pages) and write interactions.csv and items.csv.",
    )
    parser.add_argument("--out", required=True, type=Path, help="directory to write to")
    parser.add_argument("--titles", type=number(int, minimum=1), default=5000, help="titles")
    parser.add_argument("--members", type=number(int, minimum=1), default=10000, help="profiles")
    parser.add_argument("--days", type=number(int, minimum=1), default=30, help="days to simulate")
    parser.add_argument("--seed", type=number(int, minimum=0), default=0, help="random seed (>= 0)")
    parser.add_argument(
        "--now",
        type=iso_time,
        default=DEFAULT_WORLD_NOW,
        help="the world's clock, where the log ends (default 2026-01-01T00:00:00Z)",
    )
    parser.add_argument("--rows", type=number(int, minimum=1), default=4, help="rows per page")
    parser.add_argument("--slots", type=number(int, minimum=1), default=10, help="titles per row")
    parser.add_argument(
        "--activity-scale",
        type=number(float, minimum=0, inclusive=False),
        default=1.0,
        help="multiply every member's visits per day",
    )
    parser.add_argument(
        "--context-strength",
        type=number(float, minimum=0),
        default=BehaviourConfig().context_strength,
        help="how much choices depend on hour, device, time away and series (0: not at all)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"argument --out: {str(args.out)!r} exists and is not a directory")
    if args.rows * args.slots > args.titles:
        parser.error(
            f"argument --titles: a page of {args.rows} x {args.slots} needs at least "
            f"{args.rows * args.slots} titles, got {args.titles}"
        )
    started = time.perf_counter()
    world = World.generate(args.titles, args.members, args.seed, args.now)
    n_available = int(world.available(world.now - timedelta(days=args.days)).sum())
    if n_available < args.rows * args.slots:
        parser.error(
            f"argument --titles: only {n_available} of {args.titles} titles are in the catalogue "
            f"when the log starts; a page of {args.rows} x {args.slots} needs more titles"
        )
    try:  # before simulating: a path that cannot be written fails now, not at the end
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        parser.error(f"argument --out: cannot create {str(args.out)!r}: {error.strerror}")
    plays = simulate_dataset(
        world,
        days=args.days,
        seed=args.seed,
        rows=args.rows,
        slots=args.slots,
        config=BehaviourConfig(
            activity_scale=args.activity_scale, context_strength=args.context_strength
        ),
        progress=not args.no_progress,
    )
    write_dataset(world, plays, args.out)
    arrived = int((world.added_at_unix > (world.now - timedelta(days=args.days)).timestamp()).sum())
    print(
        f"wrote {args.out}: {len(plays['title'])} plays by "
        f"{len(np.unique(plays['member']))} of {world.n_members} members on "
        f"{len(np.unique(plays['title']))} of {world.n_titles} titles over {args.days} days "
        f"({arrived} titles arrived during the log, {int(plays['from_search'].sum())} plays "
        f"found by search) in {time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
