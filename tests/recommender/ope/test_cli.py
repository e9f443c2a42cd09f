"""``python -m recommender.ope``: the table, the JSON, every bad input, --drop-invalid, and
target policies fitted on the log."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recommender.ope import (
    TARGET_POLICIES,
    OPEConfig,
    PolicyInputs,
    chooser_policy,
    load_inputs,
    register_target_policy,
    reward_model_for,
)
from recommender.ope.cli import main
from recommender.ope.synthetic import make_bandit, make_page
from recommender.ope.writing import write_logs_csv, write_target_csv

ROOT = Path(__file__).resolve().parents[3]
BANDIT = make_bandit(np.random.default_rng(5), n_actions=4)
SINGLE = ["ips", "snips", "dm", "dr", "switch-dr", "dr-os"]
SLATE = ["iips", "sips", "pseudo-inverse", "rips", "cascade-dr", "page-pbm"]


@pytest.fixture
def bandit_files(tmp_path):
    log, target = BANDIT.sample(400, np.random.default_rng(0))
    write_logs_csv(tmp_path / "LOGS.csv", log)
    write_target_csv(tmp_path / "TARGET.csv", target, log.action_ids)
    return tmp_path / "LOGS.csv", tmp_path / "TARGET.csv"


@pytest.fixture
def page_files(tmp_path):
    theta = np.outer(0.8 ** np.arange(2), 0.85 ** np.arange(3))
    problem = make_page(np.random.default_rng(2), theta=theta, n_actions=5)
    log, target = problem.sample(150, np.random.default_rng(0))
    write_logs_csv(tmp_path / "LOGS.csv", log)
    write_target_csv(tmp_path / "TARGET.csv", target, log.action_ids, decimals=6)
    return tmp_path / "LOGS.csv", tmp_path / "TARGET.csv"


def _run(logs, target, *extra):
    return main(["--logs", str(logs), "--target", str(target), "--bootstrap", "200", *extra])


def test_happy_path_prints_one_table_and_writes_the_same_as_json(bandit_files, capsys, tmp_path):
    logs, target = bandit_files
    assert _run(logs, target, "--json", str(tmp_path / "out.json")) == 0
    printed = capsys.readouterr().out
    assert "400 rows, 4 actions" in printed
    assert "estimate" in printed and "95% interval" in printed and "ESS" in printed
    assert "logged mean" in printed
    out = json.loads((tmp_path / "out.json").read_text(), parse_constant=pytest.fail)
    assert [e["estimator"] for e in out["estimates"]] == SINGLE
    for e in out["estimates"]:
        low, high = e["ci95"]
        assert low <= e["estimate"] <= high
        assert 0 < e["ess"] <= 400
        assert e["logging_mean"] == pytest.approx(out["logging_mean"]["row"])
        assert f"{e['estimator']:<15}row   {e['estimate']:>10.4f}" in printed
    rewards = np.loadtxt(logs, delimiter=",", skiprows=1, usecols=-1 - 1)  # reward column
    assert out["logging_mean"]["row"] == pytest.approx(rewards.mean())


def test_page_log_adds_slate_estimators_and_the_examination_grid(page_files, capsys):
    assert _run(*page_files) == 0
    printed = capsys.readouterr().out
    assert "150 slates on a page of 2 x 3 slots" in printed
    for name in SINGLE + SLATE:
        assert f"\n{name:<15}" in printed
    assert "examination by (row, position)" in printed
    assert "  row 1: " in printed


def test_module_runs_as_a_command(page_files):
    logs, target = page_files
    done = subprocess.run(
        [sys.executable, "-m", "recommender.ope", "--logs", str(logs), "--target", str(target)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "cascade-dr" in done.stdout


def _edit(path: Path, line: int, column: str, value: str) -> None:
    """Set one cell of a CSV file (line 1 is the header)."""
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[line - 1].split(",")
    cells[header.index(column)] = value
    lines[line - 1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("which", "line", "column", "value", "message"),
    [
        ("logs", 5, "propensity", "", "line 5, column 'propensity': is missing"),
        ("logs", 7, "propensity", "0", "line 7, column 'propensity': is 0"),
        ("logs", 9, "propensity", "1.5", "line 9, column 'propensity': 1.5 is not a probability"),
        ("logs", 3, "context_1", "high", "line 3, column 'context_1': 'high' is not a number"),
        ("logs", 4, "action", "7", "line 4, column 'action': action 7 has no column action_7"),
        ("logs", 6, "action", "1.5", "line 6, column 'action': 1.5 is not an integer"),
        ("logs", 8, "reward", "nan", "line 8, column 'reward': 'nan' is not a finite number"),
        ("target", 10, "action_2", "x", "line 10, column 'action_2': 'x' is not a number"),
        ("target", 11, "action_0", "-0.1", "line 11, column 'action_0': -0.1 is not a probab"),
    ],
)
def test_each_bad_cell_exits_2_naming_file_line_and_column(
    bandit_files, capsys, which, line, column, value, message
):
    logs, target = bandit_files
    path = logs if which == "logs" else target
    _edit(path, line, column, value)
    assert _run(logs, target) == 2
    err = capsys.readouterr().err
    assert f"{path} {message}" in err


def test_a_target_row_that_does_not_sum_to_one_exits_2(bandit_files, capsys):
    logs, target = bandit_files
    lines = target.read_text().splitlines()
    cells = [float(c) for c in lines[12].split(",")]
    cells[0] += 2e-6
    lines[12] = ",".join(repr(c) for c in cells)
    target.write_text("\n".join(lines) + "\n")
    assert _run(logs, target) == 2
    err = capsys.readouterr().err
    assert f"{target} line 13:" in err and "sum to 1.000002" in err
    assert "columns action_0..action_3" in err


def test_files_of_different_lengths_exit_2(bandit_files, capsys):
    logs, target = bandit_files
    lines = target.read_text().splitlines()
    target.write_text("\n".join(lines[:-3]) + "\n")
    assert _run(logs, target, "--drop-invalid") == 2  # not something dropping can fix
    err = capsys.readouterr().err
    assert f"{target} line 399: ends after 397 data rows, but {logs} has 400" in err


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            "context_0,context_1,context_2,action,reward,propensity,colour",
            "column 'colour': unexpected",
        ),
        ("context_0,context_1,context_2,action,reward,weight", "column 'weight': unexpected"),
        (
            "context_0,context_1,context_2,action,reward,reward",
            "column 'reward': column appears twice",
        ),
    ],
)
def test_bad_logs_headers_exit_2(bandit_files, capsys, header, message):
    logs, target = bandit_files
    lines = logs.read_text().splitlines()
    lines[0] = header
    logs.write_text("\n".join(lines) + "\n")
    assert _run(logs, target) == 2
    assert f"{logs} line 1, {message}" in capsys.readouterr().err


def test_missing_required_column(bandit_files, capsys):
    logs, target = bandit_files
    table = np.loadtxt(logs, delimiter=",", skiprows=1)
    np.savetxt(
        logs,
        table[:, :-1],
        delimiter=",",
        header="context_0,context_1,context_2,action,reward",
        comments="",
    )
    assert _run(logs, target) == 2
    assert f"{logs} line 1, column 'propensity': missing from the header" in capsys.readouterr().err


def test_bad_target_header(bandit_files, capsys):
    logs, target = bandit_files
    lines = target.read_text().splitlines()
    lines[0] = lines[0].replace("action_3", "fourth")
    target.write_text("\n".join(lines) + "\n")
    assert main(["--logs", str(logs), "--target", str(target)]) == 2
    assert "column 'fourth': unexpected column" in capsys.readouterr().err


def test_drop_invalid_drops_and_counts_and_equals_a_clean_run(bandit_files, capsys, tmp_path):
    logs, target = bandit_files
    original_logs, original_target = logs.read_text(), target.read_text()
    _edit(logs, 5, "propensity", "")
    _edit(logs, 9, "propensity", "0")
    _edit(target, 20, "action_1", "oops")
    assert _run(logs, target, "--drop-invalid", "--json", str(tmp_path / "d.json")) == 0
    printed = capsys.readouterr().out
    assert "dropped 3 of 400 rows with invalid input" in printed
    assert "propensity 2" in printed and "action_1 1" in printed
    dropped = json.loads((tmp_path / "d.json").read_text())
    assert dropped["dropped"]["rows"] == 3 and dropped["rows"] == 397
    # The same rows removed by hand give the same estimates, to the last digit.
    keep = [i for i in range(2, 402) if i not in (5, 9, 20)]
    for path, text in ((logs, original_logs), (target, original_target)):
        lines = text.splitlines()
        path.write_text("\n".join([lines[0]] + [lines[i - 1] for i in keep]) + "\n")
    assert _run(logs, target, "--json", str(tmp_path / "c.json")) == 0
    clean = json.loads((tmp_path / "c.json").read_text())
    assert clean["estimates"] == dropped["estimates"]


def test_drop_invalid_drops_whole_slates(page_files, capsys):
    logs, target = page_files
    _edit(logs, 8, "propensity", "0")  # line 8 is row 6: the first row of slate 1
    assert _run(logs, target, "--drop-invalid") == 0
    assert "dropped 6 of 900 rows (1 slates) with invalid input" in capsys.readouterr().out


def test_a_repeated_slot_in_a_slate_exits_2(page_files, capsys):
    logs, target = page_files
    _edit(logs, 3, "position", "0")  # row 1 of slate 0 now repeats row 0's slot
    assert _run(logs, target) == 2
    assert "line 3, column 'position': repeats the (slate_id, row, position) of line 2" in (
        capsys.readouterr().err
    )


def test_bad_flags_exit_2(bandit_files, capsys):
    logs, target = bandit_files
    assert main(["--logs", str(logs), "--target-policy", "psychic"]) == 2
    assert (
        "unknown policy 'psychic'; known: uniform, greedy-reward-model" in capsys.readouterr().err
    )
    assert main(["--logs", str(logs), "--target", str(target), "--folds", "1"]) == 2
    assert "folds must be >= 2" in capsys.readouterr().err
    assert main(["--logs", str(logs)]) == 2
    no_folder = str(logs.parent / "missing" / "out.json")
    assert main(["--logs", str(logs), "--target", str(target), "--json", no_folder]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["--logs", str(logs.parent / "nothing.csv"), "--target", str(target)]) == 2
    assert "nothing.csv" in capsys.readouterr().err


def test_uniform_policy_equals_a_uniform_target_file(bandit_files, tmp_path):
    logs, target = bandit_files
    write_target_csv(target, np.full((400, 4), 0.25), np.arange(4))
    assert _run(logs, target, "--json", str(tmp_path / "file.json")) == 0
    args = ["--logs", str(logs), "--target-policy", "uniform", "--bootstrap", "200"]
    assert main([*args, "--json", str(tmp_path / "policy.json")]) == 0
    by_file = json.loads((tmp_path / "file.json").read_text())["estimates"]
    by_name = json.loads((tmp_path / "policy.json").read_text())["estimates"]
    assert by_file == by_name


def test_greedy_reward_model_policy_is_cross_fitted_and_evaluated_right(tmp_path):
    """The greedy policy's value is known here: row i's choice is the argmax of the model
    that did not see row i's fold, worth the true q(x_i, choice). IPS and DR land within
    their intervals' reach of it, and beat the logging policy as a greedy policy should."""
    log, _ = BANDIT.sample(4000, np.random.default_rng(1))
    logs = tmp_path / "LOGS.csv"
    write_logs_csv(logs, log)
    args = ["--logs", str(logs), "--target-policy", "greedy-reward-model", "--seed", "3"]
    assert main([*args, "--bootstrap", "300", "--json", str(tmp_path / "g.json")]) == 0
    out = {e["estimator"]: e for e in json.loads((tmp_path / "g.json").read_text())["estimates"]}
    loaded = load_inputs(logs).log
    rng = np.random.default_rng(3)
    model = reward_model_for(loaded, config=OPEConfig(seed=3), rng=rng)
    target = TARGET_POLICIES["greedy-reward-model"](PolicyInputs(loaded, model, rng))
    assert set(np.unique(target)) == {0.0, 1.0} and (target.sum(axis=1) == 1).all()
    chosen = target.argmax(axis=1)
    # Each row's choice is the argmax of its own fold's model, the one that never saw it.
    out_of_fold = model.predict_all(loaded.contexts, loaded.cells(), model.folds)
    assert np.array_equal(chosen, out_of_fold.argmax(axis=1))
    pool = np.array([np.flatnonzero((BANDIT.contexts == x).all(1))[0] for x in loaded.contexts])
    truth = BANDIT.mean_rewards[pool, chosen].mean()
    for name in ("ips", "dr"):
        low, high = out[name]["ci95"]
        assert abs(out[name]["estimate"] - truth) < 1.5 * (high - low) / 2, name
    assert truth > loaded.rewards.mean() + 0.1


