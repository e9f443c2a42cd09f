"""Online experiments: assignment, statistics, canary rollout decisions, A/A simulation.

numpy and the standard library only (no Django, no scipy; a test checks it), so the platform's
rollouts app and the simulator's experiments share one implementation. The contract other
code relies on is listed per module:

- :mod:`~recommender.abtest.assignment`: ``bucket``, ``arm_for`` (``arms_for``), ``canary_arm``,
  ``validate_shares`` (stable hash bucketing, independent across salts)
- :mod:`~recommender.abtest.stats`: ``mean_ci``, ``compare`` (Welch, CUPED), ``srm_check``,
  ``sequential_compare`` (mSPRT always-valid p-value and confidence sequence)
- :mod:`~recommender.abtest.canary`: ``canary_step``, ``Guardrail``, ``Step``, ``STEPS``
- :mod:`~recommender.abtest.aa`: ``aa_false_positive_rate`` (A/A and power by simulation);
  ``python -m recommender.abtest aa|power``

docs/experiments.md ("Statistics") explains each method and reproduces the figures.
"""

from recommender.abtest.aa import aa_false_positive_rate
from recommender.abtest.assignment import (
    AbtestConfigError,
    arm_for,
    arms_for,
    bucket,
    canary_arm,
    validate_shares,
)
from recommender.abtest.canary import STEPS, Guardrail, Step, canary_step
from recommender.abtest.stats import (
    SRM,
    AbtestDataError,
    Comparison,
    Estimate,
    Sequential,
    compare,
    mean_ci,
    sequential_compare,
    srm_check,
)

__all__ = [
    "SRM",
    "STEPS",
    "Guardrail",
    "Step",
    "aa_false_positive_rate",
    "arms_for",
    "canary_step",
    "AbtestConfigError",
    "AbtestDataError",
    "Comparison",
    "Estimate",
    "Sequential",
    "arm_for",
    "bucket",
    "canary_arm",
    "compare",
    "mean_ci",
    "sequential_compare",
    "srm_check",
    "validate_shares",
]
