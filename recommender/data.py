"""Interaction logs: the one input every recommender trains and is evaluated on.

An interaction is (member, title, time, weight): a play, a completed episode, a thumbs-up.
The platform builds these from its fact log; the CLI reads them from a CSV file. Both paths
end in :class:`Interactions`, which validates once so models never have to.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REQUIRED_COLUMNS = ("user_id", "item_id", "timestamp")
OPTIONAL_COLUMNS = ("weight", "device")
HEADER_HINT = "user_id,item_id,timestamp[,weight][,device]"


class InteractionsFileError(ValueError):
    """A CSV of interactions that cannot be read; the message names file, line and column.

    ``line`` is 1-based and counts the header as line 1; ``column`` is ``None`` when the
    problem is the whole row or file rather than one cell.
    """

    def __init__(self, path: str | Path, line: int, column: str | None, problem: str) -> None:
        where = f"{path} line {line}" + (f", column '{column}'" if column else "")
        super().__init__(f"{where}: {problem}")
        self.path = str(path)
        self.line = line
        self.column = column


@dataclass(frozen=True, eq=False)
class Interactions:
    """A validated, column-oriented log of interactions (all arrays have length N).

    Construct with :meth:`from_records` or :meth:`from_csv`; the constructor itself checks
    the invariants below, so every instance in circulation satisfies them.
    """

    user_ids: np.ndarray
    """(N,) object array of str: who interacted."""
    item_ids: np.ndarray
    """(N,) object array of str: with which title."""
    timestamps: np.ndarray
    """(N,) float64 unix seconds, finite."""
    weights: np.ndarray
    """(N,) float32 strength of the signal, finite and > 0 (1.0 for a plain play)."""
    devices: np.ndarray | None = None
    """(N,) object array of str: the device each play came from ("" when unknown), or None
    when the log does not record devices. Context a model may read (the request carries it)."""

    def __post_init__(self) -> None:
        n = len(self.user_ids)
        names = ("user_ids", "item_ids", "timestamps", "weights")
        for name in names + (() if self.devices is None else ("devices",)):
            array = getattr(self, name)
            if not isinstance(array, np.ndarray) or array.ndim != 1:
                raise ValueError(f"Interactions.{name} must be a 1-D numpy array")
            if len(array) != n:
                raise ValueError(
                    f"Interactions columns differ in length: user_ids has {n}, "
                    f"{name} has {len(array)}"
                )
        if self.user_ids.dtype != object or self.item_ids.dtype != object:
            raise ValueError("Interactions.user_ids and item_ids must be object arrays of str")
        if self.devices is not None and self.devices.dtype != object:
            raise ValueError("Interactions.devices must be an object array of str")
        if self.timestamps.dtype != np.float64 or self.weights.dtype != np.float32:
            raise ValueError("Interactions.timestamps must be float64 and weights float32")
        _check_finite("timestamps", self.timestamps)
        _check_finite("weights", self.weights)
        bad = np.flatnonzero(self.weights <= 0)
        if len(bad):
            raise ValueError(f"weights[{bad[0]}] = {self.weights[bad[0]]} must be > 0")

    @classmethod
    def from_records(
        cls,
        user_ids: Iterable[object],
        item_ids: Iterable[object],
        timestamps: Iterable[float],
        weights: Iterable[float] | None = None,
        devices: Iterable[object] | None = None,
    ) -> Interactions:
        """Build from parallel sequences; ids become str, a missing ``weights`` means 1.0
        each, a missing ``devices`` means the log records none (``None`` entries: unknown)."""
        users = _as_str_array(user_ids)
        items = _as_str_array(item_ids)
        times = np.asarray(list(timestamps) if _lazy(timestamps) else timestamps, np.float64)
        if weights is None:
            w = np.ones(len(times), np.float32)
        else:
            w = np.asarray(list(weights) if _lazy(weights) else weights, np.float32)
        kinds = None
        if devices is not None:
            kinds = np.array(["" if d is None else str(d).strip() for d in devices], dtype=object)
        return cls(users, items, times.reshape(-1), w.reshape(-1), kinds)

    @classmethod
    def from_csv(cls, path: str | Path) -> Interactions:
        """Read ``user_id,item_id,timestamp[,weight][,device]`` (columns in any order).

        A timestamp is unix seconds or ISO-8601 (naive times are taken as UTC); a blank
        weight means 1.0; a blank device means unknown. Blank lines are skipped. Any other problem raises
        :class:`InteractionsFileError` naming the line and column.
        """
        path = Path(path)
        users: list[str] = []
        items: list[str] = []
        times: list[float] = []
        weights: list[float] = []
        devices: list[str] = []
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = CsvRows(f, path)
            header = next(reader, None)
            if header is None or not any(cell.strip() for cell in header):
                raise InteractionsFileError(
                    path, 1, None, f"file is empty; expected the header {HEADER_HINT}"
                )
            columns = _parse_header(path, [cell.strip() for cell in header])
            u_col, i_col, t_col = (columns[name] for name in REQUIRED_COLUMNS)
            w_col = columns.get("weight")
            d_col = columns.get("device")
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                line = reader.line_num
                if len(row) != len(columns):
                    raise InteractionsFileError(
                        path,
                        line,
                        None,
                        f"expected {len(columns)} fields ({','.join(columns)}), found {len(row)}",
                    )
                users.append(_parse_id(path, line, "user_id", row[u_col]))
                items.append(_parse_id(path, line, "item_id", row[i_col]))
                times.append(_parse_time(path, line, row[t_col]))
                weights.append(1.0 if w_col is None else _parse_weight(path, line, row[w_col]))
                if d_col is not None:
                    devices.append(row[d_col].strip())
        if not users:
            raise InteractionsFileError(path, 2, None, "no interactions after the header")
        return cls.from_records(users, items, times, weights, None if d_col is None else devices)

    def to_csv(self, path: str | Path) -> None:
        """Write a file :meth:`from_csv` reads back exactly (timestamps as unix seconds)."""
        with Path(path).open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(
                [*REQUIRED_COLUMNS, "weight", *(() if self.devices is None else ("device",))]
            )
            for row in range(len(self)):
                cells = [
                    self.user_ids[row],
                    self.item_ids[row],
                    repr(float(self.timestamps[row])),
                    f"{float(self.weights[row]):.9g}",
                ]
                writer.writerow(cells if self.devices is None else [*cells, self.devices[row]])

    def select(self, index: np.ndarray) -> Interactions:
        """The rows picked by a boolean mask or an integer index array, as new Interactions."""
        return Interactions(
            self.user_ids[index],
            self.item_ids[index],
            self.timestamps[index],
            self.weights[index],
            None if self.devices is None else self.devices[index],
        )

    def __len__(self) -> int:
        return len(self.user_ids)


def time_split(
    interactions: Interactions, *, holdout_fraction: float = 0.2
) -> tuple[Interactions, Interactions]:
    """Split at one global time cut: train is strictly before it, test at or after it.

    The cut is the ``1 - holdout_fraction`` quantile of all timestamps, so no training
    interaction happens after any test interaction (no leakage from the future, unlike a
    per-user leave-last-out split). Raises ``ValueError`` if either side would be empty.
    """
    if not 0.0 < holdout_fraction < 1.0:
        raise ValueError(f"holdout_fraction must be between 0 and 1, got {holdout_fraction}")
    if len(interactions) == 0:
        raise ValueError("time_split: there are no interactions to split")
    cut = float(np.quantile(interactions.timestamps, 1.0 - holdout_fraction))
    is_test = interactions.timestamps >= cut
    n_test = int(is_test.sum())
    if n_test == len(interactions):
        raise ValueError(
            f"time_split: all {len(interactions)} interactions are at or after the cut "
            f"t={cut:.0f}, so the training side would be empty; the data needs interactions "
            f"at more than one time"
        )
    if n_test == 0:  # only reachable through float rounding of the quantile
        raise ValueError(f"time_split: no interaction is at or after the cut t={cut:.0f}")
    return interactions.select(~is_test), interactions.select(is_test)


class CsvRows:
    """``csv.reader`` over an open file, turning what the csv module or the UTF-8 decoder gives
    up on (an oversized field, bytes that are not UTF-8) into ``kind`` errors naming the line."""

    def __init__(self, f, path: Path, kind: type[InteractionsFileError] = InteractionsFileError):
        self._reader, self._path, self._kind = csv.reader(f), path, kind

    @property
    def line_num(self) -> int:
        return self._reader.line_num

    def __iter__(self) -> CsvRows:
        return self

    def __next__(self) -> list[str]:
        try:
            return next(self._reader)
        except csv.Error as error:
            raise self._kind(self._path, self.line_num, None, f"is not CSV ({error})") from None
        except UnicodeDecodeError:
            line, byte = _first_undecodable(self._path)
            raise self._kind(
                self._path, line, None, f"byte {byte} is not UTF-8 text; save the file as UTF-8"
            ) from None


def _first_undecodable(path: Path) -> tuple[int, int]:
    """(line, byte in it) of the first bytes that are not UTF-8: the decoder reads ahead in
    blocks, so where it failed is found again in the raw file."""
    with path.open("rb") as f:
        for line, raw in enumerate(f, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as bad:
                return line, bad.start + 1
    return 1, 1


def leave_last_out(interactions: Interactions, *, n: int = 1) -> tuple[Interactions, Interactions]:
    """Split off each member's last ``n`` plays by time: (everything before, those plays).

    The protocol of the sequential-recommendation literature (SASRec, BERT4Rec): every
    member is asked for their next play(s) given their whole past. Plays at the same second
    keep their order in ``interactions`` (a stable sort), the same order every model's
    history uses, so "last" is well defined when a log has ties (MovieLens has many). A member
    with ``n`` plays or fewer stays wholly in the first part. Rows keep their original order in
    both parts. Unlike :func:`time_split` the cut differs per member, so a member's test play
    can be older than another member's training plays; it is the protocol to compare with
    published numbers, not the one the homepage's gate uses.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if len(interactions) == 0:
        raise ValueError("leave_last_out: there are no interactions to split")
    users = interactions.user_ids.astype(str)
    order = np.lexsort((interactions.timestamps, users))  # by member, then time, stable
    sorted_users = users[order]
    starts = np.r_[True, sorted_users[1:] != sorted_users[:-1]]
    group = np.cumsum(starts) - 1  # (N,) member index of each sorted row
    counts = np.bincount(group)
    ends = np.cumsum(counts)  # (members,) one past each member's last sorted row
    from_end = ends[group] - np.arange(len(order))  # 1 for a member's last play
    held = (from_end <= n) & (counts[group] > n)
    is_test = np.zeros(len(interactions), bool)
    is_test[order[held]] = True
    if not is_test.any():
        raise ValueError(
            f"leave_last_out: no member has more than {n} plays, so nothing can be held out"
        )
    return interactions.select(~is_test), interactions.select(is_test)


