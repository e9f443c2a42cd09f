"""Each behaviour mechanism does what it claims, and its off switch turns it off."""

import math

import numpy as np
import pytest

from simulator.behaviour import BehaviourConfig, Population, respond, respond_batch
from simulator.runner import LoggingPolicy, PopulationRunner

N = 60
RUNTIME = np.full(N, 100)
ALL = np.ones(N, dtype=bool)


def page_plays(config, *, n=3000, seed=0, utilities=None):
    """(rows, columns) page plays over random 4 x 10 pages of equally good titles."""
    rng = np.random.default_rng(seed)
    u = np.full(N, 3.0) if utilities is None else utilities
    played = np.zeros((4, 10))
    outcomes = []
    for _ in range(n):
        o = respond(rng.permutation(N)[:40].reshape(4, 10), u, ALL, RUNTIME, rng, config)
        outcomes.append(o)
        if o.played is not None:
            played[o.played] += 1
    return played, outcomes


def test_position_bias_off_makes_play_rate_flat_across_positions():
    on, _ = page_plays(BehaviourConfig(search_probability=0))
    off, _ = page_plays(BehaviourConfig(position_bias=False, search_probability=0))
    assert on[0, 0] > 4 * on[3, 9]
    rows, cols = off.sum(axis=1), off.sum(axis=0)
    assert rows.max() < 1.3 * rows.min()
    assert cols.max() < 1.6 * cols.min()
    assert on.sum() == pytest.approx(off.sum(), rel=0.15)  # same attention, spread evenly


def test_search_happens_only_when_the_page_fails_and_off_means_never():
    u_page = np.full(N, -3.0)
    u_page[50:] = 6.0  # great titles exist, but the page shows only the bad ones
    rng = np.random.default_rng(0)
    page = np.arange(40).reshape(4, 10)
    outcomes = [respond(page, u_page, ALL, RUNTIME, rng, BehaviourConfig()) for _ in range(500)]
    searched = [o for o in outcomes if o.searched]
    assert len(searched) > 100
    assert all(o.played is None for o in searched)
    found = [o.title for o in searched if o.title is not None]
    assert found and np.mean([t >= 50 for t in found]) > 0.9  # what they wanted, not the page
    off = [
        respond(page, u_page, ALL, RUNTIME, rng, BehaviourConfig(search_probability=0))
        for _ in range(500)
    ]
    assert not any(o.searched for o in off)
    assert all(o.title is None or o.played is not None for o in off)


def test_abandonment_cuts_examination_after_bad_titles_and_off_switch():
    u = np.full(N, -3.0)
    config = BehaviourConfig(mean_patience=math.inf, abandon_probability=0.5, search_probability=0)
    _, on = page_plays(config, utilities=u, n=300)
    _, off = page_plays(
        BehaviourConfig(mean_patience=math.inf, abandon_probability=0, search_probability=0),
        utilities=u,
        n=300,
    )
    assert np.mean([o.abandoned for o in on]) > 0.9
    assert not any(o.abandoned for o in off)
    assert np.mean([len(o.examined) for o in on]) < 0.3 * np.mean([len(o.examined) for o in off])


def test_artwork_earns_clicks_not_watch_time():
    appeal = np.where(np.arange(N) < 30, 2.0, -2.0)
    rng = np.random.default_rng(0)
    u = np.full(N, 3.0)
    pages = np.stack([rng.permutation(N)[:40].reshape(4, 10) for _ in range(3000)])
    for weight, expect_bias in [(0.5, True), (0.0, False)]:
        config = BehaviourConfig(artwork_weight=weight, search_probability=0)
        b = respond_batch(
            pages, lambda v, t: u[t], None, RUNTIME, np.random.default_rng(1), config,
            appeal=appeal,
        )  # fmt: skip
        titles = b.played_title[b.played]
        share = np.mean(titles < 30)
        assert (share > 0.65) if expect_bias else (abs(share - 0.5) < 0.05)
        if expect_bias:
            f = b.watched_fraction[b.played]
            assert abs(f[titles < 30].mean() - f[titles >= 30].mean()) < 0.03


