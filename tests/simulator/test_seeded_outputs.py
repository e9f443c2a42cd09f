"""The behaviour engine and the visit schedule, pinned: a fixed seed gives exactly what the
code gave before the simulator was split into packages (recorded from that code); and a
population visiting with context (devices, the return gap, shows in progress), recorded
when Homepage-v2 introduced it and again when Homepage-v3 added artwork variants (with the
artwork's appeal off, v3 gives exactly v2's visits).

A change here is a change of the simulator's dynamics: bump the env's version
(``simulator.HOMEPAGE_ENV_ID`` and the Version History of ``HomepageEnv``) and record the
new values. (numpy does not promise the same random streams across feature releases, so a
numpy upgrade may also move them; then only the recording is redone.) Only integers and
rounded hours are pinned: they do not depend on the last bits of a float computation.
"""

import numpy as np
import pytest

from simulator.behaviour import BehaviourConfig, day_visit_hours, respond_batch

N_TITLES, N_VISITS = 50, 12


def engine(position_bias: bool) -> dict[str, list]:
    """Every stage on (patience, presentation, abandonment, kids mask, search, thumbs)."""
    rng = np.random.default_rng(2024)
    utilities = rng.normal(2.0, 2.0, size=(N_VISITS, N_TITLES))  # (visit, title)
    pages = np.stack([rng.permutation(N_TITLES)[:15].reshape(3, 5) for _ in range(N_VISITS)])
    pages[5, 2, 3:] = -1
    config = BehaviourConfig(
        position_bias=position_bias,
        mean_patience=6,
        abandon_utility=0.0,
        thumb_probability=0.5,
        search_probability=0.6,
        search_recall=5,
    )
    batch = respond_batch(
        pages,
        lambda v, t: utilities[v, t],
        lambda v, t: t % 7 != 0,
        np.full(N_TITLES, 30),
        rng,
        config,
        appeal=np.linspace(-1, 1, N_TITLES),
        row_bonus=np.tile([0.3, 0.0, 0.0], (N_VISITS, 1)),
        patience=np.linspace(0.5, 1.5, N_VISITS),
        search_weights=np.linspace(1, 2, N_TITLES),
        searchable=lambda v, t: t < 40,
    )
    return {
        "examined": np.bincount(batch.visit, minlength=N_VISITS).tolist(),
        "slots": batch.slot.tolist(),
        "played_title": batch.played_title.tolist(),
        "played_entry": batch.played_entry.tolist(),
        "searched": batch.searched.astype(int).tolist(),
        "abandoned": batch.abandoned.astype(int).tolist(),
        "thumbs": [(int(i), int(batch.thumb[i])) for i in np.flatnonzero(batch.thumb)],
    }


PINNED = {
    True: {
        "examined": [2, 8, 4, 8, 10, 3, 5, 8, 9, 3, 3, 6],
        "slots": [
            0, 1, 0, 1, 2, 3, 4, 5, 8, 9, 0, 1, 2, 7, 0, 1, 2, 3, 5, 6, 9, 10, 0, 1, 2, 3, 4,
            5, 7, 10, 12, 14, 0, 5, 6, 0, 1, 2, 4, 5, 0, 1, 2, 3, 5, 10, 12, 14, 0, 1, 2, 3, 4,
            5, 6, 10, 13, 0, 1, 2, 0, 2, 4, 0, 3, 4, 6, 8, 9,
        ],
        "played_title": [31, 22, 6, 3, 44, 37, 24, 25, 41, 31, 13, 17],
        "played_entry": [0, 7, 10, 18, 26, 32, 36, 47, 55, -1, 60, 67],
        "searched": [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0],
        "abandoned": [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        "thumbs": [(10, 1), (63, -1)],
    },
    False: {
        "examined": [6, 6, 5, 5, 6, 2, 7, 7, 8, 7, 3, 8],
        "slots": [
            13, 9, 1, 2, 5, 11, 1, 9, 5, 8, 13, 2, 7, 9, 1, 12, 8, 1, 10, 3, 11, 13, 5, 2, 1,
            9, 3, 10, 6, 9, 9, 12, 5, 11, 4, 8, 0, 1, 14, 5, 9, 8, 10, 12, 8, 4, 13, 6, 2, 14,
            10, 3, 14, 2, 4, 11, 10, 9, 13, 8, 4, 12, 14, 9, 8, 12, 4, 6, 3, 0,
        ],
        "played_title": [9, 29, 48, 31, 17, 17, 29, 25, 15, 36, 32, 17],
        "played_entry": [-1, -1, 15, 17, 26, -1, 30, 38, 45, 57, 60, 64],
        "searched": [1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0],
        "abandoned": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0],
        "thumbs": [(26, 1), (38, 1), (64, 1)],
    },
}  # fmt: skip


@pytest.mark.parametrize("position_bias", [True, False], ids=["scan in order", "random scan"])
def test_engine_gives_the_recorded_visits(position_bias):
    assert engine(position_bias) == PINNED[position_bias]


