"""OPE benchmark: the CLI end to end on 1 million logged rows x 100 actions.

    python -m recommender.ope.bench [--rows 1000000] [--actions 100] [--pages 0]
                                    [--target-format fixed|trimmed] [--out var/ope-bench]

Writes a synthetic LOGS.csv (5 context columns) and TARGET.csv (``--actions`` columns),
then runs ``python -m recommender.ope`` on them in a fresh process, as a user would, and
prints the wall time, the CLI's own split (reading vs estimating), peak memory and the
machine's load. The goal is under a minute for 1M x 100.

``--target-format fixed`` writes every probability as ``0.dddddd`` (what the reader's
vectorized path takes); ``trimmed`` drops trailing zeros (``0.0123``), so cells vary in
width and go through numpy's parser instead. ``--pages N`` lays the rows out as N pages of
4 x 5 slots (rows / N must be 20), adding the slate estimators and the examination EM.
Generating the files is not timed.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from recommender.ope.synthetic import make_bandit, make_page
from recommender.ope.writing import fixed_point_rows, write_logs_csv

PAGE_GRID = (4, 5)
"""Rows x positions of a page with ``--pages``."""
ROW_BLOCK = 1 << 16


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


def write_target(path: Path, target: np.ndarray, action_ids: np.ndarray, *, trimmed: bool) -> None:
    """TARGET.csv with 6 decimals per cell, optionally without trailing zeros."""
    header = ",".join(f"action_{int(a)}" for a in action_ids) + "\n"
    with path.open("wb") as f:
        f.write(header.encode())
        for start in range(0, len(target), ROW_BLOCK):
            block = fixed_point_rows(target[start : start + ROW_BLOCK], 6)
            if trimmed:
                block = _trim_zeros(block, target.shape[1])
            f.write(block)


def _trim_zeros(block: bytes, width: int) -> bytes:
    """Drop trailing zeros of each ``d.dddddd`` cell (and a bare point): ``0.012300`` ->
    ``0.0123``, ``1.000000`` -> ``1``."""
    cells = np.frombuffer(block, np.uint8).reshape(-1, 9)
    keep = np.ones(cells.shape, bool)
    trailing = np.ones(len(cells), bool)
    for position in range(7, 1, -1):
        trailing &= cells[:, position] == ord("0")
        keep[:, position] = ~trailing
    keep[:, 1] = ~trailing  # the point goes when every decimal did
    return cells[keep].tobytes()


def make_files(args: argparse.Namespace) -> tuple[Path, Path]:
    """Write the two CSV files (or reuse them); returns their paths."""
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    logs, target_path = out / "LOGS.csv", out / f"TARGET-{args.target_format}.csv"
    if args.reuse and logs.exists() and target_path.exists():
        return logs, target_path
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    if args.pages:
        slots = PAGE_GRID[0] * PAGE_GRID[1]
        if args.rows != args.pages * slots:
            raise SystemExit(f"--rows must be --pages x {slots} = {args.pages * slots}")
        theta = np.outer(0.75 ** np.arange(PAGE_GRID[0]), 0.85 ** np.arange(PAGE_GRID[1]))
        problem = make_page(rng, theta=theta, n_contexts=2000, n_actions=args.actions, dim=5)
        log, target = problem.sample(args.pages, rng)
    else:
        problem = make_bandit(rng, n_contexts=10_000, n_actions=args.actions, dim=5)
        log, target = problem.sample(args.rows, rng)
    write_logs_csv(logs, log)
    write_target(target_path, target, log.action_ids, trimmed=args.target_format == "trimmed")
    sizes = f"{logs.stat().st_size / 1e6:.0f} MB + {target_path.stat().st_size / 1e6:.0f} MB"
    print(
        f"wrote {len(log):,} rows x {args.actions} actions ({sizes}) in "
        f"{time.perf_counter() - started:.0f} s"
    )
    return logs, target_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recommender.ope.bench")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--actions", type=int, default=100)
    parser.add_argument("--pages", type=int, default=0, help="lay rows out as pages of 4 x 5")
    parser.add_argument("--target-format", choices=("fixed", "trimmed"), default="fixed")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("var/ope-bench"))
    parser.add_argument("--reuse", action="store_true", help="reuse files already written")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logs, target = make_files(args)
    command = [
        sys.executable,
        "-m",
        "recommender.ope",
        "--logs",
        str(logs),
        "--target",
        str(target),
        "--bootstrap",
        str(args.bootstrap),
    ]
    before = load()
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        print(done.stdout, done.stderr, sep="\n")
        return done.returncode
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(done.stdout.rstrip())
    print(
        f"BENCH rows={args.rows:,} actions={args.actions} pages={args.pages} "
        f"target={args.target_format} bootstrap={args.bootstrap}: {seconds:.1f} s wall "
        f"(process start and imports included), peak RSS {peak_mb:.0f} MB, "
        f"{before} before, {load()} after; goal < 60 s: {'met' if seconds < 60 else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
