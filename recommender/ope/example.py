"""Write a small example log and target, with the target's true value, for the OPE CLI.

    python -m recommender.ope.example --out var/ope-example
    python -m recommender.ope --logs var/ope-example/LOGS.csv --target var/ope-example/TARGET.csv

The log is :func:`recommender.ope.synthetic.make_page`: pages of 3 rows x 4 positions
under the position-based model with examination ``0.75**row * 0.85**position``, logged by
a policy that fills every slot independently (so positions are randomized), and a target
that puts its best guesses where members look. Because the world is synthetic, the
target's true value is known exactly; the script prints it beside the logging policy's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from recommender.ope.synthetic import make_page
from recommender.ope.writing import write_logs_csv, write_target_csv

ROW_DECAY = 0.75
"""Examination factor per row down the example page."""
POSITION_DECAY = 0.85
"""Examination factor per position to the right."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m recommender.ope.example",
        description="Write LOGS.csv and TARGET.csv of a synthetic page log with a known truth.",
    )
    parser.add_argument("--out", type=Path, default=Path("var/ope-example"), help="folder")
    parser.add_argument("--pages", type=int, default=2000, help="logged pages (slates)")
    parser.add_argument("--rows", type=int, default=3, help="rows per page")
    parser.add_argument("--positions", type=int, default=4, help="positions per row")
    parser.add_argument("--actions", type=int, default=8, help="actions (titles)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the world and the log")
    args = parser.parse_args(argv)
    for name in ("pages", "rows", "positions", "actions"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    rng = np.random.default_rng(args.seed)
    theta = np.outer(ROW_DECAY ** np.arange(args.rows), POSITION_DECAY ** np.arange(args.positions))
    problem = make_page(rng, theta=theta, n_actions=args.actions)
    log, target = problem.sample(args.pages, rng)
    args.out.mkdir(parents=True, exist_ok=True)
    write_logs_csv(args.out / "LOGS.csv", log)
    write_target_csv(args.out / "TARGET.csv", target, log.action_ids)
    slots = args.rows * args.positions
    truth = {
        "target_per_slate": problem.true_value(),
        "target_per_row": problem.true_value() / slots,
        "theta": theta.tolist(),
    }
    (args.out / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    print(
        f"wrote {len(log)} rows ({args.pages} pages of {args.rows} x {args.positions}) to {args.out}/"
    )
    print(
        f"true value of the target: {truth['target_per_slate']:.4f} per slate "
        f"({truth['target_per_row']:.4f} per row); in {args.out}/truth.json"
    )
    print(
        f"next: python -m recommender.ope --logs {args.out}/LOGS.csv --target {args.out}/TARGET.csv"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
