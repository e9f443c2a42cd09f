"""Members with state: who they are now (tastes, recent plays, satisfaction, churn).

:class:`Population` holds the evolving hidden state of every member of a world and visits
them in batches through :func:`~simulator.behaviour.respond.respond_batch`; :class:`Behaviour`
is its thread-safe single-member view for the env and the HTTP client. Both draw visit
times from the one schedule (:meth:`Population.day_visits`) and each visit's device from
:meth:`Population.draw_devices`.

True utility has one formula, :meth:`Population.utility` (pairs of visit and title), which
the engine, :meth:`Population.utilities` and the oracle's :meth:`Population.utility_table`
all go through::

    u = taste_at(t) . attributes + popularity_weight * log popularity - satiation * repeats
        + c * device_taste * sensitivity * device_affinity[device]
        + c * return_popularity * (1 - exp(-days away / return_days)) * centred log popularity
        + c * series_pull * [the next episode of a show in progress]

with ``c = context_strength`` and ``taste_at(t)`` the taste plus ``c * daypart_taste`` times
the daypart and weekend offsets.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from simulator.behaviour.config import BehaviourConfig
from simulator.behaviour.outcome import BatchOutcome, VisitOutcome, to_visit_outcome
from simulator.behaviour.respond import respond_batch, row_bonuses
from simulator.behaviour.schedule import day_visits
from simulator.world import DAYPART_HOURS, DEVICE_TILTS, DEVICES, N_TASTE_OFFSETS, World

DAY = 86400.0


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


def device_index(device: int | str) -> int:
    """A device as its index in :data:`~simulator.world.DEVICES`, from its index or its name;
    ValueError naming the known devices otherwise."""
    if isinstance(device, str):
        if device not in DEVICES:
            raise ValueError(f"unknown device {device!r}; devices are {', '.join(DEVICES)}")
        return DEVICES.index(device)
    if not 0 <= int(device) < len(DEVICES):
        raise ValueError(f"device index {device} out of range [0, {len(DEVICES)})")
    return int(device)


@dataclass(frozen=True)
class VisitContext:
    """What the utilities of a batch of visits depend on besides the member's state, built
    once per batch by :meth:`Population.context` (B visits)."""

    members: np.ndarray
    """(B,) int64 member of each visit."""
    tastes: np.ndarray
    """(B, D) effective taste at the visit's hour and weekday."""
    device: np.ndarray | None
    """(B,) int64 device of each visit (index in DEVICES); None: devices do not matter."""
    device_weight: np.ndarray
    """(B,) weight of the title's device affinity: strength x member's sensitivity."""
    return_weight: np.ndarray
    """(B,) extra weight of centred log popularity for the time since the last visit."""
    in_progress: np.ndarray | None
    """Sorted int64 keys ``visit * n_titles + title`` of the next episodes of the shows each
    visit's member is in the middle of; None: no pull."""


