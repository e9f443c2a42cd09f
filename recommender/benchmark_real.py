"""Every model on a real public log, by the protocol of the sequential-recommendation papers.

    python -m recommender.benchmark_real --data var/ml-100k [--models popularity,ease,mf,sasrec]
        [--set sasrec.dim=64] [--bootstrap 1000] [--seed 0] [--json out.json] [--threads 1]

The data are MovieLens 100k (943 members, 1,682 films, 100,000 ratings with timestamps;
Harper & Konstan 2015), every rating counted as a play, as in the SASRec papers. The
benchmark fetches them itself into ``--data`` when they are missing: ``pip download
--no-deps recbole==1.2.1`` (RecBole ships the log as ``ml-100k.inter`` inside its wheel)
and the two data files are read out of the wheel; nothing is installed, and neither the app
nor the tests ever download anything.

Protocol: leave-last-out by time (:func:`recommender.data.leave_last_out`: each member's
last rating is the test, ties at one second kept in file order), full ranking over all
titles, titles the member rated before removed from the ranking; each member scored at the
time of the test rating. Each model is fitted on the rest with its *default* config (what
``python -m recommender.train`` uses), so any tuning happens inside ``fit``, on data carved
from the training part only. Beside them, ``ease-ref``: a reference EASE, a direct dense
closed form whose lambda is chosen on a validation split (each member's last training
rating) over a fine log grid, then refitted on all training data; it is the "carefully
tuned EASE" the issue asks the transformer to beat by 10%.

Printed per model: NDCG@10, HR@10, MRR with 95% bootstrap intervals over members, the ratio
of NDCG@10 to the reference EASE's with a paired bootstrap interval, fit seconds, and the
serving latency of one request (a member's history in, all titles scored, top 10 out).
SASRec, the one model that reads the request time, is also scored with it withheld
("sasrec no-at"): ranking each member's next play as if it came right after the last one.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
import zipfile
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from recommender.base import MODELS, History
from recommender.data import Interactions, leave_last_out
from recommender.evaluate import make_configs
from recommender.metrics import evaluate_detailed

PACKAGE = "recbole==1.2.1"
"""The PyPI distribution whose wheel carries the MovieLens 100k log."""
MEMBERS = {"interactions": "ml-100k.inter", "items": "ml-100k.item"}
"""Files read out of the wheel (``recbole/dataset_example/ml-100k/<name>``)."""
REFERENCE_GRID = tuple(float(x) for x in np.logspace(0, 4.5, 19))
"""Lambdas the reference EASE tries: 1 to ~31,600, four per decade."""
LATENCY_REQUESTS = 200
"""Members whose one-request latency is timed (after 20 warm-up requests)."""
K = 10


def fetch(directory: Path) -> Path:
    """``directory/ml-100k.inter``, fetched from PyPI's recbole wheel when missing.

    Raises ``RuntimeError`` naming the command when pip cannot get the wheel.
    """
    target = directory / MEMBERS["interactions"]
    if target.is_file():
        return target
    directory.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", PACKAGE, "-d", str(directory)]
    print(f"fetching MovieLens 100k: {' '.join(command[2:])}", flush=True)
    done = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(directory.glob("recbole-*.whl"))
    if done.returncode != 0 or not wheels:
        raise RuntimeError(f"`{' '.join(command)}` failed:\n{done.stderr[-2000:]}")
    with zipfile.ZipFile(wheels[-1]) as wheel:
        for name in MEMBERS.values():
            data = wheel.read(f"recbole/dataset_example/ml-100k/{name}")
            partial = directory / f".{name}.partial"
            partial.write_bytes(data)
            os.replace(partial, directory / name)
    return target


def read_inter(path: Path) -> Interactions:
    """A RecBole atomic ``.inter`` file (tab-separated, typed header) as plays of weight 1.

    Rows keep the file's order, which is what orders ratings made in the same second.
    """
    users: list[str] = []
    items: list[str] = []
    times: list[float] = []
    with path.open(encoding="utf-8") as f:
        header = [cell.split(":")[0] for cell in f.readline().rstrip("\n").split("\t")]
        try:
            u, i, t = (header.index(name) for name in ("user_id", "item_id", "timestamp"))
        except ValueError:
            raise ValueError(
                f"{path} line 1: expected user_id, item_id and timestamp columns, got {header}"
            ) from None
        for line_number, line in enumerate(f, start=2):
            cells = line.rstrip("\n").split("\t")
            if len(cells) != len(header):
                raise ValueError(f"{path} line {line_number}: expected {len(header)} fields")
            users.append(cells[u])
            items.append(cells[i])
            times.append(float(cells[t]))
    return Interactions.from_records(users, items, times)


def order_ties_by_item(data: Interactions) -> Interactions:
    """The same plays with those in the same second ordered by item id (numerically when
    every id is a number): an ablation of tie order, which decides which play is "last"."""
    ids = data.item_ids
    key = ids.astype(np.int64) if all(i.isdigit() for i in ids) else ids.astype(str)
    return data.select(np.lexsort((key, data.timestamps)))


class ReferenceEASE:
    """EASE written out directly: dense binary X, ``P = inv(X^T X + lambda I)``, ``B = I -
    P / diag(P)``, with lambda chosen by NDCG@10 on each member's last training play.

    Deliberately independent of :mod:`recommender.ease` (no Gram-by-pairs, no Cholesky, no
    time split): it is the yardstick the project's EASE is checked against.
    """

    def __init__(self, grid: tuple[float, ...] = REFERENCE_GRID) -> None:
        self.grid = grid
        self.l2 = math.nan
        self.validation: dict[str, float] = {}

    def fit(self, train: Interactions) -> ReferenceEASE:
        inner, valid = leave_last_out(train)
        self._solve_for(inner)
        gram = self._x.T @ self._x
        for l2 in self.grid:
            self._weights = _ease_dense(gram, l2)
            ndcg = evaluate_detailed(self, inner, valid, k=K).means()[f"ndcg@{K}"]
            self.validation[f"{l2:.4g}"] = ndcg
        self.l2 = float(max(self.grid, key=lambda l2: self.validation[f"{l2:.4g}"]))
        self._solve_for(train)
        self._weights = _ease_dense(self._x.T @ self._x, self.l2)
        return self

    def _solve_for(self, data: Interactions) -> None:
        self.user_ids = sorted(set(data.user_ids.tolist()))
        self.item_ids = sorted(set(data.item_ids.tolist()))
        rows = {u: r for r, u in enumerate(self.user_ids)}
        self._column = {i: c for c, i in enumerate(self.item_ids)}
        self._x = np.zeros((len(self.user_ids), len(self.item_ids)), np.float64)
        for user, item in zip(data.user_ids, data.item_ids, strict=True):
            self._x[rows[user], self._column[item]] = 1.0
        self._row = rows

    def score(
        self,
        user_ids: list[str],
        *,
        at: Any = None,
        histories: list[History | None] | None = None,
    ) -> np.ndarray:
        """(B, I) ``x B`` from the training plays, or from ``histories`` when given."""
        x = np.zeros((len(user_ids), len(self.item_ids)))
        for b, user in enumerate(user_ids):
            if histories is not None and histories[b] is not None:
                cols = [self._column[i] for i, _ in histories[b] if i in self._column]
                x[b, cols] = 1.0
            elif user in self._row:
                x[b] = self._x[self._row[user]]
        return (x @ self._weights).astype(np.float32)


class WithoutRequestTime:
    """A fitted model scored as if the request time were unknown (``at`` withheld), as a
    user who calls ``score`` or ``recommender.recommend`` without ``--at`` would score it."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.item_ids = model.item_ids

    def score(self, user_ids: list[str], *, at: Any = None, histories: Any = None) -> np.ndarray:
        return self.model.score(user_ids, histories=histories)


