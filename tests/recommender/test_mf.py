from dataclasses import replace

import numpy as np
import pytest
import torch

from recommender.data import time_split
from recommender.evaluate import evaluate
from recommender.mf import MFConfig, MFRecommender
from recommender.popularity import PopularityConfig, PopularityRecommender
from tests.recommender.factories import clustered_interactions

SMALL = MFConfig(epochs=6)


@pytest.fixture(scope="module")
def split():
    return time_split(clustered_interactions(np.random.default_rng(0)))


@pytest.fixture(scope="module")
def popularity_ndcg(split):
    train, test = split
    return evaluate(PopularityRecommender().fit(train), train, test)["ndcg@10"]


@pytest.mark.parametrize(
    "config",
    [
        SMALL,
        replace(SMALL, full_softmax_max_items=50, num_negatives=30),
        replace(SMALL, full_softmax_max_items=50, num_negatives=30, negative_sampler="popularity"),
    ],
    ids=["full-softmax", "sampled-uniform", "sampled-popularity"],
)
def test_mf_clearly_beats_popularity_on_clustered_tastes(split, popularity_ndcg, config):
    train, test = split
    ndcg = evaluate(MFRecommender(config).fit(train), train, test)["ndcg@10"]
    assert ndcg > popularity_ndcg + 0.15, (ndcg, popularity_ndcg)


def test_same_seed_same_scores_other_seed_other_scores(split):
    train, _ = split
    users = train.user_ids[:20].tolist()
    first = MFRecommender(SMALL).fit(train).score(users)
    again = MFRecommender(SMALL).fit(train).score(users)
    other = MFRecommender(replace(SMALL, seed=1)).fit(train).score(users)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)
    from_rng = MFRecommender(SMALL).fit(train, rng=np.random.default_rng(5)).score(users)
    np.testing.assert_array_equal(
        from_rng, MFRecommender(SMALL).fit(train, rng=np.random.default_rng(5)).score(users)
    )


def test_fit_leaves_global_random_state_alone(split):
    train, _ = split
    before = torch.get_rng_state()
    MFRecommender(replace(SMALL, epochs=1)).fit(train)
    assert torch.equal(before, torch.get_rng_state())


def test_unknown_member_gets_the_popularity_prior(split):
    train, _ = split
    model = MFRecommender(replace(SMALL, epochs=1, prior_half_life_days=3.0)).fit(train)
    popularity = PopularityRecommender(PopularityConfig(half_life_days=3.0)).fit(train)
    assert model.item_ids == popularity.item_ids
    scores = model.score(["u0", "never-seen", "u1"])
    assert scores.shape == (3, len(model.item_ids)) and scores.dtype == np.float32
    np.testing.assert_array_equal(scores[1], popularity.score(["anyone"])[0])
    assert not np.allclose(scores[0], scores[1])
    np.testing.assert_array_equal(scores[[0, 2]], model.score(["u0", "u1"]))


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="dim"):
        MFConfig(dim=0)
    with pytest.raises(ValueError, match="negative_sampler"):
        MFConfig(negative_sampler="in-batch")
