"""LinUCB and linear Thompson sampling: logged propensities, learning, state, the hybrid math."""

from dataclasses import replace

import numpy as np
import pytest

from recommender.bandits import BanditConfigError, Candidates, Feedback, make_policy
from recommender.bandits import linucb as linucb_module
from recommender.bandits.linear import Hybrid
from tests.recommender.bandits.broken import (
    floor_over_all,
    forget_floor,
    reporting,
)
from tests.recommender.bandits.chisquare import chi_square, draws

LINEAR = ["linucb", "linucb_hybrid", "thompson", "thompson_hybrid"]
D, F, N = 3, 2, 5
CONTEXT = np.array([1.0, 0.5, -0.3])
CANDIDATES = Candidates(
    ids=[10, 11, 12, 13, 14],
    features=np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, -0.5], [-1.0, 0.3]]),
)


def trained(name, **params):
    """``name`` after a few seeded updates, so its choices are not the prior's."""
    policy = make_policy(name, **params)
    rng = np.random.default_rng(3)
    m = 30
    rows = rng.integers(N, size=m)
    policy.update(
        Feedback(
            contexts=rng.normal(size=(m, D)),
            actions=CANDIDATES.ids[rows],
            rewards=rng.normal(size=m) * 0.3 + rows / N,
            propensities=np.full(m, 0.5),
            action_features=CANDIDATES.features[rows],
        )
    )
    return policy


def run(policy, n, k=3, seed=0):
    return draws(lambda rng: policy.choose(CONTEXT, CANDIDATES, k, rng), n, seed)


@pytest.mark.parametrize("name", ["linucb", "linucb_hybrid"])
def test_linucb_propensities_match_frequencies(name):
    choices = run(trained(name, floor=0.06, alpha=0.5), 10_000)
    statistic, df, p_value = chi_square(choices)
    assert df > 10 and p_value > 1e-3, (statistic, df)


@pytest.mark.parametrize(
    "wrong", [forget_floor, floor_over_all(N)], ids=["no-floor", "floor-over-all-n"]
)
def test_chi_square_rejects_a_wrong_linucb_formula(monkeypatch, wrong):
    monkeypatch.setattr(linucb_module, "report", reporting(wrong))
    assert chi_square(run(trained("linucb", floor=0.06), 5000))[2] < 1e-6


@pytest.mark.parametrize("name", ["thompson", "thompson_hybrid"])
def test_thompson_propensities_match_frequencies_and_are_flagged(name):
    choices = run(trained(name, floor=0.02, draws=500), 8000)
    assert all(c.estimated and c.draws == 500 for c in choices)
    statistic, df, p_value = chi_square(choices)
    assert df > 10 and p_value > 1e-3, (statistic, df)


def test_chi_square_rejects_thompson_without_its_floor():
    floor = 0.08
    choices = run(trained("thompson", floor=floor, draws=500), 5000)
    left = N - np.arange(3)
    broken = [
        replace(c, propensities=(c.propensities - floor) / (1 - floor * left)) for c in choices
    ]
    assert chi_square(broken)[2] < 1e-6


@pytest.mark.parametrize("name", ["thompson", "thompson_hybrid"])
def test_thompson_estimate_within_tolerance_of_frequency(name):
    """The stated tolerance, draws=200 (standard error se = sqrt(q (1 - q) / 200) <= 0.035):
    every estimate of the first pick's chance within 5 se + 0.005 of that pick's frequency
    over 20,000 choices, at least 93% within 2 se (95% expected), and their mean within 4
    standard errors of the frequency itself (the estimate is unbiased)."""
    policy = trained(name, floor=0.01, draws=200)
    choices = run(policy, 20_000, k=1)
    picks = np.array([c.actions[0] for c in choices])
    logged = np.array([c.propensities[0] for c in choices])
    for action in np.unique(picks):
        frequency = np.mean(picks == action)
        se = np.sqrt(frequency * (1 - frequency) / 200)
        error = np.abs(logged[picks == action] - frequency)
        assert error.max() <= 5 * se + 0.005
        assert np.mean(error <= 2 * se + 0.005) >= 0.93
        frequency_se = np.sqrt(frequency * (1 - frequency) / len(picks))
        assert abs(logged[picks == action].mean() - frequency) < 4 * frequency_se + 0.002


