"""The embedding store: the title and member vectors of promoted versions, in the database.

After a version is promoted, the task `modeling.tasks.embeddings_store` calls
:func:`embeddings_store`, which loads the version's checkpoint, exports its vectors through
the recommender's bridge (`recommender.embeddings`: MF and SASRec have them; EASE and
popularity store a set with none, saying so), rotates them onto the previous stored version's
title vectors (orthogonal Procrustes over the titles both know, so a title's vector means the
same from one version to the next) and writes them whole, in one transaction. A set is
immutable, like its version; storing a version twice returns the first set.

The reads here (:func:`embedding_set_for`, :func:`embedding_matrix`, :func:`nearest`, the
recommender's cosine neighbours) serve "More like this" (`modeling.selectors.title_similar`)
and the lab's similar-members check (`lab.neighbours.member_neighbours`). A stored set never
changes, so its matrix is cached per process. This module is the platform's one bridge to
`recommender.embeddings` (tests/test_layout.py).
"""

import logging
from functools import lru_cache

import numpy as np
from django.db import IntegrityError, transaction

from recommender.embeddings import align, export_embeddings, nearest

from . import training
from .models import Embedding, EmbeddingSet, ModelVersion
from .ranking import checkpoint_path

logger = logging.getLogger(__name__)

__all__ = ["embedding_matrix", "embedding_set_for", "embeddings_store", "nearest"]

NONE_NOTES = {
    "popularity": "popularity ranks every member alike: it has no per-title vector",
    "ease": "EASE's item-item matrix is a similarity, not an embedding; none is derived",
}
NOTES = {
    "mf": "MF's item and user embedding rows (the vectors it scores with, bias left out)",
    "sasrec": "SASRec's item table at the end of training and each member's hidden state "
    "after their last training play",
}


def embeddings_store(*, version_id: int) -> EmbeddingSet:
    """Store `version_id`'s embeddings (or that it has none) and return the set; idempotent.

    Raises ModelVersion.DoesNotExist for an unknown id and CheckpointError when the
    checkpoint cannot be loaded; nothing is written then.
    """
    existing = EmbeddingSet.objects.filter(version_id=version_id).first()
    if existing is not None:
        return existing
    version = ModelVersion.objects.get(pk=version_id)
    with training.one_torch_thread():
        exported = export_embeddings(training.checkpoint_load(checkpoint_path(version)))
    if exported is None:
        note = NONE_NOTES.get(version.kind, f"{version.kind} exports no embeddings")
        return _create(version=version, method="none", note=note)
    previous = (
        EmbeddingSet.objects.filter(version_id__lt=version.pk, dim=exported.dim)
        .exclude(method="none")
        .order_by("-version_id")
        .first()
    )
    alignment = None
    if previous is not None:
        keys, matrix = embedding_matrix(embedding_set=previous, entity=Embedding.Entity.TITLE)
        exported, alignment = align(exported, [str(k) for k in keys], matrix)
    rows = [
        *_rows(Embedding.Entity.TITLE, exported.item_ids, exported.items),
        *_rows(Embedding.Entity.MEMBER, exported.user_ids, exported.users),
    ]
    return _create(
        version=version,
        method=exported.method,
        note=NOTES.get(exported.method, exported.method),
        dim=exported.dim,
        aligned_to=previous.version if alignment else None,
        shared_titles=alignment.shared if alignment else 0,
        drift_before_align=alignment.drift_before if alignment else None,
        drift_after_align=alignment.drift_after if alignment else None,
        rows=rows,
    )


def _rows(entity: str, ids: list[str], vectors: np.ndarray) -> list[Embedding]:
    data = vectors.astype("<f4")
    return [
        Embedding(entity=entity, key=int(key), vector=data[row].tobytes())
        for row, key in enumerate(ids)
    ]


def _create(*, version: ModelVersion, rows: list[Embedding] = (), **fields) -> EmbeddingSet:
    """The set and its vectors in one transaction; a concurrent second writer finds the first."""
    try:
        with transaction.atomic():
            embedding_set = EmbeddingSet.objects.create(version=version, **fields)
            for row in rows:
                row.embedding_set = embedding_set
            Embedding.objects.bulk_create(rows, batch_size=2000)
    except IntegrityError:
        logger.info("Embeddings of v%s were stored by another worker", version.pk)
        return EmbeddingSet.objects.get(version=version)
    logger.info("Stored %s for v%s: %d vectors", fields["method"], version.pk, len(rows))
    return embedding_set


def embedding_set_for(*, version: ModelVersion | None) -> EmbeddingSet | None:
    if version is None:
        return None
    return EmbeddingSet.objects.filter(version=version).first()


def embedding_matrix(*, embedding_set: EmbeddingSet, entity: str) -> tuple[np.ndarray, np.ndarray]:
    """(keys (N,) int64, vectors (N, D) float32) of one entity of a set, in key order."""
    return _matrix(
        embedding_set.pk, embedding_set.created_at.isoformat(), embedding_set.dim, entity
    )


@lru_cache(maxsize=8)
def _matrix(set_id: int, created: str, dim: int, entity: str) -> tuple[np.ndarray, np.ndarray]:
    # `created` is part of the key: a test database may reuse a rolled-back set's id.
    rows = list(
        Embedding.objects.filter(embedding_set_id=set_id, entity=entity)
        .order_by("key")
        .values_list("key", "vector")
    )
    keys = np.array([key for key, _ in rows], np.int64)
    vectors = np.zeros((len(rows), dim), np.float32)
    for row, (_, blob) in enumerate(rows):
        vectors[row] = np.frombuffer(bytes(blob), "<f4")
    vectors.setflags(write=False)
    keys.setflags(write=False)
    return keys, vectors
