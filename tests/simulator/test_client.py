"""The client's pure parts; its HTTP layer is exercised against the real server in tests/e2e."""

import json
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

from simulator.behaviour import Behaviour, BehaviourConfig, Population, VisitOutcome
from simulator.client import (
    MAX_BATCH,
    DayCounts,
    TrafficReport,
    WorldMismatchError,
    backoff_delays,
    build_events,
    chunked,
    main,
    member_ids,
    parse_homepage,
    run_traffic,
    title_ids,
    visit_times,
)
from simulator.world import parse_time

AT = datetime(2026, 11, 20, 19, 30, tzinfo=UTC)


def item(position: int, title_id: int) -> dict:
    return {
        "position": position,
        "propensity": 1.0,
        "score": None,
        "title": {"id": title_id, "external_id": f"t{title_id:05d}"},
    }


HOMEPAGE = {
    "page_id": "2b0c5c6e-0000-4000-8000-000000000001",
    "member": 7,
    "served_at": "2026-11-20T19:30:00Z",
    "model_version": None,
    "fallback": True,
    "fallback_reason": "no model in production",
    "rows": [
        {"key": "top_picks", "items": [item(1, 12), item(0, 11), item(2, 99)]},
        {"key": "trending_now", "items": [item(0, 13)]},
    ],
}
WORLD_INDEX = {11: 0, 12: 1, 13: 2}  # platform id -> world title index; 99 is unknown


def test_backoff_schedule():
    assert backoff_delays(4) == [0.5, 1.0, 2.0]
    assert backoff_delays(1) == []
    assert backoff_delays(7, base=1, factor=3, cap=10) == [1, 3, 9, 10, 10, 10]
    with pytest.raises(ValueError, match="got 0"):
        backoff_delays(0)


def test_member_ids_by_profile_name(world):
    account = next(a for a in world.accounts if len(a.members) >= 2)
    me = {
        "id": 3,
        "username": account.username,
        "members": [
            {"id": 100 + i, "name": m.name, "is_kids": m.is_kids}
            for i, m in reversed(list(enumerate(account.members)))
        ],
    }
    assert member_ids(me, account) == {m.key: 100 + i for i, m in enumerate(account.members)}
    me["members"] = me["members"][1:]
    with pytest.raises(WorldMismatchError, match=repr(account.members[-1].name)):
        member_ids(me, account)


def test_title_ids():
    pages = [{"id": 5, "external_id": "t00001"}, {"id": 9, "external_id": "t00002"}]
    assert title_ids(pages) == {"t00001": 5, "t00002": 9}


def test_parse_homepage_lays_rows_out_as_a_grid():
    page = parse_homepage(HOMEPAGE, WORLD_INDEX)
    assert page.page_id == HOMEPAGE["page_id"] and page.fallback
    assert page.row_keys == ("top_picks", "trending_now")
    np.testing.assert_array_equal(page.grid, [[0, 1, -1], [2, -1, -1]])
    np.testing.assert_array_equal(page.title_ids, [[11, 12, 99], [13, -1, -1]])
    np.testing.assert_array_equal(page.positions, [[0, 1, 2], [0, -1, -1]])


def test_parse_empty_homepage():
    page = parse_homepage({**HOMEPAGE, "rows": []}, WORLD_INDEX)
    assert page.grid.shape == (0, 0)


def outcome(**kwargs) -> VisitOutcome:
    defaults = {
        "examined": ((0, 0), (0, 1), (1, 0)),
        "played": (0, 1),
        "title": 1,
        "utility": 4.5,
        "watched_fraction": 0.5,
        "watched_seconds": 3000,
        "thumbs": (((0, 1), "thumb_up"), ((1, 0), "thumb_down")),
    }
    return VisitOutcome(**{**defaults, **kwargs})


