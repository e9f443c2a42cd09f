"""``python -m recommender.abtest aa|power``: prints the table, writes CSV + PNG with --out,
and a bad value is an error naming it (exit 2), never a traceback."""

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from recommender.abtest.cli import main

ROOT = Path(__file__).resolve().parents[3]
SMALL = ["--seeds", "12", "--days", "4", "--members", "300"]


def test_aa_prints_each_analysis_with_an_interval_and_writes_the_figure(tmp_path, capsys):
    assert main(["aa", *SMALL, "--out", str(tmp_path / "figs")]) == 0
    out = capsys.readouterr().out
    assert "12 simulated A/A tests, 300 members, 4 days" in out
    for label in ("naive: fixed-horizon", "sequential (mSPRT)", "sequential + CUPED"):
        assert label in out
    rows = list(csv.DictReader((tmp_path / "figs" / "abtest-aa.csv").open()))
    assert {r["method"] for r in rows} == {"naive", "sequential", "fixed"}
    assert len(rows) == 4 * 4  # 4 analyses x 4 days
    assert (tmp_path / "figs" / "abtest-aa.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_power_prints_the_cuped_gain(tmp_path, capsys):
    assert main(["power", *SMALL, "--effect", "0.3", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "+30.0% lift" in out and "CUPED: variance of the difference x" in out
    assert (tmp_path / "abtest-power.png").exists() and (tmp_path / "abtest-power.csv").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["aa", "--seeds", "0"], "'0' must be >= 1"),
        (["aa", "--seeds", "many"], "'many' is not an integer"),
        (["aa", "--members", "10"], "'10' must be >= 20"),
        (["aa", "--members", "5000000"], "'5000000' must be >= 20 and <= 1000000"),
        (["aa", "--seed", "-3"], "'-3' must be >= 0"),
        (["aa", "--alpha", "1.5"], "'1.5' must be > 0 and < 1"),
        (["aa", "--alpha", "nan"], "'nan' must be > 0 and < 1"),
        (["power", "--effect", "-1"], "'-1' must be > -1"),
        (["power", "--tau-sd", "0"], "'0' must be > 0"),
        (["aa", "--effect", "0.1"], "unrecognized arguments: --effect"),
        (["rollout"], "invalid choice: 'rollout'"),
    ],
)
def test_bad_values_are_named(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_out_that_cannot_be_a_folder_is_named(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["aa", *SMALL, "--out", str(blocker / "sub")]) == 2
    assert f"--out {blocker / 'sub'}: cannot create the folder" in capsys.readouterr().err


def test_the_module_runs_as_a_script():
    out = subprocess.run(
        [sys.executable, "-m", "recommender.abtest", "aa", "--seeds", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and "'0' must be >= 1" in out.stderr
    assert "Traceback" not in out.stderr
