"""recommender/ope/ imports only numpy, the standard library, recommender.ope itself and the
numpy-only bandit package (whose policies it registers as target policies; the bandits never
import recommender.ope, tests/recommender/bandits/test_package.py)."""

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
            own = name.startswith(("recommender.ope", "recommender.bandits"))
            assert name.split(".")[0] in ALLOWED or own, name
    assert path.stem not in sys.stdlib_module_names or path.stem.startswith("__")
