"""The whole loop, end to end, over HTTP against real processes.

Seed a world, simulate days of members over the API, retrain on a real Celery worker, and
check that the new version is in production and that a profile's Top Picks, learned from
what it played, serve the member whose plays they were: judged by that member's hidden true
tastes, which only the simulator knows. Runs on the real services (PostgreSQL + Redis), which
CI requires; the loop's first turn runs on the embedded default (SQLite + a folder broker).
"""

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import torch

from recommender import load_model
from simulator.behaviour import Behaviour, BehaviourConfig
from simulator.client import run_traffic
from simulator.world import World
from tests.e2e.stack import Api, Stack, make_world, postgres_database

pytestmark = pytest.mark.e2e

DEMO = ("demo", "demo-password")
# Members visit a few times a day, so a few simulated days give each of them a history a
# personalized model can learn from (and the promotion gate a holdout it can judge on).
# Collaborative filtering needs co-plays, so the first phase is the busy one.
BUSY = BehaviourConfig(activity_scale=12.0)
STEADY = BehaviourConfig(activity_scale=4.0)
# One member at a time: the fact log, and so every model and page, is the same on every run
# (fits are deterministic), so the outcome does not depend on thread timing.
SEQUENTIAL = 1
# How much more than the mean of RANDOM_SEEDS random-weight EASEs (and more than the best of
# them) the probe's Top Picks must be worth to the twin, in standard deviations of the twin's
# true utility over the unplayed titles on offer. A random-weight model still hands the probe
# the twin's picks (overlap 1.00), so the overlap checks alone would pass it; this one does
# not. Measured on one run: EASE +1.28; random weights +0.62, +0.02, -0.16, -0.16, -0.02.
UTILITY_MARGIN = 0.4
RANDOM_SEEDS = 5


def active_members(base_url: str, world) -> list[tuple[int, int, Api, str]]:
    """Simulated adult profiles that have played at least five titles so far, as
    (distance from fifteen distinct titles, platform id, their account's client, world key)."""
    found = []
    for account in json.loads((world / "members.json").read_text())["accounts"]:
        api = Api(base_url, account["username"], account["password"])
        keys = {m["name"]: m["key"] for m in account["members"]}
        for member in api.get("/api/v1/me")["members"]:
            if not member["is_kids"]:
                plays = api.get(f"/api/v1/members/{member['id']}/plays")["plays"]
                distinct = len({p["title"]["id"] for p in plays})
                if distinct >= 5:
                    found.append((abs(distinct - 15), member["id"], api, keys[member["name"]]))
    assert len(found) >= 2, "fewer than two simulated members have played 5 titles yet"
    return sorted(found, key=lambda m: m[:2])


def true_utility(world_dir, member_key: str, at: datetime) -> dict[str, float]:
    """The member's hidden true utility at `at` of each title on offer then, by external id:
    what a title is worth to that member, which only the simulator knows."""
    world = World.load(world_dir)
    member = next(i for i, m in enumerate(world.members) if m.key == member_key)
    utility = Behaviour(world).utilities(member, at=at)
    on_offer = world.available(at)
    return {t.external_id: float(utility[i]) for i, t in enumerate(world.titles) if on_offer[i]}


def replay(api: Api, member_id: int, plays: list[dict], start: datetime) -> None:
    """Post a simulated member's plays as the demo profile `member_id`'s own."""
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "type": "play",
            "member": member_id,
            "title": p["title"]["id"],
            "watched_seconds": p["watched_seconds"],
            "occurred_at": (start + timedelta(minutes=i + 1)).isoformat(),
        }
        for i, p in enumerate(plays)
    ]
    assert api.post("/api/v1/events", {"events": events})["stored"] == len(events)


def overlap(a: list[dict], b: list[dict]) -> float:
    """Jaccard overlap of two lists of titles."""
    ids_a, ids_b = {t["id"] for t in a}, {t["id"] for t in b}
    return len(ids_a & ids_b) / max(len(ids_a | ids_b), 1)


