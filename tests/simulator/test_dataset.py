import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simulator.dataset import INTERACTIONS_HEADER, ITEMS_HEADER, main
from simulator.world import DEVICES, GENRES

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--titles", "200", "--members", "80", "--days", "20", "--seed", "1", "--no-progress"]


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def test_dataset_writes_plays_and_items_with_cold_start(tmp_path, capsys):
    assert main(["--out", str(tmp_path), *ARGS]) == 0
    assert "plays by" in capsys.readouterr().out
    header, plays = read(tmp_path / "interactions.csv")
    assert tuple(header) == INTERACTIONS_HEADER
    header, items = read(tmp_path / "items.csv")
    assert tuple(header) == ITEMS_HEADER
    assert len(items) == 200 and len(plays) > 500
    added = {i["item_id"]: int(i["added_at"]) for i in items}
    stamps = [int(p["timestamp"]) for p in plays]
    assert stamps == sorted(stamps)
    assert all(float(p["weight"]) > 0 and float(p["weight"]) < 1 for p in plays)
    assert all(int(p["timestamp"]) >= added[p["item_id"]] for p in plays)
    start, end = min(stamps), max(stamps)
    arrived = {i for i, t in added.items() if start < t <= end}
    assert arrived, "titles must arrive during the log (cold start)"
    assert {p["item_id"] for p in plays} & arrived
    assert all(i["genres"] and set(i["genres"].split("|")) <= set(GENRES) for i in items)
    assert all(1900 < int(i["year"]) <= 2026 and i["text"] for i in items)
    users = {p["user_id"] for p in plays}
    assert 40 < len(users) <= 80
    assert {p["device"] for p in plays} == set(DEVICES)
    episodes = [i for i in items if i["series"]]
    assert episodes and all(int(i["episode"]) >= 1 for i in episodes)
    assert all(i["episode"] == "" for i in items if not i["series"])
    assert any(i["episode"] == "2" for i in episodes)


def test_dataset_devices_follow_the_hour_and_context_strength_sets_the_tastes(tmp_path):
    """The device column is each visit's device: TV plays are commoner in the evening, phone
    plays in the morning. At the default ``--context-strength`` plays from a TV run longer
    than plays from a phone (short titles suit phones); at 0 the visits and devices are
    drawn the same, but members choose as if the device did not matter."""
    gap = {}
    for strength in ("1", "0"):
        out = tmp_path / strength
        args = ["--titles", "200", "--members", "300", "--days", "20", "--seed", "1"]
        assert (
            main(["--out", str(out), *args, "--context-strength", strength, "--no-progress"]) == 0
        )
        _, plays = read(out / "interactions.csv")
        _, items = read(out / "items.csv")
        runtime = {i["item_id"]: int(i["runtime"]) for i in items}
        hours = np.array([int(p["timestamp"]) % 86400 / 3600 for p in plays])
        device = np.array([p["device"] for p in plays])
        minutes = np.array([runtime[p["item_id"]] for p in plays])
        morning, evening = (hours >= 4) & (hours < 13), hours >= 18
        assert (device[evening] == "tv").mean() > (device[morning] == "tv").mean() + 0.1
        assert (device[morning] == "phone").mean() > (device[evening] == "phone").mean() + 0.1
        gap[strength] = minutes[device == "tv"].mean() - minutes[device == "phone"].mean()
    assert gap["1"] > 10
    assert abs(gap["0"]) < 5


def test_dataset_is_reproducible(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    main(["--out", str(a), *ARGS])
    main(["--out", str(b), *ARGS])
    assert (a / "interactions.csv").read_bytes() == (b / "interactions.csv").read_bytes()


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--titles", "0"], "'0'"),
        (["--members", "many"], "'many'"),
        (["--days", "-2"], "'-2'"),
        (["--seed", "x"], "'x'"),
        (["--titles", "30"], "got 30"),
        (["--activity-scale", "0"], "'0'"),
    ],
)
def test_cli_rejects_bad_values(tmp_path, capsys, args, named):
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(tmp_path / "d"), *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert args[0] in err and named in err and "Traceback" not in err
    assert not (tmp_path / "d").exists()


def test_cli_runs_as_module_and_refuses_a_file_as_out(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    result = subprocess.run(
        [sys.executable, "-m", "simulator.dataset", "--out", str(target), *ARGS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "is not a directory" in result.stderr and "Traceback" not in result.stderr
