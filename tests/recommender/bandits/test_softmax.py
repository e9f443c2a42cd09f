"""The Plackett-Luce sampler logs the exact probability of each pick given those above."""

import numpy as np
import pytest

from recommender.bandits import Candidates, make_policy
from recommender.bandits import softmax as module
from tests.recommender.bandits.broken import (
    floor_over_all,
    forget_floor,
    reporting,
)
from tests.recommender.bandits.chisquare import chi_square, draws

CANDIDATES = Candidates(ids=[4, 8, 15, 16, 23], scores=[0.5, 1.5, -0.5, 1.0, 0.0])


def run(policy, n=10_000, k=3, seed=0):
    return draws(lambda rng: policy.choose(None, CANDIDATES, k, rng), n, seed)


@pytest.mark.parametrize(("temperature", "floor"), [(1.0, 0.0), (0.5, 0.04), (3.0, 0.1)])
def test_logged_propensities_match_frequencies(temperature, floor):
    choices = run(make_policy("softmax", temperature=temperature, floor=floor))
    statistic, df, p_value = chi_square(choices)
    assert df > 10 and p_value > 1e-3, (statistic, df)


@pytest.mark.parametrize("wrong", [forget_floor, floor_over_all(5)], ids=["no-floor", "floor-n"])
def test_chi_square_rejects_a_wrong_floor(monkeypatch, wrong):
    monkeypatch.setattr(module, "report", reporting(wrong))
    choices = run(make_policy("softmax", floor=0.1), n=5000)
    assert chi_square(choices)[2] < 1e-6


def test_chi_square_rejects_softmax_over_all_candidates(monkeypatch):
    """Forgetting to renormalize over the remaining actions at positions after the first."""
    logits = np.asarray(CANDIDATES.scores)
    full = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    monkeypatch.setattr(module, "report", reporting(lambda p, q, i, floor, left: full[i]))
    assert chi_square(run(make_policy("softmax", floor=0.0), n=5000))[2] < 1e-6


def test_huge_scores_do_not_overflow_and_floor_keeps_every_title_loggable():
    candidates = Candidates(ids=[1, 2, 3], scores=[1e6, 0.0, -1e6])
    policy = make_policy("softmax", temperature=0.01, floor=0.01)
    for choice in draws(lambda rng: policy.choose(None, candidates, 3, rng), 500):
        assert np.isfinite(choice.propensities).all()
        assert (choice.propensities >= 0.01 - 1e-12).all()
        assert len(set(choice.actions.tolist())) == 3
