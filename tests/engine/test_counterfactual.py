"""Counterfactual baselines against hand-derived cases, statsmodels and a
seeded synthetic suite.

Oracles:
* OLS: a 12-month line with known residuals solved by the normal equations
  with explicit sums (written out below); statsmodels ``OLS`` coefficients,
  covariance and the ``obs_ci_lower``/``obs_ci_upper`` prediction bounds of
  ``get_prediction(...).summary_frame()``.
* Logit GLM: one IRLS step derived by hand; statsmodels ``GLM`` (Binomial,
  ``scale="X2"``) coefficients and covariance.
* Effect summaries: the variance 1'(J Sigma J' + V)1 / H^2 of a three-month
  post period computed by hand, with scipy's t quantiles.
* Structural model: statsmodels' own Kalman forecast variances and its
  ``simulate(anchor="end")`` paths.
* A synthetic suite of seeded businesses: "demonstrated" at most 5% of the
  time without an effect; with a real effect demonstrated in 80% or more
  and the 95% interval covering the truth in 90-98% of runs.
"""
from __future__ import annotations

import math
import time
import zlib

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import special, stats

from cxroi_xl.engine.counterfactual import (
    Counterfactual,
    EffectSummary,
    design_matrix,
    linear_counterfactual,
    logit_irls_step,
    rate_counterfactual,
    sts_counterfactual,
    sufficiency,
)
from cxroi_xl.errors import InvalidInputError, OutOfDomainError, ZeroDenominatorError

T10 = 2.228138851986274  # t quantile 0.975 at 10 dof (scipy.stats.t.ppf(0.975, 10))


# ---- design matrix -----------------------------------------------------------------------------


def test_design_matrix_terms_by_baseline_length():
    X, names = design_matrix(12, 15, month_of_year=3)
    assert names == ["intercept", "trend"]
    np.testing.assert_array_equal(X[:, 0], 1.0)
    np.testing.assert_array_equal(X[:, 1], np.arange(15) - 5.5)  # centred on the baseline

    X, names = design_matrix(18, 20, month_of_year=12)
    assert names == ["intercept", "trend", "annual_sin", "annual_cos"]
    months = (np.arange(20) + 11) % 12 + 1  # December, January, ...
    np.testing.assert_allclose(X[:, 2], np.sin(2 * np.pi * months / 12))
    np.testing.assert_allclose(X[:, 3], np.cos(2 * np.pi * months / 12))

    X, names = design_matrix(36, 40, month_of_year=1)
    assert names == ["intercept", "trend"] + [f"month_{m}" for m in range(2, 13)]
    assert X.shape == (40, 13)
    # one dummy per month but January; rows sum to 1 or 0 across the dummies
    np.testing.assert_array_equal(X[:, 2:].sum(axis=1), (np.arange(40) % 12 != 0).astype(float))


def test_design_matrix_controls_regressors_and_short_baselines():
    controls = np.linspace(1.0, 2.0, 14)
    X, names = design_matrix(8, 14, 1, controls=controls)  # under 12 months: intercept + controls, no trend
    assert names == ["intercept", "control_1"]
    np.testing.assert_array_equal(X[:, 1], controls)
    X, names = design_matrix(12, 14, 1, controls=controls, regressors=np.arange(14.0))
    assert names == ["intercept", "trend", "regressor_1", "control_1"]
    with pytest.raises(OutOfDomainError, match="at least 12 are needed"):
        design_matrix(11, 14, 1)
    with pytest.raises(OutOfDomainError, match="residual degrees of freedom"):
        design_matrix(5, 8, 1, controls=np.ones((8, 2)) * np.arange(8)[:, None])  # p = 3, dof = 2


