"""`make demo`'s script, start to finish on the embedded default, in a scratch var/ folder."""

import os
import subprocess

import pytest

from tests.e2e.stack import PYTHON, ROOT, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.embedded]


def test_demo_sets_up_the_whole_loop_and_serves_a_model(tmp_path):
    env = {**os.environ, "HOMEPAGE_VAR_DIR": str(tmp_path / "var")}
    argv = [
        PYTHON,
        "scripts/demo.py",
        "--port",
        str(free_port()),
        "--check",
        "--titles",
        "120",
        "--members",
        "24",
        "--days",
        "3",
    ]
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "[7/7] ready" in result.stdout
    assert "served by model v" in result.stdout
    assert "production: v" in result.stdout


def test_demo_rejects_a_bad_argument_by_name():
    result = subprocess.run(
        [PYTHON, "scripts/demo.py", "--days", "-1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--days must be positive, got -1" in result.stderr