def test_satiation_makes_repeats_less_likely_and_off_switch(world):
    page = np.arange(40).reshape(4, 10)
    repeats = {}
    for satiation in (0.0, 2.0):
        config = BehaviourConfig(satiation=satiation, drift_rate=0, churn_rate=0)
        pop = Population(world, config)
        rng = np.random.default_rng(0)
        members = np.arange(20)
        titles = []
        for _ in range(30):
            b = pop.visit(members, np.broadcast_to(page, (20, 4, 10)), rng)
            titles.append(b.played_title)
        t = np.stack(titles, axis=1)  # (members, visits)
        repeats[satiation] = np.mean([len(row[row >= 0]) - len(set(row[row >= 0])) for row in t])
    assert repeats[2.0] < 0.7 * repeats[0.0]


def test_drift_turns_tastes_toward_what_was_watched_and_off_switch(world):
    page = np.arange(40).reshape(4, 10)
    for rate in (0.0, 0.2):
        pop = Population(world, BehaviourConfig(drift_rate=rate, churn_rate=0))
        before = pop.tastes.copy()
        rng = np.random.default_rng(0)
        members = np.arange(world.n_members)
        plays = np.zeros(world.n_titles)
        for _ in range(10):
            b = pop.visit(members, np.broadcast_to(page, (len(members), 4, 10)), rng)
            plays += np.bincount(b.played_title[b.played], minlength=world.n_titles)
        np.testing.assert_allclose(
            np.linalg.norm(pop.tastes, axis=1), np.linalg.norm(before, axis=1), rtol=1e-4
        )
        watched = pop.attributes[plays > 0].mean(axis=0)
        gain = (pop.tastes - before) @ watched
        if rate == 0:
            assert np.array_equal(pop.tastes, before)
        else:
            assert gain.mean() > 0.05


def test_churn_follows_disappointment_and_off_means_full_retention(world):
    bad = np.argsort(world.popularity)[:40].reshape(4, 10)  # obscure titles, no search
    results = {}
    for rate in (0.0, 0.05):
        config = BehaviourConfig(churn_rate=rate, search_probability=0)
        runner = PopulationRunner(world, config, rows=4, slots=10, days=20, seed=0)

        class Bad:
            def pages(self, members, at, available, rng, *, devices):
                return np.broadcast_to(bad, (len(members), 4, 10)).copy()

        runner.run(Bad())
        results[rate] = runner.population.retention
    assert results[0.0] == 1.0
    assert results[0.05] < 0.95


def test_weekly_habits_and_their_off_switch(world):
    from simulator.behaviour import Behaviour

    rng = np.random.default_rng(0)
    member = int(np.argmax(world.weekend_factor))
    on = Behaviour(world, BehaviourConfig(activity_scale=20))
    off = Behaviour(world, BehaviourConfig(activity_scale=20, weekly_habits=False))
    sat = np.mean([len(on.day_visit_hours(member, rng, weekday=5)) for _ in range(400)])
    mon = np.mean([len(on.day_visit_hours(member, rng, weekday=0)) for _ in range(400)])
    flat = np.mean([len(off.day_visit_hours(member, rng, weekday=5)) for _ in range(400)])
    assert sat > 1.2 * mon
    assert flat == pytest.approx(mon, rel=0.15)


