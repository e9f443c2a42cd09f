"""Recommender benchmarks: print the figures recorded in docs/benchmarks.md.

    python -m recommender.bench [--titles 5000] [--members 10000] [--skip-compile]

1. EASE fit at ``--titles`` titles, against a bare Cholesky inverse of the same Gram matrix
   timed in the same run (goal: <= 5 s and within 1.5x of the bare inverse).
2. SASRec training throughput at d=64, 2 blocks, history length 200, sampled softmax
   (goal: >= 15,000 events per second on 2 cores).
3. Serving: ``Ranker.top_k`` (all titles scored, top 200 taken) for one member, per model
   (goal: < 0.5 ms for embedding models, < 2 ms for SASRec over a 200-play history), and
   batch precomputation throughput.
4. SASRec serving with int8 dynamic quantization and with torch.compile: latency and the
   change in next-play HR@10 on held-out members.

The data are synthetic (a Markov chain over titles, so next-play accuracy means something);
every reading prints ``os.getloadavg()``, because the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch

from recommender.data import Interactions
from recommender.ease import EASEConfig, EASERecommender, gram_matrix
from recommender.mf import MFConfig, MFRecommender
from recommender.popularity import PopularityRecommender
from recommender.sasrec import SASRecConfig, SASRecRecommender
from recommender.serving import Ranker

T0 = 1_700_000_000.0


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


def markov_log(
    rng: np.random.Generator, *, n_items: int, n_users: int, per_user: int
) -> tuple[Interactions, np.ndarray]:
    """Members walking a sparse Markov chain (5 successors a title, 80%) with popularity jumps.

    Returns the log and the (n_users, per_user) item matrix of the walks.
    """
    successors = rng.integers(n_items, size=(n_items, 5))
    popularity = rng.pareto(1.2, n_items) + 1
    popularity /= popularity.sum()
    walks = np.empty((n_users, per_user), np.int64)
    walks[:, 0] = rng.choice(n_items, n_users, p=popularity)
    jumps = rng.choice(n_items, (n_users, per_user), p=popularity)
    follow = rng.random((n_users, per_user)) < 0.8
    pick = rng.integers(5, size=(n_users, per_user))
    for t in range(1, per_user):
        walks[:, t] = np.where(follow[:, t], successors[walks[:, t - 1], pick[:, t]], jumps[:, t])
    users = np.repeat([f"u{u}" for u in range(n_users)], per_user)
    times = T0 + np.cumsum(rng.uniform(600, 7200, (n_users, per_user)), 1).ravel()
    items = np.array([f"i{i}" for i in range(n_items)], dtype=object)[walks.ravel()]
    return Interactions.from_records(users, items, times), walks


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def bench_ease(n_items: int, n_users: int) -> None:
    rng = np.random.default_rng(0)
    popularity = rng.pareto(1.0, n_items) + 1
    per_user = 50
    items = np.concatenate(
        [
            rng.choice(n_items, per_user, replace=False, p=popularity / popularity.sum())
            for _ in range(n_users)
        ]
    )
    users = np.repeat(np.arange(n_users), per_user)
    data = Interactions.from_records(
        users.astype(str), [f"i{i}" for i in items], T0 + rng.uniform(0, 86400 * 30, len(items))
    )
    config = EASEConfig(l2=500.0, tune_l2=False)
    EASERecommender(config).fit(data)  # warm up BLAS
    fit = min(timed(lambda: EASERecommender(config).fit(data), 3))
    model = EASERecommender(config)
    indexed = model._index(data)
    n = indexed.n_items
    gram_s = min(timed(lambda: gram_matrix(indexed.users, indexed.items, n), 3))
    gram = gram_matrix(indexed.users, indexed.items, n)

    def bare() -> None:
        g = torch.from_numpy(gram).to(torch.float32)
        g.diagonal().add_(500.0)
        torch.cholesky_inverse(torch.linalg.cholesky(g))

    inverse = min(timed(bare, 3))
    print(
        f"EASE fit, {n} titles, {n_users} members, {len(data)} plays, "
        f"{torch.get_num_threads()} threads: fit {fit:.2f} s (Gram {gram_s:.2f} s); "
        f"bare Cholesky inverse {inverse:.2f} s; ratio {fit / inverse:.2f}x  [{load()}]",
        flush=True,
    )


def bench_training(data: Interactions, n_items: int, epochs: int) -> SASRecRecommender:
    """Time one epoch (the throughput figure), then train ``epochs`` for the accuracy tests."""
    config = SASRecConfig(
        dim=64,
        blocks=2,
        heads=2,
        max_len=200,
        epochs=1,
        min_steps=1,
        dropout=0.1,
        batch_size=32,
        full_softmax_max_items=1000,
        num_negatives=512,
    )
    model = SASRecRecommender(config)
    start = time.perf_counter()
    model.fit(data)
    seconds = time.perf_counter() - start
    users = len(model.user_ids)
    events = len(data) - users  # every play but each member's first is a target
    print(
        f"SASRec training, d=64, 2 blocks, L=200, {n_items} titles, sampled softmax 512, "
        f"{torch.get_num_threads()} threads: {events} events in {seconds:.1f} s = "
        f"{events / seconds:,.0f} events/s  [{load()}]",
        flush=True,
    )
    # the served model: smaller batches for more steps, so next-play accuracy is measurable
    return SASRecRecommender(replace(config, epochs=epochs, batch_size=8)).fit(data)


def latency(ranker: Ranker, call: Callable[[], object], repeat: int = 300) -> tuple[float, float]:
    for _ in range(20):
        call()
    times = sorted(timed(call, repeat))
    return statistics.median(times) * 1e3, times[int(0.9 * len(times))] * 1e3


def next_play_top10(
    model: SASRecRecommender, walks: np.ndarray, times: np.ndarray
) -> tuple[float, list[list[str]]]:
    """Next-play HR@10 over ``walks`` (history: all but the last play) and the top-10 lists."""
    ranker = Ranker(model)
    hits, lists = 0, []
    for row in range(len(walks)):
        history = [(f"i{i}", t) for i, t in zip(walks[row, :-1], times[row, :-1], strict=True)]
        items, _ = ranker.top_k(history=history, at=times[row, -1], k=10)
        hits += f"i{walks[row, -1]}" in items
        lists.append(items)
    return hits / len(walks), lists


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recommender.bench", description=__doc__)
    parser.add_argument("--titles", type=int, default=5000)
    parser.add_argument("--members", type=int, default=10000)
    parser.add_argument("--train-members", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1, help="threads for fitting (default 1)")
    parser.add_argument("--epochs", type=int, default=5, help="epochs of the model served")
    parser.add_argument("--skip-compile", action="store_true")
    args = parser.parse_args(argv)
    if min(args.titles, args.members, args.train_members, args.threads) < 1:
        parser.error("--titles, --members, --train-members and --threads must be >= 1")
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs  [{load()}]", flush=True)

    torch.set_num_threads(args.threads)
    bench_ease(args.titles, args.members)

    rng = np.random.default_rng(1)
    everyone, walks = markov_log(
        rng, n_items=args.titles, n_users=args.train_members + 300, per_user=201
    )
    train_users = {f"u{u}" for u in range(args.train_members)}
    data = everyone.select(np.array([u in train_users for u in everyone.user_ids]))
    sasrec = bench_training(data, args.titles, args.epochs)

    torch.set_num_threads(1)
    held = everyone.select(everyone.user_ids == f"u{args.train_members}")
    history = [(i, t) for i, t in zip(held.item_ids[:200], held.timestamps[:200], strict=True)]
    at = float(held.timestamps[200])
    models = {
        "popularity": PopularityRecommender().fit(data),
        "mf d=64": MFRecommender(MFConfig(dim=64, epochs=1, min_steps=1)).fit(data),
        "ease": EASERecommender(EASEConfig(l2=500.0, tune_l2=False)).fit(data),
    }
    for name, model in models.items():
        ranker = Ranker(model)
        med, p90 = latency(ranker, lambda r=ranker: r.top_k("u7", k=200))
        print(
            f"serve {name:<11} top-200 of {len(model.item_ids)} titles, known member, 1 thread: "
            f"median {med:.3f} ms, p90 {p90:.3f} ms  [{load()}]",
            flush=True,
        )
    ease_ranker = Ranker(models["ease"])
    med, p90 = latency(ease_ranker, lambda: ease_ranker.top_k(history=history, k=200))
    print(
        f"serve ease        with a 200-play request history: median {med:.3f} ms, p90 {p90:.3f} ms  [{load()}]"
    )

    test_walks = walks[args.train_members :]  # members the model never saw: history only
    test_times = T0 + np.cumsum(np.random.default_rng(2).uniform(600, 7200, test_walks.shape), 1)
    variants = [("float32", {}), ("int8 dynamic", {"quantize": True})]
    if not args.skip_compile:
        variants.append(("torch.compile", {"compile": True}))
    base_hr, base_lists = None, []
    for name, options in variants:
        model = SASRecRecommender.__new__(SASRecRecommender)
        model.__dict__.update(sasrec.__dict__)
        model.net = _clone_net(sasrec)
        ranker = Ranker(model, **options)
        start = time.perf_counter()
        ranker.top_k(history=history, at=at, k=200)  # compiles on first call
        first = time.perf_counter() - start
        med, p90 = latency(ranker, lambda r=ranker: r.top_k(history=history, at=at, k=200))
        hr, lists = next_play_top10(model, test_walks, test_times)
        if base_hr is None:
            base_hr, base_lists = hr, lists
        overlap = np.mean(
            [len(set(a) & set(b)) / 10 for a, b in zip(lists, base_lists, strict=True)]
        )
        print(
            f"serve sasrec {name:<13} 200-play history, top-200 of {args.titles}, 1 thread: "
            f"median {med:.3f} ms, p90 {p90:.3f} ms (first call {first:.1f} s); "
            f"next-play HR@10 {hr:.3f} ({hr - base_hr:+.3f}), top-10 overlap with float32 "
            f"{overlap:.3f}  [{load()}]",
            flush=True,
        )
    ranker = Ranker(sasrec)
    users = sasrec.user_ids[:512]
    start = time.perf_counter()
    ranker.top_k_batch(users, k=200)
    seconds = time.perf_counter() - start
    print(
        f"batch precompute sasrec: {len(users)} members (200-play histories) in {seconds:.2f} s "
        f"= {len(users) / seconds:,.0f} members/s, 1 thread  [{load()}]"
    )
    return 0


def _clone_net(model: SASRecRecommender):  # noqa: ANN202 - a SASRecNet
    from recommender.sasrec import SASRecNet

    with torch.random.fork_rng(devices=[]):
        net = SASRecNet(len(model.item_ids), model.config)
    net.load_state_dict(model.net.state_dict())
    return net.eval()


if __name__ == "__main__":
    sys.exit(main())
