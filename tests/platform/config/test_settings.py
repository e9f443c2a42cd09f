"""The production settings refuse to start without what they need, and say what is missing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FULL = {
    "DJANGO_SECRET_KEY": "a-real-secret-for-the-test-only-0123456789abcdefghijklmnop",
    "DJANGO_ALLOWED_HOSTS": "example.org",
    "DATABASE_URL": "sqlite:////tmp/unused.sqlite3",
}


def load_production(env: dict) -> subprocess.CompletedProcess:
    code = "import config.settings.production as s; print(s.DEBUG, s.ALLOWED_HOSTS)"
    clean = {k: v for k, v in os.environ.items() if k not in FULL}
    return subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path[:0] = ['platform', '.']; {code}"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
    )


def test_production_settings_load_with_everything_set():
    result = load_production(FULL)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "['example.org']"]


@pytest.mark.parametrize("name", sorted(FULL))
def test_production_settings_name_what_is_missing(name):
    result = load_production({k: v for k, v in FULL.items() if k != name})
    assert result.returncode != 0
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("django.core.exceptions.ImproperlyConfigured")
    assert [n for n in FULL if n in error] == [name], error
