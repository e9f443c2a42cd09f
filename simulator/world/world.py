"""A synthetic world: a catalogue of titles and the members who watch them, generated from a seed.

The world has two halves. The *public* half (titles with their metadata, accounts with their
profiles) is what a streaming service would know; it is written to ``catalog.json`` and
``members.json`` and is all the platform ever sees. The *hidden* half (each title's attribute
vector and popularity prior, each member's taste vector, activity and daily habits) is what only
the members themselves "know"; it lives in ``hidden.npz`` and drives :mod:`simulator.behaviour`.

Generative story, in order:

1. Thirteen genre directions are orthonormal vectors in an ``ATTRIBUTE_DIM``-dimensional space;
   the remaining dimensions are aspects of a title (tone, pace, ...) that no genre label shows.
2. A title draws one to three "true" genres, and its hidden attributes are the sum of their
   directions plus noise, with extra spread in the unlabelled dimensions. Its *published* genres
   are read back from the attributes (projection above a threshold), so they are informative but
   incomplete: a label is sometimes missing or spurious, and the unlabelled dimensions never show.
3. Maturity rating, kind, runtime, dates, name and synopsis follow from the published genres.
4. Members belong to taste clusters. A cluster favours two or three genres; a member's taste is
   the cluster's centre plus individual noise, so tastes are genre-correlated (learnable) but
   personal. Kids profiles belong to a kids cluster (Animation, Family, ...).
5. Activity (visits per day) is power-law distributed: a few members visit a lot. Members also
   have weekly habits (more visits at the weekend, kids most of all) and a patience of their
   own (how much of a page they look at), both hidden.
6. Each title has a hidden artwork appeal: how tempting its artwork is, whatever its content.
   It raises the chance of a click, never the enjoyment (presentation bias).
7. The catalogue churns: ``added_at`` spreads titles over the two years before ``now``, about
   10% in the last 30 days. A simulation that runs up to ``now`` sees those titles arrive
   during the run (the platform lists a title only from its ``added_at`` on), so new titles
   with no history (cold start) are part of every simulated month.
8. Tastes move with the clock. Each member has a hidden offset to their taste for each
   daypart (``DAYPARTS``: morning, afternoon, evening, night) and for the weekend: a shared
   tilt (documentaries in the morning, cartoons and family films in the afternoon, light
   comedy and romance in the evening, horror and thrillers at night, long dramas and
   adventures at the weekend), scaled per member, plus a personal part. Behaviour mixes them
   in by the visit's time (``BehaviourConfig.daypart_taste``), so the hour and the weekday
   carry signal about *what* a member watches, not only when they visit.

Observable metadata is informative but incomplete: published genres are read back from the
hidden attributes (a label is sometimes missing or spurious), and the synopsis names a few
tone keywords (``"dark"``, ``"fast-paced"``, ...) only when a title sits far out on one of the
unlabelled axes.

Usage::

    python -m simulator.world --out var/world --titles 300 --members 60 --seed 0
"""

from __future__ import annotations

import argparse
import json
import string
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

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
MATURITY_RATINGS: list[str] = ["all", "7+", "13+", "16+", "18+"]
KIDS_RATINGS: frozenset[str] = frozenset({"all", "7+"})
KINDS: tuple[str, str] = ("movie", "series")

