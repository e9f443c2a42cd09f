"""The statistics of an online experiment: intervals, differences, CUPED, SRM, sequential tests.

Every function takes per-unit values, one number per member (e.g. a member's streaming
minutes per day over the days they were in the experiment): the member is the unit of
randomization (:mod:`recommender.abtest.assignment`), so members are the independent draws
and a member's many plays or visits are never counted as independent observations.

Fixed-horizon (:func:`compare`): Welch's difference of means with a normal interval. It is
valid when looked at once, at a sample size fixed in advance.

CUPED (Deng, Xu, Kohavi, Walker 2013, "Improving the sensitivity of online controlled
experiments by utilizing pre-experiment data", WSDM): much of the variance of a member's
minutes is who the member is (a heavy watcher stays one), and that part is visible before
the experiment starts. With x = the member's pre-period minutes (unaffected by the arm,
because it was measured before assignment mattered), compare ``y - theta (x - mean x)``
instead of y. Its mean is unchanged in expectation (E[x] is the same in both arms by
randomization, so the difference of means is still unbiased), and its variance
``var(y) - 2 theta cov(y, x) + theta^2 var(x)`` is smallest at ``theta = cov(y, x) / var(x)``,
where it is ``var(y) (1 - rho^2)``: a covariate with correlation rho removes a share rho^2 of
the variance, i.e. the same power with ``1 - rho^2`` of the members. theta is estimated here
from the within-arm covariance pooled over both arms (each arm centred on its own means), so
a treatment effect on y cannot leak into theta.

Sample ratio mismatch (:func:`srm_check`; Fabijan et al. 2019, "Diagnosing sample ratio
mismatch in online controlled experiments", KDD): if the arms' member counts differ from the
configured shares by more than chance, the assignment or the logging is broken (a redirect
that drops members, a bot filter that hits one arm) and every metric comparison is suspect.
A chi-square goodness-of-fit test with a strict threshold (p < 0.001) flags it.

Sequential (:func:`sequential_compare`): looking at a fixed-horizon p-value every day and
stopping at the first p < 0.05 inflates the false-positive rate far above 5% (14 daily looks
reach about 20% here, docs/experiments.md; the p-value performs a random walk and crosses any
fixed line eventually). The mixture sequential probability ratio test (mSPRT; Robbins 1970;
Johari, Koomen, Pekelis, Walsh 2017, "Peeking at A/B tests: why it matters, and what to do
about it", KDD) replaces it with an *always-valid* p-value: with d the estimated difference
and V its variance, the likelihood ratio of "difference ~ N(0, tau^2)" against "no
difference", integrated over that normal mixture, is

    Lambda_n = sqrt(V / (V + tau^2)) * exp(tau^2 d^2 / (2 V (V + tau^2)))

Under no difference, Lambda_n is a nonnegative martingale with mean 1, so by Ville's
inequality P(Lambda_n ever reaches 1/alpha) <= alpha, and ``p_n = min over looks of
1 / Lambda`` satisfies P(p_n ever < alpha) <= alpha however often it is looked at. The set
of differences delta not rejected (d replaced by d - delta) is an always-valid confidence
sequence (Howard, Ramdas, McAuliffe, Sekhon 2021, "Time-uniform, nonparametric,
nonasymptotic confidence sequences", Annals of Statistics): it covers the true difference
at every look simultaneously with probability >= 1 - alpha, so it may be read every day.
The price is a wider interval than the fixed-horizon one at any single look. V is estimated
from the data (as Johari et al. do); the guarantee is then asymptotic, and docs/experiments.md
checks it by A/A simulation over many seeds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

DEFAULT_TAU_SD = 0.1
"""Default mixture scale tau of :func:`sequential_compare`, in units of the per-member sd.

