"""The exploration experiment at a tiny size: the explorers run through the runner, learn
from what members examined, and the artwork bandit learns the variants members like."""

from functools import cache

import numpy as np
import pytest

from simulator.experiments.__main__ import main
from simulator.experiments.exploration import (
    ExplorationPolicy,
    ExplorationSettings,
    exploration,
    member_contexts,
)
from simulator.experiments.runs import Settings

TINY = Settings(titles=150, members=60, days=6, rows=2, slots=10, activity_scale=8.0)
"""Few members visiting often: each member's artwork taste gets evidence within days."""


@cache
def artwork_rows(policy: str = "thompson") -> list[dict[str, object]]:
    return exploration(
        TINY, ExplorationSettings(artwork_policy=policy), policies=(), arms=("fixed", "bandit")
    )


def gap(rows: list[dict[str, object]], arm: str, days: range) -> float:
    return float(
        np.mean([r["artwork_gap"] for r in rows if r["policy"] == arm and r["day"] in days])
    )


def test_the_artwork_bandit_learns_the_variants_members_like():
    """Over days 3-6 the bandit's variants lose less hidden appeal against each member's best
    than variant 0 for everyone, and less than on its own first day (when it knew nothing),
    and it plays more (lower cumulative regret against the oracle artwork).

    Measured: a gap of 0.71 against fixed artwork's 1.08 on days 3-6 (1.06 on the bandit's
    first day), regret 0.15 against 0.43. With the bandit's update made a no-op it chooses
    from its prior (at random): gap 1.17 on days 3-6, and the test fails."""
    rows = artwork_rows()
    later = range(3, 7)
    bandit, fixed = gap(rows, "artwork bandit", later), gap(rows, "artwork fixed", later)
    assert bandit < 0.8 * fixed
    assert bandit < 0.85 * gap(rows, "artwork bandit", range(1, 2))
    final = {r["policy"]: r for r in rows if r["day"] == TINY.days}
    assert final["artwork bandit"]["regret"] < final["artwork fixed"]["regret"]


def test_page_explorers_run_learn_from_examined_slots_and_spread_exposure():
    explore = ExplorationSettings()
    world = TINY.world()
    made = []

    def run(name: str):
        from simulator.experiments.runs import run_policy

        def factory(runner):
            made.append(
                ExplorationPolicy(
                    world,
                    name=name,
                    rows=TINY.rows,
                    slots=TINY.slots,
                    explorer=explore.explorer(name),
                    explore_slots=explore.explore_slots,
                    n_candidates=explore.n_candidates,
                )
            )
            return made[-1]

        return run_policy(name, world, TINY, label=name, policy_factory=factory)

    rows = exploration(TINY, policies=("greedy", "epsilon_greedy", "oracle"), arms=())
    final = {r["policy"]: r for r in rows if r["day"] == TINY.days}
    assert final["oracle"]["regret"] == 0
    assert final["greedy"]["regret"] > 0
    assert final["epsilon_greedy"]["coverage"] > final["greedy"]["coverage"]
    for r in rows:
        assert {"retention", "satisfaction", "plays_per_visit", "coverage"} <= set(r)
        assert {"gini_exposure", "homogenization", "regret", "explore_reward"} <= set(r)
    linucb = run("linucb_hybrid")
    policy = made[-1]
    assert policy.updates > 100  # every examined explorer slot is a feedback row
    state = policy.explorer.state_dict()
    assert len(state["ids"]) > TINY.rows * TINY.slots  # it learnt about many titles
    assert linucb[-1]["coverage"] > final["greedy"]["coverage"]


def test_member_contexts_are_genre_shares_and_a_bias():
    counts = np.array([[2.0, 0.0, 2.0] + [0.0] * 10, [0.0] * 13])
    x = member_contexts(counts)
    np.testing.assert_allclose(x[0, :3], [0.5, 0.0, 0.5])
    assert (x[1, :-1] == 0).all() and (x[:, -1] == 1).all()


def test_cli_rejects_bad_exploration_arguments(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["exploration", "--explore-slots", "11", "--slots", "10"])
    assert exit_.value.code == 2
    assert "--explore-slots: at most --slots (10), got 11" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["exploration", "--artwork-policy", "nope"])
    assert exit_.value.code == 2
    assert "unknown policy 'nope'" in capsys.readouterr().err