ATTRIBUTE_DIM = 16
"""Dimension of hidden title attributes and member tastes (13 genre axes + 3 unlabelled)."""
N_CLUSTERS = 8
"""Taste clusters; cluster 0 is the kids cluster."""
KIDS_CLUSTER = 0
CATALOG_SPAN_DAYS = 730
"""Titles entered the catalogue over this many days before ``now``."""
RECENT_DAYS = 30
RECENT_SHARE = 0.1
"""Share of titles added in the last RECENT_DAYS days (what a "new releases" row can show)."""
HIDDEN_FORMAT = 3
"""Version of hidden.npz; format 1 (no habits, patience or artwork appeal) and format 2 (no
daypart tastes) still load, with those mechanisms neutral."""
DAYPARTS: tuple[str, ...] = ("morning", "afternoon", "evening", "night")
"""Parts of the day with a taste offset of their own; the weekend has one more after them."""
DAYPART_HOURS: tuple[float, ...] = (8.0, 14.5, 20.5, 0.5)
"""Hour of day (UTC, the world's clock) at which each daypart's offset weighs most."""
N_TASTE_OFFSETS = len(DAYPARTS) + 1
"""Offsets per member: one per daypart, then the weekend's."""
_DAYPART_GENRES: tuple[dict[str, float], ...] = (
    {"Documentary": 1.0, "Family": 0.3, "Horror": -0.6, "Thriller": -0.4},
    {"Animation": 1.0, "Family": 0.8, "Adventure": 0.4, "Horror": -0.5},
    {"Comedy": 0.9, "Romance": 0.6, "Crime": 0.3, "Documentary": -0.4},
    {"Horror": 0.9, "Thriller": 0.7, "Sci-Fi": 0.3, "Family": -0.6, "Animation": -0.5},
    {"Drama": 0.9, "Adventure": 0.5, "Fantasy": 0.4, "Sci-Fi": 0.3, "Comedy": -0.3},
)
"""Shared genre tilt of each offset (dayparts, then weekend), in units of a genre direction."""
_OFFSET_NOISE = 0.3
"""Standard deviation per attribute dimension of the personal part of each offset."""
TONE_WORDS: list[tuple[str, str]] = [
    ("dark", "light-hearted"),
    ("fast-paced", "slow-burning"),
    ("offbeat", "classic"),
]
"""(positive, negative) keyword of each unlabelled axis, shown when the projection is large."""
_TONE_THRESHOLD = 0.6

_G = {g: i for i, g in enumerate(GENRES)}
_GENRE_FREQUENCY = np.array(
    [0.10, 0.07, 0.06, 0.14, 0.07, 0.05, 0.16, 0.05, 0.06, 0.06, 0.07, 0.06, 0.08]
)
_GENRE_THRESHOLD = 0.6
_KIDS_GENRES = ("Animation", "Family", "Adventure", "Comedy")