tau is the prior standard deviation of the true difference: the mSPRT is most powerful for
effects around tau at the sample size where they become detectable. Changes that ship move
streaming minutes by a few percent, and minutes per member have a coefficient of variation
near 1-2, so effects are a few hundredths to a tenth of a standard deviation; 0.1 sd sits at
the upper end, which costs little power on small effects and detects large (harmful) ones
sooner. The power figure of docs/experiments.md uses it. Pass ``tau`` to set it yourself
(fixed before the experiment, e.g. from pre-period data, for strict validity).
"""


class AbtestDataError(ValueError):
    """Values that cannot be analysed (too few, not finite, mismatched); the message says which."""


@dataclass(frozen=True)
class Estimate:
    """A mean with its normal confidence interval."""

    mean: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class Comparison:
    """Fixed-horizon difference ``treatment - control`` with its interval and p-value."""

    control: Estimate
    """The control arm's mean (CUPED-adjusted when ``cuped``)."""
    treatment: Estimate
    """The treatment arm's mean (CUPED-adjusted when ``cuped``)."""
    diff: float
    """treatment mean - control mean."""
    low: float
    high: float
    p_value: float
    """Two-sided p-value of "no difference"; valid for one look at a fixed horizon."""
    relative: float
    """diff / control mean (nan when the control mean is 0)."""
    cuped: bool
    theta: float | None
    """The CUPED coefficient cov(y, x) / var(x), or None without a covariate."""


@dataclass(frozen=True)
class SRM:
    """Sample-ratio-mismatch check: chi-square statistic, its p-value, and the verdict."""

    chi2: float
    p_value: float
    mismatch: bool


@dataclass(frozen=True)
class Sequential:
    """An always-valid look at ``treatment - control`` (mSPRT); see the module docstring."""

    diff: float
    low: float
    """Lower end of the always-valid confidence sequence at this look."""
    high: float
    p_value: float
    """min(previous_p, this look's always-valid p): never increases from look to look."""
    n: int
    """Members in both arms at this look."""
    control_mean: float = math.nan
    """The control arm's mean (CUPED-adjusted when ``cuped``): the base of relative margins."""
    treatment_mean: float = math.nan
    tau: float = math.nan
    """The mixture scale used, in the units of the values."""
    cuped: bool = False
    theta: float | None = None


# ---------------------------------------------------------------------------------------------
# distributions (stdlib only)


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal, via erfc (accurate far into the tail)."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def normal_quantile(q: float) -> float:
    """The standard normal quantile, e.g. ``normal_quantile(0.975) = 1.95996...``."""
    return NormalDist().inv_cdf(q)


def _gamma_prefactor(a: float, x: float) -> float:
    return math.exp(-x + a * math.log(x) - math.lgamma(a))


def regularized_upper_gamma(a: float, x: float) -> float:
    """Q(a, x) = Gamma(a, x) / Gamma(a), the regularized upper incomplete gamma function.

    The series of the lower function P for x < a + 1 (it converges fast there, and Q = 1 - P
    loses nothing because P is not close to 1), else the continued fraction of Q evaluated by
    the modified Lentz method (Numerical Recipes, 6.2), which keeps tail values such as
    Q = 1e-30 to full relative precision.
    """
    if not a > 0:
        raise AbtestDataError(f"incomplete gamma: shape a must be > 0, got {a!r}")
    if math.isnan(x) or x < 0:
        raise AbtestDataError(f"incomplete gamma: x must be >= 0, got {x!r}")
    if x == 0:
        return 1.0
    if math.isinf(x):
        return 0.0
    eps, tiny = 1e-15, 1e-300
    if x < a + 1:
        term = total = 1.0 / a
        ap = a
        for _ in range(10_000):
            ap += 1
            term *= x / ap
            total += term
            if abs(term) < abs(total) * eps:
                break
        return max(0.0, 1.0 - total * _gamma_prefactor(a, x))
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < eps:
            break
    return h * _gamma_prefactor(a, x)


def chi2_sf(x: float, df: int) -> float:
    """P(chi-square with ``df`` degrees of freedom > x) = Q(df / 2, x / 2)."""
    if isinstance(df, bool) or not isinstance(df, int | np.integer) or df < 1:
        raise AbtestDataError(f"chi-square: degrees of freedom must be an integer >= 1, got {df!r}")
    return regularized_upper_gamma(df / 2.0, x / 2.0)