def test_runner_agrees_with_single_member_behaviour(world):
    """The batched runner and one-visit-at-a-time respond give the same statistics."""
    config = BehaviourConfig(churn_rate=0, satiation=0, drift_rate=0)
    pop = Population(world, config)
    rng = np.random.default_rng(0)
    pages = np.stack([rng.choice(world.n_titles, 40, replace=False) for _ in range(3000)])
    pages = pages.reshape(-1, 4, 10)
    members = np.arange(3000) % world.n_members
    batched = []
    for s in range(0, 3000, world.n_members):
        b = pop.visit(members[s : s + world.n_members], pages[s : s + world.n_members], rng)
        batched.append((b.played.mean(), b.watched_fraction[b.played].mean(), len(b.visit)))
    single = []
    from simulator.behaviour import Behaviour

    behaviour = Behaviour(world, config)
    for i in range(3000):
        o = behaviour.visit(int(members[i]), pages[i], rng)
        single.append((o.title is not None, o.watched_fraction, len(o.examined)))
    play_b = np.mean([x[0] for x in batched])
    play_s = np.mean([x[0] for x in single])
    assert play_b == pytest.approx(play_s, abs=0.03)
    frac_s = np.mean([x[1] for x in single if x[0]])
    assert np.mean([x[1] for x in batched]) == pytest.approx(frac_s, abs=0.03)
    assert sum(x[2] for x in batched) / 3000 == pytest.approx(
        np.mean([x[2] for x in single]), rel=0.05
    )


def test_runner_schedule_keeps_each_members_visits_in_time_order(world):
    runner = PopulationRunner(world, BehaviourConfig(activity_scale=5), rows=4, slots=10)
    members, at, rounds = runner.schedule(0)
    assert (np.diff(rounds) >= 0).all()
    for m in np.unique(members):
        t = at[members == m]
        assert (np.diff(t) >= 0).all()
    assert (at >= runner.day_start(0)).all() and (at < runner.day_start(1)).all()


def test_runner_never_shows_or_finds_titles_before_they_arrive(world):
    runner = PopulationRunner(world, BehaviourConfig(activity_scale=3), rows=4, slots=10, days=30)
    log = runner.run(LoggingPolicy(world, rows=4, slots=10), keep_pages=True)
    plays = log.plays()
    added = world.added_at_unix
    assert (added[plays["title"]] <= plays["at"]).all()
    shown = log.column("shown")
    at = log.column("at")
    assert (added[shown] <= at[:, None]).all()
    arrivals = (added > runner.start.timestamp()) & (added < world.now.timestamp())
    assert arrivals.sum() >= 5 and np.isin(np.flatnonzero(arrivals), plays["title"]).any()


def test_population_rejects_churned_members_and_mismatched_batches(world):
    pop = Population(world)
    pop.churned[3] = True
    page = np.arange(40).reshape(1, 4, 10)
    with pytest.raises(ValueError, match="member 3 has churned"):
        pop.visit(np.array([3]), page, np.random.default_rng(0))
    with pytest.raises(ValueError, match="one per page"):
        pop.visit(np.array([1, 2]), page, np.random.default_rng(0))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("search_probability", 1.5),
        ("churn_rate", -0.1),
        ("satiation", -1.0),
        ("search_recall", 0),
        ("mean_patience", 0.5),
    ],
)
def test_new_parameters_reject_bad_values(field, value):
    with pytest.raises(ValueError, match=f"{field} must be .*got {value}"):
        BehaviourConfig(**{field: value})


TUESDAY = 1_794_873_600.0  # 2026-11-17T00:00:00Z, a Tuesday


def genre_shares(world, config, hour, *, reps=80, seed=0):
    """Share of plays carrying each genre when every member visits random pages at ``hour``
    (UTC) on a Tuesday, many times."""
    from simulator.world import GENRES

    pop = Population(world, config)
    rng = np.random.default_rng(seed)
    members = np.arange(world.n_members)
    at = np.full(len(members), TUESDAY + hour * 3600)
    counts = np.zeros(len(GENRES))
    for _ in range(reps):
        pages = np.stack([rng.choice(world.n_titles, 40, replace=False) for _ in members])
        b = pop.visit(members, pages.reshape(-1, 4, 10), rng, at=at)
        counts += world.genre_matrix[b.played_title[b.played]].sum(axis=0)
    return dict(zip(GENRES, counts / counts.sum(), strict=True))