def test_month_of_year_array_must_be_consecutive():
    months = [11, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    X_array, _ = design_matrix(12, 14, months)
    X_first, _ = design_matrix(12, 14, 11)
    np.testing.assert_array_equal(X_array, X_first)
    with pytest.raises(InvalidInputError, match="consecutive"):
        design_matrix(12, 14, [1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3])


# ---- OLS: hand-derived case and statsmodels -----------------------------------------------------

# y_t = 200 + 3 t + e_t for t = 0..11 with residuals e (sum 0, sum e^2 = 32):
HAND_E = np.array([1, -1, 2, -2, 0, 1, -1, 3, -3, 0, 1, -1], dtype=float)
# centred time x = t - 5.5: Sx = 0, Sxx = 143, Sxe = sum(t e) = -8, so by the
# normal equations
#   intercept = Sy / 12 = 200 + 3 * 5.5 = 216.5
#   slope     = Sxy / Sxx = 3 - 8/143
#   RSS       = sum e^2 - Sxe^2 / Sxx = 32 - 64/143,  s^2 = RSS / 10
# Post months t = 12, 13, 14 (x = 6.5, 7.5, 8.5) are 10 below the old line.


def _hand_ols_case():
    t = np.arange(15.0)
    y = 200 + 3 * t
    y[:12] += HAND_E
    y[12:] -= 10
    return t, y


def test_ols_hand_derived_normal_equations():
    t, y = _hand_ols_case()
    x = t[:12] - 5.5
    n, sx, sy, sxx = 12, x.sum(), y[:12].sum(), (x * x).sum()
    sxy = (x * y[:12]).sum()
    assert sx == 0 and sxx == 143
    slope = sxy / sxx
    intercept = (sy - slope * sx) / n
    assert intercept == pytest.approx(216.5, rel=1e-14)
    assert slope == pytest.approx(3 - 8 / 143, rel=1e-14)
    rss = ((y[:12] - intercept - slope * x) ** 2).sum()
    assert rss == pytest.approx(32 - 64 / 143, rel=1e-12)
    s2 = rss / 10

    cf = linear_counterfactual(y, 12, month_of_year=1, autocorrelation="none")
    assert cf.terms == ("intercept", "trend")
    np.testing.assert_allclose(cf.beta, [intercept, slope], rtol=1e-12)
    assert cf.scale == pytest.approx(s2, rel=1e-12)
    assert cf.dof == 10
    # Sigma = s^2 (X'X)^-1 = s^2 diag(1/12, 1/143): the centred trend is orthogonal to the intercept
    np.testing.assert_allclose(cf.cov, s2 * np.diag([1 / 12, 1 / 143]), rtol=1e-12, atol=1e-15)

    # per-month prediction interval: x'b +/- t_10 sqrt(s^2 (1 + 1/12 + x^2/143))
    x_post = np.array([6.5, 7.5, 8.5])
    expected = intercept + slope * x_post
    half = T10 * np.sqrt(s2 * (1 + 1 / 12 + x_post**2 / 143))
    np.testing.assert_allclose(cf.expected[12:], expected, rtol=1e-12)
    np.testing.assert_allclose(cf.lower[12:], expected - half, rtol=1e-12)
    np.testing.assert_allclose(cf.upper[12:], expected + half, rtol=1e-12)

    # Effect, H = 3: d_t = (8/143) x_t - 10, so the average is (8/143) 7.5 - 10. With
    # J = X_post, 1'J Sigma J'1 / H^2 = s^2 (1/12 + xbar^2/143) and 1'V1 / H^2 = s^2 / 3.
    average = 8 / 143 * 7.5 - 10
    variance = s2 * (1 / 12 + 7.5**2 / 143) + s2 / 3
    e = cf.effect
    assert e.average == pytest.approx(average, rel=1e-12)
    assert e.cumulative == pytest.approx(3 * average, rel=1e-12)
    assert e.relative == pytest.approx(average / expected.mean(), rel=1e-12)
    assert e.std_error == pytest.approx(math.sqrt(variance), rel=1e-12)
    assert e.lower == pytest.approx(average - T10 * math.sqrt(variance), rel=1e-12)
    assert e.upper == pytest.approx(average + T10 * math.sqrt(variance), rel=1e-12)
    assert e.p_value == pytest.approx(stats.t.cdf(average / math.sqrt(variance), 10), rel=1e-10)
    assert e.verdict == "demonstrated" and e.horizon == 3
    # never the average of the monthly bounds (those ignore the shared coefficients twice over)
    assert e.upper != pytest.approx(np.mean(y[12:] - cf.lower[12:]), rel=1e-3)

    # the same case where a rise is good: the fall is adverse, p-value the other tail
    up = linear_counterfactual(y, 12, month_of_year=1, good="up", autocorrelation="none").effect
    assert up.verdict == "adverse"
    assert up.p_value == pytest.approx(1 - e.p_value, rel=1e-10)


@pytest.mark.parametrize("n_baseline", [12, 20, 40])
def test_ols_matches_statsmodels(n_baseline):
    rng = np.random.default_rng(n_baseline)
    n_total = n_baseline + 9
    contacts = rng.normal(4000, 300, n_total)
    hours = 50 + 0.25 * contacts + 1.5 * np.arange(n_total) + rng.normal(0, 20, n_total)
    cf = linear_counterfactual(hours, n_baseline, month_of_year=5, regressors=contacts, autocorrelation="none")
    X, names = design_matrix(n_baseline, n_total, 5, regressors=contacts)
    assert cf.terms == tuple(names)
    fit = sm.OLS(hours[:n_baseline], X[:n_baseline]).fit()
    frame = fit.get_prediction(X[n_baseline:]).summary_frame(alpha=0.05)  # has obs_ci_* (0.15: no obs= flag)
    # tolerance: both are exact least squares on the same matrix; 1e-8 relative
    # leaves room for the different factorisations (SVD here, QR/pinv there)
    np.testing.assert_allclose(cf.beta, fit.params, rtol=1e-8)
    np.testing.assert_allclose(cf.cov, fit.cov_params(), rtol=1e-8)
    assert cf.scale == pytest.approx(fit.scale, rel=1e-8)
    np.testing.assert_allclose(cf.expected[n_baseline:], frame["mean"], rtol=1e-8)
    np.testing.assert_allclose(cf.lower[n_baseline:], frame["obs_ci_lower"], rtol=1e-8)
    np.testing.assert_allclose(cf.upper[n_baseline:], frame["obs_ci_upper"], rtol=1e-8)


# ---- logit GLM: a hand IRLS step and statsmodels --------------------------------------------------


def test_one_irls_step_by_hand():
    # four months, 100 customers each, x centred; start from the pooled rate 40/400
    X = np.array([[1, -1.5], [1, -0.5], [1, 0.5], [1, 1.5]])
    events = np.array([5.0, 8.0, 12.0, 15.0])
    exposure = np.full(4, 100.0)
    beta0 = np.array([special.logit(0.1), 0.0])
    # by hand: mu = 0.1 everywhere, W = 100 * 0.1 * 0.9 = 9, z = eta + (y - 10)/9.
    # X'WX = 9 diag(4, 5) (x is centred), X'Wz = 9 (4 logit(0.1) + 0, sum x (y-10)/9), and
    # sum x (y - 10) = 7.5 + 1 + 1 + 7.5 = 17, so beta1 = (logit(0.1), 17/45).
    hand = np.array([special.logit(0.1), 17 / 45])
    # the same with explicit numpy
    eta = X @ beta0
    mu = special.expit(eta)
    w = exposure * mu * (1 - mu)
    z = eta + (events - exposure * mu) / w
    explicit = np.linalg.solve(X.T @ (w[:, None] * X), X.T @ (w * z))
    np.testing.assert_allclose(explicit, hand, rtol=1e-13)
    np.testing.assert_allclose(logit_irls_step(X, events, exposure, beta0), hand, rtol=1e-12)

    # iterating the step converges to statsmodels' maximum likelihood (tolerance 1e-8:
    # both run Newton to machine precision)
    beta = beta0
    for _ in range(30):
        beta = logit_irls_step(X, events, exposure, beta)
    glm = sm.GLM(np.column_stack([events, exposure - events]), X, family=sm.families.Binomial()).fit(tol=1e-14)
    np.testing.assert_allclose(beta, glm.params, rtol=1e-8)


def _quasi_binomial(events, exposure, X):
    """statsmodels' quasi-binomial GLM: proportions with var_weights = exposure and the
    Pearson scale. (With a (successes, failures) endog, statsmodels 0.15's scale="X2"
    divides by the trials once more, so that form is used for coefficients only.)"""
    model = sm.GLM(events / exposure, X, family=sm.families.Binomial(), var_weights=exposure)
    return model.fit(scale="X2", tol=1e-14)


def _overdispersed_counts(rng, n_total, exposure, rate):
    """Beta-binomial counts with variance 2 x binomial."""
    s = exposure - 2.0
    return rng.binomial(exposure.astype(np.int64), rng.beta(rate * s, (1 - rate) * s)).astype(float)


@pytest.mark.parametrize("n_baseline, with_controls", [(12, False), (24, False), (40, False), (24, True)])
def test_rate_fit_matches_statsmodels_glm(n_baseline, with_controls):
    rng = np.random.default_rng(100 + n_baseline)
    n_total = n_baseline + 6
    t = np.arange(n_total)
    exposure = np.round(3000 * (1 + 0.003 * t))
    rate = 0.03 - 0.0002 * t + 0.003 * np.sin(2 * np.pi * t / 12)
    events = _overdispersed_counts(rng, n_total, exposure, rate)
    controls = rate + rng.normal(0, 0.001, n_total) if with_controls else None
    cf = rate_counterfactual(events, exposure, n_baseline, 7, controls=controls, autocorrelation="none")
    X, names = design_matrix(n_baseline, n_total, 7, controls=controls)
    assert cf.terms == tuple(names)
    b = slice(0, n_baseline)
    glm = _quasi_binomial(events[b], exposure[b], X[b])
    assert glm.scale > 1.0  # the floor at 1 does not bind, so the two must agree
    # tolerance 1e-6 relative (the brief's): IRLS here and there stop at slightly different points
    np.testing.assert_allclose(cf.beta, glm.params, rtol=1e-6)
    np.testing.assert_allclose(cf.cov, glm.cov_params(), rtol=1e-6)
    assert cf.scale == pytest.approx(glm.scale, rel=1e-6)
    np.testing.assert_allclose(cf.expected, special.expit(X @ glm.params), rtol=1e-6)
    np.testing.assert_allclose(cf.actual, events / exposure)
    # the (successes, failures) form fits the same coefficients
    counts = sm.GLM(np.column_stack([events[b], exposure[b] - events[b]]), X[b], family=sm.families.Binomial())
    np.testing.assert_allclose(cf.beta, counts.fit(tol=1e-14).params, rtol=1e-6)


def test_rate_dispersion_is_floored_at_one():
    # perfectly binomial-looking (underdispersed) months: Pearson X^2/(n-p) < 1
    events = np.array([30, 31, 30, 29, 30, 31, 30, 29, 30, 31, 30, 30, 20, 21], dtype=float)
    exposure = np.full(14, 1000.0)
    cf = rate_counterfactual(events, exposure, 12, 1, autocorrelation="none")
    X, _ = design_matrix(12, 14, 1)
    glm = _quasi_binomial(events[:12], exposure[:12], X[:12])
    assert glm.scale < 1.0
    assert cf.scale == 1.0
    np.testing.assert_allclose(cf.cov, glm.cov_params() / glm.scale, rtol=1e-6)  # phi = 1: binomial covariance


def test_rate_effect_by_hand_three_post_months():
    rng = np.random.default_rng(7)
    n_total = 15
    exposure = np.array([4000.0] * 12 + [3900.0, 3950.0, 4100.0])
    events = _overdispersed_counts(rng, n_total, exposure, np.full(n_total, 0.03))
    events[12:] = [80.0, 82.0, 79.0]  # about 2% after go-live
    cf = rate_counterfactual(events, exposure, 12, 1, autocorrelation="none")
    X, _ = design_matrix(12, 15, 1)
    glm = _quasi_binomial(events[:12], exposure[:12], X[:12])
    beta, sigma, phi = glm.params, glm.cov_params(), max(glm.scale, 1.0)
    sigma = sigma / glm.scale * phi
    # by hand, H = 3, on the rate scale
    x_post = X[12:]
    mu = special.expit(x_post @ beta)
    jac = (mu * (1 - mu))[:, None] * x_post  # d expit(x'b) / db
    v = np.diag(phi * mu * (1 - mu) / exposure[12:])
    ones = np.ones(3)
    variance = ones @ (jac @ sigma @ jac.T + v) @ ones / 9
    average = np.mean(events[12:] / exposure[12:] - mu)
    q = T10
    e = cf.effect
    assert e.average == pytest.approx(average, rel=1e-6)
    assert e.std_error == pytest.approx(math.sqrt(variance), rel=1e-6)
    assert e.lower == pytest.approx(average - q * math.sqrt(variance), rel=1e-6)
    assert e.upper == pytest.approx(average + q * math.sqrt(variance), rel=1e-6)
    assert e.p_value == pytest.approx(stats.t.cdf(average / math.sqrt(variance), 10), rel=1e-5)
    assert e.verdict == "demonstrated"
    # per month: expit(x'b) +/- t sqrt(J_t Sigma J_t' + V_tt)
    half = q * np.sqrt(np.einsum("ij,jk,ik->i", jac, sigma, jac) + np.diag(v))
    np.testing.assert_allclose(cf.lower[12:], mu - half, rtol=1e-6)
    np.testing.assert_allclose(cf.upper[12:], mu + half, rtol=1e-6)


# ---- draws --------------------------------------------------------------------------------------


def _effect_draw_checks(cf: Counterfactual, n: int = 200_000):
    draws = cf.draws(n, rng=12345)
    assert draws.shape == (n, cf.horizon)
    avg = cf.effect_draws(n, rng=12345)
    np.testing.assert_allclose(avg, np.mean(cf.actual[cf.n_baseline:] - draws, axis=1))
    # coefficients and noise share one chi-square per path: the average effect is
    # Student-t with scale std_error, variance std_error^2 dof/(dof-2)
    nu = cf.dof
    target = cf.effect.std_error**2 * (nu / (nu - 2) if math.isfinite(nu) else 1.0)
    assert np.var(avg) == pytest.approx(target, rel=0.03)
    assert np.mean(avg) == pytest.approx(cf.effect.average, abs=0.02 * cf.effect.std_error)
    lo, hi = np.quantile(avg, [0.025, 0.975])
    width = cf.effect.upper - cf.effect.lower
    assert lo == pytest.approx(cf.effect.lower, abs=0.02 * width)
    assert hi == pytest.approx(cf.effect.upper, abs=0.02 * width)
    # monthly spread: the per-month prediction intervals
    lo_m, hi_m = np.quantile(draws, [0.025, 0.975], axis=0)
    widths = cf.upper[cf.n_baseline:] - cf.lower[cf.n_baseline:]
    np.testing.assert_allclose(lo_m, cf.lower[cf.n_baseline:], atol=0.03 * widths.max())
    np.testing.assert_allclose(hi_m, cf.upper[cf.n_baseline:], atol=0.03 * widths.max())


def test_draws_reproduce_the_linear_interval_with_autocorrelation():
    rng = np.random.default_rng(11)
    n_total = 30
    noise = np.empty(n_total)
    noise[0] = rng.normal(0, 20)
    for i in range(1, n_total):  # AR(1), so the cross-covariance C is not zero
        noise[i] = 0.6 * noise[i - 1] + rng.normal(0, 16)
    contacts = rng.normal(4000, 200, n_total)
    hours = 0.25 * contacts + noise
    cf = linear_counterfactual(hours, 18, 4, regressors=contacts)
    assert cf.rho > 0.1
    _effect_draw_checks(cf)


def test_draws_reproduce_the_rate_interval():
    rng = np.random.default_rng(12)
    n_total = 24
    exposure = np.full(n_total, 5000.0)
    events = _overdispersed_counts(rng, n_total, exposure, np.full(n_total, 0.03))
    cf = rate_counterfactual(events, exposure, 18, 1)
    _effect_draw_checks(cf)


def test_not_estimable_result_is_nan_not_an_error():
    cf = linear_counterfactual(np.arange(15.0), 10, 1)
    assert not cf.estimable and cf.reason == "10 baseline months: at least 12 are needed (or a control series)"
    assert cf.effect.verdict == "not estimable"
    assert np.isnan(cf.expected).all() and np.isnan(cf.effect.average) and np.isnan(cf.effect.p_value)
    np.testing.assert_array_equal(cf.actual, np.arange(15.0))
    assert cf.draws(5).shape == (5, 5) and np.isnan(cf.draws(5)).all()
    assert np.isnan(cf.effect_draws(3)).all()


# ---- structural time series ------------------------------------------------------------------


def _sts_series():
    rng = np.random.default_rng(21)
    t = np.arange(48)
    y = 1000 + 2 * t + 30 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 10, 48)
    y[36:] -= 80
    return y


