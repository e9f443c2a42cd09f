"""Epsilon-greedy logs the exact probability of each pick given the picks above it."""

import numpy as np
import pytest

from recommender.bandits import BanditConfigError, Candidates, Feedback, make_policy
from recommender.bandits import epsilon_greedy as module
from tests.recommender.bandits.broken import forget_floor, reporting
from tests.recommender.bandits.chisquare import chi_square, draws

# ties on purpose: ids 11 and 13 share the top score; the first (11) must win every time
CANDIDATES = Candidates(ids=np.arange(10, 15), scores=np.array([1.0, 3.0, 2.0, 3.0, 0.0]))


def run(policy, n=10_000, k=3, seed=0):
    return draws(lambda rng: policy.choose(None, CANDIDATES, k, rng), n, seed)


@pytest.mark.parametrize(("epsilon", "floor"), [(0.3, 0.0), (0.2, 0.05), (1.0, 0.0)])
def test_logged_propensities_match_frequencies(epsilon, floor):
    choices = run(make_policy("epsilon_greedy", epsilon=epsilon, floor=floor))
    statistic, df, p_value = chi_square(choices)
    assert df > 10 and p_value > 1e-3, (statistic, df)


def test_greedy_ties_broken_by_candidate_order_with_propensity_one():
    choice = make_policy("epsilon_greedy", epsilon=0.0).choose(
        None, CANDIDATES, 5, np.random.default_rng(0)
    )
    assert choice.actions.tolist() == [11, 13, 12, 10, 14]
    assert choice.propensities.tolist() == [1.0] * 5


def test_chi_square_rejects_eps_instead_of_eps_over_n(monkeypatch):
    epsilon = 0.3

    def wrong(p, q, i, floor, left):
        is_best = q > epsilon / left + 1e-12
        return p if is_best else floor + (1 - floor * left) * epsilon

    monkeypatch.setattr(module, "report", reporting(wrong))
    choices = run(make_policy("epsilon_greedy", epsilon=epsilon), n=5000)
    assert chi_square(choices)[2] < 1e-6


def test_chi_square_rejects_a_forgotten_floor(monkeypatch):
    monkeypatch.setattr(module, "report", reporting(forget_floor))
    choices = run(make_policy("epsilon_greedy", epsilon=0.2, floor=0.05), n=5000)
    assert chi_square(choices)[2] < 1e-6


def test_floor_respected_and_rankings_without_duplicates():
    floor = 0.05
    for choice in run(make_policy("epsilon_greedy", epsilon=0.0, floor=floor), n=2000, k=5):
        assert len(set(choice.actions.tolist())) == 5
        assert (choice.propensities >= floor - 1e-12).all()
        assert not choice.estimated and choice.draws == 0


def test_needs_scores_and_a_floor_that_fits():
    policy = make_policy("epsilon_greedy", floor=0.25)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="scores"):
        policy.choose(None, np.arange(3), 1, rng)
    with pytest.raises(BanditConfigError, match="floor=0.25 with 5 candidates"):
        policy.choose(None, CANDIDATES, 1, rng)
    with pytest.raises(ValueError, match="k=6"):
        make_policy("epsilon_greedy").choose(None, CANDIDATES, 6, rng)


def test_stateless_round_trip():
    policy = make_policy("epsilon_greedy")
    policy.update(Feedback(np.zeros((1, 2)), np.array([1]), np.array([1.0]), np.array([0.5])))
    again = make_policy(policy.name, **policy.config)
    again.load_state_dict(policy.state_dict())
    a = policy.choose(None, CANDIDATES, 3, np.random.default_rng(7))
    b = again.choose(None, CANDIDATES, 3, np.random.default_rng(7))
    assert a.actions.tolist() == b.actions.tolist()