def test_daypart_tastes_change_what_is_played_and_off_switch(world):
    """Afternoons lean to cartoons and family films, evenings to comedy and romance; with
    ``daypart_taste=0`` the genre mix is the same at both hours (within noise)."""
    stable = {"churn_rate": 0, "satiation": 0, "drift_rate": 0}
    shift = {}
    for strength in (1.0, 0.0):
        config = BehaviourConfig(daypart_taste=strength, **stable)
        afternoon = genre_shares(world, config, 15, seed=1)
        evening = genre_shares(world, config, 21, seed=2)
        kids = (
            afternoon["Animation"] + afternoon["Family"] - evening["Animation"] - evening["Family"]
        )
        light = evening["Comedy"] + evening["Romance"] - afternoon["Comedy"] - afternoon["Romance"]
        shift[strength] = (kids, light)
    assert shift[1.0][0] > 0.03 and shift[1.0][1] > 0.03
    assert abs(shift[0.0][0]) < 0.015 and abs(shift[0.0][1]) < 0.015


def test_daypart_tastes_reorder_true_utilities_smoothly(world):
    """A member's true ranking differs between morning and evening and between a weekday and
    the weekend, changes little from one minute to the next, and not at all when off."""
    on, off = Population(world), Population(world, BehaviourConfig.all_off())
    morning, evening = TUESDAY + 8 * 3600, TUESDAY + 21 * 3600
    saturday = evening + 4 * 86400

    def corr(pop, member, a, b):
        ua, ub = pop.utilities(member, at=a), pop.utilities(member, at=b)
        return np.corrcoef(np.argsort(np.argsort(ua)), np.argsort(np.argsort(ub)))[0, 1]

    members = range(world.n_members)
    assert np.mean([corr(on, m, morning, evening) for m in members]) < 0.9
    assert np.mean([corr(on, m, evening, saturday) for m in members]) < 0.95
    assert min(corr(on, m, evening, evening + 60) for m in members) > 0.99
    for m in range(5):
        np.testing.assert_array_equal(off.utilities(m, at=morning), off.utilities(m, at=evening))
        np.testing.assert_array_equal(off.utilities(m, at=morning), off.utilities(m))


def test_daypart_weights_are_cyclic_and_mark_weekends():
    from simulator.behaviour import daypart_weights
    from simulator.world import DAYPART_HOURS

    hours = TUESDAY + np.array(DAYPART_HOURS) * 3600
    w = daypart_weights(hours)
    assert (np.argmax(w[:, :-1], axis=1) == np.arange(len(DAYPART_HOURS))).all()
    np.testing.assert_allclose(w[:, :-1].sum(axis=1), 1.0)
    week = daypart_weights(TUESDAY + 12 * 3600 + np.arange(7) * 86400)[:, -1]
    np.testing.assert_array_equal(week, [0, 0, 0, 0, 1, 1, 0])  # Tue..Mon: Sat, Sun
    np.testing.assert_allclose(daypart_weights(hours), daypart_weights(hours + 7 * 86400))
    flat = daypart_weights(hours, sharpness=0.0)[:, :-1]
    np.testing.assert_allclose(flat, 1 / len(DAYPART_HOURS))


EVENING = TUESDAY + 20.5 * 3600


def plays_at(world, config, *, devices=None, reps=60, seed=0, prepare=None):
    """Titles played when every adult member visits random pages on a Tuesday evening,
    ``reps`` times, from ``devices`` (one per member; None: no device); ``prepare(pop)``
    sets the members' state before each visit."""
    pop = Population(world, config)
    rng = np.random.default_rng(seed)
    members = np.flatnonzero(~pop.is_kids)
    at = np.full(len(members), EVENING)
    played = []
    for _ in range(reps):
        if prepare is not None:
            prepare(pop, members)
        pages = np.stack([rng.choice(world.n_titles, 40, replace=False) for _ in members])
        b = pop.visit(members, pages.reshape(-1, 4, 10), rng, at=at, devices=devices)
        played.append(b.played_title[b.played])
    return np.concatenate(played)


