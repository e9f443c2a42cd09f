"""The serving bridge to recommender/: load the production model once, score titles for a member.

Web processes check which version is in production on every request (one indexed query) and
load a newly promoted checkpoint when it changes, so promotion needs no restart. The model
scores from the member's plays as of the request (so a play made after training changes the
next page for history models) and at the request time (for time-aware models); titles that
entered the catalogue after the model was trained are added to it from their metadata. If no model
is in production, or its checkpoint fails to load, ranking falls back to popularity from the
fact log and says so. Serving never waits on training.
"""

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from django.conf import settings

from recommender import load_model
from recommender.base import Recommender

from .features import item_metadata
from .models import ModelVersion
from .selectors import production_version

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


@dataclass
class _Loaded:
    version: ModelVersion
    model: Recommender
    title_ids: np.ndarray  # (n_items,) int title ids in the model's column order
    known: set[int]  # the same ids as a set, for finding titles the model has not seen


_lock = threading.Lock()
_loaded: _Loaded | None = None
_failed: dict[
    int, str
] = {}  # version id -> load error, so a broken checkpoint is not retried per request


def checkpoint_path(version: ModelVersion) -> Path:
    return Path(settings.MODEL_DIR) / version.checkpoint


def _load(version: ModelVersion) -> _Loaded:
    global _loaded
    with _lock:
        if _loaded is not None and _loaded.version.pk == version.pk:
            return _loaded
        model = load_model(checkpoint_path(version))
        loaded = _Loaded(
            version=version,
            model=model,
            title_ids=(title_ids := np.array([int(i) for i in model.item_ids], dtype=np.int64)),
            known=set(title_ids.tolist()),
        )
        _loaded = loaded
        return loaded


def reset_cache() -> None:
    """Forget the loaded model (tests, and after a checkpoint folder is replaced by hand)."""
    global _loaded
    with _lock:
        _loaded = None
        _failed.clear()


def _scores(
    loaded: _Loaded,
    member_id: int,
    at: datetime,
    history: Sequence[tuple[int, datetime]],
    catalog: Mapping[int, object],
) -> dict[int, float]:
    with _lock:  # scoring reads, and extending writes, the shared model
        unknown = catalog.keys() - loaded.known
        if unknown:
            added = loaded.model.extend_items(item_metadata(catalog[pk] for pk in sorted(unknown)))
            added_ids = [int(i) for i in added]  # appended after the model's columns
            loaded.title_ids = np.concatenate([loaded.title_ids, np.array(added_ids, np.int64)])
            loaded.known.update(added_ids)
        plays = [(str(title_id), when.timestamp()) for title_id, when in reversed(history)]
        row = loaded.model.score([str(member_id)], at=at.timestamp(), histories=[plays])[0]
        title_ids = loaded.title_ids
    return dict(zip(title_ids.tolist(), row.tolist(), strict=True))


def rank_for_member(
    *,
    member_id: int,
    at: datetime,
    popularity: dict[int, float],
    history: Sequence[tuple[int, datetime]] = (),
    catalog: Mapping[int, object] | None = None,
) -> Ranking:
    """Score titles for one member with the production model.

    `history` is the member's plays as (title id, time), newest first; `catalog` the titles
    on offer by id (Title objects with genres), so titles the model never saw get scores too.

    If the production checkpoint cannot be loaded, serve the last good model this process
    loaded, else `popularity`; if the model fails while scoring this request, serve
    `popularity`. Either way the Ranking says it is a fallback and why.
    """
    version = production_version()
    if version is None:
        return Ranking(popularity, None, True, "no model in production")
    try:
        if version.pk in _failed:
            raise RuntimeError(_failed[version.pk])
        loaded = _load(version)
    except Exception as exc:  # a broken checkpoint must never break the homepage
        reason = _failed.setdefault(version.pk, f"model v{version.pk} failed to load: {exc}"[:250])
        logger.warning("Serving a fallback: %s", reason)
        last_good = _loaded
        if last_good is not None:
            reason = f"{reason}; serving last good model v{last_good.version.pk}"
            return Ranking(
                _scores(last_good, member_id, at, history, catalog or {}),
                last_good.version,
                True,
                reason,
            )
        return Ranking(popularity, None, True, reason)
    try:
        return Ranking(_scores(loaded, member_id, at, history, catalog or {}), version, False)
    except Exception as exc:  # nor may a model that fails on one member's request
        reason = f"model v{version.pk} could not score this page: {exc}"[:250]
        logger.exception("Serving popularity: %s", reason)
        return Ranking(popularity, None, True, reason)