_GENRE_WORD = {
    "Action": "action",
    "Adventure": "adventure",
    "Animation": "animated",
    "Comedy": "comedy",
    "Crime": "crime",
    "Documentary": "documentary",
    "Drama": "drama",
    "Family": "family",
    "Fantasy": "fantasy",
    "Horror": "horror",
    "Romance": "romance",
    "Sci-Fi": "sci-fi",
    "Thriller": "thriller",
}
_GENRE_PLOT = {
    "Action": [
        "races to stop a heist before the city goes dark",
        "fights back against a mercenary army",
    ],
    "Adventure": [
        "sets out on a journey across uncharted islands",
        "hunts for a lost treasure map",
    ],
    "Animation": [
        "befriends a talking robot in a painted world",
        "learns to fly with a flock of odd birds",
    ],
    "Comedy": [
        "fakes a wedding to save the family bakery",
        "swaps jobs with a very strange neighbour",
    ],
    "Crime": [
        "investigates a murder in a quiet harbour town",
        "plans one last robbery with an old crew",
    ],
    "Documentary": [
        "follows the true story of a record-breaking expedition",
        "explores the hidden life of coral reefs",
    ],
    "Drama": ["returns home to face a broken family", "struggles to keep a small school open"],
    "Family": [
        "spends a magical summer with grandparents on a farm",
        "rescues a lost puppy before the holidays",
    ],
    "Fantasy": [
        "discovers a dragon egg beneath an ancient castle",
        "is chosen by a wizard to break a curse",
    ],
    "Horror": [
        "is haunted by something in the old lake house",
        "hears whispers from a sealed cellar",
    ],
    "Romance": [
        "falls in love during a rainy summer in Lisbon",
        "rekindles a first love at a friend's wedding",
    ],
    "Sci-Fi": [
        "wakes on a space station drifting toward a distant planet",
        "builds an android that starts to dream",
    ],
    "Thriller": [
        "uncovers a conspiracy inside a tech company",
        "is hunted by a stranger who knows every secret",
    ],
}
_SUBJECTS = [
    "a young pilot", "a retired detective", "two estranged sisters", "a stubborn engineer",
    "a small-town teacher", "a brilliant chef", "a reluctant heir", "a group of friends",
    "a lonely inventor", "a single father", "a rookie reporter", "an aging boxer",
    "a curious girl", "a runaway prince", "a night-shift nurse", "a former spy",
]  # fmt: skip
_ADJECTIVES = [
    "Silent", "Hidden", "Broken", "Golden", "Last", "Crimson", "Wild", "Distant", "Midnight",
    "Frozen", "Burning", "Lost", "Endless", "Secret", "Hollow", "Electric", "Quiet", "Savage",
    "Little", "Northern", "Paper", "Iron", "Velvet", "Neon", "Falling", "Stolen", "Bright",
]  # fmt: skip
_NOUNS = [
    "Harbor", "Kingdom", "Signal", "Garden", "Protocol", "Horizon", "Orchard", "Frontier",
    "Circus", "Empire", "River", "Mirror", "Lantern", "Station", "Summer", "Echo", "Crown",
    "Forest", "Letter", "Machine", "Island", "Canyon", "Promise", "Shadow", "Voyage", "Heart",
]  # fmt: skip
_PLACES = [
    "Avalon", "the North", "Brightwater", "the Deep", "Stonebridge", "Mars", "the Valley",
    "Ashford", "the Tides", "Kestrel Bay", "Old Town", "the Dunes",
]  # fmt: skip
_ADULT_NAMES = [
    "Ann", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kira",
    "Liam", "Maya", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera",
    "Will", "Xenia", "Yusuf", "Zoe", "Aiko", "Bruno", "Chloe", "Dmitri", "Eva", "Felix",
]  # fmt: skip
_KIDS_NAMES = ["Kids", "Mia", "Leo", "Lily", "Max", "Emma", "Tom", "Nora", "Finn", "Ella"]
_PROFILES_PER_ACCOUNT = (np.array([1, 2, 3, 4]), np.array([0.3, 0.3, 0.25, 0.15]))
_KIDS_PROFILE_SHARE = 0.35
"""Share of multi-profile accounts whose last profile is a kids profile."""
_PASSWORD_ALPHABET = np.array(list(string.ascii_letters + string.digits))


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
    """Tone keywords (from the unlabelled axes); added in hidden format 2, so may be empty."""

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


