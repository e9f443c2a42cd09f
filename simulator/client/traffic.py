"""Drive simulated members through the platform's public HTTP API, like people in a browser.

The client sees only what the API returns and answers only through the API (docs/api.md):

1. log each account in (``POST /api/v1/auth/token``), find its profiles' member ids
   (``GET /api/v1/me``, by profile name) and the platform id of every title
   (``GET /api/v1/titles``, by ``external_id``);
2. for each simulated visit, fetch the homepage at the simulated time
   (``GET /api/v1/members/{id}/homepage?at=...``), let :mod:`simulator.behaviour` decide what
   the member examines, plays and rates, and post that as one batch (``POST /api/v1/events``).
   A member whom nothing on the page tempted may search for the title they want
   (``GET /api/v1/search?q=<its name>&member=...``) and play it (``search_play``) if the
   platform finds it. A member who churns stops visiting for the rest of the run.

Members run concurrently; each member's visits run in time order, and all timestamps are
simulated (never later than the real clock). Everything except :class:`Api` and the
orchestration is a pure function, so the HTTP layer stays thin.

Usage::

    python -m simulator.client --base-url http://localhost:8000 --world var/world --days 7
    python -m simulator.client --base-url http://web:8000 --world var/world --live --pause 30
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import numpy as np
import requests
from tqdm import tqdm

from simulator.arguments import iso_time, number
from simulator.behaviour import Behaviour, BehaviourConfig, VisitOutcome
from simulator.world import Account, World, format_time

API_PREFIX = "/api/v1"
MAX_BATCH = 500
"""Most events the API accepts in one POST."""
DEFAULT_TRIES = 4
"""Attempts per request on a 5xx or a connection error (so three retries)."""
EXAMINE_SECONDS = 2
"""Simulated seconds a member spends looking at one item before the next."""
SEARCH_SECONDS = 20
"""Simulated seconds from leaving the page to playing what search found."""

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class ClientError(Exception):
    """The platform refused a request (4xx) or stayed unreachable/failing after retries.

    ``status`` is the HTTP status, or None when no response came back at all.
    """

    def __init__(self, status: int | None, message: str, *, method: str = "", url: str = ""):
        self.status = status
        self.message = message
        self.method = method
        self.url = url
        where = f"{method} {url} " if method else ""
        super().__init__(f"{where}-> {status if status is not None else 'no response'}: {message}")


class WorldMismatchError(Exception):
    """The platform's data does not match the world (e.g. it was seeded from another world)."""


@dataclass
class DayCounts:
    """Activity on one simulated (UTC) day."""

    visits: int = 0
    plays: int = 0
    events: int = 0


