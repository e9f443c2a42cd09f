"""The explorer's policies: contextual bandits that log exact propensities (numpy only).

The contract is in :mod:`recommender.bandits.base`.
"""

from recommender.bandits.base import (
    BanditConfigError,
    Candidates,
    Choice,
    Feedback,
    Policy,
    State,
)

__all__ = ["BanditConfigError", "Candidates", "Choice", "Feedback", "Policy", "State"]