def test_sts_needs_three_years():
    cf = sts_counterfactual(np.arange(40.0), 35, 1)
    assert not cf.estimable and "at least 36 baseline months" in cf.reason


def test_sts_matches_statsmodels_forecast_and_simulation():
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    y = _sts_series()
    cf = sts_counterfactual(y, 36, 1, good="down")
    assert cf.estimable and cf.dof == math.inf
    res = UnobservedComponents(y[:36], level="local linear trend",
                               freq_seasonal=[{"period": 12, "harmonics": 1}]).fit(disp=False, maxiter=1000)
    fc = res.get_forecast(12)
    np.testing.assert_allclose(cf.expected[36:], fc.predicted_mean, rtol=1e-10)
    half = 1.959963984540054 * np.sqrt(fc.var_pred_mean)
    np.testing.assert_allclose(cf.upper[36:] - cf.expected[36:], half, rtol=1e-10)
    assert cf.scale == pytest.approx(res.params[0], rel=1e-10)
    # the average effect's variance uses the joint forecast covariance: check it against
    # statsmodels' own simulation from the end of the sample (Monte Carlo, a few %)
    sims = np.asarray(res.simulate(12, anchor="end", repetitions=40_000, rng=np.random.default_rng(3))).reshape(12, -1)
    assert np.var(sims.mean(axis=0)) == pytest.approx(cf.effect.std_error**2, rel=0.04)
    # and it is larger than the sum of the monthly variances would say (errors persist)
    assert cf.effect.std_error**2 > np.sum(fc.var_pred_mean) / 144
    assert cf.effect.verdict == "demonstrated"
    _effect_draw_checks(cf, n=100_000)


