"""Single-decision off-policy estimators: what a target policy's mean reward per row would be.

Notation (docs/ope.md has the derivations and the trade-offs): row i has context x_i, logged
action a_i, reward r_i and logging propensity mu_i = mu(a_i | x_i); the target gives
pi(a | x_i). The importance weight is ``w_i = pi(a_i | x_i) / mu_i``. A cross-fitted reward
model gives ``q_i = q(x_i, a_i)`` and ``v_i = sum_a pi(a | x_i) q(x_i, a)``.

==========  ===============================================  ==============================
estimator   value                                            paper
==========  ===============================================  ==============================
ips         mean(w r)                                        Horvitz & Thompson 1952
snips       sum(w r) / sum(w)                                Swaminathan & Joachims 2015
dm          mean(v)                                          (regression; Dudik et al. 2011)
dr          mean(v + w (r - q))                              Dudik et al. 2011
switch-dr   mean(v + 1[w <= tau] w (r - q))                  Wang et al. 2017
dr-os       mean(v + w' (r - q)),  w' = lam w / (w^2 + lam)  Su et al. 2020
==========  ===============================================  ==============================

Each function takes per-row arrays and returns an :class:`~recommender.ope.bootstrap.Estimate`
(its interval is filled by :func:`~recommender.ope.bootstrap.with_intervals`). ``clusters``
(dense slate ids) makes the bootstrap resample slates instead of rows.
"""

from __future__ import annotations

import math

import numpy as np

from recommender.ope.bootstrap import Estimate, make_estimate

WEIGHT_QUANTILES = (0.5, 0.75, 0.9, 0.95, 0.99, 0.999)
"""Quantiles of the weights that seed the switch threshold and shrinkage grids."""


def ips(
    *, rewards: np.ndarray, weights: np.ndarray, clusters: np.ndarray | None = None
) -> Estimate:
    """Inverse propensity scoring: unbiased whenever mu > 0 wherever pi > 0; high variance."""
    return make_estimate(
        "ips",
        numerators=weights * rewards,
        denominators=np.ones(len(rewards)),
        weights=weights,
        unit="row",
        ess_unit="rows",
        clusters=clusters,
    )


def snips(
    *, rewards: np.ndarray, weights: np.ndarray, clusters: np.ndarray | None = None
) -> Estimate:
    """Self-normalized IPS: divides by ``sum w`` (whose expectation is n); biased, O(1/n)."""
    return make_estimate(
        "snips",
        numerators=weights * rewards,
        denominators=weights,
        weights=weights,
        unit="row",
        ess_unit="rows",
        clusters=clusters,
    )


def direct_method(*, target_values: np.ndarray, clusters: np.ndarray | None = None) -> Estimate:
    """The reward model's value of the target, ``mean(v)``: low variance, biased as q is."""
    return make_estimate(
        "dm",
        numerators=target_values,
        denominators=np.ones(len(target_values)),
        weights=None,
        unit="row",
        ess_unit="rows (no weights)",
        clusters=clusters,
    )


def doubly_robust(
    *,
    rewards: np.ndarray,
    weights: np.ndarray,
    logged_predictions: np.ndarray,
    target_values: np.ndarray,
    clusters: np.ndarray | None = None,
) -> Estimate:
    """DM plus an IPS correction of the model's error: unbiased if either part is right."""
    return _corrected("dr", rewards, weights, logged_predictions, target_values, clusters, {})


def switch_dr(
    *,
    rewards: np.ndarray,
    weights: np.ndarray,
    logged_predictions: np.ndarray,
    target_values: np.ndarray,
    tau: float | None = None,
    clusters: np.ndarray | None = None,
) -> Estimate:
    """DR whose correction is switched off on rows with ``w > tau`` (they keep the DM term).

    Wang et al. (2017) switch per action using the logging probability of every action; a
    log holds only the logged action's, so, as in Open Bandit Pipeline, the switch is on
    the logged row's weight. ``tau=None`` picks it from a grid of weight quantiles by the
    estimated mean squared error (:func:`tune`); ``tau = max(w)`` is plain DR.
    """
    residual = rewards - logged_predictions

    def corrected(t: float) -> np.ndarray:
        return np.where(weights <= t, weights, 0.0)

    if tau is None:
        tau = tune(_threshold_grid(weights), corrected, weights, residual, target_values)
    used = corrected(tau)
    return _corrected(
        "switch-dr",
        rewards,
        used,
        logged_predictions,
        target_values,
        clusters,
        {"tau": float(tau)},
    )


def dr_shrinkage(
    *,
    rewards: np.ndarray,
    weights: np.ndarray,
    logged_predictions: np.ndarray,
    target_values: np.ndarray,
    lam: float | None = None,
    clusters: np.ndarray | None = None,
) -> Estimate:
    """DR with optimistic shrinkage (Su et al. 2020): ``w' = lam w / (w^2 + lam)``.

    ``w'`` is close to ``w`` for ``w << sqrt(lam)`` and falls like ``lam / w`` above it,
    so a few huge weights cannot dominate. ``lam=None`` picks lambda from the squares of a
    grid of weight quantiles by the estimated mean squared error; ``lam = inf`` is plain DR.
    """
    residual = rewards - logged_predictions

    def shrunk(value: float) -> np.ndarray:
        return weights if math.isinf(value) else value * weights / (weights**2 + value)

    if lam is None:
        grid = [math.inf] + [t * t for t in _threshold_grid(weights) if t > 0]
        lam = tune(grid, shrunk, weights, residual, target_values)
    return _corrected(
        "dr-os",
        rewards,
        shrunk(lam),
        logged_predictions,
        target_values,
        clusters,
        {"lambda": float(lam)},
    )


def tune(
    grid: list[float],
    corrected_weights,
    weights: np.ndarray,
    residual: np.ndarray,
    target_values: np.ndarray,
) -> float:
    """The grid value minimizing estimated bias^2 + variance / n of the DR-type estimate.

    The bias of replacing ``w`` by ``w'`` in the correction is ``E[(w - w') (r - q)]``,
    estimated by its sample mean (the plug-in of Su et al. 2020 and Open Bandit
    Pipeline); the variance is that of the per-row terms. Ties go to the value listed
    first (the grids list the least biased first). The interval does not account for
    this choice; it is made once on the full log.
    """
    n = len(weights)
    best, best_score = grid[0], math.inf
    for value in grid:
        used = corrected_weights(value)
        terms = target_values + used * residual
        bias = float(np.mean((weights - used) * residual))
        score = bias * bias + float(np.var(terms)) / n
        if score < best_score:
            best, best_score = value, score
    return best


def _threshold_grid(weights: np.ndarray) -> list[float]:
    """Candidate weight thresholds, largest first (the largest keeps every weight)."""
    cuts = np.quantile(weights, WEIGHT_QUANTILES) if len(weights) else np.zeros(0)
    grid = {float(weights.max())} if len(weights) else {0.0}
    grid |= {float(c) for c in cuts}
    return sorted(grid, reverse=True)


def _corrected(
    name: str,
    rewards: np.ndarray,
    used: np.ndarray,
    logged_predictions: np.ndarray,
    target_values: np.ndarray,
    clusters: np.ndarray | None,
    params: dict[str, float],
) -> Estimate:
    terms = target_values + used * (rewards - logged_predictions)
    return make_estimate(
        name,
        numerators=terms,
        denominators=np.ones(len(rewards)),
        weights=used,
        unit="row",
        ess_unit="rows",
        clusters=clusters,
        params=params,
    )