def _ease_dense(gram: np.ndarray, l2: float) -> np.ndarray:
    p = np.linalg.inv(gram + l2 * np.eye(len(gram)))
    b = -p / np.diag(p)[None, :]
    np.fill_diagonal(b, 0.0)
    return b


def paired_ratio(
    values: np.ndarray, reference: np.ndarray, *, samples: int, seed: int
) -> tuple[float, float, float]:
    """(mean(values) / mean(reference), 95% interval) resampling the same members for both."""
    ratio = float(values.mean() / reference.mean())
    if not samples:
        return ratio, math.nan, math.nan
    picks = np.random.default_rng(seed).integers(len(values), size=(samples, len(values)))
    ratios = values[picks].mean(1) / reference[picks].mean(1)
    low, high = np.percentile(ratios, [2.5, 97.5])
    return ratio, float(low), float(high)


def serving_latency(model: Any, train: Interactions, test: Interactions) -> float:
    """Median milliseconds of one request: a member's history in, all titles scored, top 10.

    Histories are the members' training plays, requests at their test time, on one thread.
    """
    history: dict[str, list[tuple[str, float]]] = {}
    order = np.argsort(train.timestamps, kind="stable")
    for row in order:
        history.setdefault(train.user_ids[row], []).append(
            (train.item_ids[row], float(train.timestamps[row]))
        )
    requests = [(u, float(t)) for u, t in zip(test.user_ids, test.timestamps, strict=True)]
    requests = requests[: LATENCY_REQUESTS + 20]
    times = []
    for n, (user, at) in enumerate(requests):
        started = time.perf_counter()
        scores = model.score([user], at=np.array([at]), histories=[history.get(user, [])])[0]
        top = np.argpartition(-scores, K)[:K]
        top[np.argsort(-scores[top], kind="stable")]
        if n >= 20:
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times) if times else math.nan


