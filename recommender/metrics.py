"""Offline evaluation by full ranking: every title in the catalogue competes for every user.

Protocol: the model ranks all of ``model.item_ids`` for each test user; titles the user had
in training are removed from the ranking (the homepage does not re-recommend them here);
the relevant set is the user's test titles that were not in their training history. A test
title the model does not know cannot be ranked, so it is a miss, never dropped. No sampled
negatives: metrics over a few sampled items can even order models wrongly (Krichene &
Rendle 2020). Each member is scored at the time of their first test play (``at``), as the
homepage would be when they come back; models that ignore time are unaffected.

A second protocol, :func:`evaluate_next_play`, asks what a homepage is asked at each visit:
at the moment of each test play, given everything the member played before it, where does
the model rank the title they are about to play? Every request is scored at its own time
with its own history, which is where time-aware and sequential models can differ from the
rest; the per-member protocol above scores each member once, against all their test plays
at any hour.

The CLI in :mod:`recommender.evaluate` compares models side by side with these metrics.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from recommender.base import Recommender
from recommender.data import Interactions
from recommender.metadata import ItemMetadata

SCORE_BATCH_USERS = 256
"""Users scored at once: 256 x 5,000 items is 5 MB of scores plus 10 MB of ranks."""
WIDE_K = 50
"""The second, wider recall cut-off (candidate generation feeds a longer list)."""


@dataclass
class Evaluation:
    """Per-member metric values (arrays over evaluated members) plus catalogue-level ones."""

    per_user: dict[str, np.ndarray]
    """Metric name -> (n_users,) values; cold-start metrics over the cold slice only."""
    catalog: dict[str, float]
    """Coverage and novelty of the top-k lists, and counts."""

    def means(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, values in self.per_user.items():
            out[name] = float(values.mean()) if len(values) else math.nan
        return {**out, **self.catalog}

    def bootstrap(self, *, samples: int, seed: int = 0) -> dict[str, tuple[float, float]]:
        """95% percentile interval of each per-member mean, resampling members."""
        rng = np.random.default_rng(seed)
        out: dict[str, tuple[float, float]] = {}
        for name, values in self.per_user.items():
            if not len(values):
                out[name] = (math.nan, math.nan)
                continue
            picks = rng.integers(len(values), size=(samples, len(values)))
            means = values[picks].mean(1)
            low, high = np.percentile(means, [2.5, 97.5])
            out[name] = (float(low), float(high))
        return out


def evaluate(
    model: Recommender,
    train: Interactions,
    test: Interactions,
    *,
    k: int = 10,
    items: ItemMetadata | None = None,
) -> dict[str, float]:
    """Means over test members of the metrics of :func:`evaluate_detailed`.

    Returns ``ndcg@k, recall@k, recall@50, mrr, hr@k, coverage@k, novelty@k, n_users,
    cold_n_users`` (``nan`` means only when there is no test member at all), plus
    ``cold_ndcg@k, cold_recall@50`` only when some test member has a cold title, so that a
    result stored as JSON (PostgreSQL rejects NaN) has no NaN in the common case.
    """
    means = evaluate_detailed(model, train, test, k=k, items=items).means()
    if not means["cold_n_users"]:
        means = {
            name: v
            for name, v in means.items()
            if not name.startswith("cold_") or name == "cold_n_users"
        }
    return means


def evaluate_detailed(
    model: Recommender,
    train: Interactions,
    test: Interactions,
    *,
    k: int = 10,
    items: ItemMetadata | None = None,
) -> Evaluation:
    """Full-ranking metrics per test member with at least one new test title.

    - NDCG@k: binary gains, DCG / ideal DCG of min(k, |relevant|) hits.
    - Recall@k: hits in the top k / min(k, |relevant|), so a perfect ranking scores 1
      (as in Liang et al. 2018); also at 50. HR@k: 1 if any relevant title is in the top k.
    - MRR: 1 / rank of the best-ranked relevant title over the whole ranking (0 if none
      is known to the model).
    - Coverage@k: share of the model's catalogue that appears in some member's top k.
    - Novelty@k: mean ``-log2(share of training members who played the title)`` over all
      top-k slots (a title nobody played counts as played by one).
    - Cold slice: titles younger than the cut (``added_at`` at or after the first test play,
      from ``items``) or never played in ``train``. For members with a cold relevant title,
      NDCG@k and Recall@50 of the same full ranking, with only cold titles counted relevant.

    Ties are broken by catalogue position (a stable sort), so results are deterministic.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    seen: dict[str, set[str]] = defaultdict(set)
    for user, item in zip(train.user_ids, train.item_ids, strict=True):
        seen[user].add(item)
    relevant: dict[str, set[str]] = defaultdict(set)
    first_test: dict[str, float] = {}
    for user, item, t in zip(test.user_ids, test.item_ids, test.timestamps, strict=True):
        if item not in seen.get(user, ()):
            relevant[user].add(item)
        first_test[user] = min(first_test.get(user, math.inf), float(t))
    users = sorted(relevant)

    played_by = defaultdict(set)
    for user, item in zip(train.user_ids, train.item_ids, strict=True):
        played_by[item].add(user)
    cut = float(test.timestamps.min()) if len(test) else math.inf
    cold = {i for i in model.item_ids if i not in played_by}
    if items is not None:
        cold |= {str(i) for i, a in zip(items.item_ids, items.added_at, strict=True) if a >= cut}

    column = {item: col for col, item in enumerate(model.item_ids)}
    n_items = len(model.item_ids)
    n_train_users = max(len(seen), 1)
    info = np.array(
        [-math.log2(max(len(played_by.get(i, ())), 1) / n_train_users) for i in model.item_ids]
    )
    wide = max(k, WIDE_K)
    discount = 1.0 / np.log2(np.arange(2, wide + 2))  # (wide,) gain of a hit at rank 1..wide
    metrics: dict[str, list[float]] = defaultdict(list)
    covered = np.zeros(n_items, bool)
    novelty: list[float] = []
    for start in range(0, len(users), SCORE_BATCH_USERS):
        batch = users[start : start + SCORE_BATCH_USERS]
        at = np.array([first_test[u] for u in batch])
        scores = np.asarray(model.score(batch, at=at), dtype=np.float32).copy()  # (B, I)
        for row, user in enumerate(batch):
            masked = [column[i] for i in seen.get(user, ()) if i in column]
            scores[row, masked] = -np.inf
        order = np.argsort(-scores, axis=1, kind="stable")  # (B, I) columns best first
        ranks = np.empty_like(order)  # (B, I) 0-based rank of each column
        np.put_along_axis(ranks, order, np.arange(n_items)[None, :], axis=1)
        top = order[:, :k]  # (B, k)
        covered[top.ravel()] = True
        novelty.extend(info[top].mean(1).tolist())
        for row, user in enumerate(batch):
            wanted = relevant[user]
            known = [column[i] for i in wanted if i in column]
            item_ranks = np.sort(ranks[row, known])  # 0-based ranks of rankable relevant items
            ideal = min(k, len(wanted))
            hits = item_ranks[item_ranks < k]
            metrics[f"ndcg@{k}"].append(discount[hits].sum() / discount[:ideal].sum())
            metrics[f"recall@{k}"].append(len(hits) / ideal)
            metrics[f"recall@{WIDE_K}"].append(
                int((item_ranks < WIDE_K).sum()) / min(WIDE_K, len(wanted))
            )
            metrics["mrr"].append(1.0 / (item_ranks[0] + 1) if len(item_ranks) else 0.0)
            metrics[f"hr@{k}"].append(float(len(hits) > 0))
            cold_wanted = wanted & cold
            if cold_wanted:
                cold_ranks = np.sort(ranks[row, [column[i] for i in cold_wanted if i in column]])
                cold_hits = cold_ranks[cold_ranks < k]
                cold_ideal = min(k, len(cold_wanted))
                metrics[f"cold_ndcg@{k}"].append(
                    discount[cold_hits].sum() / discount[:cold_ideal].sum()
                )
                metrics[f"cold_recall@{WIDE_K}"].append(
                    int((cold_ranks < WIDE_K).sum()) / min(WIDE_K, len(cold_wanted))
                )
    names = [f"ndcg@{k}", f"recall@{k}", f"recall@{WIDE_K}", "mrr", f"hr@{k}"]
    names += [f"cold_ndcg@{k}", f"cold_recall@{WIDE_K}"]
    per_user = {name: np.asarray(metrics.get(name, []), np.float64) for name in names}
    catalog = {
        f"coverage@{k}": float(covered.mean()) if users else math.nan,
        f"novelty@{k}": float(np.mean(novelty)) if novelty else math.nan,
        "n_users": len(users),
        "cold_n_users": len(per_user[f"cold_ndcg@{k}"]),
    }
    return Evaluation(per_user=per_user, catalog=catalog)


