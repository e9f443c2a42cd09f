"""``python -m recommender.abtest aa|power``: the A/A and power simulations of docs/experiments.md.

    python -m recommender.abtest aa [--seeds 500] [--days 14] [--members 2000] [--out DIR]
    python -m recommender.abtest power [--effect 0.1] [--members 8000] [--out DIR]

``aa`` prints the false-positive rate of A/A tests looked at every day, naive (a
fixed-horizon test at every look) against sequential (mSPRT), each with its binomial 95%
interval; ``power`` prints the power for a planted relative lift with and without CUPED.
``--out DIR`` also writes a CSV and a PNG per command. Exit status 0, or 2 with a message
naming the bad value.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

from recommender.abtest.aa import (
    binomial_interval,
    cuped_variance_ratio,
    rejection_table,
)
from recommender.abtest.stats import DEFAULT_TAU_SD

AA_VARIANTS = [("naive", False), ("sequential", False), ("sequential", True), ("fixed", False)]
POWER_VARIANTS = [("fixed", False), ("fixed", True), ("sequential", False), ("sequential", True)]
LABELS = {
    ("naive", False): "naive: fixed-horizon test at every daily look",
    ("naive", True): "naive + CUPED",
    ("sequential", False): "sequential (mSPRT) at every daily look",
    ("sequential", True): "sequential + CUPED at every daily look",
    ("fixed", False): "fixed-horizon test once, on the last day",
    ("fixed", True): "fixed-horizon + CUPED once, on the last day",
}


def _bounded(
    kind: type,
    least: float,
    *,
    strict: bool = False,
    most: float | None = None,
    most_strict: bool = True,
):
    """An argparse type: ``kind(text)`` above ``least`` and below ``most`` (strictly or not).

    The error names the value and the rule, so argparse prints e.g.
    ``argument --seeds: '0' must be >= 1`` and exits with status 2.
    """
    rule = f"{'>' if strict else '>='} {least}"
    if most is not None:
        rule += f" and {'<' if most_strict else '<='} {most}"

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            noun = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        above = value > least if strict else value >= least
        below = most is None or (value < most if most_strict else value <= most)
        if not (above and below):  # nan fails both comparisons
            raise argparse.ArgumentTypeError(f"{text!r} must be {rule}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m recommender.abtest",
        description="A/A false-positive rate under daily peeking, and power with CUPED.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{aa,power}")
    for name, help_, seeds, members, effect in (
        ("aa", "false-positive rate of A/A tests peeked at daily", 500, 2000, 0.0),
        ("power", "power for a planted lift, with and without CUPED", 200, 8000, 0.1),
    ):
        sub = commands.add_parser(name, help=help_, description=help_)
        sub.add_argument(
            "--seeds",
            type=_bounded(int, 1, most=100_000, most_strict=False),
            default=seeds,
            help=f"experiments (default {seeds})",
        )
        sub.add_argument(
            "--days",
            type=_bounded(int, 1, most=365, most_strict=False),
            default=14,
            help="daily looks (default 14)",
        )
        sub.add_argument(
            "--members",
            type=_bounded(int, 20, most=1_000_000, most_strict=False),
            default=members,
            help=f"members per experiment, both arms (default {members})",
        )
        sub.add_argument(
            "--alpha",
            type=_bounded(float, 0, strict=True, most=1),
            default=0.05,
            help="level (default 0.05)",
        )
        sub.add_argument(
            "--seed", type=_bounded(int, 0), default=0, help="base random seed (default 0)"
        )
        sub.add_argument(
            "--tau-sd",
            type=_bounded(float, 0, strict=True, most=100),
            default=DEFAULT_TAU_SD,
            help=f"sequential test's mixture scale, in per-member sd (default {DEFAULT_TAU_SD})",
        )
        sub.add_argument("--out", type=Path, help="also write CSV + PNG into this folder")
        if name == "power":
            sub.add_argument(
                "--effect",
                type=_bounded(float, -1, strict=True, most=10),
                default=effect,
                help=f"relative lift of the treatment's minutes (default {effect})",
            )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv``; 0 on success, 2 on a bad command line."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.out is not None:
            try:
                args.out.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                parser.error(f"--out {args.out}: cannot create the folder ({error.strerror})")
    except SystemExit as exit_:
        return int(exit_.code or 0)
    effect = getattr(args, "effect", 0.0)
    variants = AA_VARIANTS if args.command == "aa" else POWER_VARIANTS
    started = time.perf_counter()
    table = rejection_table(
        variants=variants,
        seeds=args.seeds,
        days=args.days,
        members=args.members,
        alpha=args.alpha,
        effect=effect,
        rng_seed=args.seed,
        tau_sd=args.tau_sd,
    )
    seconds = time.perf_counter() - started
    what = "A/A tests" if args.command == "aa" else f"experiments with a {effect:+.1%} lift"
    print(
        f"{args.seeds} simulated {what}, {args.members} members, {args.days} days, "
        f"alpha {args.alpha} ({seconds:.1f} s)"
    )
    rate_name = "false-positive rate" if args.command == "aa" else "power"
    header = f"{'analysis':<46}{'rejected':>9}   {rate_name:<20}{'95% interval':<16}"
    print(header)
    print("-" * len(header))
    for variant in variants:
        rejected = int(table[variant][:, -1].sum())
        low, high = binomial_interval(rejected, args.seeds)
        rate = rejected / args.seeds
        print(f"{LABELS[variant]:<46}{rejected:>9}   {rate:<20.3f}[{low:.3f}, {high:.3f}]")
    if args.command == "power":
        ratio = cuped_variance_ratio(
            seeds=min(args.seeds, 50),
            days=args.days,
            members=args.members,
            effect=effect,
            rng_seed=args.seed,
        )
        gains = [
            table[(m, True)][:, -1].mean() - table[(m, False)][:, -1].mean()
            for m in ("sequential", "fixed")
        ]
        print(
            f"CUPED: variance of the difference x {ratio:.2f} on the last day (the same power "
            f"with {ratio:.0%} of the members); power gained {gains[0]:+.3f} sequential, "
            f"{gains[1]:+.3f} fixed-horizon"
        )
    else:
        print(f"(nominal level {args.alpha}: a valid test's interval should reach it or lie below)")
    if args.out is not None:
        try:
            paths = write_outputs(args.command, table, variants, args.out, args.alpha)
        except OSError as error:
            print(f"error: --out {args.out}: {error}", file=sys.stderr)
            return 2
        print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def write_outputs(command: str, table: dict, variants: list, out: Path, alpha: float) -> list[Path]:
    """``abtest-{command}.csv`` (day, analysis, share rejected by then, interval) and ``.png``."""
    rows = []
    for variant in variants:
        rejected = table[variant]
        seeds, days = rejected.shape
        for day in range(days):
            k = int(rejected[:, day].sum())
            low, high = binomial_interval(k, seeds)
            rows.append(
                {
                    "day": day + 1,
                    "method": variant[0],
                    "cuped": int(variant[1]),
                    "seeds": seeds,
                    "rejected": k,
                    "rate": round(k / seeds, 4),
                    "low": round(low, 4),
                    "high": round(high, 4),
                }
            )
    csv_path = out / f"abtest-{command}.csv"
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    png_path = out / f"abtest-{command}.png"
    plot(command, table, variants, png_path, alpha)
    return [csv_path, png_path]


def plot(command: str, table: dict, variants: list, path: Path, alpha: float) -> None:
    """Share of experiments rejected by each day, with binomial 95% bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.2), dpi=120)
    for variant in variants:
        rejected = table[variant]
        seeds, days = rejected.shape
        counts = rejected.sum(axis=0)
        bands = np.array([binomial_interval(int(k), seeds) for k in counts])
        x = np.arange(1, days + 1)
        if variant[0] == "fixed":
            ax.errorbar(
                [days],
                [counts[-1] / seeds],
                yerr=[[counts[-1] / seeds - bands[-1, 0]], [bands[-1, 1] - counts[-1] / seeds]],
                fmt="s",
                capsize=4,
                label=LABELS[variant],
            )
            continue
        (line,) = ax.plot(x, counts / seeds, marker="o", ms=3, label=LABELS[variant])
        ax.fill_between(x, bands[:, 0], bands[:, 1], color=line.get_color(), alpha=0.15)
    if command == "aa":
        ax.axhline(alpha, color="black", ls="--", lw=1, label=f"nominal level {alpha}")
        ax.set_ylabel("false-positive rate (any look so far)")
        ax.set_title("A/A tests: looking every day")
    else:
        ax.set_ylabel("power (rejected by this day)")
        ax.set_title("Planted lift: power with and without CUPED")
        ax.set_ylim(0, 1.02)
    ax.set_xlabel("days of the experiment (one look per day)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
