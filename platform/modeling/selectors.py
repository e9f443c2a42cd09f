"""Reads of the model registry, and "More like this" from the stored embeddings."""

import threading
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from django.db import connection
from django.utils import timezone

from catalog.models import Title
from catalog.selectors import titles_on_offer
from events.selectors import title_play_counts

from .embeddings import embedding_matrix, embedding_set_for, nearest
from .models import Embedding, ModelVersion, PromotionDecision, RetrainRun


def production_version() -> ModelVersion | None:
    """The version in production: the candidate of the latest decision that promoted one."""
    decision = (
        PromotionDecision.objects.filter(promoted=True)
        .select_related("candidate")
        .order_by("-id")
        .first()
    )
    return decision.candidate if decision else None


def decisions_stamp_sql() -> tuple[str, int]:
    """A query of one row that changes whenever the gate's decisions do (the newest decision
    and their number; decisions are only ever added), and its number of columns: what tells
    a process's copy of production and the gate's evidence is still current."""
    quote = connection.ops.quote_name
    table = quote(PromotionDecision._meta.db_table)
    return f"SELECT MAX({quote('id')}), COUNT(*) FROM {table}", 2


@dataclass
class _Registry:
    """Production and the gate's evidence, as of one decisions stamp."""

    stamp: tuple
    production: ModelVersion | None
    gates: dict[int, list[PromotionDecision]] = field(default_factory=dict)


_registry_lock = threading.Lock()
_registry: _Registry | None = None


def reset_cache() -> None:
    global _registry
    with _registry_lock:
        _registry = None


def _registry_for(stamp: tuple) -> _Registry:
    global _registry
    with _registry_lock:
        if _registry is not None and _registry.stamp == stamp:
            return _registry
    registry = _Registry(stamp, production_version())
    with _registry_lock:
        _registry = registry
    return registry


def serving_version_for(
    *, member, assigned: dict | None = None, stamp: tuple | None = None
) -> ModelVersion | None:
    """The model version that serves `member`'s pages: their arm's, when they are in a
    running online experiment on the model surface with a version of its own (rollouts),
    else production. This is the one place that answers it. `assigned` is the member's
    arms (rollouts.serving.assignments_for) when the caller has read them already; with
    `stamp` (`decisions_stamp_sql`'s row, read by the caller:
    homepage.services.serving_stamps), production comes from this process's copy, read
    again only when the stamp changed (a promotion), so no query."""
    if assigned is None:
        from rollouts.serving import assignments_for  # rollouts builds on this app

        assigned = assignments_for(member_id=member.pk)
    served = assigned.get("model")
    if served is not None and served.model_version is not None:
        return served.model_version
    if stamp is not None:
        return _registry_for(stamp).production
    return production_version()


def model_version_list() -> list[ModelVersion]:
    """Every version, newest first, each with its gate decision and `is_production` set."""
    production = production_version()
    versions = list(ModelVersion.objects.prefetch_related("decisions").order_by("-id"))
    for version in versions:
        version.is_production = production is not None and version.pk == production.pk
    return versions


def model_version_get(*, version_id: int) -> ModelVersion | None:
    """One version with its gate decision and `is_production` set, or None."""
    version = ModelVersion.objects.prefetch_related("decisions").filter(pk=version_id).first()
    if version is not None:
        production = production_version()
        version.is_production = production is not None and version.pk == production.pk
    return version


def retrain_run_get(*, run_id: int) -> RetrainRun | None:
    return RetrainRun.objects.prefetch_related("candidates").filter(pk=run_id).first()


def gate_decisions(*, version: ModelVersion, stamp: tuple | None = None) -> list[PromotionDecision]:
    """The promotion gate's decisions on every candidate of the retrain that registered
    `version`, in the order the gate judged them (candidates with them): the evidence for
    why this version serves rather than another. One query; none with `stamp` (as for
    `serving_version_for`) while this process has read them under the same stamp. Callers
    must not change the list."""
    if stamp is None:
        return _gate_decisions(version)
    registry = _registry_for(stamp)
    with _registry_lock:
        kept = registry.gates.get(version.pk)
    if kept is None:
        kept = _gate_decisions(version)
        with _registry_lock:
            registry.gates[version.pk] = kept
    return kept


def _gate_decisions(version: ModelVersion) -> list[PromotionDecision]:
    if version.run_id is None:  # registered outside a retrain run (by hand, in a test)
        return list(PromotionDecision.objects.filter(candidate=version).select_related("candidate"))
    return list(
        PromotionDecision.objects.filter(candidate__run_id=version.run_id)
        .select_related("candidate")
        .order_by("id")
    )


SIMILAR_FALLBACK = "fallback:genre-popularity"
"""The `source` of "More like this" when no stored embedding answers it."""
POPULARITY_DAYS = 30.0
"""Plays in this many days before now rank the fallback's titles within a genre overlap."""


@dataclass(frozen=True)
class SimilarTitles:
    """ "More like this" for one title: `results` pairs titles with their cosine similarity
    (None from the fallback); `source` says which answered, `reason` why the fallback did."""

    source: str
    version: ModelVersion | None
    reason: str
    results: list[tuple[Title, float | None]]


def title_similar(
    *, title: Title, k: int = 12, kids_only: bool = False, at: datetime | None = None
) -> SimilarTitles:
    """The `k` titles on offer (kids titles only for a kids profile) most like `title`.

    By cosine similarity of the production version's stored title embeddings when it has
    them and knows `title`; otherwise by genres shared with it, then plays in the last
    POPULARITY_DAYS days (titles sharing no genre come last, by plays)."""
    at = at or timezone.now()
    offer = titles_on_offer(at=at, kids_only=kids_only)
    candidates = {pk: t for pk, t in offer.titles.items() if pk != title.pk}
    version = production_version()
    embedding_set = embedding_set_for(version=version)
    if version is None:
        reason = "no model in production"
    elif embedding_set is None:
        reason = f"the embeddings of v{version.pk} are not stored yet"
    elif embedding_set.method == "none":
        reason = f"v{version.pk} ({version.kind}) has no embeddings: {embedding_set.note}"
    else:
        keys, vectors = embedding_matrix(embedding_set=embedding_set, entity=Embedding.Entity.TITLE)
        row = int(np.searchsorted(keys, title.pk))
        if row < len(keys) and keys[row] == title.pk and np.any(vectors[row]):
            exclude = ~np.isin(keys, np.fromiter(candidates, np.int64, len(candidates)))
            rows, similarity = nearest(vectors, vectors[row], k=k, exclude=exclude)
            results = [
                (candidates[int(keys[r])], float(s)) for r, s in zip(rows, similarity, strict=True)
            ]
            return SimilarTitles("embeddings", version, "", results)
        reason = f"v{version.pk} was trained before “{title.name}” was in the catalogue"
    return SimilarTitles(
        SIMILAR_FALLBACK, version, reason, _by_genre(title, candidates, offer, at, k)
    )


def _by_genre(title: Title, candidates: dict, offer, at: datetime, k: int) -> list:
    mine = offer.genre_ids.get(title.pk) or frozenset(g.pk for g in title.genres.all())
    plays = title_play_counts(at=at, days=POPULARITY_DAYS)
    ranked = sorted(
        candidates.values(),
        key=lambda t: (
            -len(mine & offer.genre_ids.get(t.pk, frozenset())),
            -plays.get(t.pk, 0),
            t.pk,
        ),
    )
    return [(t, None) for t in ranked[:k]]
