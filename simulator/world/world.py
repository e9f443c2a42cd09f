"""The world itself: both halves of a generated world, its derived views and its files.

A :class:`World` holds the public records (titles, accounts) and the hidden arrays that only
the simulator reads. It is built by :meth:`World.generate` (the story of
:mod:`simulator.world.generation`) or :meth:`World.load`, and written by :meth:`World.save`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from simulator.clock import format_time, parse_time
from simulator.world import generation
from simulator.world.context import DEVICES, next_episodes
from simulator.world.generation import (
    ARTWORK_STYLES,
    ATTRIBUTE_DIM,
    N_ARTWORK_VARIANTS,
    N_TASTE_OFFSETS,
)
from simulator.world.records import GENRE_INDEX, GENRES, Account, Member, Title

HIDDEN_FORMAT = 5
"""Version of hidden.npz; format 1 (no habits, patience or artwork appeal), format 2 (no
daypart tastes), format 3 (no devices) and format 4 (no artwork variants) still load, with
those mechanisms neutral."""


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
    device_mix: np.ndarray | None = None
    """(n_members, len(DEVICES)) logits of the device each member visits from, before the
    daypart's shift (None: all 0, every member alike)."""
    device_sensitivity: np.ndarray | None = None
    """(n_members,) how strongly each member's tastes follow the device (None: all 1)."""
    device_affinity: np.ndarray | None = None
    """(n_titles, len(DEVICES)) how much better or worse each title is to watch on each
    device (None: all 0, the device does not matter)."""
    artwork_styles: tuple[str, ...] | None = None
    """The style of each artwork variant (public: the same variants for every title, written
    to catalog.json; None: ``N_ARTWORK_VARIANTS`` variants, one in each style)."""
    style_preference: np.ndarray | None = None
    """(n_members, len(ARTWORK_STYLES)) hidden preference of each member for each artwork
    style, centred over styles (None: all 0, no one minds the style)."""
    artwork_variant_appeal: np.ndarray | None = None
    """(n_titles, n_variants) hidden appeal of each title's variants of their own, centred
    over variants (None: all 0)."""
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
        if self.device_mix is None:
            self.device_mix = np.zeros((m, len(DEVICES)))
        if self.device_sensitivity is None:
            self.device_sensitivity = np.ones(m)
        if self.device_affinity is None:
            self.device_affinity = np.zeros((n, len(DEVICES)))
        if self.artwork_styles is None:
            self.artwork_styles = ARTWORK_STYLES[:N_ARTWORK_VARIANTS]
        self.artwork_styles = tuple(str(s) for s in self.artwork_styles)
        unknown = sorted(set(self.artwork_styles) - set(ARTWORK_STYLES))
        if unknown or not self.artwork_styles:
            raise ValueError(
                f"artwork_styles must be one or more of {', '.join(ARTWORK_STYLES)}, "
                f"got {list(self.artwork_styles)}"
            )
        v = len(self.artwork_styles)
        if self.style_preference is None:
            self.style_preference = np.zeros((m, len(ARTWORK_STYLES)))
        if self.artwork_variant_appeal is None:
            self.artwork_variant_appeal = np.zeros((n, v))
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
            ("device_mix", self.device_mix, (m, len(DEVICES))),
            ("device_sensitivity", self.device_sensitivity, (m,)),
            ("device_affinity", self.device_affinity, (n, len(DEVICES))),
            ("style_preference", self.style_preference, (m, len(ARTWORK_STYLES))),
            ("artwork_variant_appeal", self.artwork_variant_appeal, (n, v)),
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
            out[i, [GENRE_INDEX[g] for g in t.genres]] = True
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

    @property
    def next_episode(self) -> np.ndarray:
        """(n_titles,) int64 index of the next episode of each title's show (-1: none), read
        from the public ``series`` and ``episode`` fields, as a platform could."""
        return next_episodes(self.titles)

    def available(self, at: datetime) -> np.ndarray:
        """(n_titles,) bool: titles in the catalogue at ``at`` (added_at <= at), as the platform
        filters them. Titles added later do not exist yet: that is the catalogue's churn."""
        return self.added_at_unix <= at.timestamp()

    @property
    def n_artwork_variants(self) -> int:
        return len(self.artwork_styles)

    @property
    def artwork_style_index(self) -> np.ndarray:
        """(n_variants,) int64: the style of each variant, as its index in ARTWORK_STYLES."""
        return np.array([ARTWORK_STYLES.index(s) for s in self.artwork_styles], dtype=np.int64)

    @property
    def artwork_style_matrix(self) -> np.ndarray:
        """(n_variants, len(ARTWORK_STYLES)) int8 one-hot style of each variant: what a
        platform can see of an artwork (the same for every title)."""
        out = np.zeros((self.n_artwork_variants, len(ARTWORK_STYLES)), dtype=np.int8)
        out[np.arange(self.n_artwork_variants), self.artwork_style_index] = 1
        return out

    def artwork_appeal_of(
        self, members: np.ndarray, titles: np.ndarray, variants: np.ndarray
    ) -> np.ndarray:
        """(E,) hidden appeal of showing title ``titles`` (E,) in variant ``variants`` (E,) to
        ``members`` (E,): the member's preference for the variant's style plus the title's
        variant's own appeal (before ``BehaviourConfig.artwork_taste``)."""
        variants = np.asarray(variants, dtype=np.int64)
        style = self.artwork_style_index[variants]
        return (
            self.style_preference[np.asarray(members, dtype=np.int64), style]
            + self.artwork_variant_appeal[np.asarray(titles, dtype=np.int64), variants]
        )

    def affinity(self, member: int) -> np.ndarray:
        """(n_titles,) taste-attribute dot products of one member: the personal part of utility."""
        return self.title_attributes @ self.tastes[member]

    def title_index(self) -> dict[str, int]:
        """external_id -> title index."""
        return {t.external_id: i for i, t in enumerate(self.titles)}

    # Generation

    @classmethod
    def generate(
        cls,
        n_titles: int = 300,
        n_members: int = 60,
        seed: int = 0,
        now: datetime | None = None,
        *,
        artwork_variants: int = N_ARTWORK_VARIANTS,
    ) -> World:
        """Build a world; the same (n_titles, n_members, seed, now) always gives the same world.

        ``now`` defaults to the current UTC time (whole seconds); pass it for reproducibility.
        The generative story is :mod:`simulator.world.generation`'s.
        """
        return cls(**generation.generate(n_titles, n_members, seed, now, artwork_variants))

    # Persistence

    def save(self, directory: str | Path) -> Path:
        """Write catalog.json, members.json (public) and hidden.npz (simulator only)."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        catalog = {
            "seed": self.seed,
            "now": format_time(self.now),
            "artwork_styles": list(self.artwork_styles),
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
            device_mix=self.device_mix,
            device_sensitivity=self.device_sensitivity,
            device_affinity=self.device_affinity,
            style_preference=self.style_preference,
            artwork_variant_appeal=self.artwork_variant_appeal,
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
            artwork_styles=catalog.get("artwork_styles"),
            **arrays,
        )
