"""Logged decisions and target probabilities: the two inputs of every estimator.

A log row is one decision the logging policy made: the context it saw, the action it took,
the reward that followed and the probability it gave that action (the *propensity*). Rows
may carry the slot the action was shown in (``position``, and ``row`` on a 2-D page) and the
page they were shown on together (``slate_id``). The target is, for each log row, the
probability the policy under evaluation gives every action in that row's context.

:class:`BanditLog` checks its invariants on construction, so the platform can build one
from its fact log directly; :func:`load_inputs` reads both from CSV and names the file, line
and column of every bad cell (see :mod:`recommender.ope.reading`).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recommender.ope.reading import NumericTable, OPEInputError, Problem, read_numeric_csv

REQUIRED_COLUMNS = ("action", "reward", "propensity")
OPTIONAL_COLUMNS = ("position", "slate_id", "row")
LOGS_HINT = "context_*..., action, reward, propensity[, position, slate_id, row]"
SUM_TOLERANCE = 1e-6
"""How far a target row's probabilities may sum from 1."""
TARGET_COLUMN = re.compile(r"action_(\d+)")


@dataclass(frozen=True, eq=False)
class BanditLog:
    """A validated log of N decisions over A actions (all arrays have length N)."""

    contexts: np.ndarray
    """(N, d) float64 context features (d may be 0)."""
    actions: np.ndarray
    """(N,) int64 index of the logged action into ``action_ids``."""
    action_ids: np.ndarray
    """(A,) int64 external action ids, distinct; the columns of a target matrix follow them."""
    rewards: np.ndarray
    """(N,) float64 finite rewards."""
    propensities: np.ndarray
    """(N,) float64 logging probability of the logged action, in (0, 1]."""
    positions: np.ndarray | None = None
    """(N,) int64 slot within a row of the page, from 0; ``None`` if not logged."""
    rows: np.ndarray | None = None
    """(N,) int64 row of the page, from 0 (2-D pages); ``None`` if not logged."""
    slates: np.ndarray | None = None
    """(N,) int64 dense slate index 0..S-1: rows with the same index were shown together."""
    lines: np.ndarray | None = field(default=None, repr=False)
    """(N,) int64 line of each row in the logs file, for messages; ``None`` if not from a file."""

    def __post_init__(self) -> None:
        n = len(self.actions)
        if self.contexts.ndim != 2 or len(self.contexts) != n:
            raise ValueError(f"contexts must be (N, d) with N={n}, got {self.contexts.shape}")
        for name in ("rewards", "propensities", "positions", "rows", "slates"):
            array = getattr(self, name)
            if array is not None and array.shape != (n,):
                raise ValueError(f"{name} must have shape ({n},), got {array.shape}")
        if n and not (0 <= self.actions.min() and self.actions.max() < len(self.action_ids)):
            raise ValueError("actions must index action_ids")
        if len(np.unique(self.action_ids)) != len(self.action_ids):
            raise ValueError("action_ids must be distinct")
        if not (np.isfinite(self.rewards).all() and np.isfinite(self.contexts).all()):
            raise ValueError("rewards and contexts must be finite")
        if not ((self.propensities > 0) & (self.propensities <= 1)).all():
            raise ValueError("propensities must lie in (0, 1]")
        if self.rows is not None and self.positions is None:
            raise ValueError("rows need positions: a 2-D slot is (row, position)")
        if self.slates is not None:
            if self.positions is None:
                raise ValueError("slates need positions: the order of actions within a slate")
            cells = self.cells()
            key = self.slates * (int(cells.max()) + 1) + cells
            if len(np.unique(key)) != n:
                raise ValueError("a slot appears twice in one slate")

    def __len__(self) -> int:
        return len(self.actions)

    @property
    def n_actions(self) -> int:
        return len(self.action_ids)

    @property
    def n_slates(self) -> int:
        return 0 if self.slates is None else int(self.slates.max()) + 1

    def grid(self) -> tuple[int, int]:
        """(rows, positions) of the page: (1, 1) with no positions, (1, P) with no rows."""
        n_rows = 1 if self.rows is None else int(self.rows.max()) + 1
        n_positions = 1 if self.positions is None else int(self.positions.max()) + 1
        return n_rows, n_positions

    def cells(self) -> np.ndarray:
        """(N,) int64 slot index ``row * positions + position`` (0 with no positions)."""
        if self.positions is None:
            return np.zeros(len(self), np.int64)
        rows = np.zeros(len(self), np.int64) if self.rows is None else self.rows
        return rows * self.grid()[1] + self.positions