@dataclass
class TrafficReport:
    """What a traffic run did; the hidden-side numbers (watch time) are the "online" outcome."""

    visits: int = 0
    plays: int = 0
    thumbs: int = 0
    events_posted: int = 0
    """Events accepted by the platform (stored or recognised as duplicates)."""
    duplicates: int = 0
    watched_seconds: int = 0
    fallback_pages: int = 0
    """Homepages the platform served from its fallback (no usable model)."""
    members: int = 0
    per_day: dict[str, DayCounts] = field(default_factory=dict)
    """Counts per simulated UTC day, keyed "YYYY-MM-DD"."""

    searches: int = 0
    """Visits on which the member searched (nothing on the page appealed)."""
    search_plays: int = 0
    """Plays of titles found by search (counted in ``plays`` too)."""
    churned: int = 0
    """Members who left the service during the run."""

    def merge(self, other: TrafficReport) -> None:
        for name in (
            "visits",
            "plays",
            "searches",
            "search_plays",
            "churned",
            "thumbs",
            "events_posted",
            "duplicates",
            "watched_seconds",
            "fallback_pages",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.members = max(self.members, other.members)
        for day, counts in other.per_day.items():
            mine = self.per_day.setdefault(day, DayCounts())
            mine.visits += counts.visits
            mine.plays += counts.plays
            mine.events += counts.events
        self.per_day = dict(sorted(self.per_day.items()))

    def summary(self) -> str:
        rate = self.plays / self.visits if self.visits else 0.0
        return (
            f"{self.visits} visits by {self.members} members over {len(self.per_day)} days, "
            f"{self.plays} plays ({rate:.0%}, {self.search_plays} by search), "
            f"{self.thumbs} thumbs, {self.churned} members churned, "
            f"{self.events_posted} events posted ({self.duplicates} duplicates), "
            f"{self.watched_seconds / 3600:.1f} h watched, {self.fallback_pages} fallback pages"
        )


@dataclass(frozen=True)
class PageView:
    """A served homepage as the member sees it, laid out as a grid for the behaviour code."""

    page_id: str
    grid: np.ndarray
    """(rows, max row length) world title indices in display order; -1 = empty or unknown."""
    title_ids: np.ndarray
    """Same shape: platform title ids; -1 = empty."""
    positions: np.ndarray
    """Same shape: the platform's ``position`` of each item; -1 = empty."""
    row_keys: tuple[str, ...]
    fallback: bool


# Pure parts


def backoff_delays(
    tries: int = DEFAULT_TRIES, *, base: float = 0.5, factor: float = 2.0, cap: float = 8.0
) -> list[float]:
    """Seconds to wait before each retry: ``tries - 1`` exponentially growing, capped delays."""
    if tries < 1:
        raise ValueError(f"tries must be at least 1, got {tries}")
    return [min(cap, base * factor**k) for k in range(tries - 1)]


def error_message(response: requests.Response) -> str:
    """The server's own words: DRF's ``detail`` or ``errors`` if JSON, else the body's start."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:500].strip() or response.reason or ""
    if isinstance(body, dict) and "detail" in body and len(body) == 1:
        return str(body["detail"])
    return str(body)[:2000]


def member_ids(me: dict[str, Any], account: Account) -> dict[str, int]:
    """Map each profile of ``account`` (by key) to its platform member id, matching by name."""
    by_name = {m["name"]: int(m["id"]) for m in me.get("members", [])}
    out, missing = {}, []
    for member in account.members:
        if member.name in by_name:
            out[member.key] = by_name[member.name]
        else:
            missing.append(member.name)
    if missing:
        raise WorldMismatchError(
            f"account {account.username!r} has no profile named {', '.join(map(repr, missing))} "
            f"on the platform (it has {sorted(by_name)}); was it seeded from this world's "
            "members.json?"
        )
    return out


def title_ids(results: Iterable[dict[str, Any]]) -> dict[str, int]:
    """external_id -> platform title id, from the ``results`` of ``GET /api/v1/titles`` pages."""
    return {t["external_id"]: int(t["id"]) for t in results}


def parse_homepage(payload: dict[str, Any], world_index: dict[int, int]) -> PageView:
    """Lay a homepage response out as a grid of world title indices.

    ``world_index`` maps platform title id -> world title index. A title the world does not
    know (added to the platform by someone else) becomes -1: the member ignores it.
    """
    rows = payload.get("rows", [])
    width = max((len(r["items"]) for r in rows), default=0)
    grid = np.full((len(rows), width), -1, dtype=np.int64)
    ids = np.full_like(grid, -1)
    positions = np.full_like(grid, -1)
    for r, row in enumerate(rows):
        for c, item in enumerate(sorted(row["items"], key=lambda i: i["position"])):
            platform_id = int(item["title"]["id"])
            grid[r, c] = world_index.get(platform_id, -1)
            ids[r, c] = platform_id
            positions[r, c] = int(item["position"])
    return PageView(
        page_id=str(payload["page_id"]),
        grid=grid,
        title_ids=ids,
        positions=positions,
        row_keys=tuple(str(row["key"]) for row in rows),
        fallback=bool(payload.get("fallback", False)),
    )


def build_events(
    outcome: VisitOutcome,
    page: PageView,
    *,
    member_id: int,
    visit_at: datetime,
    now: datetime,
    search: tuple[int, str] | None = None,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> list[dict[str, Any]]:
    """The event batch of one visit, in the order things happened.

    Examined items become ``impression_seen`` a few simulated seconds apart; a play follows the
    last look; a thumb up comes when the play ends, a thumb down right after the look. Times are
    clamped to ``now`` so no event claims to be in the future. ``search`` (platform title id,
    query) adds the ``search_play`` of a title the member found by search after the page.
    """

    def event(kind: str, slot: tuple[int, int], at: datetime, **extra: Any) -> dict[str, Any]:
        return {
            "event_id": new_id(),
            "type": kind,
            "member": member_id,
            "title": int(page.title_ids[slot]),
            "occurred_at": format_time(min(at, now)),
            "page_id": page.page_id,
            "row_key": page.row_keys[slot[0]],
            "position": int(page.positions[slot]),
            **extra,
        }

    seen_at = {
        slot: visit_at + timedelta(seconds=EXAMINE_SECONDS * k)
        for k, slot in enumerate(outcome.examined)
    }
    events = [event("impression_seen", slot, at) for slot, at in seen_at.items()]
    play_at = visit_at + timedelta(seconds=EXAMINE_SECONDS * len(outcome.examined))
    if outcome.played is not None:
        events.append(
            event("play", outcome.played, play_at, watched_seconds=outcome.watched_seconds)
        )
    if search is not None and outcome.searched and outcome.title is not None:
        title_id, query = search
        events.append(
            {
                "event_id": new_id(),
                "type": "search_play",
                "member": member_id,
                "title": int(title_id),
                "occurred_at": format_time(min(play_at + timedelta(seconds=SEARCH_SECONDS), now)),
                "watched_seconds": outcome.watched_seconds,
                "query": query,
            }
        )
    for slot, kind in outcome.thumbs:
        if kind == "thumb_up":
            at = play_at + timedelta(seconds=outcome.watched_seconds)
        else:
            at = seen_at[slot] + timedelta(seconds=1)
        events.append(event(kind, slot, at))
    return events


def chunked(items: list[Any], size: int = MAX_BATCH) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def visit_times(
    behaviour: Behaviour,
    member: int,
    start: datetime,
    end: datetime,
    rng: np.random.Generator,
) -> list[datetime]:
    """Simulated visit times of ``member`` in ``[start, end)``, sorted, whole seconds, UTC.

    Each UTC day touching the window gets its visit hours from the member's habit; the
    ones outside the window are dropped.
    """
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    out: list[datetime] = []
    day = datetime(start.year, start.month, start.day, tzinfo=UTC)
    while day < end:
        for hour in behaviour.day_visit_hours(member, rng, weekday=day.weekday()):
            t = (day + timedelta(hours=float(hour))).replace(microsecond=0)
            if start <= t < end:
                out.append(t)
        day += timedelta(days=1)
    return out


# HTTP layer


class Api:
    """One account's view of the API: a requests session with its token, retrying politely.

    5xx answers and connection errors are retried after :func:`backoff_delays`; posting
    events again is safe because every event carries its own id. A 4xx raises
    :class:`ClientError` at once: retrying would not change the answer.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        tries: int = DEFAULT_TRIES,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.tries = tries
        self.timeout = timeout
        self.sleep = sleep
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Token {token}"

    def clone(self) -> Api:
        """Same account on a fresh session, for another thread (sessions are not thread-safe)."""
        return Api(
            self.base_url,
            token=self.token,
            tries=self.tries,
            timeout=self.timeout,
            sleep=self.sleep,
        )

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        problem, status = "", None
        for delay in [0.0, *backoff_delays(self.tries)]:
            if delay:
                self.sleep(delay)
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem, status = f"{type(exc).__name__}: {exc}", None
                continue
            if response.status_code >= 500:
                problem, status = error_message(response), response.status_code
                continue
            if response.status_code >= 400:
                raise ClientError(
                    response.status_code, error_message(response), method=method, url=url
                )
            return response.json() if response.content else None
        raise ClientError(
            status, f"gave up after {self.tries} tries: {problem}", method=method, url=url
        )

    def login(self, username: str, password: str) -> None:
        body = self.request(
            "POST", f"{API_PREFIX}/auth/token", json={"username": username, "password": password}
        )
        self.token = body["token"]
        self.session.headers["Authorization"] = f"Token {self.token}"

    def me(self) -> dict[str, Any]:
        return self.request("GET", f"{API_PREFIX}/me")

    def titles(self, page_size: int = 100) -> Iterator[dict[str, Any]]:
        url: str | None = f"{API_PREFIX}/titles"
        params: dict[str, Any] | None = {"page_size": page_size}
        seen: set[str] = set()
        while url and url not in seen:
            seen.add(url)
            body = self.request("GET", url, params=params)
            yield from body["results"]
            url, params = body.get("next"), None
            if url and not url.startswith(("http://", "https://")):
                url = urljoin(self.base_url + "/", url)

    def homepage(self, member_id: int, at: datetime) -> dict[str, Any]:
        return self.request(
            "GET", f"{API_PREFIX}/members/{member_id}/homepage", params={"at": format_time(at)}
        )

    def search(self, query: str, member_id: int) -> dict[str, Any]:
        return self.request(
            "GET", f"{API_PREFIX}/search", params={"q": query[:200], "member": member_id}
        )

    def post_events(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        return self.request("POST", f"{API_PREFIX}/events", json={"events": events})


# Orchestration


class Traffic:
    """Simulated members connected to one platform, ready to run rounds of visits.

    :meth:`connect` once (log in, map ids), then :meth:`run` any number of time windows;
    the :class:`Behaviour` persists across rounds, which is where member state will live.
    """

    def __init__(
        self,
        base_url: str,
        world: World,
        *,
        behaviour: BehaviourConfig | None = None,
        max_members: int | None = None,
        concurrency: int = 4,
        tries: int = DEFAULT_TRIES,
        clock: Clock = utc_now,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if max_members is not None and max_members < 1:
            raise ValueError(f"max_members must be at least 1, got {max_members}")
        self.base_url = base_url
        self.world = world
        self.behaviour = Behaviour(world, behaviour)
        self.members = list(range(world.n_members))[:max_members]
        self.concurrency = concurrency
        self.tries = tries
        self.clock = clock
        self._apis: dict[str, Api] = {}
        self._platform_member: dict[int, int] = {}
        self._world_index: dict[int, int] = {}
        self._platform_title: dict[int, int] = {}

    def connect(self) -> None:
        """Log the needed accounts in and map profiles and titles to platform ids."""
        keys = {m.key: i for i, m in enumerate(self.world.members)}
        wanted = {self.world.members[i].username for i in self.members}
        for account in self.world.accounts:
            if account.username not in wanted:
                continue
            api = Api(self.base_url, tries=self.tries)
            api.login(account.username, account.password)
            self._apis[account.username] = api
            for key, platform_id in member_ids(api.me(), account).items():
                self._platform_member[keys[key]] = platform_id
        first = next(iter(self._apis.values()))
        platform_titles = title_ids(first.titles())
        world_ids = self.world.title_index()
        self._world_index = {
            pid: world_ids[ext] for ext, pid in platform_titles.items() if ext in world_ids
        }
        self._platform_title = {index: pid for pid, index in self._world_index.items()}
        if not self._world_index:
            raise WorldMismatchError(
                "none of the platform's titles has an external_id of this world; "
                "was it seeded from this world's catalog.json?"
            )

    def run(
        self,
        start: datetime,
        end: datetime,
        *,
        seed: int = 0,
        round_index: int = 0,
        progress: bool = False,
    ) -> TrafficReport:
        """Simulate every member's visits in ``[start, end)``; raises the first error, if any.

        Randomness per member comes from ``(seed, round_index, member)``, so a run does not
        depend on thread scheduling.
        """
        if not self._apis:
            raise RuntimeError("call connect() before run()")
        now = self.clock()
        if end > now:
            raise ValueError(
                f"the simulated period ends at {format_time(end)}, after now "
                f"({format_time(now)}); the platform refuses times in the future"
            )
        plans = []
        for member in self.members:
            rng = np.random.default_rng([seed, round_index, member])
            plans.append((member, visit_times(self.behaviour, member, start, end, rng), rng))
        stop = threading.Event()
        lock = threading.Lock()
        total = TrafficReport(members=len(self.members))
        errors: list[BaseException] = []
        bar = tqdm(total=sum(len(t) for _, t, _ in plans), disable=not progress, unit="visit")

        def work(member: int, times: list[datetime], rng: np.random.Generator) -> None:
            try:
                report = self._run_member(member, times, rng, stop, bar, lock)
            except BaseException as exc:
                stop.set()
                with lock:
                    errors.append(exc)
                return
            with lock:
                total.merge(report)

        pool = ThreadPoolExecutor(max_workers=self.concurrency)
        try:
            for future in [pool.submit(work, *plan) for plan in plans]:
                future.result()
        except KeyboardInterrupt:
            stop.set()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            bar.close()
        if errors:
            raise errors[0]
        return total

    def _run_member(
        self,
        member: int,
        times: list[datetime],
        rng: np.random.Generator,
        stop: threading.Event,
        bar: tqdm,
        lock: threading.Lock,
    ) -> TrafficReport:
        report = TrafficReport()
        if not times:
            return report
        api = self._apis[self.world.members[member].username].clone()
        member_id = self._platform_member[member]
        for at in times:
            if stop.is_set() or self.behaviour.churned(member):
                break
            page = parse_homepage(api.homepage(member_id, at), self._world_index)
            outcome = self.behaviour.visit(member, page.grid, rng, at=at, row_keys=page.row_keys)
            search = None
            if outcome.searched:
                report.searches += 1
                if outcome.title is not None:
                    search = self._search(api, member_id, outcome.title)
                    if search is not None:
                        report.search_plays += 1
            events = build_events(
                outcome, page, member_id=member_id, visit_at=at, now=self.clock(), search=search
            )
            for batch in chunked(events):
                answer = api.post_events(batch) or {}
                report.events_posted += int(answer.get("stored", 0)) + int(
                    answer.get("duplicates", 0)
                )
                report.duplicates += int(answer.get("duplicates", 0))
            day = report.per_day.setdefault(at.date().isoformat(), DayCounts())
            day.visits += 1
            day.events += len(events)
            report.visits += 1
            report.fallback_pages += page.fallback
            report.thumbs += len(outcome.thumbs)
            if outcome.played is not None or search is not None:
                day.plays += 1
                report.plays += 1
                report.watched_seconds += outcome.watched_seconds
            report.churned += outcome.churned
            with lock:
                bar.update(1)
        return report

    def _search(self, api: Api, member_id: int, title: int) -> tuple[int, str] | None:
        """Search the platform for world title ``title`` by its name, as a person would type
        it; (platform id, query) if the results hold it, else None (search failed)."""
        query = self.world.titles[title].name
        wanted = self._platform_title.get(title)
        results = api.search(query, member_id).get("results", [])
        if wanted is None or all(int(r["id"]) != wanted for r in results):
            return None
        return wanted, query


def run_traffic(
    base_url: str,
    world_dir: str | Path,
    *,
    days: float,
    start: datetime | None = None,
    seed: int = 0,
    max_members: int | None = None,
    concurrency: int = 4,
    progress: bool = False,
    behaviour: BehaviourConfig | None = None,
) -> TrafficReport:
    """Simulate ``days`` days of the world's members using the platform at ``base_url``.

    The period starts at ``start`` (default: ``days`` before now, so the history ends now)
    and must not end in the future. Raises :class:`ClientError` if the platform refuses a
    request or stays unreachable, :class:`WorldMismatchError` if it was seeded differently.
    """
    if not days > 0:
        raise ValueError(f"days must be positive, got {days}")
    world = World.load(world_dir)
    traffic = Traffic(
        base_url, world, behaviour=behaviour, max_members=max_members, concurrency=concurrency
    )
    now = utc_now()
    if start is None:
        start = now - timedelta(days=days)
    elif start.tzinfo is None:
        start = start.replace(tzinfo=UTC)  # naive means UTC, as everywhere in the simulator
    start = start.astimezone(UTC)
    end = start + timedelta(days=days)
    if end > now:
        raise ValueError(
            f"the simulated period {format_time(start)} + {days} days ends after now "
            f"({format_time(now)}); the platform refuses times in the future"
        )
    traffic.connect()
    return traffic.run(start, end, seed=seed, progress=progress)


def run_live(
    base_url: str,
    world_dir: str | Path,
    *,
    duration_s: float | None,
    pause_s: float,
    seed: int = 0,
    max_members: int | None = None,
    concurrency: int = 4,
    behaviour: BehaviourConfig | None = None,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> TrafficReport:
    """Keep traffic flowing at real time: a round every ``pause_s`` seconds until stopped.

    Each round simulates the visits that fell in the real time since the previous round
    (the first covers the last ``max(pause_s, 60)`` seconds), so simulated time tracks the
    clock. Runs until ``duration_s`` elapses (None: forever) or Ctrl-C. A platform that is
    not up yet or fails a round is waited for; a 4xx still stops the run.
    """
    if duration_s is not None and not duration_s > 0:
        raise ValueError(f"duration_s must be positive or None, got {duration_s}")
    if pause_s < 0:
        raise ValueError(f"pause_s must not be negative, got {pause_s}")
    world = World.load(world_dir)
    traffic = Traffic(
        base_url, world, behaviour=behaviour, max_members=max_members, concurrency=concurrency
    )
    deadline = None if duration_s is None else time.monotonic() + duration_s
    total = TrafficReport()

    def time_left() -> bool:
        return deadline is None or time.monotonic() < deadline

    def transient(exc: ClientError) -> bool:
        return exc.status is None or exc.status >= 500

    try:
        while True:
            try:
                traffic.connect()
                break
            except ClientError as exc:
                if not transient(exc) or not time_left():
                    raise
                log(f"platform not ready ({exc}); retrying in {max(pause_s, 1.0):.0f} s")
                time.sleep(max(pause_s, 1.0))
        last_end = utc_now() - timedelta(seconds=max(pause_s, 60.0))
        round_index = 0
        while time_left():
            end = utc_now()
            try:
                report = traffic.run(last_end, end, seed=seed, round_index=round_index)
                total.merge(report)
                log(f"round {round_index}: {report.visits} visits, {report.plays} plays")
            except ClientError as exc:
                if not transient(exc):
                    raise
                log(f"round {round_index} failed ({exc}); continuing")
            last_end, round_index = end, round_index + 1
            if deadline is not None:
                time.sleep(max(0.0, min(pause_s, deadline - time.monotonic())))
            else:
                time.sleep(pause_s)
    except KeyboardInterrupt:
        log("interrupted")
    return total


# Command line


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m simulator.client",
        description="Drive simulated members through the platform's HTTP API.",
    )
    p.add_argument("--base-url", required=True, help="platform root, e.g. http://localhost:8000")
    p.add_argument("--world", required=True, type=Path, help="world directory (simulator.world)")
    p.add_argument(
        "--days", type=number(float, minimum=0, inclusive=False), help="days to simulate"
    )
    p.add_argument(
        "--start", type=iso_time, help="start of the simulated period (default: now - days)"
    )
    p.add_argument("--members", type=number(int, minimum=1), help="use only the first N members")
    p.add_argument("--seed", type=number(int, minimum=0), default=0, help="random seed (>= 0)")
    p.add_argument("--concurrency", type=number(int, minimum=1), default=4, help="parallel members")
    p.add_argument(
        "--activity-scale",
        type=number(float, minimum=0, inclusive=False),
        default=1.0,
        help="multiply every member's visits per day (live demos want more)",
    )
    p.add_argument("--progress", action="store_true", help="show a progress bar")
    p.add_argument("--live", action="store_true", help="run rounds at real time until stopped")
    p.add_argument(
        "--duration",
        type=number(float, minimum=0, inclusive=False),
        help="live: seconds to run (default: until interrupted)",
    )
    p.add_argument(
        "--pause", type=number(float, minimum=0), default=30.0, help="live: seconds between rounds"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.base_url.startswith(("http://", "https://")):
        parser.error(f"argument --base-url: expected an http(s) URL, got {args.base_url!r}")
    needed = ("catalog.json", "members.json", "hidden.npz")
    missing = [n for n in needed if not (args.world / n).is_file()]
    if missing:
        parser.error(
            f"argument --world: {str(args.world)!r} is not a world directory "
            f"(missing {', '.join(missing)}); make one with python -m simulator.world"
        )
    if args.live:
        for flag, value in [("--days", args.days), ("--start", args.start)]:
            if value is not None:
                parser.error(f"argument {flag}: not used with --live (got {value})")
    else:
        if args.days is None:
            parser.error("argument --days is required (unless --live)")
        if args.duration is not None:
            parser.error(f"argument --duration: only used with --live (got {args.duration})")
        if args.start is not None and args.start + timedelta(days=args.days) > utc_now():
            parser.error(
                f"argument --start: {format_time(args.start)} + {args.days} days ends in the "
                "future; the platform refuses future times"
            )
    behaviour = BehaviourConfig(activity_scale=args.activity_scale)
    try:
        if args.live:
            report = run_live(
                args.base_url,
                args.world,
                duration_s=args.duration,
                pause_s=args.pause,
                seed=args.seed,
                max_members=args.members,
                concurrency=args.concurrency,
                behaviour=behaviour,
            )
        else:
            report = run_traffic(
                args.base_url,
                args.world,
                days=args.days,
                start=args.start,
                seed=args.seed,
                max_members=args.members,
                concurrency=args.concurrency,
                progress=args.progress,
                behaviour=behaviour,
            )
    except (ClientError, WorldMismatchError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