def test_schedule_gives_the_recorded_hours():
    rng = np.random.default_rng(7)
    days = [
        day_visit_hours(rng, 3.0, 21.0, 2.0, weekend_factor=1.5, weekend=weekend).round(6)
        for weekend in (False, True)
    ]
    assert [d.tolist() for d in days] == [
        [19.016707, 20.015587, 21.120287, 23.68043],
        [19.139064, 20.941496, 22.390606],
    ]


def population_run(**config: object) -> dict[str, list]:
    """Homepage-v2's context on: a small world's members visit from drawn devices at drawn
    times over six rounds, so the daypart, the device, the return gap and shows in progress
    all act (through Population, the path of the runner, the env and the client); pages show
    artwork variant 0 (``config``: more BehaviourConfig fields)."""
    from datetime import UTC, datetime

    from simulator.behaviour import Population
    from simulator.world import World

    world = World.generate(60, 12, seed=5, now=datetime(2026, 1, 1, tzinfo=UTC))
    population = Population(world, BehaviourConfig(satiation=0.5, **config))  # type: ignore[arg-type]
    rng = np.random.default_rng(11)
    members = np.arange(world.n_members)
    out: dict[str, list] = {"devices": [], "played_title": []}
    for round_ in range(6):
        at = 1_767_000_000.0 + round_ * 2.5 * 86400 + rng.uniform(0, 86400, size=len(members))
        devices = population.draw_devices(members, at, rng)
        pages = np.stack([rng.permutation(world.n_titles)[:20].reshape(4, 5) for _ in members])
        batch = population.visit(members, pages, rng, at=np.floor(at), devices=devices)
        out["devices"].append(devices.tolist())
        out["played_title"].append(batch.played_title.tolist())
    return out


POPULATION_PINNED_V2 = {
    "devices": [
        [3, 0, 0, 2, 2, 1, 3, 1, 3, 1, 2, 0], [2, 2, 1, 1, 3, 0, 1, 1, 3, 1, 3, 1],
        [0, 2, 2, 1, 0, 0, 2, 2, 3, 1, 3, 1], [1, 2, 1, 1, 1, 3, 1, 1, 1, 2, 0, 0],
        [0, 0, 0, 2, 1, 1, 3, 1, 1, 2, 1, 1], [2, 0, 1, 0, 1, 0, 3, 0, 1, 2, 2, 0],
    ],
    "played_title": [
        [-1, -1, 34, 58, 48, 47, 15, 3, 57, 20, -1, 32],
        [-1, 4, 6, 37, -1, 21, 16, 39, -1, -1, 57, 36],
        [36, 15, -1, -1, 43, 8, 48, 23, 15, 16, 8, 6],
        [-1, 37, 8, 42, 15, 53, 57, -1, 6, 48, -1, 31],
        [33, 42, 28, 40, 16, 33, -1, -1, 1, 36, 2, 9],
        [21, -1, 47, 43, -1, 38, 54, 15, 39, 36, 25, 9],
    ],
}  # fmt: skip


POPULATION_PINNED = {
    "devices": [
        [3, 0, 0, 2, 2, 1, 3, 1, 3, 1, 2, 0], [0, 0, 0, 1, 1, 3, 0, 1, 3, 0, 1, 0],
        [0, 3, 3, 3, 1, 0, 1, 2, 1, 1, 1, 0], [3, 1, 1, 0, 3, 0, 3, 1, 1, 1, 0, 0],
        [3, 0, 0, 2, 0, 2, 2, 1, 2, 2, 3, 1], [2, 0, 1, 1, 2, 3, 3, 0, 2, 1, 0, 0],
    ],
    "played_title": [
        [21, 51, 34, 58, 48, -1, 15, 3, 57, 15, -1, -1],
        [2, -1, 50, -1, 36, -1, 51, -1, 51, 42, 15, 11],
        [15, 33, 8, -1, 54, 32, 8, 15, 16, 47, 38, 46],
        [37, -1, 39, 35, -1, 51, -1, 6, -1, -1, 32, -1],
        [43, -1, 49, -1, 9, 39, 16, 42, 0, -1, 8, 6],
        [43, 42, 50, 35, -1, 8, 8, 35, 16, -1, 11, 36],
    ],
}  # fmt: skip


def test_population_with_context_gives_the_recorded_visits():
    """Recorded from the code that introduced Homepage-v3; each of the artwork's appeal, the
    series pull, device tastes, the return gap and the daypart tastes, switched off, changes
    these visits."""
    assert population_run() == POPULATION_PINNED


def test_with_the_artwork_appeal_off_v3_gives_exactly_the_v2_visits():
    """Artwork variants came with a stream of their own (the world's other draws are those
    of v2) and take no draws in the engine, so switching their appeal off gives back the
    visits recorded from the code that introduced Homepage-v2."""
    assert population_run(artwork_taste=0.0) == POPULATION_PINNED_V2
