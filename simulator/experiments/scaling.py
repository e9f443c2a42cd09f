"""Scaling: SASRec's size (width, depth) against next-play quality on logs of growing size.

Large sequential recommenders are judged the way language models are: the held-out loss
falls as a power law of the data (and of the parameters) towards a floor, fitted with an
offset power law ``L(N) = L_inf + A * N^-alpha`` (Kaplan et al. 2020; Hoffmann et al. 2022;
for recommendation, Zhang et al., *Scaling Law of Large Sequential Recommendation Models*,
2024, which the seeds' 1B-parameter foundation-model paper follows). ``L_inf`` is the loss
no amount of data brings the model below: where the measured loss is already close to it,
the task (here: the simulator's members, whose plays are partly random) is near its ceiling
for that model, and more data buys little; where ``A * N^-alpha`` is still large, it does.

Protocol (:func:`scaling`): one simulated month under the dataset's logging policy, split in
time at 80%. The test requests are the same for every fit: a seeded sample of the post-cut
plays of every member (each a title new to the member, seen titles excluded, as in
``recommender.metrics.evaluate_next_play``), each scored from the member's pre-cut plays and
earlier test plays. SASRec scores from histories, so a member it never trained on is scored
like any other. Training sets grow by members: the pre-cut plays of the first M members,
nested, so a larger set holds every smaller one; every title is in every model's catalogue
(from metadata), so every softmax is over the same titles. Each model size is fitted on each
set with the recommender's own early stopping (patience 5, at least 60 steps, each
member's last training play held out to choose the epoch; with 200 steps the smallest sets
overfit to a loss above the uniform one's). Per point:

- **loss**: mean next-play cross-entropy, ``-log softmax(scores)[target]`` over the titles
  not yet played (the scores are SASRec's logits; its training loss is the same softmax);
- **MRR**: mean reciprocal rank of the target (``next_mrr``).

Then one offset power law per model size over N (training plays), and one over the
parameter count at the largest N. :func:`fit_offset_power_law` is the fit: for a fixed
``alpha`` the law is linear in ``(L_inf, A)``, solved by least squares; ``alpha`` is chosen
by a grid search on a log scale refined by golden-section search (numpy only: scipy is not a
dependency).
"""

from __future__ import annotations

import itertools
import math
import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from recommender import Interactions, ItemMetadata, SASRecConfig, SASRecRecommender, time_split
from recommender.base import Recommender
from recommender.runtime import torch_threads
from recommender.sasrec import resolve_torch_device
from simulator.experiments.context_sweep import _item_metadata
from simulator.experiments.runs import Settings
from simulator.runner import LoggingPolicy

SCORE_BATCH = 256
"""Next-play requests scored per call."""


@dataclass(frozen=True)
class Preset:
    """One scale of the experiment: the world, the training-set sizes and the model sizes."""

    titles: int
    """Titles in the world."""
    members: int
    """Members in the world; the largest training set has them all."""
    days: int
    """Simulated days of the log."""
    sizes: tuple[int, ...]
    """Training sets: the first M members' pre-cut plays, for each M."""
    widths: tuple[int, ...]
    """SASRec ``dim`` values."""
    depths: tuple[int, ...]
    """SASRec ``blocks`` values."""
    max_requests: int
    """Test requests sampled from every member's post-cut plays (seeded)."""
    max_epochs: int
    """Cap on epochs of each fit (early stopping usually ends it sooner)."""
    repeats: int
    """Fits of each (size, model) with different seeds; the laws are fitted to their mean."""


PRESETS: dict[str, Preset] = {
    "tiny": Preset(60, 40, 10, (10, 20, 40), (4, 8, 12), (1,), 200, 2, 1),
    "small": Preset(
        300, 1200, 30, (19, 38, 75, 150, 300, 600, 1200), (16, 32, 64), (1, 2), 3000, 30, 2
    ),
    "large": Preset(
        2000, 16000, 30, (500, 1000, 2000, 4000, 8000, 16000), (32, 64, 128, 256), (1, 2, 4),
        10000, 60, 2,
    ),
}  # fmt: skip
"""``tiny``: the smoke test (seconds); ``small``: a few minutes on CPU; ``large``: a GPU."""


