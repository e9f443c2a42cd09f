import pytest

from lab.metrics import gini, mean_pairwise_jaccard, ratio


def test_gini_is_zero_for_equal_exposure_and_grows_as_it_concentrates():
    assert gini([5, 5, 5, 5], n=4) == 0
    assert gini([1], n=4) == pytest.approx(0.75)  # one title of four takes every impression
    assert gini([3, 1], n=2) == pytest.approx(0.25)  # (1/(2*4)) * (-1*1 + 1*3)
    # Titles never shown count: the same two counts spread over more titles are less equal.
    assert gini([2, 2], n=4) == pytest.approx(0.5)
    assert gini([], n=3) is None and gini([1], n=0) is None
    with pytest.raises(ValueError):
        gini([1, 1, 1], n=2)


def test_mean_pairwise_jaccard():
    a, b, c = frozenset({1, 2}), frozenset({2, 3}), frozenset({1, 2})
    assert mean_pairwise_jaccard([a, b]) == pytest.approx(1 / 3)
    assert mean_pairwise_jaccard([a, b, c]) == pytest.approx((1 / 3 + 1 + 1 / 3) / 3)
    assert mean_pairwise_jaccard([a]) is None


def test_ratio_of_nothing_is_none():
    assert ratio(1, 4) == 0.25 and ratio(3, 0) is None