NEXT_PLAY_REQUESTS = 5000
"""Test plays sampled as next-play requests (all of them when there are fewer)."""


def evaluate_next_play(
    model: Recommender,
    train: Interactions,
    test: Interactions,
    *,
    k: int = 10,
    max_requests: int = NEXT_PLAY_REQUESTS,
    seed: int = 0,
) -> Evaluation:
    """Next-play metrics, one request per sampled test play of a title new to the member.

    Request r = (member, time t, title i): the member's history is their training plays and
    their test plays before t (oldest first), passed to ``model.score(histories=..., at=t)``;
    titles in that history are removed from the ranking; i is the one relevant title.
    Per request: ``next_ndcg@k`` (1 / log2(rank + 2) if i is in the top k), ``next_hr@k``,
    ``next_mrr``. A title the model does not know is a miss. Requests are a seeded uniform
    sample of at most ``max_requests`` (the cost is one full ranking per request).
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if max_requests < 1:
        raise ValueError(f"max_requests must be >= 1, got {max_requests}")
    history: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for user, item, t in zip(train.user_ids, train.item_ids, train.timestamps, strict=True):
        history[user].append((item, float(t)))
    requests: list[tuple[str, str, float, int]] = []  # (user, item, t, plays before it)
    order = np.lexsort((test.timestamps, test.user_ids.astype(str)))  # by member, then time
    for row in order:
        user, item, t = test.user_ids[row], test.item_ids[row], float(test.timestamps[row])
        before = history[user]
        if item not in {i for i, _ in before}:
            requests.append((user, item, t, len(before)))
        before.append((item, t))
    for plays in history.values():
        plays.sort(key=lambda play: play[1])
    if len(requests) > max_requests:
        keep = np.random.default_rng(seed).choice(len(requests), max_requests, replace=False)
        requests = [requests[r] for r in np.sort(keep)]

    column = {item: col for col, item in enumerate(model.item_ids)}
    metrics: dict[str, list[float]] = defaultdict(list)
    for start in range(0, len(requests), SCORE_BATCH_USERS):
        batch = requests[start : start + SCORE_BATCH_USERS]
        histories = [history[user][:n] for user, _, _, n in batch]
        at = np.array([t for _, _, t, _ in batch])
        users = [user for user, _, _, _ in batch]
        scores = np.asarray(model.score(users, at=at, histories=histories), np.float32).copy()
        for row, ((_, item, _, _), plays) in enumerate(zip(batch, histories, strict=True)):
            scores[row, [column[i] for i, _ in plays if i in column]] = -np.inf  # (B, I)
            if item not in column:
                rank = math.inf
            else:
                target = scores[row, column[item]]
                # 0-based rank; ties with the target count as ranked above it (pessimistic)
                rank = int((scores[row] > target).sum() + (scores[row] == target).sum() - 1)
            metrics[f"next_ndcg@{k}"].append(1.0 / math.log2(rank + 2) if rank < k else 0.0)
            metrics[f"next_hr@{k}"].append(float(rank < k))
            metrics["next_mrr"].append(0.0 if rank == math.inf else 1.0 / (rank + 1))
    names = [f"next_ndcg@{k}", f"next_hr@{k}", "next_mrr"]
    per_request = {name: np.asarray(metrics.get(name, []), np.float64) for name in names}
    return Evaluation(per_user=per_request, catalog={"n_requests": len(requests)})
