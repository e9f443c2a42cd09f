"""The vectorized population runner: every member of a world, day after day, in numpy batches.

Where the env follows one member and the client goes through HTTP, the runner simulates the
whole population in-process at hundreds of thousands of visits per second. It uses the same
:class:`~simulator.behaviour.Population` (and so the same :func:`respond_batch`) as they do.

A simulated day: every member who has not churned draws that day's visits from their habits
(Poisson activity, more at weekends, hours around their peak hour; the one visit schedule of
:mod:`simulator.behaviour.schedule`, which the env and the client draw from too). Visits are processed in
*rounds*: round k holds each member's k-th visit of the day, so one member's visits stay in
time order and their state (satiation, drift, satisfaction) carries from one to the next,
while a round is one numpy batch. Each visit comes from a device, drawn from the member's
device mix at that hour (:meth:`~simulator.behaviour.Population.draw_devices`). A
:class:`Policy` composes every page; it sees only what a platform could: who visits, when,
from which device, and which titles are in the catalogue.

The period runs from ``start`` (default: ``days`` before the world's ``now``) so titles whose
``added_at`` falls inside it arrive during the run: new titles start with no history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

import numpy as np
from tqdm import tqdm

from simulator.behaviour import BatchOutcome, BehaviourConfig, Population
from simulator.world import World

DAY = 86400.0
BATCH = 8192
"""Most visits per numpy batch: large enough for speed, small enough for the cache."""
POLICY_CHUNK = 1024
"""Rows of a (visits, n_titles) score matrix a policy builds at once."""


class Policy(Protocol):
    """Composes homepages for a batch of visits; the runner calls it once per batch."""

    def pages(
        self,
        members: np.ndarray,
        at: np.ndarray,
        available: np.ndarray,
        rng: np.random.Generator,
        *,
        devices: np.ndarray,
    ) -> np.ndarray:
        """(B, rows, slots) distinct title indices for members (B,) at unix times (B,).

        ``available`` (n_titles,) bool: titles in the catalogue (added before the batch);
        ``devices`` (B,) int: each visit's device (index in ``simulator.world.DEVICES``),
        as the request carries it.
        """
        ...


class ArtworkPolicy(Protocol):
    """A :class:`Policy` that also chooses the artwork variant of every slot (optional: the
    runner shows variant 0 for a policy without ``artwork``)."""

    def artwork(
        self,
        members: np.ndarray,
        at: np.ndarray,
        pages: np.ndarray,
        rng: np.random.Generator,
        *,
        devices: np.ndarray,
    ) -> np.ndarray:
        """(B, rows, slots) int variant (in ``[0, world.n_artwork_variants)``) of each title
        of ``pages`` (B, rows, slots), for members (B,) at unix times (B,)."""
        ...


@dataclass
class VisitLog:
    """Everything a run did, one entry per visit and one per examined item (numpy columns).

    The visit columns are what a platform logs (member, time, title played, watch time,
    search) next to what only the simulator knows (true utility, satisfaction, churn).
    """

    member: list[np.ndarray] = field(default_factory=list)
    at: list[np.ndarray] = field(default_factory=list)
    device: list[np.ndarray] = field(default_factory=list)
    """(B,) int8 device of each visit (index in ``simulator.world.DEVICES``)."""
    day: list[np.ndarray] = field(default_factory=list)
    played_title: list[np.ndarray] = field(default_factory=list)
    searched: list[np.ndarray] = field(default_factory=list)
    from_search: list[np.ndarray] = field(default_factory=list)
    watched_fraction: list[np.ndarray] = field(default_factory=list)
    watched_seconds: list[np.ndarray] = field(default_factory=list)
    played_utility: list[np.ndarray] = field(default_factory=list)
    satisfaction: list[np.ndarray] = field(default_factory=list)
    churned: list[np.ndarray] = field(default_factory=list)
    shown: list[np.ndarray] = field(default_factory=list)
    """(n_visits, rows * slots) pages as shown, kept only when ``keep_pages``."""
    examined_visit: list[np.ndarray] = field(default_factory=list)
    examined_slot: list[np.ndarray] = field(default_factory=list)
    examined_title: list[np.ndarray] = field(default_factory=list)
    examined_artwork: list[np.ndarray] = field(default_factory=list)
    """(E,) int8 artwork variant of each examined item (0 under a policy without artwork)."""
    examined_played: list[np.ndarray] = field(default_factory=list)
    """(E,) bool: the examined item was played from the page."""
    n_visits: int = 0

    def add(
        self,
        members: np.ndarray,
        at: np.ndarray,
        devices: np.ndarray,
        day: int,
        batch: BatchOutcome,
        pages: np.ndarray | None,
        artwork: np.ndarray | None = None,
    ) -> None:
        """Append one batch; ``artwork`` (B, rows, slots) the variants shown (None: 0)."""
        b = len(members)
        self.member.append(members)
        self.at.append(at)
        self.device.append(devices.astype(np.int8))
        self.day.append(np.full(b, day, dtype=np.int32))
        self.played_title.append(batch.played_title)
        self.searched.append(batch.searched)
        self.from_search.append(batch.played & (batch.played_entry < 0))
        self.watched_fraction.append(batch.watched_fraction)
        self.watched_seconds.append(batch.watched_seconds)
        self.played_utility.append(batch.played_utility)
        self.satisfaction.append(batch.satisfaction)
        self.churned.append(batch.churned)
        self.examined_visit.append(batch.visit + self.n_visits)
        self.examined_slot.append(batch.slot.astype(np.int32))
        self.examined_title.append(batch.title.astype(np.int32))
        if artwork is None:
            self.examined_artwork.append(np.zeros(len(batch.visit), dtype=np.int8))
        else:
            flat = artwork.reshape(b, -1)
            self.examined_artwork.append(flat[batch.visit, batch.slot].astype(np.int8))
        played = np.zeros(len(batch.visit), dtype=bool)
        played[batch.played_entry[batch.played_entry >= 0]] = True
        self.examined_played.append(played)
        if pages is not None:
            self.shown.append(pages.reshape(b, -1).astype(np.int32))
        self.n_visits += b

    def column(self, name: str) -> np.ndarray:
        """One column, concatenated over batches."""
        parts = getattr(self, name)
        return np.concatenate(parts) if parts else np.zeros(0)

    def plays(self) -> dict[str, np.ndarray]:
        """The played visits: member, at, device, title, watched_fraction, from_search,
        utility, day."""
        title = self.column("played_title")
        keep = title >= 0
        return {
            "member": self.column("member")[keep],
            "at": self.column("at")[keep],
            "device": self.column("device")[keep].astype(np.int64),
            "day": self.column("day")[keep],
            "title": title[keep],
            "watched_fraction": self.column("watched_fraction")[keep],
            "from_search": self.column("from_search")[keep],
            "utility": self.column("played_utility")[keep],
        }


class PopulationRunner:
    """Simulate a world's members day by day under a policy (see the module docstring)."""

    def __init__(
        self,
        world: World,
        config: BehaviourConfig | None = None,
        *,
        rows: int = 10,
        slots: int = 20,
        days: int = 30,
        start: datetime | None = None,
        seed: int = 0,
        batch_size: int = BATCH,
    ) -> None:
        for name, value in [("rows", rows), ("slots", slots), ("days", days)]:
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if rows * slots > world.n_titles:
            raise ValueError(
                f"a page of {rows} x {slots} = {rows * slots} distinct titles needs at least "
                f"that many titles, the world has {world.n_titles}"
            )
        self.world = world
        self.config = config or BehaviourConfig()
        self.population = Population(world, self.config)
        self.rows, self.slots, self.days = rows, slots, days
        start = start or (world.now - timedelta(days=days))
        self.start = start.astimezone(UTC)
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)
        self._added_at = world.added_at_unix

    def day_start(self, day: int) -> float:
        """Unix seconds at the start of simulated day ``day``."""
        return self.start.timestamp() + day * DAY

    def schedule(self, day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Visits of day ``day`` by members still active: (member, unix time, round), sorted
        by round then time. Round k is each member's k-th visit of the day.

        The visits are :meth:`~simulator.behaviour.Population.day_visits`, the schedule the
        env and the client draw one member's day from.
        """
        active = np.flatnonzero(~self.population.churned)
        weekday = (self.start + timedelta(days=day)).weekday()
        members, hours = self.population.day_visits(active, self.rng, weekday=weekday)
        first_visit = np.searchsorted(members, members)  # index of each member's first visit
        rounds = np.arange(len(members)) - first_visit
        order = np.lexsort((hours, rounds))
        at = self.day_start(day) + hours[order] * 3600.0
        return members[order], np.floor(at), rounds[order]

    def run(
        self,
        policy: Policy,
        *,
        log: VisitLog | None = None,
        keep_pages: bool = False,
        progress: bool = False,
        on_day_end: Callable[[int, VisitLog], None] | None = None,
        desc: str = "days",
    ) -> VisitLog:
        """Run every day under ``policy``; returns the log (``log`` if given, extended).

        ``on_day_end(day, log)`` runs after each day, e.g. to retrain a policy on its logs.
        A policy with an ``artwork`` method (:class:`ArtworkPolicy`) also chooses the
        variant of every slot; otherwise variant 0 is shown.
        """
        log = log if log is not None else VisitLog()
        choose_artwork = getattr(policy, "artwork", None)
        for day in tqdm(range(self.days), disable=not progress, desc=desc, leave=False):
            members, at, rounds = self.schedule(day)
            devices = self.population.draw_devices(members, at, self.rng)
            bounds = np.flatnonzero(np.diff(rounds)) + 1
            for lo, hi in zip(
                np.concatenate([[0], bounds]), np.concatenate([bounds, [len(rounds)]]), strict=True
            ):
                for start in range(lo, hi, self.batch_size):
                    end = min(hi, start + self.batch_size)
                    who, when, device = members[start:end], at[start:end], devices[start:end]
                    still = ~self.population.churned[who]  # some left earlier today
                    who, when, device = who[still], when[still], device[still]
                    if not len(who):
                        continue
                    available = self._added_at <= when.min()
                    pages = policy.pages(who, when, available, self.rng, devices=device)
                    if pages.shape != (len(who), self.rows, self.slots):
                        raise ValueError(
                            f"policy returned pages of shape {pages.shape}, expected "
                            f"{(len(who), self.rows, self.slots)}"
                        )
                    artwork = None
                    if choose_artwork is not None:
                        artwork = choose_artwork(who, when, pages, self.rng, devices=device)
                    batch = self.population.visit(
                        who, pages, self.rng, at=when, devices=device, artwork=artwork
                    )
                    log.add(who, when, device, day, batch, pages if keep_pages else None, artwork)
            if on_day_end is not None:
                on_day_end(day, log)
        return log


def gumbel_top_k(
    scores: np.ndarray, k: int, rng: np.random.Generator | None, available: np.ndarray
) -> np.ndarray:
    """(B, k) indices of the k best ``scores`` (B, n) among ``available`` titles, best first.

    With ``rng``, Gumbel noise is added first: a Plackett-Luce sample without replacement,
    the standard way to randomise a ranking (a softmax policy over pages).
    """
    if int(available.sum()) < k:
        raise ValueError(
            f"a page needs {k} distinct titles but only {int(available.sum())} are available"
        )
    masked = np.where(available, scores, -np.inf)
    if rng is not None:
        masked = masked + rng.gumbel(size=masked.shape)
    top = np.argpartition(-masked, k - 1, axis=1)[:, :k]  # (B, k) unordered
    order = np.argsort(-np.take_along_axis(masked, top, axis=1), axis=1)
    return np.take_along_axis(top, order, axis=1)


class LoggingPolicy:
    """The dataset's logging policy: each page is, with probability ``popular_share``, a
    popularity-weighted random ranking (Plackett-Luce on log popularity), else uniformly
    random available titles. Both parts are random, so every title has a non-zero chance of
    exposure (needed for unbiased off-policy estimates), yet popular titles get most of it,
    as on a real service.
    """

    def __init__(self, world: World, *, rows: int, slots: int, popular_share: float = 0.5) -> None:
        if not 0 <= popular_share <= 1:
            raise ValueError(f"popular_share must be in [0, 1], got {popular_share}")
        self.log_popularity = np.log(world.popularity)
        self.rows, self.slots = rows, slots
        self.popular_share = popular_share

    def pages(
        self,
        members: np.ndarray,
        at: np.ndarray,
        available: np.ndarray,
        rng: np.random.Generator,
        *,
        devices: np.ndarray | None = None,
    ) -> np.ndarray:
        """Pages for the batch; the logging policy ignores the time and the device."""
        b, k = len(members), self.rows * self.slots
        popular = rng.random(b) < self.popular_share
        out = np.empty((b, k), dtype=np.int64)
        for lo in range(0, b, POLICY_CHUNK):  # (chunk, n_titles) score matrices stay small
            chunk = popular[lo : lo + POLICY_CHUNK]
            scores = np.where(chunk[:, None], self.log_popularity[None, :], 0.0)  # (b, T)
            out[lo : lo + len(chunk)] = gumbel_top_k(scores, k, rng, available)
        return out.reshape(b, self.rows, self.slots)
