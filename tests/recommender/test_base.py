import numpy as np
import pytest
import torch

from recommender import MODELS
from recommender.base import CheckpointError, Recommender, load_model
from recommender.data import Interactions
from recommender.ease import EASERecommender
from recommender.mf import MFConfig, MFRecommender
from recommender.popularity import PopularityRecommender
from recommender.sasrec import SASRecConfig, SASRecRecommender
from tests.recommender.factories import clustered_interactions


@pytest.fixture(scope="module")
def data() -> Interactions:
    return clustered_interactions(np.random.default_rng(1), n_users=40, n_items=30, per_user=8)


def test_registry_lists_every_model():
    assert MODELS == {
        "popularity": PopularityRecommender,
        "mf": MFRecommender,
        "ease": EASERecommender,
        "sasrec": SASRecRecommender,
    }


@pytest.mark.parametrize(
    "model",
    [
        PopularityRecommender(),
        MFRecommender(MFConfig(epochs=2, dim=8)),
        EASERecommender(),
        SASRecRecommender(SASRecConfig(dim=8, max_len=5, min_steps=3)),
    ],
    ids=lambda m: m.kind,
)
def test_save_load_round_trip_gives_identical_scores(tmp_path, data, model):
    model.fit(data)
    model.save(tmp_path / "run")
    users = ["u0", "u5", "newcomer"]

    loaded = load_model(tmp_path / "run")
    assert type(loaded) is type(model)
    assert loaded.config == model.config
    assert (loaded.user_ids, loaded.item_ids) == (model.user_ids, model.item_ids)
    np.testing.assert_array_equal(loaded.score(users), model.score(users))
    np.testing.assert_array_equal(
        type(model).load(tmp_path / "run").score(users), loaded.score(users)
    )

    checkpoint = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert set(checkpoint) == {"kind", "config", "state_dict", "user_ids", "item_ids"}
    assert checkpoint["kind"] == model.kind


def test_load_model_on_empty_directory_says_what_is_missing(tmp_path):
    with pytest.raises(CheckpointError, match=r"no model checkpoint at .*checkpoint\.pt"):
        load_model(tmp_path)


def test_load_model_rejects_corrupt_and_foreign_checkpoints(tmp_path, data):
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_model(tmp_path)

    torch.save(
        {"kind": "bert4rec", "config": {}, "state_dict": {}, "user_ids": [], "item_ids": []},
        tmp_path / "checkpoint.pt",
    )
    with pytest.raises(
        CheckpointError, match="unknown model kind 'bert4rec'; known kinds: ease, mf, pop"
    ):
        load_model(tmp_path)

    PopularityRecommender().fit(data).save(tmp_path)
    with pytest.raises(CheckpointError, match="holds a 'popularity' model, not 'mf'"):
        MFRecommender.load(tmp_path)


def test_unfitted_model_refuses_to_score_or_save(tmp_path):
    with pytest.raises(RuntimeError, match="not fitted"):
        MFRecommender().score(["u0"])
    with pytest.raises(RuntimeError, match="not fitted"):
        PopularityRecommender().save(tmp_path)


def test_load_on_the_base_class_loads_any_kind(tmp_path, data):
    PopularityRecommender().fit(data).save(tmp_path)
    assert isinstance(Recommender.load(tmp_path), PopularityRecommender)