# ---- sufficiency -------------------------------------------------------------------------------


def test_sufficiency_rule():
    s = sufficiency(11, 12, has_controls=False)
    assert (s.estimable, s.projectable, s.model) == (False, True, "none")
    assert sufficiency(12, 5, False).model == "level and trend" and not sufficiency(12, 5, False).projectable
    assert sufficiency(18, 6, False).model == "level, trend and an annual season"
    assert sufficiency(36, 6, True).model == "level, trend and month-of-year effects with controls"
    assert sufficiency(6, 6, True).estimable and sufficiency(6, 6, 3).estimable is False
    assert s.rule.startswith("Effects are estimated from a baseline of at least 12 months")
    assert "when fewer than 6 months are tracked" in s.rule


# ---- junk ----------------------------------------------------------------------------------------

GOOD_EVENTS = [30.0] * 14
GOOD_EXPOSURE = [1000.0] * 14


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"events": [-1.0] + GOOD_EVENTS[1:]}, InvalidInputError, "events must not be negative"),
        ({"exposure": [-5.0] + GOOD_EXPOSURE[1:]}, InvalidInputError, "exposure must not be negative"),
        ({"events": [2000.0] + GOOD_EVENTS[1:]}, InvalidInputError, "more events"),
        ({"events": [np.nan] + GOOD_EVENTS[1:]}, InvalidInputError, "missing or non-finite value in month 1"),
        ({"events": [None] + GOOD_EVENTS[1:]}, InvalidInputError, "missing"),
        ({"events": ["x"] + GOOD_EVENTS[1:]}, InvalidInputError, "must be numbers"),
        ({"events": GOOD_EVENTS[:-1]}, InvalidInputError, "differ in length"),
        ({"exposure": [0.0] + GOOD_EXPOSURE[1:]}, ZeroDenominatorError, "zero exposure"),
        ({"exposure": GOOD_EXPOSURE[:-1] + [0.0]}, ZeroDenominatorError, "month 14 has zero exposure"),
        ({"n_baseline": 14}, InvalidInputError, "no post months"),
        ({"n_baseline": 20}, InvalidInputError, "no post months"),
        ({"n_baseline": -1}, InvalidInputError, "must not be negative"),
        ({"n_baseline": 12.5}, InvalidInputError, "whole number"),
        ({"month_of_year": 13}, InvalidInputError, "calendar month 1..12, got 13"),
        ({"month_of_year": [0] + list(range(1, 13)) + [1]}, InvalidInputError, "calendar months 1..12"),
        ({"month_of_year": [1, 2, 3]}, InvalidInputError, "one month per value"),
        ({"controls": np.ones((13, 1))}, InvalidInputError, "one row per month"),
        ({"controls": [np.nan] + [1.0] * 13}, InvalidInputError, "controls has a missing"),
        ({"good": "higher"}, InvalidInputError, 'good must be "down"'),
        ({"confidence": 1.5}, OutOfDomainError, "strictly between 0 and 1"),
        ({"autocorrelation": "ar2"}, InvalidInputError, "autocorrelation must be"),
    ],
)
def test_rate_guards(kwargs, error, message):
    args = {"events": GOOD_EVENTS, "exposure": GOOD_EXPOSURE, "n_baseline": 12, "month_of_year": 1}
    args.update(kwargs)
    with pytest.raises(error, match=message):
        rate_counterfactual(**args)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"y": [1.0, np.inf] + [1.0] * 12}, InvalidInputError, "non-finite value in month 2"),
        ({"y": [[1.0] * 14]}, InvalidInputError, "single series"),
        ({"y": []}, InvalidInputError, "no months"),
        ({"regressors": np.ones(10)}, InvalidInputError, "regressors needs one row per month"),
        ({"n_baseline": 14}, InvalidInputError, "no post months"),
        ({"n_baseline": True}, InvalidInputError, "whole number"),
        ({"confidence": 0}, OutOfDomainError, "strictly between 0 and 1"),
    ],
)
def test_linear_guards(kwargs, error, message):
    args = {"y": list(np.arange(14.0) + np.resize([1.0, -1.0], 14)), "n_baseline": 12, "month_of_year": 1}
    args.update(kwargs)
    with pytest.raises(error, match=message):
        linear_counterfactual(**args)


