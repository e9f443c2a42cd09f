"""Members with state: who they are now (tastes, recent plays, satisfaction, churn).

:class:`Population` holds the evolving hidden state of every member of a world and visits
them in batches through :func:`~simulator.behaviour.respond.respond_batch`; :class:`Behaviour`
is its thread-safe single-member view for the env and the HTTP client. Both draw visit
times from the one schedule (:meth:`Population.day_visits`).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import numpy as np

from simulator.behaviour.config import BehaviourConfig
from simulator.behaviour.outcome import BatchOutcome, VisitOutcome, to_visit_outcome
from simulator.behaviour.respond import respond_batch, row_bonuses
from simulator.behaviour.schedule import day_visits
from simulator.world import DAYPART_HOURS, N_TASTE_OFFSETS, World


def daypart_weights(at: np.ndarray, sharpness: float = 2.0) -> np.ndarray:
    """(B, N_TASTE_OFFSETS) weights of each taste offset at unix times ``at`` (B,), in UTC.

    The first columns weigh the dayparts by a von Mises bump around each daypart's hour
    (``exp(sharpness * cos(2 pi (hour - daypart hour) / 24))``, normalised to sum to 1), so a
    member's taste turns smoothly through the day and never jumps at a boundary; the last
    column is 1 on Saturdays and Sundays, 0 otherwise.
    """
    at = np.asarray(at, dtype=np.float64)
    hour = (at % 86400.0) / 3600.0
    angle = 2 * np.pi * (hour[:, None] - np.asarray(DAYPART_HOURS)[None, :]) / 24.0
    bump = np.exp(sharpness * (np.cos(angle) - 1.0))  # (B, dayparts), shifted for stability
    out = np.empty((len(at), N_TASTE_OFFSETS))
    out[:, :-1] = bump / bump.sum(axis=1, keepdims=True)
    weekday = (np.floor(at / 86400.0).astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    out[:, -1] = weekday >= 5
    return out


class Population:
    """The members of one world with their evolving hidden state, visited in batches.

    State per member: current taste (drifts), the last ``satiation_memory`` plays (satiation),
    the moving average of satisfaction, and whether they have churned. Members in one batch
    must be distinct (a member is in one place at a time); different batches may repeat them.
    """

    def __init__(self, world: World, config: BehaviourConfig | None = None) -> None:
        self.world = world
        self.config = config or BehaviourConfig()
        c = self.config
        self.attributes = world.title_attributes.astype(np.float32)  # (T, D)
        self.log_popularity = np.log(world.n_titles * world.popularity).astype(np.float32)
        self.base_utility = (c.popularity_weight * self.log_popularity).astype(np.float32)  # (T,)
        self.kids_suitable = world.kids_suitable
        self.is_kids = np.array([m.is_kids for m in world.members], dtype=bool)
        self.runtime = world.runtime_minutes
        self.added_at = world.added_at_unix
        self.appeal = world.artwork_appeal.astype(np.float32)
        self.daypart_offsets = world.daypart_offsets.astype(np.float32)  # (M, K, D)
        self.search_weights = world.popularity**0.5  # awareness grows slower than popularity
        self.reset()

    def reset(self, members: np.ndarray | None = None) -> None:
        """Restore members (all if None) to their state before any visit."""
        w, c = self.world, self.config
        if members is None:
            m = w.n_members
            self.tastes = w.tastes.astype(np.float32)  # (M, D)
            self.taste_norm = np.linalg.norm(self.tastes, axis=1)  # (M,)
            self.recent = np.full((m, c.satiation_memory), -1, dtype=np.int64)  # (M, K)
            self.n_plays = np.zeros(m, dtype=np.int64)
            self.satisfaction = np.full(m, c.initial_satisfaction)
            self.churned = np.zeros(m, dtype=bool)
            return
        members = np.asarray(members)
        self.tastes[members] = w.tastes[members]
        self.recent[members] = -1
        self.n_plays[members] = 0
        self.satisfaction[members] = c.initial_satisfaction
        self.churned[members] = False

    @property
    def retention(self) -> float:
        """Share of members who have not churned."""
        return float(1.0 - self.churned.mean())

    def tastes_at(self, members: np.ndarray, at: np.ndarray | None) -> np.ndarray:
        """(B, D) effective tastes of ``members`` (B,) at unix times ``at`` (B,): the current
        taste plus the daypart and weekend offsets weighted by :func:`daypart_weights`.
        ``at`` None, ``daypart_taste`` 0 or a world without offsets: the taste alone."""
        members = np.asarray(members, dtype=np.int64)
        taste = self.tastes[members]
        c = self.config
        if at is None or not c.daypart_taste:
            return taste
        weights = daypart_weights(np.asarray(at, dtype=np.float64), c.daypart_sharpness)  # (B, K)
        offset = np.einsum("bk,bkd->bd", weights.astype(np.float32), self.daypart_offsets[members])
        return taste + np.float32(c.daypart_taste) * offset

    def utility(
        self, members: np.ndarray, titles: np.ndarray, *, at: np.ndarray | None = None
    ) -> np.ndarray:
        """(E,) current true utility of ``titles`` for ``members`` (pairs) at unix times ``at``
        (E,; None: ignoring the clock), satiation included."""
        return self._utility(self.tastes_at(members, at), members, titles)

    def _utility(self, tastes: np.ndarray, members: np.ndarray, titles: np.ndarray) -> np.ndarray:
        u = np.einsum("ij,ij->i", tastes, self.attributes[titles])
        u += self.base_utility[titles]
        if self.config.satiation:
            repeats = (self.recent[members] == titles[:, None]).sum(axis=1)  # (E,)
            u -= self.config.satiation * repeats
        return u.astype(np.float64)

    def utilities(self, member: int, *, at: float | None = None) -> np.ndarray:
        """(n_titles,) current true utility of every title for ``member`` at unix time ``at``
        (None: ignoring the clock)."""
        titles = np.arange(self.world.n_titles)
        members = np.full(len(titles), member)
        return self.utility(members, titles, at=None if at is None else np.full(len(titles), at))

    def allowed(self, members: np.ndarray, titles: np.ndarray) -> np.ndarray:
        """(E,) bool: kids profiles play only kids-suitable titles."""
        return ~self.is_kids[members] | self.kids_suitable[titles]

    def visit(
        self,
        members: np.ndarray,
        pages: np.ndarray,
        rng: np.random.Generator,
        *,
        at: np.ndarray | None = None,
        row_bonus: np.ndarray | None = None,
    ) -> BatchOutcome:
        """Members (B,) visit pages (B, rows, columns) at unix times ``at`` (B,); state moves.

        ``at`` limits search to titles in the catalogue at the visit (None: any title) and
        sets each member's daypart taste (None: tastes ignore the clock). Churned members may
        not visit (ValueError): a runner stops scheduling them.
        """
        members = np.asarray(members, dtype=np.int64)
        if members.ndim != 1 or len(members) != len(pages):
            raise ValueError(
                f"members must be 1-dimensional with one per page, got {members.shape} for "
                f"{len(pages)} pages"
            )
        if self.churned[members].any():
            gone = int(members[self.churned[members]][0])
            raise ValueError(f"member {gone} has churned and no longer visits")
        c = self.config
        searchable = None
        if at is not None:
            at = np.asarray(at, dtype=np.float64)
            if at.shape != members.shape:
                raise ValueError(f"at must hold one time per member, got shape {at.shape}")
            searchable = lambda v, t: self.added_at[t] <= at[v]  # noqa: E731
        tastes = self.tastes_at(members, at)  # (B, D) at each visit's hour and weekday
        batch = respond_batch(
            pages,
            lambda v, t: self._utility(tastes[v], members[v], t),
            lambda v, t: self.allowed(members[v], t),
            self.runtime,
            rng,
            c,
            appeal=self.appeal,
            row_bonus=row_bonus,
            patience=self.world.patience[members],
            search_weights=self.search_weights,
            searchable=searchable,
        )
        self._update(members, batch, rng)
        return batch

    def day_visits(
        self, members: np.ndarray, rng: np.random.Generator, *, weekday: int | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """One day's visits of ``members`` (B,): (member (V,), hour of day (V,)), sorted by
        position in ``members``, then hour; ``weekday`` 0 = Monday (None: a weekday).

        The one visit schedule (:func:`~simulator.behaviour.schedule.day_visits`) with each
        member's habits: activity times ``activity_scale``, and the weekend factor on a
        Saturday or Sunday when ``weekly_habits`` is on.
        """
        w, c = self.world, self.config
        members = np.asarray(members, dtype=np.int64)
        weekend = c.weekly_habits and weekday is not None and weekday >= 5
        visitor, hours = day_visits(
            rng,
            w.activity[members] * c.activity_scale,
            w.peak_hour[members],
            w.hour_spread[members],
            weekend_factor=w.weekend_factor[members] if weekend else None,
        )
        return members[visitor], hours

    def _update(self, members: np.ndarray, batch: BatchOutcome, rng: np.random.Generator) -> None:
        c = self.config
        play = batch.played
        who, titles = members[play], batch.played_title[play]
        if len(who):
            self.recent[who, self.n_plays[who] % c.satiation_memory] = titles
            self.n_plays[who] += 1
            if c.drift_rate:
                step = c.drift_rate * batch.watched_fraction[play].astype(np.float32)
                turned = self.tastes[who] + step[:, None] * self.attributes[titles]  # (P, D)
                norm = np.linalg.norm(turned, axis=1)
                scale = self.taste_norm[who] / np.maximum(norm, 1e-9)
                self.tastes[who] = turned * scale[:, None]
        satisfaction = (1 - c.satisfaction_rate) * self.satisfaction[members]
        satisfaction += c.satisfaction_rate * batch.satisfaction
        self.satisfaction[members] = satisfaction
        if c.churn_rate and c.churn_threshold > 0:
            shortfall = (c.churn_threshold - satisfaction) / c.churn_threshold
            hazard = c.churn_rate * np.clip(shortfall, 0, 1)
            hazard /= c.activity_scale  # a time compression must not make members quit sooner
            leave = rng.random(len(members)) < hazard
            self.churned[members[leave]] = True
            batch.churned = leave
        else:
            batch.churned = np.zeros(len(members), dtype=bool)


class Behaviour:
    """Members of one world reacting to pages one visit at a time (env and HTTP client).

    A thin single-member view of :class:`Population`: the same code and the same state, so a
    member's satiation, drift, satisfaction and churn carry over between visits. Visits of
    different members may come from different threads (the client); a lock keeps the shared
    state consistent.
    """

    def __init__(self, world: World, config: BehaviourConfig | None = None) -> None:
        self.world = world
        self.config = config or BehaviourConfig()
        self.population = Population(world, self.config)
        self._lock = threading.Lock()

    def utilities(self, member: int, *, at: datetime | None = None) -> np.ndarray:
        """(n_titles,) current true utility of every title for ``member`` at ``at`` (None:
        ignoring the clock's daypart tastes); a read-only copy."""
        when = None if at is None else at.astimezone(UTC).timestamp()
        with self._lock:
            u = self.population.utilities(member, at=when)
        u.setflags(write=False)
        return u

    def allowed(self, member: int) -> np.ndarray:
        """(n_titles,) bool, titles the member would ever play."""
        if self.world.members[member].is_kids:
            return self.population.kids_suitable
        return np.ones(self.world.n_titles, dtype=bool)

    def churned(self, member: int) -> bool:
        return bool(self.population.churned[member])

    def satisfaction(self, member: int) -> float:
        """The member's moving average of true satisfaction."""
        return float(self.population.satisfaction[member])

    def reset(self, member: int | None = None) -> None:
        """Forget the state of ``member`` (everyone if None)."""
        with self._lock:
            self.population.reset(None if member is None else np.array([member]))

    def visit(
        self,
        member: int,
        page: np.ndarray,
        rng: np.random.Generator,
        *,
        at: datetime | None = None,
        row_keys: tuple[str, ...] | None = None,
    ) -> VisitOutcome:
        """``member`` visits ``page`` (title indices, -1 for an empty slot) at time ``at``.

        ``row_keys`` (the platform's row keys) let row titles bias attention. A churned
        member's visit raises ValueError.
        """
        page = np.asarray(page)
        if page.ndim != 2:
            raise ValueError(f"page must be 2-dimensional (rows, columns), got shape {page.shape}")
        bonus = None if row_keys is None else row_bonuses(row_keys, self.config)[None]
        when = None if at is None else np.array([at.astimezone(UTC).timestamp()])
        with self._lock:
            batch = self.population.visit(
                np.array([member]), page[None], rng, at=when, row_bonus=bonus
            )
        return to_visit_outcome(batch, 0, page.shape[1])

    def day_visit_hours(
        self, member: int, rng: np.random.Generator, *, weekday: int | None = None
    ) -> np.ndarray:
        """Sorted hours of day of ``member``'s visits on one day (``weekday`` 0 = Monday;
        None: a weekday): :meth:`Population.day_visits` for a batch of one."""
        return self.population.day_visits(np.array([member]), rng, weekday=weekday)[1]
