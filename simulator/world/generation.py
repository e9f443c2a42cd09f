"""How a world is drawn from a seed: the generative story of :mod:`simulator.world`, in code.

:func:`generate` returns the fields of a :class:`~simulator.world.World`; the steps follow
the numbered story in the package docstring. Every draw comes from generators spawned from
the seed, so the same arguments always give the same world.
"""

from __future__ import annotations

import string
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from simulator.clock import as_utc, utc_now
from simulator.world import context
from simulator.world.records import (
    GENRE_INDEX,
    GENRES,
    KINDS,
    MATURITY_RATINGS,
    Account,
    Member,
    Title,
)
from simulator.world.words import (
    ADJECTIVES,
    ADULT_NAMES,
    GENRE_PLOT,
    GENRE_WORD,
    KIDS_NAMES,
    NOUNS,
    PLACES,
    SUBJECTS,
    TONE_WORDS,
)

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
ARTWORK_STYLES: tuple[str, ...] = ("close-up", "ensemble", "action", "title-card")
"""The observable styles of artwork (after the kinds of image Netflix reports testing: a
face close up, the cast together, a scene of action, the title treatment). Variant ``v`` of
every title is drawn in style ``v % len(ARTWORK_STYLES)``."""
N_ARTWORK_VARIANTS = len(ARTWORK_STYLES)
"""Artwork variants per title in a generated world (by default one in each style)."""
_STYLE_GENRES: tuple[dict[str, float], ...] = (
    {"Romance": 1.0, "Drama": 0.8, "Horror": 0.4},
    {"Comedy": 1.0, "Family": 0.8, "Animation": 0.6},
    {"Action": 1.0, "Adventure": 0.8, "Sci-Fi": 0.6, "Thriller": 0.5},
    {"Documentary": 1.0, "Crime": 0.6, "Fantasy": 0.5},
)
"""The genres whose fans each style (order of ARTWORK_STYLES) appeals to: faces for romance
and drama, the cast together for comedy and family, a scene for action, the title card for
documentaries, in units of a genre direction."""
_STYLE_TASTE_WEIGHT = 1.0
"""Weight of the taste-driven part of a member's style preference (per unit of taste)."""
_STYLE_CLUSTER_SD = 0.3
"""Spread of a taste cluster's own preference for each artwork style."""
_STYLE_MEMBER_SD = 0.3
"""Spread of a member's own preference around their taste's and cluster's."""
_VARIANT_APPEAL_SD = 0.3
"""Spread of the small appeal of each title's variant of its own (the same for everyone)."""
_OFFSET_NOISE = 0.3
"""Standard deviation per attribute dimension of the personal part of each offset."""
_TONE_THRESHOLD = 0.6
"""Projection on an unlabelled axis beyond which the synopsis names its tone word."""
_GENRE_FREQUENCY = np.array(
    [0.10, 0.07, 0.06, 0.14, 0.07, 0.05, 0.16, 0.05, 0.06, 0.06, 0.07, 0.06, 0.08]
)
"""How often each genre (order of GENRES) is one of a title's true genres."""
_GENRE_THRESHOLD = 0.6
"""Projection on a genre's direction above which the genre is published."""
_KIDS_GENRES = ("Animation", "Family", "Adventure", "Comedy")
_PROFILES_PER_ACCOUNT = (np.array([1, 2, 3, 4]), np.array([0.3, 0.3, 0.25, 0.15]))
_KIDS_PROFILE_SHARE = 0.35
"""Share of multi-profile accounts whose last profile is a kids profile."""
_PASSWORD_ALPHABET = np.array(list(string.ascii_letters + string.digits))


def generate(
    n_titles: int,
    n_members: int,
    seed: int,
    now: datetime | None = None,
    artwork_variants: int = N_ARTWORK_VARIANTS,
) -> dict[str, Any]:
    """The fields of the world of (n_titles, n_members, seed, now), for ``World(**fields)``.

    ``now`` defaults to the current UTC time (whole seconds); pass it for reproducibility.
    ``artwork_variants``: artwork variants per title (step 11 of the story).
    """
    if n_titles < 1:
        raise ValueError(f"n_titles must be at least 1, got {n_titles}")
    if n_members < 1:
        raise ValueError(f"n_members must be at least 1, got {n_members}")
    if artwork_variants < 1:
        raise ValueError(f"artwork_variants must be at least 1, got {artwork_variants}")
    now = as_utc(utc_now() if now is None else now).replace(microsecond=0)
    # Independent streams, so adding members never changes the catalogue and vice versa.
    # A fourth stream for habits and artwork (hidden format 2), a fifth for daypart
    # tastes (format 3), a sixth for devices and series (format 4), a seventh for artwork
    # variants (format 5): spawned children do not depend on how many are spawned, so the
    # first streams are those of older worlds.
    title_rng, member_rng, space_rng, habit_rng, daypart_rng, context_rng, artwork_rng = (
        np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(7)
    )
    directions = _genre_directions(space_rng)
    cluster_genres = _cluster_genres(space_rng)
    titles, attributes, popularity = _generate_titles(title_rng, n_titles, directions, now)
    accounts, member_arrays = _generate_members(member_rng, n_members, directions, cluster_genres)
    is_kids = member_arrays["member_cluster"] == KIDS_CLUSTER
    # Context (format 4): shows grouped from the series' episodes first, so that the device
    # affinities see each episode's final content and runtime.
    titles, attributes = context.group_series(context_rng, titles, attributes)
    mix, sensitivity = context.device_mix(context_rng, is_kids)
    affinity = context.device_affinity(
        context_rng, attributes, directions, np.array([t.runtime_minutes for t in titles])
    )
    # Weekly habit: adults watch about a third more at weekends, kids about twice as much.
    weekend = np.exp(rng_normal(habit_rng, np.where(is_kids, 0.7, 0.3), 0.25))
    patience = np.exp(habit_rng.normal(-0.06, 0.35, size=n_members))  # mean about 1
    artwork = habit_rng.normal(size=n_titles)
    offsets = _daypart_offsets(daypart_rng, n_members, directions)
    styles, preference, variant_appeal = _artwork_variants(
        artwork_rng,
        member_arrays["member_cluster"],
        member_arrays["tastes"],
        directions,
        n_titles,
        artwork_variants,
    )
    return {
        "seed": seed,
        "now": now,
        "titles": titles,
        "accounts": accounts,
        "title_attributes": attributes,
        "popularity": popularity,
        "genre_directions": directions,
        "cluster_genres": cluster_genres,
        "weekend_factor": weekend,
        "patience": patience,
        "artwork_appeal": artwork,
        "daypart_offsets": offsets,
        "device_mix": mix,
        "device_sensitivity": sensitivity,
        "device_affinity": affinity,
        "artwork_styles": styles,
        "style_preference": preference,
        "artwork_variant_appeal": variant_appeal,
        **member_arrays,
    }


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


