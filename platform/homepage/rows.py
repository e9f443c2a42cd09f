"""The row kinds of a homepage. Each fills its row from candidates nobody above it has used."""

from dataclasses import dataclass, field

from catalog.models import Title


@dataclass
class Slot:
    title: Title
    score: float | None


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


def genre_overlap(a: Title, b: Title) -> float:
    """Jaccard similarity of two titles' genres (genres must be prefetched)."""
    ga = {g.pk for g in a.genres.all()}
    gb = {g.pk for g in b.genres.all()}
    return len(ga & gb) / len(ga | gb) if ga or gb else 0.0
