"""The context vectors are the documented entries, built by recommender.features."""

import numpy as np
import pytest

from recommender.bandits import contexts
from recommender.features import cyclic_time

MONDAY_NOON = 4 * 86_400 + 12 * 3_600  # 1970-01-05 12:00 UTC, a Monday


def test_member_context_entries():
    x = contexts.member_context(MONDAY_NOON, np.arange(8.0))
    assert x.shape == (contexts.MEMBER_BASE + contexts.TASTE,)
    assert x[0] == 1.0
    np.testing.assert_allclose(x[1:5], cyclic_time(MONDAY_NOON), atol=1e-6)
    assert x[2] == pytest.approx(-1.0, abs=1e-6)  # noon: cos of the day phase is -1
    assert np.linalg.norm(x[5:]) == pytest.approx(1.0)
    np.testing.assert_array_equal(contexts.member_context(MONDAY_NOON)[5:], 0.0)  # no embedding


def test_member_context_is_deterministic_and_vectorized():
    e = np.random.default_rng(0).normal(size=(3, 16))
    batch = contexts.member_context(np.full(3, MONDAY_NOON), e)
    assert batch.shape == (3, 9)
    np.testing.assert_allclose(batch[1], contexts.member_context(MONDAY_NOON, e[1]))


def test_title_features_entries():
    day = 86_400.0
    t = 1_700_000_000.0
    f = contexts.title_features(
        t,
        scores=[1.0, 2.0, 3.0],
        added_at=[t - 5 * day, t - 400 * day, np.nan],
        year=[2023, np.nan, 1900],
    )
    assert f.shape == (3, contexts.TITLE_FEATURES)
    np.testing.assert_array_equal(f[:, 0], 1.0)
    np.testing.assert_allclose(f[:, 1], [-1.2247449, 0.0, 1.2247449], atol=1e-6)
    np.testing.assert_array_equal(f[:, 2], [1.0, 0.0, 0.0])  # only the 5-day-old one is new
    assert f[0, 3] == pytest.approx(np.log1p(5) / np.log1p(3650), rel=1e-5)
    assert f[2, 3] == 1.0  # unknown time in catalogue: treated as old
    assert f[1, 4] == 0.5 and f[2, 4] == 1.0  # unknown release year; older than 50 years


def test_one_hot_refuses_out_of_range():
    np.testing.assert_array_equal(contexts.one_hot([1, 0], 2), [[0, 1], [1, 0]])
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        contexts.one_hot([3], 3)


def test_title_own_features_of_two_sets_then_each_sets_scores_are_title_features():
    """The explorer builds both slot pools' features but the score in one call, then each
    pool's standardized scores: the bits title_features gives each pool."""
    rng = np.random.default_rng(3)
    n, t = 60, 1_700_000_000.0
    scores = rng.normal(size=n)
    scores[:8] = 0.25  # a pool of equal scores: sd 0
    added = t - rng.uniform(-5, 4000, n) * 86_400.0
    added[rng.random(n) < 0.2] = np.nan
    year = rng.integers(1940, 2030, n).astype(np.float64)
    year[rng.random(n) < 0.2] = np.nan
    pools = [np.arange(8), rng.permutation(n)[:25], rng.permutation(n)[:1]]
    both = np.concatenate(pools)
    own = contexts.title_own_features(t, added_at=added[both], year=year[both])
    start = 0
    for pool in pools:
        rows = own[start : start + len(pool)]
        got = contexts.title_score_feature(rows, scores[pool])
        want = contexts.title_features(
            t, scores=scores[pool], added_at=added[pool], year=year[pool]
        )
        assert got.tobytes() == want.tobytes()
        start += len(pool)


def test_taste_of_one_member_is_the_masked_divides():
    """One member's taste skips the masked divide of the batch path: the same numbers."""
    rng = np.random.default_rng(4)
    for e in [np.zeros(64), rng.integers(0, 9, 64).astype(np.float64), rng.normal(size=16)]:
        projected = e @ contexts._projection(len(e), contexts.TASTE, 0)
        norm = np.sqrt(np.add.reduce(projected * projected, axis=-1, keepdims=True))
        want = np.divide(projected, norm, out=np.zeros_like(projected), where=norm > 0)
        assert contexts.taste(e).tobytes() == want.tobytes()
