"""The platform's one bridge to the experiment statistics (recommender.abtest).

Assignment (which arm a member is in), the per-arm estimates and comparisons of a readout,
the sample-ratio check, the sequential test and the canary's step all come from the pure
module, re-exported here under the platform's names; the one function of its own,
`assigned_arm`, only turns the platform's rows into the module's arguments.
"""

from collections.abc import Sequence

from recommender.abtest import assignment
from recommender.abtest.assignment import AbtestConfigError, validate_shares
from recommender.abtest.canary import STEPS, Guardrail, canary_step
from recommender.abtest.stats import AbtestDataError, compare
from recommender.abtest.stats import mean_ci as estimate
from recommender.abtest.stats import sequential_compare as sequential
from recommender.abtest.stats import srm_check as srm

__all__ = [
    "STEPS",
    "AbtestConfigError",
    "AbtestDataError",
    "Guardrail",
    "assigned_arm",
    "canary_step",
    "compare",
    "estimate",
    "sequential",
    "srm",
    "validate_shares",
]


def assigned_arm(experiment, arms: Sequence, member_id: int) -> str | None:
    """The name of the arm `member_id` is in, or None (production). A canary's two arms
    each take `canary_share` (growing it only adds members); an A/B test's arms own fixed
    intervals of the member's bucket, in the arms' order."""
    if experiment.kind == "canary":
        if experiment.canary_share <= 0:
            return None
        return assignment.canary_arm(member_id, experiment.salt, experiment.canary_share)
    return assignment.arm_for(member_id, experiment.salt, [(a.name, a.share) for a in arms])
