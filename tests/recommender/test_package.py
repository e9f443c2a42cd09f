"""recommender/ imports only torch, numpy, the standard library and itself (DESIGN.md)."""

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "recommender"
ALLOWED = {"torch", "numpy", "recommender"} | set(sys.stdlib_module_names)


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_module_imports_only_torch_numpy_and_stdlib(path):
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert imported <= ALLOWED, imported - ALLOWED
    assert path.stem not in sys.stdlib_module_names, "a module named after the stdlib"