def test_build_events_batch():
    page = parse_homepage(HOMEPAGE, WORLD_INDEX)
    events = build_events(outcome(), page, member_id=7, visit_at=AT, now=AT + timedelta(days=1))
    assert [e["type"] for e in events] == [
        "impression_seen",
        "impression_seen",
        "impression_seen",
        "play",
        "thumb_up",
        "thumb_down",
    ]
    assert [e["title"] for e in events] == [11, 12, 13, 12, 12, 13]
    assert [e["row_key"] for e in events] == ["top_picks"] * 2 + ["trending_now"] + [
        "top_picks",
        "top_picks",
        "trending_now",
    ]
    assert [e["position"] for e in events] == [0, 1, 0, 1, 1, 0]
    assert all(e["member"] == 7 and e["page_id"] == HOMEPAGE["page_id"] for e in events)
    assert len({e["event_id"] for e in events}) == 6
    assert all(uuid.UUID(e["event_id"]).version == 4 for e in events)
    play = events[3]
    assert play["watched_seconds"] == 3000
    times = [parse_time(e["occurred_at"]) for e in events]
    assert times[0] == AT and times[:4] == sorted(times[:4])
    assert times[4] == times[3] + timedelta(seconds=3000)  # thumb up when the play ends
    assert all(e["occurred_at"].endswith("Z") for e in events)
    assert "watched_seconds" not in events[0]
    assert all("device" not in e for e in events)  # no device named: none sent
    on_tv = build_events(
        outcome(), page, member_id=7, visit_at=AT, now=AT + timedelta(days=1), device="tv"
    )
    assert [e["device"] for e in on_tv] == ["tv"] * 6


def test_build_events_never_in_the_future():
    page = parse_homepage(HOMEPAGE, WORLD_INDEX)
    now = AT + timedelta(seconds=3)
    events = build_events(outcome(), page, member_id=7, visit_at=AT, now=now)
    assert max(parse_time(e["occurred_at"]) for e in events) == now


def test_build_events_for_a_visit_without_play():
    page = parse_homepage(HOMEPAGE, WORLD_INDEX)
    quiet = outcome(
        examined=((0, 0),),
        played=None,
        title=None,
        utility=None,
        watched_fraction=0.0,
        watched_seconds=0,
        thumbs=(),
    )
    events = build_events(quiet, page, member_id=7, visit_at=AT, now=AT)
    assert [e["type"] for e in events] == ["impression_seen"]


def test_behaviour_outcome_to_events_end_to_end(world):
    """The client's path through behaviour: grid in, events out, only known titles examined."""
    behaviour = Behaviour(world, BehaviourConfig())
    page = parse_homepage(HOMEPAGE, WORLD_INDEX)
    rng = np.random.default_rng(0)
    for _ in range(50):
        o = behaviour.visit(0, page.grid, rng)
        events = build_events(o, page, member_id=7, visit_at=AT, now=AT)
        assert all(e["title"] in WORLD_INDEX for e in events)
        assert sum(e["type"] == "impression_seen" for e in events) == len(o.examined)


def test_chunked():
    batches = list(chunked(list(range(1001))))
    assert [len(b) for b in batches] == [MAX_BATCH, MAX_BATCH, 1]
    assert list(chunked([])) == []


def test_visit_times(world):
    behaviour = Behaviour(world)
    start = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    end = start + timedelta(days=60)
    member = int(np.argmax(world.activity))
    times = visit_times(behaviour, member, start, end, np.random.default_rng(1))
    assert times == sorted(times) and all(start <= t < end for t in times)
    assert all(t.microsecond == 0 and t.tzinfo is not None for t in times)
    weekend_days = sum((start + timedelta(days=d)).weekday() >= 5 for d in range(60))
    per_week = (60 - weekend_days) + weekend_days * world.weekend_factor[member]
    assert len(times) == pytest.approx(per_week * world.activity[member], rel=0.3)
    assert times == visit_times(behaviour, member, start, end, np.random.default_rng(1))
    assert times != visit_times(behaviour, member, start, end, np.random.default_rng(2))
    hours = np.array([t.hour + t.minute / 60 for t in times])
    peak = world.peak_hour[member]
    distance = np.minimum(np.abs(hours - peak), 24 - np.abs(hours - peak))
    assert np.median(distance) < 2 * world.hour_spread[member]


def test_visit_times_partial_window(world):
    behaviour = Behaviour(world, BehaviourConfig(activity_scale=200))
    peak = timedelta(hours=float(world.peak_hour[0]))
    start = datetime(2026, 11, 1, tzinfo=UTC) + peak - timedelta(hours=1)
    end = start + timedelta(hours=2)
    times = visit_times(behaviour, 0, start, end, np.random.default_rng(0))
    assert times and all(start <= t < end for t in times)


