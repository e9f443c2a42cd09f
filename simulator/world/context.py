"""Context the platform can observe: the device of a visit, and shows told in episodes.

Two steps of the world's generative story (:mod:`simulator.world`, steps 9 and 10), drawn
from a stream of their own so they never move the draws of the older steps:

- **Devices** (:data:`DEVICES`). Each member has a hidden device mix (logits over devices: a
  household with a big TV, a commuter on a phone; kids lean to the tablet), which the time of
  day shifts the same way for everyone (:data:`DEVICE_TILTS`: phones on the morning commute,
  desktops in the afternoon, the TV in the evening, phones and tablets in bed, the TV at the
  weekend). Each title has a hidden affinity per device: how much better or worse it is to
  watch there. It is correlated with what the platform can see, runtime and content (short
  titles suit a phone, long films and spectacle the TV, cartoons the tablet, documentaries
  the desktop), plus a part no metadata shows. Each member follows it with a strength of
  their own. Behaviour adds it to utility (``BehaviourConfig.device_taste``).
- **Series.** Titles of kind ``series`` are episodes. In order of arrival, each either
  starts a show or continues one already in the catalogue; an episode after the first takes
  its show's content (attributes, genres, maturity, runtime, tone) with a little noise of
  its own. Every episode is named ``"<show>: Episode <k>"`` and carries ``series`` and
  ``episode`` in its metadata, so a platform can tell which title comes next. Members who
  played an episode want the next one (``BehaviourConfig.series_pull``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from simulator.world.records import GENRE_INDEX, Title

DEVICES: tuple[str, ...] = ("tv", "phone", "tablet", "desktop")
"""Devices a member visits from; a visit's device is its index in this tuple. The HTTP
client sends the name with each homepage request (``device=<name>``)."""
DEVICE_TILTS: tuple[dict[str, float], ...] = (
    {"phone": 1.0, "desktop": 0.2, "tv": -0.8},
    {"desktop": 0.6, "tablet": 0.4, "phone": 0.2, "tv": -0.4},
    {"tv": 1.0, "phone": -0.3, "desktop": -0.2, "tablet": -0.1},
    {"phone": 0.5, "tablet": 0.4, "tv": -0.2},
    {"tv": 0.4, "tablet": 0.2, "desktop": -0.5},
)
"""Shift of every member's device logits in each daypart (in the order of
``simulator.world.DAYPARTS``: morning, afternoon, evening, night), then at the weekend."""
_ADULT_DEVICE_LOGITS = np.array([0.5, 0.3, -0.6, -0.4])
_KIDS_DEVICE_LOGITS = np.array([0.3, -1.0, 0.8, -1.2])
_DEVICE_MIX_NOISE = 0.8
"""Standard deviation of a member's personal device logits around their group's."""
_DEVICE_RUNTIME = {"tv": 0.5, "phone": -0.6, "tablet": -0.2, "desktop": 0.0}
"""Affinity per standard deviation of log runtime: long titles on the TV, short on a phone."""
_DEVICE_GENRES: dict[str, dict[str, float]] = {
    "tv": {"Action": 0.3, "Sci-Fi": 0.3, "Adventure": 0.2, "Fantasy": 0.2},
    "phone": {"Comedy": 0.3, "Animation": 0.1},
    "tablet": {"Animation": 0.4, "Family": 0.4},
    "desktop": {"Documentary": 0.4, "Drama": 0.2},
}
"""Affinity per unit of a title's (hidden) projection on a genre's direction."""
_DEVICE_NOISE = 0.3
"""Standard deviation of the part of a title's device affinity no metadata shows."""
_CONTINUE_SHOW = 0.65
"""Chance that an arriving episode continues a show in the catalogue (else it starts one)."""
_MAX_EPISODES = 8
"""Most episodes of one show."""
_EPISODE_NOISE = 0.15
"""Standard deviation per attribute dimension of an episode's content around its show's."""


