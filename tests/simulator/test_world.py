import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from simulator.world import GENRES, KIDS_RATINGS, MATURITY_RATINGS, World, main, parse_time

from .conftest import NOW

ROOT = Path(__file__).resolve().parents[2]
TITLE_FIELDS = {
    "external_id",
    "name",
    "kind",
    "genres",
    "maturity_rating",
    "runtime_minutes",
    "release_date",
    "added_at",
    "synopsis",
    "keywords",
    "series",
    "episode",
}


HIDDEN_ARRAYS = (
    "title_attributes",
    "popularity",
    "genre_directions",
    "cluster_genres",
    "member_cluster",
    "tastes",
    "activity",
    "peak_hour",
    "hour_spread",
    "weekend_factor",
    "patience",
    "artwork_appeal",
    "daypart_offsets",
    "device_mix",
    "device_sensitivity",
    "device_affinity",
)
"""Every hidden array of a World: a save that dropped one would load it neutral."""


def assert_same_world(a: World, b: World, *, skip: tuple[str, ...] = ()) -> None:
    """Same public records and hidden arrays, but for the names in ``skip``."""
    assert (a.seed, a.now, a.accounts, a.members) == (b.seed, b.now, b.accounts, b.members)
    if "titles" not in skip:
        assert a.titles == b.titles
    for name in HIDDEN_ARRAYS:
        if name in skip:
            continue
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_same_seed_same_world_and_other_seed_differs(world):
    assert_same_world(world, World.generate(300, 60, seed=0, now=NOW))
    other = World.generate(300, 60, seed=1, now=NOW)
    assert other.titles != world.titles
    assert not np.array_equal(other.tastes, world.tastes)


def test_save_load_round_trip(world, world_dir):
    assert sorted(p.name for p in world_dir.iterdir()) == [
        "catalog.json",
        "hidden.npz",
        "members.json",
    ]
    assert_same_world(World.load(world_dir), world)


def test_catalog_json_fields(world_dir):
    catalog = json.loads((world_dir / "catalog.json").read_text())
    assert catalog["seed"] == 0
    assert parse_time(catalog["now"]) == NOW
    titles = catalog["titles"]
    assert len(titles) == 300
    assert len({t["external_id"] for t in titles}) == 300
    assert len({t["name"] for t in titles}) == 300
    for t in titles:
        assert set(t) == TITLE_FIELDS
        assert t["external_id"].startswith("t") and len(t["external_id"]) == 6
        assert t["kind"] in ("movie", "series")
        assert 1 <= len(t["genres"]) <= 3 and set(t["genres"]) <= set(GENRES)
        assert t["maturity_rating"] in MATURITY_RATINGS
        low, high = (80, 150) if t["kind"] == "movie" else (20, 60)
        assert low <= t["runtime_minutes"] <= high
        assert t["added_at"].endswith("Z")
        added = parse_time(t["added_at"])
        assert NOW - timedelta(days=730) <= added <= NOW
        assert t["release_date"] <= added.date().isoformat()
        keywords = {g.lower().replace("animation", "animated") for g in t["genres"]}
        assert all(k in t["synopsis"] for k in keywords), t["synopsis"]


def test_nothing_hidden_in_public_files(world_dir):
    public = (world_dir / "catalog.json").read_text() + (world_dir / "members.json").read_text()
    for word in ("taste", "attribute", "popularity", "activity", "cluster"):
        assert word not in public


def test_kids_suitability(world):
    for t in world.titles:
        if "Horror" in t.genres:
            assert t.maturity_rating not in KIDS_RATINGS
    kids_genre = [t for t in world.titles if {"Animation", "Family"} & set(t.genres)]
    assert np.mean([t.kids_suitable for t in kids_genre]) > 0.7
    others = [t for t in world.titles if not {"Animation", "Family"} & set(t.genres)]
    assert np.mean([t.kids_suitable for t in others]) < 0.3


def test_members_json(world_dir):
    accounts = json.loads((world_dir / "members.json").read_text())["accounts"]
    assert len({a["username"] for a in accounts}) == len(accounts)
    assert len({a["password"] for a in accounts}) == len(accounts)
    assert sum(len(a["members"]) for a in accounts) == 60
    n_kids = 0
    for a in accounts:
        assert a["username"].startswith("sim") and len(a["password"]) >= 16
        assert 1 <= len(a["members"]) <= 4
        assert [m["key"] for m in a["members"]] == [
            f"{a['username']}/{i}" for i in range(len(a["members"]))
        ]
        assert len({m["name"] for m in a["members"]}) == len(a["members"])
        kids = sum(m["is_kids"] for m in a["members"])
        assert kids <= 1
        n_kids += kids
    assert n_kids >= 1


