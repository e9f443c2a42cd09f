"""A/A tests and power by simulation: does a test keep its stated false-positive rate when
looked at every day, and how much power does CUPED add?

A false-positive rate is a claim about many experiments, so it is checked on many: each seed
is one simulated experiment between two identical arms (an A/A test), analysed after every
simulated day as a team watching a dashboard would, and it counts as a false positive if any
look rejects. With ``effect > 0`` the treatment arm's members watch that much more (a
relative lift) and the same count is the power.

The simulated members are built to be hard on a test (docs/experiments.md has the figures):

- **heavy tails**: a member's mean minutes per day is lognormal (sd 1 on the log scale, so
  the top 1% of members watch about 10x the median), and a day's minutes are gamma with
  shape 0.6 around it (many near-zero days, some binges);
- **staggered entry**: members enter the experiment on their first visit, most on the first
  days (geometric, 35% a day), so each look has more members and longer histories;
- **a pre-period covariate**: each member's mean minutes per day over the 28 days before the
  experiment, from the same member rate but before a taste drift (lognormal, sd 0.3), so it
  predicts the experiment's minutes well but not perfectly, which is what CUPED uses.

The metric is the primary one of the platform: streaming minutes per member per day, each
member's mean over their days in the experiment so far. Assignment is the real
:func:`~recommender.abtest.assignment.arms_for` on the member ids with a salt per seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from recommender.abtest.assignment import arms_for
from recommender.abtest.stats import compare, normal_quantile, sequential_compare

METHODS = ("sequential", "naive", "fixed")
"""sequential: mSPRT at every look; naive: a fixed-horizon test at every look (peeking);
fixed: the fixed-horizon test once, at the last day (the correct use of a fixed test)."""

MEAN_MINUTES = 30.0
"""Population mean of a member's streaming minutes per day."""
RATE_SIGMA = 1.0
"""sd of log(member rate): heavy-tailed members."""
DAY_SHAPE = 0.6
"""Gamma shape of a day's minutes around the member's rate (coefficient of variation 1.3)."""
DRIFT_SIGMA = 0.3
"""sd of the lognormal change of a member's rate between the pre-period and the experiment."""
PRE_DAYS = 28
"""Length of the pre-period that CUPED's covariate averages over."""
ARRIVAL = 0.35
"""Daily probability that a member not yet in the experiment makes a first visit."""


class AASimulationError(ValueError):
    """A simulation setting out of range; the message names it."""


@dataclass(frozen=True)
class Population:
    """One simulated experiment: per member arm, entry day, pre-period and daily minutes."""

    treated: np.ndarray
    """(members,) bool: in the treatment arm."""
    entry: np.ndarray
    """(members,) int: first day in the experiment (>= days: never entered)."""
    pre: np.ndarray
    """(members,) mean minutes per day over the pre-period."""
    minutes: np.ndarray
    """(members, days) streaming minutes on each experiment day (0 before entry)."""


def simulate_population(
    rng: np.random.Generator, *, days: int, members: int, effect: float, salt: str
) -> Population:
    """Draw one experiment's members (module docstring); treatment minutes scaled by 1 + effect."""
    log_mu = math.log(MEAN_MINUTES) - RATE_SIGMA**2 / 2
    rate = np.exp(log_mu + RATE_SIGMA * rng.standard_normal(members))
    pre = rng.gamma(PRE_DAYS * DAY_SHAPE, rate / (PRE_DAYS * DAY_SHAPE))
    drift = np.exp(DRIFT_SIGMA * rng.standard_normal(members) - DRIFT_SIGMA**2 / 2)
    treated = np.array(arms_for(range(members), salt, (("a", 0.5), ("b", 0.5)))) == "b"
    rate_now = rate * drift * np.where(treated, 1.0 + effect, 1.0)
    entry = rng.geometric(ARRIVAL, size=members) - 1
    minutes = rng.gamma(DAY_SHAPE, (rate_now / DAY_SHAPE)[:, None], size=(members, days))
    minutes[np.arange(days)[None, :] < entry[:, None]] = 0.0
    return Population(treated=treated, entry=entry, pre=pre, minutes=minutes)


def look_values(population: Population, day: int) -> tuple[np.ndarray, np.ndarray]:
    """After ``day`` (0-based): the members in so far and their mean minutes per day in it."""
    present = population.entry <= day
    totals = population.minutes[present, : day + 1].sum(axis=1)
    return present, totals / (day + 1 - population.entry[present])


Variant = tuple[str, bool]
"""(method, cuped): one way of analysing the same simulated experiments."""


def rejections(
    *,
    seeds: int,
    days: int,
    members: int,
    alpha: float = 0.05,
    method: str = "sequential",
    cuped: bool = False,
    effect: float = 0.0,
    rng_seed: int = 0,
    tau_sd: float | None = None,
) -> np.ndarray:
    """(seeds, days) bool: whether the experiment has rejected "no difference" by each day."""
    return rejection_table(
        variants=[(method, cuped)],
        seeds=seeds,
        days=days,
        members=members,
        alpha=alpha,
        effect=effect,
        rng_seed=rng_seed,
        tau_sd=tau_sd,
    )[(method, cuped)]