@dataclass(eq=False)
class World:
    """The whole synthetic world; build with :meth:`generate` or :meth:`load`, never by hand.

    Hidden arrays are indexed by title index (position in ``titles``) and member index
    (position in ``members``). Only ``titles`` and ``accounts`` may reach the platform.
    """

    seed: int
    now: datetime
    titles: tuple[Title, ...]
    accounts: tuple[Account, ...]
    title_attributes: np.ndarray
    """(n_titles, ATTRIBUTE_DIM) hidden attribute vectors."""
    popularity: np.ndarray
    """(n_titles,) power-law popularity prior, sums to 1."""
    genre_directions: np.ndarray
    """(len(GENRES), ATTRIBUTE_DIM) orthonormal direction of each genre in attribute space."""
    cluster_genres: np.ndarray
    """(N_CLUSTERS, len(GENRES)) bool, the genres each taste cluster favours."""
    member_cluster: np.ndarray
    """(n_members,) taste cluster of each member."""
    tastes: np.ndarray
    """(n_members, ATTRIBUTE_DIM) hidden taste vectors; affinity = taste @ attributes."""
    activity: np.ndarray
    """(n_members,) mean visits per day."""
    peak_hour: np.ndarray
    """(n_members,) hour of day (UTC, 0-24) around which a member tends to visit."""
    hour_spread: np.ndarray
    """(n_members,) standard deviation in hours of visit times around ``peak_hour``."""
    weekend_factor: np.ndarray | None = None
    """(n_members,) multiplier on visits per day on Saturdays and Sundays (None: all 1)."""
    patience: np.ndarray | None = None
    """(n_members,) multiplier on the mean number of items examined per visit (None: all 1)."""
    artwork_appeal: np.ndarray | None = None
    """(n_titles,) hidden appeal of the artwork, standard normal (None: all 0)."""
    daypart_offsets: np.ndarray | None = None
    """(n_members, N_TASTE_OFFSETS, ATTRIBUTE_DIM) taste offset per daypart and weekend
    (None: all 0, tastes do not move with the clock)."""
    members: tuple[Member, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.members = tuple(m for a in self.accounts for m in a.members)
        n, m = len(self.titles), len(self.members)
        # Worlds saved before these fields existed load with neutral values.
        if self.weekend_factor is None:
            self.weekend_factor = np.ones(m)
        if self.patience is None:
            self.patience = np.ones(m)
        if self.artwork_appeal is None:
            self.artwork_appeal = np.zeros(n)
        if self.daypart_offsets is None:
            self.daypart_offsets = np.zeros((m, N_TASTE_OFFSETS, ATTRIBUTE_DIM))
        for name, arr, shape in [
            ("title_attributes", self.title_attributes, (n, ATTRIBUTE_DIM)),
            ("popularity", self.popularity, (n,)),
            ("tastes", self.tastes, (m, ATTRIBUTE_DIM)),
            ("activity", self.activity, (m,)),
            ("peak_hour", self.peak_hour, (m,)),
            ("hour_spread", self.hour_spread, (m,)),
            ("member_cluster", self.member_cluster, (m,)),
            ("weekend_factor", self.weekend_factor, (m,)),
            ("patience", self.patience, (m,)),
            ("artwork_appeal", self.artwork_appeal, (n,)),
            ("daypart_offsets", self.daypart_offsets, (m, N_TASTE_OFFSETS, ATTRIBUTE_DIM)),
        ]:
            if arr.shape != shape:
                raise ValueError(f"{name} has shape {arr.shape}, expected {shape}")

    # Derived views: cheap, recomputed rather than stored so they can never disagree.

    @property
    def n_titles(self) -> int:
        return len(self.titles)

    @property
    def n_members(self) -> int:
        return len(self.members)

    @property
    def genre_matrix(self) -> np.ndarray:
        """(n_titles, len(GENRES)) bool: the published genres of each title."""
        out = np.zeros((self.n_titles, len(GENRES)), dtype=bool)
        for i, t in enumerate(self.titles):
            out[i, [_G[g] for g in t.genres]] = True
        return out

    @property
    def kids_suitable(self) -> np.ndarray:
        """(n_titles,) bool: rated "all" or "7+"."""
        return np.array([t.kids_suitable for t in self.titles], dtype=bool)

    @property
    def runtime_minutes(self) -> np.ndarray:
        return np.array([t.runtime_minutes for t in self.titles], dtype=np.int64)

    @property
    def added_at_unix(self) -> np.ndarray:
        """(n_titles,) float64 unix seconds at which each title entered the catalogue."""
        return np.array([t.added_at.timestamp() for t in self.titles], dtype=np.float64)

    def available(self, at: datetime) -> np.ndarray:
        """(n_titles,) bool: titles in the catalogue at ``at`` (added_at <= at), as the platform
        filters them. Titles added later do not exist yet: that is the catalogue's churn."""
        return self.added_at_unix <= at.timestamp()

    def affinity(self, member: int) -> np.ndarray:
        """(n_titles,) taste-attribute dot products of one member: the personal part of utility."""
        return self.title_attributes @ self.tastes[member]

    def title_index(self) -> dict[str, int]:
        """external_id -> title index."""
        return {t.external_id: i for i, t in enumerate(self.titles)}

    # Generation

    @classmethod
    def generate(
        cls, n_titles: int = 300, n_members: int = 60, seed: int = 0, now: datetime | None = None
    ) -> World:
        """Build a world; the same (n_titles, n_members, seed, now) always gives the same world.

        ``now`` defaults to the current UTC time (whole seconds); pass it for reproducibility.
        """
        if n_titles < 1:
            raise ValueError(f"n_titles must be at least 1, got {n_titles}")
        if n_members < 1:
            raise ValueError(f"n_members must be at least 1, got {n_members}")
        now = _normalise_now(now)
        # Independent streams, so adding members never changes the catalogue and vice versa.
        # A fourth stream for habits and artwork (hidden format 2), a fifth for daypart
        # tastes (format 3): spawned children do not depend on how many are spawned, so the
        # first streams are those of older worlds and an old seed gives the same old world.
        title_rng, member_rng, space_rng, habit_rng, daypart_rng = (
            np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)
        )
        directions = _genre_directions(space_rng)
        cluster_genres = _cluster_genres(space_rng)
        titles, attributes, popularity = _generate_titles(title_rng, n_titles, directions, now)
        accounts, member_arrays = _generate_members(
            member_rng, n_members, directions, cluster_genres
        )
        is_kids = member_arrays["member_cluster"] == KIDS_CLUSTER
        # Weekly habit: adults watch about a third more at weekends, kids about twice as much.
        weekend = np.exp(rng_normal(habit_rng, np.where(is_kids, 0.7, 0.3), 0.25))
        patience = np.exp(habit_rng.normal(-0.06, 0.35, size=n_members))  # mean about 1
        artwork = habit_rng.normal(size=n_titles)
        offsets = _daypart_offsets(daypart_rng, n_members, directions)
        return cls(
            seed=seed,
            now=now,
            titles=titles,
            accounts=accounts,
            title_attributes=attributes,
            popularity=popularity,
            genre_directions=directions,
            cluster_genres=cluster_genres,
            weekend_factor=weekend,
            patience=patience,
            artwork_appeal=artwork,
            daypart_offsets=offsets,
            **member_arrays,
        )

    # Persistence

    def save(self, directory: str | Path) -> Path:
        """Write catalog.json, members.json (public) and hidden.npz (simulator only)."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        catalog = {
            "seed": self.seed,
            "now": format_time(self.now),
            "titles": [t.to_json() for t in self.titles],
        }
        members = {
            "accounts": [
                {
                    "username": a.username,
                    "password": a.password,
                    "members": [
                        {"key": m.key, "name": m.name, "is_kids": m.is_kids} for m in a.members
                    ],
                }
                for a in self.accounts
            ]
        }
        (out / "catalog.json").write_text(json.dumps(catalog, indent=1, ensure_ascii=False) + "\n")
        (out / "members.json").write_text(json.dumps(members, indent=1) + "\n")
        np.savez_compressed(
            out / "hidden.npz",
            format=np.int64(HIDDEN_FORMAT),
            title_external_ids=np.array([t.external_id for t in self.titles]),
            member_keys=np.array([m.key for m in self.members]),
            title_attributes=self.title_attributes,
            popularity=self.popularity,
            genre_directions=self.genre_directions,
            cluster_genres=self.cluster_genres,
            member_cluster=self.member_cluster,
            tastes=self.tastes,
            activity=self.activity,
            peak_hour=self.peak_hour,
            hour_spread=self.hour_spread,
            weekend_factor=self.weekend_factor,
            patience=self.patience,
            artwork_appeal=self.artwork_appeal,
            daypart_offsets=self.daypart_offsets,
        )
        return out

    @classmethod
    def load(cls, directory: str | Path) -> World:
        """Rebuild exactly the world that :meth:`save` wrote to ``directory``."""
        src = Path(directory)
        paths = [src / n for n in ("catalog.json", "members.json", "hidden.npz")]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"not a world directory, missing: {', '.join(missing)}")
        catalog = json.loads(paths[0].read_text())
        members = json.loads(paths[1].read_text())
        titles = tuple(Title.from_json(t) for t in catalog["titles"])
        accounts = tuple(
            Account(
                username=a["username"],
                password=a["password"],
                members=tuple(
                    Member(
                        key=m["key"], name=m["name"], is_kids=m["is_kids"], username=a["username"]
                    )
                    for m in a["members"]
                ),
            )
            for a in members["accounts"]
        )
        with np.load(paths[2]) as hidden:
            arrays = {k: hidden[k] for k in hidden.files}
        if int(arrays.pop("format")) not in range(1, HIDDEN_FORMAT + 1):
            raise ValueError(f"{paths[2]} has an unsupported format")
        ids = arrays.pop("title_external_ids").tolist()
        keys = arrays.pop("member_keys").tolist()
        if ids != [t.external_id for t in titles]:
            raise ValueError(f"{paths[2]} does not match the titles of {paths[0]}")
        if keys != [m.key for a in accounts for m in a.members]:
            raise ValueError(f"{paths[2]} does not match the members of {paths[1]}")
        return cls(
            seed=int(catalog["seed"]),
            now=parse_time(catalog["now"]),
            titles=titles,
            accounts=accounts,
            **arrays,
        )


def format_time(t: datetime) -> str:
    """ISO 8601 in UTC with a Z suffix and whole seconds, the form the API uses."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Parse ISO 8601 (Z or offset; a naive time is taken as UTC) into an aware UTC datetime."""
    t = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC)


