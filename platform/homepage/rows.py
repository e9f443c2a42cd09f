"""What a homepage is made of: candidate rows from the row builders, filled into rows of slots.

A builder proposes a `CandidateRow`: its titles ranked best first, with the score or reason
each is shown. `rows_fill` turns the candidate rows, in page order, into `Row`s of at most
`size` slots, giving each title to the first row that proposes it, so no title is shown
twice on a page. Whatever reorders rows or replaces slots (the explorer, later) works on
candidate rows before they are filled, or on the filled rows before the page is recorded.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from catalog.models import Title

DETERMINISTIC = 1.0  # propensity of a slot no explorer randomized


@dataclass(frozen=True)
class CandidateRow:
    """A row a builder proposes: `ranked` is (title, score) best first, possibly longer than a
    row, and may hold titles an earlier row shows too (`rows_fill` skips those)."""

    key: str
    title: str
    explanation: str
    policy: str
    ranked: Sequence[tuple[Title, float | None]]


class RankedTitles(Sequence):
    """A builder's ranking of many titles as (title, score) pairs made as they are read:
    `titles[i]` with `score(i)` for each index i of `order`. A builder that ranks the whole
    catalogue proposes 5,000 titles, of which `rows_fill` reads the first few dozen."""

    def __init__(self, titles: list[Title], order: np.ndarray, score: Callable[[int], object]):
        self._titles, self._order, self._score = titles, order, score

    def __len__(self) -> int:
        return len(self._order)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._pair(i) for i in self._order[index].tolist()]
        return self._pair(int(self._order[index]))

    def __iter__(self) -> Iterator[tuple[Title, object]]:
        for i in self._order.tolist():
            yield self._titles[i], self._score(i)

    def _pair(self, i: int) -> tuple[Title, object]:
        return self._titles[i], self._score(i)


@dataclass
class Slot:
    """A title in a row. A slot the explorer filled says so (`explored`), with the policy
    that chose it, the probability it had (given the explored positions above it) and the
    state it chose from; every other slot is deterministic, propensity 1.0. `artwork` is
    the variant drawn (0: the title's own), with its probability and policy."""

    title: Title
    score: float | None
    propensity: float = DETERMINISTIC
    explored: bool = False
    policy: str | None = None  # None: the row's policy
    state_id: int | None = None  # the BanditState the explorer chose from
    estimated: bool = False  # propensity is a Monte Carlo estimate ...
    draws: int = 0  # ... from this many draws
    inputs: dict = field(default_factory=dict)  # the bandit's context and features, logged
    artwork: int = 0
    artwork_propensity: float = DETERMINISTIC
    artwork_policy: str = ""
    artwork_state_id: int | None = None


@dataclass
class Row:
    key: str
    title: str
    explanation: str
    policy: str
    slots: list[Slot] = field(default_factory=list)


def rows_fill(candidates: list[CandidateRow], *, size: int) -> list[Row]:
    """Fill each candidate row, in order, with its first `size` titles not used by a row above
    it; rows left empty are dropped."""
    used: set[int] = set()
    rows = []
    for candidate in candidates:
        slots = []
        for title, score in candidate.ranked:
            if len(slots) == size:
                break
            if title.id not in used:
                used.add(title.id)
                slots.append(Slot(title, score))
        if slots:
            rows.append(
                Row(candidate.key, candidate.title, candidate.explanation, candidate.policy, slots)
            )
    return rows


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    """Jaccard similarity of two sets of genres: how much two titles are alike."""
    return len(a & b) / len(a | b) if a or b else 0.0
