"""Examination of a 2-D page, estimated from the logs, and the page estimator built on it.

**The model.** A homepage is rows x positions. Under the position-based model (PBM;
Richardson et al. 2007, Chuklin et al. 2015), a member examines the slot (row r, position c)
with probability ``theta_{r,c}``, whatever is shown there, and independently judges the
action there attractive with probability ``gamma(x, a)``; the slot's reward (a click, a
play) happens when both do: ``E[r | x, a at (r, c)] = theta_{r,c} gamma(x, a)``.

**Estimating theta: EM on the position-based click model** (Dempster et al. 1977; Wang et
al. 2018 "regression EM"). Examination E and attraction R are hidden; a reward of 1 says
both happened, a 0 leaves three possibilities. With the counts n and reward sums s of each
(slot, action) pair:

    E-step   P(E=1 | 0) = theta (1 - gamma) / (1 - theta gamma)
             P(R=1 | 0) = (1 - theta) gamma / (1 - theta gamma)
    M-step   theta_slot = sum_a [s + (n - s) P(E=1 | 0)] / sum_a n
             gamma_a    = sum_slot [s + (n - s) P(R=1 | 0)] / sum_slot n

Rewards must lie in [0, 1] (a fractional reward counts as a fraction of a click). Assumptions:
(1) a slot's reward depends only on its own slot and action (no competition between slots);
(2) attraction is pooled over contexts per action, which is consistent when the slot an
action lands in does not depend on the context beyond the action itself, as when the
logging policy randomizes positions (each action must be seen at several slots: without
that, theta and gamma cannot be told apart); (3) clicks identify only *products*
theta gamma, so theta is known up to one factor: it is reported relative to the most
examined slot (``theta.max() == 1``). Nothing downstream needs the absolute scale.

**The page estimator (``page-pbm``).** A click at logged slot k says about the action's
attraction ``r_k / theta_k``; under the PBM it carries over to any slot the target puts the
action in. Pooling every logged slot of a slate, weighted by its examination (the weighting
that cancels the ``1 / theta_k``):

    V = mean over slates of  sum_k r_k m(a_k) / (mu_k(a_k) Theta)
    m(a) = sum_{k'} theta_{k'} pi_{k'}(a),   Theta = sum_k theta_k   (over the slate's slots)

It is unbiased under the PBM with independently filled slots when mu_k(a) > 0 at every
logged slot for every action the target shows anywhere on the page. Unlike independent IPS,
which learns about slot k only from what was logged at slot k, it lets clicks at well
examined slots inform the value of rarely examined ones, and its weights are smoother.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recommender.ope.bootstrap import Estimate, make_estimate
from recommender.ope.slate import SlateLayout

EM_ITERATIONS = 5000
"""Most EM steps taken."""
EM_TOLERANCE = 1e-10
"""Stop when no relative examination probability moves by more than this in a step."""
SLATE_BLOCK = 1 << 12
"""Slates whose target mixtures are formed at a time (a (slates, L, L) gather)."""


@dataclass(frozen=True, eq=False)
class Examination:
    """Examination probabilities of the page's slots, relative to the most examined one."""

    theta: np.ndarray
    """(rows, positions) relative examination probability; max 1; NaN for unseen slots."""
    attraction: np.ndarray
    """(A,) attraction per action on the same scale (``theta * attraction`` = click rate)."""
    iterations: int
    converged: bool

    def slot_theta(self) -> np.ndarray:
        """(rows * positions,) theta by slot index ``row * positions + position``."""
        return self.theta.ravel()


def fit_examination(
    *,
    cells: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray,
    grid: tuple[int, int],
    n_actions: int,
    iterations: int = EM_ITERATIONS,
    tolerance: float = EM_TOLERANCE,
) -> Examination:
    """EM on the position-based model (module docstring); ``rewards`` in [0, 1]."""
    if len(rewards) and (rewards.min() < 0 or rewards.max() > 1):
        raise ValueError("the examination model needs rewards in [0, 1] (clicks or fractions)")
    n_cells = grid[0] * grid[1]
    key = cells * n_actions + actions
    shown = np.bincount(key, minlength=n_cells * n_actions).reshape(n_cells, n_actions)
    clicks = np.bincount(key, rewards, n_cells * n_actions).reshape(n_cells, n_actions)
    misses = shown - clicks
    per_cell = shown.sum(axis=1)
    per_action = shown.sum(axis=0)
    seen_cell, seen_action = per_cell > 0, per_action > 0
    ctr_cell = np.divide(clicks.sum(1), per_cell, out=np.zeros(n_cells), where=seen_cell)
    theta = np.clip(ctr_cell / max(ctr_cell.max(), 1e-12), 0.05, 0.95)
    gamma = np.full(n_actions, 0.5)
    converged, steps = False, 0
    while steps < iterations:
        steps += 1
        t, g = theta[:, None], gamma[None, :]
        miss_rate = np.maximum(1.0 - t * g, 1e-300)
        examined = clicks + misses * (t * (1.0 - g) / miss_rate)
        attracted = clicks + misses * ((1.0 - t) * g / miss_rate)
        new_theta = np.divide(examined.sum(1), per_cell, out=theta.copy(), where=seen_cell)
        new_gamma = np.divide(attracted.sum(0), per_action, out=gamma.copy(), where=seen_action)
        change = np.abs(new_theta / new_theta.max() - theta / theta.max()).max()
        theta, gamma = new_theta, new_gamma
        if change < tolerance:
            converged = True
            break
    scale = theta[seen_cell].max() if seen_cell.any() else 1.0
    relative = np.where(seen_cell, theta / scale, np.nan)
    return Examination(relative.reshape(grid), gamma * scale, steps, converged)


def page_pbm_ips(
    *,
    rewards: np.ndarray,
    actions: np.ndarray,
    propensities: np.ndarray,
    target: np.ndarray,
    cells: np.ndarray,
    layout: SlateLayout,
    examination: Examination,
) -> Estimate:
    """The PBM page estimator (module docstring), per slate; ``target`` is (N, A)."""
    theta = np.nan_to_num(examination.slot_theta()[cells])  # (N,) theta of each row's slot
    theta_sum = np.bincount(layout.slates, weights=theta, minlength=layout.n_slates)
    mixture = np.empty(len(rewards))  # m_s(a_i) = sum over the slate's rows j of theta_j pi_j(a_i)
    lengths = np.diff(np.r_[layout.starts, len(layout.order)])
    for length in np.unique(lengths):
        starts = layout.starts[lengths == length]
        for first in range(0, len(starts), SLATE_BLOCK):
            block = starts[first : first + SLATE_BLOCK]
            rows = layout.order[block[:, None] + np.arange(length)]  # (slates, L)
            shown = target[rows[:, :, None], actions[rows][:, None, :]]  # (slates, L_j, L_i)
            mixture[rows] = np.einsum("sj,sji->si", theta[rows], shown.astype(np.float64))
    totals = theta_sum[layout.slates]
    weights = np.divide(
        mixture, propensities * totals, out=np.zeros(len(rewards)), where=totals > 0
    )
    return make_estimate(
        "page-pbm",
        numerators=np.bincount(layout.slates, weights=weights * rewards, minlength=layout.n_slates),
        denominators=np.ones(layout.n_slates),
        weights=weights,
        unit="slate",
        ess_unit="rows",
    )
