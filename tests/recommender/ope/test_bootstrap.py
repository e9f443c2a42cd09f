"""The Poisson bootstrap: right counts, right widths, slates kept together, and coverage."""

import json
import math

import numpy as np
import pytest

from recommender.ope import effective_sample_size, ips, with_intervals
from recommender.ope.bootstrap import bootstrap_ratios, make_estimate, poisson_counts
from recommender.ope.synthetic import make_bandit


def test_counts_are_poisson_one():
    counts = poisson_counts(np.random.default_rng(0), (200, 5000))
    assert counts.mean() == pytest.approx(1.0, abs=0.01)
    assert counts.var() == pytest.approx(1.0, abs=0.02)
    assert (counts == 0).mean() == pytest.approx(math.exp(-1), abs=0.005)
    assert (counts == 3).mean() == pytest.approx(math.exp(-1) / 6, abs=0.002)


def test_effective_sample_size():
    assert effective_sample_size(np.ones(10)) == pytest.approx(10)
    assert effective_sample_size(np.array([1.0, 0, 0, 0])) == pytest.approx(1)
    assert effective_sample_size(np.zeros(3)) == 0.0
    # (1 + 3)^2 / (1 + 9) = 1.6
    assert effective_sample_size(np.array([1.0, 3.0])) == pytest.approx(1.6)


def _mean_estimate(values, clusters=None):
    return make_estimate(
        "mean",
        numerators=values,
        denominators=np.ones(len(values)),
        weights=None,
        unit="row",
        ess_unit="rows",
        clusters=clusters,
    )


def test_interval_of_a_mean_matches_the_normal_width():
    """For a mean of 4,000 normal draws the 95% interval is about mean +- 1.96 sd / sqrt(n)."""
    x = np.random.default_rng(1).normal(2.0, 3.0, 4000)
    (e,) = with_intervals([_mean_estimate(x)], rng=np.random.default_rng(2))
    low, high = e.ci95
    expected = 2 * 1.96 * x.std() / math.sqrt(len(x))
    assert (high - low) == pytest.approx(expected, rel=0.1)
    assert low < x.mean() < high


def test_random_groups_give_the_same_width_as_units():
    """Pooling 40,000 units into 4,096 random groups before resampling changes the width
    by a few percent at most."""
    rng = np.random.default_rng(3)
    num = rng.exponential(size=(40_000, 1))
    den = np.ones_like(num)
    exact = bootstrap_ratios(num, den, replicates=2000, rng=np.random.default_rng(4))
    grouped = bootstrap_ratios(
        num, den, replicates=2000, rng=np.random.default_rng(4), max_units=4096
    )
    assert grouped.std() == pytest.approx(exact.std(), rel=0.06)
    assert grouped.mean() == pytest.approx(num.mean(), abs=3 * exact.std() / math.sqrt(2000))


def test_slates_are_resampled_whole():
    """Rows of a slate that share their value are one observation, not ten: resampling by
    slate widens the interval by about sqrt(10) over resampling the rows."""
    rng = np.random.default_rng(5)
    per_slate = rng.normal(size=500)
    rows = np.repeat(per_slate, 10)
    clusters = np.repeat(np.arange(500), 10)
    by_row, by_slate = with_intervals(
        [_mean_estimate(rows), _mean_estimate(rows, clusters)], rng=np.random.default_rng(6)
    )
    assert by_slate.resampled == "slate"
    assert by_slate.value == pytest.approx(by_row.value)
    ratio = (by_slate.ci95[1] - by_slate.ci95[0]) / (by_row.ci95[1] - by_row.ci95[0])
    assert ratio == pytest.approx(math.sqrt(10), rel=0.15)


def test_ips_intervals_cover_the_truth_about_95_percent_of_the_time():
    """Over 200 logs, the 95% interval of IPS holds the exact value in 90-99% of them (a
    binomial(200, 0.95) lands there with probability above 0.99)."""
    problem = make_bandit(np.random.default_rng(11), n_actions=4)
    truth = problem.true_value()
    hits = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        log, target = problem.sample(500, rng)
        w = target[np.arange(len(log)), log.actions] / log.propensities
        (e,) = with_intervals([ips(rewards=log.rewards, weights=w)], replicates=400, rng=rng)
        hits += e.ci95[0] <= truth <= e.ci95[1]
    assert 180 <= hits <= 198


def test_as_dict_is_strict_json():
    """NaN and infinity have no JSON spelling: a NaN value becomes null, lambda = inf "inf"."""
    empty = make_estimate(
        "x",
        numerators=np.zeros(2),
        denominators=np.zeros(2),
        weights=None,
        unit="row",
        ess_unit="rows",
        params={"lambda": math.inf},
    )
    text = json.dumps(empty.as_dict())
    assert json.loads(text, parse_constant=pytest.fail)["estimate"] is None
    assert json.loads(text)["params"] == {"lambda": "inf"}
