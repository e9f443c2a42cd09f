"""One vectorized visit engine: :func:`respond_batch`, a batch of visits in six stages.

Each stage is a small function of its own; :func:`respond_batch` calls them in the order of
its docstring's numbered list, which is also the order of their draws from ``rng`` (so a
seed gives the same visits). What each stage models, and the literature behind it, is in
the package docstring (:mod:`simulator.behaviour`) and docs/simulator.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from simulator.behaviour.config import BehaviourConfig
from simulator.behaviour.outcome import BatchOutcome, VisitOutcome, to_visit_outcome

PERSONAL_ROW_PREFIXES: tuple[str, ...] = ("top_picks", "because_you_watched")
"""Row keys whose titles promise something personal ("Top Picks for you"); the row-title
presentation bias favours them."""

UtilityFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(visit (E,), title (E,)) -> (E,) float true utility of each title for the visit's member."""
MaskFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(visit (E,), title (E,)) -> (E,) bool."""
ArtworkFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""(visit (E,), title (E,), artwork variant (E,)) -> (E,) float appeal of the variant shown
to the visit's member (before ``BehaviourConfig.artwork_taste``)."""


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


def row_bonuses(row_keys: tuple[str, ...] | list[str], config: BehaviourConfig) -> np.ndarray:
    """(rows,) perceived-utility bonus of each row from its title (presentation bias)."""
    return np.array(
        [config.row_title_weight * key.startswith(PERSONAL_ROW_PREFIXES) for key in row_keys],
        dtype=np.float64,
    )


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
    artwork: np.ndarray | None = None,
    artwork_appeal: ArtworkFn | None = None,
) -> BatchOutcome:
    """Simulate B visits at once; a pure function of its arguments and ``rng``.

    The stages, in order:

    1. :func:`examine`: which slots the member looks at, and how each examined title
       looks (perceived utility) and really is (true utility).
    2. :func:`abandon`: a bad-looking title may end the scan.
    3. :func:`choose`: a multinomial logit over the examined titles and the outside option.
    4. :func:`search`: a member who played nothing may look up the title they want.
    5. :func:`watch`: how much of the played title is watched, from its true utility.
    6. :func:`give_thumbs`: rare thumbs at extreme utilities.

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
        artwork: (B, rows, columns) int artwork variant shown in each slot; None: variant 0
            everywhere.
        artwork_appeal: how each shown variant appeals to the visit's member (perceived
            only, times ``artwork_taste``); None: the variant does not matter.
    """
    pages = np.asarray(pages)
    if pages.ndim != 3:
        raise ValueError(f"pages must be 3-dimensional (batch, rows, columns), got {pages.shape}")
    n_visits = len(pages)
    if artwork is not None and np.shape(artwork) != pages.shape:
        raise ValueError(
            f"artwork must have the pages' shape {pages.shape}, got {np.shape(artwork)}"
        )
    seen = examine(
        pages,
        utility,
        rng,
        config,
        appeal=appeal,
        row_bonus=row_bonus,
        patience=patience,
        artwork=artwork,
        artwork_appeal=artwork_appeal,
    )
    seen, abandoned = abandon(seen, n_visits, rng, config)
    choice = choose(seen, n_visits, allowed, rng, config)
    searched = search(
        choice,
        len(runtime_minutes),
        utility,
        allowed,
        rng,
        config,
        search_weights=search_weights,
        searchable=searchable,
    )
    watched = watch(choice, runtime_minutes, rng, config)
    thumb = give_thumbs(seen, choice, rng, config)
    return BatchOutcome(
        visit=seen.visit,
        slot=seen.slot,
        title=seen.title,
        utility=seen.utility,
        thumb=thumb,
        played_entry=choice.played_entry,
        played_title=choice.played_title,
        played_utility=choice.played_utility,
        searched=searched,
        abandoned=abandoned,
        watched_fraction=watched.fraction,
        watched_seconds=watched.seconds,
        satisfaction=watched.satisfaction,
        churned=np.zeros(n_visits, dtype=bool),
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


# The stages, in the order respond_batch runs them.


@dataclass
class Examined:
    """The items a batch examined (the entry axis E): in scan order, grouped by visit."""

    visit: np.ndarray
    """(E,) int64 visit (batch row) of each examined item."""
    slot: np.ndarray
    """(E,) int64 flat slot, row * columns + column."""
    title: np.ndarray
    """(E,) int64 title index."""
    utility: np.ndarray
    """(E,) float64 true utility."""
    perceived: np.ndarray
    """(E,) float64 utility as it looks on the page: true utility plus presentation."""

    def keep(self, mask: np.ndarray) -> Examined:
        """The entries where ``mask`` (E,) is true, order kept."""
        return Examined(
            self.visit[mask],
            self.slot[mask],
            self.title[mask],
            self.utility[mask],
            self.perceived[mask],
        )

    def starts(self, n_visits: int) -> np.ndarray:
        """(B,) index of each visit's first entry (its end, for a visit with none)."""
        return np.searchsorted(self.visit, np.arange(n_visits))


@dataclass
class Choice:
    """What each visit played (the visit axis B); search fills in what the page did not."""

    played_entry: np.ndarray
    """(B,) int64 entry played from the page, -1 if none."""
    played_title: np.ndarray
    """(B,) int64 title played (page or search), -1 if none."""
    played_utility: np.ndarray
    """(B,) float64 true utility of the title played, NaN if none."""
    from_page: np.ndarray
    """(B,) bool: the title came from the page."""


@dataclass
class Watched:
    """How much each visit watched (the visit axis B; 0 without a play)."""

    fraction: np.ndarray
    """(B,) float64 share of the runtime watched."""
    seconds: np.ndarray
    """(B,) int64 seconds watched."""
    satisfaction: np.ndarray
    """(B,) float64 expected watched fraction: the visit's true satisfaction."""


def examine(
    pages: np.ndarray,
    utility: UtilityFn,
    rng: np.random.Generator,
    config: BehaviourConfig,
    *,
    appeal: np.ndarray | None,
    row_bonus: np.ndarray | None,
    patience: np.ndarray | None,
    artwork: np.ndarray | None = None,
    artwork_appeal: ArtworkFn | None = None,
) -> Examined:
    """Stage 1, examination: one draw per slot, then the patience budget in scan order.

    With position bias the scan is row by row, left to right; without it, a random order.
    Each examined title gets its true utility and its perceived utility (plus artwork appeal,
    the appeal of the variant shown to this member, and its row's bonus). The variants take
    no draws, so the same seed examines the same slots whatever artwork is shown.
    """
    n_visits, rows, cols = pages.shape
    n_slots = rows * cols
    flat = pages.reshape(n_visits, n_slots)  # (B, n)
    p_examine = examination_probabilities((rows, cols), config).ravel().astype(np.float32)
    seen = rng.random((n_visits, n_slots), dtype=np.float32) < p_examine  # (B, n)
    if config.position_bias:
        seen &= flat >= 0
        visit, slot = np.nonzero(seen)  # row-major: visit by visit, in scan order
    else:
        order = np.argsort(rng.random((n_visits, n_slots)), axis=1)  # (B, n) a random scan order
        seen = np.take_along_axis(seen & (flat >= 0), order, axis=1)
        visit, scan_position = np.nonzero(seen)
        slot = order[visit, scan_position]
    starts = np.searchsorted(visit, np.arange(n_visits))  # (B,) first entry of each visit
    if math.isinf(config.mean_patience):
        budget = np.full(n_visits, n_slots, dtype=np.int64)
    else:
        lam = config.mean_patience * (1.0 if patience is None else np.asarray(patience)) - 1.0
        budget = 1 + rng.poisson(np.maximum(lam, 0.0), size=n_visits)  # (B,)
    within = np.arange(len(visit)) - starts[visit] < budget[visit]
    visit, slot = visit[within], slot[within]
    titles = flat[visit, slot]
    u = np.asarray(utility(visit, titles), dtype=np.float64)  # (E,) true utility
    perceived = u.copy()
    if appeal is not None and config.artwork_weight:
        perceived += config.artwork_weight * appeal[titles]
    if artwork_appeal is not None and config.artwork_taste:
        variants = (
            np.zeros(len(titles), dtype=np.int64)
            if artwork is None
            else np.asarray(artwork).reshape(n_visits, n_slots)[visit, slot]
        )
        perceived += config.artwork_taste * np.asarray(
            artwork_appeal(visit, titles, variants), dtype=np.float64
        )
    if row_bonus is not None:
        perceived += row_bonus[visit, slot // cols]
    return Examined(visit, slot, titles, u, perceived)


def abandon(
    seen: Examined, n_visits: int, rng: np.random.Generator, config: BehaviourConfig
) -> tuple[Examined, np.ndarray]:
    """Stage 2, abandonment: a bad-looking title may end the scan, so the entries after it
    were never seen. Returns the entries kept and (B,) bool, the visits abandoned."""
    abandoned = np.zeros(n_visits, dtype=bool)
    n_entries = len(seen.visit)
    if not (config.abandon_probability > 0 and n_entries):
        return seen, abandoned
    trigger = (seen.perceived < config.abandon_utility) & (
        rng.random(n_entries) < config.abandon_probability
    )
    before = np.cumsum(trigger) - trigger  # triggers strictly before each entry
    before_visit = before[np.minimum(seen.starts(n_visits), n_entries - 1)]  # (B,)
    kept = (before - before_visit[seen.visit]) == 0  # no trigger earlier in the same visit
    abandoned[seen.visit[trigger & kept]] = True
    return seen.keep(kept), abandoned


def choose(
    seen: Examined,
    n_visits: int,
    allowed: MaskFn | None,
    rng: np.random.Generator,
    config: BehaviourConfig,
) -> Choice:
    """Stage 3, choice: the largest perceived utility + Gumbel noise among the examined
    titles the member may play, against the outside option ("leave without playing")."""
    n_entries = len(seen.visit)
    starts = seen.starts(n_visits)
    counts = np.bincount(seen.visit, minlength=n_visits)
    noisy = seen.perceived + rng.gumbel(0.0, config.choice_noise, size=n_entries)
    if allowed is not None and n_entries:
        noisy[~allowed(seen.visit, seen.title)] = -np.inf
    outside = config.outside_utility + rng.gumbel(0.0, config.choice_noise, size=n_visits)
    best = np.full(n_visits, -np.inf)
    has = counts > 0
    if n_entries:
        best[has] = np.maximum.reduceat(noisy, starts[has])
    from_page = best > outside  # (B,)
    played_entry = np.full(n_visits, -1, dtype=np.int64)
    if from_page.any():
        winners = np.flatnonzero((noisy == best[seen.visit]) & from_page[seen.visit])
        won, first_winner = np.unique(seen.visit[winners], return_index=True)  # ties: first
        played_entry[won] = winners[first_winner]
    played_title = np.full(n_visits, -1, dtype=np.int64)
    played_utility = np.full(n_visits, np.nan)
    played_title[from_page] = seen.title[played_entry[from_page]]
    played_utility[from_page] = seen.utility[played_entry[from_page]]
    return Choice(played_entry, played_title, played_utility, from_page)


def search(
    choice: Choice,
    n_titles: int,
    utility: UtilityFn,
    allowed: MaskFn | None,
    rng: np.random.Generator,
    config: BehaviourConfig,
    *,
    search_weights: np.ndarray | None,
    searchable: MaskFn | None,
) -> np.ndarray:
    """Stage 4, search: a member who played nothing may recall ``search_recall`` titles
    (popularity-weighted) and look up the one they want most, whatever the page showed.

    A found title is played if it beats a fresh outside option; ``choice`` records it.
    Returns (B,) bool, the visits that searched.
    """
    n_visits = len(choice.from_page)
    if not config.search_probability > 0:
        return np.zeros(n_visits, dtype=bool)
    searched = ~choice.from_page & (rng.random(n_visits) < config.search_probability)
    who = np.flatnonzero(searched)
    if not len(who):
        return searched
    n_recall = config.search_recall
    if search_weights is None:
        recalled = rng.integers(n_titles, size=(len(who), n_recall))
    else:
        cdf = np.cumsum(search_weights, dtype=np.float64)
        draws = rng.random((len(who), n_recall)) * cdf[-1]
        recalled = np.minimum(np.searchsorted(cdf, draws, side="right"), n_titles - 1)
    recall_visit = np.repeat(who, n_recall)
    recall_title = recalled.ravel()
    recall_u = np.asarray(utility(recall_visit, recall_title), dtype=np.float64)
    noisy = recall_u + rng.gumbel(0.0, config.choice_noise, size=len(recall_u))
    findable = np.ones(len(recall_u), dtype=bool)
    if allowed is not None:
        findable &= allowed(recall_visit, recall_title)
    if searchable is not None:
        findable &= searchable(recall_visit, recall_title)
    noisy[~findable] = -np.inf
    noisy = noisy.reshape(len(who), n_recall)
    best = np.argmax(noisy, axis=1)
    rows = np.arange(len(who))
    # The member asked for it: a second look against a fresh outside option.
    outside = config.outside_utility + rng.gumbel(0.0, config.choice_noise, size=len(who))
    plays = noisy[rows, best] > outside
    choice.played_title[who[plays]] = recalled[rows, best][plays]
    choice.played_utility[who[plays]] = recall_u.reshape(len(who), n_recall)[rows, best][plays]
    return searched


def watch(
    choice: Choice, runtime_minutes: np.ndarray, rng: np.random.Generator, config: BehaviourConfig
) -> Watched:
    """Stage 5, watching: the watched fraction is ``sigmoid(watch_slope * (u - watch_midpoint)
    + noise)`` of the *true* utility, so tempting artwork earns the click, not the watch."""
    play = choice.played_title >= 0
    z = config.watch_slope * (np.nan_to_num(choice.played_utility) - config.watch_midpoint)
    noise = rng.normal(0.0, config.watch_noise, size=len(play)) if config.watch_noise else 0.0
    fraction = np.where(play, _sigmoid(z + noise), 0.0)
    runtime = np.asarray(runtime_minutes)[np.maximum(choice.played_title, 0)]
    seconds = np.where(play, np.round(fraction * 60 * runtime), 0).astype(np.int64)
    return Watched(fraction, seconds, np.where(play, _sigmoid(z), 0.0))


def give_thumbs(
    seen: Examined, choice: Choice, rng: np.random.Generator, config: BehaviourConfig
) -> np.ndarray:
    """Stage 6, thumbs: (E,) int8, +1 up, -1 down, 0 none. A played title at or above
    ``thumb_up_utility`` may get a thumb up; any examined title at or below
    ``thumb_down_utility`` may get a thumb down."""
    n_entries = len(seen.visit)
    thumb = np.zeros(n_entries, dtype=np.int8)
    if not (config.thumb_probability > 0 and n_entries):
        return thumb
    give = rng.random(n_entries) < config.thumb_probability
    is_played = np.zeros(n_entries, dtype=bool)
    is_played[choice.played_entry[choice.from_page]] = True
    thumb[give & is_played & (seen.utility >= config.thumb_up_utility)] = 1
    thumb[give & (seen.utility <= config.thumb_down_utility)] = -1
    return thumb


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))