def run(
    configs: dict[str, Any],
    train: Interactions,
    test: Interactions,
    *,
    bootstrap: int,
    seed: int,
    reference: bool = True,
) -> dict[str, dict[str, Any]]:
    """Fit every model (and the reference EASE) on ``train``, evaluate on ``test``."""
    fitted: dict[str, tuple[Any, float, dict[str, Any]]] = {}
    if reference:
        started = time.perf_counter()
        ref = ReferenceEASE().fit(train)
        seconds = time.perf_counter() - started
        fitted["ease-ref"] = (ref, seconds, {"l2": ref.l2, "validation": ref.validation})
        print(f"  ease-ref: lambda {ref.l2:.4g} chosen on validation, {seconds:.1f} s", flush=True)
    for kind, config in configs.items():
        started = time.perf_counter()
        model = MODELS[kind](config).fit(train, rng=np.random.default_rng(seed))
        seconds = time.perf_counter() - started
        chosen = {f.name: getattr(model.config, f.name) for f in fields(model.config)}
        fitted[kind] = (model, seconds, chosen)
        print(f"  {kind}: fitted in {seconds:.1f} s", flush=True)
        if kind == "sasrec":  # the only model that reads the request time
            fitted[f"{kind} no-at"] = (WithoutRequestTime(model), seconds, chosen)
    details = {
        name: evaluate_detailed(model, train, test, k=K) for name, (model, _, _) in fitted.items()
    }
    base = details.get("ease-ref")
    results: dict[str, dict[str, Any]] = {}
    for name, (model, seconds, chosen) in fitted.items():
        detail = details[name]
        result: dict[str, Any] = {
            "means": detail.means(),
            "ci95": detail.bootstrap(samples=bootstrap, seed=seed) if bootstrap else {},
            "fit_seconds": seconds,
            "latency_ms": serving_latency(model, train, test),
            "config": chosen,
            "per_member_ndcg@10": detail.per_user[f"ndcg@{K}"].tolist(),  # sorted member ids
        }
        if base is not None:
            result["ratio_to_ease_ref"] = paired_ratio(
                detail.per_user[f"ndcg@{K}"],
                base.per_user[f"ndcg@{K}"],
                samples=bootstrap,
                seed=seed,
            )
        results[name] = result
    return results