STABLE = {"churn_rate": 0, "satiation": 0, "drift_rate": 0}


def test_device_tastes_change_what_is_played_and_off_switch(world):
    """Short titles on phones, long films on the TV: with random pages, plays from a TV run
    longer than plays from a phone; with ``device_taste=0`` the device makes no difference."""
    from simulator.world import DEVICES

    runtime = world.runtime_minutes
    n_adults = int((~np.array([m.is_kids for m in world.members])).sum())
    gap = {}
    for taste in (1.0, 0.0):
        config = BehaviourConfig(device_taste=taste, **STABLE)
        tv, phone = (
            plays_at(world, config, devices=np.full(n_adults, DEVICES.index(d)), seed=s)
            for d, s in (("tv", 1), ("phone", 2))
        )
        gap[taste] = runtime[tv].mean() - runtime[phone].mean()
    assert gap[1.0] > 12
    assert abs(gap[0.0]) < 4


def test_devices_follow_the_daypart_and_the_draws_follow_the_mix(world):
    """Phones on the morning commute, the TV in the evening; kids lean to the tablet; the
    drawn devices have the mix's frequencies."""
    from simulator.world import DEVICES

    pop = Population(world)
    members = np.arange(world.n_members)
    morning = pop.device_probabilities(members, np.full(len(members), TUESDAY + 8 * 3600))
    evening = pop.device_probabilities(members, np.full(len(members), EVENING))
    tv, phone, tablet = (DEVICES.index(d) for d in ("tv", "phone", "tablet"))
    assert evening[:, tv].mean() > morning[:, tv].mean() + 0.2
    assert morning[:, phone].mean() > evening[:, phone].mean() + 0.15
    kids = pop.is_kids
    assert evening[kids, tablet].mean() > evening[~kids, tablet].mean() + 0.1
    rng = np.random.default_rng(0)
    at = np.full(len(members), EVENING)
    drawn = np.stack([pop.draw_devices(members, at, rng) for _ in range(1000)])  # (draws, M)
    shares = np.stack([(drawn == d).mean(axis=0) for d in range(len(DEVICES))], axis=1)
    np.testing.assert_allclose(shares, evening, atol=0.065)  # 4 sd of 1000 draws
    np.testing.assert_allclose(shares.mean(axis=0), evening.mean(axis=0), atol=0.01)


def test_coming_back_after_a_long_gap_pulls_toward_popular_titles_and_off_switch(world):
    """A member back after two weeks plays more popular titles than one back after an hour;
    with ``return_popularity=0`` (or at a first visit, when no gap is known) no difference."""
    log_pop = np.log(world.popularity)

    def away(days):
        def prepare(pop, members):
            pop.last_visit[members] = EVENING - days * 86400

        return prepare

    shift = {}
    for weight in (0.6, 0.0):
        config = BehaviourConfig(return_popularity=weight, **STABLE)
        long = plays_at(world, config, prepare=away(14), seed=1)
        short = plays_at(world, config, prepare=away(1 / 24), seed=2)
        shift[weight] = log_pop[long].mean() - log_pop[short].mean()
    first = plays_at(world, BehaviourConfig(**STABLE), seed=1)  # no last visit: no gap
    no_gap = plays_at(world, BehaviourConfig(return_popularity=0, **STABLE), seed=1)
    assert shift[0.6] > 0.3
    assert abs(shift[0.0]) < 0.1
    assert log_pop[first].mean() == pytest.approx(log_pop[no_gap].mean(), abs=1e-9)