def test_recent_additions(world):
    ages = np.array([(NOW - t.added_at).total_seconds() / 86400 for t in world.titles])
    recent = (ages < 30).mean()
    assert 0.04 <= recent <= 0.2
    assert ages.max() > 365


def test_tastes_are_genre_correlated(world):
    genres = world.genre_matrix
    checked = 0
    for cluster in range(len(world.cluster_genres)):
        members = np.flatnonzero(world.member_cluster == cluster)
        if len(members) == 0:
            continue
        liked = (genres & world.cluster_genres[cluster]).any(axis=1)
        affinity = world.tastes[members] @ world.title_attributes.T
        # Every member of the cluster prefers, on average, the titles of its genres (by 0.46
        # to 2.42 on this world; episodes of one show repeat its content, so the spread is
        # wider than per title).
        assert (affinity[:, liked].mean(axis=1) > affinity[:, ~liked].mean(axis=1) + 0.3).all()
        checked += 1
    assert checked >= 5


def test_kids_profiles_like_kids_titles(world):
    kids = [i for i, m in enumerate(world.members) if m.is_kids]
    suitable = world.kids_suitable
    for i in kids:
        a = world.affinity(i)
        assert a[suitable].mean() > a[~suitable].mean()


def test_popularity_and_activity_are_heavy_tailed(world):
    assert world.popularity.sum() == pytest.approx(1.0)
    top = np.sort(world.popularity)[::-1][: world.n_titles // 10].sum()
    assert top > 0.4
    assert world.activity.min() > 0
    assert world.activity.max() > 3 * np.median(world.activity)


def test_generate_rejects_empty_world():
    with pytest.raises(ValueError, match="n_titles must be at least 1, got 0"):
        World.generate(0, 5)


def test_cli_writes_the_three_files(tmp_path, capsys):
    out = tmp_path / "w"
    assert (
        main(
            [
                "--out",
                str(out),
                "--titles",
                "40",
                "--members",
                "7",
                "--seed",
                "3",
                "--now",
                "2026-11-20T12:00:00Z",
            ]
        )
        == 0
    )
    assert "40 titles" in capsys.readouterr().out
    assert_same_world(World.load(out), World.generate(40, 7, seed=3, now=NOW))


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--titles", "0"], "0"),
        (["--titles", "ten"], "'ten'"),
        (["--members", "-3"], "-3"),
        (["--seed", "-1"], "-1"),
        (["--now", "yesterday"], "'yesterday'"),
    ],
)
def test_cli_rejects_bad_arguments(tmp_path, capsys, args, named):
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(tmp_path / "w"), *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert args[0] in err and named in err
    assert not (tmp_path / "w").exists()


