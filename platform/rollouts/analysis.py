"""The platform's one bridge to the experiment statistics (recommender.abtest).

Assignment (which arm a member is in), the per-arm estimates and comparisons of a readout,
the sample-ratio check, the sequential test and the canary's step all come from the pure
module; this one only turns the platform's rows into its arguments.
"""

from collections.abc import Sequence

from recommender.abtest import assignment, stats
from recommender.abtest.assignment import AbtestConfigError
from recommender.abtest.stats import AbtestDataError

__all__ = [
    "AbtestConfigError",
    "AbtestDataError",
    "steps",
    "assigned_arm",
    "canary_step",
    "compare",
    "estimate",
    "guardrail",
    "sequential",
    "srm",
    "validate_shares",
]


def steps() -> tuple[float, ...]:
    """The canary's shares, step by step (recommender.abtest.canary.STEPS)."""
    from recommender.abtest import canary

    return tuple(canary.STEPS)


def assigned_arm(experiment, arms: Sequence, member_id: int) -> str | None:
    """The name of the arm `member_id` is in, or None (production). A canary's two arms
    each take `canary_share` (growing it only adds members); an A/B test's arms own fixed
    intervals of the member's bucket, in the arms' order."""
    if experiment.kind == "canary":
        if experiment.canary_share <= 0:
            return None
        return assignment.canary_arm(member_id, experiment.salt, experiment.canary_share)
    return assignment.arm_for(member_id, experiment.salt, [(a.name, a.share) for a in arms])


def validate_shares(shares: Sequence[tuple[str, float]]) -> None:
    assignment.validate_shares(shares)


def estimate(values: Sequence[float], *, alpha: float) -> stats.Estimate:
    return stats.mean_ci(values, alpha=alpha)


def compare(control, treatment, *, alpha: float, control_pre=None, treatment_pre=None):
    return stats.compare(
        control, treatment, alpha=alpha, control_pre=control_pre, treatment_pre=treatment_pre
    )


def sequential(
    control,
    treatment,
    *,
    alpha: float,
    previous_p: float,
    previous_low: float,
    previous_high: float,
    control_pre=None,
    treatment_pre=None,
):
    return stats.sequential_compare(
        control,
        treatment,
        alpha=alpha,
        previous_p=previous_p,
        previous_low=previous_low,
        previous_high=previous_high,
        control_pre=control_pre,
        treatment_pre=treatment_pre,
    )


def srm(counts: Sequence[int], shares: Sequence[float]):
    return stats.srm_check(counts, shares)


def guardrail(name: str, result, *, higher_is_worse: bool, margin: float):
    from recommender.abtest import canary

    return canary.Guardrail(
        name=name, result=result, higher_is_worse=higher_is_worse, margin=margin
    )


def canary_step(**kwargs):
    from recommender.abtest import canary

    return canary.canary_step(**kwargs)