def rejection_table(
    *,
    variants: list[Variant],
    seeds: int,
    days: int,
    members: int,
    alpha: float = 0.05,
    effect: float = 0.0,
    rng_seed: int = 0,
    tau_sd: float | None = None,
) -> dict[Variant, np.ndarray]:
    """:func:`rejections` of several analyses of the same simulated experiments at once.

    Seed ``s`` draws from ``np.random.default_rng([rng_seed, s])``: every variant (and every
    call with the same arguments) sees the same members and days, so differences between
    variants are the analyses', not the draws'. ``tau_sd`` is the sequential test's mixture
    scale in per-member sd (default :data:`~recommender.abtest.stats.DEFAULT_TAU_SD`).
    """
    _check(seeds=seeds, days=days, members=members, alpha=alpha, effect=effect)
    for method, _ in variants:
        if method not in METHODS:
            raise AASimulationError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    out = {variant: np.zeros((seeds, days), dtype=bool) for variant in variants}
    for s in range(seeds):
        rng = np.random.default_rng([rng_seed, s])
        population = simulate_population(
            rng, days=days, members=members, effect=effect, salt=f"aa-{rng_seed}-{s}"
        )
        for variant in variants:
            day = first_rejection(
                population, method=variant[0], cuped=variant[1], alpha=alpha, tau_sd=tau_sd
            )
            if day is not None:
                out[variant][s, day:] = True
    return out


def first_rejection(
    population: Population, *, method: str, cuped: bool, alpha: float, tau_sd: float | None = None
) -> int | None:
    """The first day whose look rejects, or None; looks every day except for "fixed"."""
    days = population.minutes.shape[1]
    previous_p, low, high = 1.0, -math.inf, math.inf
    for day in [days - 1] if method == "fixed" else range(days):
        present, values = look_values(population, day)
        arm = population.treated[present]
        if min(arm.sum(), (~arm).sum()) < 2:  # no variance yet: no readout this day
            continue
        pre = population.pre[present]
        kwargs = {"control_pre": pre[~arm], "treatment_pre": pre[arm]} if cuped else {}
        if method == "sequential":
            look = sequential_compare(
                values[~arm],
                values[arm],
                alpha=alpha,
                previous_p=previous_p,
                previous_low=low,
                previous_high=high,
                tau_sd=tau_sd,
                **kwargs,
            )
            previous_p, low, high = look.p_value, look.low, look.high
            rejected = look.p_value < alpha
        else:
            rejected = compare(values[~arm], values[arm], alpha=alpha, **kwargs).p_value < alpha
        if rejected:
            return day
    return None


def aa_false_positive_rate(
    *,
    seeds: int,
    days: int,
    members: int,
    alpha: float = 0.05,
    method: str = "sequential",
    cuped: bool = False,
    effect: float = 0.0,
    rng_seed: int = 0,
    tau_sd: float | None = None,
) -> float:
    """Share of ``seeds`` simulated experiments in which any daily look rejects.

    The false-positive rate with ``effect=0`` (an A/A test), the power with ``effect > 0``
    (a relative lift of the treatment's minutes, e.g. 0.05 = +5%).
    """
    rejected = rejections(
        seeds=seeds,
        days=days,
        members=members,
        alpha=alpha,
        method=method,
        cuped=cuped,
        effect=effect,
        rng_seed=rng_seed,
        tau_sd=tau_sd,
    )
    return float(rejected[:, -1].mean())


def binomial_interval(successes: int, trials: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (sensible at 0 or few successes)."""
    if trials <= 0:
        raise AASimulationError(f"trials must be >= 1, got {trials!r}")
    z = normal_quantile(1 - alpha / 2)
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = (
        z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    )
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    return low, 1.0 if successes == trials else min(1.0, centre + half)


def _check(*, seeds: int, days: int, members: int, alpha: float, effect: float) -> None:
    for name, value, least in (("seeds", seeds, 1), ("days", days, 1), ("members", members, 20)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise AASimulationError(f"{name} must be an integer >= {least}, got {value!r}")
    if not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise AASimulationError(f"alpha must be in (0, 1), got {alpha!r}")
    if not isinstance(effect, int | float) or not (-1 < effect < math.inf):
        raise AASimulationError(f"effect must be a relative lift > -1, got {effect!r}")


def cuped_variance_ratio(
    *, seeds: int, days: int, members: int, effect: float = 0.0, rng_seed: int = 0
) -> float:
    """Mean over seeds of var(difference with CUPED) / var(difference without), last day.

    The share of members CUPED needs for the same precision (1 - rho^2 for a covariate of
    correlation rho), measured on the same simulated experiments as :func:`rejection_table`.
    """
    _check(seeds=seeds, days=days, members=members, alpha=0.05, effect=effect)
    ratios = []
    for s in range(seeds):
        rng = np.random.default_rng([rng_seed, s])
        population = simulate_population(
            rng, days=days, members=members, effect=effect, salt=f"aa-{rng_seed}-{s}"
        )
        present, values = look_values(population, days - 1)
        arm, pre = population.treated[present], population.pre[present]
        plain = compare(values[~arm], values[arm])
        cuped = compare(values[~arm], values[arm], control_pre=pre[~arm], treatment_pre=pre[arm])
        ratios.append(((cuped.high - cuped.low) / (plain.high - plain.low)) ** 2)
    return float(np.mean(ratios))
