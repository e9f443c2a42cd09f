"""The canary's daily decision: hold, advance to the next share, ship, roll back, or stop.

A canary exposes a candidate to a small, growing share of members (:data:`STEPS`), each
step next to an equal control slice (:func:`~recommender.abtest.assignment.canary_arm`), and
reads the results every day. Because it is read every day, every decision here uses the
always-valid results of :func:`~recommender.abtest.stats.sequential_compare`: a guardrail
breach or a significant loss seen on any day is a real one at the stated level, however many
days were looked at before.

The order of the checks is the order of what matters:

1. **rollback** when any guardrail is breached, on any day, at any share: harm is acted on
   at once, without waiting for ``min_days``;
2. **rollback** when the primary metric is significantly worse;
3. **ship** at the last share, after ``min_days`` there, when the primary is significantly
   better (earlier shares only advance: the candidate must survive the largest exposure,
   where rare harms show, before it replaces production);
4. **stop** ("no winner") when ``days_total`` reaches ``max_days``;
5. **advance** after ``min_days`` at a share that is not the last (each share's days let
   novelty effects and weekday cycles show before more members are exposed);
6. otherwise **hold**.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from recommender.abtest.assignment import AbtestConfigError
from recommender.abtest.stats import Sequential

STEPS = (0.01, 0.05, 0.25, 0.5)
"""Default canary shares: each of control and candidate gets this share of members."""

ACTIONS = ("hold", "advance", "ship", "rollback", "stop")


@dataclass(frozen=True)
class Guardrail:
    """A metric the candidate must not make worse, with its always-valid result."""

    name: str
    result: Sequential
    """sequential_compare(control, candidate) of this metric."""
    higher_is_worse: bool
    """True for page latency or error rate, False for plays per visit or retention."""
    margin: float = 0.0
    """Tolerated worsening relative to control's mean (0.10: 10% slower is still fine)."""

    def __post_init__(self) -> None:
        if isinstance(self.margin, bool) or not isinstance(self.margin, int | float):
            raise AbtestConfigError(f"guardrail {self.name!r}: margin {self.margin!r} not a number")
        if not (0 <= self.margin < math.inf):
            raise AbtestConfigError(f"guardrail {self.name!r}: margin {self.margin!r} is not >= 0")
        if self.margin > 0 and not math.isfinite(self.result.control_mean):
            raise AbtestConfigError(
                f"guardrail {self.name!r}: margin {self.margin!r} is relative to the control "
                f"mean, but the result's control_mean is {self.result.control_mean!r}"
            )

    @property
    def tolerance(self) -> float:
        """The worsening tolerated, in the metric's units (margin x |control mean|)."""
        return self.margin * abs(self.result.control_mean) if self.margin else 0.0

    @property
    def breached(self) -> bool:
        """The whole always-valid interval lies beyond the tolerated worsening."""
        if self.higher_is_worse:
            return self.result.low > self.tolerance
        return self.result.high < -self.tolerance


@dataclass(frozen=True)
class Step:
    """One day's canary decision and why."""

    action: str
    """One of "hold", "advance", "ship", "rollback", "stop"."""
    reason: str
    share: float
    """The candidate's share after this step: the next share on advance, the current one on
    hold, 1.0 on ship (it becomes production), 0.0 on rollback and stop (its arm closes)."""


def _check_int(name: str, value: object, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise AbtestConfigError(f"{name} must be an integer >= {least}, got {value!r}")


def _step_index(share: float, steps: Sequence[float]) -> int:
    if not steps:
        raise AbtestConfigError("steps is empty: a canary needs at least one share")
    previous = 0.0
    for value in steps:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise AbtestConfigError(f"canary step {value!r} is not a number")
        if not (previous < value <= 0.5):
            raise AbtestConfigError(
                f"canary steps must increase within (0, 0.5]; {value!r} follows {previous!r}"
            )
        previous = value
    for i, value in enumerate(steps):
        if math.isclose(share, value, rel_tol=1e-9, abs_tol=1e-12):
            return i
    raise AbtestConfigError(f"share {share!r} is not one of the canary steps {tuple(steps)!r}")


def canary_step(
    *,
    share: float,
    steps: Sequence[float] = STEPS,
    days_at_share: int,
    min_days: int = 1,
    primary: Sequential,
    guardrails: Sequence[Guardrail],
    alpha: float = 0.05,
    max_days: int | None = None,
    days_total: int = 0,
) -> Step:
    """Decide the canary's next step (module docstring has the order of the checks).

    ``primary`` is sequential_compare(control, candidate) of the primary metric, higher is
    better (streaming minutes per member per day); "significantly" means its always-valid
    p-value is below ``alpha``, the direction read from its confidence sequence.
    ``days_at_share`` counts the days read at the current share, ``days_total`` all days
    of the canary.
    """
    index = _step_index(share, steps)
    _check_int("days_at_share", days_at_share, 0)
    _check_int("min_days", min_days, 0)
    _check_int("days_total", days_total, 0)
    if max_days is not None:
        _check_int("max_days", max_days, 1)
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise AbtestConfigError(f"alpha must be in (0, 1), got {alpha!r}")
    breached = [g for g in guardrails if g.breached]
    if breached:
        names = ", ".join(
            f"{g.name} (diff {g.result.diff:+.4g}, interval [{g.result.low:.4g}, "
            f"{g.result.high:.4g}], tolerance {g.tolerance:.4g})"
            for g in breached
        )
        return Step("rollback", f"guardrail breached: {names}", 0.0)
    significant = primary.p_value < alpha
    summary = (
        f"primary diff {primary.diff:+.4g}, interval [{primary.low:.4g}, {primary.high:.4g}], "
        f"always-valid p {primary.p_value:.3g}"
    )
    if significant and primary.high < 0:
        return Step("rollback", f"primary significantly worse: {summary}", 0.0)
    last = index == len(steps) - 1
    settled = days_at_share >= min_days
    if last and settled and significant and primary.low > 0:
        return Step("ship", f"primary significantly better at share {share}: {summary}", 1.0)
    if max_days is not None and days_total >= max_days:
        return Step(
            "stop", f"no winner after {days_total} days (max_days {max_days}): {summary}", 0.0
        )
    if not last and settled:
        following = steps[index + 1]
        return Step(
            "advance",
            f"{days_at_share} day(s) at share {share} with no guardrail breached: {summary}",
            following,
        )
    wait = (
        f"{days_at_share} of {min_days} day(s) at share {share}"
        if not settled
        else f"at the last share {share}, not yet significant"
    )
    return Step("hold", f"{wait}: {summary}", share)
