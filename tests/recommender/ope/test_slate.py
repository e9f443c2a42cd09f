"""Slate estimators: hand-computed values on a tiny slate log, and unbiasedness under the
cascade model (where independent IPS, which assumes no interaction, must fail)."""

import math

import numpy as np
import pytest

from recommender.ope import (
    OPEConfig,
    cascade_dr,
    cascade_reward_to_go,
    evaluate_policy,
    independent_ips,
    pseudo_inverse,
    reward_interaction_ips,
    slate_layout,
    standard_slate_ips,
)
from recommender.ope.reward_model import RewardModelConfig, assign_folds
from recommender.ope.synthetic import make_cascade

# Two slates of two slots, given out of order (rows: B1, A0, B0, A1):
#
#   slate  slot  w     r    q    v
#   A      0     2     1    0.5  0.8
#   A      1     0.5   1    0.5  0.4
#   B      0     0.5   0    0.5  0.8
#   B      1     3     1    0.5  0.4
SLATES = np.array([1, 0, 1, 0])
CELLS = np.array([1, 0, 0, 1])
WEIGHTS = np.array([3.0, 2.0, 0.5, 0.5])
REWARDS = np.array([1.0, 1.0, 0.0, 1.0])
LOGGED_Q = np.full(4, 0.5)
TARGET_V = np.array([0.4, 0.8, 0.8, 0.4])
LAYOUT = slate_layout(SLATES, CELLS)


def test_layout_orders_each_slate_by_slot():
    assert LAYOUT.steps.tolist() == [1, 0, 0, 1]
    assert LAYOUT.order.tolist() == [1, 3, 2, 0]


def test_independent_ips_by_hand():
    # A: 2*1 + 0.5*1 = 2.5;  B: 0.5*0 + 3*1 = 3;  mean over slates = 2.75
    e = independent_ips(rewards=REWARDS, weights=WEIGHTS, layout=LAYOUT)
    assert e.value == pytest.approx(2.75)
    assert (e.unit, e.n) == ("slate", 2)


def test_standard_slate_ips_by_hand():
    # A: (2 * 0.5) * (1 + 1) = 2;  B: (0.5 * 3) * (0 + 1) = 1.5;  mean = 1.75
    # ESS over the slate weights 1 and 1.5: 2.5^2 / (1 + 2.25)
    e = standard_slate_ips(rewards=REWARDS, weights=WEIGHTS, layout=LAYOUT)
    assert e.value == pytest.approx(1.75)
    assert e.ess == pytest.approx(2.5**2 / 3.25)


def test_pseudo_inverse_by_hand():
    # Per slate (w_0 + w_1 - 2 + 1) * (r_0 + r_1):
    #   A: (2 + 0.5 - 1) * 2 = 3;  B: (0.5 + 3 - 1) * 1 = 2.5;  mean = 2.75
    e = pseudo_inverse(rewards=REWARDS, weights=WEIGHTS, layout=LAYOUT)
    assert e.value == pytest.approx(2.75)


def test_reward_interaction_ips_by_hand():
    # Cumulative weights: A: W0 = 2, W1 = 2 * 0.5 = 1;  B: W0 = 0.5, W1 = 0.5 * 3 = 1.5
    # A: 2*1 + 1*1 = 3;  B: 0.5*0 + 1.5*1 = 1.5;  mean = 2.25
    e = reward_interaction_ips(rewards=REWARDS, weights=WEIGHTS, layout=LAYOUT)
    assert e.value == pytest.approx(2.25)


def test_cascade_dr_by_hand():
    # Per slot W_k (r_k - q_k) + W_{k-1} v_k, with W_{-1} = 1:
    #   A0: 2 (1 - 0.5) + 1 * 0.8 = 1.8     A1: 1 (1 - 0.5) + 2 * 0.4 = 1.3     A = 3.1
    #   B0: 0.5 (0 - 0.5) + 1 * 0.8 = 0.55  B1: 1.5 (1 - 0.5) + 0.5 * 0.4 = 0.95 B = 1.5
    #   mean = (3.1 + 1.5) / 2 = 2.3
    e = cascade_dr(
        rewards=REWARDS,
        weights=WEIGHTS,
        layout=LAYOUT,
        logged_predictions=LOGGED_Q,
        target_values=TARGET_V,
    )
    assert e.value == pytest.approx(2.3)


def test_a_zero_weight_zeroes_only_the_rest_of_its_own_slate():
    weights = np.array([3.0, 0.0, 0.5, 0.5])  # A0 now has weight 0
    # A: W0 = 0, W1 = 0 -> 0;  B unchanged: 1.5;  mean = 0.75
    assert reward_interaction_ips(
        rewards=REWARDS, weights=weights, layout=LAYOUT
    ).value == pytest.approx(0.75)
    # cascade-dr A: 0 + 1*0.8 and 0 + 0*0.4 -> 0.8; B 1.5 -> mean 1.15
    e = cascade_dr(
        rewards=REWARDS,
        weights=weights,
        layout=LAYOUT,
        logged_predictions=LOGGED_Q,
        target_values=TARGET_V,
    )
    assert e.value == pytest.approx(1.15)


