import json

import numpy as np
import pytest

from recommender.evaluate import evaluate_main
from tests.recommender.factories import genre_catalog


@pytest.fixture
def files(tmp_path):
    data, items = genre_catalog(np.random.default_rng(6), n_users=40, n_items=24, per_user=6)
    data.to_csv(tmp_path / "interactions.csv")
    items.to_csv(tmp_path / "items.csv")
    return tmp_path / "interactions.csv", tmp_path / "items.csv"


def test_evaluate_cli_prints_every_model_side_by_side(tmp_path, files, capsys):
    interactions, items = files
    args = ["--interactions", str(interactions), "--items", str(items), "--bootstrap", "50"]
    args += ["--models", "popularity,ease", "--set", "ease.tune_l2=false", "--set", "ease.l2=7"]
    assert evaluate_main([*args, "--json", str(tmp_path / "r.json")]) == 0
    printed = capsys.readouterr().out
    assert "NDCG@10" in printed and "R@50" in printed and "cNDCG@10" in printed
    results = json.loads((tmp_path / "r.json").read_text())
    assert set(results) == {"popularity", "ease"}
    assert results["ease"]["config"]["l2"] == 7.0
    low, high = results["ease"]["ci95"]["ndcg@10"]
    assert low <= results["ease"]["means"]["ndcg@10"] <= high


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--models", "ease,bogus"], "unknown kind 'bogus'"),
        (["--set", "ease.lambda=3"], "ease has no setting 'lambda'"),
        (["--set", "mf.dim=big"], "'big' is not a valid int"),
        (["--set", "mf.dim=0"], "dim must be >= 1, got 0"),
        (["--holdout", "1.5"], "--holdout must be between 0 and 1, got 1.5"),
    ],
)
def test_evaluate_cli_rejects_bad_flags_naming_the_value(files, capsys, extra, message):
    assert evaluate_main(["--interactions", str(files[0]), *extra]) == 2
    assert message in capsys.readouterr().err


def test_evaluate_cli_names_the_line_of_a_bad_items_file(tmp_path, files, capsys):
    interactions, items = files
    lines = items.read_text().splitlines()
    cells = lines[3].split(",")
    cells[2] = "nineteen"  # the year column
    lines[3] = ",".join(cells)
    items.write_text("\n".join(lines) + "\n")
    assert evaluate_main(["--interactions", str(interactions), "--items", str(items)]) == 2
    assert "line 4, column 'year': 'nineteen' is not a number" in capsys.readouterr().err