def test_traffic_report_merge_and_summary():
    a = TrafficReport(
        visits=3,
        plays=2,
        events_posted=10,
        watched_seconds=7200,
        members=2,
        per_day={"2026-11-02": DayCounts(3, 2, 10)},
    )
    b = TrafficReport(
        visits=1,
        plays=0,
        events_posted=2,
        members=2,
        per_day={"2026-11-01": DayCounts(1, 0, 2), "2026-11-02": DayCounts(0, 0, 0)},
    )
    a.merge(b)
    assert (a.visits, a.plays, a.events_posted) == (4, 2, 12)
    assert list(a.per_day) == ["2026-11-01", "2026-11-02"]
    assert a.per_day["2026-11-02"] == DayCounts(3, 2, 10)
    assert a.summary().startswith("4 visits by 2 members over 2 days, 2 plays (50%, 0 by search)")
    assert "2.0 h watched" in a.summary()


def test_run_traffic_refuses_future_periods_before_any_request(world_dir):
    # Port 9 (discard) is never contacted: validation comes first.
    start = datetime.now(UTC)
    with pytest.raises(ValueError, match="ends after now"):
        run_traffic("http://127.0.0.1:9", world_dir, days=1, start=start)
    with pytest.raises(ValueError, match="days must be positive, got 0"):
        run_traffic("http://127.0.0.1:9", world_dir, days=0)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--days", "0"], "'0'"),
        (["--days", "soon"], "'soon'"),
        (["--days", "1", "--members", "0"], "'0'"),
        (["--days", "1", "--concurrency", "two"], "'two'"),
        (["--days", "1", "--seed", "-4"], "'-4'"),
        (["--days", "1", "--start", "last week"], "'last week'"),
        (["--days", "1", "--start", "2999-01-01T00:00:00Z"], "2999-01-01T00:00:00Z"),
        (["--live", "--days", "2"], "2"),
        (["--days", "1", "--duration", "5"], "5"),
        (["--live", "--pause", "-1"], "'-1'"),
        ([], "--days"),
    ],
)
def test_cli_rejects_bad_arguments(world_dir, capsys, args, named):
    with pytest.raises(SystemExit) as exit_info:
        main(["--base-url", "http://127.0.0.1:9", "--world", str(world_dir), *args])
    assert exit_info.value.code == 2
    assert named in capsys.readouterr().err