def device_mix(rng: np.random.Generator, is_kids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, len(DEVICES)) hidden device logits of each member and (n,) their device-taste
    strength (log-normal around 1)."""
    base = np.where(is_kids[:, None], _KIDS_DEVICE_LOGITS, _ADULT_DEVICE_LOGITS)
    logits = base + _DEVICE_MIX_NOISE * rng.normal(size=base.shape)
    return logits, np.exp(rng.normal(0.0, 0.3, size=len(is_kids)))


def device_affinity(
    rng: np.random.Generator,
    attributes: np.ndarray,
    directions: np.ndarray,
    runtime_minutes: np.ndarray,
) -> np.ndarray:
    """(n_titles, len(DEVICES)) hidden affinity of each title for each device, centred over
    the catalogue (a device makes some titles better and others worse, not all better)."""
    log_runtime = np.log(np.asarray(runtime_minutes, dtype=np.float64))
    z = (log_runtime - log_runtime.mean()) / max(log_runtime.std(), 1e-9)
    genre = attributes @ directions.T  # (n, len(GENRES)) content on each genre's axis
    out = _DEVICE_NOISE * rng.normal(size=(len(attributes), len(DEVICES)))
    for d, device in enumerate(DEVICES):
        out[:, d] += _DEVICE_RUNTIME[device] * z
        for g, weight in _DEVICE_GENRES[device].items():
            out[:, d] += weight * genre[:, GENRE_INDEX[g]]
    return out - out.mean(axis=0)


def group_series(
    rng: np.random.Generator, titles: tuple[Title, ...], attributes: np.ndarray
) -> tuple[tuple[Title, ...], np.ndarray]:
    """Titles of kind ``series`` grouped into shows, in order of arrival; returns the new
    titles and attributes (movies untouched). See the module docstring."""
    attributes = attributes.copy()
    out = list(titles)
    shows: list[list[int]] = []  # title indices of each show, in episode order
    series = [i for i, t in enumerate(titles) if t.kind == "series"]
    for i in sorted(series, key=lambda i: (titles[i].added_at, i)):
        open_shows = [s for s in shows if len(s) < _MAX_EPISODES]
        if open_shows and rng.random() < _CONTINUE_SHOW:
            show = open_shows[int(rng.integers(len(open_shows)))]
            first, previous = out[show[0]], out[show[-1]]
            noise = _EPISODE_NOISE * rng.normal(size=attributes.shape[1])
            attributes[i] = attributes[show[0]] + noise
            episode = len(show) + 1
            out[i] = replace(
                first,
                external_id=titles[i].external_id,
                name=f"{first.series}: Episode {episode}",
                release_date=min(
                    max(titles[i].release_date, previous.release_date), titles[i].added_at.date()
                ),
                added_at=titles[i].added_at,
                synopsis=f"{_show_synopsis(first)} Episode {episode}.",
                episode=episode,
            )
            show.append(i)
        else:
            t = titles[i]
            out[i] = replace(
                t,
                name=f"{t.name}: Episode 1",
                synopsis=f"{t.synopsis} Episode 1.",
                series=t.name,
                episode=1,
            )
            shows.append([i])
    return tuple(out), attributes


def _show_synopsis(first: Title) -> str:
    """The show's synopsis: its first episode's, without the episode number."""
    return first.synopsis.removesuffix(" Episode 1.")


def next_episodes(titles: tuple[Title, ...]) -> np.ndarray:
    """(n_titles,) int64 index of the next episode of each title's show, -1 for a movie, the
    latest episode, or a catalogue without series (written before series existed)."""
    index = {(t.series, t.episode): i for i, t in enumerate(titles) if t.series is not None}
    return np.array(
        [
            -1 if t.series is None else index.get((t.series, (t.episode or 0) + 1), -1)
            for t in titles
        ],
        dtype=np.int64,
    )