# ---------------------------------------------------------------------------------------------
# inputs


def _check_alpha(alpha: float) -> None:
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not (0 < alpha < 1):
        raise AbtestDataError(f"alpha must be in (0, 1), got {alpha!r}")


def _values(name: str, values: object) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise AbtestDataError(f"{name}: not numbers ({error})") from error
    if array.ndim != 1:
        raise AbtestDataError(f"{name}: expected one value per member, got shape {array.shape}")
    if len(array) < 2:
        raise AbtestDataError(f"{name}: needs at least 2 members for a variance, got {len(array)}")
    bad = np.flatnonzero(~np.isfinite(array))
    if len(bad):
        raise AbtestDataError(f"{name}: value {array[bad[0]]!r} at index {bad[0]} is not finite")
    return array


def _arms(
    control: object, treatment: object, control_pre: object, treatment_pre: object
) -> tuple[np.ndarray, np.ndarray, float | None]:
    """The values to compare (CUPED-adjusted when both covariates are given) and theta."""
    y_c, y_t = _values("control", control), _values("treatment", treatment)
    if control_pre is None and treatment_pre is None:
        return y_c, y_t, None
    if control_pre is None or treatment_pre is None:
        given = "control_pre" if control_pre is not None else "treatment_pre"
        raise AbtestDataError(f"CUPED needs both control_pre and treatment_pre; only {given} given")
    x_c, x_t = _values("control_pre", control_pre), _values("treatment_pre", treatment_pre)
    for arm, y, x in (("control", y_c, x_c), ("treatment", y_t, x_t)):
        if len(x) != len(y):
            raise AbtestDataError(
                f"{arm}_pre has {len(x)} values for {len(y)} {arm} members; need one per member"
            )
    theta = cuped_theta(y_c, y_t, x_c, x_t)
    x_mean = float(np.concatenate([x_c, x_t]).mean())
    return y_c - theta * (x_c - x_mean), y_t - theta * (x_t - x_mean), theta


def cuped_theta(
    y_control: np.ndarray, y_treatment: np.ndarray, x_control: np.ndarray, x_treatment: np.ndarray
) -> float:
    """theta = pooled within-arm cov(y, x) / pooled within-arm var(x); 0 if x is constant.

    Centring each arm on its own means keeps a treatment effect on y out of theta.
    """
    dx_c, dx_t = x_control - x_control.mean(), x_treatment - x_treatment.mean()
    sxx = float(dx_c @ dx_c + dx_t @ dx_t)
    if sxx == 0:
        return 0.0
    sxy = float(dx_c @ (y_control - y_control.mean()) + dx_t @ (y_treatment - y_treatment.mean()))
    return sxy / sxx


# ---------------------------------------------------------------------------------------------
# fixed horizon


def mean_ci(values: object, alpha: float = 0.05) -> Estimate:
    """The mean of per-member values with a normal ``1 - alpha`` interval, mean +- z sd / sqrt(n).

    sd is the sample standard deviation (n - 1). At the hundreds of members an arm has by its
    first readout the central limit theorem makes the normal interval accurate, even for
    heavy-tailed minutes.
    """
    _check_alpha(alpha)
    array = _values("values", values)
    return _estimate(array, alpha)


def _estimate(array: np.ndarray, alpha: float) -> Estimate:
    mean = float(array.mean())
    half = normal_quantile(1 - alpha / 2) * float(array.std(ddof=1)) / math.sqrt(len(array))
    return Estimate(mean=mean, low=mean - half, high=mean + half, n=len(array))


def _diff_and_variance(y_c: np.ndarray, y_t: np.ndarray) -> tuple[float, float]:
    """Welch: d = mean_t - mean_c, V = var_t / n_t + var_c / n_c (unequal variances)."""
    diff = float(y_t.mean() - y_c.mean())
    variance = float(y_t.var(ddof=1) / len(y_t) + y_c.var(ddof=1) / len(y_c))
    return diff, variance