def test_cli_rejects_bad_url_and_world(world_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--base-url", "localhost:8000", "--world", str(world_dir), "--days", "1"])
    assert exit_info.value.code == 2 and "'localhost:8000'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["--base-url", "http://x", "--world", str(tmp_path / "none"), "--days", "1"])
    assert exit_info.value.code == 2 and "none" in capsys.readouterr().err


def test_build_events_adds_the_search_play_after_the_page():
    page = parse_homepage(HOMEPAGE, WORLD_INDEX)
    searched = outcome(
        examined=((0, 0),),
        played=None,
        title=2,
        utility=4.0,
        watched_seconds=1800,
        thumbs=(),
        searched=True,
    )
    events = build_events(
        searched, page, member_id=7, visit_at=AT, now=AT + timedelta(days=1), search=(13, "Echo")
    )
    assert [e["type"] for e in events] == ["impression_seen", "search_play"]
    play = events[-1]
    assert (play["title"], play["query"], play["watched_seconds"]) == (13, "Echo", 1800)
    assert "page_id" not in play and parse_time(play["occurred_at"]) > AT
    # Without a search result (the platform did not find it) there is no play to post.
    events = build_events(searched, page, member_id=7, visit_at=AT, now=AT)
    assert [e["type"] for e in events] == ["impression_seen"]


def test_client_behaviour_stops_a_churned_member(world):
    behaviour = Behaviour(world, BehaviourConfig())
    behaviour.population.churned[0] = True
    assert behaviour.churned(0)
    with pytest.raises(ValueError, match="churned"):
        behaviour.visit(0, np.arange(40).reshape(4, 10), np.random.default_rng(0))


class RecordingPlatform:
    """A stand-in for the platform's API on a local port that records every request: it
    answers just enough (login, profiles, catalogue, homepages of the first titles, events,
    search) for :class:`simulator.client.Traffic` to run, so the test sees what the client
    sends. The real platform is exercised in tests/e2e."""

    def __init__(self, world) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self.devices: list[tuple[int, str, str | None]] = []
        """(member id, "page" or an event type, the device it named), in arrival order."""
        platform = self
        profiles = {
            a.username: [
                {"id": 100 * k + j, "name": m.name, "is_kids": m.is_kids}
                for j, m in enumerate(a.members)
            ]
            for k, a in enumerate(world.accounts)
        }
        titles = [{"id": i + 1, "external_id": t.external_id} for i, t in enumerate(world.titles)]
        shelf = [item(position, position + 1) for position in range(10)]

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def answer(self, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                platform.requests.append(("GET", url.path, parse_qs(url.query)))
                token = self.headers.get("Authorization", "").removeprefix("Token ")
                if url.path == "/api/v1/me":
                    self.answer({"id": 1, "username": token, "members": profiles[token]})
                elif url.path == "/api/v1/titles":
                    self.answer({"results": titles, "next": None})
                elif url.path.endswith("/homepage"):
                    member = int(url.path.split("/")[4])
                    platform.devices.append((member, "page", parse_qs(url.query)["device"][0]))
                    self.answer({**HOMEPAGE, "rows": [{"key": "top_picks", "items": shelf}]})
                else:
                    self.answer({"results": []})

            def do_POST(self) -> None:
                url = urlparse(self.path)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                platform.requests.append(("POST", url.path, {}))
                if url.path == "/api/v1/auth/token":
                    self.answer({"token": body["username"]})
                else:
                    for event in body.get("events", []):
                        platform.devices.append(
                            (event["member"], event["type"], event.get("device"))
                        )
                    self.answer({"stored": len(body["events"]), "duplicates": 0})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "RecordingPlatform":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_each_homepage_request_carries_the_visits_device(world):
    """``GET /members/{id}/homepage?at=...&device=<name>``: every request names a device, the
    report counts what was sent, and what was sent follows each member's device mix at the
    visit's hour (phones in the morning, the TV in the evening)."""
    from simulator.client import Traffic
    from simulator.world import DEVICES

    start = datetime(2026, 11, 1, tzinfo=UTC)
    with RecordingPlatform(world) as platform:
        traffic = Traffic(
            platform.url,
            world,
            behaviour=BehaviourConfig(activity_scale=6.0),
            clock=lambda: start + timedelta(days=30),
        )
        traffic.connect()
        report = traffic.run(start, start + timedelta(days=6), seed=0)
    pages = [(path, query) for _, path, query in platform.requests if path.endswith("/homepage")]
    assert len(pages) == report.visits > 500
    assert all(len(q["device"]) == 1 and q["device"][0] in DEVICES for _, q in pages)
    assert dict(Counter(q["device"][0] for _, q in pages)) == report.devices
    index = {
        100 * k + j: world.members.index(m)
        for k, account in enumerate(world.accounts)
        for j, m in enumerate(account.members)
    }
    who = np.array([index[int(path.split("/")[4])] for path, _ in pages])
    at = np.array([parse_time(q["at"][0]).timestamp() for _, q in pages])
    sent = np.array([[q["device"][0] == d for d in DEVICES] for _, q in pages])  # (V, devices)
    likely = Population(world).device_probabilities(who, at)  # (V, devices)
    np.testing.assert_allclose(sent.mean(axis=0), likely.mean(axis=0), atol=0.04)
    # The hour matters: the devices sent are far likelier under each visit's own hour than
    # under the hour twelve hours away (a client that ignored the clock would not be).
    shifted = Population(world).device_probabilities(who, at + 12 * 3600)
    own, other = (float(np.log(p[sent]).sum()) for p in (likely, shifted))
    assert own > other + 50
    # Every event of a visit names the device its page was requested from.
    visit_device: dict[int, str] = {}
    events = 0
    for member, kind, device in platform.devices:
        if kind == "page":
            visit_device[member] = device
        else:
            events += 1
            assert device == visit_device[member], (member, kind, device)
    assert events > 500
