"""One visit schedule: the population runner and the single-member paths (env, client) draw
a member's day from the same function and get the same visits from the same draws."""

from datetime import timedelta

import numpy as np
import pytest

from simulator.behaviour import Behaviour, BehaviourConfig, Population, day_visit_hours
from simulator.runner import PopulationRunner

CONFIGS = [
    BehaviourConfig(activity_scale=4.0),
    BehaviourConfig(activity_scale=4.0, weekly_habits=False),
]


@pytest.mark.parametrize("config", CONFIGS, ids=["weekly habits", "every day alike"])
def test_runner_and_member_path_give_the_same_visits(world, config):
    """With every other member churned, the runner's day is a batch of one member: it must
    hold exactly the visits the env and the client draw for that member from the same seed."""
    behaviour = Behaviour(world, config)
    compared = weekend_visits = 0
    for member in (0, 7, 31):
        for day in range(7):  # a whole week, so Saturday and Sunday are among them
            runner = PopulationRunner(world, config, rows=2, slots=5, days=7)
            runner.population.churned[:] = True
            runner.population.churned[member] = False
            runner.rng = np.random.default_rng([day, member])
            members, at, rounds = runner.schedule(day)
            weekday = (runner.start + timedelta(days=day)).weekday()
            hours = behaviour.day_visit_hours(
                member, np.random.default_rng([day, member]), weekday=weekday
            )
            np.testing.assert_array_equal(members, np.full(len(hours), member))
            np.testing.assert_array_equal(at, np.floor(runner.day_start(day) + hours * 3600.0))
            np.testing.assert_array_equal(rounds, np.arange(len(hours)))
            compared += len(hours)
            weekend_visits += len(hours) * (weekday >= 5)
    assert compared > 20 and weekend_visits > 0


def test_runner_and_member_path_call_the_one_schedule(world, monkeypatch):
    """Both paths go through Population.day_visits: the runner for all active members at
    once, the single-member view for one."""
    calls = []
    real = Population.day_visits

    def recording(self, members, rng, *, weekday):
        calls.append(len(members))
        return real(self, members, rng, weekday=weekday)

    monkeypatch.setattr(Population, "day_visits", recording)
    PopulationRunner(world, rows=2, slots=5, days=1).schedule(0)
    Behaviour(world).day_visit_hours(3, np.random.default_rng(0), weekday=5)
    assert calls == [world.n_members, 1]


def test_scalar_habit_wrapper_is_the_schedule_for_a_batch_of_one(world):
    """day_visit_hours (a habit given as numbers) draws what the member path draws."""
    behaviour = Behaviour(world, BehaviourConfig(activity_scale=4.0))
    for member in range(0, world.n_members, 3):
        for weekday in (2, 6):
            a = day_visit_hours(
                np.random.default_rng(member),
                float(world.activity[member]) * 4.0,
                float(world.peak_hour[member]),
                float(world.hour_spread[member]),
                weekend_factor=float(world.weekend_factor[member]),
                weekend=weekday >= 5,
            )
            b = behaviour.day_visit_hours(member, np.random.default_rng(member), weekday=weekday)
            np.testing.assert_array_equal(a, b)
