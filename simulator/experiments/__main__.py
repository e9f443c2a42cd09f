"""Command line of the teaching experiments: CSV and PNG figures for each.

Usage::

    python -m simulator.experiments feedback-loop [--members 300 --titles 500 --days 30]
    python -m simulator.experiments position-bias
    python -m simulator.experiments search-breaks-loop
    python -m simulator.experiments offline-vs-online
    python -m simulator.experiments all --out docs/figures
    python -m simulator.experiments context-sweep [--strengths 0,0.5,1,2 --online-days 7]
    python -m simulator.experiments exploration [--explore-slots 5 --artwork-policy thompson]
    python -m simulator.experiments logging-policy [--strengths 0,1,2 --online-days 7]
    python -m simulator.experiments ope-validation [--seeds 12]  (its own arguments: --help)
    python -m simulator.experiments scaling [--preset small --device cpu]  (its own: --help)
    python -m simulator.experiments online [--preset small --mode ab]  (its own: --help)

Each writes ``<out>/<experiment>.csv`` and ``<out>/<experiment>.png``. ``all`` runs the four
teaching experiments; the context sweep (which trains SASRec eight times) and the
exploration experiment (the explorer's bandits, ``recommender.bandits``) run on their own.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from simulator.arguments import number
from simulator.experiments.runs import (
    METRICS,
    POLICIES,
    Settings,
    by,
    feedback_loop,
    offline_vs_online,
    position_bias,
    search_breaks_loop,
    write_csv,
)

TEACHING = ("feedback-loop", "position-bias", "search-breaks-loop", "offline-vs-online")
"""What ``all`` runs."""
EXPERIMENTS = (*TEACHING, "context-sweep", "exploration", "logging-policy")
LABELS = {
    "homogenization": "homogenization (Jaccard)",
    "gini_exposure": "Gini of exposure",
    "coverage": "catalogue coverage",
    "satisfaction": "true satisfaction / visit",
    "retention": "retention",
    "plays_per_visit": "plays / visit",
    "minutes_per_visit": "minutes watched / visit",
    "search_share": "share of plays by search",
    "offline_ndcg": "offline NDCG@10 (logged)",
    "regret": "cumulative regret vs the oracle",
    "artwork_gap": "appeal lost vs each member's best variant",
}


def strength_list(text: str) -> tuple[float, ...]:
    """An argparse type: comma-separated context strengths, each a finite number >= 0."""
    parse = number(float, minimum=0)
    values = tuple(parse(part.strip()) for part in text.split(","))
    if len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"strengths must differ, got {text!r}")
    return values


def _pyplot():  # noqa: ANN202 - matplotlib.pyplot, imported late (slow, and headless)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_timeseries(
    rows: list[dict[str, object]], key: str, metrics: tuple[str, ...], title: str, path: Path
) -> Path:
    """One panel per metric, one line per ``key`` value, simulated day on the x axis."""
    plt = _pyplot()
    cols = 3
    n_rows = -(-len(metrics) // cols)
    fig, axes = plt.subplots(n_rows, cols, figsize=(4.2 * cols, 3.0 * n_rows), squeeze=False)
    for ax, metric in zip(axes.flat, metrics, strict=False):
        for name, group in by(rows, key).items():
            ax.plot([r["day"] for r in group], [r[metric] for r in group], label=str(name))
        ax.set_title(LABELS.get(metric, metric), fontsize=10)
        ax.set_xlabel("simulated day", fontsize=8)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def plot_position_bias(rows: list[dict[str, object]], settings: Settings, path: Path) -> Path:
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.2))
    grids = {}
    for setting, group in by(rows, "position_bias").items():
        grids[setting] = np.array([r["play_rate"] for r in group]).reshape(
            settings.rows, settings.slots
        )
    vmax = max(g.max() for g in grids.values())
    for ax, setting in zip(axes[:2], ("on", "off"), strict=True):
        im = ax.imshow(grids[setting], vmin=0, vmax=vmax, cmap="viridis")
        ax.set_title(f"play rate per slot, position bias {setting}", fontsize=10)
        ax.set_xlabel("column")
        ax.set_ylabel("row")
    fig.colorbar(im, ax=axes[:2], shrink=0.8)
    for setting, g in grids.items():
        axes[2].plot(g.sum(axis=0) / g.sum(), marker="o", label=f"by column, bias {setting}")
        axes[2].plot(g.sum(axis=1) / g.sum(), marker="s", label=f"by row, bias {setting}")
    axes[2].set_title("share of page plays by position", fontsize=10)
    axes[2].set_xlabel("row or column")
    axes[2].legend(fontsize=7)
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_offline_online(rows: list[dict[str, object]], path: Path) -> Path:
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, metric in zip(axes, ("satisfaction", "retention"), strict=True):
        for r in rows:
            ax.scatter(r["offline_ndcg"], r[metric])
            ax.annotate(str(r["model"]), (r["offline_ndcg"], r[metric]), fontsize=8)
        ax.set_xlabel("offline NDCG@10 on logged data")
        ax.set_ylabel(f"online {LABELS[metric]}")
        ax.set_title(f"offline metric vs true online {metric}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def plot_context_sweep(rows: list[dict[str, object]], title: str, path: Path) -> Path:
    """Offline and online quality of each model against the context strength."""
    plt = _pyplot()
    panels = (
        ("offline_next_ndcg", "offline: next-play NDCG@10"),
        ("offline_ndcg", "offline: NDCG@10 per member"),
        ("satisfaction", "online: true satisfaction / visit"),
        ("online_headroom", "online: share of random -> oracle"),
    )
    fig, grid = plt.subplots(2, 2, figsize=(9.5, 7.0))
    axes = list(grid.flat)
    for ax, (metric, label) in zip(axes, panels, strict=True):
        for name, group in by(rows, "model").items():
            values = [float(r[metric]) for r in group]
            if all(np.isnan(values)):
                continue
            style = "--" if name in ("random", "oracle") else "-"
            strengths = [float(r["context_strength"]) for r in group]
            ax.plot(strengths, values, style, marker="o", label=str(name))
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("context strength", fontsize=8)
        ax.tick_params(labelsize=8)
    axes[2].legend(fontsize=7, loc="lower right")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def plot_logging_policy(rows: list[dict[str, object]], title: str, path: Path) -> Path:
    """Each model's offline and online quality against the context strength, a solid line
    for logs gathered under exploration and a dashed one for the greedy loop's logs."""
    plt = _pyplot()
    panels = (
        ("offline_next_ndcg", "offline: next-play NDCG@10"),
        ("online_headroom", "online: share of random -> oracle"),
    )
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.0))
    colours: dict[str, str] = {}
    for ax, (metric, label) in zip(axes, panels, strict=True):
        for (logging, name), group in by(
            [{**r, "key": (r["logging"], r["model"])} for r in rows], "key"
        ).items():
            values = [float(r[metric]) for r in group]
            if name in ("random", "oracle") or all(np.isnan(values)):
                continue
            strengths = [float(r["context_strength"]) for r in group]
            style = "-" if logging == "explore" else "--"
            (line,) = ax.plot(
                strengths,
                values,
                style,
                marker="o",
                color=colours.get(str(name)),
                label=f"{name}, {logging} logs",
            )
            colours.setdefault(str(name), line.get_color())
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("context strength", fontsize=8)
        ax.tick_params(labelsize=8)
    axes[1].legend(fontsize=7)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def plot_exploration(rows: list[dict[str, object]], title: str, path: Path) -> Path:
    """The page explorers' metrics over the days, then the artwork arms' plays and regret."""
    from simulator.experiments.exploration import PAGE_METRICS

    plt = _pyplot()
    panels = [("pages", m) for m in PAGE_METRICS] + [
        ("artwork", m) for m in ("plays_per_visit", "regret", "artwork_gap")
    ]
    cols = 3
    n_rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(n_rows, cols, figsize=(4.2 * cols, 3.0 * n_rows), squeeze=False)
    experiments = by(rows, "experiment")
    for ax, (experiment, metric) in zip(axes.flat, panels, strict=False):
        for name, group in by(experiments.get(experiment, []), "policy").items():
            style = "--" if "oracle" in str(name) else "-"
            ax.plot([r["day"] for r in group], [r[metric] for r in group], style, label=str(name))
        label = LABELS.get(metric, metric)
        if experiment == "artwork":
            label = f"artwork: {label}" + (" plays" if metric == "regret" else "")
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("simulated day", fontsize=8)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    axes.flat[len(PAGE_METRICS)].legend(fontsize=7)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def run(
    name: str,
    settings: Settings,
    out: Path,
    *,
    strengths: tuple[float, ...] | None = None,
    online_days: int = 7,
    explore: object | None = None,
) -> list[Path]:
    """Run experiment ``name`` and write its CSV and PNG to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    csv_path, png = out / f"{name}.csv", out / f"{name}.png"
    scale = f"{settings.members} members, {settings.titles} titles, {settings.days} days, seed {settings.seed}"
    if name == "feedback-loop":
        rows = feedback_loop(settings)
        plot_timeseries(
            rows, "policy", METRICS, f"Feedback loop: {len(POLICIES)} policies ({scale})", png
        )
    elif name == "search-breaks-loop":
        rows = search_breaks_loop(settings)
        plot_timeseries(
            rows,
            "policy",
            ("homogenization", "coverage", "gini_exposure", "satisfaction", "search_share",
             "retention"),
            f"Greedy loop with search off, at default, frequent ({scale})",
            png,
        )  # fmt: skip
    elif name == "position-bias":
        rows = position_bias(settings)
        plot_position_bias(rows, settings, png)
    elif name == "offline-vs-online":
        rows = offline_vs_online(settings)
        plot_offline_online(rows, png)
    elif name == "context-sweep":
        from simulator.experiments.context_sweep import STRENGTHS, context_sweep

        rows = context_sweep(settings, strengths or STRENGTHS, online_days=online_days)
        title = f"Context strength sweep ({scale}, then {online_days} days online)"
        plot_context_sweep(rows, title, png)
    elif name == "logging-policy":
        from simulator.experiments.context_sweep import STRENGTHS, logging_policy_sweep

        rows = logging_policy_sweep(settings, strengths or STRENGTHS, online_days=online_days)
        title = (
            f"Logs from the greedy loop vs with exploration (epsilon {settings.epsilon:g}; "
            f"{scale}, then {online_days} days online)"
        )
        plot_logging_policy(rows, title, png)
    elif name == "exploration":
        from simulator.experiments.exploration import ExplorationSettings, exploration

        explore = explore or ExplorationSettings()
        rows = exploration(settings, explore)  # type: ignore[arg-type]
        title = (
            f"Exploration ({scale}; explorers in {explore.explore_slots} top-row slots, "  # type: ignore[attr-defined]
            f"artwork bandit {explore.artwork_policy})"  # type: ignore[attr-defined]
        )
        plot_exploration(rows, title, png)
    else:
        raise ValueError(f"unknown experiment {name!r}; choose from {', '.join(EXPERIMENTS)}")
    write_csv(rows, csv_path)
    return [csv_path, png]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["ope-validation"]:  # its own arguments: ope-validation --help
        from simulator.experiments.ope_validation.cli import main as ope_validation

        return ope_validation(argv[1:])
    if argv[:1] == ["scaling"]:  # its own arguments: scaling --help
        from simulator.experiments.scaling_cli import main as scaling

        return scaling(argv[1:])
    if argv[:1] == ["online"]:  # its own arguments: online --help
        from simulator.experiments.online_cli import main as online

        return online(argv[1:])
    defaults = Settings()
    parser = argparse.ArgumentParser(
        prog="python -m simulator.experiments",
        description="Teaching experiments run in-process; each writes a CSV and a PNG. "
        "Also: ope-validation, scaling and online (see their --help).",
    )
    parser.add_argument("experiment", choices=[*EXPERIMENTS, "all"], help="what to run")
    parser.add_argument("--out", type=Path, default=Path("var/experiments"), help="output dir")
    parser.add_argument("--titles", type=number(int, minimum=50), default=defaults.titles)
    parser.add_argument("--members", type=number(int, minimum=2), default=defaults.members)
    parser.add_argument("--days", type=number(int, minimum=2), default=defaults.days)
    parser.add_argument("--rows", type=number(int, minimum=1), default=defaults.rows)
    parser.add_argument("--slots", type=number(int, minimum=1), default=defaults.slots)
    parser.add_argument("--seed", type=number(int, minimum=0), default=defaults.seed)
    parser.add_argument(
        "--activity-scale",
        type=number(float, minimum=0, inclusive=False),
        default=defaults.activity_scale,
        help="visits per day multiplier",
    )
    parser.add_argument(
        "--epsilon",
        type=number(float, minimum=0),
        default=defaults.epsilon,
        help="exploration share of epsilon-greedy, in [0, 1]",
    )
    parser.add_argument("--model", default=defaults.model, help="recommender kind of greedy")
    parser.add_argument(
        "--strengths",
        type=strength_list,
        default=None,
        help="context-sweep, logging-policy: comma-separated context strengths (default 0,0.5,1,2)",
    )
    parser.add_argument(
        "--online-days",
        type=number(int, minimum=1),
        default=7,
        help="context-sweep, logging-policy: days each model serves online",
    )
    parser.add_argument(
        "--explore-slots",
        type=number(int, minimum=1),
        default=None,
        help="exploration: top-row positions the explorer fills (default 5)",
    )
    parser.add_argument(
        "--artwork-policy",
        default=None,
        help="exploration: the artwork bandit's recommender.bandits policy (default linucb)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    args = parser.parse_args(argv)
    if args.epsilon > 1:
        parser.error(f"argument --epsilon: must be at most 1, got {args.epsilon}")
    from simulator.experiments.policies import MODELS  # the recommender's registry

    if args.model not in MODELS:
        parser.error(f"argument --model: unknown kind {args.model!r}; choose from {sorted(MODELS)}")
    if args.rows * args.slots * 2 > args.titles:
        parser.error(
            f"argument --titles: pages of {args.rows} x {args.slots} need at least "
            f"{2 * args.rows * args.slots} titles (twice a page), got {args.titles}"
        )
    try:  # before the runs: a path that cannot be written fails now, not after them
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        parser.error(f"argument --out: cannot create {str(args.out)!r}: {error.strerror}")
    settings = Settings(
        titles=args.titles,
        members=args.members,
        days=args.days,
        rows=args.rows,
        slots=args.slots,
        seed=args.seed,
        activity_scale=args.activity_scale,
        epsilon=args.epsilon,
        model=args.model,
        progress=not args.no_progress,
    )
    explore = None
    if args.experiment == "exploration":
        explore = _exploration_settings(parser, args)
    names = TEACHING if args.experiment == "all" else (args.experiment,)
    for name in names:
        for path in run(
            name,
            settings,
            args.out,
            strengths=args.strengths,
            online_days=args.online_days,
            explore=explore,
        ):
            print(f"wrote {path}")
    return 0


def _exploration_settings(parser: argparse.ArgumentParser, args: argparse.Namespace) -> object:
    """The exploration experiment's settings from ``args``; a bad value is a parser error."""
    from recommender.bandits import POLICIES as BANDITS
    from simulator.experiments.exploration import PAGE_POLICIES, ExplorationSettings

    defaults = ExplorationSettings()
    slots = defaults.explore_slots if args.explore_slots is None else args.explore_slots
    if slots > args.slots:
        parser.error(f"argument --explore-slots: at most --slots ({args.slots}), got {slots}")
    policy = args.artwork_policy or defaults.artwork_policy
    if policy not in BANDITS:
        parser.error(
            f"argument --artwork-policy: unknown policy {policy!r}; choose from "
            f"{', '.join(sorted(BANDITS))}"
        )
    missing = [p for p in PAGE_POLICIES if p not in ("greedy", "oracle") and p not in BANDITS]
    if missing:
        parser.error(f"recommender.bandits has no {', '.join(missing)} policy yet")
    return ExplorationSettings(explore_slots=slots, artwork_policy=policy, epsilon=args.epsilon)


if __name__ == "__main__":
    sys.exit(main())
