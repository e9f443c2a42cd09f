"""simulator/ depends on numpy, gymnasium, requests, tqdm and the standard library only;
simulator/experiments/ may also use the project's recommender (hence torch) and matplotlib."""

import sys
from pathlib import Path

import pytest

from tests.test_layout import imported_roots

SIMULATOR = Path(__file__).resolve().parents[2] / "simulator"
ALLOWED = {"numpy", "gymnasium", "requests", "tqdm", "simulator"}
FORBIDDEN = {"django", "rest_framework", "celery", "torch", "recommender", "platform", "config"}
EXPERIMENTS_ALLOWED = {"recommender", "matplotlib"}
SOURCES = sorted(SIMULATOR.rglob("*.py"))


def test_sources_found():
    found = {str(p.relative_to(SIMULATOR)) for p in SOURCES}
    assert found >= {
        "__init__.py",
        "world/__init__.py",
        "behaviour/__init__.py",
        "env.py",
        "client/__init__.py",
    }


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SIMULATOR)))
def test_simulator_imports_only_allowed_packages(path):
    roots = imported_roots(path)
    allowed, forbidden = ALLOWED, FORBIDDEN
    if "experiments" in path.relative_to(SIMULATOR).parts:
        allowed, forbidden = ALLOWED | EXPERIMENTS_ALLOWED, FORBIDDEN - {"recommender"}
    assert not roots & forbidden, f"{path} imports {roots & forbidden}"
    stdlib = set(sys.stdlib_module_names) - FORBIDDEN  # "platform" is also a stdlib name
    assert roots <= allowed | stdlib, f"{path} imports {roots - allowed - stdlib}"


def test_only_experiments_import_the_recommender():
    importers = {
        str(p.relative_to(SIMULATOR)) for p in SOURCES if "recommender" in imported_roots(p)
    }
    assert importers and all(name.startswith("experiments/") for name in importers)


def test_no_file_named_after_a_stdlib_module():
    tests = Path(__file__).parent
    for path in [*SOURCES, *tests.rglob("*.py")]:
        assert path.stem not in sys.stdlib_module_names, path
