"""The layout rules of DESIGN.md, checked: source root, import directions, no stdlib shadows."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]
PLATFORM_APPS = ROOT / "platform"
# The project's own Django apps, read from the settings, so a new app is checked the day it
# is installed; plus the settings package itself.
OWN_APPS = {
    app.split(".")[0]
    for app in settings.INSTALLED_APPS
    if (PLATFORM_APPS / app.split(".")[0]).is_dir()
} | {"config"}
# Modules of platform/ allowed to import recommender/: one bridge per use (serving, training,
# and the feature functions that serving logs and models compute from; the promotion gate's
# off-policy evaluation).
BRIDGES = {
    "platform/modeling/embeddings.py",
    "platform/modeling/ranking.py",
    "platform/modeling/training.py",
    "platform/modeling/features.py",
    "platform/exploration/bandit.py",
    "platform/modeling/ope.py",
    "platform/rollouts/analysis.py",
}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_platform_is_a_source_root_not_a_package():
    assert not (PLATFORM_APPS / "__init__.py").exists()


def test_import_platform_is_the_standard_library_with_django_set_up():
    code = (
        "import sys; sys.path[:0] = ['platform', '.']; import django, os;"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings.test'; django.setup();"
        "import platform, uuid; print(platform.system(), platform.__file__, uuid.uuid4().version)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    system, path, version = out.stdout.split()
    assert system == os.uname().sysname  # the standard library's answer, not a module of ours
    assert not path.startswith(str(PLATFORM_APPS))
    assert version == "4"


@pytest.mark.parametrize("folder", ["recommender", "simulator"])
def test_recommender_and_simulator_never_import_django_or_platform(folder):
    forbidden = {"django", "rest_framework", "celery", *OWN_APPS}
    for path in sources(folder):
        assert not imported_roots(path) & forbidden, path


def test_recommender_never_imports_the_simulator():
    for path in sources("recommender"):
        assert "simulator" not in imported_roots(path), path


def test_simulator_world_behaviour_and_env_never_import_the_recommender():
    for path in sources("simulator"):
        if "experiments" in path.parts:
            continue
        assert not imported_roots(path) & {"recommender", "torch"}, path


def test_platform_reaches_the_recommender_only_through_its_bridges():
    offenders = [
        str(path.relative_to(ROOT))
        for path in sources("platform")
        if "recommender" in imported_roots(path) and str(path.relative_to(ROOT)) not in BRIDGES
    ]
    assert offenders == []


def test_nothing_importable_at_top_level_is_named_after_the_standard_library():
    """platform/ and the repository root are on sys.path, so their children are top-level
    names; one named like a stdlib module would shadow it. (Modules inside a package, such as
    catalog/selectors.py, are imported as catalog.selectors and shadow nothing.)"""
    names = set(sys.stdlib_module_names)
    top_level = [
        p
        for root in (ROOT, PLATFORM_APPS)
        for p in root.iterdir()
        if (p.suffix == ".py" or (p.is_dir() and not p.name.startswith(".")))
    ]
    for path in top_level:
        if path == PLATFORM_APPS:
            continue
        assert path.stem not in names, path


def test_the_app_list_is_read_from_the_settings():
    """Every folder under platform/ with an apps.py is an installed app the rules above cover."""
    folders = {p.parent.name for p in PLATFORM_APPS.glob("*/apps.py")}
    assert folders and folders <= OWN_APPS
