import json
from dataclasses import asdict

import numpy as np
import pytest
import torch

from recommender.base import load_model
from recommender.mf import MFRecommender
from recommender.train import train_main
from tests.recommender.factories import clustered_interactions


@pytest.fixture
def csv_path(tmp_path):
    data = clustered_interactions(np.random.default_rng(2), n_users=60, n_items=40, per_user=12)
    path = tmp_path / "interactions.csv"
    data.to_csv(path)
    return path


def test_train_prints_the_table_and_saves_a_servable_checkpoint(tmp_path, csv_path, capsys):
    out = tmp_path / "model"
    args = ["--interactions", str(csv_path), "--model", "mf", "--out", str(out)]
    threads = torch.get_num_threads()
    status = train_main([*args, "--epochs", "3", "--dim", "8", "--seed", "4", "--threads", "2"])
    assert torch.get_num_threads() == threads  # the run's thread count does not leak

    printed = capsys.readouterr().out
    assert status == 0
    assert "NDCG@10" in printed and "Recall@10" in printed and "MRR" in printed
    rows = {line.split()[0]: line.split()[1:] for line in printed.splitlines() if line}
    assert len(rows["mf"]) == 4 and len(rows["popularity"]) == 4
    assert int(rows["mf"][3]) == int(rows["popularity"][3]) > 0

    model = load_model(out)
    assert isinstance(model, MFRecommender)
    assert (model.config.epochs, model.config.dim, model.config.seed) == (3, 8, 4)
    assert len(model.item_ids) == 40  # refit on all interactions, not only the training part
    assert model.score(["u0", "someone-new"]).shape == (2, 40)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["evaluation"]["mf"]["n_users"] == int(rows["mf"][3])


def test_train_exits_2_naming_the_line_of_a_bad_file(tmp_path, csv_path, capsys):
    lines = csv_path.read_text().splitlines()
    lines[4] = "u1,i1,yesterday,1"
    csv_path.write_text("\n".join(lines) + "\n")
    args = ["--interactions", str(csv_path), "--model", "mf", "--out", str(tmp_path / "m")]
    assert train_main(args) == 2
    error = capsys.readouterr().err
    assert "line 5, column 'timestamp': 'yesterday' is not a number or ISO-8601 time" in error
    assert not (tmp_path / "m").exists()


def test_train_rejects_unknown_model_and_misapplied_options(tmp_path, csv_path, capsys):
    common = ["--interactions", str(csv_path), "--out", str(tmp_path / "m")]
    assert train_main([*common, "--model", "bert4rec"]) == 2
    error = capsys.readouterr().err
    assert "invalid choice: 'bert4rec'" in error and "'sasrec'" in error and "'ease'" in error

    assert train_main([*common, "--model", "popularity", "--epochs", "3"]) == 2
    assert "--epochs does not apply to model 'popularity'" in capsys.readouterr().err

    assert train_main([*common, "--model", "mf", "--dim", "0"]) == 2
    assert "dim must be >= 1" in capsys.readouterr().err


def test_train_sasrec_with_items_then_warm_start_reports_the_drift(tmp_path, capsys):
    from recommender.sasrec import SASRecRecommender
    from tests.recommender.factories import genre_catalog

    data, items = genre_catalog(np.random.default_rng(8), n_users=40, n_items=24, per_user=6)
    data.to_csv(tmp_path / "plays.csv")
    items.to_csv(tmp_path / "items.csv")
    common = ["--interactions", str(tmp_path / "plays.csv"), "--items", str(tmp_path / "items.csv")]
    common += ["--model", "sasrec", "--set", "dim=8", "--set", "min_steps=10", "--set", "max_len=8"]
    assert train_main([*common, "--out", str(tmp_path / "v1")]) == 0
    assert (
        train_main([*common, "--out", str(tmp_path / "v2"), "--warm-start", str(tmp_path / "v1")])
        == 0
    )
    printed = capsys.readouterr().out
    assert "embedding drift over 24 shared titles" in printed
    model = load_model(tmp_path / "v2")
    assert isinstance(model, SASRecRecommender) and model.config.dim == 8
    extra = model.config.extra  # the printed figures are the ones the version recorded
    assert (
        f"{extra['drift_before_align']:.3f} before alignment, "
        f"{extra['drift_after_align']:.3f} after" in printed
    )

    assert train_main([*common, "--out", str(tmp_path / "v3"), "--set", "depth=3"]) == 2
    assert "sasrec has no setting 'depth'" in capsys.readouterr().err


def planted_logs(tmp_path):
    """Two logs with the same earlier 80% and different later 20% (same timestamps, so the
    CLI's cut and training part are identical): the real one, and one whose later plays are
    all the few most popular titles, which would pull a self-tuning model elsewhere."""
    from recommender.data import Interactions, time_split

    data = clustered_interactions(np.random.default_rng(5), n_users=120, n_items=60, per_user=15)
    train, test = time_split(data, holdout_fraction=0.2)
    counts = {}
    for item in train.item_ids:
        counts[item] = counts.get(item, 0) + 1
    top = sorted(counts, key=lambda i: -counts[i])[:3]
    planted_items = np.random.default_rng(0).choice(top, size=len(test))
    planted = Interactions.from_records(test.user_ids, planted_items, test.timestamps)
    paths = {}
    for name, later in (("real", test), ("planted", planted)):
        both = Interactions(
            np.concatenate([train.user_ids, later.user_ids]),
            np.concatenate([train.item_ids, later.item_ids]),
            np.concatenate([train.timestamps, later.timestamps]),
            np.concatenate([train.weights, later.weights]),
        )
        paths[name] = tmp_path / f"{name}.csv"
        both.to_csv(paths[name])
    return train, paths


@pytest.mark.parametrize(
    ("kind", "settings", "chosen"),
    [
        ("ease", {}, ("l2",)),
        ("sasrec", {"dim": 8, "min_steps": 10, "patience": 2}, ("max_len", "extra")),
    ],
)
def test_self_tuning_reads_only_the_training_part(tmp_path, kind, settings, chosen):
    """EASE's lambda and SASRec's early stopping are chosen inside ``fit`` on data carved from
    the training part: swapping the test part for a planted one changes nothing."""
    from recommender import MODELS
    from recommender.data import Interactions

    def choice(config):
        extra = dict(config.get("extra", {}))
        extra.pop("final_loss", None)  # a training loss, not a choice
        return {key: extra if key == "extra" else config[key] for key in chosen}

    _, paths = planted_logs(tmp_path)
    tuned, leaky = {}, {}
    for name, path in paths.items():
        out = tmp_path / f"{kind}-{name}"
        cli_settings = [arg for k, v in settings.items() for arg in ("--set", f"{k}={v}")]
        args = ["--interactions", str(path), "--model", kind, "--out", str(out), *cli_settings]
        assert train_main(args) == 0
        tuned[name] = choice(
            json.loads((out / "metrics.json").read_text())["tuned_on_training_part"]
        )
        # what a tuner that read the test part too would have chosen
        model = MODELS[kind](MODELS[kind].config_class(**settings))
        leaky[name] = choice(asdict(model.fit(Interactions.from_csv(path)).config))
    assert leaky["real"] != leaky["planted"], leaky  # the planted part would change the choice
    assert tuned["real"] == tuned["planted"]
