"""scripts/bench_reads.py refuses bad input with an error naming it, before it touches a
database."""

import pytest

from scripts import bench_reads


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--calls", "0"], "'0' must be at least 1"),
        (["--repeats", "many"], "'many' is not a whole number"),
        (["--var-dir", "{tmp}"], "fixture.json does not exist"),
    ],
)
def test_a_bad_argument_is_named(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        bench_reads.main([arg.format(tmp=tmp_path) for arg in argv])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