def _parse_header(
    path: Path,
    header: list[str],
    *,
    required: tuple[str, ...] = REQUIRED_COLUMNS,
    optional: tuple[str, ...] = OPTIONAL_COLUMNS,
    hint: str = HEADER_HINT,
    error: type[InteractionsFileError] = InteractionsFileError,
) -> dict[str, int]:
    """Map each known column name to its position, rejecting missing, unknown and repeats.

    The defaults describe an interactions file; the title metadata reader passes its own.
    """
    columns: dict[str, int] = {}
    for position, name in enumerate(header):
        if name not in required + optional:
            raise error(path, 1, name, f"unexpected column; expected the header {hint}")
        if name in columns:
            raise error(path, 1, name, "column appears twice in the header")
        columns[name] = position
    for name in required:
        if name not in columns:
            raise error(path, 1, name, f"missing from the header; expected {hint}")
    return columns


def _parse_id(path: Path, line: int, column: str, cell: str) -> str:
    value = cell.strip()
    if not value:
        raise InteractionsFileError(path, line, column, "is empty")
    if "\x00" in value:
        raise InteractionsFileError(path, line, column, "holds a NUL byte; is this a text file?")
    return value


def _parse_time(path: Path, line: int, cell: str, column: str = "timestamp") -> float:
    """Unix seconds or ISO-8601 (naive times are UTC) to unix seconds."""
    text = cell.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise InteractionsFileError(
                path, line, column, f"{text!r} is not a number or ISO-8601 time"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    if not math.isfinite(seconds):
        raise InteractionsFileError(path, line, column, f"{text!r} is not a finite number")
    return seconds


def _parse_weight(path: Path, line: int, cell: str) -> float:
    text = cell.strip()
    if not text:
        return 1.0
    try:
        weight = float(text)
    except ValueError:
        raise InteractionsFileError(path, line, "weight", f"{text!r} is not a number") from None
    if not (math.isfinite(weight) and weight > 0):
        raise InteractionsFileError(path, line, "weight", f"{text!r} must be a positive number")
    return weight


def _as_str_array(ids: Iterable[object]) -> np.ndarray:
    values = [str(x) for x in ids]
    array = np.empty(len(values), dtype=object)  # (N,) filled by hand so no str is split
    array[:] = values
    return array


def _lazy(values: object) -> bool:
    """True for one-shot iterables (generators) that numpy would not turn into a 1-D array."""
    return not hasattr(values, "__len__")


def _check_finite(name: str, values: np.ndarray) -> None:
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        raise ValueError(f"{name}[{bad[0]}] = {values[bad[0]]} is not finite")