def rng_normal(rng: np.random.Generator, mean: np.ndarray, sd: float) -> np.ndarray:
    """Normal draws with a per-element mean (one draw per element of ``mean``)."""
    return mean + sd * rng.normal(size=np.shape(mean))


def tone_keywords(attributes: np.ndarray, directions: np.ndarray) -> list[tuple[str, ...]]:
    """Tone keywords of each title: the word of an unlabelled axis when the title's projection
    on it is beyond ``_TONE_THRESHOLD``. Deterministic (no randomness), so format 1 worlds get
    the same titles, now with keywords."""
    complement = np.linalg.svd(directions, full_matrices=True)[2][len(GENRES) :]
    proj = attributes @ complement.T  # (n_titles, 3)
    out = []
    for row in proj:
        words = [
            TONE_WORDS[k][0 if v > 0 else 1]
            for k, v in enumerate(row)
            if abs(v) > _TONE_THRESHOLD and k < len(TONE_WORDS)
        ]
        out.append(tuple(words))
    return out


def _normalise_now(now: datetime | None) -> datetime:
    if now is None:
        now = datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.astimezone(UTC).replace(microsecond=0)


def _genre_directions(rng: np.random.Generator) -> np.ndarray:
    """Orthonormal genre axes, so one genre's label never leaks into another's score."""
    q, _ = np.linalg.qr(rng.normal(size=(ATTRIBUTE_DIM, ATTRIBUTE_DIM)))
    return q[:, : len(GENRES)].T.copy()