def test_a_bandit_joins_through_choose(bandit_files):
    """An epsilon-greedy ``choose(context, candidates, k, rng)`` gives its exact distribution:
    1 - eps + eps / A on the best action by its score, eps / A on the others."""
    eps, weights = (
        0.2,
        np.array([[1.0, -1.0, 0.5, 0.0], [0.0, 1.0, -0.5, 2.0], [0.3, 0.0, 1.0, -1.0]]),
    )

    def choose(context, candidates, k, rng):
        best = int(np.argmax(context @ weights))
        pick = best if rng.random() > eps else int(rng.integers(len(candidates)))
        p = eps / len(candidates) + (1 - eps) * (pick == best)
        return [int(candidates[pick])], [p]

    log = load_inputs(bandit_files[0]).log
    rng = np.random.default_rng(0)
    model = reward_model_for(log, config=OPEConfig(), rng=rng)
    got = chooser_policy(choose)(PolicyInputs(log, model, rng))
    expected = np.full((len(log), 4), eps / 4)
    expected[np.arange(len(log)), np.argmax(log.contexts @ weights, axis=1)] += 1 - eps
    assert np.allclose(got, expected)


def test_a_name_is_registered_once():
    with pytest.raises(ValueError, match="already registered"):
        register_target_policy("uniform", lambda inputs: None)


def test_too_few_rows_for_the_folds(tmp_path, capsys):
    log, target = BANDIT.sample(3, np.random.default_rng(0))
    write_logs_csv(tmp_path / "L.csv", log)
    write_target_csv(tmp_path / "T.csv", target, log.action_ids)
    assert main(["--logs", str(tmp_path / "L.csv"), "--target", str(tmp_path / "T.csv")]) == 2
    assert "3 rows cannot be split into 5 cross-fitting folds" in capsys.readouterr().err


def test_a_policy_that_is_not_a_distribution_exits_2(bandit_files, capsys):
    register_target_policy("broken-test-policy", lambda inputs: np.full((400, 4), 0.5))
    try:
        assert main(["--logs", str(bandit_files[0]), "--target-policy", "broken-test-policy"]) == 2
        assert "target policy 'broken-test-policy'" in capsys.readouterr().err
    finally:
        TARGET_POLICIES.pop("broken-test-policy")