@dataclass(frozen=True)
class PowerLawFit:
    """``L(N) = l_inf + a * N ** -alpha`` fitted to points (N, L)."""

    l_inf: float
    a: float
    alpha: float
    rmse: float
    """Root mean squared error of the fit over the points."""
    at_bound: bool = False
    """Alpha ended at an end of its range: the points show no curvature to place a floor by
    (near the lower end the law is a straight line in log N, and l_inf is arbitrary)."""

    def __call__(self, n: np.ndarray | float) -> np.ndarray:
        return self.l_inf + self.a * np.asarray(n, np.float64) ** -self.alpha


def fit_offset_power_law(
    n: np.ndarray, loss: np.ndarray, *, alpha_range: tuple[float, float] = (1e-3, 4.0)
) -> PowerLawFit:
    """Least-squares offset power law through points ``(n[i], loss[i])`` (3 or more, n > 0).

    Given alpha, ``(l_inf, a)`` solve a linear least-squares problem in closed form; the
    residual is then a function of alpha alone, minimised over ``alpha_range`` by a log grid
    and golden-section refinement around the best grid point. ``a`` is kept >= 0 (loss that
    falls with more data), else the best plain constant is returned with ``a = 0``.
    """
    n, loss = np.asarray(n, np.float64), np.asarray(loss, np.float64)
    if n.shape != loss.shape or n.ndim != 1 or len(n) < 3:
        raise ValueError(f"need 3 or more (n, loss) points of the same shape, got {n.shape}")
    if not (np.all(n > 0) and np.all(np.isfinite(loss))):
        raise ValueError("n must be positive and loss finite")
    scale = float(n.max())  # fit on n / max(n): keeps n ** -alpha in a sane range

    def solve(alpha: float) -> tuple[float, float, float]:
        x = (n / scale) ** -alpha
        design = np.stack([np.ones_like(x), x], 1)
        (c, b), *_ = np.linalg.lstsq(design, loss, rcond=None)
        if b < 0:
            c, b = float(loss.mean()), 0.0
        residual = float(np.mean((c + b * x - loss) ** 2))
        return residual, float(c), float(b)

    low, high = math.log(alpha_range[0]), math.log(alpha_range[1])
    grid = np.linspace(low, high, 200)
    errors = [solve(math.exp(g))[0] for g in grid]
    best = int(np.argmin(errors))
    a_, b_ = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(60):  # golden section on log(alpha)
        c_, d_ = b_ - ratio * (b_ - a_), a_ + ratio * (b_ - a_)
        if solve(math.exp(c_))[0] < solve(math.exp(d_))[0]:
            b_ = d_
        else:
            a_ = c_
    alpha = math.exp((a_ + b_) / 2)
    residual, l_inf, b = solve(alpha)
    # back from n / scale: b * (n / scale) ** -alpha = (b * scale ** alpha) * n ** -alpha
    at_bound = not alpha_range[0] * 1.5 < alpha < alpha_range[1] / 1.5
    return PowerLawFit(l_inf, b * scale**alpha, alpha, math.sqrt(residual), at_bound)


def simulated_log(preset: Preset, seed: int) -> tuple[Interactions, ItemMetadata]:
    """The preset's days of its world under the dataset's logging policy (simulator.dataset),
    and every title's metadata."""
    settings = Settings(titles=preset.titles, members=preset.members, days=preset.days, seed=seed)
    world = settings.world()
    plays = settings.runner(world).run(LoggingPolicy(world, rows=4, slots=10)).plays()
    ids = np.array([t.external_id for t in world.titles], dtype=object)
    log = Interactions.from_records(
        plays["member"].astype(str),
        ids[plays["title"]],
        plays["at"].astype(np.float64),
        np.maximum(plays["watched_fraction"], 1e-6),
    )
    return log, _item_metadata(world)