@pytest.mark.parametrize("name", LINEAR + ["epsilon_greedy", "softmax"])
def test_choose_each_propensities_match_frequencies(name):
    policy = trained(name, floor=0.05) if name in LINEAR else make_policy(name, floor=0.05)
    groups = 3
    candidates = Candidates(
        ids=np.arange(groups * 4),
        features=np.random.default_rng(1).normal(size=(groups * 4, F)),
        scores=np.random.default_rng(2).normal(size=groups * 4),
    )
    choices = draws(lambda rng: policy.choose_each(CONTEXT, candidates, 4, rng), 6000)
    for c in choices:
        assert [a // 4 for a in c.actions] == list(range(groups))
        assert (c.propensities >= 0.05 - 1e-12).all()
    statistic, df, p_value = chi_square(choices, per_group=True)
    assert df >= 6 and p_value > 1e-3, (statistic, df)


@pytest.mark.parametrize("name", LINEAR)
def test_floor_respected_and_rankings_without_duplicates(name):
    for choice in run(trained(name, floor=0.1), 300, k=5):
        assert sorted(choice.actions.tolist()) == sorted(CANDIDATES.ids.tolist())
        assert (choice.propensities >= 0.1 - 1e-12).all()
        assert (choice.propensities <= 1).all()


@pytest.mark.parametrize("name", LINEAR + ["epsilon_greedy", "softmax"])
def test_action_probabilities_sum_to_one_above_the_floor(name):
    policy = trained(name, floor=0.05) if name in LINEAR else make_policy(name, floor=0.05)
    candidates = replace(CANDIDATES, scores=np.arange(N, dtype=float))
    p = policy.action_probabilities(CONTEXT, candidates, np.random.default_rng(0))
    assert p.shape == (N,) and abs(p.sum() - 1) < 1e-9 and (p >= 0.05 - 1e-12).all()


def bandit_run(policy, rounds, rng, theta):
    """Play ``rounds`` of a 5-arm linear problem; return the share of best-arm picks in the
    last 100 rounds. ``theta`` (arms, d): arm a's reward is x . theta[a] + noise."""
    ids = np.arange(len(theta))
    features = np.eye(len(theta))  # hybrid variants can still tell the arms apart
    candidates = Candidates(ids=ids, features=features)
    best = []
    for _ in range(rounds):
        x = np.concatenate([[1.0], rng.normal(size=D - 1)])
        choice = policy.choose(x, candidates, 1, rng)
        a = int(choice.actions[0])
        reward = x @ theta[a] + rng.normal() * 0.1
        policy.update(
            Feedback(
                x[None], choice.actions, np.array([reward]), choice.propensities, features[[a]]
            )
        )
        best.append(a == int(np.argmax(theta @ x)))
    return float(np.mean(best[-100:]))


THETA = np.array(
    [[0.2, 1.0, 0.0], [0.2, -1.0, 0.0], [0.2, 0.0, 1.0], [0.2, 0.0, -1.0], [-0.5, 0.0, 0.0]]
)


@pytest.mark.parametrize("name", LINEAR)
def test_update_learns_to_pick_the_best_arm(name, monkeypatch):
    params = {"floor": 0.01, "draws": 50} if name.startswith("thompson") else {"floor": 0.01}
    learned = bandit_run(make_policy(name, **params), 400, np.random.default_rng(0), THETA)
    frozen = make_policy(name, **params)
    monkeypatch.setattr(frozen, "update", lambda batch: None)  # the broken variant: no-op
    stuck = bandit_run(frozen, 400, np.random.default_rng(0), THETA)
    assert learned > 0.8 and stuck < 0.5, (learned, stuck)


@pytest.mark.parametrize("kind", ["linucb", "thompson"])
def test_hybrid_chooses_a_never_shown_action_on_its_features(kind):
    """Ten arms are rewarded by their first feature; a new arm whose feature is larger than
    any of theirs is never shown in training. The hybrid ranks it first on that evidence
    (shared weight ~0.8 with ten arms against the per-arm intercepts), the disjoint model
    only knows its prior."""
    rng = np.random.default_rng(0)
    features = np.stack([np.append(np.linspace(0.1, 1.0, 10), 1.5), rng.normal(size=11)], 1)
    new = 10
    m = 500
    arms = rng.integers(10, size=m)
    x = np.ones((m, 1))
    rewards = features[arms, 0] + rng.normal(size=m) * 0.1
    candidates = Candidates(ids=np.arange(11), features=features)
    share = {}
    for name in (kind, f"{kind}_hybrid"):
        policy = (
            make_policy(name, floor=0.01, alpha=0.1)
            if kind == "linucb"
            else make_policy(name, floor=0.01, scale=0.1)
        )
        policy.update(Feedback(x, arms, rewards, np.full(m, 1 / 3), features[arms]))
        picks = [policy.choose(np.ones(1), candidates, 1, r).actions[0] for r in [rng] * 200]
        share[name] = np.mean(np.array(picks) == new)
    assert share[f"{kind}_hybrid"] > 0.8  # at most 0.9: the floor spreads 0.11 of the mass
    assert share[kind] < 0.5


def test_hybrid_posterior_equals_the_joint_ridge_regression():
    """Block elimination (Li et al.'s Algorithm 2) against the joint system solved directly."""
    rng = np.random.default_rng(1)
    m, arms, l2 = 40, 4, 0.7
    x, features = rng.normal(size=(m, D)), rng.normal(size=(arms, F))
    a, r, w = rng.integers(arms, size=m), rng.normal(size=m), rng.random(m) + 0.5
    model = Hybrid(l2)
    model.update_hybrid(x, a + 10, features[a], r, w)
    k = D * F
    design = np.zeros((m, k + arms * D))
    design[:, :k] = (x[:, :, None] * features[a][:, None, :]).reshape(m, k)
    for i in range(m):
        design[i, k + a[i] * D : k + (a[i] + 1) * D] = x[i]
    gram = design.T @ (w[:, None] * design) + l2 * np.eye(k + arms * D)
    solution, covariance = np.linalg.solve(gram, design.T @ (w * r)), np.linalg.inv(gram)
    context = rng.normal(size=D)
    new = rng.normal(size=(1, F))
    mean, var = model.score_hybrid(
        context, np.array([10, 11, 12, 13, 99]), np.vstack([features, new])
    )
    for j, f in enumerate(np.vstack([features, new])):
        row = np.zeros(k + arms * D)
        row[:k] = np.outer(context, f).ravel()
        prior = context @ context / l2 if j == arms else 0.0
        if j < arms:
            row[k + j * D : k + (j + 1) * D] = context
        assert mean[j] == pytest.approx(row @ solution, abs=1e-10)
        assert var[j] == pytest.approx(row @ covariance @ row + prior, abs=1e-10)


@pytest.mark.parametrize("name", LINEAR)
def test_state_round_trip_gives_identical_choices(name):
    policy = trained(name, floor=0.02)
    state = policy.state_dict()
    assert all(isinstance(v, np.ndarray) for v in state.values())
    again = make_policy(name, **policy.config)
    again.load_state_dict(state)
    for seed in range(5):
        a = policy.choose(CONTEXT, CANDIDATES, 3, np.random.default_rng(seed))
        b = again.choose(CONTEXT, CANDIDATES, 3, np.random.default_rng(seed))
        assert a.actions.tolist() == b.actions.tolist()
        assert a.propensities.tolist() == b.propensities.tolist()
    fresh = make_policy(name, **policy.config)
    fresh_choice = fresh.choose(CONTEXT, CANDIDATES, 3, np.random.default_rng(0))
    fresh.load_state_dict(make_policy(name).state_dict())  # an empty state loads too
    assert fresh.choose(CONTEXT, CANDIDATES, 3, np.random.default_rng(0)).actions.tolist() == (
        fresh_choice.actions.tolist()
    )


@pytest.mark.parametrize("name", LINEAR)
def test_bad_state_is_refused_and_the_old_state_kept(name):
    policy = trained(name)
    before = policy.state_dict()
    bad = dict(before)
    bad["b"] = bad["b"][:, :1]
    with pytest.raises(ValueError, match="do not fit"):
        policy.load_state_dict(bad)
    with pytest.raises(ValueError, match="needs exactly"):
        policy.load_state_dict({"ids": before["ids"]})
    after = policy.state_dict()
    assert all(np.array_equal(before[key], after[key]) for key in before)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("linucb", {"alpha": -1.0}, r"alpha=-1\.0 is outside \[0, inf\)"),
        ("linucb", {"l2": 0.0}, r"l2=0\.0 is outside \(0, inf\)"),
        ("linucb_hybrid", {"importance_weighted": 1}, "must be true or false"),
        ("thompson", {"floor": 0.0}, r"floor=0\.0 is outside \(0, 1\]"),
        ("thompson", {"draws": 0}, r"draws=0 is outside \[1, 100000\]"),
        ("thompson_hybrid", {"draws": 2.5}, "must be a whole number"),
        ("thompson_hybrid", {"scale": -0.1}, r"scale=-0\.1 is outside"),
    ],
)
def test_bad_config_is_named(name, params, message):
    with pytest.raises(BanditConfigError, match=message):
        make_policy(name, **params)


