"""canary_step: rollback on a guardrail breach or a significant loss, advance after
min_days, ship at the last share when significantly better, stop at max_days."""

import math

import numpy as np
import pytest

from recommender.abtest.assignment import AbtestConfigError
from recommender.abtest.canary import STEPS, Guardrail, canary_step
from recommender.abtest.stats import Sequential, sequential_compare


def result(diff, low, high, p, control_mean=100.0):
    return Sequential(diff=diff, low=low, high=high, p_value=p, n=1000, control_mean=control_mean)


NEUTRAL = result(0.1, -1.0, 1.2, 0.8)
BETTER = result(2.0, 0.5, 3.5, 0.001)
WORSE = result(-2.0, -3.5, -0.5, 0.001)


def step(**kwargs):
    settings = dict(share=0.05, days_at_share=1, primary=NEUTRAL, guardrails=[]) | kwargs
    return canary_step(**settings)


def test_a_latency_guardrail_breach_rolls_back_on_any_day_at_any_share():
    slower = Guardrail("latency_ms", result(30.0, 15.0, 45.0, 0.001), higher_is_worse=True)
    for share in STEPS:
        decision = step(share=share, days_at_share=0, primary=BETTER, guardrails=[slower])
        assert decision.action == "rollback" and decision.share == 0.0
        assert "latency_ms" in decision.reason


def test_the_margin_tolerates_a_small_worsening_relative_to_control():
    # 15..45 ms slower on a 100 ms control: breached at a 10% margin, not at 50%
    slower = result(30.0, 15.0, 45.0, 0.001)
    assert Guardrail("latency", slower, higher_is_worse=True, margin=0.10).breached
    assert not Guardrail("latency", slower, higher_is_worse=True, margin=0.50).breached
    fewer_plays = result(-0.2, -0.3, -0.1, 0.001, control_mean=2.0)
    assert Guardrail("plays_per_visit", fewer_plays, higher_is_worse=False).breached
    assert not Guardrail("plays_per_visit", fewer_plays, higher_is_worse=False, margin=0.2).breached
    assert not Guardrail("plays_per_visit", fewer_plays, higher_is_worse=True).breached


def test_a_real_slower_candidate_is_rolled_back_from_its_own_data():
    rng = np.random.default_rng(0)
    control = rng.lognormal(np.log(120), 0.4, size=3000)  # page latency, ms
    candidate = rng.lognormal(np.log(150), 0.4, size=3000)
    latency = Guardrail("latency_ms", sequential_compare(control, candidate), True, margin=0.1)
    minutes = sequential_compare(rng.gamma(2, 15, 3000), rng.gamma(2, 15, 3000))
    decision = step(guardrails=[latency], primary=minutes)
    assert decision.action == "rollback", decision
    same = sequential_compare(control, rng.lognormal(np.log(120), 0.4, size=3000))
    assert step(guardrails=[Guardrail("latency_ms", same, True, 0.1)]).action == "advance"


def test_a_significantly_worse_primary_rolls_back():
    assert step(primary=WORSE).action == "rollback"
    assert step(primary=result(-2.0, -3.5, -0.5, 0.2)).action == "advance"  # not significant


def test_advance_only_after_min_days():
    assert step(days_at_share=1, min_days=3).action == "hold"
    decision = step(days_at_share=3, min_days=3)
    assert decision.action == "advance" and decision.share == 0.25
    assert step(share=0.01, days_at_share=1, primary=BETTER).share == 0.05  # better: advance


def test_ship_at_the_last_share_when_significantly_better():
    decision = step(share=0.5, primary=BETTER)
    assert decision.action == "ship" and decision.share == 1.0
    assert step(share=0.5, primary=BETTER, days_at_share=0).action == "hold"
    assert step(share=0.5, primary=NEUTRAL).action == "hold"
    assert step(share=0.5, primary=result(2.0, 0.5, 3.5, 0.2)).action == "hold"


def test_stop_when_max_days_is_reached_without_a_winner():
    decision = step(share=0.5, primary=NEUTRAL, max_days=28, days_total=28)
    assert decision.action == "stop" and decision.share == 0.0
    assert "no winner" in decision.reason
    assert step(share=0.5, primary=NEUTRAL, max_days=28, days_total=27).action == "hold"
    assert step(share=0.05, max_days=10, days_total=10).action == "stop"
    assert step(share=0.5, primary=BETTER, max_days=28, days_total=28).action == "ship"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"share": 0.1}, "share 0.1 is not one of the canary steps"),
        ({"steps": (0.05, 0.01)}, "0.01 follows 0.05"),
        ({"steps": ()}, "steps is empty"),
        ({"days_at_share": -1}, "days_at_share must be an integer >= 0, got -1"),
        ({"max_days": 0}, "max_days must be an integer >= 1, got 0"),
        ({"alpha": 2}, "alpha must be in (0, 1), got 2"),
    ],
)
def test_bad_settings_name_the_value(kwargs, message):
    with pytest.raises(AbtestConfigError) as error:
        step(**kwargs)
    assert message in str(error.value)


def test_a_relative_margin_needs_the_control_mean():
    bare = Sequential(diff=1.0, low=0.5, high=1.5, p_value=0.01, n=10)
    assert math.isnan(bare.control_mean)
    with pytest.raises(AbtestConfigError, match="control_mean"):
        Guardrail("latency", bare, higher_is_worse=True, margin=0.1)
    assert Guardrail("latency", bare, higher_is_worse=True).breached
    with pytest.raises(AbtestConfigError, match="-0.1"):
        Guardrail("latency", bare, higher_is_worse=True, margin=-0.1)
