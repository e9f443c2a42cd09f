"""Single-decision estimators: hand-computed values, and unbiasedness against a known truth."""

import math

import numpy as np
import pytest

from recommender.ope import (
    OPEConfig,
    direct_method,
    doubly_robust,
    dr_shrinkage,
    evaluate_policy,
    ips,
    reward_model_for,
    snips,
    switch_dr,
)
from recommender.ope.synthetic import make_bandit

# A tiny log of four rows over two actions, with a reward model given by hand:
#
#   row  action  reward  mu    pi(0), pi(1)   w = pi(a)/mu       q(a)   v = sum pi q
#   1    0       1       0.5   0.9, 0.1       0.9/0.5  = 1.8     0.5    0.9*0.5+0.1*0.25 = 0.475
#   2    1       0       0.25  0.8, 0.2       0.2/0.25 = 0.8     0.25   0.8*0.5+0.2*0.25 = 0.45
#   3    0       0       0.5   0.8, 0.2       0.8/0.5  = 1.6     0.5    0.45
#   4    1       1       0.75  0.4, 0.6       0.6/0.75 = 0.8     0.25   0.4*0.5+0.6*0.25 = 0.35
#
# (q(x, 0) = 0.5 and q(x, 1) = 0.25 in every row.)
REWARDS = np.array([1.0, 0.0, 0.0, 1.0])
WEIGHTS = np.array([1.8, 0.8, 1.6, 0.8])
LOGGED_Q = np.array([0.5, 0.25, 0.5, 0.25])
TARGET_V = np.array([0.475, 0.45, 0.45, 0.35])
MODEL = dict(rewards=REWARDS, weights=WEIGHTS, logged_predictions=LOGGED_Q, target_values=TARGET_V)


def test_ips_and_snips_by_hand():
    # IPS   = (1.8*1 + 0.8*0 + 1.6*0 + 0.8*1) / 4 = 2.6 / 4 = 0.65
    # SNIPS = 2.6 / (1.8 + 0.8 + 1.6 + 0.8) = 2.6 / 5.0 = 0.52
    # ESS   = (sum w)^2 / sum w^2 = 5.0^2 / (3.24 + 0.64 + 2.56 + 0.64) = 25 / 7.08
    assert ips(rewards=REWARDS, weights=WEIGHTS).value == pytest.approx(0.65)
    assert snips(rewards=REWARDS, weights=WEIGHTS).value == pytest.approx(0.52)
    assert ips(rewards=REWARDS, weights=WEIGHTS).ess == pytest.approx(25 / 7.08)


def test_dm_and_dr_by_hand():
    # DM = (0.475 + 0.45 + 0.45 + 0.35) / 4 = 1.725 / 4 = 0.43125
    # DR rows: v + w (r - q):
    #   1: 0.475 + 1.8 * (1 - 0.5)  = 1.375
    #   2: 0.45  + 0.8 * (0 - 0.25) = 0.25
    #   3: 0.45  + 1.6 * (0 - 0.5)  = -0.35
    #   4: 0.35  + 0.8 * (1 - 0.25) = 0.95
    #   DR = (1.375 + 0.25 - 0.35 + 0.95) / 4 = 2.225 / 4 = 0.55625
    assert direct_method(target_values=TARGET_V).value == pytest.approx(0.43125)
    assert doubly_robust(**MODEL).value == pytest.approx(0.55625)


def test_switch_dr_and_shrinkage_by_hand():
    # Switch-DR, tau = 1: rows 1 and 3 (w = 1.8, 1.6 > 1) keep only v:
    #   (0.475 + 0.25 + 0.45 + 0.95) / 4 = 2.125 / 4 = 0.53125
    # DR-OS, lambda = 4: w' = 4 w / (w^2 + 4): 1.8 -> 7.2/7.24 = 180/181,
    #   0.8 -> 3.2/4.64 = 20/29, 1.6 -> 6.4/6.56 = 40/41; rows v + w' (r - q):
    #   0.475 + 90/181, 0.45 - 5/29, 0.45 - 20/41, 0.35 + 15/29
    #   sum = 1.725 + 90/181 - 20/41 + 10/29
    assert switch_dr(**MODEL, tau=1.0).value == pytest.approx(0.53125)
    assert dr_shrinkage(**MODEL, lam=4.0).value == pytest.approx(
        (1.725 + 90 / 181 - 20 / 41 + 10 / 29) / 4
    )
    # The extremes are plain DR: a threshold at the largest weight (a weight equal to tau
    # keeps its correction), an infinite lambda.
    assert switch_dr(**MODEL, tau=1.8).value == pytest.approx(0.55625)
    assert dr_shrinkage(**MODEL, lam=math.inf).value == pytest.approx(0.55625)


