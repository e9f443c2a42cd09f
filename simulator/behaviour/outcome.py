"""What members did with pages: one visit (:class:`VisitOutcome`) or a batch of them
(:class:`BatchOutcome`, the engine's own form)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Slot = tuple[int, int]
"""(row, column) on a page."""


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


def to_visit_outcome(batch: BatchOutcome, i: int, columns: int) -> VisitOutcome:
    """Visit ``i`` of ``batch`` as a :class:`VisitOutcome` (slots as (row, column))."""
    lo, hi = np.searchsorted(batch.visit, [i, i + 1])
    slots = [(int(slot // columns), int(slot % columns)) for slot in batch.slot[lo:hi]]
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