def test_irls_step_guards():
    X = np.array([[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]])  # second column = 2 x intercept
    with pytest.raises(OutOfDomainError, match="collinear"):
        logit_irls_step(X, [1, 2, 3], [10, 10, 10], [0.0, 0.0])
    with pytest.raises(OutOfDomainError, match="zero weight"):
        logit_irls_step(np.ones((2, 1)), [1, 2], [0, 10], [0.0])


def test_named_controls_keep_their_names():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(8)
    frame = pd.DataFrame({"region_b_churn": rng.normal(0.03, 0.002, 16)})
    exposure = np.full(16, 3000.0)
    events = _overdispersed_counts(rng, 16, exposure, np.full(16, 0.03))
    cf = rate_counterfactual(events, exposure, 12, 1, controls=frame)
    assert cf.terms == ("intercept", "trend", "region_b_churn")


def test_sts_guards():
    with pytest.raises(InvalidInputError, match="season"):
        sts_counterfactual(np.arange(48.0), 36, 1, season="weekly")
    with pytest.raises(InvalidInputError, match="no post months"):
        sts_counterfactual(np.arange(48.0), 48, 1)


def test_not_estimable_reasons():
    zero = rate_counterfactual([0.0] * 12 + [1.0, 2.0], GOOD_EXPOSURE, 12, 1)
    assert not zero.estimable and zero.reason == "no events in the baseline months"
    assert zero.effect.verdict == "not estimable"
    everyone = rate_counterfactual(GOOD_EXPOSURE[:12] + [5.0, 5.0], GOOD_EXPOSURE, 12, 1)
    assert not everyone.estimable and "every unit had the event" in everyone.reason
    short = rate_counterfactual(GOOD_EVENTS, GOOD_EXPOSURE, 0, 1)
    assert not short.estimable and short.reason == "no baseline months before go-live"
    few_dof = linear_counterfactual(np.arange(20.0) ** 1.5, 12, 1, controls=np.random.default_rng(0).normal(size=(20, 8)))
    assert not few_dof.estimable and "residual degrees of freedom" in few_dof.reason
    constant = linear_counterfactual(np.arange(14.0) + np.resize([1.0, -1.0], 14), 12, 1, regressors=np.ones(14))
    assert not constant.estimable and "collinear" in constant.reason
    exact = linear_counterfactual(np.arange(14.0), 12, 1)
    assert not exact.estimable and "exactly" in exact.reason
    # with a control series a short baseline is estimable: intercept + control, no trend
    rng = np.random.default_rng(5)
    control = rng.normal(100, 5, 14)
    cf = linear_counterfactual(2 * control + rng.normal(0, 1, 14), 8, 1, controls=control)
    assert cf.estimable and cf.terms == ("intercept", "control_1") and cf.dof == 6


