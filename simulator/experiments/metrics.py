"""What the experiments measure: how alike members' viewing is, how concentrated exposure is,
and how a policy looks offline (on logged data) next to what it really does online."""

from __future__ import annotations

import numpy as np


def homogenization(played: np.ndarray) -> float:
    """Mean Jaccard similarity of the sets of titles consumed by pairs of members.

    ``played`` (M, T) bool; members with no play are left out. Chaney, Stewart and Engelhardt
    (2018) measure a recommender's homogenizing effect this way: 0 means no two members
    watched a title in common, 1 that everyone watched the same titles.
    """
    x = played[played.any(axis=1)].astype(np.float32)  # (m, T)
    m = len(x)
    if m < 2:
        return float("nan")
    inter = x @ x.T  # (m, m) titles in common
    sizes = x.sum(axis=1)
    union = sizes[:, None] + sizes[None, :] - inter
    upper = np.triu_indices(m, k=1)
    return float((inter[upper] / union[upper]).mean())


def gini(counts: np.ndarray) -> float:
    """Gini coefficient of non-negative ``counts`` (0: perfectly even, near 1: one takes all)."""
    x = np.sort(np.asarray(counts, dtype=np.float64))
    n, total = len(x), x.sum()
    if n == 0 or total == 0:
        return float("nan")
    return float((2 * np.arange(1, n + 1) - n - 1) @ x / (n * total))


def ndcg_at_k(
    scores: np.ndarray,
    relevant: np.ndarray,
    exclude: np.ndarray | None = None,
    k: int = 10,
) -> float:
    """Mean NDCG@k over members with at least one relevant title (binary relevance).

    Args:
        scores: (U, T) ranking scores.
        relevant: (U, T) bool, the held-out plays (the "ground truth" of offline evaluation).
        exclude: (U, T) bool titles not to rank (already played in training); None: none.
    """
    keep = relevant.any(axis=1)
    if not keep.any():
        return float("nan")
    ranked = scores[keep] if exclude is None else np.where(exclude[keep], -np.inf, scores[keep])
    rel = relevant[keep]
    k = min(k, ranked.shape[1])
    top = np.argpartition(-ranked, k - 1, axis=1)[:, :k]
    top = np.take_along_axis(top, np.argsort(-np.take_along_axis(ranked, top, axis=1), axis=1), 1)
    gains = np.take_along_axis(rel, top, axis=1).astype(np.float64)  # (u, k)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = gains @ discounts
    ideal = np.array([discounts[: min(int(n), k)].sum() for n in rel.sum(axis=1)])
    return float((dcg / ideal).mean())
