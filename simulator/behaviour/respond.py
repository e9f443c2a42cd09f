"""How members react to homepages: the one source of truth for the env, the runner and the client.

Everything a member does with a page is computed by one vectorized function,
:func:`respond_batch`, for a batch of visits at once. The single-member paths (the Gymnasium
env, the HTTP client, :func:`respond`) call it with a batch of one, so the fast population
runner and the slow, faithful paths cannot drift apart.

A visit, in order (each step has a named parameter in :class:`BehaviourConfig` and an off
switch, listed in docs/simulator.md):

1. **Examination with two-dimensional position bias** (Craswell et al. 2008's examination
   hypothesis; Joachims et al. 2005/2017 on position bias). The member scans the page row by
   row, left to right, and examines the item in row ``r``, column ``c`` with probability
   ``row_decay**r * col_decay**c``, independently per slot, until a patience budget (items
   examined this visit) runs out. Unexamined items are never seen, so the platform's logs are
   missing-not-at-random (Schnabel et al. 2016) and a title's click rate confounds quality with
   position. ``position_bias=False`` makes every slot equally likely to be seen, in random
   order: click rates become flat across positions.
2. **Abandonment.** After examining a title that looks bad (perceived utility below
   ``abandon_utility``) the member gives up on the page with probability
   ``abandon_probability``.
3. **Choice with an outside option.** Each examined title has a true utility (taste .
   attributes + social proof ``popularity_weight * log(n_titles * popularity)``, minus
   satiation) and a *perceived* utility that adds presentation: artwork appeal and the row's
   title. The member picks the largest perceived utility + Gumbel noise among the examined
   titles and an outside option ("leave without playing"): a multinomial logit.
   Kids profiles never pick a title that is not kids-suitable (they still examine it).
4. **Search.** A member who played nothing from the page searches with probability
   ``search_probability``: they recall ``search_recall`` titles they have heard of (weighted by
   popularity) and look up the one they want most. Search finds what the member wanted, not
   what was shown, so it is the path that escapes the recommender's feedback loop.
5. **Watching.** A play yields a watched fraction ``sigmoid(watch_slope * (u - watch_midpoint) +
   noise)`` of the *true* utility: tempting artwork earns the click, not the watch time, so
   plays are a noisy proxy of satisfaction.
6. **Thumbs.** Rare and extreme: a played title with very high utility may get a thumb up; an
   examined title with very low utility may get a thumb down.

Utility depends on the clock (**daypart tastes**): a member's effective taste at a visit is
their taste plus ``daypart_taste`` x a mix of their hidden daypart offsets (morning,
afternoon, evening, night; :data:`simulator.world.DAYPARTS`), weighted smoothly by the visit's
hour of day (:func:`daypart_weights`), plus their weekend offset on Saturdays and Sundays. So
the same member wants documentaries at breakfast and comedy after dinner: the hour and the
weekday carry signal about *what* is played, which only a model with time features can use.
Times are unix seconds read in UTC, the world's clock and the recommender's.

Member state (:class:`Population`) then moves:

- **Satiation**: a title played recently loses ``satiation`` utility per play in the member's
  last ``satiation_memory`` plays.
- **Interest drift** toward what was watched: the taste vector turns by ``drift_rate`` x
  watched fraction toward the title's attributes (its length kept). This is the mechanism by
  which a recommender trained on its own exposures homogenizes what people watch (Chaney,
  Stewart and Engelhardt 2018).
- **Satisfaction and churn**: each visit's true satisfaction (the expected watched fraction of
  the play, 0 without one) enters an exponential moving average; when it falls below
  ``churn_threshold`` the member leaves the service for good with a hazard up to
  ``churn_rate`` per visit. Retention is the long-term outcome a policy should be judged on.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from simulator.world import DAYPART_HOURS, N_TASTE_OFFSETS, World

Slot = tuple[int, int]
"""(row, column) on a page."""

PERSONAL_ROW_PREFIXES: tuple[str, ...] = ("top_picks", "because_you_watched")
"""Row keys whose titles promise something personal ("Top Picks for you"); the row-title
presentation bias favours them."""

UtilityFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(visit (E,), title (E,)) -> (E,) float true utility of each title for the visit's member."""
MaskFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(visit (E,), title (E,)) -> (E,) bool."""


@dataclass(frozen=True)
class BehaviourConfig:
    """Parameters of member behaviour; the defaults are what env, runner and client use.

    Every mechanism has an off switch, named in its field's docstring.
    """

    position_bias: bool = True
    """Examination falls with row and column; False: every slot equally likely, random order."""
    row_decay: float = 0.7
    """Examination factor per row down the page: row r contributes row_decay**r (1: off)."""
    col_decay: float = 0.85
    """Examination factor per position to the right: column c contributes col_decay**c (1: off)."""
    mean_patience: float = 10.0
    """Mean items examined per visit; budget 1 + Poisson(mean x member patience - 1) (inf: off)."""
    abandon_utility: float = -1.0
    """A title perceived below this utility may make the member give up on the page."""
    abandon_probability: float = 0.15
    """Chance of giving up after examining such a title (0: off)."""
    popularity_weight: float = 0.3
    """Weight of log(n_titles * popularity) in utility: social proof, a herd effect (0: off)."""
    artwork_weight: float = 0.5
    """Weight of the title's hidden artwork appeal in *perceived* utility only (0: off)."""
    row_title_weight: float = 0.3
    """Perceived-utility bonus of titles in a personal row such as Top Picks (0: off)."""
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
    """Chance of giving a thumb when the utility condition holds (0: off)."""
    search_probability: float = 0.3
    """Chance that a member who played nothing from the page searches (0: off)."""
    search_recall: int = 30
    """Titles a searching member recalls (popularity-weighted); they look up the best one."""
    satiation: float = 1.0
    """Utility lost per play of the same title among the member's recent plays (0: off)."""
    satiation_memory: int = 20
    """How many recent plays satiation remembers."""
    drift_rate: float = 0.05
    """How far a taste turns toward a watched title's attributes per full watch (0: off)."""
    satisfaction_rate: float = 0.3
    """Weight of the latest visit in the moving average of satisfaction."""
    initial_satisfaction: float = 0.5
    """Satisfaction of a member before any visit."""
    churn_threshold: float = 0.25
    """Average satisfaction below which a member may leave the service."""
    churn_rate: float = 0.03
    """Churn hazard per visit at zero satisfaction, falling linearly to 0 at the threshold (0: off)."""
    activity_scale: float = 1.0
    """Multiplier on every member's visits per day (e.g. to make real-time traffic visible).
    It compresses time: the churn hazard per visit is divided by it, so retention per
    simulated day does not depend on it."""
    weekly_habits: bool = True
    """Members visit more at weekends (their hidden weekend factor); False: every day alike."""
    daypart_taste: float = 1.0
    """Strength of the hidden daypart and weekend taste offsets mixed into a member's taste by
    the visit's hour and weekday (0: off, tastes ignore the clock)."""
    daypart_sharpness: float = 2.0
    """Concentration of the cyclic daypart weights: 0 mixes all dayparts equally at every
    hour, larger values switch more abruptly from one daypart to the next."""

    def __post_init__(self) -> None:
        for name in ("row_decay", "col_decay"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {value}")
        if not self.mean_patience >= 1:
            raise ValueError(
                f"mean_patience must be at least 1 (inf: off), got {self.mean_patience}"
            )
        if self.choice_noise <= 0:
            raise ValueError(f"choice_noise must be positive, got {self.choice_noise}")
        if self.activity_scale <= 0:
            raise ValueError(f"activity_scale must be positive, got {self.activity_scale}")
        for name in (
            "thumb_probability",
            "search_probability",
            "abandon_probability",
            "satisfaction_rate",
            "churn_rate",
            "initial_satisfaction",
            "churn_threshold",
        ):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        for name in (
            "satiation",
            "drift_rate",
            "artwork_weight",
            "watch_noise",
            "daypart_taste",
            "daypart_sharpness",
        ):
            value = getattr(self, name)
            if not value >= 0:
                raise ValueError(f"{name} must be at least 0, got {value}")
        for name in ("search_recall", "satiation_memory"):
            value = getattr(self, name)
            if not (isinstance(value, int | np.integer) and value >= 1):
                raise ValueError(f"{name} must be a whole number at least 1, got {value!r}")

    @classmethod
    def all_off(cls, **overrides: object) -> BehaviourConfig:
        """Every optional mechanism switched off (the walking skeleton's member, minus the
        position bias): a baseline to switch mechanisms back on one at a time."""
        off = {
            "position_bias": False,
            "mean_patience": math.inf,
            "abandon_probability": 0.0,
            "popularity_weight": 0.0,
            "artwork_weight": 0.0,
            "row_title_weight": 0.0,
            "thumb_probability": 0.0,
            "search_probability": 0.0,
            "satiation": 0.0,
            "drift_rate": 0.0,
            "churn_rate": 0.0,
            "weekly_habits": False,
            "daypart_taste": 0.0,
        }
        return cls(**{**off, **overrides})  # type: ignore[arg-type]


@dataclass(frozen=True)
class VisitOutcome:
    """What one member did with one page. Slots refer to the page passed in."""

    examined: tuple[Slot, ...]
    """Slots examined, in the order the member looked at them."""
    played: Slot | None
    """Slot of the title played, or None if nothing was played from the page."""
    title: int | None
    """Title index played (from the page or found by search), or None."""
    utility: float | None
    """True utility of the played title; None if nothing was played."""
    watched_fraction: float
    """Share of the runtime watched, in (0, 1); 0.0 if nothing was played."""
    watched_seconds: int
    """Seconds watched: watched_fraction times the runtime (one episode for a series)."""
    thumbs: tuple[tuple[Slot, str], ...]
    """(slot, "thumb_up" | "thumb_down") for each thumb given."""
    searched: bool = False
    """The member searched (nothing on the page appealed); ``title`` is then what search found
    and was played, or None if the found title did not appeal either."""
    abandoned: bool = False
    """The member gave up on the page after a bad-looking title."""
    satisfaction: float = 0.0
    """True satisfaction of this visit: the expected watched fraction of the play, 0 without."""
    churned: bool = False
    """The member left the service for good after this visit (a stateful :class:`Behaviour`)."""


@dataclass
class BatchOutcome:
    """What a batch of B visits did. Entry arrays (E,) list examined items in scan order,
    grouped by visit; visit arrays (B,) hold one value per visit."""

    visit: np.ndarray
    """(E,) int64 visit (batch row) of each examined item."""
    slot: np.ndarray
    """(E,) int64 flat slot, row * slots + column."""
    title: np.ndarray
    """(E,) int64 title index of each examined item."""
    utility: np.ndarray
    """(E,) float64 true utility of each examined item."""
    thumb: np.ndarray
    """(E,) int8: +1 thumb up, -1 thumb down, 0 none."""
    played_entry: np.ndarray
    """(B,) int64 entry played from the page, -1 if none."""
    played_title: np.ndarray
    """(B,) int64 title played (page or search), -1 if none."""
    played_utility: np.ndarray
    """(B,) float64 true utility of the title played, NaN if none."""
    searched: np.ndarray
    """(B,) bool: the member searched."""
    abandoned: np.ndarray
    """(B,) bool: the member gave up on the page."""
    watched_fraction: np.ndarray
    """(B,) float64, 0 without a play."""
    watched_seconds: np.ndarray
    """(B,) int64, 0 without a play."""
    satisfaction: np.ndarray
    """(B,) float64 true satisfaction of the visit (expected watched fraction, 0 without play)."""
    churned: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    """(B,) bool: the member churned after this visit (filled by :class:`Population`)."""

    @property
    def played(self) -> np.ndarray:
        """(B,) bool: a title was played (from the page or by search)."""
        return self.played_title >= 0


def examination_probabilities(shape: tuple[int, int], config: BehaviourConfig) -> np.ndarray:
    """(rows, columns) probability of examining each slot, before patience runs out.

    With ``position_bias`` off every slot gets the page's mean probability, so the expected
    number of items examined is the same and only their placement changes.
    """
    rows, cols = shape
    p = np.outer(config.row_decay ** np.arange(rows), config.col_decay ** np.arange(cols))
    if not config.position_bias and p.size:
        p = np.full_like(p, p.mean())
    return p


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


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def respond_batch(
    pages: np.ndarray,
    utility: UtilityFn,
    allowed: MaskFn | None,
    runtime_minutes: np.ndarray,
    rng: np.random.Generator,
    config: BehaviourConfig,
    *,
    appeal: np.ndarray | None = None,
    row_bonus: np.ndarray | None = None,
    patience: np.ndarray | None = None,
    search_weights: np.ndarray | None = None,
    searchable: MaskFn | None = None,
) -> BatchOutcome:
    """Simulate B visits at once; a pure function of its arguments and ``rng``.

    Args:
        pages: (B, rows, columns) int title indices; -1 marks an empty slot.
        utility: true utility of (visit, title) pairs; called only for examined or recalled
            titles, so a population never computes utilities it does not need.
        allowed: which (visit, title) pairs the member may play (kids); None: all.
        runtime_minutes: (n_titles,) runtime of each title (an episode for a series).
        rng: the only source of randomness.
        config: behaviour parameters.
        appeal: (n_titles,) hidden artwork appeal (perceived only); None: none.
        row_bonus: (B, rows) perceived-utility bonus of each row (its title); None: none.
        patience: (B,) multiplier on ``mean_patience`` of each visit's member; None: 1.
        search_weights: (n_titles,) how likely a searching member recalls each title
            (popularity); None: uniform.
        searchable: which (visit, title) pairs search can find (in the catalogue at the
            visit's time); None: all.
    """
    pages = np.asarray(pages)
    if pages.ndim != 3:
        raise ValueError(f"pages must be 3-dimensional (batch, rows, columns), got {pages.shape}")
    b, rows, cols = pages.shape
    n_slots = rows * cols
    n_titles = len(runtime_minutes)
    flat = pages.reshape(b, n_slots)  # (B, n)

    # 1. Examination: one draw per slot, then the patience budget in scan order.
    p_examine = examination_probabilities((rows, cols), config).ravel().astype(np.float32)
    seen = rng.random((b, n_slots), dtype=np.float32) < p_examine  # (B, n)
    if config.position_bias:
        seen &= flat >= 0
        vis, slot = np.nonzero(seen)  # row-major: visit by visit, in scan order
    else:
        order = np.argsort(rng.random((b, n_slots)), axis=1)  # (B, n) a random scan order
        seen = np.take_along_axis(seen & (flat >= 0), order, axis=1)
        vis, k = np.nonzero(seen)
        slot = order[vis, k]
    starts = np.searchsorted(vis, np.arange(b))  # (B,) first entry of each visit
    if math.isinf(config.mean_patience):
        budget = np.full(b, n_slots, dtype=np.int64)
    else:
        lam = config.mean_patience * (1.0 if patience is None else np.asarray(patience)) - 1.0
        budget = 1 + rng.poisson(np.maximum(lam, 0.0), size=b)  # (B,)
    keep = np.arange(len(vis)) - starts[vis] < budget[vis]
    vis, slot = vis[keep], slot[keep]
    titles = flat[vis, slot]
    u = np.asarray(utility(vis, titles), dtype=np.float64)  # (E,) true utility
    perceived = u.copy()
    if appeal is not None and config.artwork_weight:
        perceived += config.artwork_weight * appeal[titles]
    if row_bonus is not None:
        perceived += row_bonus[vis, slot // cols]

    # 2. Abandonment: a bad-looking title may end the scan; the entries after it were never seen.
    abandoned = np.zeros(b, dtype=bool)
    if config.abandon_probability > 0 and len(vis):
        trigger = (perceived < config.abandon_utility) & (
            rng.random(len(vis)) < config.abandon_probability
        )
        starts = np.searchsorted(vis, np.arange(b))
        before = np.cumsum(trigger) - trigger  # triggers strictly before each entry
        first = before[np.minimum(starts, len(vis) - 1)]
        keep = (before - first[vis]) == 0
        abandoned[vis[trigger & keep]] = True
        vis, slot, titles, u, perceived = (a[keep] for a in (vis, slot, titles, u, perceived))
    n_entries = len(vis)
    starts = np.searchsorted(vis, np.arange(b))
    counts = np.bincount(vis, minlength=b)

    # 3. Choice: multinomial logit with an outside option.
    noisy = perceived + rng.gumbel(0.0, config.choice_noise, size=n_entries)
    if allowed is not None and n_entries:
        noisy[~allowed(vis, titles)] = -np.inf
    outside = config.outside_utility + rng.gumbel(0.0, config.choice_noise, size=b)
    best = np.full(b, -np.inf)
    has = counts > 0
    if n_entries:
        best[has] = np.maximum.reduceat(noisy, starts[has])
    from_page = best > outside  # (B,)
    played_entry = np.full(b, -1, dtype=np.int64)
    if from_page.any():
        winners = np.flatnonzero((noisy == best[vis]) & from_page[vis])
        first_vis, first_idx = np.unique(vis[winners], return_index=True)
        played_entry[first_vis] = winners[first_idx]
    played_title = np.full(b, -1, dtype=np.int64)
    played_utility = np.full(b, np.nan)
    played_title[from_page] = titles[played_entry[from_page]]
    played_utility[from_page] = u[played_entry[from_page]]

    # 4. Search: the member looks up what they wanted, whatever the page showed.
    searched = np.zeros(b, dtype=bool)
    if config.search_probability > 0:
        searched = ~from_page & (rng.random(b) < config.search_probability)
        who = np.flatnonzero(searched)
        if len(who):
            r = config.search_recall
            if search_weights is None:
                recalled = rng.integers(n_titles, size=(len(who), r))
            else:
                cdf = np.cumsum(search_weights, dtype=np.float64)
                recalled = np.searchsorted(cdf, rng.random((len(who), r)) * cdf[-1], side="right")
                recalled = np.minimum(recalled, n_titles - 1)
            s_vis = np.repeat(who, r)
            s_titles = recalled.ravel()
            s_u = np.asarray(utility(s_vis, s_titles), dtype=np.float64)
            s_noisy = s_u + rng.gumbel(0.0, config.choice_noise, size=len(s_u))
            ok = np.ones(len(s_u), dtype=bool)
            if allowed is not None:
                ok &= allowed(s_vis, s_titles)
            if searchable is not None:
                ok &= searchable(s_vis, s_titles)
            s_noisy[~ok] = -np.inf
            s_noisy = s_noisy.reshape(len(who), r)
            k = np.argmax(s_noisy, axis=1)
            wanted = s_noisy[np.arange(len(who)), k]
            found = recalled[np.arange(len(who)), k]
            # The member asked for it: a second look against a fresh outside option.
            plays = wanted > config.outside_utility + rng.gumbel(
                0.0, config.choice_noise, size=len(who)
            )
            played_title[who[plays]] = found[plays]
            played_utility[who[plays]] = s_u.reshape(len(who), r)[np.arange(len(who)), k][plays]

    # 5. Watching, from true utility only.
    play = played_title >= 0
    z = config.watch_slope * (np.nan_to_num(played_utility) - config.watch_midpoint)
    watch_noise = rng.normal(0.0, config.watch_noise, size=b) if config.watch_noise else 0.0
    fraction = np.where(play, _sigmoid(z + watch_noise), 0.0)
    runtime = np.asarray(runtime_minutes)[np.maximum(played_title, 0)]
    seconds = np.where(play, np.round(fraction * 60 * runtime), 0).astype(np.int64)
    satisfaction = np.where(play, _sigmoid(z), 0.0)

    # 6. Thumbs.
    thumb = np.zeros(n_entries, dtype=np.int8)
    if config.thumb_probability > 0 and n_entries:
        give = rng.random(n_entries) < config.thumb_probability
        is_played = np.zeros(n_entries, dtype=bool)
        is_played[played_entry[from_page]] = True
        thumb[give & is_played & (u >= config.thumb_up_utility)] = 1
        thumb[give & ~is_played & (u <= config.thumb_down_utility)] = -1
        thumb[give & is_played & (u <= config.thumb_down_utility)] = -1

    return BatchOutcome(
        visit=vis,
        slot=slot,
        title=titles,
        utility=u,
        thumb=thumb,
        played_entry=played_entry,
        played_title=played_title,
        played_utility=played_utility,
        searched=searched,
        abandoned=abandoned,
        watched_fraction=fraction,
        watched_seconds=seconds,
        satisfaction=satisfaction,
        churned=np.zeros(b, dtype=bool),
    )


def to_visit_outcome(batch: BatchOutcome, i: int, columns: int) -> VisitOutcome:
    """Visit ``i`` of ``batch`` as a :class:`VisitOutcome` (slots as (row, column))."""
    lo, hi = np.searchsorted(batch.visit, [i, i + 1])
    slots = [(int(s // columns), int(s % columns)) for s in batch.slot[lo:hi]]
    entry = int(batch.played_entry[i])
    title = int(batch.played_title[i])
    thumbs = tuple(
        (slots[k], "thumb_up" if batch.thumb[lo + k] > 0 else "thumb_down")
        for k in range(hi - lo)
        if batch.thumb[lo + k]
    )
    return VisitOutcome(
        examined=tuple(slots),
        played=slots[entry - lo] if entry >= 0 else None,
        title=title if title >= 0 else None,
        utility=float(batch.played_utility[i]) if title >= 0 else None,
        watched_fraction=float(batch.watched_fraction[i]),
        watched_seconds=int(batch.watched_seconds[i]),
        thumbs=thumbs,
        searched=bool(batch.searched[i]),
        abandoned=bool(batch.abandoned[i]),
        satisfaction=float(batch.satisfaction[i]),
        churned=bool(batch.churned[i]) if len(batch.churned) else False,
    )


def respond(
    page: np.ndarray,
    utilities: np.ndarray,
    allowed: np.ndarray,
    runtime_minutes: np.ndarray,
    rng: np.random.Generator,
    config: BehaviourConfig,
) -> VisitOutcome:
    """Simulate one stateless visit to ``page``: :func:`respond_batch` with a batch of one.

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
    batch = respond_batch(
        page[None],
        lambda v, t: utilities[t],
        lambda v, t: allowed[t],
        runtime_minutes,
        rng,
        config,
    )
    return to_visit_outcome(batch, 0, page.shape[1])


def day_visit_hours(
    rng: np.random.Generator,
    activity: float,
    peak_hour: float,
    hour_spread: float,
    *,
    weekend_factor: float = 1.0,
    weekend: bool = False,
) -> np.ndarray:
    """Sorted hours of day (in [0, 24)) of one day's visits of one member.

    The count is Poisson(activity, times ``weekend_factor`` on a weekend day) and each time is
    normal around the member's peak hour, wrapped at midnight: a Poisson process whose
    intensity follows the member's daily and weekly habit.
    """
    n = rng.poisson(activity * (weekend_factor if weekend else 1.0))
    return np.sort(rng.normal(peak_hour, hour_spread, size=n) % 24.0)


def row_bonuses(row_keys: tuple[str, ...] | list[str], config: BehaviourConfig) -> np.ndarray:
    """(rows,) perceived-utility bonus of each row from its title (presentation bias)."""
    return np.array(
        [config.row_title_weight * key.startswith(PERSONAL_ROW_PREFIXES) for key in row_keys],
        dtype=np.float64,
    )


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
        w = daypart_weights(np.asarray(at, dtype=np.float64), c.daypart_sharpness)  # (B, K)
        offset = np.einsum("bk,bkd->bd", w.astype(np.float32), self.daypart_offsets[members])
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

    def _update(self, members: np.ndarray, batch: BatchOutcome, rng: np.random.Generator) -> None:
        c = self.config
        play = batch.played
        who, titles = members[play], batch.played_title[play]
        if len(who):
            self.recent[who, self.n_plays[who] % c.satiation_memory] = titles
            self.n_plays[who] += 1
            if c.drift_rate:
                step = c.drift_rate * batch.watched_fraction[play].astype(np.float32)
                t = self.tastes[who] + step[:, None] * self.attributes[titles]  # (P, D)
                norm = np.linalg.norm(t, axis=1)
                self.tastes[who] = t * (self.taste_norm[who] / np.maximum(norm, 1e-9))[:, None]
        s = (1 - c.satisfaction_rate) * self.satisfaction[members]
        s += c.satisfaction_rate * batch.satisfaction
        self.satisfaction[members] = s
        if c.churn_rate and c.churn_threshold > 0:
            hazard = c.churn_rate * np.clip((c.churn_threshold - s) / c.churn_threshold, 0, 1)
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
        """Hours of day of ``member``'s visits on one day (``weekday`` 0 = Monday; None: a
        weekday); see :func:`day_visit_hours`."""
        w = self.world
        activity = float(w.activity[member]) * self.config.activity_scale
        return day_visit_hours(
            rng,
            activity,
            float(w.peak_hour[member]),
            float(w.hour_spread[member]),
            weekend_factor=float(w.weekend_factor[member]) if self.config.weekly_habits else 1.0,
            weekend=weekday is not None and weekday >= 5,
        )
