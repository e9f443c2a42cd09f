"""How a member reacts to a homepage: the one source of truth for the gym env and the HTTP client.

A visit, in order:

1. **Examination with two-dimensional position bias.** The member scans the page row by row,
   left to right, and examines the item in row ``r``, column ``c`` with probability

       P(examine r, c) = row_decay**r * col_decay**c

   independently per slot, until a patience budget (items examined this visit) runs out.
   Unexamined items are never seen, so they can be neither chosen nor judged: the platform's
   logs are missing-not-at-random, and a title's click rate confounds quality with position.
2. **Choice with an outside option.** Each examined title has a true utility
   ``taste . attributes + popularity_weight * log(n_titles * popularity)``. The member picks the
   largest of utility + Gumbel noise among the examined titles and an outside option ("leave
   without playing") of fixed utility, i.e. a multinomial logit. Kids profiles never pick a
   title that is not kids-suitable (they still examine it).
3. **Watching.** A play yields a watched fraction ``sigmoid(watch_slope * (u - watch_midpoint) +
   noise)``: it rises with utility, so watch time is a noisy proxy of satisfaction.
4. **Thumbs.** Rare and extreme: a played title with very high utility may get a thumb up; an
   examined title with very low utility may get a thumb down.

The member-level state that later versions add (satiation, drift, churn) belongs in
:class:`Behaviour`, which today is stateless apart from a per-member utility cache.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.world import World

Slot = tuple[int, int]
"""(row, column) on a page."""


@dataclass(frozen=True)
class BehaviourConfig:
    """Parameters of member behaviour; the defaults are what env and client use."""

    row_decay: float = 0.7
    """Examination factor per row down the page: row r contributes row_decay**r."""
    col_decay: float = 0.85
    """Examination factor per position to the right: column c contributes col_decay**c."""
    mean_patience: float = 10.0
    """Mean number of items examined per visit; a visit's budget is 1 + Poisson(mean - 1)."""
    popularity_weight: float = 0.3
    """Weight of log(n_titles * popularity) in utility: a mild herd effect."""
    outside_utility: float = 3.0
    """Utility of leaving without playing; higher means pickier members."""
    choice_noise: float = 1.0
    """Scale of the Gumbel noise on utilities (and on the outside option)."""
    watch_midpoint: float = 3.0
    """Utility at which a play is, on average, watched half-way."""
    watch_slope: float = 1.2
    """Steepness of the watched fraction in utility."""
    watch_noise: float = 0.8
    """Standard deviation of logit noise on the watched fraction."""
    thumb_up_utility: float = 4.0
    """A played title at or above this utility may get a thumb up."""
    thumb_down_utility: float = -1.5
    """An examined title at or below this utility may get a thumb down."""
    thumb_probability: float = 0.1
    """Chance of giving a thumb when the utility condition holds."""
    activity_scale: float = 1.0
    """Multiplier on every member's visits per day (e.g. to make real-time traffic visible)."""

    def __post_init__(self) -> None:
        for name in ("row_decay", "col_decay"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {value}")
        if self.mean_patience < 1:
            raise ValueError(f"mean_patience must be at least 1, got {self.mean_patience}")
        if self.choice_noise <= 0:
            raise ValueError(f"choice_noise must be positive, got {self.choice_noise}")
        if self.activity_scale <= 0:
            raise ValueError(f"activity_scale must be positive, got {self.activity_scale}")
        if not 0 <= self.thumb_probability <= 1:
            raise ValueError(f"thumb_probability must be in [0, 1], got {self.thumb_probability}")


@dataclass(frozen=True)
class VisitOutcome:
    """What one member did with one page. Slots refer to the page passed in."""

    examined: tuple[Slot, ...]
    """Slots examined, in the order the member looked at them."""
    played: Slot | None
    """Slot of the title played, or None if the member left without playing."""
    title: int | None
    """Title index played, or None."""
    utility: float | None
    """True utility of the played title; None if nothing was played."""
    watched_fraction: float
    """Share of the runtime watched, in (0, 1); 0.0 if nothing was played."""
    watched_seconds: int
    """Seconds watched: watched_fraction times the runtime (one episode for a series)."""
    thumbs: tuple[tuple[Slot, str], ...]
    """(slot, "thumb_up" | "thumb_down") for each thumb given."""


def examination_probabilities(shape: tuple[int, int], config: BehaviourConfig) -> np.ndarray:
    """(rows, columns) probability of examining each slot, before patience runs out."""
    rows, cols = shape
    return np.outer(config.row_decay ** np.arange(rows), config.col_decay ** np.arange(cols))


def respond(
    page: np.ndarray,
    utilities: np.ndarray,
    allowed: np.ndarray,
    runtime_minutes: np.ndarray,
    rng: np.random.Generator,
    config: BehaviourConfig,
) -> VisitOutcome:
    """Simulate one visit to ``page``, a pure function of its arguments and ``rng``.

    Args:
        page: (rows, columns) int array of title indices; -1 marks an empty slot (rows of a
            real homepage have different lengths).
        utilities: (n_titles,) true utility of every title for this member.
        allowed: (n_titles,) bool, titles this member may play (kids-suitable for kids).
        runtime_minutes: (n_titles,) runtime of each title (an episode for a series).
        rng: the only source of randomness.
        config: behaviour parameters.
    """
    page = np.asarray(page)
    if page.ndim != 2:
        raise ValueError(f"page must be 2-dimensional (rows, columns), got shape {page.shape}")
    p_examine = examination_probabilities(page.shape, config)
    # One draw per slot, made up front, so the random stream does not depend on the page content.
    draws = rng.random(page.shape)
    budget = 1 + rng.poisson(config.mean_patience - 1)
    examined: list[Slot] = []
    for r, c in np.ndindex(*page.shape):
        if len(examined) >= budget:
            break
        if page[r, c] >= 0 and draws[r, c] < p_examine[r, c]:
            examined.append((r, c))

    titles = np.array([page[s] for s in examined], dtype=np.int64)
    u = utilities[titles] if len(titles) else np.zeros(0)
    noisy = u + rng.gumbel(0.0, config.choice_noise, size=len(titles))
    noisy[~allowed[titles]] = -np.inf
    outside = config.outside_utility + rng.gumbel(0.0, config.choice_noise)
    watch_noise = rng.normal(0.0, config.watch_noise)
    thumb_draws = rng.random(len(titles))

    played: Slot | None = None
    title: int | None = None
    utility: float | None = None
    fraction, seconds = 0.0, 0
    if len(titles) and noisy.max() > outside:
        k = int(np.argmax(noisy))
        played, title, utility = examined[k], int(titles[k]), float(u[k])
        z = config.watch_slope * (utility - config.watch_midpoint) + watch_noise
        fraction = float(1.0 / (1.0 + np.exp(-z)))
        seconds = int(round(fraction * 60 * int(runtime_minutes[title])))

    thumbs: list[tuple[Slot, str]] = []
    for k, slot in enumerate(examined):
        if thumb_draws[k] >= config.thumb_probability:
            continue
        if slot == played and u[k] >= config.thumb_up_utility:
            thumbs.append((slot, "thumb_up"))
        elif u[k] <= config.thumb_down_utility:
            thumbs.append((slot, "thumb_down"))
    return VisitOutcome(
        examined=tuple(examined),
        played=played,
        title=title,
        utility=utility,
        watched_fraction=fraction,
        watched_seconds=seconds,
        thumbs=tuple(thumbs),
    )


def day_visit_hours(
    rng: np.random.Generator, activity: float, peak_hour: float, hour_spread: float
) -> np.ndarray:
    """Sorted hours of day (in [0, 24)) of one day's visits of one member.

    The count is Poisson(activity) and each time is normal around the member's peak hour,
    wrapped at midnight: a Poisson process whose intensity follows the member's daily habit.
    Independent days (or independent draws restricted to disjoint windows) are exchangeable.
    """
    n = rng.poisson(activity)
    return np.sort(rng.normal(peak_hour, hour_spread, size=n) % 24.0)


class Behaviour:
    """Members of one world reacting to pages; the place where per-member state will live."""

    def __init__(self, world: World, config: BehaviourConfig | None = None) -> None:
        self.world = world
        self.config = config or BehaviourConfig()
        self._log_popularity = np.log(world.n_titles * world.popularity)
        self._kids_suitable = world.kids_suitable
        self._all_allowed = np.ones(world.n_titles, dtype=bool)
        self._runtime = world.runtime_minutes
        self._utilities: dict[int, np.ndarray] = {}

    def utilities(self, member: int) -> np.ndarray:
        """(n_titles,) true utility of every title for ``member`` (read-only, cached)."""
        if member not in self._utilities:
            u = self.world.affinity(member) + self.config.popularity_weight * self._log_popularity
            u.setflags(write=False)
            self._utilities[member] = u
        return self._utilities[member]

    def allowed(self, member: int) -> np.ndarray:
        """(n_titles,) bool, titles the member would ever play."""
        return self._kids_suitable if self.world.members[member].is_kids else self._all_allowed

    def visit(self, member: int, page: np.ndarray, rng: np.random.Generator) -> VisitOutcome:
        """``member`` visits ``page`` (title indices, -1 for an empty slot)."""
        return respond(
            page, self.utilities(member), self.allowed(member), self._runtime, rng, self.config
        )

    def day_visit_hours(self, member: int, rng: np.random.Generator) -> np.ndarray:
        """Hours of day of ``member``'s visits on one day; see :func:`day_visit_hours`."""
        w = self.world
        activity = float(w.activity[member]) * self.config.activity_scale
        return day_visit_hours(
            rng, activity, float(w.peak_hour[member]), float(w.hour_spread[member])
        )
