"""The experiments: each runs policies in-process, returns rows of metrics, and can plot them.

Every experiment starts from the same world and seed for every policy (common random
numbers), so differences between policies are not differences of luck in who visits when.
"""

from __future__ import annotations

import copy
import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
from tqdm import tqdm

from simulator.behaviour import BehaviourConfig
from simulator.experiments.metrics import gini, homogenization, ndcg_at_k
from simulator.experiments.policies import (
    DEFAULT_MODEL,
    EpsilonGreedyPolicy,
    ExperimentPolicy,
    FrozenPolicy,
    GreedyPolicy,
    OraclePolicy,
    PopularityPolicy,
    RandomPolicy,
)
from simulator.runner import LoggingPolicy, PopulationRunner, VisitLog
from simulator.world import World

POLICIES = ("random", "popularity", "greedy", "frozen-greedy", "epsilon-greedy", "oracle")
METRICS = (
    "homogenization",
    "gini_exposure",
    "coverage",
    "satisfaction",
    "retention",
    "plays_per_visit",
    "minutes_per_visit",
    "search_share",
    "offline_ndcg",
)


@dataclass(frozen=True)
class Settings:
    """Scale and knobs shared by the experiments; the defaults run in seconds."""

    titles: int = 500
    """Titles in the world."""
    members: int = 300
    """Member profiles in the world."""
    days: int = 30
    """Simulated days per policy."""
    rows: int = 4
    """Rows per page."""
    slots: int = 10
    """Titles per row."""
    seed: int = 0
    """Seed of the world and of the members' behaviour."""
    activity_scale: float = 2.0
    """Visits per day multiplier (more visits per member make a month's loop visible)."""
    epsilon: float = 0.2
    """Exploration share of the epsilon-greedy policy."""
    model: str = DEFAULT_MODEL
    """Recommender kind of the greedy policies ("ease", "mf", "popularity", ...)."""
    progress: bool = False
    """Show progress bars (stderr)."""

    def world(self) -> World:
        """The experiments' world: these sizes and seed, on the env's fixed clock."""
        from simulator.env import DEFAULT_WORLD_NOW

        return World.generate(self.titles, self.members, self.seed, DEFAULT_WORLD_NOW)

    def behaviour(self, **overrides: object) -> BehaviourConfig:
        """The members' behaviour at this activity scale, with ``overrides``."""
        return BehaviourConfig(activity_scale=self.activity_scale, **overrides)  # type: ignore[arg-type]

    def runner(self, world: World, config: BehaviourConfig | None = None) -> PopulationRunner:
        """A runner of ``world`` for these days, page shape and seed (``config`` None: the
        default :meth:`behaviour`)."""
        return PopulationRunner(
            world,
            config or self.behaviour(),
            rows=self.rows,
            slots=self.slots,
            days=self.days,
            seed=self.seed,
        )


def make_policy(
    name: str, world: World, runner: PopulationRunner, settings: Settings
) -> ExperimentPolicy:
    """Policy ``name`` (one of :data:`POLICIES`) for ``runner``'s population."""
    shape = {"rows": settings.rows, "slots": settings.slots}
    if name == "random":
        return RandomPolicy(world, **shape)
    if name == "popularity":
        return PopularityPolicy(world, **shape)
    if name == "greedy":
        return GreedyPolicy(world, model=settings.model, **shape)
    if name == "frozen-greedy":
        frozen = GreedyPolicy(world, model=settings.model, retrain_nights=1, **shape)
        frozen.name = name
        return frozen
    if name == "epsilon-greedy":
        return EpsilonGreedyPolicy(world, model=settings.model, epsilon=settings.epsilon, **shape)
    if name == "oracle":
        return OraclePolicy(world, runner.population, **shape)
    raise ValueError(f"unknown policy {name!r}; choose from {', '.join(POLICIES)}")


