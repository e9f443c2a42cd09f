import json
import subprocess
import zipfile

import numpy as np
import pytest

from recommender import benchmark_real
from recommender.benchmark_real import ReferenceEASE, fetch, main, paired_ratio, read_inter
from recommender.data import leave_last_out
from recommender.ease import EASEConfig, EASERecommender
from tests.recommender.factories import chain_interactions, clustered_interactions


def write_inter(data, path):
    lines = ["user_id:token\titem_id:token\trating:float\ttimestamp:float"]
    lines += [
        f"{u}\t{i}\t4\t{int(t)}"
        for u, i, t in zip(data.user_ids, data.item_ids, data.timestamps, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the benchmark must not download when the data are there")

    monkeypatch.setattr(subprocess, "run", no_network)
    write_inter(
        chain_interactions(np.random.default_rng(0), n_users=80), tmp_path / "ml-100k.inter"
    )
    return tmp_path


def test_benchmark_prints_every_model_beside_the_reference(data_dir, capsys):
    out = data_dir / "results.json"
    settings = ["--set", "sasrec.dim=8", "--set", "sasrec.min_steps=30"]
    argv = ["--data", str(data_dir), "--models", "popularity,ease,sasrec", *settings]
    assert main([*argv, "--bootstrap", "50", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "80 members, 40 titles; leave-last-out: 880 train / 80 test" in printed
    assert "sasrec: max_len 50, best_epoch" in printed  # chosen on the training part
    results = json.loads(out.read_text())
    assert list(results) == ["ease-ref", "popularity", "ease", "sasrec", "sasrec no-at"]
    for name, result in results.items():
        assert name in printed
        low, high = result["ci95"]["ndcg@10"]
        assert low <= result["means"]["ndcg@10"] <= high
        ratio, r_low, r_high = result["ratio_to_ease_ref"]
        assert r_low <= ratio <= r_high and result["latency_ms"] > 0
    # walking a chain: only the sequence model knows what comes next
    assert results["sasrec"]["means"]["ndcg@10"] > 0.9 > results["ease"]["means"]["ndcg@10"]


def test_a_bad_data_file_exits_2_naming_the_line(data_dir, capsys):
    path = data_dir / "ml-100k.inter"
    path.write_text(path.read_text() + "u1\ti2\n")
    assert main(["--data", str(data_dir), "--models", "popularity"]) == 2
    assert "ml-100k.inter line 962: expected 4 fields" in capsys.readouterr().err


def test_fetch_reads_the_log_out_of_the_downloaded_wheel(tmp_path, monkeypatch):
    calls = []

    def pip_download(command, **kwargs):  # stands in for PyPI: writes the wheel pip would
        calls.append(command)
        folder = command[command.index("-d") + 1]
        with zipfile.ZipFile(f"{folder}/recbole-1.2.1-py3-none-any.whl", "w") as wheel:
            for name in ("ml-100k.inter", "ml-100k.item"):
                wheel.writestr(f"recbole/dataset_example/ml-100k/{name}", f"{name} bytes")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(subprocess, "run", pip_download)
    path = fetch(tmp_path / "ml")
    assert path.read_text() == "ml-100k.inter bytes"
    assert calls[0][-4:] == ["--no-deps", "recbole==1.2.1", "-d", str(tmp_path / "ml")]
    fetch(tmp_path / "ml")
    assert len(calls) == 1  # already there: no second download


def test_reference_ease_is_the_same_closed_form_as_the_projects_ease():
    data = clustered_interactions(np.random.default_rng(1), n_users=80, n_items=30, per_user=10)
    train, test = leave_last_out(data)
    reference = ReferenceEASE(grid=(3.0, 30.0, 300.0)).fit(train)
    assert set(reference.validation) == {"3", "30", "300"}
    ours = EASERecommender(EASEConfig(l2=reference.l2, tune_l2=False)).fit(train)
    assert ours.item_ids == reference.item_ids
    users = sorted(set(test.user_ids))[:20]
    np.testing.assert_allclose(ours.score(users), reference.score(users), atol=1e-4)


def test_paired_ratio_resamples_the_same_members_for_both():
    rng = np.random.default_rng(0)
    reference = rng.random(500)
    ratio, low, high = paired_ratio(1.2 * reference, reference, samples=200, seed=0)
    assert ratio == pytest.approx(1.2) and low == pytest.approx(1.2) == high
    noisy, low, high = paired_ratio(
        reference + rng.normal(0, 0.2, 500), reference, samples=200, seed=0
    )
    assert low < noisy < high and high - low > 0.01


def test_read_inter_names_a_file_without_the_columns(tmp_path):
    path = tmp_path / "x.inter"
    path.write_text("user_id:token\trating:float\n1\t3\n")
    with pytest.raises(ValueError, match="x.inter line 1: expected user_id, item_id and timestamp"):
        read_inter(path)
    assert benchmark_real.MEMBERS["interactions"] == "ml-100k.inter"


def test_ties_by_item_reorders_only_plays_in_the_same_second():
    from recommender.benchmark_real import order_ties_by_item
    from recommender.data import Interactions

    data = Interactions.from_records(["a"] * 4, ["10", "9", "2", "1"], [5.0, 5.0, 1.0, 5.0])
    ordered = order_ties_by_item(data)
    assert list(ordered.item_ids) == ["2", "1", "9", "10"]  # numeric, within t=5 only
    assert leave_last_out(ordered)[1].item_ids.tolist() == ["10"]
    assert leave_last_out(data)[1].item_ids.tolist() == ["1"]  # file order: the last row
