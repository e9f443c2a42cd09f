"""The serving bridge to recommender/: load a model version once, score titles for a member.

The page context asks `modeling.selectors.serving_version_for` which version serves a member
(production today) and hands it here. A newly promoted version is loaded on its first
request, so promotion needs no restart. The model is held by the recommender's own
`Ranker` (the one holder of a loaded model, its title-to-column map and the code that adds
titles it has not seen), so the serving benchmarks in docs/benchmarks.md measure this path.
It scores from the member's plays as of the request (so a play made after training changes
the next page for history models) and at the request time (for time-aware models); titles
that entered the catalogue after the model was trained are added from their metadata.

If no version serves, or its checkpoint fails to load, ranking falls back to the last good
model this process loaded, else to popularity from the fact log; if a model fails while
scoring a request, to popularity. The Ranking says which and why. Serving never waits on
training.
"""

import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings

from recommender.serving import Ranker

from .features import item_metadata
from .models import ModelVersion

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ranking:
    """Scores for titles; titles the model does not know are absent from `scores`."""

    scores: dict[int, float]
    version: ModelVersion | None
    fallback: bool
    fallback_reason: str = ""

    @property
    def policy(self) -> str:
        if self.version is None:
            return "fallback:popularity"
        return f"model:{self.version.kind}:v{self.version.pk}"


@dataclass(frozen=True)
class ServedModel:
    """A loaded model version: its registry row and the Ranker that holds the model."""

    version: ModelVersion
    ranker: Ranker


_lock = threading.Lock()  # loading, extending and scoring share one model between threads
_served: ServedModel | None = None  # the last model loaded or asked for: the last good one
_loaded: OrderedDict[int, ServedModel] = OrderedDict()  # version id -> model, oldest use first
_failed: dict[int, str] = {}  # version id -> load error, so a broken checkpoint is not retried
MAX_LOADED = 3
"""Models a process keeps loaded: production and the arms of an experiment on the model
surface (a canary's candidate), so pages of both arms do not reload checkpoints in turn."""


def checkpoint_path(version: ModelVersion) -> Path:
    return Path(settings.MODEL_DIR) / version.checkpoint


def _load(version: ModelVersion) -> ServedModel:
    global _served
    with _lock:
        served = _loaded.get(version.pk)
        if served is None:
            served = ServedModel(version, Ranker(checkpoint_path(version), key=int))
            _loaded[version.pk] = served
            while len(_loaded) > MAX_LOADED:
                _loaded.popitem(last=False)
        _loaded.move_to_end(version.pk)
        _served = served
        return served


def reset_cache() -> None:
    """Forget the loaded model (tests, and after a checkpoint folder is replaced by hand)."""
    global _served
    with _lock:
        _served = None
        _loaded.clear()
        _failed.clear()


def _scores(
    served: ServedModel,
    member_id: int,
    at: datetime,
    history: Sequence[tuple[int, datetime] | tuple[int, datetime, str]],
    catalog: Mapping[int, object],
    device: str,
) -> dict[int, float]:
    ranker = served.ranker
    with _lock:
        unknown = ranker.missing(catalog.keys())
        if unknown:
            ranker.extend_items(item_metadata(catalog[pk] for pk in sorted(unknown)))
        plays = [
            (str(play[0]), play[1].timestamp(), (play[2] if len(play) > 2 else "") or None)
            for play in reversed(history)
        ]
        row = ranker.scores(str(member_id), history=plays, at=at.timestamp(), device=device or None)
        keys = list(ranker.keys)
    return dict(zip(keys, row.tolist(), strict=True))


def rank_for_member(
    *,
    version: ModelVersion | None,
    member_id: int,
    at: datetime,
    popularity: dict[int, float],
    history: Sequence[tuple[int, datetime] | tuple[int, datetime, str]] = (),
    catalog: Mapping[int, object] | None = None,
    device: str = "",
) -> Ranking:
    """Score titles for one member with `version` (the one serving them; None if none does).

    `history` is the member's plays as (title id, time[, device]), newest first; `catalog`
    the titles on offer by id (Title objects with genres), so titles the model never saw get
    scores too; `device` the request's ("": unknown). Models that read devices (SASRec with
    `use_device`) score from both; the others ignore them.

    If `version`'s checkpoint cannot be loaded, serve the last good model this process
    loaded, else `popularity`; if a model fails while scoring this request (the last good one
    included), serve `popularity`. Either way the Ranking says it is a fallback and why.
    """
    if version is None:
        return Ranking(popularity, None, True, "no model in production")
    catalog = catalog or {}
    try:
        if version.pk in _failed:
            raise RuntimeError(_failed[version.pk])
        served = _load(version)
        fallback_reason = ""
    except Exception as exc:  # a broken checkpoint must never break the homepage
        reason = _failed.setdefault(version.pk, f"model v{version.pk} failed to load: {exc}"[:250])
        logger.warning("Serving a fallback: %s", reason)
        served = _served
        if served is None:
            return Ranking(popularity, None, True, reason)
        fallback_reason = f"{reason}; serving last good model v{served.version.pk}"
    try:
        scores = _scores(served, member_id, at, history, catalog, device)
    except Exception as exc:  # nor may a model that fails on one member's request
        reason = f"model v{served.version.pk} could not score this page: {exc}"[:250]
        logger.exception("Serving popularity: %s", reason)
        return Ranking(popularity, None, True, reason)
    return Ranking(scores, served.version, bool(fallback_reason), fallback_reason)