def run_policy(
    name: str,
    world: World,
    settings: Settings,
    config: BehaviourConfig | None = None,
    *,
    label: str | None = None,
    policy_factory: Callable[[PopulationRunner], ExperimentPolicy] | None = None,
) -> list[dict[str, object]]:
    """Run one policy for ``settings.days`` days; one row of :data:`METRICS` per day.

    Daily metrics: homogenization (Jaccard of members' consumption so far), Gini of exposure
    (examined impressions per title so far), coverage (share of the catalogue played so
    far), true satisfaction and plays/minutes per visit that day, retention at the day's
    end, share of plays found by search, and the offline metric: NDCG@10, on that day's
    logged plays, of the policy's scores from the day before.
    """
    runner = settings.runner(world, config)
    policy = (
        policy_factory(runner) if policy_factory else make_policy(name, world, runner, settings)
    )
    rng = np.random.default_rng([settings.seed, 1])
    rows: list[dict[str, object]] = []
    mark = {"batches": 0}
    pending: dict[str, np.ndarray | None] = {"scores": None}
    cumulative_played = np.zeros((world.n_members, world.n_titles), dtype=bool)
    exposure = np.zeros(world.n_titles, dtype=np.int64)
    added = world.added_at_unix

    def end_of_day(day: int, log: VisitLog) -> None:
        lo = mark["batches"]
        mark["batches"] = len(log.member)
        today = {
            k: np.concatenate(getattr(log, k)[lo:]) if len(getattr(log, k)) > lo else np.zeros(0)
            for k in (
                "member",
                "played_title",
                "satisfaction",
                "watched_seconds",
                "from_search",
                "examined_title",
            )
        }
        played = today["played_title"] >= 0
        members, titles = today["member"][played].astype(int), today["played_title"][played]
        relevant = np.zeros_like(cumulative_played)
        relevant[members, titles] = True
        offline = float("nan")
        if pending["scores"] is not None:
            offline = ndcg_at_k(pending["scores"], relevant & ~cumulative_played, cumulative_played)
        cumulative_played[members, titles] = True
        exposure[:] += np.bincount(today["examined_title"].astype(int), minlength=world.n_titles)
        available = added <= runner.day_start(day + 1)
        n_visits = max(len(today["member"]), 1)
        rows.append(
            {
                "policy": label or name,
                "day": day + 1,
                "homogenization": homogenization(cumulative_played),
                "gini_exposure": gini(exposure[available]),
                "coverage": float(cumulative_played.any(axis=0)[available].mean()),
                "satisfaction": float(today["satisfaction"].sum() / n_visits),
                "retention": runner.population.retention,
                "plays_per_visit": float(played.sum() / n_visits),
                "minutes_per_visit": float(today["watched_seconds"].sum() / 60 / n_visits),
                "search_share": float(today["from_search"].sum() / max(played.sum(), 1)),
                "offline_ndcg": offline,
            }
        )
        policy.end_of_day(day, log, rng)
        scores = policy.scores(np.arange(world.n_members), rng)
        pending["scores"] = None if scores is None else np.asarray(scores, dtype=np.float64)

    runner.run(
        policy,
        on_day_end=end_of_day,
        progress=settings.progress,
        desc=label or name,
    )
    return rows


def feedback_loop(
    settings: Settings, policies: tuple[str, ...] = POLICIES
) -> list[dict[str, object]]:
    """Every policy over the same month: the loop of Chaney et al. (2018) made visible."""
    world = settings.world()
    rows: list[dict[str, object]] = []
    for name in tqdm(policies, disable=not settings.progress, desc="policies"):
        rows += run_policy(name, world, settings)
    return rows


def search_breaks_loop(
    settings: Settings, probabilities: tuple[float, ...] = (0.0, 0.3, 0.6)
) -> list[dict[str, object]]:
    """The greedy loop with search switched off, at its default, and more frequent: search
    finds what members want, not what was shown, so its plays feed the model titles the
    loop would otherwise hide."""
    world = settings.world()
    rows: list[dict[str, object]] = []
    for probability in tqdm(probabilities, disable=not settings.progress, desc="search settings"):
        rows += run_policy(
            "greedy",
            world,
            settings,
            settings.behaviour(search_probability=probability),
            label=f"search {probability:g}",
        )
    return rows


