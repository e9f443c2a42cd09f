"""recommender/bandits/ imports only numpy, the standard library, itself and the shared
feature functions: never Django, torch, the simulator or recommender.ope (ope imports it)."""

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "recommender" / "bandits"
ALLOWED = {"numpy"} | set(sys.stdlib_module_names)


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_module_imports_only_numpy_stdlib_itself_and_features(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module]
        else:
            continue
        for name in names:
            own = name.startswith("recommender.bandits") or name == "recommender.features"
            assert name.split(".")[0] in ALLOWED or own, name
    assert path.stem not in sys.stdlib_module_names or path.stem.startswith("__")
