"""``python -m simulator.experiments ope-validation``: every OPE estimator against the truth.

Writes to ``--out`` (default var/experiments):

- ``ope-validation.csv``: one row per (mode, replication, target, estimator): the estimate,
  its 95% interval and ESS, and the replication's own true and slot-wise values;
- ``ope-validation-summary.csv``: bias, RMSE and coverage per (mode, target, estimator);
- ``ope-validation-examination.csv``: per slot, the simulator's true examination and the
  EM estimates (pooled over replications; and per replication, mean and spread);
- ``ope-validation.png``: estimates with intervals against the truth; EM vs examination;
- ``ope-validation.md``: the tables docs/exploration.md shows (also printed).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

import numpy as np
from tqdm import tqdm

from recommender.ope import fit_examination
from simulator.arguments import number
from simulator.experiments.ope_validation.estimates import ESTIMATORS, estimate_replication
from simulator.experiments.ope_validation.pages import TARGETS
from simulator.experiments.ope_validation.report import (
    error_table,
    grid_table,
    mean_error,
    plot,
    summarize,
    truth_table,
)
from simulator.experiments.ope_validation.simulation import (
    REWARDS,
    SeedLog,
    Shown,
    ValidationConfig,
    prepare,
    simulate,
)
from simulator.experiments.runs import write_csv

NAME = "ope-validation"


def run(config: ValidationConfig, out: Path, *, progress: bool = False) -> tuple[list[Path], str]:
    """Run the validation; returns the files written and the markdown tables."""
    setup = prepare(config)
    rows: list[dict[str, object]] = []
    values: dict[tuple[str, str], list[np.ndarray]] = {}
    slotwise: dict[str, list[np.ndarray]] = {t: [] for t in TARGETS}
    pooled: dict[str, list[Shown]] = {"shuffled": [], "epsilon-greedy": []}
    per_replication: list[dict[str, np.ndarray]] = []
    modes = [("stateless", config.seeds), ("stateful", config.stateful_seeds)]
    for mode, count in modes:
        stateful = mode == "stateful"
        for replication in tqdm(range(count), disable=not progress, desc=mode, leave=False):
            log = simulate(setup, replication, stateful=stateful)
            rng = np.random.default_rng([config.seed, replication, int(stateful), 9])
            estimates, grids = estimate_replication(setup, log, rng=rng)
            rows += _estimate_rows(mode, replication, log, estimates)
            values.setdefault((mode, "logger"), []).append(log.logged.rewards.sum(axis=1))
            for target, run_ in log.targets.items():
                values.setdefault((mode, target), []).append(run_.values)
                if run_.slotwise is not None:
                    slotwise[target].append(run_.slotwise)
            if not stateful:
                pooled["shuffled"].append(log.shuffled)
                pooled["epsilon-greedy"].append(log.logged)
                per_replication.append(grids)
    truths = {
        key: (float(np.mean(np.concatenate(v))), _standard_error(v)) for key, v in values.items()
    }
    slot_values = {t: float(np.mean(np.concatenate(v))) for t, v in slotwise.items() if v}
    summary = summarize(rows, {key: value for key, (value, _) in truths.items()})
    grids = {"analytic": per_replication[0]["analytic"], **pooled_grids(pooled, config)}
    spread = {
        name: [
            mean_error(g[f"EM ({name} log)"], g[f"true ({name} pages)"]) for g in per_replication
        ]
        for name in ("shuffled", "epsilon-greedy")
    }

    out.mkdir(parents=True, exist_ok=True)
    paths = [
        write_csv(rows, out / f"{NAME}.csv"),
        write_csv(summary, out / f"{NAME}-summary.csv"),
        write_csv(_grid_rows(grids, per_replication, config), out / f"{NAME}-examination.csv"),
    ]
    scale = (
        f"{config.members} members, {config.titles} titles, {config.rows} x {config.slots} "
        f"pages, {config.seeds} replications of {config.days} days, seed {config.seed}"
    )
    truth_values = {key: value for key, (value, _) in truths.items()}
    paths.append(
        plot(
            rows,
            truth_values,
            slot_values,
            grids,
            out / f"{NAME}.png",
            title=f"OPE vs the truth ({scale})",
        )
    )
    tables = "\n\n".join(
        [
            f"Scale: {scale}; reward: {config.reward}.",
            truth_table(truths, slot_values),
            error_table(summary, "stateless"),
            grid_table(grids),
            "Mean error over slots of EM on one replication's log, mean (sd) over replications: "
            + "; ".join(
                f"{name} {np.mean(v):.3f} ({np.std(v, ddof=1) if len(v) > 1 else np.nan:.3f})"
                for name, v in spread.items()
            )
            + ".",
        ]
        + ([error_table(summary, "stateful", STATEFUL_ESTIMATORS)] if config.stateful_seeds else [])
    )
    markdown = out / f"{NAME}.md"
    markdown.write_text(tables + "\n")
    return [*paths, markdown], tables


STATEFUL_ESTIMATORS = ("snips", "dr", "cascade-dr", "snips-page", "dr-page")
"""The estimators the stateful table shows (the full set is in the CSV)."""


def pooled_grids(pooled: dict[str, list[Shown]], config: ValidationConfig) -> dict[str, np.ndarray]:
    """The true examination and EM's, each over every replication's pages at once."""
    grid = (config.rows, config.slots)
    out = {}
    for name, parts in pooled.items():
        titles = np.concatenate([p.titles for p in parts])
        rewards = np.concatenate([p.rewards for p in parts])
        examined = np.concatenate([p.examined for p in parts]).mean(axis=0).reshape(grid)
        out[f"true ({name} pages)"] = examined / examined.max()
        out[f"EM ({name} log)"] = fit_examination(
            cells=np.tile(np.arange(config.n_slots), len(titles)),
            actions=titles.ravel().astype(np.int64),
            rewards=rewards.ravel(),
            grid=grid,
            n_actions=config.titles,
        ).theta
    return out


def _estimate_rows(
    mode: str, replication: int, log: SeedLog, estimates: dict[str, dict]
) -> list[dict[str, object]]:
    rows = []
    for target, found in estimates.items():
        run_ = log.targets[target]
        for name in (n for n in ESTIMATORS if n in found):  # the shuffled log is stateless only
            e = found[name]
            low, high = e.ci95 or (np.nan, np.nan)
            rows.append(
                {
                    "mode": mode,
                    "replication": replication,
                    "target": target,
                    "estimator": name,
                    "estimate": e.value,
                    "ci_low": low,
                    "ci_high": high,
                    "ess": e.ess,
                    "ess_unit": e.ess_unit,
                    "true_value": float(run_.values.mean()),
                    "slotwise_value": np.nan
                    if run_.slotwise is None
                    else float(run_.slotwise.mean()),
                    "pages": len(log.members),
                }
            )
    return rows


def _grid_rows(
    grids: dict[str, np.ndarray],
    per_replication: list[dict[str, np.ndarray]],
    config: ValidationConfig,
) -> list[dict[str, object]]:
    em = np.stack([g["EM (shuffled log)"] for g in per_replication])  # (R, rows, positions)
    rows = []
    for r in range(config.rows):
        for p in range(config.slots):
            row: dict[str, object] = {"row": r, "position": p}
            row.update({name: float(g[r, p]) for name, g in grids.items()})
            row["EM (shuffled log) per replication, mean"] = float(em[:, r, p].mean())
            row["EM (shuffled log) per replication, sd"] = (
                float(em[:, r, p].std(ddof=1)) if len(em) > 1 else np.nan
            )
            rows.append(row)
    return rows


def _standard_error(parts: list[np.ndarray]) -> float:
    values = np.concatenate(parts)
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")


def build_parser() -> argparse.ArgumentParser:
    d = ValidationConfig()
    parser = argparse.ArgumentParser(
        prog=f"python -m simulator.experiments {NAME}",
        description="Every off-policy estimator of recommender.ope against the simulator's "
        "true value of four target policies (docs/exploration.md).",
    )
    parser.add_argument("--out", type=Path, default=Path("var/experiments"), help="output dir")
    positive = {"titles", "members", "history_days", "older_days", "days", "rows", "slots", "seeds"}
    for f in fields(ValidationConfig):
        flag = "--" + f.name.replace("_", "-")
        default = getattr(d, f.name)
        if f.name == "reward":
            parser.add_argument(flag, choices=REWARDS, default=default, help=f"(default {default})")
        elif isinstance(default, float):
            parser.add_argument(
                flag, type=number(float, minimum=0), default=default, help=f"(default {default})"
            )
        else:
            minimum = 1 if f.name in positive else (2 if f.name == "pool" else 0)
            parser.add_argument(
                flag,
                type=number(int, minimum=minimum),
                default=default,
                help=f"(default {default})",
            )
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    values = {f.name: getattr(args, f.name) for f in fields(ValidationConfig)}
    try:
        config = ValidationConfig(**values)
    except ValueError as error:
        parser.error(str(error))
    paths, tables = run(config, args.out, progress=not args.no_progress)
    print(tables)
    for path in paths:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