def test_cli_runs_as_module(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulator.world",
            "--out",
            str(tmp_path),
            "--titles",
            "20",
            "--members",
            "3",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr
    assert {p.name for p in tmp_path.iterdir()} == {"catalog.json", "members.json", "hidden.npz"}


def test_daypart_offsets_saved_and_older_hidden_files_load_neutral(world, world_dir, tmp_path):
    """Format 3 stores daypart offsets from a stream of their own; a format 2 file (without
    them) loads with zeros, so its members' tastes ignore the clock."""
    from simulator.world import ATTRIBUTE_DIM, N_TASTE_OFFSETS

    assert world.daypart_offsets.shape == (world.n_members, N_TASTE_OFFSETS, ATTRIBUTE_DIM)
    assert np.abs(world.daypart_offsets).mean() > 0.1
    np.testing.assert_array_equal(World.load(world_dir).daypart_offsets, world.daypart_offsets)
    for name in ("catalog.json", "members.json"):
        (tmp_path / name).write_bytes((world_dir / name).read_bytes())
    with np.load(world_dir / "hidden.npz") as hidden:
        arrays = {k: hidden[k] for k in hidden.files if k != "daypart_offsets"}
    arrays["format"] = np.int64(2)
    np.savez_compressed(tmp_path / "hidden.npz", **arrays)
    old = World.load(tmp_path)
    assert_same_world(old, world, skip=("daypart_offsets",))
    assert not old.daypart_offsets.any()


def test_series_are_shows_of_numbered_episodes_that_share_their_content(world):
    """Every series title is an episode: named "<show>: Episode k", numbered 1..n in order of
    arrival, with its show's genres, rating and runtime and nearly its content; movies are in
    no show. next_episode, read from the public fields, links each episode to the next."""
    shows: dict[str, list[int]] = {}
    for i, t in enumerate(world.titles):
        if t.kind == "movie":
            assert t.series is None and t.episode is None
        else:
            assert t.name == f"{t.series}: Episode {t.episode}"
            shows.setdefault(t.series, []).append(i)
    assert sum(len(s) > 1 for s in shows.values()) >= 5
    nxt = world.next_episode
    attributes = world.title_attributes / np.linalg.norm(world.title_attributes, axis=1)[:, None]
    alike = []
    for episodes in shows.values():
        episodes.sort(key=lambda i: world.titles[i].episode)
        ts = [world.titles[i] for i in episodes]
        assert [t.episode for t in ts] == list(range(1, len(ts) + 1))
        assert [t.added_at for t in ts] == sorted(t.added_at for t in ts)
        assert len({(t.genres, t.maturity_rating, t.runtime_minutes) for t in ts}) == 1
        assert all(t.release_date <= t.added_at.date() for t in ts)
        assert nxt[episodes[:-1]].tolist() == episodes[1:] and nxt[episodes[-1]] == -1
        alike += [attributes[episodes[0]] @ attributes[j] for j in episodes[1:]]
    assert (nxt[[t.kind == "movie" for t in world.titles]] == -1).all()
    assert min(alike) > 0.9  # an episode's content is its show's
    assert np.mean(attributes[:50] @ attributes[50:100].T) < 0.3  # unlike unrelated titles


def test_device_affinity_follows_runtime_and_content(world):
    """Long titles suit the TV, short ones the phone, cartoons and family films the tablet:
    the hidden device affinities correlate with what the platform can see, and each device
    makes some titles better and others worse (centred)."""
    from simulator.world import DEVICES, GENRE_INDEX

    affinity = world.device_affinity
    assert affinity.shape == (world.n_titles, len(DEVICES))
    np.testing.assert_allclose(affinity.mean(axis=0), 0, atol=1e-9)
    log_runtime = np.log(world.runtime_minutes)
    tv, phone, tablet = (DEVICES.index(d) for d in ("tv", "phone", "tablet"))
    assert np.corrcoef(log_runtime, affinity[:, tv])[0, 1] > 0.5
    assert np.corrcoef(log_runtime, affinity[:, phone])[0, 1] < -0.5
    family = world.genre_matrix[:, [GENRE_INDEX["Animation"], GENRE_INDEX["Family"]]].any(axis=1)
    assert affinity[family, tablet].mean() > affinity[~family, tablet].mean() + 0.2
    kids = np.array([m.is_kids for m in world.members])
    assert world.device_mix[kids, tablet].mean() > world.device_mix[~kids, tablet].mean()
    assert (world.device_sensitivity > 0).all()


def test_format_3_world_files_load_with_devices_neutral_and_no_series(world, world_dir, tmp_path):
    """A world written before devices and series (hidden format 3, catalog.json without
    series fields) loads: every device alike and no title in a show."""
    catalog = json.loads((world_dir / "catalog.json").read_text())
    for t in catalog["titles"]:
        del t["series"], t["episode"]
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    (tmp_path / "members.json").write_bytes((world_dir / "members.json").read_bytes())
    new = ("device_mix", "device_sensitivity", "device_affinity")
    with np.load(world_dir / "hidden.npz") as hidden:
        arrays = {k: hidden[k] for k in hidden.files if k not in new}
    arrays["format"] = np.int64(3)
    np.savez_compressed(tmp_path / "hidden.npz", **arrays)
    old = World.load(tmp_path)
    assert_same_world(old, world, skip=("titles", *new))
    assert all(t.series is None and t.episode is None for t in old.titles)
    assert (old.next_episode == -1).all()
    assert not old.device_mix.any() and not old.device_affinity.any()
    assert (old.device_sensitivity == 1).all()