CASCADE = make_cascade(np.random.default_rng(7))
SEEDS = 100


@pytest.fixture(scope="module")
def cascade_estimates():
    """Every estimator on 100 logs of 1,000 slates under the cascade model."""
    out = []
    for seed in range(SEEDS):
        rng = np.random.default_rng(seed)
        log, target = CASCADE.sample(1000, rng)
        out.append(evaluate_policy(log, target, config=OPEConfig(replicates=0), rng=rng))
    return out


def _values(reports, name):
    return np.array([r.by_name()[name].value for r in reports])


def _within(values, truth):
    """Mean over seeds within 3 standard errors of the exact truth."""
    return abs(values.mean() - truth) < 3 * values.std() / math.sqrt(len(values))


def test_cascade_estimators_are_unbiased_under_the_cascade_model(cascade_estimates):
    """Members scan 3 slots and stop at the first click, so a slot's reward depends on the
    slots above it. The truth is exact: 1 - prod_k (1 - sum_a pi_k(a|x) gamma(x, a))."""
    truth = CASCADE.true_value()
    for name in ("sips", "rips", "cascade-dr"):
        assert _within(_values(cascade_estimates, name), truth), name
    # The reward-to-go model cuts the cascade estimator's spread well below RIPS's.
    rips_sd = _values(cascade_estimates, "rips").std()
    assert _values(cascade_estimates, "cascade-dr").std() < 0.5 * rips_sd


@pytest.mark.parametrize("name", ["iips", "pseudo-inverse"])
def test_additive_estimators_fail_the_same_check_under_the_cascade(cascade_estimates, name):
    """IIPS and the pseudo-inverse assume slot rewards add up independently; here they do
    not, and both overestimate (they count clicks the cascade would have stopped)."""
    truth = CASCADE.true_value()
    values = _values(cascade_estimates, name)
    assert not _within(values, truth)
    assert values.mean() > truth


def test_rips_with_per_slot_weights_fails_the_check(cascade_estimates):
    """The broken variant of RIPS that forgets to multiply weights down the slate is IIPS;
    the same cascade logs catch it (checked above), and a product that skips the slot's own
    weight fails too."""
    truth = CASCADE.true_value()
    values = []
    for seed in range(SEEDS):
        rng = np.random.default_rng(seed)
        log, target = CASCADE.sample(1000, rng)
        w = target[np.arange(len(log)), log.actions] / log.propensities
        layout = slate_layout(log.slates, log.cells())
        shifted = np.ones(len(w))  # W_{k-1} in place of W_k
        inner = np.flatnonzero(layout.steps[layout.order] > 0)
        shifted[layout.order[inner]] = w[layout.order[inner - 1]]
        values.append(
            reward_interaction_ips(rewards=log.rewards, weights=shifted, layout=layout).value
        )
    assert not _within(np.array(values), truth)


def test_reward_to_go_is_cross_fitted_by_slate():
    """No slot's q or v has seen its own reward or a later slot's of its slate: flip them
    and the predictions stay exactly; only the features of later slots (the rewards above
    them) may change theirs. Predictions in other folds move (their models saw the flip)."""
    rng = np.random.default_rng(0)
    log, target = CASCADE.sample(300, rng)
    layout = slate_layout(log.slates, log.cells())
    folds = assign_folds(len(log), 3, np.random.default_rng(1), log.slates)
    args = dict(
        contexts=log.contexts,
        actions=log.actions,
        target=target,
        layout=layout,
        folds=folds,
        n_actions=log.n_actions,
        config=RewardModelConfig(folds=3),
    )
    q, v = cascade_reward_to_go(rewards=log.rewards, **args)
    mine = np.flatnonzero(log.slates == 0)
    first, last = mine[layout.steps[mine] == 0], mine[layout.steps[mine] == 2]
    flipped_all = log.rewards.copy()
    flipped_all[mine] = 1 - flipped_all[mine]
    q_all, v_all = cascade_reward_to_go(rewards=flipped_all, **args)
    assert q_all[first] == q[first] and v_all[first] == v[first]
    flipped_last = log.rewards.copy()
    flipped_last[last] = 1 - flipped_last[last]
    q_last, v_last = cascade_reward_to_go(rewards=flipped_last, **args)
    assert np.array_equal(q_last[mine], q[mine]) and np.array_equal(v_last[mine], v[mine])
    other = folds != folds[mine[0]]
    assert not np.allclose(q_all[other], q[other])
