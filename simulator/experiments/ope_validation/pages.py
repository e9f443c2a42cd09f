"""The validation's homepage: a candidate pool per slot, the logging policies and the targets.

**Why pools.** Off-policy estimates need the logging policy's exact probability of what it
showed, and the slate estimators need it *given the slots above* while independent IPS needs
the *marginal* (docs/ope.md). The two coincide when slots are filled independently, and on a
page with no title twice that is possible only if each slot draws from its own pool,
disjoint from the other slots' pools. So, for each visit, the production model ranks the
member's available, unplayed titles, and the pool of slot k (of K, in reading order: row by
row, left to right) holds the ranks k, k + K, k + 2K, ...: pool index 0 is the model's pick
for slot k, and index 0 of every slot together is the model's top K in rank order, the
greedy page. A pool is a deterministic function of the visit's context (member, time).

**The logging policy** is epsilon-greedy over the pools: each slot independently shows its
index-0 title with probability 1 - epsilon, otherwise one of its pool - 1 other titles
uniformly. Propensities are exactly 1 - epsilon and epsilon / (pool - 1).

**The shuffled logger** is the small randomized experiment that measures examination: a
uniformly random ordered choice of K of the visit's K x pool pooled titles. Each title is
at each slot with probability exactly 1 / (K x pool), whatever the member thinks of it, so
position and attraction are not confounded (they are under epsilon-greedy, which puts each
member's favourites at the top), and every title can land at every slot, which page-pbm's
unbiasedness needs. Its slots are not independent (no title twice), so it serves the
estimators that use marginal probabilities only (EM and page-pbm).

**The targets** fill every slot from the same pool, each by its own scores. That is the
support condition made concrete: a policy that put at slot k a title that slot k's pool
never holds could not be evaluated from the epsilon-greedy logs by any unbiased estimator.

- ``greedy``: the production model's ranking (index 0 everywhere): deterministic.
- ``popularity``: the pool's most played title in the history logs: deterministic.
- ``softmax``: a softmax over the production model's scores within each pool (scores
  standardized per visit, times ``beta``), drawn independently per slot: a stochastic,
  bandit-like policy. (The project's bandits, recommender/bandits/, come in a later issue;
  this is their stand-in.)
- ``older-model``: the pool's best title by an older version of the model, trained on the
  first days of the history only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TARGETS = ("greedy", "popularity", "softmax", "older-model")
"""The target policies, in the order tables list them."""


@dataclass(frozen=True, eq=False)
class Models:
    """What the policies know: score tables and counts from the history logs."""

    production: np.ndarray
    """(M, T) the production model's score of every title for every member."""
    older: np.ndarray
    """(M, T) the older model version's scores."""
    plays: np.ndarray
    """(T,) plays of each title in the history logs (the popularity policy's scores)."""
    played: np.ndarray
    """(M, T) bool: titles each member played in the history (never in a pool)."""


def slot_pools(scores: np.ndarray, allowed: np.ndarray, n_slots: int, pool: int) -> np.ndarray:
    """(B, K, pool) title at each pool index of each slot (module docstring).

    ``scores`` (B, T) rank the titles; ``allowed`` (B, T) bool says which may be shown.
    Ties in score go to the lower title index, so a pool is a function of the context.
    """
    n_needed = n_slots * pool
    short = allowed.sum(axis=1) < n_needed
    if short.any():
        raise ValueError(
            f"a page of {n_slots} slots with pools of {pool} needs {n_needed} showable titles "
            f"per visit; one visit has {int(allowed.sum(axis=1)[short].min())}"
        )
    masked = np.where(allowed, scores, -np.inf)
    ranked = np.argsort(-masked, axis=1, kind="stable")[:, :n_needed]  # (B, K * pool)
    return ranked.reshape(len(scores), pool, n_slots).transpose(0, 2, 1).copy()  # (B, K, pool)


def logging_probabilities(shape: tuple[int, int, int], epsilon: float) -> np.ndarray:
    """(B, K, pool) epsilon-greedy: 1 - epsilon at index 0, epsilon / (pool - 1) elsewhere."""
    if not 0 < epsilon < 1:
        raise ValueError(f"epsilon must be in (0, 1), got {epsilon}")
    pool = shape[2]
    if pool < 2:
        raise ValueError(f"a pool needs at least 2 titles to explore, got {pool}")
    out = np.full(shape, epsilon / (pool - 1))
    out[:, :, 0] = 1.0 - epsilon
    return out


def one_hot(index: np.ndarray, pool: int) -> np.ndarray:
    """(B, K, pool) probability 1 at ``index`` (B, K)."""
    return (index[:, :, None] == np.arange(pool)).astype(np.float64)


def softmax_probabilities(scores: np.ndarray, beta: float) -> np.ndarray:
    """(B, K, pool) softmax of ``beta`` x the scores (B, K, pool), standardized per visit
    over all its pooled titles so that ``beta`` means the same for every member."""
    flat = scores.reshape(len(scores), -1)
    z = (flat - flat.mean(axis=1, keepdims=True)) / np.maximum(
        flat.std(axis=1, keepdims=True), 1e-12
    )
    logits = beta * z.reshape(scores.shape)
    logits -= logits.max(axis=2, keepdims=True)
    weights = np.exp(logits)
    return weights / weights.sum(axis=2, keepdims=True)


def target_probabilities(
    name: str, pools: np.ndarray, members: np.ndarray, models: Models, *, beta: float
) -> np.ndarray:
    """(B, K, pool) target ``name``'s probability of each pool index of each slot."""
    pool = pools.shape[2]
    if name == "greedy":
        return one_hot(np.zeros(pools.shape[:2], np.int64), pool)
    if name == "popularity":
        return one_hot(np.argmax(models.plays[pools], axis=2), pool)
    if name == "older-model":
        return one_hot(np.argmax(models.older[members[:, None, None], pools], axis=2), pool)
    if name == "softmax":
        return softmax_probabilities(models.production[members[:, None, None], pools], beta)
    raise ValueError(f"unknown target {name!r}; choose from {', '.join(TARGETS)}")


def draw(probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(B, K) a pool index per slot, drawn independently from ``probabilities`` (B, K, pool)."""
    cdf = np.cumsum(probabilities, axis=2)
    u = rng.random(probabilities.shape[:2])[:, :, None] * cdf[:, :, -1:]
    return np.minimum((u >= cdf).sum(axis=2), probabilities.shape[2] - 1)


def shuffled_page(pools: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(B, K) titles of a uniformly random ordered choice of K of each visit's pooled titles,
    and (B, K) the marginal probability of each shown title at its slot, 1 / (K x pool)."""
    b, k, pool = pools.shape
    union = pools.reshape(b, k * pool)
    chosen = np.argsort(rng.random(union.shape), axis=1)[:, :k]
    return np.take_along_axis(union, chosen, axis=1), np.full((b, k), 1.0 / (k * pool))


def at_index(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """(B, K) the entry of ``values`` (B, K, pool), a title or a probability, at each slot's
    pool ``index`` (B, K)."""
    return np.take_along_axis(values, index[:, :, None], axis=2)[:, :, 0]
