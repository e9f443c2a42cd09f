"""DESIGN.md: the platform never imports the simulator. The lab starts the simulator's client
as a child process (lab.traffic.client_argv) and it talks to the platform over the public
API only."""

from tests.test_layout import ROOT, imported_roots, sources


def test_no_platform_module_imports_the_simulator():
    offenders = [
        str(path.relative_to(ROOT))
        for path in sources("platform")
        if "simulator" in imported_roots(path)
    ]
    assert offenders == []
