"""The simulator's CLIs that write files (dataset, experiments) read none: a path they cannot
write is their one bad file. It must fail at once, with status 2 and an error naming the
path, before minutes of simulation and never with a traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIS = {
    "simulator.dataset": ["--titles", "50", "--members", "4", "--days", "1", "--no-progress"],
    "simulator.experiments": ["position-bias", "--titles", "80", "--members", "4", "--days",
                              "2", "--no-progress"],
}  # fmt: skip


@pytest.fixture
def unwritable(tmp_path) -> dict[str, Path]:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    return {"a file": a_file, "under a file": a_file / "out"}


@pytest.mark.parametrize("module", sorted(CLIS))
@pytest.mark.parametrize("case", ["a file", "under a file"])
def test_an_out_path_that_cannot_be_written_fails_at_once_naming_it(unwritable, module, case):
    path = unwritable[case]
    result = subprocess.run(
        [sys.executable, "-m", module, *CLIS[module], "--out", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    (message,) = [line for line in result.stderr.splitlines() if "error:" in line]
    assert "argument --out" in message and str(path) in message, message
