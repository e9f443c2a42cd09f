"""The statistics against hand-computed numbers and table values: normal intervals, Welch
differences, CUPED, the chi-square tail behind the sample-ratio check, the mSPRT look."""

import math

import numpy as np
import pytest

from recommender.abtest.stats import (
    AbtestDataError,
    chi2_sf,
    compare,
    mean_ci,
    regularized_upper_gamma,
    sequential_compare,
    srm_check,
)

Z975 = 1.959963984540054

# Upper-tail critical values of the chi-square distribution as printed in statistics tables
# (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.4): (x, df, upper-tail probability).
CHI2_TABLE = [
    (3.841, 1, 0.05),
    (6.635, 1, 0.01),
    (10.828, 1, 0.001),
    (5.991, 2, 0.05),
    (13.816, 2, 0.001),
    (7.815, 3, 0.05),
    (11.070, 5, 0.05),
    (15.086, 5, 0.01),
    (18.307, 10, 0.05),
    (23.209, 10, 0.01),
    (3.940, 10, 0.95),
    (43.773, 30, 0.05),
    (124.342, 100, 0.05),
]


@pytest.mark.parametrize(("x", "df", "p"), CHI2_TABLE)
def test_chi2_sf_matches_table_values(x, df, p):
    assert chi2_sf(x, df) == pytest.approx(p, rel=2e-3)


@pytest.mark.parametrize("x", [0.01, 0.5, 1.0, 2.0, 7.0, 30.0, 200.0])
def test_chi2_sf_matches_closed_forms_in_both_regimes(x):
    assert chi2_sf(x, 2) == pytest.approx(math.exp(-x / 2), rel=1e-12)
    assert chi2_sf(x, 1) == pytest.approx(math.erfc(math.sqrt(x / 2)), rel=1e-10)
    # df = 4: Q(2, x/2) = exp(-x/2) (1 + x/2)
    assert chi2_sf(x, 4) == pytest.approx(math.exp(-x / 2) * (1 + x / 2), rel=1e-12)


def test_incomplete_gamma_edges():
    assert regularized_upper_gamma(3.0, 0.0) == 1.0
    assert regularized_upper_gamma(3.0, math.inf) == 0.0
    with pytest.raises(AbtestDataError, match="-1"):
        regularized_upper_gamma(1.0, -1.0)
    with pytest.raises(AbtestDataError, match="1.5"):
        chi2_sf(1.0, 1.5)


def test_mean_ci_by_hand():
    estimate = mean_ci([1, 2, 3, 4, 5])
    half = Z975 * math.sqrt(2.5) / math.sqrt(5)  # sample variance 10 / 4
    assert estimate.mean == 3.0 and estimate.n == 5
    assert estimate.low == pytest.approx(3 - half) and estimate.high == pytest.approx(3 + half)
    wider = mean_ci([1, 2, 3, 4, 5], alpha=0.01)
    assert wider.high - wider.low > estimate.high - estimate.low


def test_compare_by_hand():
    result = compare([1, 2, 3, 4], [2, 4, 6, 8])
    # means 2.5 and 5; sample variances 5/3 and 20/3; V = (20/3)/4 + (5/3)/4 = 25/12
    se = math.sqrt(25 / 12)
    assert result.diff == 2.5
    assert result.low == pytest.approx(2.5 - Z975 * se)
    assert result.high == pytest.approx(2.5 + Z975 * se)
    # z = 2.5 / se = sqrt(3), two-sided p = erfc(sqrt(3) / sqrt(2))
    assert result.p_value == pytest.approx(math.erfc(math.sqrt(1.5)))
    assert result.relative == pytest.approx(1.0)
    assert (result.control.mean, result.treatment.mean) == (2.5, 5.0)
    assert result.cuped is False and result.theta is None


