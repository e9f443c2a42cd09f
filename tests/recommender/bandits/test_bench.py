"""The explorer benchmark runs end to end on a tiny page (no timing is asserted)."""

import pytest

from recommender.bandits.bench import main


def test_bench_prints_every_decision(capsys):
    assert main(["--titles", "300", "--pool", "20", "--pages", "3", "--train-rows", "300"]) == 0
    out = capsys.readouterr().out
    for label in ("slots: epsilon_greedy", "artwork: thompson_hybrid", "page: thompson slots"):
        assert label in out


def test_bench_refuses_bad_arguments():
    with pytest.raises(SystemExit) as exit_:
        main(["--titles", "10"])
    assert exit_.value.code == 2


def test_bench_times_every_decision_warm_and_cold(capsys):
    args = ["--titles", "300", "--pool", "20", "--pages", "3", "--train-rows", "300"]
    assert main([*args, "--evict-mb", "1"]) == 0
    out = capsys.readouterr().out
    warm, cold = out.split("\nwarm\n")[1].split("\ncold (1 MB read)\n")
    for part in (warm, cold):
        assert "slots: epsilon_greedy" in part and "page: thompson slots" in part


def test_bench_refuses_a_negative_eviction(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--evict-mb", "-1"])
    assert exit_.value.code == 2
    assert "--evict-mb -1" in capsys.readouterr().err