def next_play_quality(
    model: Recommender, train: Interactions, test: Interactions, *, max_requests: int, seed: int
) -> dict[str, float]:
    """Mean next-play cross-entropy (``loss``) and ``mrr`` over one request per test play of a
    title new to the member (history: training plays and earlier test plays; seen titles
    excluded from the softmax and the ranking; ties ranked pessimistically), a seeded sample
    of at most ``max_requests``: the requests of recommender.metrics.evaluate_next_play."""
    history: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for user, item, t in zip(train.user_ids, train.item_ids, train.timestamps, strict=True):
        history[user].append((item, float(t)))
    for plays in history.values():
        plays.sort(key=lambda play: play[1])
    requests: list[tuple[str, str, float, int]] = []
    for row in np.lexsort((test.timestamps, test.user_ids.astype(str))):
        user, item, t = test.user_ids[row], test.item_ids[row], float(test.timestamps[row])
        before = history[user]
        if item not in {i for i, _ in before}:
            requests.append((user, item, t, len(before)))
        before.append((item, t))
    if len(requests) > max_requests:
        keep = np.random.default_rng(seed).choice(len(requests), max_requests, replace=False)
        requests = [requests[r] for r in np.sort(keep)]
    column = {item: col for col, item in enumerate(model.item_ids)}
    losses, reciprocal = [], []
    for start in range(0, len(requests), SCORE_BATCH):
        batch = requests[start : start + SCORE_BATCH]
        histories = [history[user][:n] for user, _, _, n in batch]
        scores = np.asarray(
            model.score(
                [u for u, _, _, _ in batch],
                at=np.array([t for _, _, t, _ in batch]),
                histories=histories,
            ),
            np.float64,
        ).copy()  # (B, I) logits
        for row, ((_, item, _, _), plays) in enumerate(zip(batch, histories, strict=True)):
            scores[row, [column[i] for i, _ in plays if i in column]] = -np.inf
            if item not in column:
                losses.append(math.log(len(column)))  # a title the model never saw: uniform
                reciprocal.append(0.0)
                continue
            target = scores[row, column[item]]
            top = scores[row].max()
            log_z = top + math.log(np.exp(scores[row] - top).sum())
            losses.append(log_z - target)
            rank = int((scores[row] > target).sum() + (scores[row] == target).sum() - 1)
            reciprocal.append(1.0 / (rank + 1))
    return {
        "loss": float(np.mean(losses)),
        "mrr": float(np.mean(reciprocal)),
        "requests": len(requests),
    }


def parameter_count(model: SASRecRecommender) -> tuple[int, int]:
    """(all parameters, non-embedding ones: without the per-title ID table and the tower)."""
    assert model.net is not None
    total = sum(p.numel() for p in model.net.parameters())
    embedding = model.net.item_embedding.numel()
    if model.net.tower is not None:
        embedding += sum(p.numel() for p in model.net.tower.parameters())
    return int(total), int(total - embedding)


