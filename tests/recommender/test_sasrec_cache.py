"""The KV cache serves the same scores as a full forward pass, one play at a time."""

from dataclasses import replace

import numpy as np
import pytest

from recommender.sasrec import SASRecConfig, SASRecRecommender
from recommender.sasrec_cache import HistoryCache
from tests.recommender.factories import DAY, T0, chain_interactions

TINY = SASRecConfig(
    dim=16, max_len=20, min_steps=20, refit=False, validation_members=0, position_from="start"
)


@pytest.mark.parametrize("settings", [{}, {"merge_repeats": True, "use_device": True}])
def test_kv_cached_scores_equal_recomputed_scores(settings):
    """A member plays on (repeats and devices included); after each play the cached scores
    equal a full recomputation to 1e-5, and the cache was reused, not rebuilt, until the
    history outgrew the window (then it recomputes, still equal)."""
    model = SASRecRecommender(replace(TINY, **settings)).fit(
        chain_interactions(np.random.default_rng(0), n_users=40)
    )
    cache = HistoryCache(model)
    rng = np.random.default_rng(1)
    history = []
    t = T0 + 30 * DAY
    for step in range(26):
        title = f"i{step // 2 if step % 3 == 0 else step}"  # some consecutive repeats
        history.append((title, t, ["tv", "phone"][step % 2], float(rng.uniform(0.1, 1))))
        at, device = t + 3600.0 * (step + 1), ["tv", "phone", None][step % 3]
        cached = cache.scores(history, at=at, device=device)
        full = model.score(["x"], histories=[history], at=at, devices=device)[0]
        np.testing.assert_allclose(cached, full, atol=1e-5, rtol=0)
        t += DAY
    tokens = len(model.tokens(model._sequence(plays=history))[0])
    assert cache.recomputed == max(0, tokens - TINY.max_len)  # only the sliding calls


def test_a_changed_past_is_recomputed_and_a_default_model_is_refused():
    model = SASRecRecommender(TINY).fit(chain_interactions(np.random.default_rng(0), n_users=40))
    cache = HistoryCache(model)
    history = [(f"i{k}", T0 + k * DAY) for k in range(5)]
    cache.scores(history)
    other = [("i9", T0), *history[1:]]
    np.testing.assert_allclose(
        cache.scores(other), model.score(["x"], histories=[other])[0], atol=1e-5, rtol=0
    )
    assert cache.recomputed == 1
    end = SASRecRecommender(replace(TINY, position_from="end", min_steps=1))
    end.fit(chain_interactions(np.random.default_rng(0), n_users=10))
    with pytest.raises(ValueError, match="position_from='start'"):
        HistoryCache(end)
