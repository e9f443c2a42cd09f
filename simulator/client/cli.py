"""``python -m simulator.client``: simulated traffic against a running platform."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path

from simulator.arguments import iso_time, number
from simulator.behaviour import BehaviourConfig
from simulator.client.api import ClientError
from simulator.client.protocol import WorldMismatchError
from simulator.client.traffic import run_live, run_traffic
from simulator.clock import format_time, utc_now


def build_parser() -> argparse.ArgumentParser:
    """The command line's arguments, each checked as it is parsed (errors name the value)."""
    parser = argparse.ArgumentParser(
        prog="python -m simulator.client",
        description="Drive simulated members through the platform's HTTP API.",
    )
    parser.add_argument(
        "--base-url", required=True, help="platform root, e.g. http://localhost:8000"
    )
    parser.add_argument(
        "--world", required=True, type=Path, help="world directory (simulator.world)"
    )
    parser.add_argument(
        "--days", type=number(float, minimum=0, inclusive=False), help="days to simulate"
    )
    parser.add_argument(
        "--start", type=iso_time, help="start of the simulated period (default: now - days)"
    )
    parser.add_argument(
        "--members", type=number(int, minimum=1), help="use only the first N members"
    )
    parser.add_argument("--seed", type=number(int, minimum=0), default=0, help="random seed (>= 0)")
    parser.add_argument(
        "--concurrency", type=number(int, minimum=1), default=4, help="parallel members"
    )
    parser.add_argument(
        "--activity-scale",
        type=number(float, minimum=0, inclusive=False),
        default=1.0,
        help="multiply every member's visits per day (live demos want more)",
    )
    parser.add_argument("--progress", action="store_true", help="show a progress bar")
    parser.add_argument("--live", action="store_true", help="run rounds at real time until stopped")
    parser.add_argument(
        "--duration",
        type=number(float, minimum=0, inclusive=False),
        help="live: seconds to run (default: until interrupted)",
    )
    parser.add_argument(
        "--pause", type=number(float, minimum=0), default=30.0, help="live: seconds between rounds"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.base_url.startswith(("http://", "https://")):
        parser.error(f"argument --base-url: expected an http(s) URL, got {args.base_url!r}")
    needed = ("catalog.json", "members.json", "hidden.npz")
    missing = [n for n in needed if not (args.world / n).is_file()]
    if missing:
        parser.error(
            f"argument --world: {str(args.world)!r} is not a world directory "
            f"(missing {', '.join(missing)}); make one with python -m simulator.world"
        )
    if args.live:
        for flag, value in [("--days", args.days), ("--start", args.start)]:
            if value is not None:
                parser.error(f"argument {flag}: not used with --live (got {value})")
    else:
        if args.days is None:
            parser.error("argument --days is required (unless --live)")
        if args.duration is not None:
            parser.error(f"argument --duration: only used with --live (got {args.duration})")
        if args.start is not None and args.start + timedelta(days=args.days) > utc_now():
            parser.error(
                f"argument --start: {format_time(args.start)} + {args.days} days ends in the "
                "future; the platform refuses future times"
            )
    shared = {
        "seed": args.seed,
        "max_members": args.members,
        "concurrency": args.concurrency,
        "behaviour": BehaviourConfig(activity_scale=args.activity_scale),
    }
    try:
        if args.live:
            report = run_live(
                args.base_url, args.world, duration_s=args.duration, pause_s=args.pause, **shared
            )
        else:
            report = run_traffic(
                args.base_url,
                args.world,
                days=args.days,
                start=args.start,
                progress=args.progress,
                **shared,
            )
    except (ClientError, WorldMismatchError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print(report.summary())
    return 0
