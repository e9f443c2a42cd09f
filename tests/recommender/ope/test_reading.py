"""The CSV reader: three parsing paths that agree, and exact places for every bad cell."""

import numpy as np
import pytest

from recommender.ope import reading
from recommender.ope.reading import read_numeric_csv


def _write(tmp_path, text, name="t.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def test_fixed_layout_cells_equal_what_float_reads(tmp_path):
    rng = np.random.default_rng(0)
    units = rng.integers(0, 10**6, size=(300, 7))
    text = "a,b,c,d,e,f,g\n" + "".join(
        ",".join(f"{u // 10**6}.{u % 10**6:06d}" for u in row) + "\n" for row in units
    )
    cells = [[float(c) for c in line.split(",")] for line in text.splitlines()[1:]]
    body = bytearray(text.split("\n", 1)[1].encode())
    assert reading._parse_fixed_layout(body, len(body), 7) is not None
    table = read_numeric_csv(_write(tmp_path, text))
    assert table.problems == []
    assert np.array_equal(table.values, np.array(cells))  # bit for bit
    assert table.lines.tolist() == list(range(2, 302))


def test_every_path_reads_the_same_numbers(tmp_path, monkeypatch):
    """Variable widths (numpy's parser) and quoted cells (cell by cell) give the values
    float() gives; chunks of 64 bytes check that lines split across reads are whole."""
    rng = np.random.default_rng(1)
    values = rng.normal(size=(200, 3)) * 10.0 ** rng.integers(-3, 4, size=(200, 3))
    plain = "x,y,z\n" + "".join(",".join(repr(float(v)) for v in row) + "\n" for row in values)
    quoted = "x,y,z\n" + "".join(",".join(f'"{float(v)!r}"' for v in row) + "\n" for row in values)
    monkeypatch.setattr(reading, "CHUNK_BYTES", 64)
    used = []
    for name in ("_parse_fixed_layout", "_parse_with_numpy", "_parse_by_cell"):
        original = getattr(reading, name)

        def spy(*args, _original=original, _name=name):
            out = _original(*args)
            if out is not None:
                used.append(_name)
            return out

        monkeypatch.setattr(reading, name, spy)
    for text, path in ((plain, "_parse_with_numpy"), (quoted, "_parse_by_cell")):
        used.clear()
        table = read_numeric_csv(_write(tmp_path, text))
        assert set(used) == {path}
        assert table.problems == []
        assert np.array_equal(table.values, values)
        assert table.lines.tolist() == list(range(2, 202))


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("", "is empty"),
        ("abc", "'abc' is not a number"),
        ("nan", "'nan' is not a finite number"),
        ("inf", "'inf' is not a finite number"),
        ("1_000", "'1_000' is not a number"),
        ("1.5x", "'1.5x' is not a number"),
    ],
)
def test_a_bad_cell_is_named_by_line_and_column(tmp_path, monkeypatch, cell, message):
    monkeypatch.setattr(reading, "CHUNK_BYTES", 40)  # the bad line is not in the first chunk
    rows = ["0.100000,0.200000"] * 9
    rows[6] = f"0.100000,{cell}"
    table = read_numeric_csv(_write(tmp_path, "p,q\n" + "\n".join(rows) + "\n"))
    (problem,) = table.problems
    assert (problem.line, problem.column, problem.row) == (8, "q", 6)
    assert problem.message == message
    assert str(problem) == f"{tmp_path / 't.csv'} line 8, column 'q': {message}"
    assert np.isnan(table.values[6, 1]) and table.values[6, 0] == 0.1
    assert len(table) == 9


def test_wrong_field_count_blank_lines_and_crlf(tmp_path):
    text = "a,b\r\n1,2\r\n\r\n3\r\n4,5\r\n6,7"  # a blank line 3, a short line 4, no final newline
    table = read_numeric_csv(_write(tmp_path, text))
    assert table.lines.tolist() == [2, 4, 5, 6]
    (problem,) = table.problems
    assert (problem.line, problem.column, problem.row) == (4, None, 1)
    assert "expected 2 fields (a,b), found 1" in problem.message
    assert table.values[3].tolist() == [6.0, 7.0]


def test_float32_storage_keeps_float64_row_sums(tmp_path):
    text = "a,b,c\n0.1,0.2,0.7\n0.3333333,0.3333333,0.3333334\n"
    table = read_numeric_csv(_write(tmp_path, text), dtype=np.float32, row_sums=True)
    assert table.values.dtype == np.float32
    assert table.row_sums.tolist() == pytest.approx([1.0, 1.0], abs=1e-12)
