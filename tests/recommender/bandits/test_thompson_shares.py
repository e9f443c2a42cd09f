"""Thompson's one-pass Monte Carlo shares equal the position-by-position masked argmaxes."""

import numpy as np
import pytest

from recommender.bandits.thompson import (
    SMALL,
    _masked_argmax_shares,
    _masked_argmax_shares_loop,
)


@pytest.mark.parametrize("seed", range(30))
def test_one_pass_shares_equal_the_loop(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40)) if seed % 3 else int(rng.integers(1, SMALL + 1))
    k = int(rng.integers(1, n + 1))
    scores = rng.standard_normal((int(rng.integers(1, 300)), n), dtype=np.float32)
    index = rng.permutation(n)[:k]
    assert np.array_equal(
        _masked_argmax_shares(scores, index), _masked_argmax_shares_loop(scores, index)
    )


@pytest.mark.parametrize("n", [7, SMALL + 4])  # both paths: every column reordered, or not
def test_ties_break_as_argmax_does(n):
    rng = np.random.default_rng(0)
    scores = np.round(rng.standard_normal((200, n))).astype(np.float32)  # many ties
    index = rng.permutation(n)[:6]
    expected, left = np.empty(6), scores.copy()
    for j, i in enumerate(index):
        expected[j] = np.mean(np.argmax(left, axis=1) == i)
        left[:, i] = -np.inf
    assert np.array_equal(_masked_argmax_shares(scores, index), expected)


@pytest.mark.parametrize("n", [7, SMALL + 4])
def test_nan_goes_through_the_loop(n):
    rng = np.random.default_rng(1)
    scores = rng.standard_normal((50, n)).astype(np.float32)
    scores[::7, 2] = np.nan
    index = rng.permutation(n)[:5]
    expected = _masked_argmax_shares_loop(scores, index)
    assert np.array_equal(_masked_argmax_shares(scores, index), expected)
    assert np.array_equal(_masked_argmax_shares(scores, index, nan=True), expected)
