from pathlib import Path

import numpy as np
import pytest

from recommender.data import Interactions, InteractionsFileError, leave_last_out, time_split

JAN_1_2024 = 1_704_067_200.0


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "data.csv"
    path.write_text(text)
    return path


def test_from_csv_reads_unix_and_iso_timestamps_and_weights(tmp_path):
    path = write(
        tmp_path,
        "user_id,item_id,timestamp,weight\n"
        "ann,matrix,1704067200,2.5\n"
        "ann,alien,2024-01-01T00:00:00Z,\n"
        "bob,matrix,2024-01-01 01:00:00,1\n"
        "\n"
        "bob,heat,2024-01-01T03:00:00+02:00,0.5\n",
    )
    data = Interactions.from_csv(path)
    assert len(data) == 4
    assert data.user_ids.tolist() == ["ann", "ann", "bob", "bob"]
    assert data.item_ids.tolist() == ["matrix", "alien", "matrix", "heat"]
    expected = [JAN_1_2024, JAN_1_2024, JAN_1_2024 + 3600, JAN_1_2024 + 3600]
    np.testing.assert_array_equal(data.timestamps, expected)
    np.testing.assert_array_equal(data.weights, np.array([2.5, 1.0, 1.0, 0.5], np.float32))


def test_from_csv_without_weight_column_means_weight_one_and_any_column_order(tmp_path):
    path = write(tmp_path, "timestamp,item_id,user_id\n10,x,7\n")
    data = Interactions.from_csv(path)
    assert data.user_ids.tolist() == ["7"] and data.item_ids.tolist() == ["x"]
    assert data.timestamps.tolist() == [10.0] and data.weights.tolist() == [1.0]


def test_csv_round_trip_is_exact(tmp_path):
    data = Interactions.from_records(
        ["a", "b,with comma"], [1, 2], [1.7e9 + 0.123456, 5.0], [0.3, 7.0]
    )
    data.to_csv(tmp_path / "out.csv")
    back = Interactions.from_csv(tmp_path / "out.csv")
    for column in ("user_ids", "item_ids", "timestamps", "weights"):
        np.testing.assert_array_equal(getattr(back, column), getattr(data, column))


@pytest.mark.parametrize(
    ("text", "line", "column", "detail"),
    [
        ("user_id,item_id,timestamp\na,x,1\nb,y,abc\n", 3, "timestamp", "'abc' is not a number"),
        ("user_id,item_id,timestamp\na,x,nan\n", 2, "timestamp", "not a finite number"),
        ("user_id,item_id\na,x\n", 1, "timestamp", "missing from the header"),
        ("user_id,item_id,timestamp,rating\na,x,1,5\n", 1, "rating", "unexpected column"),
        ("user_id,item_id,timestamp,weight\na,x,1,1\na,y,2,0\n", 3, "weight", "'0' must be"),
        (
            "user_id,item_id,timestamp,weight\na,x,1,-2\n",
            2,
            "weight",
            "'-2' must be a positive number",
        ),
        ("user_id,item_id,timestamp,weight\na,x,1,lots\n", 2, "weight", "not a number"),
        ("user_id,item_id,timestamp\n,x,1\n", 2, "user_id", "is empty"),
        ("user_id,item_id,timestamp\na,x,1,extra\n", 2, None, "expected 3 fields"),
        ("", 1, None, "file is empty"),
        ("user_id,item_id,timestamp\n", 2, None, "no interactions"),
    ],
)
def test_from_csv_errors_name_line_and_column(tmp_path, text, line, column, detail):
    path = write(tmp_path, text)
    with pytest.raises(InteractionsFileError) as caught:
        Interactions.from_csv(path)
    message = str(caught.value)
    assert message.startswith(f"{path} line {line}")
    if column:
        assert f"column '{column}'" in message
    assert detail in message
    assert (caught.value.line, caught.value.column) == (line, column)


def test_from_records_validates():
    with pytest.raises(ValueError, match="differ in length"):
        Interactions.from_records(["a", "b"], ["x"], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"weights\[1\] = 0.0 must be > 0"):
        Interactions.from_records(["a", "b"], ["x", "y"], [1.0, 2.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="timestamps.*not finite"):
        Interactions.from_records(["a"], ["x"], [float("inf")])


def test_time_split_cuts_at_the_global_quantile():
    data = Interactions.from_records(list("abcdeabcde"), list("vwxyzzyxwv"), range(10))
    train, test = time_split(data, holdout_fraction=0.2)
    assert train.timestamps.tolist() == [0, 1, 2, 3, 4, 5, 6, 7]
    assert test.timestamps.tolist() == [8, 9]
    assert test.user_ids.tolist() == ["d", "e"] and test.item_ids.tolist() == ["w", "v"]


def test_time_split_keeps_ties_at_the_cut_together_in_test():
    data = Interactions.from_records(list("abcd"), list("wxyz"), [1, 2, 2, 2])
    train, test = time_split(data, holdout_fraction=0.25)
    assert train.timestamps.tolist() == [1] and test.timestamps.tolist() == [2, 2, 2]


def test_time_split_refuses_an_empty_side():
    same_time = Interactions.from_records(list("abc"), list("xyz"), [5, 5, 5])
    with pytest.raises(ValueError, match="training side would be empty"):
        time_split(same_time)
    with pytest.raises(ValueError, match="between 0 and 1"):
        time_split(same_time, holdout_fraction=1.0)


def test_the_device_column_is_read_kept_through_select_and_written_back(tmp_path):
    path = tmp_path / "plays.csv"
    path.write_text(
        "user_id,item_id,timestamp,weight,device\nu,a,10,1,tv\nu,b,20,1,\nv,a,30,1,phone\n"
    )
    data = Interactions.from_csv(path)
    assert list(data.devices) == ["tv", "", "phone"]
    assert list(data.select(np.array([2, 0])).devices) == ["phone", "tv"]
    data.to_csv(tmp_path / "back.csv")
    assert list(Interactions.from_csv(tmp_path / "back.csv").devices) == ["tv", "", "phone"]
    plain = tmp_path / "plain.csv"
    plain.write_text("user_id,item_id,timestamp\nu,a,10\n")
    assert Interactions.from_csv(plain).devices is None  # a log without devices says so


def test_leave_last_out_holds_out_each_members_last_play_and_keeps_tie_order():
    data = Interactions.from_records(
        ["a", "a", "a", "b", "c", "c", "a"],
        ["1", "2", "3", "1", "5", "6", "4"],
        [5.0, 1.0, 5.0, 1.0, 2.0, 2.0, 3.0],
    )
    train, test = leave_last_out(data)
    # a's plays at t=5 are tied: the one later in the file ("3") is the last; b has one play
    assert sorted(zip(test.user_ids, test.item_ids, strict=True)) == [("a", "3"), ("c", "6")]
    assert list(zip(train.user_ids, train.item_ids, strict=True)) == [
        ("a", "1"),
        ("a", "2"),
        ("b", "1"),
        ("c", "5"),
        ("a", "4"),
    ]
    train2, test2 = leave_last_out(data, n=2)
    assert sorted(test2.item_ids) == ["1", "3"]  # a's last two; b and c have too few plays
    assert len(train2) + len(test2) == len(data)
    with pytest.raises(ValueError, match="n must be >= 1"):
        leave_last_out(data, n=0)
    with pytest.raises(ValueError, match="no member has more than 5 plays"):
        leave_last_out(data, n=5)
