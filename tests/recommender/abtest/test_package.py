"""recommender/abtest/ imports only numpy, the standard library and itself (the platform and
the simulator both use it; no Django, no scipy). The CLI's figures import matplotlib late,
inside the one function that draws them."""

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "recommender" / "abtest"
ALLOWED = {"numpy"} | set(sys.stdlib_module_names)
LATE = {"matplotlib"}  # only inside a function body, never at module level


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_module_imports_only_numpy_stdlib_and_its_own_package(path):
    tree = ast.parse(path.read_text())
    top_level = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module]
        else:
            continue
        for name in names:
            root = name.split(".")[0]
            if root in LATE:
                assert id(node) not in top_level, f"{name} imported at module level"
                continue
            assert root in ALLOWED or name.startswith("recommender.abtest"), name
    assert path.stem not in sys.stdlib_module_names or path.stem.startswith("__")
