"""The context sweep: do models that read context win where context matters, and only there?

Steck et al. (2021) found that deep models beat tuned simple baselines only when they get
heterogeneous features, time above all. The simulator's members choose by context the
platform can observe (the hour and weekday, the device, the time since their last visit, a
series in progress), all scaled by one knob, ``BehaviourConfig.context_strength``. For each
strength in a grid, :func:`context_sweep` logs a month under the dataset's logging policy,
fits popularity, EASE, SASRec and SASRec without its time features on the first 80% of the
plays (through the recommender's model contract) and measures each

- **offline**: the next-play protocol of ``recommender.metrics.evaluate_next_play`` on the
  last 20% (each test play is a request at its own time with the member's history before
  it: where time and order can matter), and NDCG@10 of ``recommender.evaluate`` (each
  member scored once against all their test plays);
- **online**: deployed, never retrained, to a copy of the population for ``online_days``,
  scoring each visit at its time with the member's plays so far (as the platform's ranker
  does), by true satisfaction, minutes and plays per visit and retention.

SASRec with ``use_device`` also reads each play's device and the request's: the row
"sasrec-device". The others ignore the device, so for them that half of the context is signal
left on the table.

**The logging policy** (:func:`logging_policy_sweep`): the same sweep with the month's logs
gathered not by the dataset's half-random logging policy but by the greedy loop itself
(the recommender retrained every night on its own exposures) or by the loop with
exploration (epsilon-greedy: each slot a random available title with probability
``settings.epsilon``). Every model is then fitted on logs that the greedy model's exposure
shaped: what it never showed, nobody played from a page, so no model can learn it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import timedelta
from functools import partial

import numpy as np
from tqdm import tqdm

from recommender import MODELS, Interactions, ItemMetadata, time_split
from recommender.metrics import evaluate, evaluate_next_play
from simulator.behaviour import Population
from simulator.experiments.policies import (
    EpsilonGreedyPolicy,
    ExperimentPolicy,
    GreedyPolicy,
    ModelPolicy,
    OraclePolicy,
    RandomPolicy,
    model_config,
)
from simulator.experiments.runs import Settings
from simulator.runner import LoggingPolicy, PopulationRunner, VisitLog
from simulator.world import DEVICES, World

STRENGTHS: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0)
"""The grid of ``context_strength`` values the sweep runs."""
SWEEP_MODELS: dict[str, tuple[str, dict[str, object]]] = {
    "popularity": ("popularity", {}),
    "ease": ("ease", {}),
    "sasrec": ("sasrec", {}),
    "sasrec-no-time": ("sasrec", {"use_time": False}),
    "sasrec-device": ("sasrec", {"use_device": True}),
}
"""Row name -> (recommender kind, config overrides): SASRec without time is the ablation,
SASRec with the device the one model that reads every kind of observable context."""
LOGGERS: tuple[str, ...] = ("dataset", "greedy", "explore")
"""Who gathers the month of logs: the dataset's logging policy, the greedy loop, the loop
with epsilon-greedy exploration."""
NEXT_PLAY_REQUESTS = 2000
"""Test plays sampled for the next-play protocol (one full ranking each)."""


def context_sweep(
    settings: Settings,
    strengths: tuple[float, ...] = STRENGTHS,
    *,
    online_days: int = 7,
    next_play_requests: int = NEXT_PLAY_REQUESTS,
    models: dict[str, tuple[str, dict[str, object]]] | None = None,
    logging: str = "dataset",
) -> list[dict[str, object]]:
    """One row per (strength, model): offline and online quality, plus random pages and the
    oracle online as references (offline NaN). Every strength has the same world, seed,
    visit times and devices; only what members choose differs. ``models``: row name ->
    (recommender kind, config overrides), default :data:`SWEEP_MODELS`; ``logging``: who
    gathers the logs (:data:`LOGGERS`)."""
    if logging not in LOGGERS:
        raise ValueError(f"logging must be one of {', '.join(LOGGERS)}, got {logging!r}")
    models = SWEEP_MODELS if models is None else models
    world = settings.world()
    shape = {"rows": settings.rows, "slots": settings.slots}
    items = _item_metadata(world)
    ids = np.array([t.external_id for t in world.titles], dtype=object)
    nan = float("nan")
    rows: list[dict[str, object]] = []
    for strength in tqdm(strengths, disable=not settings.progress, desc="context strengths"):
        runner = settings.runner(world, settings.behaviour(context_strength=strength))
        plays = _gather_logs(runner, world, settings, logging).plays()
        interactions = Interactions.from_records(
            plays["member"].astype(str),
            ids[plays["title"]],
            plays["at"].astype(np.float64),
            np.maximum(plays["watched_fraction"], 1e-6),
            np.array(DEVICES, dtype=object)[plays["device"]],
        )
        train, test = time_split(interactions, holdout_fraction=0.2)
        base = {"context_strength": strength, "context_rank_corr": rank_correlation(runner)}
        for name, (kind, overrides) in models.items():
            rng = np.random.default_rng([settings.seed, 3])  # the same start for every model
            model = MODELS[kind](model_config(kind, overrides)).fit(train, items=items, rng=rng)
            per_member = evaluate(model, train, test, k=10)
            next_play = evaluate_next_play(
                model, train, test, k=10, max_requests=next_play_requests
            ).means()
            serve = partial(ModelPolicy, world, model, name=name, history=plays, **shape)
            online = deploy(runner, online_days, lambda log, _, serve=serve: serve(log=log))
            rows.append(
                {
                    **base,
                    "model": name,
                    "offline_next_ndcg": next_play["next_ndcg@10"],
                    "offline_next_hr": next_play["next_hr@10"],
                    "offline_ndcg": per_member["ndcg@10"],
                    **online,
                }
            )
        references: dict[str, Callable[[VisitLog, Population], ExperimentPolicy]] = {
            "random": lambda log, population: RandomPolicy(world, **shape),
            "oracle": lambda log, population: OraclePolicy(world, population, **shape),
        }
        for name, make in references.items():
            rows.append(
                {
                    **base,
                    "model": name,
                    "offline_next_ndcg": nan,
                    "offline_next_hr": nan,
                    "offline_ndcg": nan,
                    **deploy(runner, online_days, make),
                }
            )
        _add_headroom(rows[-len(models) - len(references) :])
    return rows


def _gather_logs(
    runner: PopulationRunner, world: World, settings: Settings, logging: str
) -> VisitLog:
    """The month of logs of ``runner`` under the logging policy named ``logging``."""
    shape = {"rows": settings.rows, "slots": settings.slots}
    if logging == "dataset":
        return runner.run(LoggingPolicy(world, **shape))
    policy: GreedyPolicy
    if logging == "greedy":
        policy = GreedyPolicy(world, model=settings.model, **shape)
    else:
        policy = EpsilonGreedyPolicy(world, model=settings.model, epsilon=settings.epsilon, **shape)
    rng = np.random.default_rng([settings.seed, 4])
    return runner.run(policy, on_day_end=lambda day, log: policy.end_of_day(day, log, rng))


def logging_policy_sweep(
    settings: Settings,
    strengths: tuple[float, ...] = STRENGTHS,
    *,
    loggers: tuple[str, ...] = ("greedy", "explore"),
    **kw: object,
) -> list[dict[str, object]]:
    """:func:`context_sweep` once per logging policy of ``loggers``; each row says which in
    ``logging``. ``kw`` go to :func:`context_sweep`."""
    rows: list[dict[str, object]] = []
    for logging in loggers:
        part = context_sweep(settings, strengths, logging=logging, **kw)  # type: ignore[arg-type]
        rows += [{"logging": logging, **r} for r in part]
    return rows


def _add_headroom(rows: list[dict[str, object]]) -> None:
    """Give the rows of one strength ``online_headroom``: the share of the way from random
    pages to the oracle that each policy's satisfaction goes. Context raises every policy's
    satisfaction (members find more that fits the moment), so across strengths this, not
    the raw value, compares models."""
    by_name = {r["model"]: float(r["satisfaction"]) for r in rows}
    low, high = by_name["random"], by_name["oracle"]
    for r in rows:
        r["online_headroom"] = (float(r["satisfaction"]) - low) / (high - low)


def deploy(
    runner: PopulationRunner,
    days: int,
    make_policy: Callable[[VisitLog, Population], ExperimentPolicy],
) -> dict[str, float]:
    """Run ``make_policy(log, population)`` for ``days`` days on a copy of ``runner``'s
    population as its run left it (``log`` is the one the copy fills); the online metrics."""
    online = copy.deepcopy(runner)
    online.days = days
    online.start = runner.start + timedelta(days=runner.days)
    log = VisitLog()
    online.run(make_policy(log, online.population), log=log)
    n = max(log.n_visits, 1)
    return {
        "satisfaction": float(log.column("satisfaction").sum() / n),
        "minutes_per_visit": float(log.column("watched_seconds").sum() / 60 / n),
        "plays_per_visit": float((log.column("played_title") >= 0).sum() / n),
        "retention": online.population.retention,
    }


def rank_correlation(runner: PopulationRunner) -> float:
    """How much context moves a member's ranking: the mean Spearman correlation, over
    members, of their true utilities on a Tuesday at 08:00 from a phone and at 21:00 from a
    TV, in their state before any visit (1: context does not matter)."""
    population = Population(runner.world, runner.config)
    members = np.arange(runner.world.n_members)
    tuesday = 1_794_873_600.0  # 2026-11-17T00:00:00Z
    tables = [
        population.utility_table(
            members,
            at=np.full(len(members), tuesday + hour * 3600),
            devices=np.full(len(members), DEVICES.index(device)),
        )
        for hour, device in ((8, "phone"), (21, "tv"))
    ]
    ranks = [np.argsort(np.argsort(u, axis=1), axis=1).astype(np.float64) for u in tables]
    a, b = (r - r.mean(axis=1, keepdims=True) for r in ranks)
    corr = (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    return float(corr.mean())


def _item_metadata(world: World) -> ItemMetadata:
    """What the platform knows of every title, in the recommender's metadata form (the
    columns of items.csv it reads)."""
    titles = world.titles
    return ItemMetadata.from_records(
        [t.external_id for t in titles],
        genres=[t.genres for t in titles],
        year=[t.release_date.year for t in titles],
        text=[t.synopsis for t in titles],
        maturity=[t.maturity_rating for t in titles],
        added_at=[t.added_at.timestamp() for t in titles],
    )