def test_results_are_dataclasses_with_rows():
    t, y = _hand_ols_case()
    cf = linear_counterfactual(y, 12, 1, autocorrelation="none")
    assert isinstance(cf.effect, EffectSummary)
    labels = [label for label, _ in cf.rows()]
    assert labels[:3] == ["Average effect", "Cumulative effect", "Relative effect"]
    assert cf.n_total == 15 and cf.horizon == 3
    np.testing.assert_allclose(cf.monthly_effect, y[12:] - cf.expected[12:])


# ---- seeded synthetic suite ---------------------------------------------------------------------
#
# Businesses are drawn per scenario and baseline length (12, 24, 36 months), each
# followed by 12 post months; the calendar month of the first month is random.
# Churn and win rates are beta-binomial with variance 2 x binomial. Without an
# effect at most 5% may be "demonstrated"; with a real effect at least 80% must
# be, and the 95% interval must cover the true average effect in 90-98% of runs.
#
# Measured with N_BUSINESSES = 600, SUITE_SEED = 20240601 (pytest -s prints the
# table; see the report for the numbers).

N_BUSINESSES = 600
SUITE_SEED = 20240601
POST = 12
BASELINES = (12, 24, 36)
HOURS_SD = 20.0  # agent hours' monthly noise around 0.25 h per contact x 4,000 contacts