def _genre_directions(rng: np.random.Generator) -> np.ndarray:
    """Orthonormal genre axes, so one genre's label never leaks into another's score."""
    q, _ = np.linalg.qr(rng.normal(size=(ATTRIBUTE_DIM, ATTRIBUTE_DIM)))
    return q[:, : len(GENRES)].T.copy()


def _cluster_genres(rng: np.random.Generator) -> np.ndarray:
    out = np.zeros((N_CLUSTERS, len(GENRES)), dtype=bool)
    out[KIDS_CLUSTER, [GENRE_INDEX[g] for g in _KIDS_GENRES]] = True
    adult = [i for i, g in enumerate(GENRES) if g not in ("Animation", "Family")]
    for cluster in range(N_CLUSTERS):
        if cluster == KIDS_CLUSTER:
            continue
        k = rng.choice([2, 3])
        out[cluster, rng.choice(adult, size=k, replace=False)] = True
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
        adj, noun, place = rng.choice(ADJECTIVES), rng.choice(NOUNS), rng.choice(PLACES)
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
    words = " ".join([", ".join(tone)] * bool(tone) + [GENRE_WORD[g] for g in genres])
    article = "An" if words[0] in "aeiou" else "A"
    plot = rng.choice(GENRE_PLOT[str(rng.choice(genres))])
    return f"{article} {words} {kind} in which {rng.choice(SUBJECTS)} {plot}."


def _daypart_offsets(rng: np.random.Generator, n: int, directions: np.ndarray) -> np.ndarray:
    """(n, N_TASTE_OFFSETS, ATTRIBUTE_DIM) taste offsets: the shared genre tilt of each daypart
    and of the weekend, times a per-member strength (log-normal around 1: some households
    follow the clock more than others), plus a personal part no genre label shows."""
    tilt = np.zeros((N_TASTE_OFFSETS, len(GENRES)))
    for k, genres in enumerate(_DAYPART_GENRES):
        for g, weight in genres.items():
            tilt[k, GENRE_INDEX[g]] = weight
    shared = tilt @ directions  # (K, D)
    strength = np.exp(rng.normal(0.0, 0.3, size=n))  # (n,)
    noise = _OFFSET_NOISE * rng.normal(size=(n, N_TASTE_OFFSETS, ATTRIBUTE_DIM))
    return strength[:, None, None] * shared[None] + noise


def _artwork_variants(
    rng: np.random.Generator,
    member_cluster: np.ndarray,
    tastes: np.ndarray,
    directions: np.ndarray,
    n_titles: int,
    n_variants: int,
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Step 11: the styles of the variants (public), each member's hidden preference for each
    style and each title's variants' own small appeal (hidden).

    A member's preference for a style follows their taste (fans of action like an action
    scene, of romance a face close up: ``_STYLE_GENRES``), plus a part of their taste
    cluster's own and a personal part. Both hidden arrays are centred (a member's over
    styles, a title's over its variants), so the artwork moves a member's clicks rather than
    making everyone click more on any one variant: what matters is which variant, for whom.
    """
    n_styles = len(ARTWORK_STYLES)
    tilt = np.zeros((n_styles, len(GENRES)))
    for k, genres in enumerate(_STYLE_GENRES):
        for g, weight in genres.items():
            tilt[k, GENRE_INDEX[g]] = weight
    by_taste = _STYLE_TASTE_WEIGHT * tastes @ (tilt @ directions).T  # (M, styles)
    centres = _STYLE_CLUSTER_SD * rng.normal(size=(N_CLUSTERS, n_styles))
    preference = (
        by_taste
        + centres[member_cluster]
        + _STYLE_MEMBER_SD * rng.normal(size=(len(member_cluster), n_styles))
    )
    preference -= preference.mean(axis=1, keepdims=True)
    own = _VARIANT_APPEAL_SD * rng.normal(size=(n_titles, n_variants))
    own -= own.mean(axis=1, keepdims=True)
    styles = tuple(ARTWORK_STYLES[v % n_styles] for v in range(n_variants))
    return styles, preference, own


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
        adult_names = rng.choice(ADULT_NAMES, size=size, replace=False)
        members = []
        for j in range(size):
            is_kids = has_kids and j == size - 1
            name = str(rng.choice(KIDS_NAMES) if is_kids else adult_names[j])
            while any(m.name == name for m in members):
                name = str(rng.choice(KIDS_NAMES))
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
