"""Compare models side by side on one time split of a CSV, by full-ranking metrics.

    python -m recommender.evaluate --interactions data.csv [--items items.csv] \\
        [--models popularity,ease,mf,sasrec] [--set sasrec.dim=64] [--bootstrap 1000]

Each model is fitted on the earlier part with the catalogue as of the cut, extended with the
titles added after it (as serving would), and scored by :mod:`recommender.metrics` (also
re-exported here: ``from recommender.evaluate import evaluate``). Exit status 0 on
success, 2 on a bad command line or unusable data, naming the bad value.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from recommender.base import MODELS
from recommender.data import Interactions, time_split
from recommender.metadata import ItemMetadata
from recommender.metrics import (
    NEXT_PLAY_REQUESTS,
    WIDE_K,
    Evaluation,
    evaluate,
    evaluate_detailed,
    evaluate_next_play,
)

__all__ = ["Evaluation", "evaluate", "evaluate_detailed", "evaluate_main"]


# ---- command line -------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m recommender.evaluate",
        description="Compare models on a time split of a CSV by full-ranking metrics.",
    )
    parser.add_argument("--interactions", required=True, type=Path, help="interactions CSV")
    parser.add_argument(
        "--items", type=Path, help="title metadata CSV: item_id,genres,year,text[,maturity,...]"
    )
    parser.add_argument(
        "--models",
        default="popularity,ease,mf,sasrec",
        help="comma-separated model kinds (default popularity,ease,mf,sasrec)",
    )
    parser.add_argument("--holdout", type=float, default=0.2, help="latest fraction held out")
    parser.add_argument("--k", type=int, default=10, help="ranking cut-off (default 10)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0, help="seed of models and bootstrap")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KIND.FIELD=VALUE",
        help="override a config field, e.g. --set sasrec.dim=64 (repeatable)",
    )
    parser.add_argument(
        "--next-play",
        type=int,
        default=NEXT_PLAY_REQUESTS,
        metavar="N",
        help="also score N sampled test plays as next-play requests, each at its own time "
        f"with the history before it (default {NEXT_PLAY_REQUESTS}; 0 turns it off)",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    return parser


def parse_overrides(
    parser: argparse.ArgumentParser, kinds: list[str], settings: list[str]
) -> dict[str, dict[str, Any]]:
    """``["sasrec.dim=64", ...]`` -> ``{"sasrec": {"dim": 64}}``, typed by the config field.

    Exits through ``parser.error`` naming the bad setting.
    """
    overrides: dict[str, dict[str, Any]] = {kind: {} for kind in kinds}
    for setting in settings:
        target, sep, text = setting.partition("=")
        kind, dot, name = target.partition(".")
        if not (sep and dot):
            parser.error(f"--set {setting!r}: expected KIND.FIELD=VALUE")
        if kind not in MODELS:
            parser.error(f"--set {setting!r}: unknown model kind {kind!r}")
        field_types = {f.name: f.type for f in fields(MODELS[kind].config_class)}
        if name not in field_types or name == "extra":
            parser.error(
                f"--set {setting!r}: {kind} has no setting {name!r}; "
                f"known: {', '.join(sorted(n for n in field_types if n != 'extra'))}"
            )
        overrides.setdefault(kind, {})[name] = _convert(
            parser, setting, str(field_types[name]), text
        )
    return overrides


def _convert(parser: argparse.ArgumentParser, setting: str, kind: str, text: str) -> Any:
    try:
        if kind == "bool":
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError(text)
            return text.lower() in ("true", "1")
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind.startswith("tuple"):
            return tuple(float(x) for x in text.split(","))
        return text
    except ValueError:
        parser.error(f"--set {setting!r}: {text!r} is not a valid {kind}")


def make_configs(
    parser: argparse.ArgumentParser, kinds: list[str], settings: list[str], seed: int
) -> dict[str, Any]:
    """One config per kind, with ``--seed`` and the ``--set`` overrides applied."""
    overrides = parse_overrides(parser, kinds, settings)
    configs = {}
    for kind in kinds:
        config_class = MODELS[kind].config_class
        values = dict(overrides.get(kind, {}))
        if "seed" in {f.name for f in fields(config_class)}:
            values.setdefault("seed", seed)
        try:
            configs[kind] = config_class(**values)
        except ValueError as error:
            parser.error(f"{kind}: {error}")
    return configs


def catalog_at_cut(
    items: ItemMetadata | None, cut: float
) -> tuple[ItemMetadata | None, ItemMetadata | None]:
    """Split metadata into titles in the catalogue before ``cut`` and those added after."""
    if items is None:
        return None, None
    later = items.added_at >= cut  # nan compares False: unknown means "already there"
    return items.select(np.flatnonzero(~later)), items.select(np.flatnonzero(later))


def evaluate_main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv``; 0 on success, 2 on a bad command line or unusable data."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        kinds = [k.strip() for k in args.models.split(",") if k.strip()]
        unknown = [k for k in kinds if k not in MODELS]
        if not kinds or unknown:
            named = ", ".join(map(repr, unknown)) or repr(args.models)
            parser.error(
                f"--models: unknown kind {named}; known kinds: {', '.join(sorted(MODELS))}"
            )
        for name in ("k", "threads"):
            if getattr(args, name) < 1:
                parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
        if args.bootstrap < 0:
            parser.error(f"--bootstrap must be >= 0, got {args.bootstrap}")
        if args.next_play < 0:
            parser.error(f"--next-play must be >= 0, got {args.next_play}")
        if not 0.0 < args.holdout < 1.0:
            parser.error(f"--holdout must be between 0 and 1, got {args.holdout}")
        configs = make_configs(parser, kinds, args.set, args.seed)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        data = Interactions.from_csv(args.interactions)
        items = ItemMetadata.from_csv(args.items) if args.items else None
        train, test = time_split(data, holdout_fraction=args.holdout)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        results = compare(configs, train, test, items=items, k=args.k, args=args)
    finally:
        torch.set_num_threads(previous_threads)
    print(format_results(results, k=args.k))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def compare(
    configs: dict[str, Any],
    train: Interactions,
    test: Interactions,
    *,
    items: ItemMetadata | None,
    k: int,
    args: argparse.Namespace,
) -> dict[str, dict[str, Any]]:
    """Fit each model on ``train`` (with the catalogue as of the cut), extend it with titles
    added later, evaluate; returns means, intervals and fit seconds per model."""
    cut = float(test.timestamps.min())
    before, after = catalog_at_cut(items, cut)
    print(
        f"{len(train)} train / {len(test)} test interactions (cut at t={cut:.0f}); "
        f"titles in metadata: {0 if items is None else len(items)} "
        f"({0 if after is None else len(after)} added after the cut)"
    )
    results: dict[str, dict[str, Any]] = {}
    for kind, config in configs.items():
        started = time.perf_counter()
        model = MODELS[kind](config).fit(train, items=before, rng=np.random.default_rng(args.seed))
        seconds = time.perf_counter() - started
        if after is not None and len(after):
            model.extend_items(after)
        detail = evaluate_detailed(model, train, test, k=k, items=items)
        results[kind] = {
            "means": detail.means(),
            "ci95": detail.bootstrap(samples=args.bootstrap, seed=args.seed)
            if args.bootstrap
            else {},
            "fit_seconds": seconds,
            "config": {f.name: getattr(model.config, f.name) for f in fields(model.config)},
        }
        if args.next_play:
            nxt = evaluate_next_play(
                model, train, test, k=k, max_requests=args.next_play, seed=args.seed
            )
            results[kind]["next_play"] = {
                "means": nxt.means(),
                "ci95": nxt.bootstrap(samples=args.bootstrap, seed=args.seed)
                if args.bootstrap
                else {},
            }
        print(f"  {kind}: fitted in {seconds:.1f} s", flush=True)
    return results


def format_results(results: dict[str, dict[str, Any]], *, k: int) -> str:
    """A fixed-width table: means, with the 95% bootstrap interval of NDCG@k."""
    columns = [
        (f"ndcg@{k}", f"NDCG@{k}"),
        (f"recall@{k}", f"R@{k}"),
        (f"recall@{WIDE_K}", f"R@{WIDE_K}"),
        ("mrr", "MRR"),
        (f"hr@{k}", f"HR@{k}"),
        (f"coverage@{k}", "Cov"),
        (f"novelty@{k}", "Nov"),
        (f"cold_ndcg@{k}", f"cNDCG@{k}"),
        (f"cold_recall@{WIDE_K}", f"cR@{WIDE_K}"),
    ]
    header = f"{'model':<11}" + f"{'NDCG 95% CI':>16}" + "".join(f"{t:>9}" for _, t in columns)
    header += f"{'fit s':>8}"
    lines = [header, "-" * len(header)]
    for kind, result in results.items():
        m, ci = result["means"], result["ci95"]
        low, high = ci.get(f"ndcg@{k}", (math.nan, math.nan))
        interval = f"[{low:.3f},{high:.3f}]" if not math.isnan(low) else "-"
        cells = "".join(f"{m[name]:>9.4f}" for name, _ in columns)
        lines.append(f"{kind:<11}{interval:>16}{cells}{result['fit_seconds']:>8.1f}")
    first = next(iter(results.values()))["means"]
    lines.append(
        f"members evaluated: {int(first['n_users'])}, with a cold title: "
        f"{int(first['cold_n_users'])}"
    )
    if all("next_play" in result for result in results.values()):
        lines += ["", _format_next_play(results, k=k)]
    return "\n".join(lines)


def _format_next_play(results: dict[str, dict[str, Any]], *, k: int) -> str:
    """Next-play requests: each test play ranked at its own time from the history before it."""
    header = f"{'next play':<11}{'NDCG 95% CI':>16}{f'NDCG@{k}':>9}{f'HR@{k}':>9}{'MRR':>9}"
    lines = [header, "-" * len(header)]
    for kind, result in results.items():
        m, ci = result["next_play"]["means"], result["next_play"]["ci95"]
        low, high = ci.get(f"next_ndcg@{k}", (math.nan, math.nan))
        interval = f"[{low:.3f},{high:.3f}]" if not math.isnan(low) else "-"
        cells = "".join(
            f"{m[name]:>9.4f}" for name in (f"next_ndcg@{k}", f"next_hr@{k}", "next_mrr")
        )
        lines.append(f"{kind:<11}{interval:>16}{cells}")
    first = next(iter(results.values()))["next_play"]["means"]
    lines.append(f"next-play requests: {int(first['n_requests'])}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(evaluate_main())
