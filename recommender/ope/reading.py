"""Read a numeric CSV fast, and say exactly where any cell is bad.

Off-policy logs are large: a target file of 1 million rows x 100 actions is 100 million
cells, and Python's ``csv`` module (about a microsecond a cell) would take minutes. So the
file is read in chunks of whole lines, and each chunk takes the first of three paths that
accepts it:

1. **Fixed layout** (vectorized): every cell has the same width and the same layout of
   unsigned decimal digits with an optional point, as ``%.6f``-style writers produce. The
   bytes are viewed as a (cells, width) matrix and the digits combined column by column;
   the integer mantissa is exact in float64 (at most 15 digits) and one division by a power
   of ten rounds it correctly, so values equal what ``float()`` gives.
2. **numpy's C parser** (``np.loadtxt``) for any other clean chunk.
3. **Cell by cell** in Python, only for a chunk the faster paths refuse (a bad cell, a blank
   line, quotes): slow, but it names the line and column of every problem.

Nothing is silently coerced: an empty, non-numeric or non-finite cell becomes NaN in
``values`` *and* a :class:`Problem` naming it, so the caller decides whether to stop or drop.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHUNK_BYTES = 1 << 24
"""Bytes read at a time (whole lines are parsed; the tail is carried to the next chunk)."""
BLOCK_CELLS = 1 << 20
"""Cells combined at a time on the fixed-layout path (keeps its temporaries in cache)."""
MAX_FIXED_DIGITS = 15
"""Digits a cell may have on the fixed-layout path: below 2**53, so the mantissa is exact."""


@dataclass(frozen=True)
class Problem:
    """One bad cell or line: where it is, and what is wrong, in words a person can act on.

    ``line`` is 1-based with the header as line 1; ``column`` is ``None`` when the problem is
    the whole line (a wrong number of fields, probabilities that do not sum to 1).
    """

    path: str
    line: int
    column: str | None
    message: str
    row: int = -1
    """0-based data row the problem belongs to (-1 for the header or the whole file)."""

    def __str__(self) -> str:
        where = f"{self.path} line {self.line}" + (
            f", column '{self.column}'" if self.column else ""
        )
        return f"{where}: {self.message}"


class OPEInputError(ValueError):
    """Input that cannot be used; ``str()`` names file, line and column of the first problem."""

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(f"{first}{more}")
        self.problems = problems


@dataclass(frozen=True, eq=False)
class NumericTable:
    """The cells of a CSV whose data cells are all meant to be numbers."""

    path: str
    header: list[str]
    values: np.ndarray
    """(rows, columns) float64 or float32; NaN where a cell is bad (see ``problems``)."""
    lines: np.ndarray
    """(rows,) int64: the file line of each data row (blank lines are skipped)."""
    problems: list[Problem]
    """Every empty, non-numeric, non-finite cell and every line with the wrong field count."""
    row_sums: np.ndarray | None = None
    """(rows,) float64 sums of each row, taken before any cast to float32 (if asked for)."""

    def __len__(self) -> int:
        return len(self.values)


def read_header(path: Path) -> list[str]:
    """The stripped header cells; raises :class:`OPEInputError` for an empty file."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        header = next(csv.reader(f), None)
    if header is None or not any(cell.strip() for cell in header):
        raise OPEInputError([Problem(str(path), 1, None, "file is empty; expected a header line")])
    return [cell.strip() for cell in header]


def read_numeric_csv(
    path: str | Path, *, dtype: type = np.float64, row_sums: bool = False
) -> NumericTable:
    """Every data cell of ``path`` as a number (header on line 1, comma-separated).

    ``dtype`` float32 halves the memory of a wide file; ``row_sums`` keeps float64 row sums
    computed before that cast (a probability check at 1e-6 needs them).
    """
    path = Path(path)
    header = read_header(path)
    width = len(header)
    blocks: list[np.ndarray] = []
    line_blocks: list[np.ndarray] = []
    sum_blocks: list[np.ndarray] = []
    problems: list[Problem] = []
    rows_so_far = 0
    buffer = bytearray(CHUNK_BYTES)  # reused: whole lines are parsed, a partial one moves up
    filled = 0
    with path.open("rb") as f:
        f.readline()
        next_line = 2
        while True:
            if filled == len(buffer):  # one line longer than the buffer: grow it
                buffer.extend(bytes(len(buffer)))
            with memoryview(buffer) as view:
                read = f.readinto(view[filled:])
            filled += read
            if not read and filled and buffer[filled - 1] != ord("\n"):
                buffer[filled : filled + 1] = b"\n"
                filled += 1
            cut = buffer.rfind(b"\n", 0, filled) + 1
            if cut:
                values, lines, found = _parse_chunk(
                    buffer, cut, width, header, str(path), next_line, rows_so_far
                )
                problems += found
                if row_sums:
                    sum_blocks.append(values.sum(axis=1))
                blocks.append(values.astype(dtype, copy=False))
                line_blocks.append(lines)
                rows_so_far += len(values)
                next_line += _count_lines(buffer, cut)
                buffer[: filled - cut] = buffer[cut:filled]
                filled -= cut
            if not read:
                break
    values = np.concatenate(blocks) if len(blocks) != 1 else blocks[0]
    if not blocks:
        values = np.empty((0, width), dtype)
    lines = np.concatenate(line_blocks) if line_blocks else np.empty(0, np.int64)
    sums = (np.concatenate(sum_blocks) if sum_blocks else np.empty(0)) if row_sums else None
    return NumericTable(str(path), header, values, lines, problems, sums)