def position_bias(settings: Settings) -> list[dict[str, object]]:
    """Random pages with position bias on and off: play rate per (row, column).

    Under random pages every slot shows titles of the same average quality, so any
    difference in play rate across slots is position alone (Joachims et al. 2017).
    """
    world = settings.world()
    rows: list[dict[str, object]] = []
    for bias in (True, False):
        config = settings.behaviour(position_bias=bias, search_probability=0.0, churn_rate=0.0)
        runner = settings.runner(world, config)
        log = runner.run(
            RandomPolicy(world, rows=settings.rows, slots=settings.slots),
            progress=settings.progress,
            desc=f"position bias {'on' if bias else 'off'}",
        )
        n = log.n_visits
        entry = log.column("examined_slot")  # (E,) slot of each examined item
        visit = log.column("examined_visit").astype(int)
        played = log.column("played_title")
        examined = np.bincount(entry, minlength=settings.rows * settings.slots)
        # A play from the page is the examined entry whose title the visit played.
        title = log.column("examined_title")
        from_page = ~log.column("from_search").astype(bool)
        hit = (played[visit] == title) & from_page[visit]
        plays = np.bincount(entry[hit], minlength=settings.rows * settings.slots)
        for k in range(settings.rows * settings.slots):
            rows.append(
                {
                    "position_bias": "on" if bias else "off",
                    "row": k // settings.slots,
                    "column": k % settings.slots,
                    "play_rate": plays[k] / n,
                    "examine_rate": examined[k] / n,
                }
            )
    return rows


def offline_vs_online(
    settings: Settings,
    models: tuple[str, ...] = ("popularity", "ease", "mf"),
    online_days: int = 14,
) -> list[dict[str, object]]:
    """Offline NDCG on logged data next to the true online value of the same models.

    A month of logs under the dataset's logging policy (half popular, half random pages);
    each model is fitted on the first 80% of the plays (in time) and scored offline by
    NDCG@10 on the rest. Then each is deployed, frozen, for ``online_days`` to the same
    population (a copy of its state after the log), and its true satisfaction, retention
    and watch time are measured. Random pages and the oracle are the two reference points.
    Offline metrics reward predicting the logging policy's exposures; online value rewards
    what members enjoy, and the two need not agree.
    """
    world = settings.world()
    runner = settings.runner(world)
    log = runner.run(
        LoggingPolicy(world, rows=settings.rows, slots=settings.slots),
        progress=settings.progress,
        desc="logging",
    )
    plays = log.plays()
    cut = np.quantile(plays["at"], 0.8)
    train = {k: v[plays["at"] <= cut] for k, v in plays.items()}
    test = plays["at"] > cut
    seen = np.zeros((world.n_members, world.n_titles), dtype=bool)
    seen[train["member"], train["title"]] = True
    relevant = np.zeros_like(seen)
    relevant[plays["member"][test], plays["title"][test]] = True
    relevant &= ~seen
    rng = np.random.default_rng([settings.seed, 2])
    shape = {"rows": settings.rows, "slots": settings.slots}

    candidates: dict[str, np.ndarray | None] = {"random": None}
    for kind in models:
        greedy = GreedyPolicy(world, model=kind, **shape)
        candidates[kind] = greedy.score_table(greedy.fit(train, rng))
    population = runner.population
    oracle_scores = OraclePolicy(world, population, **shape).scores(np.arange(world.n_members), rng)
    candidates["oracle"] = oracle_scores

    rows: list[dict[str, object]] = []
    for name, table in tqdm(candidates.items(), disable=not settings.progress, desc="deploying"):
        offline = ndcg_at_k(rng.random(seen.shape) if table is None else table, relevant, seen)
        online = copy.deepcopy(runner)
        online.days = online_days
        online.start = runner.start + timedelta(days=runner.days)
        policy: ExperimentPolicy
        if name == "oracle":
            oracle = OraclePolicy(world, online.population, **shape)
            oracle.played |= seen
            policy = oracle
        else:
            policy = FrozenPolicy(world, table, name=name, already_played=seen, **shape)
        out = online.run(policy, progress=False)
        n = max(out.n_visits, 1)
        rows.append(
            {
                "model": name,
                "offline_ndcg": offline,
                "satisfaction": float(out.column("satisfaction").sum() / n),
                "minutes_per_visit": float(out.column("watched_seconds").sum() / 60 / n),
                "plays_per_visit": float((out.column("played_title") >= 0).sum() / n),
                "retention": online.population.retention,
            }
        )
    return rows


def write_csv(rows: list[dict[str, object]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()}
            )
    return path


def by(rows: list[dict[str, object]], key: str) -> dict[object, list[dict[str, object]]]:
    out: dict[object, list[dict[str, object]]] = {}
    for row in rows:
        out.setdefault(row[key], []).append(row)
    return out


__all__ = [
    "METRICS",
    "POLICIES",
    "Settings",
    "by",
    "feedback_loop",
    "offline_vs_online",
    "position_bias",
    "run_policy",
    "search_breaks_loop",
    "write_csv",
]
