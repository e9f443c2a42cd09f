"""Every policy by name: ``make_policy(name, **params)`` and what each parameter means.

The platform stores a policy as ``(name, config)`` and its learned state as arrays; it
rebuilds it with ``make_policy(name, **config)`` then ``load_state_dict(state)``. Every
parameter is validated here, before anything is stored: an unknown policy name, an unknown
parameter, a rate outside [0, 1] raise :class:`~recommender.bandits.base.BanditConfigError`
naming the bad value (a floor too large for the candidate count can only be caught at
choose time, and raises the same error there).
"""

from __future__ import annotations

from typing import Any

from recommender.bandits.base import BanditConfigError, Policy
from recommender.bandits.epsilon_greedy import EpsilonGreedy
from recommender.bandits.linucb import LinUCB
from recommender.bandits.linucb_hybrid import LinUCBHybrid
from recommender.bandits.params import ConfiguredPolicy, validate
from recommender.bandits.softmax import Softmax
from recommender.bandits.thompson import Thompson
from recommender.bandits.thompson_hybrid import ThompsonHybrid

POLICIES: dict[str, type[ConfiguredPolicy]] = {
    policy.name: policy
    for policy in (EpsilonGreedy, Softmax, LinUCB, LinUCBHybrid, Thompson, ThompsonHybrid)
}
"""Policy classes by their logged name."""


def _policy_class(name: str) -> type[ConfiguredPolicy]:
    if not isinstance(name, str) or name not in POLICIES:
        raise BanditConfigError(f"unknown policy {name!r}; known: {', '.join(POLICIES)}")
    return POLICIES[name]


def make_policy(name: str, **params: Any) -> Policy:
    """A fresh (untrained) policy ``name`` with ``params`` (the rest at their defaults)."""
    return _policy_class(name)(**params)


def validate_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` checked and completed with defaults, without building the policy."""
    policy = _policy_class(name)
    return validate(policy.name, policy.PARAMS, params)


def policy_params(name: str) -> list[dict[str, Any]]:
    """Each parameter of ``name``: name, type, default, min/max or choices, doc (JSON-able)."""
    return [param.describe() for param in _policy_class(name).PARAMS]
