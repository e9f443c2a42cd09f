"""``python -m simulator.world``: generate a world and write its three files."""

from __future__ import annotations

import argparse
from pathlib import Path

from simulator.arguments import iso_time, number
from simulator.clock import format_time
from simulator.world.world import World


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m simulator.world",
        description="Generate a synthetic world: catalog.json and members.json for the platform, "
        "hidden.npz for the simulator only.",
    )
    parser.add_argument("--out", required=True, type=Path, help="directory to write to")
    parser.add_argument(
        "--titles", type=number(int, minimum=1), default=300, help="number of titles"
    )
    parser.add_argument(
        "--members", type=number(int, minimum=1), default=60, help="number of profiles"
    )
    parser.add_argument("--seed", type=number(int, minimum=0), default=0, help="random seed (>= 0)")
    parser.add_argument("--now", type=iso_time, default=None, help="world clock, ISO 8601 (UTC)")
    args = parser.parse_args(argv)
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"argument --out: {str(args.out)!r} exists and is not a directory")
    world = World.generate(args.titles, args.members, args.seed, args.now)
    world.save(args.out)
    n_kids = sum(m.is_kids for m in world.members)
    print(
        f"wrote {args.out}: {world.n_titles} titles, {len(world.accounts)} accounts, "
        f"{world.n_members} members ({n_kids} kids), seed {world.seed}, "
        f"now {format_time(world.now)}"
    )
    return 0
