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
from recommender.bandits.linucb import LinUCB
from recommender.bandits.linucb_hybrid import LinUCBHybrid
from recommender.bandits.params import Param
from recommender.bandits.registry import POLICIES, make_policy, policy_params, validate_params
from recommender.bandits.softmax import Softmax
from recommender.bandits.thompson import SharedNormals, Thompson
from recommender.bandits.thompson_hybrid import ThompsonHybrid

__all__ = [
    "POLICIES",
    "BanditConfigError",
    "Candidates",
    "Choice",
    "EpsilonGreedy",
    "Feedback",
    "LinUCB",
    "LinUCBHybrid",
    "Param",
    "Policy",
    "SharedNormals",
    "Softmax",
    "State",
    "Thompson",
    "ThompsonHybrid",
    "make_policy",
    "policy_params",
    "validate_params",
]
