"""The row kinds of a homepage. Each fills its row from candidates nobody above it has used."""

from dataclasses import dataclass, field

from catalog.models import Title

DETERMINISTIC = 1.0  # propensity of a slot no explorer randomized


@dataclass
class Slot:
    title: Title
    score: float | None
    propensity: float = DETERMINISTIC


@dataclass
class Row:
    key: str
    title: str
    explanation: str
    policy: str
    slots: list[Slot] = field(default_factory=list)


ROW_KEYS = ("continue_watching", "top_picks", "because_you_watched", "trending_now", "new_releases")


def take(ranked: list[tuple[Title, float | None]], *, used: set[int], size: int) -> list[Slot]:
    """The first `size` titles of `ranked` not used yet on the page; marks them used."""
    slots = []
    for title, score in ranked:
        if len(slots) == size:
            break
        if title.pk not in used:
            used.add(title.pk)
            slots.append(Slot(title, score))
    return slots


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    """Jaccard similarity of two sets of genres: how much two titles are alike."""
    return len(a & b) / len(a | b) if a or b else 0.0