def _beta_binomial(rng, exposure, rate):
    s = exposure - 2.0  # Beta(p s, (1-p) s): Var = n p (1-p) (1 + (n-1)/(s+1)) = 2 n p (1-p)
    return rng.binomial(exposure.astype(np.int64), rng.beta(rate * s, (1 - rate) * s)).astype(float)


def _churn_trend(rng, nb):  # churn already falling 0.24 points a year, a few thousand customers
    t = np.arange(nb + POST)
    exposure = np.round(rng.integers(2000, 5001) * (1 + 0.002 * t))
    rate = rng.uniform(0.028, 0.034) - 0.0024 / 12 * t
    return "rate", {"events": _beta_binomial(rng, exposure, rate), "exposure": exposure}, "down", 0.0


def _churn_noise(rng, nb):  # flat churn, pure noise
    exposure = np.full(nb + POST, float(rng.integers(2000, 5001)))
    rate = np.full(nb + POST, rng.uniform(0.025, 0.035))
    return "rate", {"events": _beta_binomial(rng, exposure, rate), "exposure": exposure}, "down", 0.0


def _win_rate_trend(rng, nb):  # win rate rising 2 points a year on ~600 leads a month
    t = np.arange(nb + POST)
    leads = rng.poisson(600, nb + POST).astype(float)
    rate = rng.uniform(0.18, 0.22) + 0.02 / 12 * t
    return "rate", {"events": _beta_binomial(rng, leads, rate), "exposure": leads}, "up", 0.0


def _hours_trend(rng, nb):  # hours falling 0.5% a month, flat contacts
    t = np.arange(nb + POST)
    contacts = rng.poisson(4000, nb + POST).astype(float)
    hours = 0.25 * contacts * 0.995**t + rng.normal(0, HOURS_SD, nb + POST)
    return "linear", {"y": hours, "regressors": contacts}, "down", 0.0


def _contacts_growth(rng, nb):  # contacts growing 2% a month, hours tied to them
    t = np.arange(nb + POST)
    contacts = 3000 * 1.02**t * (1 + rng.normal(0, 0.03, nb + POST))
    hours = 0.25 * contacts + rng.normal(0, HOURS_SD, nb + POST)
    return "linear", {"y": hours, "regressors": contacts}, "down", 0.0