def test_cuped_theta_and_adjusted_means_by_hand():
    y_c, x_c = [2, 4, 6, 8], [1, 2, 3, 4]
    y_t, x_t = [3, 5, 7, 10], [1, 2, 3, 5]
    result = compare(y_c, y_t, control_pre=x_c, treatment_pre=x_t)
    # within-arm sums: control sxy = 10, sxx = 5; treatment sxy = 15.25, sxx = 8.75
    theta = (10 + 15.25) / (5 + 8.75)
    x_mean = (10 + 11) / 8  # 2.625, both arms together
    assert result.cuped is True
    assert result.theta == pytest.approx(theta)
    assert result.control.mean == pytest.approx(5 - theta * (2.5 - x_mean))
    assert result.treatment.mean == pytest.approx(6.25 - theta * (2.75 - x_mean))
    assert result.diff == pytest.approx(1.25 - theta * 0.25)
    adjusted_c = np.array(y_c) - theta * (np.array(x_c) - x_mean)
    adjusted_t = np.array(y_t) - theta * (np.array(x_t) - x_mean)
    se = math.sqrt(adjusted_c.var(ddof=1) / 4 + adjusted_t.var(ddof=1) / 4)
    assert result.high - result.diff == pytest.approx(Z975 * se)


def correlated_arms(rng, n, rho, effect=0.0):
    x = rng.normal(10, 2, size=(2, n))
    y = 10 + rho * (x - 10) + math.sqrt(1 - rho**2) * rng.normal(0, 2, size=(2, n))
    y[1] += effect
    return y, x


def test_cuped_reduces_variance_as_one_minus_rho_squared():
    y, x = correlated_arms(np.random.default_rng(3), 4000, rho=0.8)
    plain = compare(y[0], y[1])
    cuped = compare(y[0], y[1], control_pre=x[0], treatment_pre=x[1])
    ratio = (cuped.high - cuped.low) / (plain.high - plain.low)
    assert ratio == pytest.approx(math.sqrt(1 - 0.8**2), abs=0.03)
    assert cuped.theta == pytest.approx(0.8, abs=0.03)


def test_cuped_keeps_the_effect_unbiased():
    rng = np.random.default_rng(4)
    diffs = []
    for _ in range(200):
        y, x = correlated_arms(rng, 500, rho=0.7, effect=0.3)
        diffs.append(compare(y[0], y[1], control_pre=x[0], treatment_pre=x[1]).diff)
    assert np.mean(diffs) == pytest.approx(0.3, abs=0.02)


def test_srm_trips_on_an_injected_imbalance():
    # 10,000 vs 10,600 at 50/50: chi2 = 2 * 300^2 / 10,300 = 17.48, p = 2.9e-5
    srm = srm_check([10_000, 10_600], [0.5, 0.5])
    assert srm.chi2 == pytest.approx(2 * 300**2 / 10_300)
    assert srm.p_value == pytest.approx(math.erfc(math.sqrt(srm.chi2 / 2)))
    assert srm.mismatch is True
    # 10,000 vs 10,400: chi2 = 7.84, p = 0.0051, a mismatch at 0.01 but not at the strict 0.001
    milder = srm_check([10_000, 10_400], [0.5, 0.5])
    assert milder.p_value == pytest.approx(0.0051, abs=1e-4)
    assert milder.mismatch is False
    assert srm_check([10_000, 10_400], [0.5, 0.5], threshold=0.01).mismatch is True


def test_srm_false_alarms_at_the_threshold_rate_on_balanced_draws():
    rng = np.random.default_rng(5)
    results = []
    for _ in range(2000):
        control = int(rng.binomial(20_400, 0.5))
        results.append(srm_check([control, 20_400 - control], [0.5, 0.5]))
    assert srm_check([10_200, 10_200], [0.5, 0.5]).mismatch is False
    assert sum(r.mismatch for r in results) <= 8  # 2 expected at 0.001
    # the p-values are uniform under balance: 5% of them below 0.05 (binomial sd 0.5%)
    assert abs(np.mean([r.p_value < 0.05 for r in results]) - 0.05) < 0.015


def test_srm_renormalises_shares_and_flags_a_member_in_a_zero_share_arm():
    assert srm_check([2000, 2000, 6000], [0.1, 0.1, 0.3]).mismatch is False
    assert srm_check([100, 100, 1], [0.5, 0.5, 0]).mismatch is True
    assert srm_check([100, 100, 0], [0.5, 0.5, 0]).p_value == 1.0
    assert srm_check([0, 0], [0.5, 0.5]).mismatch is False


@pytest.mark.parametrize(
    ("counts", "shares", "message"),
    [
        ([1, 2], [0.5], "2 counts for 1 shares"),
        ([1], [1.0], "at least 2 arms"),
        ([1, -2], [0.5, 0.5], "-2"),
        ([1, 2.5], [0.5, 0.5], "2.5"),
        ([1, 2], [0.5, -0.5], "-0.5"),
        ([1, 2], [0, 0], "sum to 0"),
    ],
)
def test_srm_bad_input_names_the_value(counts, shares, message):
    with pytest.raises(AbtestDataError) as error:
        srm_check(counts, shares)
    assert message in str(error.value)


