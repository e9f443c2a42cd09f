"""Title and member embeddings of a fitted model, for uses beyond ranking ("More like this",
nearest members), and the rotation that keeps them comparable from one version to the next.

What each model kind exports (:func:`export_embeddings`):

- **mf**: the item embedding rows (titles) and the user embedding rows (members); a score is
  ``<user, item> + bias``, so these are the vectors the model ranks with, bias left out.
- **sasrec**: ``item_vectors()`` (the item table at the end of training, ID and metadata
  tower blended, in the space a warm start already rotated onto the previous version) and
  ``member_vectors()`` of each member's training history (the hidden state that scores their
  next play).
- **ease**, **popularity**: none. Popularity has no per-title vector at all. EASE's item-item
  matrix B (I x I) is a similarity, not an embedding; a low-rank factor of it would be a new
  model of similarity that nothing serves, whose neighbours could disagree with what EASE
  recommends. Their versions store no vectors, and "More like this" says it falls back.

Across versions (:func:`align`): two fits of the same data can differ by a rotation of the
whole space (any orthogonal R leaves every dot product and cosine unchanged), so raw vectors
of two versions are not comparable. The exported vectors are rotated onto the previous
stored version's over the titles both know, by the orthogonal Procrustes solution SASRec's
warm start uses (:func:`recommender.sasrec.procrustes`); users and titles turn by the same R,
so scores and similarities within the version are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from recommender.base import Recommender
from recommender.mf import MFRecommender
from recommender.sasrec import SASRecRecommender, procrustes

MEMBER_BATCH = 256
"""Histories encoded per forward pass when exporting SASRec's member vectors."""


@dataclass(frozen=True)
class Embeddings:
    """One model version's vectors: titles and members in one space of ``dim`` dimensions."""

    method: str
    """How they were obtained: the model kind ("mf", "sasrec")."""
    item_ids: list[str]
    """Title id of each row of ``items``."""
    items: np.ndarray
    """(I, D) float32 title vectors."""
    user_ids: list[str]
    """Member id of each row of ``users``."""
    users: np.ndarray
    """(U, D) float32 member vectors."""

    @property
    def dim(self) -> int:
        return int(self.items.shape[1])


@dataclass(frozen=True)
class Alignment:
    """What :func:`align` did: the rotation and the drift it removed over shared titles."""

    rotation: np.ndarray
    """(D, D) float32 orthogonal matrix applied to every vector."""
    shared: int
    """Titles in both versions that the rotation was fitted on."""
    drift_before: float
    """||new - old|| / ||old|| over the shared titles, unrotated."""
    drift_after: float
    """The same after rotation: what is left is change, not a turn of the space."""


def export_embeddings(model: Recommender) -> Embeddings | None:
    """The model's title and member vectors, or None for kinds that have none (see above)."""
    if isinstance(model, MFRecommender) and model.net is not None:
        items = model.net.item_embedding.detach().numpy().astype(np.float32)
        users = model.net.user_embedding.detach().numpy().astype(np.float32)
        return Embeddings("mf", list(model.item_ids), items, list(model.user_ids), users)
    if isinstance(model, SASRecRecommender) and model.net is not None:
        with torch.no_grad():  # without a metadata tower the table is the ID parameter
            items = model.item_vectors().astype(np.float32)  # at the end of training
        histories = [model._sequence(row=row) for row in range(len(model.user_ids))]
        rows = [row for row, plays in enumerate(histories) if len(plays)]
        users = np.zeros((len(rows), items.shape[1]), np.float32)
        for start in range(0, len(rows), MEMBER_BATCH):
            part = rows[start : start + MEMBER_BATCH]
            users[start : start + len(part)] = model.member_vectors([histories[r] for r in part])
        user_ids = [model.user_ids[row] for row in rows]
        return Embeddings("sasrec", list(model.item_ids), items, user_ids, users)
    return None


def align(
    new: Embeddings, previous_ids: list[str], previous_items: np.ndarray
) -> tuple[Embeddings, Alignment | None]:
    """Rotate ``new`` onto a previous version's title vectors (``previous_items`` (n, D), one
    row per id of ``previous_ids``). None, and ``new`` unchanged, when fewer than two titles
    are shared or the dimensions differ (no orthogonal map between spaces of two sizes)."""
    index = {item: row for row, item in enumerate(previous_ids)}
    pairs = [(row, index[item]) for row, item in enumerate(new.item_ids) if item in index]
    if len(pairs) < 2 or previous_items.shape[1] != new.dim:
        return new, None
    rows, old_rows = (np.array(x) for x in zip(*pairs, strict=True))
    rotation, before, after = procrustes(new.items[rows], previous_items[old_rows])
    rotated = replace(new, items=new.items @ rotation, users=new.users @ rotation)
    return rotated, Alignment(rotation, len(pairs), before, after)


def drift(new: np.ndarray, old: np.ndarray) -> float:
    """||new - old||_F / ||old||_F of two versions' vectors of the same titles (0: the same)."""
    return float(np.linalg.norm(new - old) / np.linalg.norm(old))


def nearest(
    vectors: np.ndarray, query: np.ndarray, *, k: int, exclude: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` rows of ``vectors`` (N, D) most cosine-similar to ``query`` (D,), best first:
    (rows (k',) int64, similarities (k',) float32). Rows where ``exclude`` (N,) bool is True,
    and zero vectors, are never returned; ties go to the lower row, so the order is stable."""
    norms = np.linalg.norm(vectors, axis=1)
    scale = float(np.linalg.norm(query))
    similarity = vectors @ query / np.maximum(norms * scale, 1e-12)  # (N,)
    keep = norms > 0
    if exclude is not None:
        keep &= ~exclude
    candidates = np.flatnonzero(keep)
    order = np.lexsort((candidates, -similarity[candidates]))[:k]
    top = candidates[order]
    return top.astype(np.int64), similarity[top].astype(np.float32)
