"""Measurements of SASRec's optional tools, printed for docs/models.md.

    python -m recommender.sasrec_studies tokenize [--interactions CSV [--items CSV]]
    python -m recommender.sasrec_studies heads [--interactions CSV --items CSV]
    python -m recommender.sasrec_studies chain
    python -m recommender.sasrec_studies device --interactions CSV --items CSV [--seeds 0,1,2]

``chain``: the figures of ``tests/recommender/test_sasrec.py``'s chain test (members who
walk the catalogue in order; SASRec in the test's small config against MF's defaults).

``tokenize``: the same SASRec with and without ``merge_repeats``: plays and tokens in the
training windows, fit time, and next-play quality (NDCG@10, MRR; seen titles excluded) on a
time split. ``heads``: the same SASRec with and without the watch-fraction and genre heads
(``watch_weight``/``genre_weight`` = 0.3): does the main task gain? Without files both run
on a synthetic log made here (seeded, :func:`episodic_log`): members walk a chain of titles
of their liked genre, play each title 1-4 times in a row (episodes) and watch it through
(weight 0.9), and now and then sample a title of another genre and abandon it early (0.1).
``device``: SASRec with and without ``use_device`` on a log that records devices, judged
as the platform's promotion gate judges (time split at 80%, the catalogue as of the cut,
later titles added before scoring, NDCG@10 per member of :func:`recommender.metrics.evaluate`,
which passes no request device), and by next-play NDCG@10 with each play's device in the
history and the request's device (the play's own), as the platform serves
(:func:`next_play_with_devices`); one fit per seed, paired differences over members.

Fits run on one torch thread.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from dataclasses import replace

import numpy as np
import torch

from recommender.data import Interactions, time_split
from recommender.evaluate import catalog_at_cut, evaluate
from recommender.metadata import ItemMetadata
from recommender.metrics import evaluate_detailed
from recommender.mf import MFRecommender
from recommender.sasrec import SASRecConfig, SASRecRecommender
from recommender.synthetic import chain_interactions

T0 = 1_700_000_000.0
DAY = 86_400.0
GENRES = ("drama", "comedy", "horror", "documentary")


def episodic_log(
    rng: np.random.Generator, *, n_users: int = 600, n_items: int = 400, steps: int = 20
) -> tuple[Interactions, ItemMetadata]:
    """The synthetic log described in the module docstring, and its titles' genres.

    Each title's successor is a title of its own genre (a fixed random chain per genre); a
    member walks their liked genre's chain (80%) or jumps within it (20%), playing each
    title 1-4 times in a row, watched through (weight 0.9); now and then (25% of steps)
    they sample one title of another genre and abandon it early (0.1), then walk on.
    """
    genre = np.arange(n_items) % len(GENRES)
    successor = np.empty(n_items, np.int64)
    for g in range(len(GENRES)):
        titles = rng.permutation(np.flatnonzero(genre == g))
        successor[titles] = np.roll(titles, -1)
    users, items, times, weights = [], [], [], []
    for user in range(n_users):
        liked = user % len(GENRES)
        mine = np.flatnonzero(genre == liked)
        title = int(rng.choice(mine))
        t = T0 + rng.uniform(0, 10 * DAY)
        for _ in range(steps):
            for _ in range(int(rng.integers(1, 5))):
                users.append(f"u{user}")
                items.append(f"i{title}")
                times.append(t)
                weights.append(0.9)
                t += rng.uniform(0.02, 0.5) * DAY
            if rng.random() < 0.25:  # a sample of another genre, abandoned
                users.append(f"u{user}")
                items.append(f"i{int(rng.choice(np.flatnonzero(genre != liked)))}")
                times.append(t)
                weights.append(0.1)
                t += rng.uniform(0.02, 0.5) * DAY
            title = int(successor[title]) if rng.random() < 0.8 else int(rng.choice(mine))
    meta = ItemMetadata.from_records(
        [f"i{k}" for k in range(n_items)],
        genres=[[GENRES[g]] for g in genre],
        added_at=[T0 - 100 * DAY] * n_items,
    )
    return Interactions.from_records(users, items, times, weights), meta


def run(
    name: str, config: SASRecConfig, train: Interactions, test: Interactions, items
) -> dict[str, float]:
    start = time.perf_counter()
    model = SASRecRecommender(config).fit(train, items=items)
    fit_s = time.perf_counter() - start
    offsets = model._history_offsets
    tokens = sum(
        len(model.tokens(model._training_plays(offsets[u], offsets[u + 1]))[0])
        for u in range(len(offsets) - 1)
    )
    detailed = evaluate_detailed(model, train, test)
    metrics = detailed.means()
    row = {"fit_s": fit_s, "tokens": tokens, "max_len": model.config.max_len, **metrics}
    row["per_member"] = detailed.per_user["ndcg@10"]
    print(
        f"{name:<26} tokens {tokens:>7}  max_len {model.config.max_len:>3}  fit {fit_s:6.1f} s"
        f"  NDCG@10 {metrics['ndcg@10']:.4f}  MRR {metrics['mrr']:.4f}"
        f"  best epoch {model.config.extra.get('best_epoch', '-')}"
    )
    return row


def gain(row: dict, base: dict, samples: int = 1000) -> str:
    """NDCG@10 of ``row`` minus ``base``'s, with a 95% interval resampling members (paired:
    both models are judged on the same members, so their difference is resampled)."""
    diff = row["per_member"] - base["per_member"]  # (members,) same members, same order
    picks = np.random.default_rng(0).integers(len(diff), size=(samples, len(diff)))
    low, high = np.percentile(diff[picks].mean(1), [2.5, 97.5])
    return f"NDCG@10 {diff.mean():+.4f} [{low:+.4f}, {high:+.4f}]"


def next_play_with_devices(
    model: SASRecRecommender,
    train: Interactions,
    test: Interactions,
    *,
    k: int = 10,
    max_requests: int = 2000,
    seed: int = 0,
) -> np.ndarray:
    """(R,) NDCG@k of next-play requests with devices: one per test play of a title new to
    the member (a seeded sample of at most ``max_requests``), scored at its time from the
    member's training and earlier test plays, each with its device, the request from the
    play's own device; seen titles excluded, ties in the target's favour."""
    if train.devices is None or test.devices is None:
        raise ValueError("next_play_with_devices needs a log with a device column")
    history: dict[str, list[tuple[str, float, str | None]]] = defaultdict(list)
    for row in np.lexsort((train.timestamps, train.user_ids.astype(str))):
        play = (train.item_ids[row], float(train.timestamps[row]), train.devices[row] or None)
        history[train.user_ids[row]].append(play)
    requests = []
    for row in np.lexsort((test.timestamps, test.user_ids.astype(str))):
        user, item = test.user_ids[row], test.item_ids[row]
        t, device = float(test.timestamps[row]), test.devices[row] or None
        before = history[user]
        if item not in {p[0] for p in before}:
            requests.append((user, item, t, device, len(before)))
        before.append((item, t, device))
    if len(requests) > max_requests:
        keep = np.random.default_rng(seed).choice(len(requests), max_requests, replace=False)
        requests = [requests[r] for r in np.sort(keep)]
    column = {item: col for col, item in enumerate(model.item_ids)}
    gains = []
    for start in range(0, len(requests), 256):
        batch = requests[start : start + 256]
        plays = [history[user][:n] for user, _, _, _, n in batch]
        scores = model.score(
            [r[0] for r in batch],
            at=np.array([r[2] for r in batch]),
            histories=plays,
            devices=[r[3] for r in batch],
        ).copy()
        for row, ((_, item, _, _, _), before) in enumerate(zip(batch, plays, strict=True)):
            scores[row, [column[p[0]] for p in before if p[0] in column]] = -np.inf
            if item not in column:
                gains.append(0.0)
                continue
            rank = int((scores[row] > scores[row, column[item]]).sum())
            gains.append(1.0 / np.log2(rank + 2.0) if rank < k else 0.0)
    return np.asarray(gains, np.float64)


def device(data: Interactions, items: ItemMetadata | None, seeds: list[int]) -> int:
    """The ``device`` study of the module docstring."""
    train, test = time_split(data)
    known, arrivals = catalog_at_cut(items, float(test.timestamps.min()))
    print(f"{len(train)} train / {len(test)} test plays")
    gate: dict[bool, list[np.ndarray]] = {False: [], True: []}
    nexts: dict[bool, list[np.ndarray]] = {False: [], True: []}
    for seed in seeds:
        for use in (False, True):
            start = time.perf_counter()
            model = SASRecRecommender(SASRecConfig(use_device=use)).fit(
                train, items=known, rng=np.random.default_rng(seed)
            )  # the platform's trial fit: seeded by rng, the titles known at the cut
            fit_s = time.perf_counter() - start
            if arrivals is not None and len(arrivals):
                model.extend_items(arrivals)
            gate[use].append(evaluate_detailed(model, train, test, items=items).per_user["ndcg@10"])
            nexts[use].append(next_play_with_devices(model, train, test))
            print(
                f"seed {seed} {'sasrec-device' if use else 'sasrec':<14} gate NDCG@10 "
                f"{gate[use][-1].mean():.4f}  next-play NDCG@10 with devices "
                f"{nexts[use][-1].mean():.4f}  fit {fit_s:.0f} s  best epoch "
                f"{model.config.extra.get('best_epoch', '-')}",
                flush=True,
            )
    for label, figures in (("gate NDCG@10", gate), ("next-play NDCG@10 with devices", nexts)):
        plain, with_device = (np.mean(figures[use], 0) for use in (False, True))
        row, base = {"per_member": with_device}, {"per_member": plain}
        print(
            f"{label}, mean of {len(seeds)} seeds: sasrec {plain.mean():.4f}, sasrec-device "
            f"{with_device.mean():.4f}; difference {gain(row, base).removeprefix('NDCG@10 ')}"
        )
    return 0


def chain() -> int:
    """SASRec against MF where only the order of plays predicts the next one."""
    train, test = time_split(chain_interactions(np.random.default_rng(0)))
    small = SASRecConfig(dim=16, max_len=20, min_steps=100, refit=False, patience=10)
    for name, model in (
        ("sasrec (test config)", SASRecRecommender(small)),
        ("mf", MFRecommender()),
    ):
        metrics = evaluate(model.fit(train), train, test)
        print(f"{name:<22} MRR {metrics['mrr']:.3f}  NDCG@10 {metrics['ndcg@10']:.3f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study", choices=("tokenize", "heads", "chain", "device"))
    parser.add_argument("--interactions", help="a log CSV (default: the synthetic log)")
    parser.add_argument("--items", help="title metadata CSV")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", default="0,1,2", help="device: one fit per seed")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.study == "chain":
        return chain()
    if args.study == "device":
        if not args.interactions:
            parser.error("device needs --interactions: a log CSV with a device column")
        try:
            seeds = [int(s) for s in args.seeds.split(",")]
        except ValueError:
            parser.error(f"--seeds {args.seeds!r}: expected integers separated by commas")
        data = Interactions.from_csv(args.interactions)
        if data.devices is None:
            parser.error(f"--interactions {args.interactions!r} has no device column")
        items = ItemMetadata.from_csv(args.items) if args.items else None
        return device(data, items, seeds)
    if args.interactions:
        data = Interactions.from_csv(args.interactions)
        items = ItemMetadata.from_csv(args.items) if args.items else None
    else:
        data, items = episodic_log(np.random.default_rng(args.seed))
    train, test = time_split(data)
    print(f"{len(train)} train / {len(test)} test plays")
    base = SASRecConfig(seed=args.seed)
    if args.study == "tokenize":
        plain = run("plays (default)", base, train, test, items)
        merged = run("merge_repeats", replace(base, merge_repeats=True), train, test, items)
        # training speed for the same passes: 10 epochs each, no early stopping, each at its
        # own automatic history length (in tokens when merged)
        speed = {}
        for merge in (False, True):
            fixed = replace(base, merge_repeats=merge, validation_members=0, epochs=10)
            fixed = replace(fixed, min_steps=1)
            start = time.perf_counter()
            SASRecRecommender(fixed).fit(train, items=items)
            speed[merge] = time.perf_counter() - start
        print(
            f"tokens / plays {merged['tokens'] / plain['tokens']:.3f}; fit time with early "
            f"stopping {merged['fit_s'] / plain['fit_s']:.2f}x; 10 epochs: "
            f"{speed[False]:.1f} s plays, {speed[True]:.1f} s tokens "
            f"({speed[True] / speed[False]:.2f}x); {gain(merged, plain)}"
        )
    else:
        plain = run("next play only (default)", base, train, test, items)
        for label, change in (
            ("+ watch head 0.3", {"watch_weight": 0.3}),
            ("+ genre head 0.3", {"genre_weight": 0.3}),
            ("+ both", {"watch_weight": 0.3, "genre_weight": 0.3}),
        ):
            row = run(label, replace(base, **change), train, test, items)
            print(f"{'':<26} {gain(row, plain)} against the default")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