def test_tuned_switch_and_shrinkage_report_their_choice():
    tuned = switch_dr(**MODEL)
    assert tuned.params["tau"] in set(np.quantile(WEIGHTS, [0.5, 0.75, 0.9])) | {1.8}
    assert "lambda" in dr_shrinkage(**MODEL).params


PROBLEM = make_bandit(np.random.default_rng(123), n_actions=5)
SEEDS = 100


def _over_seeds(estimate) -> np.ndarray:
    """One estimate per seed, each on its own log of 2,000 rows from PROBLEM."""
    values = []
    for seed in range(SEEDS):
        rng = np.random.default_rng(seed)
        log, target = PROBLEM.sample(2000, rng)
        values.append(estimate(log, target, rng))
    return np.array(values)


def _within(values: np.ndarray, truth: float) -> bool:
    """The check: the mean over seeds is within 3 standard errors of the exact truth."""
    return abs(values.mean() - truth) < 3 * values.std() / math.sqrt(len(values))


def _weights(log, target, *, broken: str | None = None) -> np.ndarray:
    pi = target[np.arange(len(log)), log.actions]
    if broken == "ignore-propensities":
        return pi
    if broken == "inverted":
        return log.propensities / pi
    return pi / log.propensities


@pytest.fixture(scope="module")
def reports():
    """evaluate_policy (cross-fitted reward model, no bootstrap) on each seed's log."""
    return _over_seeds(
        lambda log, target, rng: evaluate_policy(
            log, target, config=OPEConfig(replicates=0), rng=rng
        ).by_name()
    )


def test_ips_and_dr_are_unbiased_over_seeds(reports):
    """IPS and DR land within 3 standard errors of the exact value, over 100 logs.

    The truth is exact: contexts come from a finite pool, so V = mean over the pool of
    sum_a pi(a|x) q(x, a). The target is worth about 0.66 against the logging policy's 0.34.
    """
    truth = PROBLEM.true_value()
    assert abs(truth - PROBLEM.true_value(PROBLEM.logging)) > 0.2
    for name in ("ips", "dr", "snips"):
        values = np.array([r[name].value for r in reports])
        assert _within(values, truth), (name, values.mean(), truth)
    # The reward model makes DR less noisy than IPS on the same logs.
    ips_sd = np.std([r["ips"].value for r in reports])
    assert np.std([r["dr"].value for r in reports]) < 0.7 * ips_sd


@pytest.mark.parametrize("broken", ["ignore-propensities", "inverted"])
def test_the_same_check_fails_for_a_wrong_weight(broken):
    """Dropping the propensities (w = pi) or inverting the weight (w = mu / pi) must fail
    the very check the right estimators pass, in IPS and in DR alike."""
    truth = PROBLEM.true_value()
    wrong_ips = _over_seeds(
        lambda log, target, rng: (
            ips(rewards=log.rewards, weights=_weights(log, target, broken=broken)).value
        )
    )
    assert not _within(wrong_ips, truth)
    right_ips = _over_seeds(
        lambda log, target, rng: ips(rewards=log.rewards, weights=_weights(log, target)).value
    )
    assert _within(right_ips, truth)


@pytest.mark.parametrize("broken", [None, "ignore-propensities", "inverted"])
def test_dr_passes_the_check_only_with_the_right_weight(broken):
    """DR on the cross-fitted reward model: right weights pass, wrong weights fail."""

    def dr(log, target, rng):
        model = reward_model_for(log, config=OPEConfig(), rng=rng)
        cells = log.cells()
        return doubly_robust(
            rewards=log.rewards,
            weights=_weights(log, target, broken=broken),
            logged_predictions=model.predict(log.contexts, cells, log.actions, model.folds),
            target_values=model.expected(log.contexts, cells, model.folds, target),
        ).value

    assert _within(_over_seeds(dr), PROBLEM.true_value()) == (broken is None)