def top_picks(api: Api, member_id: int, at: datetime | None = None) -> list[dict]:
    params = {"at": at.isoformat()} if at else {}
    page = api.get(f"/api/v1/members/{member_id}/homepage", **params)
    row = next(r for r in page["rows"] if r["key"] == "top_picks")
    return [item["title"] for item in row["items"]]


def seeded_world(stack: Stack, tmp_path, *, titles: int, members: int) -> Path:
    """A simulated world's files, and the stack's database migrated and seeded with it."""
    world = tmp_path / "world"
    make_world(world, titles=titles, members=members, seed=3)
    stack.seed(world, demo_password=DEMO[1])
    return world


def loop_clock() -> datetime:
    """The loop's "now": the latest Monday 12:00 UTC at least two hours past. Members' tastes
    depend on the hour and the weekday, so a clock that followed the wall clock would judge a
    different page on every run; this one judges the same hour of the same weekday."""
    real = datetime.now(UTC) - timedelta(hours=2)
    noon = real.replace(hour=12, minute=0, second=0, microsecond=0)
    monday = noon - timedelta(days=noon.weekday())
    return monday if monday <= real else monday - timedelta(days=7)


def _loop(stack: Stack, world) -> None:
    now = loop_clock()
    then = now - timedelta(days=4)
    staff = Api(stack.base_url, *DEMO)

    # Days 1-4 of simulated history, then the first retrain: nothing in production yet.
    report = run_traffic(
        stack.base_url,
        world,
        days=4,
        start=now - timedelta(days=8),
        seed=1,
        behaviour=BUSY,
        concurrency=SEQUENTIAL,
    )
    assert report.plays > 40, report
    first = staff.retrain_and_wait(stack)
    assert first["status"] == "succeeded", first
    assert first["promoted"] is not None

    # The demo account's adult profiles have no history. One, the probe, replays what a
    # simulated member (its twin) played; the other, the control, plays nothing. Under the
    # same new model, the plays, and only they, set the probe's Top Picks apart from the
    # control's, and must move them to the twin's.
    _, twin, twin_api, twin_key = active_members(stack.base_url, world)[0]
    probe, control = [m["id"] for m in staff.get("/api/v1/me")["members"] if not m["is_kids"]][:2]
    plays = twin_api.get(f"/api/v1/members/{twin}/plays")["plays"]
    played = {p["title"]["id"]: p for p in plays}
    replay(staff, probe, list(played.values()), then)

    # Days 5-8, then the second retrain: a candidate that saw the new facts is promoted.
    run_traffic(
        stack.base_url, world, days=4, start=then, seed=2, behaviour=STEADY, concurrency=SEQUENTIAL
    )
    second = staff.retrain_and_wait(stack)
    assert second["status"] == "succeeded", second
    assert second["promoted"] is not None, staff.get("/api/v1/models")
    models = {m["id"]: m for m in staff.get("/api/v1/models")}
    assert models[second["promoted"]]["is_production"] is True
    assert models[first["promoted"]]["is_production"] is False

    page = staff.get(f"/api/v1/members/{probe}/homepage")
    assert page["model_version"]["id"] == second["promoted"] and page["fallback"] is False

    # All three pages at the same moment, just after the replay. The twin's and the probe's
    # leave out the same played titles; the control's are filtered to match.
    at = then + timedelta(hours=1)
    twin_picks = top_picks(twin_api, twin, at=at)
    probe_picks = top_picks(staff, probe, at=at)
    control_picks = [t for t in top_picks(staff, control, at=at) if t["id"] not in played]
    k = min(len(twin_picks), len(probe_picks), len(control_picks))
    assert k >= 5
    toward_twin = overlap(probe_picks[:k], twin_picks[:k])
    without_plays = overlap(control_picks[:k], twin_picks[:k])
    # Overlap shows that the plays drive the picks, not that the picks are good: EASE scores
    # history times weights, so even random weights would hand the probe the twin's picks.
    # The twin's hidden tastes judge them: worth more to the twin than an unplayed title on
    # offer is on average. (Popularity's picks, the control's, are worth more still in this small
    # world, where social proof is part of every member's true utility: reported, not hidden.)
    utility = true_utility(world, twin_key, at)
    played_ext = {p["title"]["external_id"] for p in played.values()}
    unplayed = np.array([u for ext, u in utility.items() if ext not in played_ext])
    probe_worth = np.mean([utility[t["external_id"]] for t in probe_picks[:k]])
    control_worth = np.mean([utility[t["external_id"]] for t in control_picks[:k]])
    lift = (probe_worth - unplayed.mean()) / unplayed.std()
    print(
        f"Top Picks overlap with the twin's: probe {toward_twin:.2f}, control {without_plays:.2f}. "
        f"Worth to the twin (true utility): unplayed titles {unplayed.mean():.2f} "
        f"(sd {unplayed.std():.2f}), probe {probe_worth:.2f} ({lift:+.2f} sd), "
        f"control {control_worth:.2f}"
    )
    # The same judgement of a model that learned nothing: the production EASE with random
    # weights of the same scale, scoring the twin's plays for the same request. It still hands
    # the probe "the twin's picks" (history times weights), but they are worth no more than
    # chance; the served model's must be worth clearly more.
    titles = all_titles(staff)
    history = [(str(p["title"]["id"]), then.timestamp()) for p in played.values()]
    chance = [
        random_weight_lift(
            production_checkpoint(stack), history, titles, utility, played_ext, k, at, seed
        )
        for seed in range(RANDOM_SEEDS)
    ]
    print(f"Random-weight EASE on the same request: {', '.join(f'{c:+.2f}' for c in chance)} sd")
    assert toward_twin >= 0.8, (k, toward_twin, without_plays)
    assert toward_twin >= without_plays + 0.3, (k, toward_twin, without_plays)
    assert lift >= np.mean(chance) + UTILITY_MARGIN, (lift, chance, probe_worth, unplayed.std())
    assert lift > max(chance), (lift, chance)