def test_a_series_in_progress_pulls_its_next_episode_and_off_switch(world):
    """A member who just played an episode plays the next one far more often when it is on
    the page (random slot, among random titles); with ``series_pull=0`` it is a title like
    any other; once the next episode is among the recent plays, it no longer pulls."""
    nxt = world.next_episode
    first = int(np.flatnonzero(nxt >= 0)[0])
    second = int(nxt[first])
    rng = np.random.default_rng(0)
    others = np.setdiff1d(np.arange(world.n_titles), [first, second])
    members = np.flatnonzero(~np.array([m.is_kids for m in world.members]))

    def share(config, recent):
        pop = Population(world, config)
        hits = plays = 0
        for _ in range(40):
            pop.recent[:] = -1
            pop.recent[members, : len(recent)] = recent
            pages = np.stack([rng.choice(others, 40, replace=False) for _ in members])
            pages[np.arange(len(members)), rng.integers(40, size=len(members))] = second
            b = pop.visit(members, pages.reshape(-1, 4, 10), rng)
            hits += (b.played_title == second).sum()
            plays += b.played.sum()
        return hits / plays

    pulled = share(BehaviourConfig(**STABLE), [first])
    off = share(BehaviourConfig(series_pull=0, **STABLE), [first])
    watched = share(BehaviourConfig(**STABLE), [first, second])
    assert pulled > 2 * off
    assert watched == pytest.approx(off, abs=0.03)


def test_context_strength_scales_every_context_effect_and_zero_means_none(world):
    """Utility differences between contexts (hour, device, time away, a show in progress)
    are linear in ``context_strength``; at 0 every context gives the same utilities."""
    from simulator.world import DEVICES

    nxt = world.next_episode
    episode = int(np.flatnonzero(nxt >= 0)[0])

    def utilities(strength, *, hour, device, away_days, in_show):
        pop = Population(world, BehaviourConfig(context_strength=strength, satiation=0))
        at = TUESDAY + hour * 3600
        pop.last_visit[3] = at - away_days * 86400
        if in_show:
            pop.recent[3, 0] = episode
        return pop.utilities(3, at=at, device=DEVICES.index(device))

    a = {"hour": 8, "device": "phone", "away_days": 0.1, "in_show": False}
    b = {"hour": 21, "device": "tv", "away_days": 20, "in_show": True}
    one = utilities(1.0, **b) - utilities(1.0, **a)
    two = utilities(2.0, **b) - utilities(2.0, **a)
    assert np.abs(one).max() > 1.0
    show = utilities(1.0, **b) - utilities(1.0, **{**b, "in_show": False})
    assert show[nxt[episode]] == pytest.approx(BehaviourConfig().series_pull, abs=1e-5)
    assert np.count_nonzero(np.abs(show) > 1e-6) == 1  # only the next episode is pulled
    np.testing.assert_allclose(two, 2 * one, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(utilities(0.0, **a), utilities(0.0, **b))
    off = BehaviourConfig.all_off()
    assert off.context_strength == 1.0 and not (
        off.daypart_taste or off.device_taste or off.return_popularity or off.series_pull
    )


def test_runner_gives_the_policy_each_visits_device_and_logs_it(world):
    """The policy sees the device each visit comes from (as a request carries it), the log
    keeps it, and the oracle, which knows device tastes, ranks differently per device."""
    from simulator.experiments.policies import OraclePolicy

    seen = []

    class Recording(LoggingPolicy):
        def pages(self, members, at, available, rng, *, devices):
            seen.append(devices.copy())
            return super().pages(members, at, available, rng, devices=devices)

    runner = PopulationRunner(world, BehaviourConfig(activity_scale=3), rows=4, slots=10, days=3)
    log = runner.run(Recording(world, rows=4, slots=10))
    np.testing.assert_array_equal(np.concatenate(seen), log.column("device"))
    assert len(np.unique(log.column("device"))) == 4
    plays = log.plays()
    assert len(plays["device"]) == len(plays["title"])
    oracle = OraclePolicy(world, runner.population, rows=4, slots=10)
    members = np.arange(10)
    at = np.full(10, EVENING)
    rng = np.random.default_rng(0)
    tv, phone = (oracle.scores(members, rng, at=at, devices=np.full(10, d)) for d in (0, 1))
    assert not np.allclose(tv, phone)
