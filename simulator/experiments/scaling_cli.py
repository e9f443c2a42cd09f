"""``python -m simulator.experiments scaling``: the scaling experiment's command line, CSVs
and figure (simulator/experiments/scaling.py has the protocol and the fit).

Writes ``<out>/scaling.csv`` (one row per fit), ``<out>/scaling-fits.csv`` (one row per
fitted offset power law) and ``<out>/scaling.png``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from simulator.arguments import number
from simulator.experiments.runs import by, write_csv
from simulator.experiments.scaling import (
    PRESETS,
    fit_offset_power_law,
    mean_rows,
    resolve_device,
    scaling,
)


def plot(rows: list[dict[str, object]], title: str, path: Path) -> Path:
    """Mean loss and MRR against training plays per model size (with each fitted law), and
    mean loss against parameters at the largest training set."""
    from simulator.experiments.__main__ import _pyplot

    plt = _pyplot()
    rows = mean_rows(rows)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.0))
    for name, group in by(rows, "model").items():
        n = np.array([r["train_plays"] for r in group], np.float64)
        loss = np.array([r["loss"] for r in group], np.float64)
        (line,) = axes[0].plot(n, loss, "o", label=str(name))
        if len(group) >= 3:
            fit = fit_offset_power_law(n, loss)
            grid = np.geomspace(n.min(), n.max() * 4, 60)
            axes[0].plot(grid, fit(grid), "-", color=line.get_color(), lw=1)
            if not fit.at_bound:  # a floor the points place (else l_inf is arbitrary)
                axes[0].axhline(fit.l_inf, color=line.get_color(), ls=":", lw=0.8)
        axes[1].plot(n, [r["mrr"] for r in group], "o-", color=line.get_color(), label=str(name))
    largest = max(int(r["train_plays"]) for r in rows)
    top = sorted((r for r in rows if r["train_plays"] == largest), key=lambda r: r["params"])
    p = np.array([r["params"] for r in top], np.float64)
    loss = np.array([r["loss"] for r in top], np.float64)
    axes[2].plot(p, loss, "o")
    for r in top:
        axes[2].annotate(str(r["model"]), (r["params"], r["loss"]), fontsize=7)
    if len(top) >= 3:
        fit = fit_offset_power_law(p, loss)
        grid = np.geomspace(p.min(), p.max() * 4, 60)
        axes[2].plot(
            grid, fit(grid), "-", lw=1, label=f"L_inf {fit.l_inf:.3f}, alpha {fit.alpha:.2f}"
        )
        axes[2].legend(fontsize=7)
    losses = [float(r["loss"]) for r in rows]
    margin = 0.25 * (max(losses) - min(losses)) + 1e-3
    axes[0].set_ylim(min(losses) - margin, max(losses) + margin)  # the data, not the floors
    axes[2].set_ylim(min(losses) - margin, max(losses) + margin)
    for ax, label in zip(
        axes, ("test loss (next-play cross-entropy)", "next-play MRR"), strict=False
    ):
        ax.set_xscale("log")
        ax.set_xlabel("training plays", fontsize=8)
        ax.set_title(label, fontsize=10)
    axes[2].set_xscale("log")
    axes[2].set_xlabel("parameters", fontsize=8)
    axes[2].set_title(f"test loss by model size at {largest} plays", fontsize=10)
    axes[0].legend(fontsize=7)
    for ax in axes:
        ax.tick_params(labelsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m simulator.experiments scaling",
        description="SASRec width and depth against next-play loss and MRR on simulated logs "
        "of growing size, with offset power-law fits L(N) = L_inf + A N^-alpha.",
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), default="small",
                        help="tiny: seconds; small: minutes on CPU; large: for a GPU")  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("var/experiments"), help="output dir")
    parser.add_argument("--seed", type=number(int, minimum=0), default=0)
    parser.add_argument("--device", default="cpu",
                        help="where SASRec fits and scores: cpu (default), cuda, cuda:N, or "
                        "auto (cuda when torch sees a GPU, else cpu)")  # fmt: skip
    parser.add_argument("--no-progress", action="store_true", help="print nothing per fit")
    args = parser.parse_args(argv)
    try:
        device = resolve_device(args.device)
    except ValueError as error:
        parser.error(f"argument --device: {error}")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        parser.error(f"argument --out: cannot create {str(args.out)!r}: {error.strerror}")
    preset = PRESETS[args.preset]
    rows, laws = scaling(preset, seed=args.seed, device=device, progress=not args.no_progress)
    csv_path, fits_path, png = (
        args.out / f for f in ("scaling.csv", "scaling-fits.csv", "scaling.png")
    )
    write_csv(rows, csv_path)
    if laws:  # 3+ training sizes or model sizes (every preset has both)
        write_csv(laws, fits_path)
    scale = f"preset {args.preset}: {preset.titles} titles, up to {preset.members} members, {preset.days} days, seed {args.seed}, {device}"
    plot(rows, f"SASRec scaling ({scale})", png)
    for law in laws:
        print(
            f"{law['over']:>6} {law['curve']}: L_inf {law['l_inf']:.4f}, A {law['a']:.4g}, "
            f"alpha {law['alpha']:.3f}; best measured {law['best_loss']:.4f} "
            f"({law['gap_to_l_inf']:.4f} above L_inf)"
            + (" [alpha at its bound: no floor in range]" if law["alpha_at_bound"] else "")
        )
    for path in (csv_path, fits_path, png):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
