"""The 2-D examination model: EM recovers planted examination probabilities, and the page
estimator built on it is unbiased (and fails when examination is ignored)."""

import math
from dataclasses import replace

import numpy as np
import pytest

from recommender.ope import (
    Examination,
    fit_examination,
    independent_ips,
    page_pbm_ips,
    pseudo_inverse,
    slate_layout,
)
from recommender.ope.synthetic import make_page

THETA = np.outer(0.7 ** np.arange(3), 0.85 ** np.arange(4))  # 3 rows x 4 positions


def _fit(log):
    return fit_examination(
        cells=log.cells(),
        actions=log.actions,
        rewards=log.rewards,
        grid=log.grid(),
        n_actions=log.n_actions,
    )


def _slot_click_rates(log) -> np.ndarray:
    cells = log.cells()
    rate = np.bincount(cells, log.rewards) / np.bincount(cells)
    return (rate / rate.max()).reshape(THETA.shape)


def test_em_recovers_planted_examination_with_randomized_positions():
    """20,000 pages of 3 x 4 slots, every slot filled independently by the logging policy:
    EM's relative examination is within 0.03 of the planted 0.7**row * 0.85**position."""
    problem = make_page(np.random.default_rng(3), theta=THETA)
    log, _ = problem.sample(20_000, np.random.default_rng(0))
    examination = _fit(log)
    assert examination.converged
    assert examination.theta.shape == (3, 4)
    assert examination.theta.max() == 1.0
    assert np.abs(examination.theta - THETA / THETA.max()).max() < 0.03


def test_em_separates_examination_from_what_was_placed_there():
    """When the logger puts attractive actions in well-examined slots, a slot's click rate
    mixes its examination with what it showed (off by about 0.1 here); EM, which models
    attraction per action, still recovers the planted values."""
    problem = make_page(np.random.default_rng(3), theta=THETA, placement_bias=3.0)
    log, _ = problem.sample(20_000, np.random.default_rng(0))
    planted = THETA / THETA.max()
    assert np.abs(_slot_click_rates(log) - planted).max() > 0.08
    assert np.abs(_fit(log).theta - planted).max() < 0.03


def test_em_rejects_rewards_outside_zero_one():
    with pytest.raises(ValueError, match=r"rewards in \[0, 1\]"):
        fit_examination(
            cells=np.zeros(2, np.int64),
            actions=np.zeros(2, np.int64),
            rewards=np.array([0.0, 3.0]),
            grid=(1, 1),
            n_actions=1,
        )


def test_page_estimator_by_hand():
    """Two slates of two slots, theta = (1, 0.5); the target shows action 0 in slot 0 and
    action 1 in slot 1, so m(0) = 1 * 1 = 1, m(1) = 0.5 * 1 = 0.5, Theta = 1.5.

    slate 1: slot 0 shows action 1 (mu 0.5, r 1): w = m(1) / (0.5 * 1.5) = 2/3
             slot 1 shows action 0 (mu 0.5, r 1): w = m(0) / (0.5 * 1.5) = 4/3   -> 2
    slate 2: slot 0 shows action 0 (mu 0.5, r 0): contributes 0
             slot 1 shows action 0 (mu 0.25, r 1): w = 1 / (0.25 * 1.5) = 8/3    -> 8/3
    mean = (2 + 8/3) / 2 = 7/3. Independent IPS sees no match in slate 1 (it gives 0 there).
    """
    slates = np.array([0, 0, 1, 1])
    cells = np.array([0, 1, 0, 1])
    actions = np.array([1, 0, 0, 0])
    rewards = np.array([1.0, 1.0, 0.0, 1.0])
    propensities = np.array([0.5, 0.5, 0.5, 0.25])
    target = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    examination = Examination(np.array([[1.0, 0.5]]), np.ones(2), 0, True)
    layout = slate_layout(slates, cells)
    e = page_pbm_ips(
        rewards=rewards,
        actions=actions,
        propensities=propensities,
        target=target,
        cells=cells,
        layout=layout,
        examination=examination,
    )
    assert e.value == pytest.approx(7 / 3)
    w = target[np.arange(4), actions] / propensities
    assert independent_ips(rewards=rewards, weights=w, layout=layout).value == 0.0


def _best_first_problem():
    """A target that shows the most attractive actions in the best-examined slots, one
    action per slot: its per-slot distributions differ as much as they can."""
    problem = make_page(np.random.default_rng(3), theta=THETA)
    m, k, a = problem.target.shape
    best = np.argsort(-problem.attraction.mean(axis=0))
    target = np.zeros((m, k, a))
    target[:, np.arange(k), best[np.arange(k) % a]] = 1.0
    return replace(problem, target=target)


@pytest.fixture(scope="module")
def page_runs():
    """page-pbm with estimated and with flat (ignored) examination, iips and the
    pseudo-inverse, on 60 logs."""
    problem = _best_first_problem()
    runs = []
    for seed in range(60):
        log, target = problem.sample(500, np.random.default_rng(seed))
        cells = log.cells()
        layout = slate_layout(log.slates, cells)
        estimated = _fit(log)
        flat = Examination(np.ones(THETA.shape), estimated.attraction, 0, True)
        common = dict(
            rewards=log.rewards,
            actions=log.actions,
            propensities=log.propensities,
            target=target,
            cells=cells,
            layout=layout,
        )
        w = target[np.arange(len(log)), log.actions] / log.propensities
        runs.append(
            (
                page_pbm_ips(**common, examination=estimated).value,
                page_pbm_ips(**common, examination=flat).value,
                independent_ips(rewards=log.rewards, weights=w, layout=layout).value,
                pseudo_inverse(rewards=log.rewards, weights=w, layout=layout).value,
            )
        )
    return problem.true_value(), np.array(runs)


def _within(values, truth):
    return abs(values.mean() - truth) < 3 * values.std() / math.sqrt(len(values))


def test_page_estimator_is_unbiased_with_examination_estimated_from_the_logs(page_runs):
    truth, runs = page_runs
    assert _within(runs[:, 0], truth)
    # iips and the pseudo-inverse too: under the PBM slot rewards add up, independently.
    assert _within(runs[:, 2], truth) and _within(runs[:, 3], truth)


def test_page_estimator_fails_the_check_when_examination_is_ignored(page_runs):
    truth, runs = page_runs
    assert not _within(runs[:, 1], truth)


def test_page_estimator_is_far_less_noisy_than_iips_when_slots_differ(page_runs):
    """IIPS learns about slot k only from the pages that happened to show the target's
    action there; page-pbm uses every impression of that action, wherever it was."""
    _, runs = page_runs
    assert runs[:, 0].std() < 0.5 * runs[:, 2].std()