def format_table(results: dict[str, dict[str, Any]]) -> str:
    header = (
        f"{'model':<13}{'NDCG@10':>8}{'95% CI':>16}{'HR@10':>8}{'MRR':>8}"
        f"{'/ease-ref':>10}{'95% CI':>16}{'fit s':>8}{'ms/req':>8}"
    )
    lines = [header, "-" * len(header)]
    for name, r in results.items():
        m, ci = r["means"], r["ci95"]
        low, high = ci.get(f"ndcg@{K}", (math.nan, math.nan))
        ratio, r_low, r_high = r.get("ratio_to_ease_ref", (math.nan,) * 3)
        lines.append(
            f"{name:<13}{m[f'ndcg@{K}']:>8.4f}{f'[{low:.4f},{high:.4f}]':>16}"
            f"{m[f'hr@{K}']:>8.4f}{m['mrr']:>8.4f}{ratio:>10.3f}"
            f"{f'[{r_low:.3f},{r_high:.3f}]':>16}{r['fit_seconds']:>8.1f}{r['latency_ms']:>8.2f}"
        )
    return "\n".join(lines)


def chosen_lines(results: dict[str, dict[str, Any]]) -> list[str]:
    """What each self-tuning model chose on the training part (lambda, length, epochs)."""
    lines = []
    for name, r in results.items():
        config = r["config"]
        if name == "ease-ref" or name == "ease":
            lines.append(f"{name}: lambda {config['l2']:g}")
        elif name == "sasrec":
            extra = config.get("extra", {})
            picked = ", ".join(
                f"{key} {extra[key]:.4g}"
                for key in ("best_epoch", "epochs_run", "validation_ndcg@10")
                if key in extra
            )
            lines.append(f"{name}: max_len {config['max_len']}" + (f", {picked}" if picked else ""))
    return lines


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m recommender.benchmark_real",
        description="Every model on MovieLens 100k, leave-last-out by time, full ranking.",
    )
    parser.add_argument(
        "--data", type=Path, default=Path("var/ml-100k"), help="folder of ml-100k.inter"
    )
    parser.add_argument("--models", default="popularity,ease,mf,sasrec", help="model kinds")
    parser.add_argument("--set", action="append", default=[], metavar="KIND.FIELD=VALUE")
    parser.add_argument(
        "--ties",
        choices=("file", "item"),
        default="file",
        help="order of plays in the same second: as in the file (default) or by item id",
    )
    parser.add_argument("--no-reference", action="store_true", help="skip the reference EASE")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0, help="seed of models and bootstrap")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        kinds = [k.strip() for k in args.models.split(",") if k.strip()]
        unknown = [k for k in kinds if k not in MODELS]
        if unknown:
            parser.error(f"--models: unknown kind {unknown[0]!r}; known: {', '.join(MODELS)}")
        if args.threads < 1 or args.bootstrap < 0:
            parser.error("--threads must be >= 1 and --bootstrap >= 0")
        configs = make_configs(parser, kinds, args.set, args.seed)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        data = read_inter(fetch(args.data))
    except (OSError, ValueError, RuntimeError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.ties == "item":
        data = order_ties_by_item(data)
    train, test = leave_last_out(data)
    print(
        f"{len(data)} plays, {len(set(data.user_ids))} members, {len(set(data.item_ids))} "
        f"titles; leave-last-out: {len(train)} train / {len(test)} test"
    )
    torch.set_num_threads(args.threads)
    results = run(
        configs,
        train,
        test,
        bootstrap=args.bootstrap,
        seed=args.seed,
        reference=not args.no_reference,
    )
    print(format_table(results))
    for line in chosen_lines(results):
        print(line)
    print("load average (1/5/15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