def _seasonal_contacts(rng, nb):  # +/-15% annual season in contacts, hours follow
    t = np.arange(nb + POST)
    season = 1 + 0.15 * np.sin(2 * np.pi * t / 12 + rng.uniform(0, 2 * np.pi))
    contacts = 4000 * season * (1 + rng.normal(0, 0.03, nb + POST))
    hours = 0.25 * contacts + rng.normal(0, HOURS_SD, nb + POST)
    return "linear", {"y": hours, "regressors": contacts}, "down", 0.0


def _ar1_hours(rng, nb, rho=0.5):  # hours = 0.25 contacts + stationary AR(1) noise
    n = nb + POST
    contacts = rng.poisson(4000, n).astype(float)
    noise = np.empty(n)
    noise[0] = rng.normal(0, HOURS_SD)
    shocks = rng.normal(0, HOURS_SD * math.sqrt(1 - rho**2), n)
    for i in range(1, n):
        noise[i] = rho * noise[i - 1] + shocks[i]
    return "linear", {"y": 0.25 * contacts + noise, "regressors": contacts}, "down", 0.0


def _hours_noise(rng, nb):  # flat hours, pure noise, no regressor
    return "linear", {"y": 1000 + rng.normal(0, HOURS_SD, nb + POST), "regressors": None}, "down", 0.0


def _churn_effect(rng, nb):  # 3% -> 2% at go-live on 20,000 customers
    exposure = np.full(nb + POST, 20000.0)
    rate = np.full(nb + POST, 0.03)
    rate[nb:] = 0.02
    return "rate", {"events": _beta_binomial(rng, exposure, rate), "exposure": exposure}, "down", -0.01


def _hours_effect(rng, nb):  # agent hours -25% from go-live
    n = nb + POST
    contacts = rng.poisson(4000, n).astype(float)
    without = 0.25 * contacts
    hours = without.copy()
    hours[nb:] *= 0.75
    truth = float(np.mean(hours[nb:] - without[nb:]))
    return "linear", {"y": hours + rng.normal(0, HOURS_SD, n), "regressors": contacts}, "down", truth


NULL_SCENARIOS = {
    "churn trending down": _churn_trend,
    "churn pure noise": _churn_noise,
    "win rate trending up": _win_rate_trend,
    "hours falling, flat contacts": _hours_trend,
    "contacts growing": _contacts_growth,
    "seasonal contacts": _seasonal_contacts,
    "hours AR(1) rho 0.5": _ar1_hours,
    "hours pure noise": _hours_noise,
}
EFFECT_SCENARIOS = {"churn 3% -> 2%": _churn_effect, "hours -25%": _hours_effect}


def _run_scenario(name, generate, nb):
    rng = np.random.default_rng([SUITE_SEED, nb, zlib.crc32(name.encode())])
    demonstrated = covered = 0
    for _ in range(N_BUSINESSES):
        kind, data, good, truth = generate(rng, nb)
        first_month = int(rng.integers(1, 13))
        if kind == "rate":
            cf = rate_counterfactual(data["events"], data["exposure"], nb, first_month, good=good)
        else:
            cf = linear_counterfactual(data["y"], nb, first_month, regressors=data["regressors"], good=good)
        demonstrated += cf.effect.verdict == "demonstrated"
        covered += cf.effect.lower <= truth <= cf.effect.upper
    return demonstrated / N_BUSINESSES, covered / N_BUSINESSES


@pytest.fixture(scope="module")
def suite():
    start = time.perf_counter()
    rates = {}
    for name, generate in {**NULL_SCENARIOS, **EFFECT_SCENARIOS}.items():
        for nb in BASELINES:
            rates[name, nb] = _run_scenario(name, generate, nb)
    elapsed = time.perf_counter() - start
    print(f"\nsynthetic suite: {N_BUSINESSES} businesses per cell, {elapsed:.1f} s")
    print(f"{'scenario':30s} {'baseline':>8s} {'demonstrated':>13s} {'coverage':>9s}")
    for (name, nb), (demonstrated, covered) in rates.items():
        print(f"{name:30s} {nb:8d} {demonstrated:13.3f} {covered:9.3f}")
    return rates


@pytest.mark.parametrize("nb", BASELINES)
@pytest.mark.parametrize("name", list(NULL_SCENARIOS))
def test_no_effect_is_rarely_demonstrated(suite, name, nb):
    demonstrated, _ = suite[name, nb]
    assert demonstrated <= 0.05


@pytest.mark.parametrize("nb", BASELINES)
@pytest.mark.parametrize("name", list(EFFECT_SCENARIOS))
def test_real_effect_is_demonstrated_and_covered(suite, name, nb):
    demonstrated, covered = suite[name, nb]
    assert demonstrated >= 0.80
    assert 0.90 <= covered <= 0.98