@dataclass(frozen=True)
class DropReport:
    """What ``--drop-invalid`` removed, for the user to read."""

    rows: int
    """Log rows dropped (with their target rows)."""
    slates: int
    """Whole slates dropped (a slate with one bad row is dropped entirely)."""
    by_column: dict[str, int]
    """Problems by the column they were found in ("line" for whole-line problems)."""
    examples: list[str]
    """The first few problems, as messages naming file, line and column."""


@dataclass(frozen=True, eq=False)
class Inputs:
    """What :func:`load_inputs` returns: a clean log, its target matrix and what was dropped."""

    log: BanditLog
    target: np.ndarray | None
    """(N, A) float32 target probabilities aligned with ``log.action_ids`` (``None`` if none)."""
    dropped: DropReport | None
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall seconds spent reading each file: ``{"logs": ..., "target": ...}``."""


def load_inputs(
    logs_path: str | Path, target_path: str | Path | None = None, *, drop_invalid: bool = False
) -> Inputs:
    """Read and validate LOGS.csv (and TARGET.csv), one target row per log row.

    Every problem is collected; without ``drop_invalid`` any problem raises
    :class:`OPEInputError`, naming file, line and column. With it, the rows concerned are
    dropped from both files (whole slates where slates are logged) and reported; problems
    that no dropping can fix (a bad header, files of different lengths) still raise.
    """
    logs_path = Path(logs_path)
    started = time.perf_counter()
    table = read_numeric_csv(logs_path)
    seconds = {"logs": time.perf_counter() - started}
    columns = _logs_columns(table)
    if not len(table):
        raise OPEInputError([Problem(str(logs_path), 2, None, "no data rows after the header")])
    problems = [_explain(p) for p in table.problems] + _check_logs(table, columns)
    values = table.values
    target_table = target_ids = None
    if target_path is not None:
        target_path = Path(target_path)
        started = time.perf_counter()
        target_table = read_numeric_csv(target_path, dtype=np.float32, row_sums=True)
        seconds["target"] = time.perf_counter() - started
        target_ids = _target_ids(target_table)
        if len(target_table) != len(table):
            raise OPEInputError([_length_problem(table, target_table)])
        problems += target_table.problems + _check_target(target_table)
    action_col = values[:, columns["action"]]
    if target_ids is not None:
        action_ids = target_ids
        problems += _check_actions_covered(table, action_col, target_ids, target_table.path)
    else:
        finite = action_col[np.isfinite(action_col)]
        usable = finite[(finite == np.round(finite)) & (finite >= 0)]
        action_ids = np.unique(usable).astype(np.int64)
    fatal = [p for p in problems if p.row < 0]
    if fatal or (problems and not drop_invalid):
        raise OPEInputError(sorted(fatal or problems, key=_order))
    bad = np.zeros(len(table), bool)
    bad[[p.row for p in problems]] = True
    slate_col = columns.get("slate_id")
    dropped_slates = 0
    if slate_col is not None and bad.any():
        slate_values = values[:, slate_col]
        bad_slates = np.unique(slate_values[bad & np.isfinite(slate_values)])
        dropped_slates = len(bad_slates)
        bad |= np.isin(slate_values, bad_slates)
    keep = slice(None) if not bad.any() else ~bad  # a slice keeps the arrays uncopied
    if bad.all():
        raise OPEInputError(
            [Problem(str(logs_path), 2, None, "no valid rows are left after dropping")]
        )
    log = _build_log(values[keep], table.lines[keep], columns, action_ids)
    target = None
    if target_table is not None:
        target = target_table.values[keep]
    report = None
    if drop_invalid:
        by_column = Counter(p.column or "line" for p in problems)
        report = DropReport(
            rows=int(bad.sum()),
            slates=dropped_slates,
            by_column=dict(by_column),
            examples=[str(p) for p in sorted(problems, key=_order)[:3]],
        )
    return Inputs(log, target, report, seconds)


def _explain(problem: Problem) -> Problem:
    """Say why an empty propensity matters (the reader only knows the cell is empty)."""
    if problem.column == "propensity" and problem.message == "is empty":
        message = "is missing: the logging policy's probability of the logged action is required"
        return Problem(problem.path, problem.line, problem.column, message, problem.row)
    return problem


def _order(problem: Problem) -> tuple[int, str, int]:
    return (problem.row, problem.path, problem.line)


def _logs_columns(table: NumericTable) -> dict[str, int]:
    """Column name -> position, rejecting unknown, repeated and missing columns."""
    path = table.path
    columns: dict[str, int] = {}
    for position, name in enumerate(table.header):
        known = name in REQUIRED_COLUMNS + OPTIONAL_COLUMNS or (
            name.startswith("context_") and len(name) > len("context_")
        )
        if not known:
            raise OPEInputError(
                [Problem(path, 1, name, f"unexpected column; expected {LOGS_HINT}")]
            )
        if name in columns:
            raise OPEInputError([Problem(path, 1, name, "column appears twice in the header")])
        columns[name] = position
    for name in REQUIRED_COLUMNS:
        if name not in columns:
            raise OPEInputError(
                [Problem(path, 1, name, f"missing from the header; expected {LOGS_HINT}")]
            )
    if "row" in columns and "position" not in columns:
        raise OPEInputError(
            [Problem(path, 1, "row", "needs a position column: a 2-D slot is (row, position)")]
        )
    if "slate_id" in columns and "position" not in columns:
        raise OPEInputError(
            [Problem(path, 1, "slate_id", "needs a position column: the order within a slate")]
        )
    return columns


def _context_columns(columns: dict[str, int]) -> list[int]:
    return [position for name, position in columns.items() if name.startswith("context_")]


def _cell_problems(
    table: NumericTable, column: str, bad: np.ndarray, message: str
) -> list[Problem]:
    position = table.header.index(column)
    rows = np.flatnonzero(bad)
    return [
        Problem(
            table.path,
            int(table.lines[i]),
            column,
            message.format(value=f"{table.values[i, position]:g}"),
            int(i),
        )
        for i in rows
    ]


def _check_logs(table: NumericTable, columns: dict[str, int]) -> list[Problem]:
    """Range and type checks of parsed cells (NaN cells are already reported by the reader)."""
    v = table.values
    problems: list[Problem] = []
    with np.errstate(invalid="ignore"):
        for name in ("action", "position", "row", "slate_id"):
            if name not in columns:
                continue
            x = v[:, columns[name]]
            finite = np.isfinite(x)
            not_integer = finite & (x != np.round(x))
            problems += _cell_problems(table, name, not_integer, "{value} is not an integer")
            if name != "slate_id":
                negative = finite & (x == np.round(x)) & (x < 0)
                problems += _cell_problems(table, name, negative, "{value} must be >= 0")
        p = v[:, columns["propensity"]]
        problems += _cell_problems(
            table,
            "propensity",
            p == 0,
            "is 0: the logging policy must have given the logged action a positive "
            "probability (IPS divides by it)",
        )
        problems += _cell_problems(
            table, "propensity", (p < 0) | (p > 1), "{value} is not a probability in (0, 1]"
        )
    problems += _duplicate_slots(table, columns)
    return problems


def _duplicate_slots(table: NumericTable, columns: dict[str, int]) -> list[Problem]:
    """A (slate, row, position) that appears on two lines: the later line is the problem."""
    if "slate_id" not in columns:
        return []
    names = [c for c in ("slate_id", "row", "position") if c in columns]
    keys = table.values[:, [columns[c] for c in names]]
    with np.errstate(invalid="ignore"):
        usable = np.flatnonzero(
            np.isfinite(keys).all(axis=1) & (keys == np.round(keys)).all(axis=1)
        )
    if not len(usable):
        return []
    whole = keys[usable].astype(np.int64)
    whole -= whole.min(axis=0)
    key = whole[:, 0]
    for column in range(1, whole.shape[1]):  # mixed radix: one int64 per slot
        key = key * (int(whole[:, column].max()) + 1) + whole[:, column]
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    first_of = usable[first[inverse]]  # the earliest row with the same slot
    named = ", ".join(names)
    return [
        Problem(
            table.path,
            int(table.lines[i]),
            "position",
            f"repeats the ({named}) of line {int(table.lines[j])}",
            int(i),
        )
        for i, j in zip(usable, first_of, strict=True)
        if i != j
    ]


def _target_ids(table: NumericTable) -> np.ndarray:
    ids = []
    for name in table.header:
        match = TARGET_COLUMN.fullmatch(name)
        if not match:
            raise OPEInputError(
                [Problem(table.path, 1, name, "unexpected column; expected action_<id> columns")]
            )
        ids.append(int(match.group(1)))
    repeated = [i for i, count in Counter(ids).items() if count > 1]
    if repeated:
        raise OPEInputError(
            [Problem(table.path, 1, f"action_{repeated[0]}", "column appears twice in the header")]
        )
    return np.array(ids, np.int64)


def _check_target(table: NumericTable) -> list[Problem]:
    problems: list[Problem] = []
    v = table.values
    with np.errstate(invalid="ignore"):
        out_of_range = (v < 0) | (v > 1)
    bad_cells = np.nonzero(out_of_range) if out_of_range.any() else ((), ())
    for i, j in zip(*bad_cells, strict=True):
        problems.append(
            Problem(
                table.path,
                int(table.lines[i]),
                table.header[j],
                f"{float(v[i, j]):g} is not a probability in [0, 1]",
                int(i),
            )
        )
    sums = table.row_sums
    assert sums is not None
    off = np.isfinite(sums) & (np.abs(sums - 1.0) > SUM_TOLERANCE)
    for i in np.flatnonzero(off):
        problems.append(
            Problem(
                table.path,
                int(table.lines[i]),
                None,
                f"the probabilities in columns {table.header[0]}..{table.header[-1]} sum to "
                f"{sums[i]:.9g}; a target row must sum to 1 (within {SUM_TOLERANCE:g})",
                int(i),
            )
        )
    return problems


def _check_actions_covered(
    table: NumericTable, actions: np.ndarray, target_ids: np.ndarray, target_path: str
) -> list[Problem]:
    finite = np.isfinite(actions) & (actions == np.round(actions)) & (actions >= 0)
    covered = np.isin(actions, target_ids)
    return [
        Problem(
            table.path,
            int(table.lines[i]),
            "action",
            f"action {int(actions[i])} has no column action_{int(actions[i])} in {target_path}",
            int(i),
        )
        for i in np.flatnonzero(finite & ~covered)
    ]


def _length_problem(logs: NumericTable, target: NumericTable) -> Problem:
    short, long_ = (target, logs) if len(target) < len(logs) else (logs, target)
    line = int(short.lines[-1]) + 1 if len(short) else 2
    return Problem(
        short.path,
        line,
        None,
        f"ends after {len(short)} data rows, but {long_.path} has {len(long_)}; "
        f"the target needs exactly one row per log row",
    )


def _build_log(
    values: np.ndarray, lines: np.ndarray, columns: dict[str, int], action_ids: np.ndarray
) -> BanditLog:
    order = np.argsort(action_ids)
    raw = values[:, columns["action"]].astype(np.int64)
    actions = order[np.searchsorted(action_ids, raw, sorter=order)]

    def integers(name: str) -> np.ndarray | None:
        return values[:, columns[name]].astype(np.int64) if name in columns else None

    slates = integers("slate_id")
    if slates is not None:
        slates = np.unique(slates, return_inverse=True)[1].astype(np.int64)
    return BanditLog(
        contexts=np.ascontiguousarray(values[:, _context_columns(columns)]),
        actions=actions.astype(np.int64),
        action_ids=action_ids,
        rewards=values[:, columns["reward"]].copy(),
        propensities=values[:, columns["propensity"]].copy(),
        positions=integers("position"),
        rows=integers("row"),
        slates=slates,
        lines=lines,
    )
