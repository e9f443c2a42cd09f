"""Orchestration: simulated members connected to one platform, visiting in time order.

:class:`Traffic` logs the world's accounts in once, then runs any number of time windows;
:func:`run_traffic` runs one past period, :func:`run_live` keeps traffic flowing at real
time. Members run concurrently, each member's visits in time order, and randomness per
member comes from the seed, so a run does not depend on thread scheduling.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from tqdm import tqdm

from simulator.behaviour import Behaviour, BehaviourConfig
from simulator.client import protocol
from simulator.client.api import DEFAULT_TRIES, Api, ClientError
from simulator.client.protocol import WorldMismatchError
from simulator.clock import as_utc, format_time, utc_now
from simulator.world import DEVICES, World

Clock = Callable[[], datetime]
"""A source of the current time (the real clock, or a fixed one in tests)."""


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
    devices: dict[str, int] = field(default_factory=dict)
    """Visits per device (the ``device`` each homepage request carried)."""

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
        for device, count in other.devices.items():
            self.devices[device] = self.devices.get(device, 0) + count
        self.devices = dict(sorted(self.devices.items()))
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


def visit_times(
    behaviour: Behaviour,
    member: int,
    start: datetime,
    end: datetime,
    rng: np.random.Generator,
) -> list[datetime]:
    """Simulated visit times of ``member`` in ``[start, end)``, sorted, whole seconds, UTC.

    Each UTC day touching the window gets its visit hours from the member's habit (the one
    visit schedule, :meth:`~simulator.behaviour.Behaviour.day_visit_hours`, that the
    population runner draws from too); the ones outside the window are dropped.
    """
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    out: list[datetime] = []
    day = datetime(start.year, start.month, start.day, tzinfo=UTC)
    while day < end:
        for hour in behaviour.day_visit_hours(member, rng, weekday=day.weekday()):
            at = (day + timedelta(hours=float(hour))).replace(microsecond=0)
            if start <= at < end:
                out.append(at)
        day += timedelta(days=1)
    return out


class Traffic:
    """Simulated members connected to one platform, ready to run rounds of visits.

    :meth:`connect` once (log in, map ids), then :meth:`run` any number of time windows.
    One :class:`~simulator.behaviour.Behaviour` serves every round, so each member's hidden
    state (satiation, drift, satisfaction, churn) carries over from one round to the next.
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
            for key, platform_id in protocol.member_ids(api.me(), account).items():
                self._platform_member[keys[key]] = platform_id
        any_account = next(iter(self._apis.values()))  # every account sees the same catalogue
        platform_titles = protocol.title_ids(any_account.titles())
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
            device = self.behaviour.draw_device(member, at, rng)
            payload = api.homepage(member_id, at, device=DEVICES[device])
            page = protocol.parse_homepage(payload, self._world_index)
            outcome = self.behaviour.visit(
                member,
                page.grid,
                rng,
                at=at,
                device=device,
                row_keys=page.row_keys,
                artwork=page.artwork,
            )
            search = None
            if outcome.searched:
                report.searches += 1
                if outcome.title is not None:
                    search = self._search(api, member_id, outcome.title)
                    if search is not None:
                        report.search_plays += 1
            events = protocol.build_events(
                outcome,
                page,
                member_id=member_id,
                visit_at=at,
                now=self.clock(),
                search=search,
                device=DEVICES[device],
            )
            for batch in protocol.chunked(events):
                answer = api.post_events(batch) or {}
                report.events_posted += int(answer.get("stored", 0)) + int(
                    answer.get("duplicates", 0)
                )
                report.duplicates += int(answer.get("duplicates", 0))
            day = report.per_day.setdefault(at.date().isoformat(), DayCounts())
            day.visits += 1
            day.events += len(events)
            report.visits += 1
            report.devices[DEVICES[device]] = report.devices.get(DEVICES[device], 0) + 1
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
    start = now - timedelta(days=days) if start is None else as_utc(start)
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
