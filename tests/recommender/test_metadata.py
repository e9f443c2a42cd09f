import math

import numpy as np
import pytest

from recommender.data import InteractionsFileError
from recommender.metadata import ItemMetadata, ItemMetadataFileError

HEADER = "item_id,genres,year,text,maturity,added_at\n"


def write(tmp_path, text):
    path = tmp_path / "items.csv"
    path.write_text(text)
    return path


def test_from_csv_reads_genres_years_and_iso_or_unix_added_at(tmp_path):
    path = write(
        tmp_path,
        HEADER + 't1,Drama|Comedy ,1999,"A story, with a comma",PG,1704067200\n'
        "t2,,,,,2024-01-01T01:00:00Z\n",
    )
    items = ItemMetadata.from_csv(path)
    assert items.item_ids.tolist() == ["t1", "t2"]
    assert items.genres == (("drama", "comedy"), ())
    assert items.year[0] == 1999 and math.isnan(items.year[1])
    assert items.text[0] == "A story, with a comma" and items.maturity == ("PG", "")
    assert items.added_at.tolist() == [1704067200.0, 1704070800.0]


def test_optional_columns_may_be_absent_and_round_trip_is_exact(tmp_path):
    items = ItemMetadata.from_csv(write(tmp_path, "text,item_id,year,genres\nhi,a,2001,x\n"))
    assert items.maturity == ("",) and math.isnan(items.added_at[0])
    items.to_csv(tmp_path / "back.csv")
    back = ItemMetadata.from_csv(tmp_path / "back.csv")
    assert back.genres == items.genres and back.text == items.text
    np.testing.assert_array_equal(back.year, items.year)


@pytest.mark.parametrize(
    ("text", "line", "column", "detail"),
    [
        (HEADER + "t1,a,19x9,,,\n", 2, "year", "'19x9' is not a number"),
        (HEADER + "t1,a,99,,,\n", 2, "year", "not a plausible year"),
        (HEADER + "t1,a,2000,,,soon\n", 2, "added_at", "'soon' is not a number or ISO-8601"),
        (HEADER + "t1,a,2000,,,\nt1,b,2001,,,\n", 3, "item_id", "already appeared on line 2"),
        (HEADER + ",a,2000,,,\n", 2, "item_id", "is empty"),
        ("item_id,genres,year\nt1,a,2000\n", 1, "text", "missing from the header"),
        ("item_id,genres,year,text,rating\n", 1, "rating", "unexpected column"),
        (HEADER + "t1,a,2000\n", 2, None, "expected 6 fields"),
        (HEADER, 2, None, "no titles"),
    ],
)
def test_from_csv_errors_name_line_and_column(tmp_path, text, line, column, detail):
    path = write(tmp_path, text)
    with pytest.raises(ItemMetadataFileError) as caught:
        ItemMetadata.from_csv(path)
    assert isinstance(caught.value, InteractionsFileError)
    assert str(caught.value).startswith(f"{path} line {line}")
    assert detail in str(caught.value)
    assert caught.value.column == column


def test_from_records_validates_and_aligns():
    with pytest.raises(ValueError, match="item_id 'a' appears more than once"):
        ItemMetadata.from_records(["a", "a"])
    with pytest.raises(ValueError, match="differ in length"):
        ItemMetadata.from_records(["a"], year=[2000, 2001])
    items = ItemMetadata.from_records(["a", "b"], genres=["x|y", ["Z"]], year=[2000, None])
    aligned = items.aligned(["b", "new"])
    assert aligned.genres == (("z",), ()) and np.isnan(aligned.year).all()


def test_runtime_series_and_episode_are_read_validated_and_written_back(tmp_path):
    path = tmp_path / "items.csv"
    path.write_text(
        "item_id,genres,year,text,runtime,series,episode\n"
        "a,drama,2020,x,45,Night Shift,1\nb,drama,2020,x,50,Night Shift,2\nc,comedy,2019,y,95,,\n"
    )
    items = ItemMetadata.from_csv(path)
    assert list(items.runtime) == [45.0, 50.0, 95.0]
    assert items.series == ("Night Shift", "Night Shift", "")
    assert items.episode[:2].tolist() == [1.0, 2.0] and np.isnan(items.episode[2])
    items.to_csv(tmp_path / "back.csv")
    again = ItemMetadata.from_csv(tmp_path / "back.csv")
    assert again.series == items.series and list(again.runtime) == list(items.runtime)
    bad = tmp_path / "bad.csv"
    bad.write_text("item_id,genres,year,text,runtime\na,drama,2020,x,-5\n")
    with pytest.raises(ItemMetadataFileError, match=r"line 2, column 'runtime'.*positive"):
        ItemMetadata.from_csv(bad)
