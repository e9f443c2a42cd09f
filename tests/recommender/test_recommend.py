import csv

import numpy as np
import pytest

from recommender.ease import EASEConfig, EASERecommender
from recommender.popularity import PopularityRecommender
from recommender.recommend import recommend_main
from recommender.serving import Ranker
from tests.recommender.factories import clustered_interactions


@pytest.fixture(scope="module")
def data():
    return clustered_interactions(np.random.default_rng(5), n_users=30, n_items=25, per_user=6)


@pytest.fixture
def checkpoint(tmp_path, data):
    EASERecommender(EASEConfig(l2=20.0, tune_l2=False)).fit(data).save(tmp_path / "ease")
    return tmp_path / "ease"


def read(path):
    with path.open() as f:
        return list(csv.DictReader(f))


def test_recommend_writes_top_k_per_member_excluding_seen_titles(tmp_path, data, checkpoint):
    out = tmp_path / "recs.csv"
    assert (
        recommend_main(
            ["--checkpoint", str(checkpoint), "--users", "all", "--k", "5", "--out", str(out)]
        )
        == 0
    )
    rows = read(out)
    assert set(rows[0]) == {"user_id", "item_id", "rank", "score"}
    members = sorted(set(data.user_ids))
    assert len(rows) == 5 * len(members)
    seen = {(u, i) for u, i in zip(data.user_ids, data.item_ids, strict=True)}
    assert not any((r["user_id"], r["item_id"]) in seen for r in rows)
    first = [r for r in rows if r["user_id"] == members[0]]
    assert [int(r["rank"]) for r in first] == [1, 2, 3, 4, 5]
    scores = [float(r["score"]) for r in first]
    assert scores == sorted(scores, reverse=True)
    expected, _ = Ranker(checkpoint).top_k(members[0], k=5, exclude_seen=True)
    assert [r["item_id"] for r in first] == expected


def test_keep_seen_and_a_user_file(tmp_path, data, checkpoint):
    users = tmp_path / "users.txt"
    users.write_text("user_id\nu1\n\nu2\n")
    out = tmp_path / "recs.csv"
    args = ["--checkpoint", str(checkpoint), "--users", str(users), "--k", "25"]
    assert recommend_main([*args, "--keep-seen", "--out", str(out)]) == 0
    rows = read(out)
    assert {r["user_id"] for r in rows} == {"u1", "u2"} and len(rows) == 50  # whole catalogue


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--k", "0"], "--k must be >= 1, got 0"),
        (["--users", "USERS"], "not members of the model's training data, e.g. 'ghost'"),
        (["--checkpoint", "MISSING"], "no model checkpoint at"),
    ],
)
def test_errors_name_the_bad_value_and_exit_2(tmp_path, checkpoint, capsys, args, message):
    users = tmp_path / "users.txt"
    users.write_text("u1\nghost\n")
    base = {"--checkpoint": str(checkpoint), "--users": "all", "--k": "3"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = {"USERS": str(users), "MISSING": str(tmp_path / "none")}.get(value, value)
    assert recommend_main([x for pair in base.items() for x in pair]) == 2
    assert message in capsys.readouterr().err


def test_ranker_top_k_excludes_ids_and_matches_a_full_sort(data):
    model = PopularityRecommender().fit(data)
    ranker = Ranker(model)
    items, scores = ranker.top_k("u0", k=4, exclude=[model.item_ids[int(np.argmax(model.prior))]])
    full = np.argsort(-model.prior, kind="stable")[1:5]
    assert items == [model.item_ids[c] for c in full]
    np.testing.assert_array_equal(scores, model.prior[full])
    batch = ranker.top_k_batch(["u0", "nobody"], k=3, exclude_seen=False)
    assert [len(b[0]) for b in batch] == [3, 3]


def test_an_old_checkpoint_without_histories_needs_keep_seen(tmp_path, data, capsys):
    import torch

    PopularityRecommender().fit(data).save(tmp_path)
    checkpoint = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    for key in ("history_offsets", "history_items", "history_times"):
        del checkpoint["state_dict"][key]
    torch.save(checkpoint, tmp_path / "checkpoint.pt")  # as written before issue 4
    args = ["--checkpoint", str(tmp_path), "--users", "all", "--k", "2"]
    assert recommend_main(args) == 2
    assert "pass --keep-seen" in capsys.readouterr().err
    assert recommend_main([*args, "--keep-seen", "--out", str(tmp_path / "r.csv")]) == 0


def test_ranker_serves_sasrec_from_a_request_history_and_excludes_it():
    from recommender.sasrec import SASRecConfig, SASRecRecommender
    from tests.recommender.factories import T0, chain_interactions

    model = SASRecRecommender(SASRecConfig(dim=8, max_len=10, min_steps=60)).fit(
        chain_interactions(np.random.default_rng(0), n_users=80)
    )
    ranker = Ranker(model)
    history = [("i3", T0), ("i4", T0 + 3600), ("i5", T0 + 7200)]
    items, scores = ranker.top_k(history=history, at=T0 + 9000, k=5, exclude_seen=True)
    assert len(items) == 5 and not {"i3", "i4", "i5"} & set(items)
    assert list(scores) == sorted(scores, reverse=True)
    items, _ = ranker.top_k(history=history, at=T0 + 9000, k=5, exclude=["i6"])
    assert "i6" not in items