def _parse_chunk(
    buffer: bytearray,
    cut: int,
    width: int,
    header: list[str],
    path: str,
    first_line: int,
    first_row: int,
) -> tuple[np.ndarray, np.ndarray, list[Problem]]:
    """The whole lines ``buffer[:cut]`` -> (values, file lines, problems), by the fastest
    path that accepts them. The paths read the buffer in place (no copy of the chunk)."""
    if buffer.find(b"\r", 0, cut) >= 0:
        buffer = bytearray(bytes(buffer[:cut]).replace(b"\r\n", b"\n"))
        cut = len(buffer)
    n_lines = _count_lines(buffer, cut)
    lines = np.arange(first_line, first_line + n_lines, dtype=np.int64)
    values = _parse_fixed_layout(buffer, cut, width)
    if values is None:
        values = _parse_with_numpy(buffer, cut, width, n_lines)
    if values is not None:
        return values, lines, []
    return _parse_by_cell(bytes(buffer[:cut]), header, path, first_line, first_row)


def _count_lines(buffer: bytearray, cut: int) -> int:
    return int(np.count_nonzero(np.frombuffer(buffer, np.uint8, count=cut) == ord("\n")))


def _parse_fixed_layout(buffer: bytearray, cut: int, width: int) -> np.ndarray | None:
    """The vectorized path, or ``None`` if any cell departs from the first cell's layout."""
    line_length = buffer.find(b"\n", 0, cut) + 1
    if line_length <= 1 or cut % line_length or line_length % width:
        return None
    cell_width = line_length // width - 1
    if cell_width < 1:
        return None
    cells = np.frombuffer(buffer, np.uint8, count=cut).reshape(-1, cell_width + 1)
    separators = cells[:, cell_width].reshape(-1, width)
    if not ((separators[:, :-1] == ord(",")).all() and (separators[:, -1] == ord("\n")).all()):
        return None
    first = cells[0, :cell_width]
    is_digit = (first - np.uint8(ord("0"))) < 10
    digits = np.flatnonzero(is_digit)
    points = np.flatnonzero(first == ord("."))
    if len(digits) + len(points) != cell_width or len(points) > 1 or len(digits) == 0:
        return None
    if len(digits) > MAX_FIXED_DIGITS:
        return None
    decimals = int(cell_width - 1 - points[0]) if len(points) else 0
    if len(points) and not (cells[:, points[0]] == ord(".")).all():
        return None
    out = np.empty(len(cells), np.float64)
    zero = np.uint8(ord("0"))
    for start in range(0, len(cells), BLOCK_CELLS):
        block = cells[start : start + BLOCK_CELLS]
        digit_bytes = block[:, digits] - zero  # (cells, digits); a non-digit wraps to >= 10
        if not (digit_bytes < 10).all():
            return None
        mantissa = np.zeros(len(block), np.float64)
        for column in range(len(digits)):
            mantissa *= 10.0
            mantissa += digit_bytes[:, column]
        out[start : start + BLOCK_CELLS] = mantissa / 10.0**decimals if decimals else mantissa
    return out.reshape(-1, width)


def _parse_with_numpy(buffer: bytearray, cut: int, width: int, n_lines: int) -> np.ndarray | None:
    """``np.loadtxt`` on a clean chunk; ``None`` on anything it refuses or reads differently."""
    if buffer.find(b"_", 0, cut) >= 0:  # loadtxt, like float(), reads "1_000": refuse it
        return None
    with memoryview(buffer) as view:
        stream = io.BytesIO(view[:cut])
    try:
        values = np.loadtxt(stream, delimiter=",", comments=None, dtype=np.float64, ndmin=2)
    except ValueError:
        return None
    if values.shape != (n_lines, width) or not np.isfinite(values).all():
        return None
    return values


def _parse_by_cell(
    chunk: bytes, header: list[str], path: str, first_line: int, first_row: int
) -> tuple[np.ndarray, np.ndarray, list[Problem]]:
    """The careful path: every cell through ``float()``, every problem recorded."""
    width = len(header)
    text = chunk.decode("utf-8", errors="replace")
    rows: list[list[float]] = []
    lines: list[int] = []
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    consumed = 0
    for record in reader:
        line, consumed = first_line + consumed, reader.line_num
        if not record or (len(record) == 1 and not record[0].strip()):
            continue
        row_index = first_row + len(rows)
        cells = [math.nan] * width
        if len(record) != width:
            problems.append(
                Problem(
                    path,
                    line,
                    None,
                    f"expected {width} fields ({','.join(header)}), found {len(record)}",
                    row_index,
                )
            )
        else:
            for position, cell in enumerate(record):
                value, message = parse_number(cell)
                if message:
                    problems.append(Problem(path, line, header[position], message, row_index))
                else:
                    cells[position] = value
        rows.append(cells)
        lines.append(line)
    values = np.array(rows, np.float64).reshape(-1, width)
    return values, np.array(lines, np.int64), problems


def parse_number(cell: str) -> tuple[float, str | None]:
    """``(value, None)`` for a finite number, else ``(nan, what is wrong)``."""
    text = cell.strip()
    if not text:
        return math.nan, "is empty"
    if "_" in text:
        return math.nan, f"{text!r} is not a number"
    try:
        value = float(text)
    except ValueError:
        return math.nan, f"{text!r} is not a number"
    if not math.isfinite(value):
        return math.nan, f"{text!r} is not a finite number"
    return value, None