def test_bad_values_name_the_problem():
    with pytest.raises(AbtestDataError, match="at least 2"):
        mean_ci([1.0])
    with pytest.raises(AbtestDataError, match="index 1"):
        compare([1, float("nan"), 2], [1, 2])
    with pytest.raises(AbtestDataError, match="only control_pre"):
        compare([1, 2], [1, 2], control_pre=[1, 2])
    with pytest.raises(AbtestDataError, match="treatment_pre has 3 values for 2"):
        compare([1, 2], [1, 2], control_pre=[1, 2], treatment_pre=[1, 2, 3])
    with pytest.raises(AbtestDataError, match="alpha"):
        compare([1, 2], [1, 2], alpha=1.5)
    with pytest.raises(AbtestDataError, match="tau"):
        sequential_compare([1, 2], [1, 2], tau=-1.0)
    with pytest.raises(AbtestDataError, match="previous_p must be in"):
        sequential_compare([1, 2], [1, 2], previous_p=1.5)
    with pytest.raises(AbtestDataError, match=r"\[2.0, 1.0\] is not an interval"):
        sequential_compare([1, 2], [1, 2], previous_low=2.0, previous_high=1.0)
    with pytest.raises(AbtestDataError, match="not two numbers"):
        sequential_compare([1, 2], [1, 2], previous_low="low")


def test_sequential_look_by_hand():
    control, treatment = [1, 2, 3, 4], [2, 4, 6, 8]
    v, tau, d = 25 / 12, 1.0, 2.5
    result = sequential_compare(control, treatment, tau=tau)
    lam = math.sqrt(v / (v + tau**2)) * math.exp(tau**2 * d**2 / (2 * v * (v + tau**2)))
    assert result.p_value == pytest.approx(min(1.0, 1 / lam))
    radius = math.sqrt(2 * v * (v + 1) * (math.log(20) + 0.5 * math.log((v + 1) / v)))
    assert (result.low, result.high) == pytest.approx((d - radius, d + radius))
    assert result.n == 8 and result.tau == 1.0
    # the always-valid interval is wider than the fixed-horizon one at the same look
    fixed = compare(control, treatment)
    assert result.low < fixed.low and result.high > fixed.high


def test_sequential_p_never_rises_and_the_interval_is_a_running_intersection():
    result = sequential_compare([1, 2, 3, 4], [2, 4, 6, 8], tau=1.0, previous_p=0.01)
    assert result.p_value == 0.01
    narrowed = sequential_compare(
        [1, 2, 3, 4], [2, 4, 6, 8], tau=1.0, previous_low=0.0, previous_high=3.0
    )
    assert (narrowed.low, narrowed.high) == (0.0, 3.0)


def test_sequential_rejects_exactly_when_zero_leaves_the_interval():
    rng = np.random.default_rng(6)
    for effect in np.linspace(0, 0.3, 16):
        y, _ = correlated_arms(rng, 800, rho=0.0, effect=effect)
        result = sequential_compare(y[0], y[1])
        assert (result.p_value < 0.05) == (not result.low <= 0 <= result.high)


def test_default_tau_is_a_tenth_of_the_pooled_sd():
    y, x = correlated_arms(np.random.default_rng(7), 1000, rho=0.9)
    plain = sequential_compare(y[0], y[1])
    assert plain.tau == pytest.approx(0.1 * math.sqrt((y[0].var(ddof=1) + y[1].var(ddof=1)) / 2))
    cuped = sequential_compare(y[0], y[1], control_pre=x[0], treatment_pre=x[1])
    assert cuped.cuped and cuped.tau < plain.tau
    assert cuped.high - cuped.low < 0.6 * (plain.high - plain.low)
    assert sequential_compare(y[0], y[1], tau_sd=0.2).tau == pytest.approx(2 * plain.tau)
    with pytest.raises(AbtestDataError, match="not both"):
        sequential_compare(y[0], y[1], tau=1.0, tau_sd=0.2)
    with pytest.raises(AbtestDataError, match="tau_sd must be a finite number > 0, got 0"):
        sequential_compare(y[0], y[1], tau_sd=0)