def scaling(
    preset: Preset, *, seed: int = 0, device: str = "cpu", progress: bool = False
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Run the protocol of the module docstring: (one row per fit, one row per fitted law).

    ``device``: SASRec's ``torch_device`` for every fit and its scoring ("cpu", "cuda",
    "cuda:N"; resolve "auto" with :func:`resolve_device` first). On the CPU the fits run on
    one torch thread: these models are small, and on a shared machine a second thread that
    competes for a core slows them down many times over."""
    if device != "cpu":
        return _scaling(preset, seed=seed, device=device, progress=progress)
    with torch_threads(1):
        return _scaling(preset, seed=seed, device=device, progress=progress)


def _scaling(
    preset: Preset, *, seed: int, device: str, progress: bool
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    log, items = simulated_log(preset, seed)
    train, test = time_split(log, holdout_fraction=0.2)
    members = np.array([str(m) for m in range(preset.members)], dtype=object)
    rows: list[dict[str, object]] = []
    for size in preset.sizes:
        subset = train.select(np.flatnonzero(np.isin(train.user_ids, members[:size])))
        for depth, width, repeat in itertools.product(
            preset.depths, preset.widths, range(preset.repeats)
        ):
            config = SASRecConfig(
                dim=width,
                blocks=depth,
                heads=1,
                max_len=50,
                refit=False,
                max_epochs=preset.max_epochs,
                min_steps=min(60, preset.max_epochs * 10),
                patience=5,
                validation_members=min(1000, size),  # every member's last play: less noise
                seed=seed + repeat,
                torch_device=device,
            )
            start = time.perf_counter()
            model = SASRecRecommender(config).fit(
                subset, items=items, rng=np.random.default_rng([seed, 7, repeat])
            )  # every title, played or not: the same softmax for every training size
            fit_s = time.perf_counter() - start
            quality = next_play_quality(  # histories from every member's pre-cut plays
                model, train, test, max_requests=preset.max_requests, seed=seed
            )
            params, non_embedding = parameter_count(model)
            rows.append(
                {
                    "model": f"d{width}x{depth}",
                    "dim": width,
                    "blocks": depth,
                    "repeat": repeat,
                    "params": params,
                    "non_embedding_params": non_embedding,
                    "members": size,
                    "train_plays": len(subset),
                    "loss": quality["loss"],
                    "mrr": quality["mrr"],
                    "requests": quality["requests"],
                    "epochs": model.config.extra.get("epochs_run", math.nan),
                    "fit_s": round(fit_s, 2),
                }
            )
            if progress:
                print(
                    f"  {rows[-1]['model']:>7} on {len(subset):>7} plays: loss "
                    f"{quality['loss']:.4f}, MRR {quality['mrr']:.4f} ({fit_s:.1f} s)",
                    flush=True,
                )
    return rows, fit_laws(rows)


def mean_rows(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """One row per (model, training set): loss and MRR averaged over the repeats."""
    groups: dict[tuple[str, int], list[dict[str, object]]] = defaultdict(list)
    for row in rows:
        groups[(str(row["model"]), int(row["train_plays"]))].append(row)
    return [
        {
            **{k: group[0][k] for k in ("model", "dim", "blocks", "params", "train_plays")},
            "loss": float(np.mean([r["loss"] for r in group])),
            "mrr": float(np.mean([r["mrr"] for r in group])),
            "loss_spread": float(np.ptp([r["loss"] for r in group])),
            "repeats": len(group),
        }
        for group in groups.values()
    ]


def fit_laws(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """An offset power law of the mean loss over training plays per model size (3+ sizes),
    and one over parameters at the largest training set (3+ model sizes)."""
    rows = mean_rows(rows)
    laws: list[dict[str, object]] = []
    by_model: dict[str, list[dict[str, object]]] = defaultdict(list)
    for row in rows:
        by_model[str(row["model"])].append(row)
    for name, group in by_model.items():
        if len(group) >= 3:
            fit = fit_offset_power_law(
                np.array([r["train_plays"] for r in group], np.float64),
                np.array([r["loss"] for r in group], np.float64),
            )
            laws.append(_law_row("data", name, group, "train_plays", fit))
    largest = max(int(r["train_plays"]) for r in rows)
    top = sorted((r for r in rows if r["train_plays"] == largest), key=lambda r: r["params"])
    if len(top) >= 3:
        fit = fit_offset_power_law(
            np.array([r["params"] for r in top], np.float64),
            np.array([r["loss"] for r in top], np.float64),
        )
        laws.append(_law_row("params", f"all sizes at {largest} plays", top, "params", fit))
    return laws


def _law_row(
    over: str, curve: str, group: list[dict[str, object]], x: str, fit: PowerLawFit
) -> dict[str, object]:
    measured = float(min(r["loss"] for r in group))
    return {
        "over": over,
        "curve": curve,
        "points": len(group),
        "largest_x": max(int(r[x]) for r in group),
        "l_inf": fit.l_inf,
        "a": fit.a,
        "alpha": fit.alpha,
        "rmse": fit.rmse,
        "alpha_at_bound": fit.at_bound,
        "best_loss": measured,
        "gap_to_l_inf": measured - fit.l_inf,
    }


def resolve_device(name: str) -> str:
    """The device SASRec's ``torch_device`` makes of ``name`` ("cpu", "cuda", "cuda:N";
    "auto": cuda when torch sees a GPU, else cpu); ValueError naming a bad or absent one."""
    SASRecConfig(torch_device=name)  # the config's own check, so the two never disagree
    return str(resolve_torch_device(name))
