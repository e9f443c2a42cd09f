"""The explorer's policies: contextual bandits that log exact propensities (numpy only).

The contract is in :mod:`recommender.bandits.base`; build a policy by name with
:func:`make_policy` (:mod:`recommender.bandits.registry`). docs/exploration.md, section
"The explorer's policies", has the math of each.
"""

from recommender.bandits.base import (
    BanditConfigError,
    Candidates,
    Choice,
    Feedback,
    Policy,
    State,
)
from recommender.bandits.epsilon_greedy import EpsilonGreedy
from recommender.bandits.params import Param
from recommender.bandits.registry import POLICIES, make_policy, policy_params, validate_params
from recommender.bandits.softmax import Softmax

__all__ = [
    "POLICIES",
    "BanditConfigError",
    "Candidates",
    "Choice",
    "EpsilonGreedy",
    "Feedback",
    "Param",
    "Policy",
    "Softmax",
    "State",
    "make_policy",
    "policy_params",
    "validate_params",
]