def all_titles(api: Api) -> dict[int, str]:
    """Every title's platform id -> external id (the world's id), through the public API."""
    found, page = {}, 1
    while True:
        body = api.get("/api/v1/titles", page=page, page_size=500)
        found.update({t["id"]: t["external_id"] for t in body["results"]})
        if not body["next"]:
            return found
        page += 1


def production_checkpoint(stack: Stack) -> Path:
    """The newest checkpoint folder: the second retrain's EASE, which the test has just seen
    promoted (the worker trains EASE only, so every run registers one folder)."""
    folders = sorted(p.parent for p in (stack.workdir / "var" / "models").glob("*/checkpoint.pt"))
    assert folders, "no checkpoint was written"
    return folders[-1]


def random_weight_lift(
    path: Path,
    history: list[tuple[str, float]],
    titles: dict[int, str],
    utility: dict[str, float],
    played_ext: set[str],
    k: int,
    at: datetime,
    seed: int,
) -> float:
    """Lift (as in the test: sd of the twin's utility over unplayed titles on offer) of the
    top k unplayed titles on offer by the checkpoint's EASE with its weight matrix replaced by
    Gaussian noise of the same standard deviation (zero diagonal, as EASE's)."""
    model = load_model(path)
    weights = model.weights.numpy()
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, float(weights[~np.eye(len(weights), dtype=bool)].std()), weights.shape)
    np.fill_diagonal(noise, 0.0)
    model.weights = torch.from_numpy(noise.astype(np.float32))
    scores = model.score(["probe"], at=at.timestamp(), histories=[history])[0]
    external = [titles.get(int(i)) for i in model.item_ids]
    offer = [
        (float(scores[c]), ext)
        for c, ext in enumerate(external)
        if ext in utility and ext not in played_ext
    ]
    picks = [ext for _, ext in sorted(offer, reverse=True)[:k]]
    unplayed = np.array([u for ext, u in utility.items() if ext not in played_ext])
    return float((np.mean([utility[e] for e in picks]) - unplayed.mean()) / unplayed.std())


