"""Train a model from a CSV of interactions, compare it with popularity, save a checkpoint.

    python -m recommender.train --interactions data.csv --model mf --out var/models/mf-1 \
        [--items items.csv] [--warm-start var/models/sasrec-0] [--set sasrec.dim=64] \
        [--device cuda]

Steps: read the CSV; split it at one global time cut; fit the model and a popularity
baseline on the earlier part; print both evaluated on the later part (full ranking); then
refit the model on all interactions and save it to ``--out``, where ``load_model`` serves
it. The evaluation is also written to ``--out/metrics.json`` for a promotion gate to read.
Exit status: 0 on success, 2 on a bad command line or unusable data.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import torch

from recommender.base import MODELS, Recommender, load_model
from recommender.data import Interactions, time_split
from recommender.evaluate import catalog_at_cut, evaluate, parse_overrides
from recommender.metadata import ItemMetadata
from recommender.popularity import PopularityRecommender

K = 10
"""Cut-off of the ranking metrics the CLI reports."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m recommender.train",
        description="Train a recommender on a CSV of interactions and save a checkpoint.",
    )
    parser.add_argument(
        "--interactions",
        required=True,
        type=Path,
        help="CSV with header user_id,item_id,timestamp[,weight]",
    )
    parser.add_argument("--model", required=True, choices=sorted(MODELS), help="model kind")
    parser.add_argument("--out", required=True, type=Path, help="directory for checkpoint.pt")
    parser.add_argument(
        "--holdout", type=float, default=0.2, help="latest fraction held out (default 0.2)"
    )
    parser.add_argument(
        "--items",
        type=Path,
        help="title metadata CSV: item_id,genres,year,text[,maturity,added_at]",
    )
    parser.add_argument(
        "--warm-start", type=Path, help="checkpoint of the previous version to start from"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="set a config field of the model, e.g. --set l2=300 (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--epochs", type=int, help="training epochs (models that train)")
    parser.add_argument("--dim", type=int, help="embedding size (models with embeddings)")
    parser.add_argument(
        "--device",
        help="where torch fits: cpu, cuda, cuda:N, or auto (cuda when there is a GPU); models "
        "with a torch_device setting (sasrec); the checkpoint loads on the CPU either way",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads for this run (default 1: the models are small, and "
        "multi-threaded training slows down many times when another process holds a core)",
    )
    return parser


def train_main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default ``sys.argv[1:]``) and return the exit status.

    ``--threads`` sets torch's thread count for the run only; the previous value is restored.
    """
    try:
        args, config = parse_args(argv)
    except SystemExit as exit_:  # argparse has printed the usage and the error
        return int(exit_.code or 0)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        return _run(args, config)
    finally:
        torch.set_num_threads(previous_threads)


def _run(args: argparse.Namespace, config: Any) -> int:
    try:
        interactions = Interactions.from_csv(args.interactions)
        items = ItemMetadata.from_csv(args.items) if args.items else None
        train, test = time_split(interactions, holdout_fraction=args.holdout)
        previous = load_model(args.warm_start) if args.warm_start else None
    except (OSError, ValueError) as error:  # file errors name line and column
        print(f"error: {error}", file=sys.stderr)
        return 2
    before, after = catalog_at_cut(items, float(test.timestamps.min()))

    model_class = MODELS[args.model]
    print(
        f"{len(interactions)} interactions: {len(train)} train, {len(test)} test "
        f"(latest {args.holdout:.0%} by time)"
    )
    started = time.perf_counter()
    model = model_class(config).fit(train, items=before)
    print(f"fitted {args.model} on the training part in {time.perf_counter() - started:.1f} s")
    if after is not None and len(after):
        model.extend_items(after)
    results = {args.model: evaluate(model, train, test, k=K, items=items)}
    if args.model != "popularity":
        baseline = PopularityRecommender().fit(train, items=before)
        if after is not None and len(after):
            baseline.extend_items(after)
        results["popularity"] = evaluate(baseline, train, test, k=K, items=items)
    print(format_table(results))

    final = model_class(config).fit(interactions, items=items, warm_start=previous)
    extra = getattr(final.config, "extra", {})
    if "drift_before_align" in extra:
        print(
            f"warm start from {args.warm_start}: embedding drift over "
            f"{int(extra['shared'])} shared titles {extra['drift_before_align']:.3f} before "
            f"alignment, {extra['drift_after_align']:.3f} after"
        )
    save_run(final, results, args, tuned=asdict(model.config))
    print(f"saved {args.model} trained on all {len(interactions)} interactions to {args.out}")
    return 0


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, Any]:
    """Parse the command line into arguments and the chosen model's config.

    Every problem (unknown model, an option the model lacks, an invalid value) exits
    through ``parser.error``: usage and message on stderr, status 2.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    if not 0.0 < args.holdout < 1.0:
        parser.error(f"--holdout must be between 0 and 1, got {args.holdout}")
    config_class = MODELS[args.model].config_class
    known = {f.name for f in fields(config_class)}
    overrides = {"seed": args.seed} if "seed" in known else {}
    settings = [f"{args.model}.{setting}" for setting in args.set]
    overrides.update(parse_overrides(parser, [args.model], settings)[args.model])
    for option, name in (("epochs", "epochs"), ("dim", "dim"), ("device", "torch_device")):
        value = getattr(args, option)
        if value is None:
            continue
        if name not in known:
            parser.error(f"--{option} does not apply to model {args.model!r}")
        overrides[name] = value
    try:
        config = config_class(**overrides)
    except ValueError as error:
        parser.error(str(error))
    return args, config


def format_table(results: dict[str, dict[str, float]]) -> str:
    """A fixed-width table, one row per model: NDCG@K, Recall@K, MRR, users."""
    header = f"{'model':<12}{f'NDCG@{K}':>10}{f'Recall@{K}':>11}{'MRR':>9}{'users':>8}"
    lines = [header, "-" * len(header)]
    for name, m in results.items():
        lines.append(
            f"{name:<12}{m[f'ndcg@{K}']:>10.4f}{m[f'recall@{K}']:>11.4f}"
            f"{m['mrr']:>9.4f}{int(m['n_users']):>8d}"
        )
    return "\n".join(lines)


def save_run(
    model: Recommender,
    results: dict[str, dict[str, float]],
    args: argparse.Namespace,
    *,
    tuned: dict[str, Any] | None = None,
) -> None:
    """Save the checkpoint, and beside it the evaluation that justified it (metrics.json).

    ``tuned``: the config of the model that was evaluated, as its ``fit`` left it: what a
    self-tuning model chose (EASE's lambda, SASRec's history length and best epoch) on the
    training part alone.
    """
    model.save(args.out)
    summary = {
        "model": args.model,
        "interactions": str(args.interactions),
        "holdout": args.holdout,
        "seed": args.seed,
        "items": None if args.items is None else str(args.items),
        "warm_start": None if args.warm_start is None else str(args.warm_start),
        "evaluation": results,
        "tuned_on_training_part": tuned,
    }
    (args.out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(train_main())
