"""Summaries of the validation: errors over replications, examination grids, tables, figure.

The error of an estimator on a target is measured against the target's **true value**: its
mean page reward over every replication's visits (each replication's own true run, common
random numbers with its log). Over the replications:

- bias: mean estimate minus the true value;
- RMSE: root mean squared error of the estimates;
- coverage: the share of 95% bootstrap intervals that hold the true value;
- n: replications with an estimate at all (page-level estimators have none when no logged
  page could have come from the target).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from simulator.experiments.ope_validation.estimates import ESTIMATORS
from simulator.experiments.ope_validation.pages import TARGETS

GRIDS = (
    "true (shuffled pages)",
    "EM (shuffled log)",
    "true (epsilon-greedy pages)",
    "EM (epsilon-greedy log)",
    "analytic",
)
"""Examination grids in the order the tables show them."""


def summarize(rows: list[dict[str, object]], truths: dict[tuple[str, str], float]) -> list[dict]:
    """Bias, RMSE, coverage and mean ESS per (mode, target, estimator) of per-replication
    ``rows``; ``truths[(mode, target)]`` is the true value."""
    groups: dict[tuple[str, str, str], list[dict[str, object]]] = {}
    for row in rows:
        groups.setdefault((row["mode"], row["target"], row["estimator"]), []).append(row)
    out = []
    for (mode, target, estimator), group in groups.items():
        truth = truths[(mode, target)]
        est = np.array([float(r["estimate"]) for r in group])
        low = np.array([float(r["ci_low"]) for r in group])
        high = np.array([float(r["ci_high"]) for r in group])
        finite = np.isfinite(est)
        error = est[finite] - truth
        out.append(
            {
                "mode": mode,
                "target": target,
                "estimator": estimator,
                "truth": truth,
                "mean_estimate": float(est[finite].mean()) if finite.any() else math.nan,
                "bias": float(error.mean()) if finite.any() else math.nan,
                "rmse": float(np.sqrt((error**2).mean())) if finite.any() else math.nan,
                "coverage": float(np.mean((low <= truth) & (truth <= high))),
                "mean_ess": float(np.mean([float(r["ess"]) for r in group])),
                "n": int(finite.sum()),
                "replications": len(group),
            }
        )
    return out


def error_table(summary: list[dict], mode: str, estimators: Iterable[str] = ESTIMATORS) -> str:
    """Markdown: one row per estimator, "bias / RMSE / coverage" per target."""
    cells = {(s["target"], s["estimator"]): s for s in summary if s["mode"] == mode}
    targets = [t for t in TARGETS if any(k[0] == t for k in cells)]
    lines = [
        "| estimator | " + " | ".join(targets) + " |",
        "|---|" + "---|" * len(targets),
    ]
    for estimator in estimators:
        row = [estimator]
        for target in targets:
            s = cells.get((target, estimator))
            if s is None or s["n"] == 0:
                row.append("n/a")
                continue
            text = f"{s['bias']:+.3f} / {s['rmse']:.3f} / {s['coverage']:.2f}"
            if s["n"] < s["replications"]:
                text += f" ({s['n']} of {s['replications']})"
            row.append(text)
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def truth_table(
    truths: dict[tuple[str, str], tuple[float, float]], slotwise: dict[str, float]
) -> str:
    """Markdown: each target's true value (and its standard error), stateless and stateful,
    and the slot-wise value the per-slot estimators are unbiased for."""
    lines = [
        "| target | true value | slot-wise value | gap | true value, stateful |",
        "|---|---|---|---|---|",
    ]
    for target in ("logger", *TARGETS):
        value, se = truths.get(("stateless", target), (math.nan, math.nan))
        stateful = truths.get(("stateful", target))
        slot = slotwise.get(target, math.nan)
        lines.append(
            f"| {target} | {value:.4f} ± {se:.4f} | "
            + (f"{slot:.4f} | {slot - value:+.4f}" if math.isfinite(slot) else "- | -")
            + (f" | {stateful[0]:.4f} ± {stateful[1]:.4f} |" if stateful else " | - |")
        )
    return "\n".join(lines)


def mean_error(estimate: np.ndarray, truth: np.ndarray) -> float:
    """Mean absolute difference over the slots of two examination grids."""
    return float(np.nanmean(np.abs(estimate - truth)))


def grid_table(grids: dict[str, np.ndarray]) -> str:
    """Markdown: each examination grid row by row, with its mean and largest distance from
    the true examination of the same pages (of the shuffled pages for the analytic grid)."""
    lines = [
        "| examination | by row (positions left to right) | mean error | largest error |",
        "|---|---|---|---|",
    ]
    for name in GRIDS:
        if name not in grids:
            continue
        theta = grids[name]
        rows = " / ".join(" ".join(f"{v:.3f}" for v in row) for row in theta)
        errors = "- | -"
        if not name.startswith("true"):
            pages = "epsilon-greedy" if "epsilon-greedy" in name else "shuffled"
            truth = grids[f"true ({pages} pages)"]
            errors = (
                f"{mean_error(theta, truth):.3f} | {float(np.nanmax(np.abs(theta - truth))):.3f}"
            )
        lines.append(f"| {name} | {rows} | {errors} |")
    return "\n".join(lines)


def plot(
    rows: list[dict[str, object]],
    truths: dict[tuple[str, str], float],
    slotwise: dict[str, float],
    grids: dict[str, np.ndarray],
    path: Path,
    *,
    title: str,
) -> Path:
    """Estimate vs truth with intervals, one panel per target; EM vs true examination."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(TARGETS) + 1, figsize=(4.0 * (len(TARGETS) + 1), 5.4))
    names = list(ESTIMATORS)[::-1]
    for ax, target in zip(axes, TARGETS, strict=False):
        truth = truths[("stateless", target)]
        mine = [r for r in rows if r["mode"] == "stateless" and r["target"] == target]
        for y, estimator in enumerate(names):
            group = [r for r in mine if r["estimator"] == estimator]
            offsets = np.linspace(-0.3, 0.3, max(len(group), 1))
            for dy, r in zip(offsets, group, strict=True):
                ax.plot([r["ci_low"], r["ci_high"]], [y + dy] * 2, color="0.7", lw=0.8)
                ax.plot([r["estimate"]], [y + dy], "o", color="C0", ms=2.5)
        ax.axvline(truth, color="C3", lw=1.5, label="true value")
        ax.axvline(slotwise[target], color="C2", ls="--", lw=1.2, label="slot-wise value")
        ax.set_xlim(0.5 * truth, 1.5 * truth)
        ax.set_yticks(range(len(names)), names, fontsize=8)
        ax.set_title(f"{target} (true {truth:.3f})", fontsize=10)
        ax.set_xlabel("plays per page", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
    axes[0].legend(fontsize=7, loc="lower left")
    ax = axes[-1]
    reference = grids["true (shuffled pages)"].ravel()
    for name, marker in (("EM (shuffled log)", "o"), ("EM (epsilon-greedy log)", "x")):
        ax.plot(reference, grids[name].ravel(), marker, label=name)
    ax.plot([0, 1], [0, 1], color="0.5", lw=0.8)
    ax.set_xlabel("true examination, relative to the top slot", fontsize=8)
    ax.set_ylabel("EM estimate", fontsize=8)
    ax.set_title("examination per slot", fontsize=10)
    ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
