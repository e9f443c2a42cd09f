"""Write LOGS.csv and TARGET.csv in the CLI's format (the example, the benchmark, tests).

``write_target_csv(..., decimals=6)`` writes fixed-point cells of one width (``0.012345``),
vectorized, with each row's cells rounded so that they sum to exactly 1 in that many
decimals (largest remainders get the leftover units); it is how a fast writer should hand
probabilities over, and what the reader's fixed-layout path parses fastest. Without
``decimals`` cells are written with ``repr`` (exact, slower on both sides).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from recommender.ope.logs import BanditLog

ROW_BLOCK = 1 << 16
"""Target rows formatted at a time on the fixed-point path."""


def write_logs_csv(path: str | Path, log: BanditLog) -> None:
    """LOGS.csv: context_0.., action (the external id), reward, propensity, and the
    position, row and slate_id columns the log has."""
    columns: list[tuple[str, np.ndarray, str]] = [
        (f"context_{j}", log.contexts[:, j], "%.17g") for j in range(log.contexts.shape[1])
    ]
    columns += [
        ("action", log.action_ids[log.actions], "%d"),
        ("reward", log.rewards, "%.17g"),
        ("propensity", log.propensities, "%.17g"),
    ]
    for name, values in (("position", log.positions), ("row", log.rows), ("slate_id", log.slates)):
        if values is not None:
            columns.append((name, values, "%d"))
    table = np.column_stack([values.astype(np.float64) for _, values, _ in columns])
    np.savetxt(
        path,
        table,
        fmt=[fmt for _, _, fmt in columns],
        delimiter=",",
        header=",".join(name for name, _, _ in columns),
        comments="",
    )


def write_target_csv(
    path: str | Path, target: np.ndarray, action_ids: np.ndarray, *, decimals: int | None = None
) -> None:
    """TARGET.csv: one ``action_<id>`` column per action, one row per log row."""
    header = ",".join(f"action_{int(a)}" for a in action_ids)
    if decimals is None:
        with Path(path).open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            f.write(header + "\n")
            writer.writerows([repr(float(v)) for v in row] for row in target)
        return
    if not 1 <= decimals <= 9:
        raise ValueError(f"decimals must be in 1..9, got {decimals}")
    with Path(path).open("wb") as f:
        f.write(header.encode() + b"\n")
        for start in range(0, len(target), ROW_BLOCK):
            f.write(fixed_point_rows(target[start : start + ROW_BLOCK], decimals))


def fixed_point_rows(probabilities: np.ndarray, decimals: int) -> bytes:
    """Rows of ``d.ddd..`` cells whose units sum to exactly 10**decimals per row."""
    unit = 10**decimals
    scaled = probabilities.astype(np.float64) * unit
    units = np.floor(scaled).astype(np.int64)
    short = unit - units.sum(axis=1)  # (rows,) units still to hand out, 0 <= short < A
    order = np.argsort(-(scaled - units), axis=1)
    bump = np.arange(probabilities.shape[1])[None, :] < short[:, None]
    np.put_along_axis(units, order, np.take_along_axis(units, order, 1) + bump, axis=1)
    n, a = units.shape
    cells = np.empty((n, a, decimals + 3), np.uint8)  # "I.DDDDDD," per cell
    value = units.copy()
    for position in range(decimals + 1, 1, -1):
        cells[:, :, position] = ord("0") + value % 10
        value //= 10
    cells[:, :, 0] = ord("0") + value  # the integer part: 0 or 1
    cells[:, :, 1] = ord(".")
    cells[:, :, -1] = ord(",")
    cells[:, -1, -1] = ord("\n")
    return cells.tobytes()