def _cluster_genres(rng: np.random.Generator) -> np.ndarray:
    out = np.zeros((N_CLUSTERS, len(GENRES)), dtype=bool)
    out[KIDS_CLUSTER, [_G[g] for g in _KIDS_GENRES]] = True
    adult = [i for i, g in enumerate(GENRES) if g not in ("Animation", "Family")]
    for c in range(N_CLUSTERS):
        if c == KIDS_CLUSTER:
            continue
        k = rng.choice([2, 3])
        out[c, rng.choice(adult, size=k, replace=False)] = True
    return out


def _generate_titles(
    rng: np.random.Generator, n: int, directions: np.ndarray, now: datetime
) -> tuple[tuple[Title, ...], np.ndarray, np.ndarray]:
    n_genres = len(GENRES)
    # Directions spanning no genre: aspects of a title that labels never reveal.
    complement = np.linalg.svd(directions, full_matrices=True)[2][n_genres:]
    attributes = np.zeros((n, ATTRIBUTE_DIM))
    for i in range(n):
        k = rng.choice([1, 2, 3], p=[0.45, 0.4, 0.15])
        true = rng.choice(
            n_genres, size=k, replace=False, p=_GENRE_FREQUENCY / _GENRE_FREQUENCY.sum()
        )
        attributes[i] = (rng.uniform(0.7, 1.3, size=k)[:, None] * directions[true]).sum(0)
    attributes += 0.3 * rng.normal(size=attributes.shape)
    attributes += 0.6 * rng.normal(size=(n, len(complement))) @ complement

    scores = attributes @ directions.T  # (n, n_genres)
    order = np.argsort(-scores, axis=1)
    # Power law: the i-th most popular title is about i**-1.1 as likely to be chosen at random.
    ranks = rng.permutation(n) + 1
    popularity = ranks**-1.1
    popularity /= popularity.sum()

    titles = []
    used_names: set[str] = set()
    keywords = tone_keywords(attributes, directions)
    for i in range(n):
        genre_idx = [g for g in order[i, :3] if scores[i, g] > _GENRE_THRESHOLD] or [order[i, 0]]
        genres = tuple(GENRES[g] for g in sorted(genre_idx))
        kind = KINDS[int(rng.random() < 0.3)]
        if kind == "movie":
            runtime = int(np.clip(rng.normal(110, 18), 80, 150))
        else:
            runtime = int(rng.choice([22, 25, 30, 42, 45, 50, 55, 60]))
        if rng.random() < RECENT_SHARE:
            age = rng.uniform(0, RECENT_DAYS)
        else:
            age = rng.uniform(RECENT_DAYS, CATALOG_SPAN_DAYS)
        added_at = now - timedelta(seconds=int(age * 86400))
        if rng.random() < 0.3:
            release_age = rng.uniform(0, 180)
        else:
            release_age = min(rng.exponential(8 * 365), 60 * 365)
        release = added_at.date() - timedelta(days=int(release_age))
        name = _title_name(rng, used_names)
        titles.append(
            Title(
                external_id=f"t{i + 1:05d}",
                name=name,
                kind=kind,
                genres=genres,
                maturity_rating=_maturity(rng, genres),
                runtime_minutes=runtime,
                release_date=release,
                added_at=added_at,
                synopsis=_synopsis(rng, genres, kind, keywords[i]),
                keywords=keywords[i],
            )
        )
    return tuple(titles), attributes, popularity


