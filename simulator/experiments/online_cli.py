"""``python -m simulator.experiments online``: the online experiment's command line, CSV and
figure (simulator/experiments/online.py has the protocol).

Writes ``<out>/online-experiment.csv`` (one row per mode and simulated day) and
``<out>/online-experiment.png``.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from simulator.arguments import number
from simulator.experiments.online import ARMS, MODES, PRESETS, OnlineResult, online_experiment
from simulator.experiments.runs import write_csv

NAME = "online-experiment"
COLOURS = {"control": "tab:blue", "candidate": "tab:orange"}


def _band(ax, rows, arm: str, metric: str, label: str) -> None:  # noqa: ANN001 - an Axes
    """Mean of ``metric`` per day for ``arm`` with its interval as a band."""
    days = [r["day"] for r in rows]
    mean = [float(r.get(f"{arm}_{metric}", math.nan)) for r in rows]
    low = [float(r.get(f"{arm}_{metric}_low", math.nan)) for r in rows]
    high = [float(r.get(f"{arm}_{metric}_high", math.nan)) for r in rows]
    ax.plot(days, mean, color=COLOURS[arm], label=label)
    ax.fill_between(days, low, high, color=COLOURS[arm], alpha=0.2, lw=0)


def _arm_label(rows: list[dict[str, object]], arm: str) -> str:
    row = rows[0]
    model = str(row[f"{arm}_model"])
    l2 = float(row[f"{arm}_l2"])  # type: ignore[arg-type]
    lam = "" if math.isnan(l2) else f", lambda {l2:g}"
    return f"{arm}: {model}{lam}"


def plot(result: OnlineResult, title: str, path: Path) -> Path:
    """The A/B readouts (primary per arm, its difference three ways, plays per visit,
    retention), the canary (primary per arm, the candidate's share), the sequential
    p-value of both modes, and the two models offline."""
    from simulator.experiments.__main__ import _pyplot

    plt = _pyplot()
    fig, grid = plt.subplots(2, 4, figsize=(17, 7.2))
    axes = list(grid.flat)
    modes = {m: r.rows for m, r in result.modes.items()}
    first = next(iter(modes.values()))
    labels = {arm: _arm_label(first, arm) for arm in COLOURS}
    panels = [
        ("ab", "minutes", "A/B 50/50: minutes per member per day"),
        ("ab", "plays_per_visit", "A/B: plays per visit"),
        ("ab", "retention", "A/B: retention (visited in the last N days)"),
        ("canary", "minutes", "canary: minutes per member per day"),
    ]
    for ax, (mode, metric, name) in zip((axes[0], axes[2], axes[3], axes[4]), panels, strict=True):
        rows = [r for r in modes.get(mode, []) if r["status"] == "running"]
        for arm in COLOURS:
            _band(ax, rows, arm, metric, labels[arm])
        ax.set_title(name, fontsize=10)
    axes[0].legend(fontsize=7)
    ax = axes[1]
    ab = modes.get("ab", [])
    days = [r["day"] for r in ab]
    for key, label, colour in (
        ("minutes", "fixed-horizon 95%", "tab:gray"),
        ("minutes_cuped", "CUPED 95%", "tab:green"),
    ):
        ax.plot(days, [float(r[f"{key}_diff"]) for r in ab], color=colour, lw=1)
        low, high = ([float(r[f"{key}_{b}"]) for r in ab] for b in ("low", "high"))
        ax.fill_between(days, low, high, color=colour, alpha=0.25, lw=0, label=label)
    for bound in ("low", "high"):
        ax.plot(days, [float(r[f"minutes_seq_{bound}"]) for r in ab], "--", color="tab:red",
                lw=1, label="always-valid (sequential, CUPED)" if bound == "low" else None)  # fmt: skip
    ax.axhline(0, color="black", lw=0.7)
    ax.set_title("A/B: candidate - control, minutes per member per day", fontsize=10)
    ax.legend(fontsize=7)
    ax = axes[5]
    canary = modes.get("canary", [])
    ax.step([r["day"] for r in canary], [float(r["share"]) for r in canary], where="post")
    for r in canary:
        if r.get("action") in ("advance", "rollback", "ship", "stop"):
            ax.annotate(str(r["action"]), (r["day"], float(r["share"])), fontsize=7)
    ax.set_yscale("symlog", linthresh=0.01)
    ax.set_ylim(0, 1.2)
    ax.set_title("canary: candidate's share of members", fontsize=10)
    ax = axes[6]
    for mode, rows in modes.items():
        live = [r for r in rows if r["status"] == "running"]
        ax.plot([r["day"] for r in live], [float(r["minutes_seq_p"]) for r in live], label=mode)
    if ab:
        ax.plot(days, [float(r["minutes_p"]) for r in ab], ":", color="tab:gray",
                label="ab, fixed-horizon p (not valid when peeking)")  # fmt: skip
    ax.axhline(0.05, color="black", lw=0.7, ls="--")
    ax.set_yscale("log")
    ax.set_title("always-valid p of the primary, each day", fontsize=10)
    ax.legend(fontsize=7)
    ax = axes[7]
    x = np.arange(2)
    for k, arm in enumerate(COLOURS):
        values = [float(first[0][f"{arm}_offline_ndcg"]), float(first[0][f"{arm}_offline_recall"])]
        bars = ax.bar(x + 0.38 * k, values, width=0.38, color=COLOURS[arm], label=labels[arm])
        ax.bar_label(bars, fmt="%.3f", fontsize=7)
    ax.set_xticks(x + 0.19, ["NDCG@10", "recall@10"])
    ax.set_title("offline, on the held-out 20% of the logs", fontsize=10)
    ax.legend(fontsize=7)
    for ax in axes:
        ax.tick_params(labelsize=8)
        if ax is not axes[7]:
            ax.set_xlabel("experiment day", fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=70)
    plt.close(fig)
    return path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m simulator.experiments online",
        description="An online experiment between two model versions trained on the same "
        "logs: hash assignment, daily readouts with intervals, CUPED, SRM, a sequential "
        "test, a 50/50 A/B test and a canary rollout; next to both models' offline metrics.",
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), default="default",
                        help="default: the documented run; small: seconds, for tests")  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("var/experiments"), help="output dir")
    parser.add_argument("--seed", type=number(int, minimum=0), default=0)
    parser.add_argument("--control", choices=[a for a in ARMS if a != "random"], default=None,
                        help="production's model (default: the preset's)")  # fmt: skip
    parser.add_argument("--candidate", choices=list(ARMS), default=None,
                        help="the model tried (default: the preset's)")  # fmt: skip
    parser.add_argument("--mode", choices=[*MODES, "both"], default="both")
    parser.add_argument("--days", type=number(int, minimum=1), default=None,
                        help="experiment days (default: the preset's)")  # fmt: skip
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    args = parser.parse_args(argv)
    preset = PRESETS[args.preset]
    settings = replace(preset.settings, seed=args.seed, progress=not args.no_progress)
    online = replace(
        preset.online,
        control=args.control or preset.online.control,
        candidate=args.candidate or preset.online.candidate,
        modes=MODES if args.mode == "both" else (args.mode,),
        days=args.days or preset.online.days,
    )
    if online.control == online.candidate:
        parser.error(f"argument --candidate: must differ from the control, {online.control!r}")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        parser.error(f"argument --out: cannot create {str(args.out)!r}: {error.strerror}")
    result = online_experiment(settings, online)
    csv_path, png = args.out / f"{NAME}.csv", args.out / f"{NAME}.png"
    write_csv(result.rows, csv_path)
    scale = (
        f"preset {args.preset}: {settings.members} members, {settings.titles} titles, "
        f"{settings.days} days of logs, {online.days} experiment days, seed {args.seed}"
    )
    plot(result, f"One online experiment ({scale})", png)
    for line in summary(result):
        print(line)
    for path in (csv_path, png):
        print(f"wrote {path}")
    return 0


def summary(result: OnlineResult) -> list[str]:
    """One line offline and one per mode: the last readout or the decision."""
    lines = []
    for arm, values in result.offline.items():
        lines.append(
            f"offline {arm}: NDCG@10 {values['ndcg@10']:.4f}, recall@10 {values['recall@10']:.4f}"
        )
    for mode, run in result.modes.items():
        live = [r for r in run.rows if r["status"] == "running"]
        last = live[-1]
        lines.append(
            f"{mode}: day {last['day']} minutes/member/day control {last['control_minutes']:.2f}"
            f" candidate {last['candidate_minutes']:.2f} (CUPED diff "
            f"{last['minutes_cuped_diff']:+.2f} [{last['minutes_cuped_low']:.2f}, "
            f"{last['minutes_cuped_high']:.2f}], always-valid p {last['minutes_seq_p']:.3g}); "
            f"{last['action']}: {last['reason']}"
        )
    return lines


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
