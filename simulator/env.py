"""Gymnasium environment: a recommender policy composes homepages for one simulated member."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from simulator.behaviour import Behaviour, BehaviourConfig, VisitOutcome
from simulator.clock import as_utc, format_time
from simulator.world import ARTWORK_STYLES, DEVICES, GENRES, RECENT_DAYS, World

MAX_HOURS_AWAY = 24.0 * 365
"""Cap of the observation's hours since the last visit (a year), so its space is bounded."""
DEFAULT_WORLD_NOW = datetime(2026, 1, 1, tzinfo=UTC)
"""Clock of the world the env generates when none is passed, fixed so the env is reproducible."""


class PageSpace(spaces.MultiDiscrete):
    """Pages of title indices, shape (rows, slots), with no title twice.

    A :class:`~gymnasium.spaces.MultiDiscrete` (so wrappers and flattening treat it as one)
    whose ``sample`` draws titles without replacement and whose ``contains`` rejects repeats,
    so that random agents and ``check_env`` only ever produce valid pages.

    ``candidates`` (n_titles,) bool limits what ``sample`` draws: the env passes the titles
    in the catalogue when its clock starts, which stay in it at every later visit, so a
    sampled page is valid whenever it is played. ``contains`` checks the shape of a page
    only; whether its titles have arrived depends on the env's clock, checked by ``step``.
    """

    def __init__(
        self,
        rows: int,
        slots: int,
        n_titles: int,
        seed: int | None = None,
        *,
        candidates: np.ndarray | None = None,
    ) -> None:
        if candidates is None:
            candidates = np.ones(n_titles, dtype=bool)
        candidates = np.asarray(candidates, dtype=bool)
        if candidates.shape != (n_titles,):
            raise ValueError(f"candidates must have shape ({n_titles},), got {candidates.shape}")
        n_candidates = int(candidates.sum())
        if rows * slots > n_candidates:
            raise ValueError(
                f"a page of {rows} x {slots} = {rows * slots} distinct titles needs at least "
                f"that many titles, the world has {n_candidates}"
                + (f" in the catalogue (of {n_titles})" if n_candidates < n_titles else "")
            )
        super().__init__(
            np.full((rows, slots), n_titles, dtype=np.int64), dtype=np.int64, seed=seed
        )
        self.n_titles = n_titles
        self.candidates_mask = candidates
        """(n_titles,) bool: the titles ``sample`` draws from."""
        self.candidates = np.flatnonzero(candidates)

    def sample(self, mask: Any = None, probability: Any = None) -> np.ndarray:
        if mask is not None or probability is not None:
            raise NotImplementedError("PageSpace.sample does not support masks or probabilities")
        return self.np_random.choice(self.candidates, size=self.shape, replace=False).astype(
            self.dtype
        )

    def contains(self, x: Any) -> bool:
        if not super().contains(x):
            return False
        x = np.asarray(x)
        return len(np.unique(x)) == x.size

    def __repr__(self) -> str:
        return f"PageSpace(rows={self.shape[0]}, slots={self.shape[1]}, n_titles={self.n_titles})"