class Population:
    """The members of one world with their evolving hidden state, visited in batches.

    State per member: current taste (drifts), the last ``satiation_memory`` plays (satiation,
    and the shows in progress), the moving average of satisfaction, the time of the last
    visit, and whether they have churned. Members in one batch must be distinct (a member is
    in one place at a time); different batches may repeat them.
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
        self.n_artwork_variants = world.n_artwork_variants
        self.variant_style = world.artwork_style_index  # (V,)
        self.style_preference = world.style_preference.astype(np.float32)  # (M, styles)
        self.variant_appeal = world.artwork_variant_appeal.astype(np.float32)  # (T, V)
        self.daypart_offsets = world.daypart_offsets.astype(np.float32)  # (M, K, D)
        self.search_weights = world.popularity**0.5  # awareness grows slower than popularity
        self.device_logits = world.device_mix  # (M, devices)
        self.device_tilt = np.array(
            [[tilt.get(d, 0.0) for d in DEVICES] for tilt in DEVICE_TILTS]
        )  # (N_TASTE_OFFSETS, devices)
        self.device_affinity = world.device_affinity.astype(np.float32)  # (T, devices)
        self.device_sensitivity = world.device_sensitivity
        self.centred_popularity = (self.log_popularity - self.log_popularity.mean()).astype(
            np.float32
        )
        # -1 (an empty slot of the recent plays) looks up the appended -1: no next episode
        self.next_episode = np.append(world.next_episode, -1)  # (T + 1,)
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
            self.last_visit = np.full(m, np.nan)  # (M,) unix seconds, NaN before any visit
            self.churned = np.zeros(m, dtype=bool)
            return
        members = np.asarray(members)
        self.tastes[members] = w.tastes[members]
        self.recent[members] = -1
        self.n_plays[members] = 0
        self.satisfaction[members] = c.initial_satisfaction
        self.last_visit[members] = np.nan
        self.churned[members] = False

    @property
    def retention(self) -> float:
        """Share of members who have not churned."""
        return float(1.0 - self.churned.mean())

    def tastes_at(self, members: np.ndarray, at: np.ndarray | None) -> np.ndarray:
        """(B, D) effective tastes of ``members`` (B,) at unix times ``at`` (B,): the current
        taste plus ``context_strength * daypart_taste`` times the daypart and weekend offsets
        weighted by :func:`daypart_weights`. ``at`` None, a strength of 0 or a world without
        offsets: the taste alone."""
        members = np.asarray(members, dtype=np.int64)
        taste = self.tastes[members]
        c = self.config
        strength = c.context_strength * c.daypart_taste
        if at is None or not strength:
            return taste
        weights = daypart_weights(np.asarray(at, dtype=np.float64), c.daypart_sharpness)  # (B, K)
        offset = np.einsum("bk,bkd->bd", weights.astype(np.float32), self.daypart_offsets[members])
        return taste + np.float32(strength) * offset

    def device_probabilities(self, members: np.ndarray, at: np.ndarray) -> np.ndarray:
        """(B, len(DEVICES)) chance of each device for visits of ``members`` (B,) at unix
        times ``at`` (B,): a softmax of the member's device logits plus the daypart's and
        the weekend's shift (:data:`~simulator.world.DEVICE_TILTS`)."""
        weights = daypart_weights(np.asarray(at, dtype=np.float64), self.config.daypart_sharpness)
        logits = (
            self.device_logits[np.asarray(members, dtype=np.int64)] + weights @ self.device_tilt
        )
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def draw_devices(
        self, members: np.ndarray, at: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """(B,) int64 device (index in DEVICES) of each visit, one uniform draw per visit.

        Devices are drawn whatever ``context_strength`` is, so logs at different strengths
        share their visits and devices and differ only in what is chosen."""
        cdf = np.cumsum(self.device_probabilities(members, at), axis=1)
        u = rng.random(len(cdf))[:, None]
        return np.minimum((u > cdf).sum(axis=1), len(DEVICES) - 1).astype(np.int64)

    def context(
        self,
        members: np.ndarray,
        at: np.ndarray | None = None,
        devices: np.ndarray | None = None,
    ) -> VisitContext:
        """The :class:`VisitContext` of visits of ``members`` (B,) at unix times ``at`` (B,;
        None: no time, so no daypart or return effect) from ``devices`` (B,; None: no device
        effect), from the members' current state."""
        c = self.config
        members = np.asarray(members, dtype=np.int64)
        strength = c.context_strength
        device = None
        device_weight = np.zeros(len(members), dtype=np.float32)
        if devices is not None and strength * c.device_taste:
            device = np.asarray(devices, dtype=np.int64)
            if device.shape != members.shape:
                raise ValueError(f"devices must hold one per member, got shape {device.shape}")
            device_weight = (strength * c.device_taste * self.device_sensitivity[members]).astype(
                np.float32
            )
        return_weight = np.zeros(len(members), dtype=np.float32)
        if at is not None and strength * c.return_popularity:
            away = (np.asarray(at, dtype=np.float64) - self.last_visit[members]) / DAY
            away = np.nan_to_num(np.maximum(away, 0.0), nan=0.0)  # first visit: no gap known
            return_weight = (
                strength * c.return_popularity * (1.0 - np.exp(-away / c.return_days))
            ).astype(np.float32)
        in_progress = None
        if strength * c.series_pull:
            recent = self.recent[members]  # (B, K) title indices, -1 empty
            visit, slot = np.nonzero(self.next_episode[recent] >= 0)  # few: episodes played
            following = self.next_episode[recent[visit, slot]]
            watched = (recent[visit] == following[:, None]).any(axis=1)
            keys = visit[~watched] * self.world.n_titles + following[~watched]
            in_progress = np.unique(keys)
        return VisitContext(
            members=members,
            tastes=self.tastes_at(members, at),
            device=device,
            device_weight=device_weight,
            return_weight=return_weight,
            in_progress=in_progress,
        )

    def utility(
        self,
        members: np.ndarray,
        titles: np.ndarray,
        *,
        at: np.ndarray | None = None,
        devices: np.ndarray | None = None,
    ) -> np.ndarray:
        """(E,) current true utility of ``titles`` for ``members`` (pairs) at unix times
        ``at`` (E,; None: ignoring the clock) from ``devices`` (E,; None: ignoring the
        device), satiation and series in progress included."""
        context = self.context(members, at, devices)
        return self._utility(context, np.arange(len(context.members)), np.asarray(titles))

    def utility_table(
        self,
        members: np.ndarray,
        *,
        at: np.ndarray | None = None,
        devices: np.ndarray | None = None,
    ) -> np.ndarray:
        """(B, n_titles) current true utility of every title for visits of ``members`` (B,)
        at ``at`` (B,) from ``devices`` (B,): the formula of :meth:`utility` for every title."""
        context = self.context(members, at, devices)
        n, t = len(context.members), self.world.n_titles
        visits, titles = np.repeat(np.arange(n), t), np.tile(np.arange(t), n)
        return self._utility(context, visits, titles).reshape(n, t)

    def _utility(self, context: VisitContext, visits: np.ndarray, titles: np.ndarray) -> np.ndarray:
        """(E,) true utility of (visit, title) pairs: the module docstring's formula."""
        c = self.config
        members = context.members[visits]
        u = np.einsum("ij,ij->i", context.tastes[visits], self.attributes[titles])
        u += self.base_utility[titles]
        if context.device is not None:
            u += (
                context.device_weight[visits] * self.device_affinity[titles, context.device[visits]]
            )
        if context.return_weight.any():
            u += context.return_weight[visits] * self.centred_popularity[titles]
        if context.in_progress is not None and len(context.in_progress):
            keys = visits * self.world.n_titles + titles
            found = np.minimum(
                np.searchsorted(context.in_progress, keys), len(context.in_progress) - 1
            )
            pulled = (
                context.in_progress[found] == keys
            )  # (E,) the next episode of a show in progress
            u += np.float32(c.context_strength * c.series_pull) * pulled
        if c.satiation:
            repeats = (self.recent[members] == titles[:, None]).sum(axis=1)  # (E,)
            u -= c.satiation * repeats
        return u.astype(np.float64)

    def utilities(
        self, member: int, *, at: float | None = None, device: int | None = None
    ) -> np.ndarray:
        """(n_titles,) current true utility of every title for ``member`` at unix time ``at``
        (None: ignoring the clock) from ``device`` (None: ignoring the device)."""
        return self.utility_table(
            np.array([member]),
            at=None if at is None else np.array([at], dtype=np.float64),
            devices=None if device is None else np.array([device_index(device)]),
        )[0]

    def allowed(self, members: np.ndarray, titles: np.ndarray) -> np.ndarray:
        """(E,) bool: kids profiles play only kids-suitable titles."""
        return ~self.is_kids[members] | self.kids_suitable[titles]

    def artwork_appeal(
        self, members: np.ndarray, titles: np.ndarray, variants: np.ndarray
    ) -> np.ndarray:
        """(E,) hidden appeal of title ``titles`` shown in artwork variant ``variants`` to
        ``members`` (pairs): the member's preference for the variant's style plus the
        variant's own appeal (:meth:`World.artwork_appeal_of`); perceived only, and
        weighted by ``artwork_taste`` in the engine."""
        return (
            self.style_preference[members, self.variant_style[variants]]
            + self.variant_appeal[titles, variants]
        )

    def check_artwork(self, artwork: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """``artwork`` as an int64 array of ``shape``; ValueError naming the bad variant."""
        art = np.asarray(artwork)
        if art.shape != shape:
            raise ValueError(f"artwork must have the page's shape {shape}, got {art.shape}")
        if art.size and not np.issubdtype(art.dtype, np.integer):
            raise ValueError(f"artwork must hold integer variant indices, got dtype {art.dtype}")
        bad = art[(art < 0) | (art >= self.n_artwork_variants)]
        if bad.size:
            raise ValueError(
                f"artwork variant {int(bad[0])} out of range [0, {self.n_artwork_variants}): "
                f"every title has {self.n_artwork_variants} variants"
            )
        return art.astype(np.int64)

    def visit(
        self,
        members: np.ndarray,
        pages: np.ndarray,
        rng: np.random.Generator,
        *,
        at: np.ndarray | None = None,
        devices: np.ndarray | None = None,
        row_bonus: np.ndarray | None = None,
        artwork: np.ndarray | None = None,
    ) -> BatchOutcome:
        """Members (B,) visit pages (B, rows, columns) at unix times ``at`` (B,) from
        ``devices`` (B,); state moves.

        ``at`` limits search to titles in the catalogue at the visit (None: any title), sets
        each member's daypart taste and the time since their last visit (None: tastes ignore
        the clock); ``devices`` (indices in DEVICES) set the device tastes (None: ignored);
        ``artwork`` (B, rows, columns) the variant shown in each slot (None: variant 0).
        Churned members may not visit (ValueError): a runner stops scheduling them.
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
        if artwork is not None:
            artwork = self.check_artwork(artwork, np.shape(pages))
        context = self.context(members, at, devices)  # the visit's hour, device, gap, shows
        batch = respond_batch(
            pages,
            lambda v, t: self._utility(context, v, t),
            lambda v, t: self.allowed(members[v], t),
            self.runtime,
            rng,
            c,
            appeal=self.appeal,
            row_bonus=row_bonus,
            patience=self.world.patience[members],
            search_weights=self.search_weights,
            searchable=searchable,
            artwork=artwork,
            artwork_appeal=lambda v, t, a: self.artwork_appeal(members[v], t, a),
        )
        self._update(members, batch, rng)
        if at is not None:
            self.last_visit[members] = at
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

    def utilities(
        self, member: int, *, at: datetime | None = None, device: int | str | None = None
    ) -> np.ndarray:
        """(n_titles,) current true utility of every title for ``member`` at ``at`` (None:
        ignoring the clock: no daypart or return effect) from ``device`` (index or name;
        None: ignoring the device); a read-only copy."""
        when = None if at is None else at.astimezone(UTC).timestamp()
        which = None if device is None else device_index(device)
        with self._lock:
            u = self.population.utilities(member, at=when, device=which)
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
        device: int | str | None = None,
        row_keys: tuple[str, ...] | None = None,
        artwork: np.ndarray | None = None,
    ) -> VisitOutcome:
        """``member`` visits ``page`` (title indices, -1 for an empty slot) at time ``at``
        from ``device`` (index in DEVICES or name; None: the device does not matter).

        ``row_keys`` (the platform's row keys) let row titles bias attention; ``artwork``
        (the page's shape) is the variant shown in each slot (None: variant 0). A churned
        member's visit raises ValueError.
        """
        page = np.asarray(page)
        if page.ndim != 2:
            raise ValueError(f"page must be 2-dimensional (rows, columns), got shape {page.shape}")
        bonus = None if row_keys is None else row_bonuses(row_keys, self.config)[None]
        when = None if at is None else np.array([at.astimezone(UTC).timestamp()])
        devices = None if device is None else np.array([device_index(device)])
        art = None if artwork is None else self.population.check_artwork(artwork, page.shape)
        with self._lock:
            batch = self.population.visit(
                np.array([member]),
                page[None],
                rng,
                at=when,
                devices=devices,
                row_bonus=bonus,
                artwork=None if art is None else art[None],
            )
        return to_visit_outcome(batch, 0, page.shape[1])

    def draw_device(self, member: int, at: datetime, rng: np.random.Generator) -> int:
        """The device (index in DEVICES) ``member`` visits from at ``at``: one draw from
        :meth:`Population.draw_devices`."""
        when = np.array([at.astimezone(UTC).timestamp()])
        return int(self.population.draw_devices(np.array([member]), when, rng)[0])

    def day_visit_hours(
        self, member: int, rng: np.random.Generator, *, weekday: int | None = None
    ) -> np.ndarray:
        """Sorted hours of day of ``member``'s visits on one day (``weekday`` 0 = Monday;
        None: a weekday): :meth:`Population.day_visits` for a batch of one."""
        return self.population.day_visits(np.array([member]), rng, weekday=weekday)[1]
