"""Policies by name: every bad configuration is refused with the bad value named."""

import json

import numpy as np
import pytest

from recommender.bandits import (
    POLICIES,
    BanditConfigError,
    Candidates,
    Policy,
    make_policy,
    policy_params,
    validate_params,
)


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_every_policy_fits_the_contract_and_rebuilds_from_its_config(name):
    policy = make_policy(name)
    assert isinstance(policy, Policy)
    assert policy.name == name
    config = json.loads(json.dumps(policy.config))
    assert make_policy(name, **config).config == policy.config
    described = policy_params(name)
    json.dumps(described)
    assert [p["name"] for p in described] == list(policy.config)
    assert {p["name"]: p["default"] for p in described} == policy.config


def test_unknown_policy_lists_the_known_ones():
    with pytest.raises(BanditConfigError, match="unknown policy 'ucb'; known: epsilon_greedy"):
        make_policy("ucb")


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("epsilon_greedy", {"epsilon": 1.5}, r"epsilon=1\.5 is outside \[0, 1\]"),
        ("epsilon_greedy", {"epsilon": -0.1}, r"epsilon=-0\.1 is outside \[0, 1\]"),
        ("epsilon_greedy", {"epsilon": float("nan")}, "must be finite"),
        ("epsilon_greedy", {"epsilon": "0.1"}, "must be a number"),
        ("epsilon_greedy", {"floor": -0.01}, r"floor=-0\.01 is outside"),
        ("epsilon_greedy", {"eps": 0.1}, "unknown parameter eps; known: epsilon, floor"),
        ("softmax", {"temperature": 0.0}, r"temperature=0\.0 is outside \(0, inf\)"),
        ("softmax", {"floor": 2}, r"floor=2 is outside \[0, 1\]"),
    ],
)
def test_bad_values_are_named(name, params, message):
    with pytest.raises(BanditConfigError, match=message):
        make_policy(name, **params)
    with pytest.raises(BanditConfigError, match=message):
        validate_params(name, params)


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_floor_too_large_for_the_candidates_is_refused_at_choose_time(name):
    policy = make_policy(name, floor=0.1)
    candidates = Candidates(
        ids=np.arange(11), scores=np.linspace(0, 1, 11), features=np.eye(11)[:, :3]
    )
    with pytest.raises(BanditConfigError, match=r"floor=0\.1 with 11 candidates"):
        policy.choose(np.ones(3), candidates, 1, np.random.default_rng(0))


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_non_finite_inputs_are_refused(name):
    """Scores (the score-based policies) and features (the hybrids) must be finite; the
    disjoint linear policies use neither, only the context."""
    policy = make_policy(name)
    bad = Candidates(ids=[1, 2], scores=[0.0, float("nan")], features=[[1.0], [float("inf")]])
    if name not in ("linucb", "thompson"):
        with pytest.raises(ValueError, match="must be finite"):
            policy.choose(np.ones(1), bad, 1, np.random.default_rng(0))
    if name not in ("epsilon_greedy", "softmax"):
        with pytest.raises(ValueError, match="context must be finite"):
            policy.choose(np.array([np.nan]), bad, 1, np.random.default_rng(0))
