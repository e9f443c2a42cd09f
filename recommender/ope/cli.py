"""``python -m recommender.ope``: estimate a target policy's value from logged decisions.

    python -m recommender.ope --logs LOGS.csv --target TARGET.csv [--json OUT.json]
    python -m recommender.ope --logs LOGS.csv --target-policy greedy-reward-model

Prints one table (estimator, estimate, 95% interval, effective sample size, and the
logging policy's own mean reward on the same scale). Exit status 0 on success, 2 on a bad
command line or bad input, with a message naming the file, line and column; with
``--drop-invalid`` bad rows are dropped instead and counted. docs/ope.md has the contract.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from recommender.ope.evaluate import OPEConfig, OPEReport, evaluate_policy, reward_model_for
from recommender.ope.logs import DropReport, Inputs, load_inputs
from recommender.ope.policies import TARGET_POLICIES, PolicyInputs
from recommender.ope.reading import OPEInputError
from recommender.ope.reward_model import RewardModelConfig


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m recommender.ope",
        description="Off-policy evaluation: a target policy's value from logged decisions.",
    )
    parser.add_argument("--logs", required=True, type=Path, help="LOGS.csv (see docs/ope.md)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--target", type=Path, help="TARGET.csv: one row per log row")
    which.add_argument(
        "--target-policy",
        metavar="NAME",
        help=f"fit a policy on the logs (cross-fitted) instead: {', '.join(TARGET_POLICIES)}",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument(
        "--drop-invalid",
        action="store_true",
        help="drop rows with bad input (whole slates) and say how many, instead of stopping",
    )
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap replicates")
    parser.add_argument("--seed", type=int, default=0, help="seed of the folds and bootstrap")
    parser.add_argument("--folds", type=int, default=5, help="cross-fitting folds (default 5)")
    parser.add_argument("--l2", type=float, default=10.0, help="reward model ridge penalty")
    parser.add_argument("--switch-tau", type=float, help="switch-DR threshold (default: tuned)")
    parser.add_argument("--shrink-lambda", type=float, help="DR-OS lambda (default: tuned)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv``; 0 on success, 2 on a bad command line or bad input."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.target_policy is not None and args.target_policy not in TARGET_POLICIES:
            parser.error(
                f"--target-policy: unknown policy {args.target_policy!r}; "
                f"known: {', '.join(TARGET_POLICIES)}"
            )
        try:
            config = OPEConfig(
                replicates=args.bootstrap,
                reward_model=RewardModelConfig(l2=args.l2, folds=args.folds),
                switch_tau=args.switch_tau,
                shrink_lambda=args.shrink_lambda,
                seed=args.seed,
            )
        except ValueError as error:
            parser.error(str(error))
        if args.json is not None and not args.json.parent.is_dir():
            parser.error(f"--json {args.json}: folder {args.json.parent} does not exist")
    except SystemExit as exit_:
        return int(exit_.code or 0)
    started = time.perf_counter()
    try:
        inputs = load_inputs(args.logs, args.target, drop_invalid=args.drop_invalid)
    except (OPEInputError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    read_seconds = time.perf_counter() - started
    if inputs.dropped is not None:
        print(describe_drops(inputs.dropped, len(inputs.log)))
    rng = np.random.default_rng(config.seed)
    log = inputs.log
    units, unit_name = (log.n_slates, "slates") if log.slates is not None else (len(log), "rows")
    if units < config.reward_model.folds:
        print(
            f"error: {args.logs}: {units} {unit_name} cannot be split into {args.folds} "
            "cross-fitting folds; lower --folds",
            file=sys.stderr,
        )
        return 2
    reward_model = reward_model_for(log, config=config, rng=rng)
    target = inputs.target
    try:
        if target is None:
            target = TARGET_POLICIES[args.target_policy](PolicyInputs(log, reward_model, rng))
        report = evaluate_policy(log, target, config=config, rng=rng, reward_model=reward_model)
    except ValueError as error:  # a registered policy's output that is not a distribution
        print(f"error: target policy {args.target_policy!r}: {error}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - started
    print(describe_inputs(args, inputs))
    print(format_report(report))
    files = ", ".join(f"{name} {t:.1f} s" for name, t in inputs.seconds.items())
    print(
        f"read and checked in {read_seconds:.1f} s (parsing {files}), "
        f"estimated in {seconds - read_seconds:.1f} s"
    )
    if args.json:
        out = report.as_dict()
        out["logs"] = str(args.logs)
        out["target"] = str(args.target) if args.target else f"policy:{args.target_policy}"
        out["dropped"] = None if inputs.dropped is None else vars(inputs.dropped)
        try:
            args.json.write_text(json.dumps(out, indent=2) + "\n")
        except OSError as error:
            print(f"error: --json {args.json}: {error}", file=sys.stderr)
            return 2
    return 0


def describe_drops(dropped: DropReport, kept: int) -> str:
    if not dropped.rows:
        return "dropped 0 rows: no invalid input"
    by_column = ", ".join(f"{column} {count}" for column, count in dropped.by_column.items())
    slates = f" ({dropped.slates} slates)" if dropped.slates else ""
    lines = [
        f"dropped {dropped.rows} of {dropped.rows + kept} rows{slates} with invalid input "
        f"(problems by column: {by_column}); first:"
    ]
    lines += [f"  {example}" for example in dropped.examples]
    return "\n".join(lines)


def describe_inputs(args: argparse.Namespace, inputs: Inputs) -> str:
    log = inputs.log
    target = args.target if args.target else f"policy {args.target_policy!r} fitted on the logs"
    page = ""
    if log.slates is not None:
        rows, positions = log.grid()
        page = f", {log.n_slates} slates on a page of {rows} x {positions} slots"
    return f"{args.logs}: {len(log)} rows, {log.n_actions} actions{page}; target: {target}"


def format_report(report: OPEReport) -> str:
    """The fixed-width table of every estimate, then the examination grid if estimated."""
    header = (
        f"{'estimator':<15}{'per':<6}{'estimate':>10}   {'95% interval':<21}"
        f"{'ESS':>10}{'':7}{'n':>9}{'':7}{'logged mean':>12}"
    )
    lines = [header, "-" * len(header)]
    for e in report.estimates:
        interval = "-"
        if e.ci95 is not None and not math.isnan(e.ci95[0]):
            interval = f"[{e.ci95[0]:.4f}, {e.ci95[1]:.4f}]"
        ess_unit = "slates" if e.ess_unit == "slates" else "rows"
        n_unit = "slates" if e.unit == "slate" else "rows"
        lines.append(
            f"{e.name:<15}{e.unit:<6}{e.value:>10.4f}   {interval:<21}"
            f"{e.ess:>10.0f} {ess_unit:<6}{e.n:>9} {n_unit:<6}"
            f"{report.logging_mean[e.unit]:>12.4f}"
        )
    lines += [f"note: {note}" for note in report.notes]
    if report.examination is not None:
        theta = report.examination.theta
        lines.append(
            "examination by (row, position), relative to the most examined slot "
            f"(EM, {report.examination.iterations} steps"
            f"{'' if report.examination.converged else ', not converged'}):"
        )
        for r, row in enumerate(theta):
            cells = " ".join("  -  " if np.isnan(v) else f"{v:.3f}" for v in row)
            lines.append(f"  row {r}: {cells}")
    return "\n".join(lines)
