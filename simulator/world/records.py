"""The public half of a world: titles and accounts, exactly as the platform is given them.

These records are what ``catalog.json`` and ``members.json`` hold and all the platform ever
sees; the hidden half (attributes, tastes, habits) lives in :class:`simulator.world.World`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from simulator.clock import format_time, parse_time

GENRES: list[str] = [
    "Action",
    "Adventure",
    "Animation",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Family",
    "Fantasy",
    "Horror",
    "Romance",
    "Sci-Fi",
    "Thriller",
]
GENRE_INDEX: dict[str, int] = {g: i for i, g in enumerate(GENRES)}
"""Genre name -> its position in ``GENRES`` (a column of ``World.genre_matrix``)."""
MATURITY_RATINGS: list[str] = ["all", "7+", "13+", "16+", "18+"]
KIDS_RATINGS: frozenset[str] = frozenset({"all", "7+"})
KINDS: tuple[str, str] = ("movie", "series")


@dataclass(frozen=True)
class Title:
    """A title as the platform knows it: exactly the fields of one catalog.json entry."""

    external_id: str
    name: str
    kind: str
    genres: tuple[str, ...]
    maturity_rating: str
    runtime_minutes: int
    release_date: date
    added_at: datetime
    synopsis: str
    keywords: tuple[str, ...] = ()
    """Tone keywords (from the unlabelled axes); catalog.json files from before keywords
    existed have none, so it may be empty."""
    series: str | None = None
    """The show this title is an episode of (kind ``series``); None for a movie, and for
    every title of a catalog.json written before series existed."""
    episode: int | None = None
    """The episode's number in its show, from 1 (None when ``series`` is)."""

    @property
    def kids_suitable(self) -> bool:
        return self.maturity_rating in KIDS_RATINGS

    def to_json(self) -> dict:
        return {
            "external_id": self.external_id,
            "name": self.name,
            "kind": self.kind,
            "genres": list(self.genres),
            "maturity_rating": self.maturity_rating,
            "runtime_minutes": self.runtime_minutes,
            "release_date": self.release_date.isoformat(),
            "added_at": format_time(self.added_at),
            "synopsis": self.synopsis,
            "keywords": list(self.keywords),
            "series": self.series,
            "episode": self.episode,
        }

    @classmethod
    def from_json(cls, data: dict) -> Title:
        return cls(
            external_id=data["external_id"],
            name=data["name"],
            kind=data["kind"],
            genres=tuple(data["genres"]),
            maturity_rating=data["maturity_rating"],
            runtime_minutes=int(data["runtime_minutes"]),
            release_date=date.fromisoformat(data["release_date"]),
            added_at=parse_time(data["added_at"]),
            synopsis=data["synopsis"],
            keywords=tuple(data.get("keywords", ())),
            series=data.get("series"),
            episode=None if data.get("episode") is None else int(data["episode"]),
        )


@dataclass(frozen=True)
class Member:
    """A profile ("member" in the API). Its index in ``World.members`` indexes the hidden arrays."""

    key: str
    """Stable simulator-side id, "<username>/<n>"; the platform never sees it."""
    name: str
    """Profile name, unique within its account: how the client finds the platform's member id."""
    is_kids: bool
    username: str


@dataclass(frozen=True)
class Account:
    """A login with its profiles, as written to members.json."""

    username: str
    password: str
    members: tuple[Member, ...]
