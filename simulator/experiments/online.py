"""One online experiment end to end in the simulator: two model versions, members assigned by
hash, daily readouts with intervals, a sequential test, CUPED, an SRM check, and a canary.

The protocol (:func:`online_experiment`):

1. **The logged history.** ``history_days`` under the dataset's logging policy (half
   popularity-weighted, half random pages), the same log every other offline experiment
   starts from. Each member's minutes per day over its last ``pre_days`` are the
   pre-experiment covariate of CUPED.
2. **Two model versions** fitted on the first 80% of those plays (in time) and judged
   offline on the rest: NDCG@10 and recall@10 of ``recommender.evaluate``, the numbers an
   offline gate compares.
3. **The experiment.** The same fitted models then serve a copy of the population for
   ``days`` simulated days, each visit scored at its time with the member's plays so far
   (``policies.ModelPolicy``, as the platform's ranker serves). Members are assigned by
   ``recommender.abtest.assignment``, a hash of the member id and the experiment's salt:
   in mode ``ab`` half to each arm for the whole month (``arm_for``); in mode ``canary``
   ``canary_arm`` at a share that steps through ``canary.STEPS`` (1%, 5%, 25%, 50%) as
   ``canary.canary_step`` decides each day, where members in neither arm see production
   (the control's model), and a rollback sends everyone back to production, a ship
   everyone to the candidate.
4. **Daily readouts**, from the run's own log only (what a platform logs: who visited,
   when, what was played and for how long): per arm the primary metric, streaming minutes
   per member per day (every assigned member counts, from the day they entered the arm, at
   0 when they did not visit or had left), plays per visit (the mean over the arm's members
   who visited of their plays per visit) and retention (the share of the arm's members who
   entered at least ``retention_days`` ago and visited in the last ``retention_days``),
   each with a 95% interval (``stats.mean_ci``); the difference of the primary
   fixed-horizon (``stats.compare``), with CUPED on the pre-experiment minutes, and
   sequential (``stats.sequential_compare``, always valid, so looking every day costs no
   false positives); guardrails on plays per visit and retention; and a sample-ratio check
   (``stats.srm_check``) on the members each arm has seen visit.

Common random numbers: both modes start from the same population state and seed, and
every arm's pages come from the same fitted models.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np

from recommender import MODELS, Interactions, time_split
from recommender.abtest import assignment, canary, stats
from recommender.metrics import evaluate
from simulator.experiments.policies import ExperimentPolicy, ModelPolicy, RandomPolicy, model_config
from simulator.experiments.runs import Settings
from simulator.runner import LoggingPolicy, PopulationRunner, VisitLog
from simulator.world import DEVICES, World

ARMS: dict[str, tuple[str, dict[str, object]]] = {
    "ease": ("ease", {}),
    "ease-l2-500": ("ease", {"l2": 500.0}),
    "ease-tuned": ("ease", {"tune_l2": True}),
    "mf": ("mf", {}),
    "popularity": ("popularity", {}),
    "sasrec": ("sasrec", {}),
    "random": ("random", {}),
}
"""Arm name -> (recommender kind, config overrides). ``ease`` is EASE at the experiments'
lambda 50 (``policies.FAST_SETTINGS``), production in the default run; ``ease-tuned`` the
recommender's default EASE, which picks lambda itself by offline NDCG on a validation split
of its training data (``EASEConfig.tune_l2``: 1000 on the default run's history), the
default candidate; ``ease-l2-500`` EASE at a fixed, larger lambda; ``random`` uniformly
random pages (no model), a planted loser."""
MODES = ("ab", "canary")
"""A plain 50/50 A/B test and a canary rollout."""
CONTROL, CANDIDATE = "control", "candidate"
NOT_IN = -1
"""Arm code of a member in neither arm (sees production)."""


@dataclass(frozen=True)
class OnlineSettings:
    """The experiment's own knobs (the world's scale and seed are a :class:`Settings`)."""

    control: str = "ease"
    """Arm of :data:`ARMS` production runs (and the canary's control arm)."""
    candidate: str = "ease-tuned"
    """Arm of :data:`ARMS` the experiment tries."""
    days: int = 28
    """Simulated days of the experiment (one readout a day)."""
    modes: tuple[str, ...] = MODES
    """Which of :data:`MODES` to run."""
    salt: str = "online-experiment"
    """The experiment's salt: assignment is a hash of it and the member id."""
    pre_days: int = 14
    """Last days of the history whose minutes per day are CUPED's covariate."""
    retention_days: int = 7
    """N of retention: share of members who visited in the last N days."""
    canary_steps: tuple[float, ...] = canary.STEPS
    """Canary shares, in order."""
    canary_min_days: int = 3
    """Days at a canary share before it may advance."""
    guardrail_margin: float = 0.0
    """How much worse (relative to control) a guardrail may be before it is breached."""
    alpha: float = 0.05
    """Level of every interval and test."""


@dataclass(frozen=True)
class Preset:
    """A scale of the whole run: the world and history (:class:`Settings`) and the days."""

    settings: Settings
    online: OnlineSettings


PRESETS: dict[str, Preset] = {
    "default": Preset(Settings(members=2000, titles=500, days=30), OnlineSettings()),
    "small": Preset(
        Settings(members=400, titles=200, days=10),
        OnlineSettings(days=8, pre_days=5, retention_days=3, canary_min_days=1),
    ),
}
"""``default``: the documented run (well under a minute of CPU); ``small``: for tests."""


@dataclass
class ModeResult:
    """One mode's run: its readout rows and everything a hand computation needs."""

    mode: str
    rows: list[dict[str, object]]
    log: VisitLog
    """Every visit of the experiment (the run's own event log)."""
    arms: np.ndarray
    """(days, M) int8 arm of each member on each day: 0 control, 1 candidate, -1 neither."""
    entered: np.ndarray
    """(days, M) int day each member entered their arm that day's readout counts from."""
    pre_minutes: np.ndarray
    """(M,) each member's minutes per day over the history's last ``pre_days``."""
    served: np.ndarray
    """(days, M) bool: the candidate's model served the member's pages that day."""


@dataclass
class OnlineResult:
    """Both modes and the offline metrics of the two models."""

    offline: dict[str, dict[str, float]]
    """Arm -> {"ndcg@10", "recall@10", "l2"} on the held-out split (l2: EASE's lambda)."""
    history: VisitLog
    """The logged history the models were trained on (and CUPED's pre-period)."""
    modes: dict[str, ModeResult] = field(default_factory=dict)

    @property
    def rows(self) -> list[dict[str, object]]:
        return [r for m in self.modes.values() for r in m.rows]


def validate(online: OnlineSettings) -> None:
    """Raise ValueError naming the bad value of ``online``."""
    for role in ("control", "candidate"):
        name = getattr(online, role)
        if name not in ARMS:
            raise ValueError(f"unknown {role} arm {name!r}; choose from {', '.join(ARMS)}")
    if online.control == online.candidate:
        raise ValueError(f"control and candidate must differ, both are {online.control!r}")
    if online.control == "random":
        raise ValueError("the control arm is production: it must be a model, not 'random'")
    unknown = [m for m in online.modes if m not in MODES]
    if unknown or not online.modes:
        raise ValueError(f"modes must be among {', '.join(MODES)}, got {online.modes!r}")
    for name in ("days", "pre_days", "retention_days", "canary_min_days"):
        if getattr(online, name) < 1:
            raise ValueError(f"{name} must be at least 1, got {getattr(online, name)}")
    steps = online.canary_steps
    if not steps or any(not 0 < s <= 0.5 for s in steps) or list(steps) != sorted(set(steps)):
        raise ValueError(f"canary_steps must rise strictly within (0, 0.5], got {steps!r}")


def online_experiment(settings: Settings, online: OnlineSettings | None = None) -> OnlineResult:
    """The whole protocol of the module docstring; rows per (mode, day)."""
    online = online or OnlineSettings()
    validate(online)
    if online.pre_days > settings.days:
        raise ValueError(
            f"pre_days ({online.pre_days}) must be at most the history's days ({settings.days})"
        )
    world = settings.world()
    runner = settings.runner(world)
    shape = {"rows": settings.rows, "slots": settings.slots}
    history = runner.run(
        LoggingPolicy(world, **shape), progress=settings.progress, desc="logged history"
    )
    pre = pre_minutes(history, runner, world.n_members, online.pre_days)
    plays = history.plays()
    counts = np.bincount(plays["title"], minlength=world.n_titles)
    popular = counts >= np.quantile(counts, 0.9)  # the history's most played tenth
    train, test = _split(world, plays)
    models, offline = {}, {}
    for arm in (online.control, online.candidate):
        kind, overrides = ARMS[arm]
        if kind == "random":
            offline[arm] = dict.fromkeys(("ndcg@10", "recall@10", "l2"), float("nan"))
            continue
        rng = np.random.default_rng([settings.seed, 3])  # the same start for every model
        models[arm] = MODELS[kind](model_config(kind, overrides)).fit(train, rng=rng)
        scores = evaluate(models[arm], train, test, k=10)
        offline[arm] = {"ndcg@10": scores["ndcg@10"], "recall@10": scores["recall@10"]}
        l2 = getattr(models[arm].config, "l2", None)  # EASE's lambda, as tuned if it was
        offline[arm]["l2"] = float("nan") if l2 is None else float(l2)
    result = OnlineResult(offline=offline, history=history)
    index = world.title_index()
    heldout = np.array([index[i] for i in test.item_ids])
    constant = _offline_columns(offline, online) | {
        "heldout_popular_share": float(popular[heldout].mean())
    }

    def serve(arm: str, log: VisitLog) -> ExperimentPolicy:
        if ARMS[arm][0] == "random":
            return RandomPolicy(world, **shape)
        return ModelPolicy(world, models[arm], name=arm, history=plays, log=log, **shape)

    for mode in online.modes:
        result.modes[mode] = _run_mode(
            mode, runner, world, online, serve, pre, popular, constant, settings
        )
    return result


def _split(world: World, plays: dict[str, np.ndarray]) -> tuple[Interactions, Interactions]:
    """The recommender's time split (80/20) of the history's plays."""
    ids = np.array([t.external_id for t in world.titles], dtype=object)
    interactions = Interactions.from_records(
        plays["member"].astype(str),
        ids[plays["title"]],
        plays["at"].astype(np.float64),
        np.maximum(plays["watched_fraction"], 1e-6),
        np.array(DEVICES, dtype=object)[plays["device"]],
    )
    return time_split(interactions, holdout_fraction=0.2)


def pre_minutes(log: VisitLog, runner: PopulationRunner, n_members: int, days: int) -> np.ndarray:
    """(M,) each member's streaming minutes per day over the last ``days`` of ``log``."""
    at = log.column("at")
    keep = at >= runner.day_start(runner.days - days)
    minutes = np.bincount(
        log.column("member")[keep].astype(int),
        weights=log.column("watched_seconds")[keep] / 60.0,
        minlength=n_members,
    )
    return minutes / days


class ArmPolicy:
    """Serves each visit from the model its member gets: ``serves`` (M,), which the
    experiment sets before each day, is 0 for production (the control's model: the control
    arm and every member in no arm) and 1 for the candidate (its arm; everyone once it
    ships)."""

    def __init__(self, production: ExperimentPolicy, candidate: ExperimentPolicy, n: int) -> None:
        self.policies = (production, candidate)
        self.serves = np.zeros(n, dtype=np.int8)  # 0 production, 1 candidate

    def pages(
        self,
        members: np.ndarray,
        at: np.ndarray,
        available: np.ndarray,
        rng: np.random.Generator,
        *,
        devices: np.ndarray,
    ) -> np.ndarray:
        which = self.serves[members]
        out: np.ndarray | None = None
        for k, policy in enumerate(self.policies):
            idx = np.flatnonzero(which == k)
            if not len(idx):
                continue
            part = policy.pages(members[idx], at[idx], available, rng, devices=devices[idx])
            if out is None:
                out = np.empty((len(members), *part.shape[1:]), dtype=part.dtype)
            out[idx] = part
        assert out is not None
        return out


def assign(mode: str, salt: str, n: int, share: float) -> np.ndarray:
    """(n,) int8 arm of members 0..n-1: 0 control, 1 candidate, :data:`NOT_IN` neither;
    ``share`` is the canary's (ignored by ``ab``, which is 50/50)."""
    codes = {CONTROL: 0, CANDIDATE: 1, None: NOT_IN}
    if mode == "ab":
        arms = [(CONTROL, 0.5), (CANDIDATE, 0.5)]
        return np.array([codes[assignment.arm_for(m, salt, arms)] for m in range(n)], np.int8)
    if share <= 0:
        return np.full(n, NOT_IN, np.int8)
    return np.array([codes[assignment.canary_arm(m, salt, share)] for m in range(n)], np.int8)


def _run_mode(
    mode: str,
    runner: PopulationRunner,
    world: World,
    online: OnlineSettings,
    serve,  # noqa: ANN001 - (arm, log) -> ExperimentPolicy
    pre: np.ndarray,
    popular: np.ndarray,
    constant: dict[str, object],
    settings: Settings,
) -> ModeResult:
    """One mode for ``online.days`` days on a copy of the population after the history;
    ``constant`` are the columns every row repeats (the offline metrics)."""
    n = world.n_members
    run = copy.deepcopy(runner)
    run.days = online.days
    run.start = runner.start + timedelta(days=runner.days)
    log = VisitLog()
    policy = ArmPolicy(serve(online.control, log), serve(online.candidate, log), n)
    state: dict[str, object] = {
        "share": online.canary_steps[0] if mode == "canary" else 0.5,
        "days_at_share": 0,
        "status": "running",
        "batches": 0,
    }
    previous = dict.fromkeys(("minutes", "plays_per_visit", "retention"), (1.0, -np.inf, np.inf))
    arms = np.full((online.days, n), NOT_IN, np.int8)
    entered = np.zeros((online.days, n), np.int64)
    current = assign(mode, online.salt, n, float(state["share"]))  # type: ignore[arg-type]
    entry = np.zeros(n, np.int64)  # the day each member entered their current arm
    minutes, plays, visits = (np.zeros((online.days, n)) for _ in range(3))
    popular_plays, search_plays, satisfaction = (np.zeros((online.days, n)) for _ in range(3))
    served = np.zeros((online.days, n), bool)
    rows: list[dict[str, object]] = []

    def end_of_day(day: int, day_log: VisitLog) -> None:
        nonlocal current
        lo = int(state["batches"])  # type: ignore[arg-type]
        state["batches"] = len(day_log.member)
        if len(day_log.member) > lo:
            who = np.concatenate(day_log.member[lo:]).astype(int)
            seconds = np.concatenate(day_log.watched_seconds[lo:])
            played = np.concatenate(day_log.played_title[lo:]) >= 0
            minutes[day] = np.bincount(who, weights=seconds / 60.0, minlength=n)
            plays[day] = np.bincount(who, weights=played, minlength=n)
            visits[day] = np.bincount(who, minlength=n)
            title = np.concatenate(day_log.played_title[lo:])
            hit = played & popular[np.maximum(title, 0)]
            popular_plays[day] = np.bincount(who, weights=hit, minlength=n)
            search = np.concatenate(day_log.from_search[lo:])
            search_plays[day] = np.bincount(who, weights=search, minlength=n)
            satisfaction[day] = np.bincount(
                who, weights=np.concatenate(day_log.satisfaction[lo:]), minlength=n
            )
        arms[day], entered[day], served[day] = current, entry, policy.serves == 1
        status, share = str(state["status"]), float(state["share"])  # type: ignore[arg-type]
        row: dict[str, object] = {
            "mode": mode,
            "day": day + 1,
            "control_model": online.control,
            "candidate_model": online.candidate,
            "status": status,
            "share": candidate_share(status, share),
        }
        if status == "running":
            state["days_at_share"] = int(state["days_at_share"]) + 1  # type: ignore[arg-type]
            values, sequential = readout(
                day, arms, entered, minutes, plays, visits, pre, online, previous
            )
            row |= values | diagnostics(
                day, arms, entered, plays, visits, popular_plays, search_plays, satisfaction
            )
            if mode == "canary":
                step = decide(values, sequential, state, online, day)
                row |= {"action": step.action, "reason": step.reason}
                if step.action == "advance":
                    grown = assign(mode, online.salt, n, step.share)
                    entry[(grown != current) & (grown != NOT_IN)] = day + 1
                    current = grown
                    state["share"], state["days_at_share"] = step.share, 0
                elif step.action in STATUS:
                    state["status"] = STATUS[step.action]
                    current = np.full(n, NOT_IN, np.int8)
            else:
                row |= {"action": "continue", "reason": "a fixed 50/50 split all month"}
        rows.append(row | constant)
        policy.serves[:] = 1 if state["status"] == "shipped" else (current == 1)

    policy.serves[:] = current == 1
    run.run(policy, log=log, on_day_end=end_of_day, progress=settings.progress, desc=mode)
    return ModeResult(mode, rows, log, arms, entered, pre, served)


def readout(
    day: int,
    arms: np.ndarray,
    entered: np.ndarray,
    minutes: np.ndarray,
    plays: np.ndarray,
    visits: np.ndarray,
    pre: np.ndarray,
    online: OnlineSettings,
    previous: dict[str, tuple[float, float, float]],
) -> tuple[dict[str, object], dict[str, stats.Sequential]]:
    """The day's readout of both arms from the per-member daily totals (``minutes``,
    ``plays``, ``visits``: (days, M), filled up to ``day``): the row's columns and each
    metric's sequential comparison. Updates ``previous``: metric -> (p-value, low, high) of
    the last look, which the sequential test carries from one look to the next (the
    p-value never rises, the confidence sequence is the running intersection)."""
    values = member_values(day, entered[day], minutes, plays, visits, online.retention_days)
    alpha = online.alpha
    masks = {CONTROL: arms[day] == 0, CANDIDATE: arms[day] == 1}
    row: dict[str, object] = {}
    for arm, members in masks.items():
        row[f"{arm}_members"] = int(members.sum())
        row[f"{arm}_visitors"] = int(members[values["plays_per_visit"][1]].sum())
        for metric, (y, ok) in values.items():
            est = _mean_ci(y[members & ok], alpha)
            row[f"{arm}_{metric}"] = est.mean
            row[f"{arm}_{metric}_low"], row[f"{arm}_{metric}_high"] = est.low, est.high
    srm = stats.srm_check([row["control_visitors"], row["candidate_visitors"]], [1.0, 1.0])
    row |= {"srm_chi2": srm.chi2, "srm_p": srm.p_value, "srm_mismatch": srm.mismatch}
    sequential: dict[str, stats.Sequential] = {}
    for metric, (y, ok) in values.items():
        c, t = masks[CONTROL] & ok, masks[CANDIDATE] & ok
        names = [f"{metric}_{k}" for k in ("diff", "low", "high", "p")]
        names += [f"{metric}_seq_{k}" for k in ("diff", "low", "high", "p")]
        if metric == "minutes":
            names += [f"minutes_cuped_{k}" for k in ("diff", "low", "high", "p")] + ["cuped_theta"]
        row |= dict.fromkeys(names, float("nan"))
        if c.sum() < 2 or t.sum() < 2:
            continue
        fixed = stats.compare(y[c], y[t], alpha=alpha)
        row |= {f"{metric}_diff": fixed.diff, f"{metric}_low": fixed.low}
        row |= {f"{metric}_high": fixed.high, f"{metric}_p": fixed.p_value}
        pre_kw = {}
        if metric == "minutes":  # the primary: CUPED on the pre-experiment minutes
            pre_kw = {"control_pre": pre[c], "treatment_pre": pre[t]}
            cuped = stats.compare(y[c], y[t], alpha=alpha, **pre_kw)
            row |= {"minutes_cuped_diff": cuped.diff, "minutes_cuped_low": cuped.low}
            row |= {"minutes_cuped_high": cuped.high, "minutes_cuped_p": cuped.p_value}
            row["cuped_theta"] = cuped.theta
        p, low, high = previous[metric]
        seq = stats.sequential_compare(
            y[c], y[t], alpha=alpha, previous_p=p, previous_low=low, previous_high=high, **pre_kw
        )
        previous[metric] = (seq.p_value, seq.low, seq.high)
        sequential[metric] = seq
        row |= {f"{metric}_seq_diff": seq.diff, f"{metric}_seq_low": seq.low}
        row |= {f"{metric}_seq_high": seq.high, f"{metric}_seq_p": seq.p_value}
    return row, sequential


def diagnostics(
    day: int,
    arms: np.ndarray,
    entered: np.ndarray,
    plays: np.ndarray,
    visits: np.ndarray,
    popular_plays: np.ndarray,
    search_plays: np.ndarray,
    satisfaction: np.ndarray,
) -> dict[str, float]:
    """Why the arms differ, per arm since entering (no intervals: explanations, not tests):
    ``popular_share``, the share of plays that went to the history's most played tenth of
    the catalogue; ``search_share``, the share of plays members found by search (the page
    gave them nothing they wanted); and ``true_satisfaction`` per visit, which only the
    simulator knows."""
    days = np.arange(plays.shape[0])[:, None]
    since = (days >= entered[day][None, :]) & (days <= day)
    out = {}
    for arm, code in ((CONTROL, 0), (CANDIDATE, 1)):
        cols = arms[day] == code
        mask = since[:, cols]
        n_plays = float((plays[:, cols] * mask).sum())
        n_visits = float((visits[:, cols] * mask).sum())
        for name, counts in (("popular_share", popular_plays), ("search_share", search_plays)):
            total = float((counts[:, cols] * mask).sum())
            out[f"{arm}_{name}"] = total / n_plays if n_plays else float("nan")
        out[f"{arm}_true_satisfaction"] = (
            float((satisfaction[:, cols] * mask).sum()) / n_visits if n_visits else float("nan")
        )
    return out


def _mean_ci(values: np.ndarray, alpha: float) -> stats.Estimate:
    """``stats.mean_ci``, or NaNs with fewer than two values (no interval yet)."""
    if len(values) < 2:
        nan = float("nan")
        return stats.Estimate(mean=nan, low=nan, high=nan, n=len(values))
    return stats.mean_ci(values, alpha=alpha)


def member_values(
    day: int,
    entered: np.ndarray,
    minutes: np.ndarray,
    plays: np.ndarray,
    visits: np.ndarray,
    retention_days: int,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Metric -> ((M,) each member's value at ``day``, (M,) bool: the member counts for it),
    from the per-member daily totals (days, M) and the day each member entered their arm:

    - ``minutes``: streaming minutes per day since entering (every member counts: a day
      without a visit, or after churning, is 0 minutes);
    - ``plays_per_visit``: plays / visits since entering (members with a visit count);
    - ``retention``: 1 if the member visited in the last ``retention_days`` days, else 0
      (members in the arm at least that long count).
    """
    days = np.arange(minutes.shape[0])[:, None]
    since = (days >= entered[None, :]) & (days <= day)  # (days, M) each member's days in arm
    in_arm = day + 1 - entered
    total_visits = (visits * since).sum(axis=0)
    recent = since & (days > day - retention_days)
    return {
        "minutes": ((minutes * since).sum(axis=0) / np.maximum(in_arm, 1), in_arm > 0),
        "plays_per_visit": (
            (plays * since).sum(axis=0) / np.maximum(total_visits, 1),
            total_visits > 0,
        ),
        "retention": (
            ((visits * recent).sum(axis=0) > 0).astype(np.float64),
            in_arm >= retention_days,
        ),
    }


GUARDRAILS = ("plays_per_visit", "retention")
"""The metrics that must not get worse (higher is better for both)."""


def decide(
    row: dict[str, object],
    sequential: dict[str, stats.Sequential],
    state: dict[str, object],
    online: OnlineSettings,
    day: int,
) -> canary.Step:
    """The canary's decision after ``day``'s readout: ``canary.canary_step`` on the primary
    and the guardrails that have a readout yet; a sample-ratio mismatch stops it first
    (the assignment or the logging is broken, so no readout can be trusted)."""
    share = float(state["share"])  # type: ignore[arg-type]
    if row["srm_mismatch"]:
        return canary.Step("stop", f"sample ratio mismatch (p={row['srm_p']:.2g})", share)
    guardrails = [
        canary.Guardrail(
            name, sequential[name], higher_is_worse=False, margin=online.guardrail_margin
        )
        for name in GUARDRAILS
        if name in sequential
    ]
    return canary.canary_step(
        share=share,
        steps=online.canary_steps,
        days_at_share=int(state["days_at_share"]),  # type: ignore[arg-type]
        min_days=online.canary_min_days,
        primary=sequential["minutes"],
        guardrails=guardrails,
        alpha=online.alpha,
        max_days=online.days,
        days_total=day + 1,
    )


STATUS = {"rollback": "rolled back", "ship": "shipped", "stop": "stopped"}
"""The canary's state after a final action."""


def _offline_columns(offline: dict[str, dict[str, float]], online: OnlineSettings) -> dict:
    """Each arm's offline NDCG@10 and recall@10 on the held-out split, and EASE's lambda."""
    names = {"ndcg@10": "offline_ndcg", "recall@10": "offline_recall", "l2": "l2"}
    return {
        f"{role}_{names[metric]}": offline[arm][metric]
        for role, arm in ((CONTROL, online.control), (CANDIDATE, online.candidate))
        for metric in ("ndcg@10", "recall@10", "l2")
    }


def candidate_share(status: str, share: float) -> float:
    """Share of members the candidate serves: the canary's share while it runs, all of them
    once shipped, none after a rollback or a stop."""
    return {"running": share, "shipped": 1.0}.get(status, 0.0)
