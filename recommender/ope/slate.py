"""Slate estimators: the value of a whole page (a row of slots, or rows x slots), per slate.

A slate s shows actions a_{s,1..K} in slots read in a fixed order (left to right; on a 2-D
page row by row, as the simulator's members scan). Every slot has its own reward and its
own weight ``w_{s,k} = pi(a_{s,k} | x, k) / mu(a_{s,k} | x, k)``; the slate's reward is
``sum_k r_{s,k}``. The estimators differ in what they assume about how a slot's reward
depends on the other slots, and so in which product of weights they need:

=====================  ===========================================  =======================
estimator              value per slate                              assumes, paper
=====================  ===========================================  =======================
sips (standard slate)  (prod_k w_k) sum_k r_k                       nothing; Swaminathan et
                                                                    al. 2017 (its baseline)
pseudo-inverse         (sum_k w_k - K + 1) sum_k r_k                the slate reward adds
                                                                    up over slots;
                                                                    Swaminathan et al. 2017
iips (independent)     sum_k w_k r_k                                r_k depends on slot k
                                                                    only; Li et al. 2018
rips (cascade)         sum_k (prod_{j<=k} w_j) r_k                  r_k depends on slots
                                                                    1..k; McInerney et al.
                                                                    2020
cascade-dr             sum_k [W_k (r_k - q_k) + W_{k-1} v_k]        as rips, plus a model;
                                                                    Kiyohara et al. 2022
=====================  ===========================================  =======================

with ``W_k = prod_{j<=k} w_j``, ``W_0 = 1``, ``q_k`` a model of the reward from slot k on
given the slot-k action and ``v_k = sum_a pi(a | x, k) q_k(x, a)``.

The propensities must be the probability of the slot's action *given the context and the
actions above it in the slate* (for a policy that fills slots independently, simply its
probability at that slot): then products of weights are slate-prefix probability ratios.
Independent IPS needs the *marginal* probability of the action at the slot; the two
coincide when slots are filled independently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recommender.ope.bootstrap import Estimate, make_estimate
from recommender.ope.reward_model import RewardModelConfig, feature_scaling, fit_reward_model


@dataclass(frozen=True, eq=False)
class SlateLayout:
    """Where each row sits: its slate and its step in the reading order of the slate."""

    order: np.ndarray
    """(N,) row indices sorted by (slate, slot): the slates' reading orders, concatenated."""
    starts: np.ndarray
    """(S,) offset in ``order`` where each slate starts."""
    steps: np.ndarray
    """(N,) 0-based step of each row in its slate's reading order."""
    slates: np.ndarray
    """(N,) dense slate of each row."""

    @property
    def n_slates(self) -> int:
        return len(self.starts)


def slate_layout(slates: np.ndarray, cells: np.ndarray) -> SlateLayout:
    """Order rows by slate, then by slot (row-major: ``cells = row * positions + position``)."""
    order = np.lexsort((cells, slates))
    sorted_slates = slates[order]
    starts = np.flatnonzero(np.r_[True, sorted_slates[1:] != sorted_slates[:-1]])
    lengths = np.diff(np.r_[starts, len(order)])
    steps = np.empty(len(order), np.int64)
    steps[order] = np.arange(len(order)) - np.repeat(starts, lengths)
    return SlateLayout(order, starts, steps, slates)


def cumulative_weights(weights: np.ndarray, layout: SlateLayout) -> np.ndarray:
    """(N,) ``W = prod of the weights up to and including each row`` in its slate's order.

    Products are summed logarithms per slate (a zero weight is counted apart, so one
    zero makes every later product 0 without poisoning other slates).
    """
    w = weights[layout.order]
    zero = w == 0
    logs = np.log(np.where(zero, 1.0, w))
    lengths = np.diff(np.r_[layout.starts, len(w)])
    log_sum = np.cumsum(logs)
    zero_sum = np.cumsum(zero)
    before = np.r_[0.0, log_sum][layout.starts]
    zeros_before = np.r_[0, zero_sum][layout.starts]
    within = log_sum - np.repeat(before, lengths)
    zeros = zero_sum - np.repeat(zeros_before, lengths)
    out = np.empty(len(w))
    out[layout.order] = np.where(zeros > 0, 0.0, np.exp(within))
    return out


