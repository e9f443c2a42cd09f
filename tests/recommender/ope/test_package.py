"""recommender/ope/ imports only numpy, the standard library and recommender.ope itself."""

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "recommender" / "ope"
ALLOWED = {"numpy"} | set(sys.stdlib_module_names)


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_module_imports_only_numpy_stdlib_and_its_own_package(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module]
        else:
            continue
        for name in names:
            assert name.split(".")[0] in ALLOWED or name.startswith("recommender.ope"), name
    assert path.stem not in sys.stdlib_module_names or path.stem.startswith("__")