def compare(
    control: object,
    treatment: object,
    *,
    alpha: float = 0.05,
    control_pre: object = None,
    treatment_pre: object = None,
) -> Comparison:
    """Fixed-horizon Welch difference ``treatment - control`` with a normal interval.

    With both ``control_pre`` and ``treatment_pre`` (each member's pre-experiment value, in
    the same order as the values), the arms are CUPED-adjusted first (module docstring).
    Valid for one look at a sample size fixed in advance; for daily looks use
    :func:`sequential_compare`.
    """
    _check_alpha(alpha)
    y_c, y_t, theta = _arms(control, treatment, control_pre, treatment_pre)
    diff, variance = _diff_and_variance(y_c, y_t)
    se = math.sqrt(variance)
    half = normal_quantile(1 - alpha / 2) * se
    if se > 0:
        p_value = min(1.0, 2 * normal_sf(abs(diff) / se))
    else:
        p_value = 1.0 if diff == 0 else 0.0
    control_estimate = _estimate(y_c, alpha)
    return Comparison(
        control=control_estimate,
        treatment=_estimate(y_t, alpha),
        diff=diff,
        low=diff - half,
        high=diff + half,
        p_value=p_value,
        relative=diff / control_estimate.mean if control_estimate.mean != 0 else math.nan,
        cuped=theta is not None,
        theta=theta,
    )


# ---------------------------------------------------------------------------------------------
# sample ratio mismatch