def whole_slate_weights(weights: np.ndarray, layout: SlateLayout) -> np.ndarray:
    """(S,) the product of every weight in each slate."""
    cumulative = cumulative_weights(weights, layout)[layout.order]
    ends = np.r_[layout.starts[1:], len(cumulative)] - 1
    return cumulative[ends]


def _per_slate(values: np.ndarray, layout: SlateLayout) -> np.ndarray:
    return np.bincount(layout.slates, weights=values, minlength=layout.n_slates)


def independent_ips(*, rewards: np.ndarray, weights: np.ndarray, layout: SlateLayout) -> Estimate:
    """Li et al. 2018: each slot reweighted by its own weight; the slate sums its slots."""
    return make_estimate(
        "iips",
        numerators=_per_slate(weights * rewards, layout),
        denominators=np.ones(layout.n_slates),
        weights=weights,
        unit="slate",
        ess_unit="rows",
    )


def standard_slate_ips(
    *, rewards: np.ndarray, weights: np.ndarray, layout: SlateLayout
) -> Estimate:
    """The whole slate reweighted by the product of all its weights: unbiased for any reward
    structure, and exponentially noisy in the number of slots."""
    slate_w = whole_slate_weights(weights, layout)
    return make_estimate(
        "sips",
        numerators=slate_w * _per_slate(rewards, layout),
        denominators=np.ones(layout.n_slates),
        weights=slate_w,
        unit="slate",
        ess_unit="slates",
    )


def pseudo_inverse(*, rewards: np.ndarray, weights: np.ndarray, layout: SlateLayout) -> Estimate:
    """Swaminathan et al. 2017 with a logging policy that fills slots independently:
    ``(sum_k w_k - K + 1) * sum_k r_k`` per slate.

    It needs only the slate's total reward (a page-level outcome will do) and is unbiased
    when that total is additive over slots; the ``- K + 1`` removes the other slots'
    rewards, which each ``w_k`` reweights by 1 on average.
    """
    lengths = np.bincount(layout.slates, minlength=layout.n_slates)
    factor = _per_slate(weights, layout) - lengths + 1
    return make_estimate(
        "pseudo-inverse",
        numerators=factor * _per_slate(rewards, layout),
        denominators=np.ones(layout.n_slates),
        weights=factor,
        unit="slate",
        ess_unit="slates",
    )


def reward_interaction_ips(
    *, rewards: np.ndarray, weights: np.ndarray, layout: SlateLayout
) -> Estimate:
    """McInerney et al. 2020 (cascade IPS): slot k reweighted by the product up to k."""
    cumulative = cumulative_weights(weights, layout)
    return make_estimate(
        "rips",
        numerators=_per_slate(cumulative * rewards, layout),
        denominators=np.ones(layout.n_slates),
        weights=cumulative,
        unit="slate",
        ess_unit="rows",
    )


def cascade_dr(
    *,
    rewards: np.ndarray,
    weights: np.ndarray,
    layout: SlateLayout,
    logged_predictions: np.ndarray,
    target_values: np.ndarray,
) -> Estimate:
    """Kiyohara et al. 2022: RIPS with the reward-to-go model as a control variate.

    Per slate ``sum_k [W_k (r_k - q_k) + W_{k-1} v_k]``; unbiased under the cascade
    assumption for any ``q`` (the correction has mean 0 given the prefix), and with a good
    ``q`` its variance is far below RIPS's. ``logged_predictions`` and ``target_values`` are
    ``q_k`` and ``v_k`` per row, from :func:`cascade_reward_to_go`.
    """
    cumulative = cumulative_weights(weights, layout)
    previous = np.ones(len(weights))  # W_{k-1}: the product before each slot
    order = layout.order
    inner = np.flatnonzero(layout.steps[order] > 0)
    previous[order[inner]] = cumulative[order[inner - 1]]
    terms = cumulative * (rewards - logged_predictions) + previous * target_values
    return make_estimate(
        "cascade-dr",
        numerators=_per_slate(terms, layout),
        denominators=np.ones(layout.n_slates),
        weights=cumulative,
        unit="slate",
        ess_unit="rows",
    )