def test_hybrid_needs_features_and_fixed_dimensions():
    policy = trained("linucb_hybrid")
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="needs candidates.features"):
        policy.choose(CONTEXT, CANDIDATES.ids, 1, rng)
    with pytest.raises(ValueError, match="context has 2 entries"):
        policy.choose(CONTEXT[:2], CANDIDATES, 1, rng)
    with pytest.raises(ValueError, match="needs feedback action_features"):
        policy.update(Feedback(CONTEXT[None], np.array([10]), np.ones(1), np.ones(1)))


def test_importance_weighting_changes_the_fit():
    """With weights 1 / propensity, rows logged at low probability count more."""
    batch = Feedback(
        contexts=np.ones((2, 1)),
        actions=np.array([1, 1]),
        rewards=np.array([0.0, 1.0]),
        propensities=np.array([0.9, 0.1]),
    )
    means = {}
    for weighted in (False, True):
        policy = make_policy("linucb", importance_weighted=weighted, l2=1e-6)
        policy.update(batch)
        means[weighted] = policy.posterior(np.ones(1), Candidates(ids=[1]))[0][0]
    assert means[False] == pytest.approx(0.5, abs=1e-5)
    assert means[True] == pytest.approx(0.9, abs=1e-5)  # (0 * 1/0.9 + 1 * 10) / (1/0.9 + 10)


def test_chi_square_rejects_choose_each_without_its_floor():
    floor, size = 0.05, 4
    policy = trained("linucb", floor=floor)
    candidates = Candidates(ids=np.arange(12), features=np.zeros((12, F)))
    choices = draws(lambda rng: policy.choose_each(CONTEXT, candidates, size, rng), 3000)
    assert chi_square(choices, per_group=True)[2] > 1e-3
    broken = [
        replace(c, propensities=(c.propensities - floor) / (1 - floor * size)) for c in choices
    ]
    assert chi_square(broken, per_group=True)[2] < 1e-6
