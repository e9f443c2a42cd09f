"""The explorer's bandits as --target-policy names: they run, are cross-fitted, and are right."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recommender.ope import (
    TARGET_POLICIES,
    OPEConfig,
    PolicyInputs,
    evaluate_policy,
    reward_model_for,
)
from recommender.ope.synthetic import make_bandit
from recommender.ope.writing import write_logs_csv

ROOT = Path(__file__).resolve().parents[3]
PROBLEM = make_bandit(np.random.default_rng(5), n_actions=4)
BANDITS = ["linucb", "thompson", "epsilon_greedy", "softmax"]


def inputs(n=800, seed=0):
    log, _ = PROBLEM.sample(n, np.random.default_rng(seed))
    rng = np.random.default_rng(1)
    return PolicyInputs(log, reward_model_for(log, config=OPEConfig(), rng=rng), rng)


def pool_of(log):
    """Each log row's index in the problem's context pool (rows copy pool contexts)."""
    return np.array([np.flatnonzero((PROBLEM.contexts == x).all(axis=1))[0] for x in log.contexts])


def true_value(log, target):
    """Exact value of ``target`` (N, A) on the log's contexts."""
    return float((target * PROBLEM.mean_rewards[pool_of(log)]).sum(axis=1).mean())


def test_cli_runs_linucb_on_a_generated_log(tmp_path):
    log, _ = PROBLEM.sample(400, np.random.default_rng(0))
    write_logs_csv(tmp_path / "LOGS.csv", log)
    done = subprocess.run(
        [
            sys.executable, "-m", "recommender.ope", "--logs", str(tmp_path / "LOGS.csv"),
            "--target-policy", "linucb", "--bootstrap", "100", "--json", str(tmp_path / "o.json"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "policy 'linucb' fitted on the logs" in done.stdout
    out = json.loads((tmp_path / "o.json").read_text())
    assert out["target"] == "policy:linucb"


@pytest.mark.parametrize("name", BANDITS)
def test_registered_and_a_distribution_above_the_floor(name):
    given = inputs(300)
    target = TARGET_POLICIES[name](given)
    assert target.shape == (300, 4)
    np.testing.assert_allclose(target.sum(axis=1), 1.0, atol=1e-9)
    assert target.min() > 0


@pytest.mark.parametrize("name", ["linucb", "thompson"])
def test_learning_bandits_are_cross_fitted(name):
    """Row 0's probabilities come from the other folds: making row 0's reward huge or very
    negative must not change them (a policy updated on every row would move: row 0's arm
    becomes the argmax, or stops being it)."""
    given = inputs(300)
    log = given.log
    same = TARGET_POLICIES[name](PolicyInputs(log, given.reward_model, np.random.default_rng(1)))
    for extreme in (1000.0, -1000.0):
        rewards = log.rewards.copy()
        rewards[0] = extreme
        changed = type(log)(log.contexts, log.actions, log.action_ids, rewards, log.propensities)
        again = PolicyInputs(changed, given.reward_model, np.random.default_rng(1))
        np.testing.assert_allclose(TARGET_POLICIES[name](again)[0], same[0])


def test_linucb_beats_the_logger_and_dr_finds_its_true_value():
    """On 3,000 rows LinUCB learned out of fold is worth clearly more than the logger, and
    the doubly robust estimate of it is within 3 standard errors (from its bootstrap 95%
    interval) of its exact value."""
    given = inputs(3000)
    log = given.log
    target = TARGET_POLICIES["linucb"](given)
    truth = true_value(log, target)
    report = evaluate_policy(
        log, target, config=OPEConfig(replicates=50), rng=np.random.default_rng(2),
        reward_model=given.reward_model,
    )  # fmt: skip
    dr = next(e for e in report.estimates if e.name == "dr")
    assert truth > true_value(log, PROBLEM.logging[pool_of(log)]) + 0.1
    se = (dr.ci95[1] - dr.ci95[0]) / 3.92
    assert abs(dr.value - truth) < 3 * se, (dr.value, truth, se)
