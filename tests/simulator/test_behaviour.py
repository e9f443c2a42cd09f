import numpy as np
import pytest

from simulator.behaviour import (
    Behaviour,
    BehaviourConfig,
    day_visit_hours,
    examination_probabilities,
    respond,
)

N = 60
PAGE = np.arange(40).reshape(4, 10)
RUNTIME = np.full(N, 100)
ALL = np.ones(N, dtype=bool)


def visits(utilities, *, n, seed=0, page=PAGE, allowed=ALL, config=None):
    rng = np.random.default_rng(seed)
    config = config or BehaviourConfig()
    return [respond(page, utilities, allowed, RUNTIME, rng, config) for _ in range(n)]


def test_examination_probability_formula():
    config = BehaviourConfig(row_decay=0.5, col_decay=0.8)
    p = examination_probabilities((3, 4), config)
    assert p[0, 0] == 1.0
    assert p[2, 3] == pytest.approx(0.5**2 * 0.8**3)


def test_position_bias_is_measurable_for_equal_utility():
    # Every title is equally good, so only position explains which one is examined and played.
    outcomes = visits(np.full(N, 3.0), n=3000)
    played = np.zeros(PAGE.shape)
    examined = np.zeros(PAGE.shape)
    for o in outcomes:
        for slot in o.examined:
            examined[slot] += 1
        if o.played is not None:
            played[o.played] += 1
    assert played[0, 0] > 5 * max(played[3, 9], 1)
    assert played[0, :3].sum() > played[3, -3:].sum()
    assert (np.diff(played.sum(axis=1)) < 0).all()  # each row down is played less
    assert played[:, 0].sum() > played[:, -1].sum()


def test_examination_frequencies_follow_the_formula_when_patience_is_ample():
    config = BehaviourConfig(mean_patience=1000)
    outcomes = visits(np.full(N, 3.0), n=2000, config=config)
    examined = np.zeros(PAGE.shape)
    for o in outcomes:
        for slot in o.examined:
            examined[slot] += 1
    expected = examination_probabilities(PAGE.shape, config)
    np.testing.assert_allclose(examined / len(outcomes), expected, atol=0.04)


def test_same_rng_same_visit_and_seeds_differ():
    u = np.linspace(-2, 5, N)
    assert visits(u, n=50, seed=1) == visits(u, n=50, seed=1)
    assert visits(u, n=50, seed=1) != visits(u, n=50, seed=2)


def test_outside_option():
    assert sum(o.played is not None for o in visits(np.full(N, -5.0), n=300)) < 10
    assert sum(o.played is not None for o in visits(np.full(N, 9.0), n=300)) > 290


def test_better_titles_are_played_more_and_watched_longer():
    u = np.linspace(-2, 6, N)
    rng = np.random.default_rng(0)
    pages = [rng.permutation(N)[:40].reshape(4, 10) for _ in range(2000)]
    outcomes = [respond(p, u, ALL, RUNTIME, rng, BehaviourConfig()) for p in pages]
    played = [o for o in outcomes if o.title is not None]
    utilities = np.array([o.utility for o in played])
    fractions = np.array([o.watched_fraction for o in played])
    assert np.corrcoef(utilities, fractions)[0, 1] > 0.5
    assert all(0 < f < 1 for f in fractions)
    assert all(o.watched_seconds == round(o.watched_fraction * 6000) for o in played)
    assert utilities.mean() > u.mean() + 1


def test_thumbs_only_at_extremes():
    config = BehaviourConfig(thumb_probability=1.0)
    u = np.linspace(-4, 7, N)
    rng = np.random.default_rng(0)
    pages = [rng.permutation(N)[:40].reshape(4, 10) for _ in range(300)]
    thumbs = []
    for p in pages:
        o = respond(p, u, ALL, RUNTIME, rng, config)
        for slot, kind in o.thumbs:
            thumbs.append(kind)
            if kind == "thumb_up":
                assert slot == o.played and u[p[slot]] >= config.thumb_up_utility
            else:
                assert u[p[slot]] <= config.thumb_down_utility and slot in o.examined
    assert {"thumb_up", "thumb_down"} <= set(thumbs)


def test_kids_never_play_unsuitable_titles():
    allowed = np.arange(N) % 2 == 0
    u = np.where(allowed, 0.0, 8.0)  # the unsuitable titles are the most tempting
    outcomes = visits(u, n=500, allowed=allowed)
    played = [o.title for o in outcomes if o.title is not None]
    assert played and all(allowed[t] for t in played)


def test_empty_slots_are_never_examined():
    page = np.full((3, 5), -1)
    page[0, :2] = [4, 7]
    page[2, 0] = 9
    for o in visits(np.full(N, 3.0), n=200, page=page):
        assert all(page[s] >= 0 for s in o.examined)


def test_patience_limits_examination():
    config = BehaviourConfig(row_decay=1.0, col_decay=1.0, mean_patience=5, abandon_probability=0)
    counts = [len(o.examined) for o in visits(np.zeros(N), n=500, config=config)]
    assert np.mean(counts) == pytest.approx(5, abs=0.4)


def test_day_visit_hours_follow_activity_and_habit():
    rng = np.random.default_rng(0)
    days = [day_visit_hours(rng, 2.0, 20.0, 1.0) for _ in range(2000)]
    assert np.mean([len(d) for d in days]) == pytest.approx(2.0, abs=0.1)
    hours = np.concatenate(days)
    assert ((hours >= 0) & (hours < 24)).all()
    assert all((np.diff(d) >= 0).all() for d in days)
    assert np.mean(np.abs(hours - 20) < 2) > 0.9


def test_behaviour_uses_world(world):
    b = Behaviour(world)
    kid = next(i for i, m in enumerate(world.members) if m.is_kids)
    np.testing.assert_array_equal(b.allowed(kid), world.kids_suitable)
    assert b.allowed(kid).sum() < world.n_titles
    u = b.utilities(0)
    expected = world.affinity(0) + 0.3 * np.log(world.n_titles * world.popularity)
    np.testing.assert_allclose(u, expected, rtol=1e-5, atol=1e-5)  # float32 tastes
    assert not u.flags.writeable


@pytest.mark.parametrize(
    ("field", "value"),
    [("row_decay", 0.0), ("col_decay", 1.5), ("mean_patience", 0.5), ("activity_scale", 0)],
)
def test_config_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=field):
        BehaviourConfig(**{field: value})