def _maturity(rng: np.random.Generator, genres: tuple[str, ...]) -> str:
    if "Horror" in genres:
        p = [0, 0, 0, 0.5, 0.5]
    elif "Animation" in genres or "Family" in genres:
        p = [0.55, 0.35, 0.1, 0, 0]
    elif "Crime" in genres or "Thriller" in genres:
        p = [0, 0, 0.3, 0.45, 0.25]
    else:
        p = [0.1, 0.15, 0.4, 0.25, 0.1]
    return str(rng.choice(MATURITY_RATINGS, p=p))


def _title_name(rng: np.random.Generator, used: set[str]) -> str:
    for attempt in range(50):
        pattern = rng.integers(4)
        adj, noun, place = rng.choice(_ADJECTIVES), rng.choice(_NOUNS), rng.choice(_PLACES)
        name = [f"The {adj} {noun}", f"{noun} of {place}", f"{adj} {noun}", f"Beyond the {noun}"][
            pattern
        ]
        if attempt > 20:
            name = f"{name} {rng.integers(2, 10)}"
        if name not in used:
            used.add(name)
            return name
    name = f"{name} ({len(used)})"
    used.add(name)
    return name


def _synopsis(
    rng: np.random.Generator, genres: tuple[str, ...], kind: str, tone: tuple[str, ...] = ()
) -> str:
    words = " ".join([", ".join(tone)] * bool(tone) + [_GENRE_WORD[g] for g in genres])
    article = "An" if words[0] in "aeiou" else "A"
    plot = rng.choice(_GENRE_PLOT[str(rng.choice(genres))])
    return f"{article} {words} {kind} in which {rng.choice(_SUBJECTS)} {plot}."


def _daypart_offsets(rng: np.random.Generator, n: int, directions: np.ndarray) -> np.ndarray:
    """(n, N_TASTE_OFFSETS, ATTRIBUTE_DIM) taste offsets: the shared genre tilt of each daypart
    and of the weekend, times a per-member strength (log-normal around 1: some households
    follow the clock more than others), plus a personal part no genre label shows."""
    tilt = np.zeros((N_TASTE_OFFSETS, len(GENRES)))
    for k, genres in enumerate(_DAYPART_GENRES):
        for g, weight in genres.items():
            tilt[k, _G[g]] = weight
    shared = tilt @ directions  # (K, D)
    strength = np.exp(rng.normal(0.0, 0.3, size=n))  # (n,)
    noise = _OFFSET_NOISE * rng.normal(size=(n, N_TASTE_OFFSETS, ATTRIBUTE_DIM))
    return strength[:, None, None] * shared[None] + noise


