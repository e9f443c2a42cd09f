"""simulator/ depends on numpy, gymnasium, requests, tqdm and the standard library only."""

import sys
from pathlib import Path

import pytest

from tests.test_layout import imported_roots

SIMULATOR = Path(__file__).resolve().parents[2] / "simulator"
ALLOWED = {"numpy", "gymnasium", "requests", "tqdm", "simulator"}
FORBIDDEN = {"django", "rest_framework", "celery", "torch", "recommender", "platform", "config"}
SOURCES = sorted(SIMULATOR.rglob("*.py"))


def test_sources_found():
    assert {p.name for p in SOURCES} >= {"__init__.py", "world.py", "behaviour.py", "env.py"}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SIMULATOR)))
def test_simulator_imports_only_allowed_packages(path):
    roots = imported_roots(path)
    assert not roots & FORBIDDEN, f"{path} imports {roots & FORBIDDEN}"
    stdlib = set(sys.stdlib_module_names) - FORBIDDEN  # "platform" is also a stdlib name
    assert roots <= ALLOWED | stdlib, f"{path} imports {roots - ALLOWED - stdlib}"


def test_no_file_named_after_a_stdlib_module():
    tests = Path(__file__).parent
    for path in [*SOURCES, *tests.rglob("*.py")]:
        assert path.stem not in sys.stdlib_module_names, path
