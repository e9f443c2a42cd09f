import numpy as np
import pytest

from recommender import MODELS
from recommender.base import load_model
from recommender.data import Interactions, time_split
from recommender.ease import EASEConfig, EASERecommender, gram_matrix, tune_l2
from recommender.evaluate import evaluate
from recommender.metadata import ItemMetadata
from recommender.popularity import PopularityRecommender
from tests.recommender.factories import clustered_interactions


@pytest.fixture(scope="module")
def data() -> Interactions:
    return clustered_interactions(np.random.default_rng(3), n_users=80, n_items=40, per_user=10)


def binary_matrix(model: EASERecommender, data: Interactions) -> np.ndarray:
    x = np.zeros((len(model.user_ids), len(model.item_ids)))
    for user, item in zip(data.user_ids, data.item_ids, strict=True):
        x[model.user_ids.index(user), model.item_ids.index(item)] = 1.0
    return x


def test_ease_matches_the_closed_form_solved_directly_in_numpy(data):
    model = EASERecommender(EASEConfig(l2=30.0, tune_l2=False)).fit(data)
    x = binary_matrix(model, data)
    p = np.linalg.inv(x.T @ x + 30.0 * np.eye(x.shape[1]))
    b = -p / np.diag(p)[None, :]
    np.fill_diagonal(b, 0.0)
    np.testing.assert_allclose(model.weights.numpy(), b, atol=1e-5)
    np.testing.assert_allclose(model.score(model.user_ids[:7]), x[:7] @ b, atol=1e-4)


def test_gram_counts_repeated_plays_once():
    gram = gram_matrix(np.array([0, 0, 0, 1]), np.array([0, 1, 1, 1]), 3)
    np.testing.assert_array_equal(gram, [[1, 1, 0], [1, 2, 0], [0, 0, 0]])


def test_ease_is_registered_and_beats_popularity():
    train, test = time_split(clustered_interactions(np.random.default_rng(0)))
    ease = evaluate(MODELS["ease"]().fit(train), train, test)["ndcg@10"]
    popularity = evaluate(PopularityRecommender().fit(train), train, test)["ndcg@10"]
    assert ease > popularity + 0.15, (ease, popularity)


def test_tuning_picks_the_grid_value_with_the_best_validation_ndcg(data):
    best, results = tune_l2(data, [1.0, 50.0, 5000.0])
    assert set(results) == {"l2=1", "l2=50", "l2=5000"}
    assert results[f"l2={best:g}"] == max(results.values())
    model = EASERecommender(EASEConfig(l2_grid=(1.0, 50.0, 5000.0))).fit(data)
    assert model.config.l2 == best and model.config.extra == results


def test_tuning_looks_past_the_edge_of_a_grid_that_is_too_narrow(data):
    time_cut = EASEConfig(validation="time")  # 80 members' last plays cannot tell these apart
    best, results = tune_l2(data, [0.01, 0.03], config=time_cut)  # far too little shrinkage
    assert len(results) > 2 and best > 0.03
    assert results[f"l2={best:g}"] == max(results.values())


def test_histories_personalize_unknown_members_and_use_new_plays(data):
    model = EASERecommender(EASEConfig(l2=30.0, tune_l2=False)).fit(data)
    plays = [(item, 0.0) for item in model.item_ids[:3]]
    scores = model.score(["stranger", "stranger2"], histories=[plays, []])
    x = np.zeros(len(model.item_ids))
    x[:3] = 1.0
    np.testing.assert_allclose(scores[0], x @ model.weights.numpy(), atol=1e-5)
    np.testing.assert_array_equal(scores[1], model.prior)  # empty history: the prior
    with pytest.raises(ValueError, match="histories has 1 entries for 2 user_ids"):
        model.score(["a", "b"], histories=[plays])


def test_metadata_titles_join_the_catalogue_and_extend_items_adds_zero_columns(tmp_path, data):
    items = ItemMetadata.from_records(["brand-new", "i0"], genres=["drama", "comedy"])
    model = EASERecommender(EASEConfig(l2=30.0, tune_l2=False)).fit(data, items=items)
    assert "brand-new" in model.item_ids
    col = model.item_ids.index("brand-new")
    assert np.all(model.weights[col].numpy() == 0) and model.prior[col] == 0

    added = model.extend_items(ItemMetadata.from_records(["later", "brand-new"]))
    assert added == ["later"] and model.item_ids[-1] == "later"
    assert model.score(["u0"]).shape == (1, len(model.item_ids))
    model.save(tmp_path)
    loaded = load_model(tmp_path)
    np.testing.assert_array_equal(loaded.score(["u0", "x"]), model.score(["u0", "x"]))


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="l2 must be > 0, got -1"):
        EASEConfig(l2=-1)
    with pytest.raises(ValueError, match="l2_grid"):
        EASEConfig(l2_grid=(0.0,))


def test_gram_in_small_chunks_equals_the_dense_product(monkeypatch):
    import recommender.ease

    rng = np.random.default_rng(0)
    users, items = rng.integers(300, size=5000), rng.integers(80, size=5000)
    x = np.zeros((300, 80))
    x[users, items] = 1.0
    monkeypatch.setattr(recommender.ease, "PAIR_CHUNK", 1000)
    np.testing.assert_array_equal(gram_matrix(users, items, 80), x.T @ x)


def test_lambda_is_scored_on_each_members_last_play(data):
    """The default validation is leave-last-out on the data fit is given: each candidate's
    score is the NDCG@10 of an EASE fitted on the rest, ranking every member's last play."""
    from recommender.data import leave_last_out

    best, results = tune_l2(data, [3.0, 300.0])
    inner, last = leave_last_out(data)
    for l2 in (3.0, 300.0):
        model = EASERecommender(EASEConfig(l2=l2, tune_l2=False)).fit(inner)
        assert results[f"l2={l2:g}"] == pytest.approx(evaluate(model, inner, last)["ndcg@10"])
    _, by_time = tune_l2(data, [3.0, 300.0], config=EASEConfig(validation="time"))
    assert by_time != results
    with pytest.raises(ValueError, match="validation must be 'time' or 'last'"):
        EASEConfig(validation="random")