def _generate_members(
    rng: np.random.Generator, n: int, directions: np.ndarray, cluster_genres: np.ndarray
) -> tuple[tuple[Account, ...], dict[str, np.ndarray]]:
    complement = np.linalg.svd(directions, full_matrices=True)[2][len(GENRES) :]
    centres = 1.5 * (cluster_genres.astype(float) @ directions)
    centres += 0.5 * rng.normal(size=(N_CLUSTERS, len(complement))) @ complement
    adult_weights = rng.dirichlet(np.full(N_CLUSTERS - 1, 2.0))

    accounts: list[Account] = []
    clusters: list[int] = []
    kids: list[bool] = []
    while len(clusters) < n:
        username = f"sim{len(accounts) + 1:04d}"
        sizes, p = _PROFILES_PER_ACCOUNT
        size = min(int(rng.choice(sizes, p=p)), n - len(clusters))
        has_kids = size > 1 and rng.random() < _KIDS_PROFILE_SHARE
        adult_names = rng.choice(_ADULT_NAMES, size=size, replace=False)
        members = []
        for j in range(size):
            is_kids = has_kids and j == size - 1
            name = str(rng.choice(_KIDS_NAMES) if is_kids else adult_names[j])
            while any(m.name == name for m in members):
                name = str(rng.choice(_KIDS_NAMES))
            members.append(Member(f"{username}/{j}", name, bool(is_kids), username))
            cluster = KIDS_CLUSTER if is_kids else 1 + rng.choice(N_CLUSTERS - 1, p=adult_weights)
            clusters.append(int(cluster))
            kids.append(bool(is_kids))
        password = "".join(rng.choice(_PASSWORD_ALPHABET, size=20))
        accounts.append(Account(username, password, tuple(members)))

    member_cluster = np.array(clusters, dtype=np.int64)
    is_kids = np.array(kids)
    tastes = centres[member_cluster] + 0.4 * rng.normal(size=(n, ATTRIBUTE_DIM))
    activity = np.minimum(0.25 * (1 + rng.pareto(1.5, size=n)), 12.0)
    peak_hour = (
        np.where(
            is_kids,
            rng.normal(17, 1.0, size=n),
            np.where(
                rng.random(n) < 0.8, rng.normal(20.5, 1.5, size=n), rng.normal(12.5, 1.5, size=n)
            ),
        )
        % 24
    )
    hour_spread = rng.uniform(1.0, 3.0, size=n)
    return tuple(accounts), {
        "member_cluster": member_cluster,
        "tastes": tastes,
        "activity": activity,
        "peak_hour": peak_hour,
        "hour_spread": hour_spread,
    }


# Command line


def main(argv: list[str] | None = None) -> int:
    from simulator.arguments import iso_time, number  # arguments imports this module

    parser = argparse.ArgumentParser(
        prog="python -m simulator.world",
        description="Generate a synthetic world: catalog.json and members.json for the platform, "
        "hidden.npz for the simulator only.",
    )
    parser.add_argument("--out", required=True, type=Path, help="directory to write to")
    parser.add_argument(
        "--titles", type=number(int, minimum=1), default=300, help="number of titles"
    )
    parser.add_argument(
        "--members", type=number(int, minimum=1), default=60, help="number of profiles"
    )
    parser.add_argument("--seed", type=number(int, minimum=0), default=0, help="random seed (>= 0)")
    parser.add_argument("--now", type=iso_time, default=None, help="world clock, ISO 8601 (UTC)")
    args = parser.parse_args(argv)
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"argument --out: {str(args.out)!r} exists and is not a directory")
    world = World.generate(args.titles, args.members, args.seed, args.now)
    world.save(args.out)
    n_kids = sum(m.is_kids for m in world.members)
    print(
        f"wrote {args.out}: {world.n_titles} titles, {len(world.accounts)} accounts, "
        f"{world.n_members} members ({n_kids} kids), seed {world.seed}, "
        f"now {format_time(world.now)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