def rewards_above(rewards: np.ndarray, layout: SlateLayout) -> np.ndarray:
    """(N,) sum of the rewards at earlier steps of each row's slate (0 at the first step)."""
    sorted_rewards = rewards[layout.order]
    lengths = np.diff(np.r_[layout.starts, len(sorted_rewards)])
    running = np.cumsum(sorted_rewards) - sorted_rewards
    out = np.empty(len(rewards))
    out[layout.order] = running - np.repeat(running[layout.starts], lengths)
    return out


def cascade_reward_to_go(
    *,
    contexts: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray,
    target: np.ndarray,
    layout: SlateLayout,
    folds: np.ndarray,
    n_actions: int,
    config: RewardModelConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """Cross-fitted fitted-Q evaluation of the reward to go: ``(q_k, v_k)`` per row.

    ``q_k(x, a)`` models ``r_k + v_{k+1}`` (the reward of slot k and, under the target, of
    the slots after it), backward from the last step, one ridge model per step of the
    context, the slot's action and the rewards above the slot (earlier actions enter only
    through the weights). Using the rewards above keeps the estimator unbiased because a
    page is composed before it is shown: a slot's action is drawn independently of the
    rewards above it, given the actions above it. In a cascade they matter most: after a
    click above, little reward is left to go.

    For each fold the whole backward chain is fitted on the other folds' slates, so no
    row's prediction has seen that row or any later slot of its slate.
    """
    n = len(rewards)
    order = layout.order
    mean, scale = feature_scaling(contexts)  # of the contexts alone: no reward enters them
    contexts = np.column_stack([contexts, rewards_above(rewards, layout)])
    standardize = (np.r_[mean, 0.0], np.r_[scale, 1.0])
    successor = np.full(n, -1)
    inner = np.flatnonzero(layout.steps[order][1:] > 0)  # order[p + 1] follows order[p]
    successor[order[inner]] = order[inner + 1]
    n_steps = int(layout.steps.max()) + 1
    by_step = [np.flatnonzero(layout.steps == j) for j in range(n_steps)]
    logged = np.zeros(n)
    values = np.zeros(n)
    one_cell = np.zeros(n, np.int64)
    for fold in range(int(folds.max()) + 1):
        held_out = folds == fold
        chain_v = np.zeros(n)
        for step in range(n_steps - 1, -1, -1):
            rows = by_step[step]
            following = successor[rows]
            to_go = rewards[rows] + np.where(following >= 0, chain_v[np.maximum(following, 0)], 0)
            split = held_out[rows].astype(np.int64)  # model 1 is fitted on split == 0 rows
            if split.all():
                continue
            model = fit_reward_model(
                contexts=contexts[rows],
                cells=one_cell[rows],
                actions=actions[rows],
                rewards=to_go,
                n_cells=1,
                n_actions=n_actions,
                folds=split,
                n_folds=2,
                standardize=standardize,
                config=config,
            )
            use = np.ones(len(rows), np.int64)
            chain_v[rows] = model.expected(contexts[rows], one_cell[rows], use, target[rows])
            mine = rows[held_out[rows]]
            if len(mine):
                ones = np.ones(len(mine), np.int64)
                logged[mine] = model.predict(contexts[mine], one_cell[mine], actions[mine], ones)
                values[mine] = chain_v[mine]
    return logged, values
