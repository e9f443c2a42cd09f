"""Write top-k recommendations of a checkpoint as CSV, to evaluate with any protocol.

    python -m recommender.recommend --checkpoint DIR --users all|FILE --k 100 [--out recs.csv]

Output: ``user_id,item_id,rank,score`` (rank 1 is best), for members of the model's training
data (``all``) or those listed in FILE (one user id per line, an optional ``user_id``
header). Titles a member interacted with in training are excluded unless ``--keep-seen``.
Exit status 0 on success, 2 on a bad command line, checkpoint or user file.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

import torch

from recommender.base import CheckpointError
from recommender.data import _first_undecodable
from recommender.serving import Ranker


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m recommender.recommend",
        description="Write user_id,item_id,rank,score CSV of a model's top-k per member.",
    )
    parser.add_argument("--checkpoint", required=True, type=Path, help="model directory")
    parser.add_argument(
        "--users", required=True, help="'all' (every training member) or a file of user ids"
    )
    parser.add_argument("--k", type=int, default=100, help="titles per member (default 100)")
    parser.add_argument(
        "--keep-seen", action="store_true", help="keep titles the member already interacted with"
    )
    parser.add_argument("--at", type=float, help="request time, unix seconds (time-aware models)")
    parser.add_argument("--out", type=Path, help="output CSV (default: standard output)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    return parser


def read_users(path: Path) -> list[str]:
    """User ids, one a line; blank lines and a first line ``user_id`` are skipped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        line, byte = _first_undecodable(path)
        raise ValueError(f"{path} line {line}: byte {byte} is not UTF-8 text") from None
    users = [line.strip() for line in text.splitlines()]
    if users and users[0] == "user_id":
        users = users[1:]
    users = [u for u in users if u]
    if not users:
        raise ValueError(f"{path}: no user ids in the file (one a line)")
    return users


def recommend_main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.k < 1:
            parser.error(f"--k must be >= 1, got {args.k}")
        if args.threads < 1:
            parser.error(f"--threads must be >= 1, got {args.threads}")
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        ranker = Ranker(args.checkpoint)
        model = ranker.model
        if args.users == "all":
            users = list(model.user_ids)
        else:
            users = read_users(Path(args.users))
            unknown = [u for u in users if u not in model._user_index]
            if unknown:
                lines = Path(args.users).read_text(encoding="utf-8-sig").splitlines()
                line = next(n for n, text in enumerate(lines, 1) if text.strip() == unknown[0])
                raise ValueError(
                    f"{args.users} line {line}: {len(unknown)} user id(s) are not members of "
                    f"the model's training data, e.g. {unknown[0]!r}"
                )
        if not args.keep_seen and not model.has_history:
            raise ValueError(
                f"{args.checkpoint} was saved without its members' histories (an older "
                f"checkpoint), so seen titles cannot be excluded; pass --keep-seen"
            )
    except (OSError, ValueError) as error:  # CheckpointError is a ValueError
        print(f"error: {error}", file=sys.stderr)
        return 2
    previous = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        results = ranker.top_k_batch(users, at=args.at, k=args.k, exclude_seen=not args.keep_seen)
    finally:
        torch.set_num_threads(previous)
    try:
        out = args.out.open("w", newline="", encoding="utf-8") if args.out else sys.stdout
    except OSError as error:
        print(f"error: cannot write --out: {error}", file=sys.stderr)
        return 2
    try:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["user_id", "item_id", "rank", "score"])
        for user, (items, scores) in zip(users, results, strict=True):
            for rank, (item, score) in enumerate(zip(items, scores, strict=True), start=1):
                writer.writerow([user, item, rank, f"{float(score):.6g}"])
        out.flush()
    except BrokenPipeError:  # e.g. piped into `head`: the reader has all it wants
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        if args.out:
            out.close()
    return 0


__all__ = ["CheckpointError", "recommend_main"]

if __name__ == "__main__":
    sys.exit(recommend_main())