class HomepageEnv(gym.Env[dict[str, Any], dict[str, np.ndarray]]):
    """A member visits the service again and again; each visit, the agent composes the homepage.

    ## Description

    The world (:mod:`simulator.world`) holds titles with hidden attributes and members with
    hidden tastes. One episode follows one member through a fixed number of visits. At each
    visit the agent shows a page of ``rows`` x ``slots`` titles; the member examines it with
    two-dimensional position bias, perhaps plays one title and watches part of it
    (:mod:`simulator.behaviour`). The agent never sees tastes or utilities, only what a
    streaming platform could log.

    ## Action Space

    A ``Dict`` of two arrays of shape ``(rows, slots)``, row 0 the top row, column 0 the
    left-most position:

    - ``"titles"``: :class:`PageSpace` (``env.page_space``), a ``MultiDiscrete`` with every
      entry in ``[0, n_titles)``: the title index shown in each slot. A page may not repeat a
      title, nor show one that is not in the catalogue yet at the visit's time (its
      ``added_at`` is later: the catalogue churns, see ``"available"`` below).
    - ``"artwork"``: ``MultiDiscrete`` with every entry in ``[0, n_artwork_variants)``: the
      artwork variant shown in each slot (its style is in ``"artwork_styles"`` below).

    ``step`` also takes the titles array alone, showing variant 0 everywhere (the artwork is
    optional). A wrong shape, a non-integer dtype, an out-of-range index or variant, a
    repeated title or a title not yet arrived raises ``ValueError``. ``action_space.sample()``
    draws titles from the catalogue when the env's clock starts, so it is always valid.

    ## Observation Space

    A ``Dict`` of what the platform could observe before the visit:

    - ``"genre_plays"``: ``Box(0, history, (13,), float32)``, how many of the member's last
      ``history`` plays carry each genre (order of ``simulator.world.GENRES``).
    - ``"recent_titles"``: ``Box(-1, n_titles - 1, (history,), int64)``, the member's last
      ``history`` plays, most recent first, padded with -1.
    - ``"hour"``: ``Box(0, 24, (1,), float32)``, the hour of day (UTC) of this visit.
    - ``"weekday"``: ``Discrete(7)``, the day of the week of this visit (0 = Monday).
    - ``"device"``: ``Discrete(4)``, the device this visit comes from (index in
      ``simulator.world.DEVICES``: tv, phone, tablet, desktop), as a request carries it.
    - ``"hours_since_last_visit"``: ``Box(-1, 8760, (1,), float32)``, hours since the
      member's previous visit in this episode (-1 at the first visit; capped at a year).
    - ``"is_kids"``: ``Discrete(2)``, 1 for a kids profile.
    - ``"available"``: ``MultiBinary(n_titles)``, 1 for each title in the catalogue at this
      visit (``added_at`` at or before it). Titles arrive during an episode; a page may show
      only available titles, and the member's search finds only them.
    - ``"artwork_styles"``: ``MultiBinary((n_artwork_variants, 4))``, the one-hot style of
      each artwork variant (order of ``simulator.world.ARTWORK_STYLES``), the same for every
      title: what an artwork policy can see of a variant. How a style appeals to this member
      is hidden (``BehaviourConfig.artwork_taste``).

    What members choose depends on context the agent observes: the hour and the weekday
    (``BehaviourConfig.daypart_taste``), the device (``device_taste``), the time since the
    last visit (``return_popularity``) and the shows in progress among the recent plays
    (``series_pull``, read from the titles' ``series`` and ``episode``), all scaled by
    ``context_strength``.

    ## Rewards

    Minutes watched in the visit (0 when the member leaves without playing). Watch time
    rises with the member's true utility of the played title, so it is a noisy proxy of
    satisfaction.

    ## Starting State

    A member drawn uniformly with ``self.np_random`` (or ``options={"member": i}``, or the
    ``member`` constructor argument) with an empty play history, at the first visit of
    simulated day 0, which begins at ``start``. Visit times follow the member's activity and
    daily habit.

    ## Episode End

    Terminated when the member churns (leaves the service for good because recent visits
    disappointed; ``BehaviourConfig.churn_rate=0`` switches churn off). Truncated after
    ``visits_per_episode`` visits.

    ## Info

    ``played`` (bool), ``title`` (index or -1, from the page or found by search),
    ``true_utility`` (of the played title; None if nothing played), ``watched_minutes``,
    ``examined`` (number of items examined), ``searched`` (the member searched because nothing
    on the page appealed), ``abandoned``, ``thumbs_up``, ``thumbs_down``, ``satisfaction`` (the
    member's moving average of true satisfaction after the visit), ``visit_satisfaction`` (this
    visit's), ``churned``, ``member``, ``day``, ``hour``, ``at`` (ISO 8601, UTC),
    ``device`` (its name) of the visit just simulated and ``artwork`` (the variant of the
    slot played from the page, -1 if none). Hidden quantities (utility, satisfaction, churn) are in ``info``
    only, never in the observation.

    ## Arguments

    - ``world``: a :class:`~simulator.world.World`; if None, one is generated from
      ``n_titles``, ``n_members`` and ``world_seed`` (the world is fixed for the env's life;
      ``reset(seed=...)`` seeds the member draw and their behaviour, not the world).
    - ``rows``, ``slots``: page shape, default 4 x 10.
    - ``visits_per_episode``: visits before truncation, default 20.
    - ``history``: length of the play history in the observation, default 20.
    - ``behaviour``: a :class:`~simulator.behaviour.BehaviourConfig`.
    - ``member``: fix the member of every episode.
    - ``start``: the clock at the start of day 0 (default: ``RECENT_DAYS`` = 30 days before
      the world's ``now``, so the titles added in the last month arrive during episodes, as
      in the population runner).
    - ``render_mode``: None or ``"ansi"`` (a line describing the last visit).

    ## Version History

    - v3: artwork variants. Every title has several artwork variants (4 by default, one
      per style of ``simulator.world.ARTWORK_STYLES``), and the action chooses one per slot
      (``{"titles", "artwork"}``; a bare titles array shows variant 0). A variant's appeal
      to a member (their hidden preference for its style, which follows their taste, plus the
      variant's own) enters the perceived utility (``BehaviourConfig.artwork_taste``; 0 or
      ``all_off()`` switch it off), so presentation bias is personal and the variant shown
      changes what is played, even with variant 0 everywhere. ``"artwork_styles"`` joins
      the observation; worlds gain hidden format 5. v2 is no longer registered:
      ``gymnasium.make("simulator/Homepage-v2")`` raises ``DeprecatedEnv``, naming v3.
    - v2: context the platform can observe. Each visit comes from a device (``"device"``
      joins the observation, with ``"hours_since_last_visit"``), drawn from the member's
      hidden device mix, which the daypart shifts; a title's utility depends on the device
      (``BehaviourConfig.device_taste``), on the time since the member's last visit (after
      a long gap the well-known titles, ``return_popularity``) and on a show in progress
      (the next episode, ``series_pull``; worlds of format 4 group series into episodes).
      ``BehaviourConfig.context_strength`` scales every context effect, the daypart tastes
      included (0: choices ignore context; ``all_off()`` switches each off). v1 is no longer
      registered: its observation space and dynamics are gone, so
      ``gymnasium.make("simulator/Homepage-v1")`` raises ``DeprecatedEnv``, naming v2.
    - v1: the clock and the catalogue move. Members' tastes depend on the hour and the
      weekday (daypart and weekend offsets, ``BehaviourConfig.daypart_taste``; 0 switches
      them off, as ``BehaviourConfig.all_off()`` does); day 0 begins at ``start``, and titles
      arrive on that clock (catalogue churn): ``"available"`` and ``"weekday"`` join the
      observation, a page showing a title that has not arrived is rejected, and search never
      finds one (``start=world.now`` has every title in the catalogue from the first visit).
      v0 was unregistered then: no argument of this class gives back its observation
      space and dynamics.
    - v0: position bias, logit choice with outside option, watch time reward; extended
      before any release with presentation bias, abandonment, search, satiation, interest
      drift, weekly habits and churn (termination), each switchable in
      :class:`~simulator.behaviour.BehaviourConfig`. ``BehaviourConfig.all_off()`` with
      ``position_bias=True`` recovers the walking skeleton's dynamics.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        world: World | None = None,
        *,
        rows: int = 4,
        slots: int = 10,
        visits_per_episode: int = 20,
        history: int = 20,
        n_titles: int = 200,
        n_members: int = 50,
        world_seed: int = 0,
        behaviour: BehaviourConfig | None = None,
        member: int | None = None,
        start: datetime | None = None,
        render_mode: str | None = None,
    ) -> None:
        for name, value in [
            ("rows", rows),
            ("slots", slots),
            ("visits_per_episode", visits_per_episode),
            ("history", history),
        ]:
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        if world is None:
            world = World.generate(n_titles, n_members, world_seed, DEFAULT_WORLD_NOW)
        self.world = world
        if member is not None and not 0 <= member < self.world.n_members:
            raise ValueError(f"member {member} out of range [0, {self.world.n_members})")
        self.behaviour = Behaviour(self.world, behaviour)
        self.rows, self.slots = rows, slots
        self.visits_per_episode = visits_per_episode
        self.history = history
        self.fixed_member = member
        self.render_mode = render_mode
        if start is None:
            start = self.world.now - timedelta(days=RECENT_DAYS)
        self.start = as_utc(start)
        self._added_at = self.world.added_at_unix
        n = self.world.n_titles
        self.page_space = PageSpace(rows, slots, n, candidates=self.world.available(self.start))
        """The ``"titles"`` part of the action space."""
        self.n_artwork_variants = self.world.n_artwork_variants
        self.action_space = spaces.Dict(
            {
                "titles": self.page_space,
                "artwork": spaces.MultiDiscrete(
                    np.full((rows, slots), self.n_artwork_variants, dtype=np.int64),
                    dtype=np.int64,
                ),
            }
        )
        self._styles = self.world.artwork_style_matrix
        self.observation_space = spaces.Dict(
            {
                "genre_plays": spaces.Box(0, history, (len(GENRES),), np.float32),
                "recent_titles": spaces.Box(-1, n - 1, (history,), np.int64),
                "hour": spaces.Box(0, 24, (1,), np.float32),
                "weekday": spaces.Discrete(7),
                "device": spaces.Discrete(len(DEVICES)),
                "hours_since_last_visit": spaces.Box(-1, MAX_HOURS_AWAY, (1,), np.float32),
                "is_kids": spaces.Discrete(2),
                "available": spaces.MultiBinary(n),
                "artwork_styles": spaces.MultiBinary(
                    [self.n_artwork_variants, len(ARTWORK_STYLES)]
                ),
            }
        )
        self._genres = self.world.genre_matrix
        self._member: int | None = None
        self._plays: deque[int] = deque(maxlen=history)
        self._pending_hours: list[float] = []
        self._day = -1
        self._hour = 0.0
        self._visits = 0
        self._last: tuple[int, float, VisitOutcome] | None = None
        self._device = 0
        self._previous_visit: datetime | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        member = (options or {}).get("member", self.fixed_member)
        if member is None:
            member = int(self.np_random.integers(self.world.n_members))
        elif not 0 <= member < self.world.n_members:
            raise ValueError(f"member {member} out of range [0, {self.world.n_members})")
        self._member = int(member)
        self.behaviour.reset(self._member)
        self._plays.clear()
        self._pending_hours = []
        self._day = -1
        self._visits = 0
        self._last = None
        self._previous_visit = None
        self._advance_clock()
        info = {"member": self._member, "day": self._day, "hour": self._hour}
        return self._observation(), {**info, "at": format_time(self.clock)}

    @property
    def clock(self) -> datetime:
        """When the current (next to be simulated) visit happens, in UTC."""
        return self.start + timedelta(days=self._day, hours=self._hour)

    def available(self) -> np.ndarray:
        """(n_titles,) bool: titles in the catalogue at the current visit."""
        return self._added_at <= self.clock.timestamp()

    def step(
        self, action: dict[str, np.ndarray] | np.ndarray
    ) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        if self._member is None:
            raise RuntimeError("call reset() before step()")
        page, artwork = self._validate(action)
        if self.behaviour.churned(self._member):
            raise RuntimeError("the member has churned (the episode terminated): call reset()")
        day, hour, at, device = self._day, self._hour, self.clock, self._device
        outcome = self.behaviour.visit(
            self._member, page, self.np_random, at=at, device=device, artwork=artwork
        )
        self._previous_visit = at
        if outcome.title is not None:
            self._plays.appendleft(outcome.title)
        self._visits += 1
        self._last = (day, hour, outcome)
        if not outcome.churned:
            self._advance_clock()
        reward = outcome.watched_seconds / 60.0
        info = {
            "played": outcome.title is not None,
            "title": -1 if outcome.title is None else outcome.title,
            "true_utility": outcome.utility,
            "watched_minutes": reward,
            "examined": len(outcome.examined),
            "searched": outcome.searched,
            "abandoned": outcome.abandoned,
            "satisfaction": self.behaviour.satisfaction(self._member),
            "visit_satisfaction": outcome.satisfaction,
            "churned": outcome.churned,
            "thumbs_up": sum(kind == "thumb_up" for _, kind in outcome.thumbs),
            "thumbs_down": sum(kind == "thumb_down" for _, kind in outcome.thumbs),
            "member": self._member,
            "day": day,
            "hour": hour,
            "at": format_time(at),
            "device": DEVICES[device],
            "artwork": -1
            if outcome.played is None
            else int(0 if artwork is None else artwork[outcome.played]),
        }
        terminated = outcome.churned
        truncated = not terminated and self._visits >= self.visits_per_episode
        return self._observation(), reward, terminated, truncated, info

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        if self._last is None:
            return f"member {self._member}: no visit yet"
        day, hour, outcome = self._last
        when = f"day {day} {int(hour):02d}:{int(hour % 1 * 60):02d}"
        if outcome.title is None:
            what = f"examined {len(outcome.examined)}, left without playing"
        else:
            title = self.world.titles[outcome.title]
            where = "found by search" if outcome.played is None else f"at slot {outcome.played}"
            what = (
                f"examined {len(outcome.examined)}, played {title.external_id} {title.name!r} "
                f"{where}, watched {outcome.watched_seconds / 60:.1f} min"
            )
        return f"{when} member {self._member}: {what}\n"

    def _validate(self, action: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """(titles, artwork or None) of a valid action; ValueError naming what is wrong."""
        artwork = None
        if isinstance(action, dict):
            unknown = set(action) - {"titles", "artwork"}
            if "titles" not in action or unknown:
                raise ValueError(
                    "an action is a titles array or a dict with 'titles' and optionally "
                    f"'artwork', got keys {sorted(action)}"
                )
            if action.get("artwork") is not None:
                artwork = self.behaviour.population.check_artwork(
                    action["artwork"], (self.rows, self.slots)
                )
            action = action["titles"]
        return self._validate_titles(action), artwork

    def _validate_titles(self, action: Any) -> np.ndarray:
        page = np.asarray(action)
        if page.shape != (self.rows, self.slots):
            raise ValueError(
                f"action must have shape ({self.rows}, {self.slots}) (rows, slots), "
                f"got {page.shape}"
            )
        if not np.issubdtype(page.dtype, np.integer):
            raise ValueError(f"action must hold integer title indices, got dtype {page.dtype}")
        n = self.world.n_titles
        bad = page[(page < 0) | (page >= n)]
        if bad.size:
            raise ValueError(f"title index {int(bad[0])} is out of range [0, {n})")
        values, counts = np.unique(page, return_counts=True)
        if (counts > 1).any():
            k = int(np.argmax(counts > 1))
            raise ValueError(
                f"title index {int(values[k])} appears {int(counts[k])} times on the page; "
                "a page shows each title at most once"
            )
        if self._member is not None:
            early = page[~self.available()[page]]
            if early.size:
                i = int(early[0])
                t = self.world.titles[i]
                raise ValueError(
                    f"title index {i} ({t.external_id}) is not in the catalogue yet at "
                    f"{format_time(self.clock)}: it arrives at {format_time(t.added_at)}"
                )
        return page.astype(np.int64)

    def _advance_clock(self) -> None:
        """Move to the member's next visit, skipping days without one, and draw the device
        it comes from (known before the page is composed, as a request carries it)."""
        while not self._pending_hours:
            self._day += 1
            weekday = (self.start + timedelta(days=self._day)).weekday()
            self._pending_hours = self.behaviour.day_visit_hours(
                self._member, self.np_random, weekday=weekday
            ).tolist()
        self._hour = float(self._pending_hours.pop(0))
        self._device = self.behaviour.draw_device(self._member, self.clock, self.np_random)

    def _observation(self) -> dict[str, Any]:
        recent = np.full(self.history, -1, dtype=np.int64)
        recent[: len(self._plays)] = list(self._plays)
        played = recent[recent >= 0]
        since = -1.0
        if self._previous_visit is not None:
            since = min(
                (self.clock - self._previous_visit).total_seconds() / 3600.0, MAX_HOURS_AWAY
            )
        return {
            "genre_plays": self._genres[played].sum(axis=0).astype(np.float32),
            "recent_titles": recent,
            "hour": np.array([self._hour], dtype=np.float32),
            "weekday": self.clock.weekday(),
            "device": self._device,
            "hours_since_last_visit": np.array([since], dtype=np.float32),
            "is_kids": int(self.world.members[self._member].is_kids),
            "available": self.available().astype(np.int8),
            "artwork_styles": self._styles.copy(),
        }