def srm_check(counts: Sequence[int], shares: Sequence[float], threshold: float = 0.001) -> SRM:
    """Chi-square goodness of fit of the arms' member counts to their configured shares.

    Shares are renormalised to sum to 1 (an experiment over 40% of traffic split 20/20
    expects 50/50 among its members). ``mismatch`` is ``p_value < threshold``; the strict
    default 0.001 is Fabijan et al.'s, because the check runs on every readout and a false
    alarm stops a healthy experiment. A count in an arm of share 0 is a mismatch outright.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise AbtestDataError(f"threshold must be a number in (0, 1), got {threshold!r}")
    if not 0 < threshold < 1:
        raise AbtestDataError(f"threshold must be in (0, 1), got {threshold!r}")
    counts, shares = list(counts), list(shares)
    if len(counts) != len(shares):
        raise AbtestDataError(f"{len(counts)} counts for {len(shares)} shares; need one per arm")
    if len(counts) < 2:
        raise AbtestDataError(f"a sample-ratio check needs at least 2 arms, got {len(counts)}")
    for count in counts:
        if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 0:
            raise AbtestDataError(f"count {count!r} is not a non-negative integer")
    for share in shares:
        if isinstance(share, bool) or not isinstance(share, int | float | np.floating):
            raise AbtestDataError(f"share {share!r} is not a number")
        if not math.isfinite(share) or share < 0:
            raise AbtestDataError(f"share {share!r} is not a finite number >= 0")
    total_share = math.fsum(shares)
    if total_share <= 0:
        raise AbtestDataError(f"shares {shares!r} sum to 0")
    total = sum(int(c) for c in counts)
    if total == 0:
        return SRM(chi2=0.0, p_value=1.0, mismatch=False)
    chi2, cells = 0.0, 0
    for count, share in zip(counts, shares, strict=True):
        expected = total * share / total_share
        if expected == 0:
            if count > 0:
                return SRM(chi2=math.inf, p_value=0.0, mismatch=True)
            continue
        chi2 += (int(count) - expected) ** 2 / expected
        cells += 1
    p_value = chi2_sf(chi2, cells - 1) if cells > 1 else 1.0
    return SRM(chi2=chi2, p_value=p_value, mismatch=p_value < threshold)


# ---------------------------------------------------------------------------------------------
# sequential (always valid)


def msprt_log_lambda(diff: float, variance: float, tau: float) -> float:
    """log Lambda of the normal-mixture SPRT for an estimated difference with variance V."""
    v, t2 = variance, tau * tau
    return 0.5 * math.log(v / (v + t2)) + t2 * diff * diff / (2 * v * (v + t2))


def msprt_radius(variance: float, tau: float, alpha: float) -> float:
    """Half-width of the always-valid interval: the |d - delta| at which Lambda = 1 / alpha."""
    v, t2 = variance, tau * tau
    return math.sqrt(2 * v * (v + t2) / t2 * (math.log(1 / alpha) + 0.5 * math.log((v + t2) / v)))


def sequential_compare(
    control: object,
    treatment: object,
    *,
    alpha: float = 0.05,
    tau: float | None = None,
    previous_p: float = 1.0,
    control_pre: object = None,
    treatment_pre: object = None,
    previous_low: float = -math.inf,
    previous_high: float = math.inf,
    tau_sd: float | None = None,
) -> Sequential:
    """An always-valid look at ``treatment - control``: mSPRT p-value and confidence sequence.

    Call it at every look with all the data so far (one value per member) and the previous
    look's ``p_value`` (and, to keep the running intersection of the confidence sequence,
    its ``low`` and ``high``): ``p_value = min(previous_p, 1 / Lambda_n)``, so the p-value
    never rises and "reject once p < alpha" holds its level under daily peeking. ``tau``
    (the mixture's prior sd of the difference, in the values' units) defaults to ``tau_sd``
    (default :data:`DEFAULT_TAU_SD`) times the pooled per-member sd of this look (of the
    CUPED-adjusted values with CUPED); give one of the two. CUPED applies as in
    :func:`compare`. If the running intersection would be empty (the sequence contradicts
    itself, possible only on the rare runs where it fails), this look's interval is returned.
    """
    _check_alpha(alpha)
    if isinstance(previous_p, bool) or not isinstance(previous_p, int | float):
        raise AbtestDataError(f"previous_p must be a number in [0, 1], got {previous_p!r}")
    if not 0 <= previous_p <= 1:
        raise AbtestDataError(f"previous_p must be in [0, 1], got {previous_p!r}")
    try:
        previous_low, previous_high = float(previous_low), float(previous_high)
    except (TypeError, ValueError):
        raise AbtestDataError(
            f"previous interval [{previous_low!r}, {previous_high!r}] is not two numbers"
        ) from None
    if math.isnan(previous_low) or math.isnan(previous_high) or previous_low > previous_high:
        raise AbtestDataError(
            f"previous interval [{previous_low!r}, {previous_high!r}] is not an interval"
        )
    y_c, y_t, theta = _arms(control, treatment, control_pre, treatment_pre)
    diff, variance = _diff_and_variance(y_c, y_t)
    if tau is not None and tau_sd is not None:
        raise AbtestDataError(f"give tau ({tau!r}) or tau_sd ({tau_sd!r}), not both")
    if tau_sd is not None and (
        isinstance(tau_sd, bool) or not isinstance(tau_sd, int | float) or not 0 < tau_sd < math.inf
    ):
        raise AbtestDataError(f"tau_sd must be a finite number > 0, got {tau_sd!r}")
    if tau is None:
        scale = DEFAULT_TAU_SD if tau_sd is None else tau_sd
        tau = scale * math.sqrt((y_c.var(ddof=1) + y_t.var(ddof=1)) / 2)
    elif isinstance(tau, bool) or not isinstance(tau, int | float) or not (0 < tau < math.inf):
        raise AbtestDataError(f"tau must be a finite number > 0, got {tau!r}")
    if variance > 0 and tau > 0:
        p_look = min(1.0, math.exp(-msprt_log_lambda(diff, variance, tau)))
        radius = msprt_radius(variance, tau, alpha)
    else:  # every member has the same value: the difference is known exactly
        p_look = 1.0 if diff == 0 else 0.0
        radius = 0.0
    low, high = max(diff - radius, previous_low), min(diff + radius, previous_high)
    if low > high:
        low, high = diff - radius, diff + radius
    return Sequential(
        diff=diff,
        low=low,
        high=high,
        p_value=min(previous_p, p_look),
        n=len(y_c) + len(y_t),
        control_mean=float(y_c.mean()),
        treatment_mean=float(y_t.mean()),
        tau=float(tau),
        cuped=theta is not None,
        theta=theta,
    )
