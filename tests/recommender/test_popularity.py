import numpy as np
import pytest

from recommender.data import Interactions
from recommender.popularity import PopularityConfig, PopularityRecommender
from tests.recommender.factories import DAY, T0


def test_recent_plays_outrank_older_equally_many_plays():
    data = Interactions.from_records(
        ["a", "b", "c", "a", "b", "c"],
        ["old", "old", "old", "new", "new", "new"],
        [T0, T0, T0, T0 + 30 * DAY, T0 + 30 * DAY, T0 + 30 * DAY],
    )
    model = PopularityRecommender().fit(data)
    scores = model.score(["a", "stranger"])
    assert model.item_ids == ["new", "old"]
    assert scores.shape == (2, 2) and scores.dtype == np.float32
    assert scores[0, 0] > scores[0, 1]
    np.testing.assert_array_equal(scores[0], scores[1])


def test_score_is_weight_halved_every_half_life():
    data = Interactions.from_records(
        ["a", "b", "c"], ["x", "y", "y"], [T0 + 14 * DAY, T0, T0 + 14 * DAY], [2.0, 4.0, 1.0]
    )
    model = PopularityRecommender(PopularityConfig(half_life_days=7.0)).fit(data)
    # x: 2 now; y: 4 two half-lives ago + 1 now
    np.testing.assert_allclose(model.score(["a"])[0], [2.0, 4.0 / 4 + 1.0])


def test_config_rejects_non_positive_half_life():
    with pytest.raises(ValueError, match="half_life_days"):
        PopularityConfig(half_life_days=0)
