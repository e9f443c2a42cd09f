"""Logs and truths: the logging policy and every target run on the same visits, same seeds.

A *seed* is one independent replication: its own visits (members and times drawn from
their habits by :meth:`~simulator.runner.PopulationRunner.schedule`), its own logging
randomness and its own member randomness. The world and the models are shared by all seeds.

**Common random numbers.** Every policy's pages for one batch of visits are answered with a
generator seeded by (seed, replication, day, batch), so the same member at the same time
draws the same examination, patience, abandonment and choice noise whatever page they got;
only the page differs. The targets' true values then differ from the logger's, and from
each other, by what the pages do, not by luck.

**Stateless members** (the main run): satiation, interest drift and churn are off, so a
page's reward depends on the page and the context only, as off-policy evaluation assumes,
and one :class:`~simulator.behaviour.Population` answers every policy. **Stateful members**
(``stateful=True``): those mechanisms at their defaults, and each policy gets its own copy
of the members, whose state its own pages move; a member who churns under a policy stops
visiting in that policy's run.

Besides each target's true value, the stateless run measures its **slot-wise value**: for
each slot k, the reward at slot k when slot k shows the target's title and every other slot
what the logger showed, summed over k. That is what the per-slot estimators (ips, snips,
dr, iips...) are unbiased for; it equals the true value only if a slot's reward does not
depend on the other slots, and the simulator's members pick *one* title per page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from simulator.behaviour import BehaviourConfig, Population
from simulator.env import DEFAULT_WORLD_NOW
from simulator.experiments.ope_validation.pages import (
    TARGETS,
    Models,
    at_index,
    draw,
    logging_probabilities,
    shuffled_page,
    slot_pools,
    target_probabilities,
)
from simulator.experiments.policies import GreedyPolicy
from simulator.runner import BATCH, LoggingPolicy, PopulationRunner
from simulator.world import World

REWARDS = ("play", "watched")


@dataclass(frozen=True)
class ValidationConfig:
    """Scale and knobs of the validation; the defaults run in a few minutes on 2 cores."""

    titles: int = 400
    """Titles in the world."""
    members: int = 1000
    """Member profiles in the world."""
    history_days: int = 14
    """Days of logs (the dataset's logging policy) the production model is trained on."""
    older_days: int = 4
    """First days of that history the older model version is trained on."""
    days: int = 7
    """Days of visits in each replication (about 4,900 pages at the defaults)."""
    rows: int = 3
    """Rows per page."""
    slots: int = 4
    """Titles per row."""
    pool: int = 9
    """Candidates per slot: the production model's pick and pool - 1 to explore."""
    epsilon: float = 0.2
    """Chance that the logging policy explores a slot."""
    beta: float = 2.0
    """Inverse temperature of the softmax target (on standardized scores)."""
    reward: str = "play"
    """Reward of a slot: "play" (1 if the visit played its title) or "watched" (the
    watched fraction of that play, in [0, 1])."""
    seeds: int = 12
    """Replications of the stateless run (bias, RMSE and coverage are over these)."""
    stateful_seeds: int = 4
    """Replications of the run with satiation, drift and churn on (0: skip it)."""
    seed: int = 0
    """Seed of the world, the history, the models and every replication."""
    replicates: int = 500
    """Bootstrap replicates behind each 95% interval."""
    activity_scale: float = 1.0
    """Visits per day multiplier."""

    def __post_init__(self) -> None:
        for name in ("titles", "members", "history_days", "days", "rows", "slots", "seeds"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 1 <= self.older_days < self.history_days:
            raise ValueError(
                f"older_days must be at least 1 and below history_days ({self.history_days}), "
                f"got {self.older_days}"
            )
        if self.pool < 2:
            raise ValueError(
                f"pool must be at least 2 (a pick and one to explore), got {self.pool}"
            )
        if not 0 < self.epsilon < 1:
            raise ValueError(f"epsilon must be in (0, 1), got {self.epsilon}")
        if self.reward not in REWARDS:
            raise ValueError(f"reward must be one of {', '.join(REWARDS)}, got {self.reward!r}")
        if 2 * self.rows * self.slots * self.pool > self.titles:
            raise ValueError(
                f"titles: pages of {self.rows} x {self.slots} with pools of {self.pool} need at "
                f"least {2 * self.rows * self.slots * self.pool} titles (twice the pooled ones), "
                f"got {self.titles}"
            )
        if self.stateful_seeds < 0:
            raise ValueError(f"stateful_seeds must be at least 0, got {self.stateful_seeds}")
        if self.replicates < 1:
            raise ValueError(f"replicates must be at least 1, got {self.replicates}")
        if not self.activity_scale > 0:
            raise ValueError(f"activity_scale must be positive, got {self.activity_scale}")

    @property
    def n_slots(self) -> int:
        return self.rows * self.slots


@dataclass(frozen=True, eq=False)
class Setup:
    """What every replication shares: the world, the models and the members' behaviour."""

    config: ValidationConfig
    world: World
    models: Models
    start: datetime
    """When the replications' visits begin (right after the history)."""
    stateless: BehaviourConfig
    stateful: BehaviourConfig


def prepare(config: ValidationConfig) -> Setup:
    """Generate the world, simulate the history and train the two model versions on it.

    The history runs under the dataset's logging policy (half popularity-weighted, half
    uniformly random pages) with every mechanism on; the production model is EASE trained
    on all of it, the older version EASE trained on its first ``older_days``.
    """
    c = config
    world = World.generate(c.titles, c.members, c.seed, DEFAULT_WORLD_NOW)
    history_start = world.now - timedelta(days=c.history_days + c.days)
    runner = PopulationRunner(
        world,
        BehaviourConfig(activity_scale=c.activity_scale),
        rows=c.rows,
        slots=c.slots,
        days=c.history_days,
        start=history_start,
        seed=c.seed,
    )
    plays = runner.run(LoggingPolicy(world, rows=c.rows, slots=c.slots)).plays()
    early = plays["day"] < c.older_days
    if not early.any():
        raise ValueError(f"no plays in the first {c.older_days} history days to train on")
    fitter = GreedyPolicy(world, rows=c.rows, slots=c.slots)
    rng = np.random.default_rng([c.seed, 1])
    production = fitter.score_table(fitter.fit(plays, rng))
    older = fitter.score_table(fitter.fit({k: v[early] for k, v in plays.items()}, rng))
    played = np.zeros((world.n_members, world.n_titles), dtype=bool)
    played[plays["member"], plays["title"]] = True
    counts = np.bincount(plays["title"], minlength=world.n_titles).astype(np.float64)
    return Setup(
        config=c,
        world=world,
        models=Models(production=production, older=older, plays=counts, played=played),
        start=history_start + timedelta(days=c.history_days),
        stateless=BehaviourConfig(
            activity_scale=c.activity_scale,
            satiation=0.0,
            drift_rate=0.0,
            churn_rate=0.0,
            return_popularity=0.0,  # depends on when the member last visited
            series_pull=0.0,  # depends on the episodes the member played before
        ),
        stateful=BehaviourConfig(activity_scale=c.activity_scale),
    )


@dataclass(eq=False)
class Shown:
    """What one policy showed on the logged visits, and what the members did (V visits)."""

    titles: np.ndarray
    """(V, K) title shown at each slot."""
    propensities: np.ndarray
    """(V, K) the logging policy's exact marginal probability of that title at that slot."""
    rewards: np.ndarray
    """(V, K) reward of each slot."""
    examined: np.ndarray
    """(V, K) bool: the member examined the slot (only the simulator knows)."""


@dataclass(eq=False)
class TargetRun:
    """A target policy on one replication."""

    probabilities: np.ndarray
    """(V, K, pool) its probability of each pool index on the logged visits."""
    shown: np.ndarray
    """(V', K) pool index it showed at each slot of its own visits (V' = V when stateless)."""
    values: np.ndarray
    """(V',) page reward of each of its own visits: the truth."""
    slotwise: np.ndarray | None
    """(V,) per visit, the sum over slots k of slot k's reward with the target's title at k
    and the logger's elsewhere (stateless runs only)."""


@dataclass(eq=False)
class SeedLog:
    """One replication: the logging policy's log, and each target's run on the same visits."""

    members: np.ndarray
    """(V,) member of each logged visit."""
    at: np.ndarray
    """(V,) unix time of each logged visit."""
    pools: np.ndarray
    """(V, K, pool) the slot pools of each visit."""
    logged: Shown
    """The epsilon-greedy logging policy's pages."""
    shuffled: Shown | None
    """The shuffled logger's pages on the same visits (stateless runs only)."""
    targets: dict[str, TargetRun] = field(default_factory=dict)


def replication_seed(config: ValidationConfig, replication: int, stateful: bool) -> int:
    """The schedule seed of one replication, distinct for every (seed, replication, mode)."""
    return int(
        np.random.SeedSequence([config.seed, replication, int(stateful)]).generate_state(1)[0]
    )


def respond(
    population: Population,
    members: np.ndarray,
    at: np.ndarray,
    titles: np.ndarray,
    rng: np.random.Generator,
    config: ValidationConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """Members visit pages ``titles`` (B, K); returns (B, K) rewards and (B, K) examined."""
    b, k = titles.shape
    outcome = population.visit(members, titles.reshape(b, config.rows, config.slots), rng, at=at)
    rewards = np.zeros((b, k))
    visits = np.flatnonzero(outcome.played_entry >= 0)  # plays from the page (not by search)
    slots = outcome.slot[outcome.played_entry[visits]]
    rewards[visits, slots] = 1.0 if config.reward == "play" else outcome.watched_fraction[visits]
    examined = np.zeros((b, k), dtype=bool)
    examined[outcome.visit, outcome.slot] = True
    return rewards, examined


def simulate(
    setup: Setup,
    replication: int,
    *,
    stateful: bool = False,
    targets: tuple[str, ...] = TARGETS,
) -> SeedLog:
    """Replication ``replication``: the logged pages, and the true run of each of ``targets``."""
    c, world, models = setup.config, setup.world, setup.models
    behaviour = setup.stateful if stateful else setup.stateless
    schedule = PopulationRunner(
        world,
        behaviour,
        rows=c.rows,
        slots=c.slots,
        days=c.days,
        start=setup.start,
        seed=replication_seed(c, replication, stateful),
    )  # only its schedule is used: its own members never visit, so none of them churn
    shared = Population(world, behaviour)
    own = {n: Population(world, behaviour) if stateful else shared for n in ("logger", *targets)}
    parts: dict[str, list[np.ndarray]] = {"members": [], "at": [], "pools": []}
    shown: dict[str, list[tuple[np.ndarray, ...]]] = {"logger": [], "shuffled": []}
    runs: dict[str, dict[str, list[np.ndarray]]] = {
        n: {"probabilities": [], "shown": [], "values": [], "slotwise": []} for n in targets
    }
    added = world.added_at_unix
    batch = 0
    for day in range(c.days):
        members, at, rounds = schedule.schedule(day)
        for lo, hi in _round_batches(rounds):
            batch += 1
            key = [c.seed, replication, int(stateful), batch]
            who, when = members[lo:hi], at[lo:hi]
            allowed = (added <= when.min())[None, :] & ~models.played[who]
            pools = slot_pools(models.production[who], allowed, c.n_slots, c.pool)
            keep = ~own["logger"].churned[who]  # (all True when stateless)
            if keep.any():
                mu = logging_probabilities(pools.shape, c.epsilon)
                index = draw(mu, _rng(key, 1))[keep]
                logged = at_index(pools[keep], index)
                answered = respond(own["logger"], who[keep], when[keep], logged, _rng(key), c)
                shown["logger"].append((logged, at_index(mu[keep], index), *answered))
                parts["members"].append(who[keep])
                parts["at"].append(when[keep])
                parts["pools"].append(pools[keep])
            if not stateful:
                page, p_page = shuffled_page(pools, _rng(key, 2))
                shown["shuffled"].append(
                    (page, p_page, *respond(shared, who, when, page, _rng(key), c))
                )
            for name in targets:
                number = TARGETS.index(name)  # a target's draws do not depend on the others
                p = target_probabilities(name, pools, who, models, beta=c.beta)
                index = draw(p, _rng(key, 3 + number))
                page = at_index(pools, index)
                runs[name]["probabilities"].append(p[keep])
                here = ~own[name].churned[who]
                if here.any():
                    r, _ = respond(own[name], who[here], when[here], page[here], _rng(key), c)
                    runs[name]["shown"].append(index[here])
                    runs[name]["values"].append(r.sum(axis=1))
                if not stateful:
                    runs[name]["slotwise"].append(
                        _slotwise(shared, who, when, logged, page, key, c)
                    )
    log = SeedLog(
        members=np.concatenate(parts["members"]),
        at=np.concatenate(parts["at"]),
        pools=np.concatenate(parts["pools"]),
        logged=_shown(shown["logger"]),
        shuffled=None if stateful else _shown(shown["shuffled"]),
    )
    for name, run in runs.items():
        log.targets[name] = TargetRun(
            probabilities=np.concatenate(run["probabilities"]),
            shown=np.concatenate(run["shown"]),
            values=np.concatenate(run["values"]),
            slotwise=None if stateful else np.concatenate(run["slotwise"]),
        )
    return log


def _slotwise(
    population: Population,
    members: np.ndarray,
    at: np.ndarray,
    logged: np.ndarray,
    page: np.ndarray,
    key: list[int],
    config: ValidationConfig,
) -> np.ndarray:
    """(B,) sum over slots k of slot k's reward when only slot k shows the target's title."""
    total = np.zeros(len(members))
    for k in range(config.n_slots):
        mixed = logged.copy()
        mixed[:, k] = page[:, k]
        rewards, _ = respond(population, members, at, mixed, _rng(key), config)
        total += rewards[:, k]
    return total


def _rng(key: list[int], stream: int | None = None) -> np.random.Generator:
    """The generator of one batch: the members' draws (``stream`` None: the same for every
    policy, the common random numbers) or a policy's own (``stream``), apart from them."""
    return np.random.default_rng(key if stream is None else [*key, stream])


def _round_batches(rounds: np.ndarray):
    """(lo, hi) slices of the schedule with one round each (distinct members), at most BATCH."""
    bounds = np.flatnonzero(np.diff(rounds)) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(rounds)], strict=True):
        for start in range(int(lo), int(hi), BATCH):
            yield start, min(int(hi), start + BATCH)


def _shown(parts: list[tuple[np.ndarray, ...]]) -> Shown:
    return Shown(*(np.concatenate([p[i] for p in parts]) for i in range(4)))