def loop_stack(tmp_path, **urls) -> Stack:
    stack = Stack(tmp_path, **urls)
    # The loop's personalization is what this test checks, so the worker trains one
    # personalized model, EASE, which scores a member from their plays as of the request
    # (the gate between kinds is tested in tests/platform).
    stack.env["HOMEPAGE_CANDIDATES"] = "ease"
    # And it checks that the second retrain's model serves at once: the gate promotes directly
    # here. The path production takes by default (a candidate that passes the gate serves a
    # canary, which alone can promote it) is tests/e2e/test_rollouts.py's.
    stack.env["HOMEPAGE_PROMOTE_VIA_CANARY"] = "0"
    return stack


def test_the_first_turn_of_the_loop_on_the_embedded_default(tmp_path):
    """The loop's first turn on the embedded default (SQLite and the folder broker), as
    `make demo` runs it: simulated days over the API, a retrain on a real worker through the
    folder broker, and its model in production, serving a member's page. The whole loop, with
    the judgement of what a member's plays taught the model, is the test below: the same code
    on either database, judged where CI runs the real services."""
    stack = loop_stack(tmp_path)
    world = seeded_world(stack, tmp_path, titles=80, members=16)
    with stack.running("web", "worker"):
        now = loop_clock()
        report = run_traffic(
            stack.base_url,
            world,
            days=2,
            start=now - timedelta(days=2),
            seed=1,
            behaviour=STEADY,
            concurrency=SEQUENTIAL,
        )
        assert report.plays > 40, report
        staff = Api(stack.base_url, *DEMO)
        run = staff.retrain_and_wait(stack)
        assert run["status"] == "succeeded" and run["promoted"] is not None, run
        assert "modeling.tasks.retrain" in stack.log("worker")
        member = next(m["id"] for m in staff.get("/api/v1/me")["members"] if not m["is_kids"])
        # The profile plays three titles on offer, then its page is served by the promoted
        # model, ranked by that model's scores for those plays (not by popularity labelled
        # with the model, nor by a model the web process loaded before)
        played = top_picks(staff, member, at=now)[:3]
        start = now - timedelta(minutes=10)
        replay(staff, member, [{"title": t, "watched_seconds": 300} for t in played], start)
        page = staff.get(f"/api/v1/members/{member}/homepage", at=now.isoformat())
        assert page["model_version"]["id"] == run["promoted"] and page["fallback"] is False
        model = load_model(production_checkpoint(stack))
        history = [
            (str(t["id"]), (start + timedelta(minutes=i + 1)).timestamp())
            for i, t in enumerate(played)
        ]
        row = model.score([str(member)], at=now.timestamp(), histories=[history])[0]
        expected = dict(zip(model.item_ids, row.tolist(), strict=True))
        picks = next(r for r in page["rows"] if r["key"] == "top_picks")["items"]
        ranked = [(i["title"]["id"], i["score"]) for i in picks if not i["explored"]]
        assert len(ranked) >= 5, page
        assert not {t for t, _ in ranked} & {t["id"] for t in played}, (ranked, played)
        scores = [s for _, s in ranked]
        # (a title the model never saw scores 0: EASE gives it a zero row and column)
        assert scores == pytest.approx(
            [expected.get(str(t), 0.0) for t, _ in ranked], rel=1e-4, abs=1e-6
        ), ranked
        assert scores == sorted(scores, reverse=True), ranked


@pytest.mark.services
def test_loop_on_postgresql_and_redis(tmp_path, real_services):
    database_url, broker_url = real_services
    with postgres_database(database_url) as url:
        stack = loop_stack(tmp_path, database_url=url, broker_url=broker_url)
        world = seeded_world(stack, tmp_path, titles=160, members=36)
        with stack.running("web", "worker"):
            _loop(stack, world)
