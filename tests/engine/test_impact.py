"""Before/after uplift and difference-in-differences against reference
packages and hand-derived cases.

Oracles:
* Uplift: scipy's Welch t-test (``ttest_ind(equal_var=False)``: statistic,
  p-value, confidence interval).
* DiD estimate and standard error: statsmodels OLS ``y ~ treated * after``
  with HC2 standard errors (the interaction coefficient); its normal-based
  interval for large groups.
* DiD degrees of freedom, interval and p-value: a hand-derived case written
  out below, with scipy's t quantiles.
Every function is also called through xlwings' dispatcher, as Excel calls it.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from cxroi_xl.engine import impact
from cxroi_xl.errors import InvalidInputError, OutOfDomainError, ZeroDenominatorError
from tests.excel_dispatch import excel_error

UPLIFT_LABELS = ["Metric", "Baseline mean", "Post mean", "Change", "Change %", "CI lower", "CI upper", "p-value", "N baseline", "N post"]
DID_LABELS = ["Metric", "Estimate", "Std error", "CI lower", "CI upper", "p-value"]

# Hand-derived DiD case (groups of different sizes and spreads):
#   TB 10, 12, 14      mean 12,   s^2 = 8/2 = 4,     v = s^2/n = 4/3
#   TA 15, 17, 19, 21  mean 18,   s^2 = 20/3,        v = 5/3
#   CB 10, 11          mean 10.5, s^2 = 0.5,         v = 1/4
#   CA 11, 13, 12, 14  mean 12.5, s^2 = 5/3,         v = 5/12
#   estimate = (18 - 12) - (12.5 - 10.5) = 4
#   SE^2 = 4/3 + 5/3 + 1/4 + 5/12 = 11/3
#   df = (11/3)^2 / ((4/3)^2/2 + (5/3)^2/3 + (1/4)^2/1 + (5/12)^2/3) = 6.9474...
HAND_GROUPS = ([10, 12, 14], [15, 17, 19, 21], [10, 11], [11, 13, 12, 14])
HAND_ESTIMATE = 4.0
HAND_SE = math.sqrt(11 / 3)
HAND_DF = (11 / 3) ** 2 / ((4 / 3) ** 2 / 2 + (5 / 3) ** 2 / 3 + (1 / 4) ** 2 / 1 + (5 / 12) ** 2 / 3)


def _samples(seed: int, sizes, means, sds):
    rng = np.random.default_rng(seed)
    return [rng.normal(m, s, size=n) for n, m, s in zip(sizes, means, sds)]


def _hc2_did(groups):
    """statsmodels' DiD: the treated x after coefficient with HC2 errors."""
    frames = [
        pd.DataFrame({"y": y, "treated": treated, "after": after})
        for y, (treated, after) in zip(groups, [(1, 0), (1, 1), (0, 0), (0, 1)])
    ]
    return smf.ols("y ~ treated * after", data=pd.concat(frames, ignore_index=True)).fit(cov_type="HC2")


# ---- uplift ----------------------------------------------------------------


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_uplift_is_welchs_t_test(confidence):
    baseline, post = _samples(11, (40, 65), (7.1, 7.8), (1.2, 2.3))
    result = impact.uplift(baseline, post, confidence)
    welch = stats.ttest_ind(post, baseline, equal_var=False)
    interval = welch.confidence_interval(confidence)
    assert result.change == pytest.approx(post.mean() - baseline.mean(), rel=1e-12)
    assert result.p_value == pytest.approx(welch.pvalue, rel=1e-9)
    assert result.ci_lower == pytest.approx(interval.low, rel=1e-10)
    assert result.ci_upper == pytest.approx(interval.high, rel=1e-10)
    assert (result.n_baseline, result.n_post) == (40, 65)


def test_uplift_hand_derived():
    # means 4 and 6, both variances 1: change 2, +50 %, SE = sqrt(2/3), df = 4
    result = impact.uplift([3, 4, 5], [5, 6, 7])
    half_width = stats.t.ppf(0.975, 4) * math.sqrt(2 / 3)
    assert (result.baseline_mean, result.post_mean, result.change) == (4.0, 6.0, 2.0)
    assert result.change_pct == pytest.approx(0.5, abs=1e-15)
    assert (result.ci_lower, result.ci_upper) == pytest.approx((2 - half_width, 2 + half_width), rel=1e-12)
    assert result.p_value == pytest.approx(2 * stats.t.sf(2 / math.sqrt(2 / 3), 4), rel=1e-12)


def test_uplift_ignores_missing_values():
    with_gaps = impact.uplift(pd.Series([3, None, 4, 5]), [5, 6, float("nan"), 7])
    assert with_gaps == impact.uplift([3, 4, 5], [5, 6, 7])


def test_uplift_undefined_figures_are_none():
    flat = impact.uplift([0, 0], [1, 1])  # zero baseline, no spread anywhere
    assert (flat.change, flat.change_pct, flat.ci_lower, flat.ci_upper, flat.p_value) == (1.0, None, None, None, None)


def test_uplift_needs_two_values_per_group():
    with pytest.raises(ZeroDenominatorError):
        impact.uplift([5], [5, 6])
    with pytest.raises(ZeroDenominatorError):
        impact.uplift([5, 6], [None, 7])
    with pytest.raises(InvalidInputError):
        impact.uplift([5, "six"], [5, 6])
    with pytest.raises(OutOfDomainError):
        impact.uplift([5, 6], [5, 7], confidence=1.0)


# ---- difference-in-differences -------------------------------------------


def test_did_estimate_and_se_match_ols_with_hc2():
    groups = _samples(5, (30, 45, 25, 60), (7.0, 8.1, 6.8, 7.2), (1.0, 1.8, 0.7, 1.3))
    result = impact.did(*groups)
    ols = _hc2_did(groups)
    assert result.estimate == pytest.approx(ols.params["treated:after"], rel=1e-10)
    assert result.std_error == pytest.approx(ols.bse["treated:after"], rel=1e-10)


def test_did_hand_derived_interval_and_p_value():
    result = impact.did(*HAND_GROUPS)
    assert HAND_DF == pytest.approx(6.9474, abs=5e-5)
    quantile = stats.t.ppf(0.975, HAND_DF)
    assert result.estimate == pytest.approx(HAND_ESTIMATE, abs=1e-12)
    assert result.std_error == pytest.approx(HAND_SE, rel=1e-12)
    assert (result.ci_lower, result.ci_upper) == pytest.approx((4 - quantile * HAND_SE, 4 + quantile * HAND_SE), rel=1e-10)
    assert result.p_value == pytest.approx(2 * stats.t.sf(4 / HAND_SE, HAND_DF), rel=1e-10)
    assert (result.treated_change, result.control_change) == (6.0, 2.0)


def test_did_interval_approaches_ols_hc2_for_large_groups():
    # With thousands per group the t quantile is within 1e-4 of the normal one
    # statsmodels uses for robust errors.
    groups = _samples(8, (4000, 5000, 4500, 6000), (7.0, 7.3, 6.9, 7.0), (1.0, 1.5, 1.1, 1.2))
    result = impact.did(*groups, confidence=0.9)
    low, high = _hc2_did(groups).conf_int(alpha=0.1).loc["treated:after"]
    assert result.ci_lower == pytest.approx(low, rel=1e-3)
    assert result.ci_upper == pytest.approx(high, rel=1e-3)


def test_did_needs_two_values_per_group():
    with pytest.raises(ZeroDenominatorError):
        impact.did([1, 2], [3, 4], [5], [6, 7])


# ---- verdict ---------------------------------------------------------------


@pytest.mark.parametrize(
    "lower, upper, higher_is_better, expected",
    [
        (0.4, 2.1, True, "improved"),
        (0.4, 2.1, False, "worse"),
        (-3.0, -0.5, True, "worse"),
        (-3.0, -0.5, False, "improved"),
        (-0.2, 1.5, True, "no clear change"),
        (0.0, 1.5, True, "no clear change"),
        (-1.0, 0.0, False, "no clear change"),
    ],
)
def test_verdict(lower, upper, higher_is_better, expected):
    assert impact.verdict(lower, upper, higher_is_better) == expected


@pytest.mark.parametrize("lower, upper", [(2.0, 1.0), (None, 1.0), (float("nan"), 1.0)])
def test_verdict_refuses_bad_intervals(lower, upper):
    with pytest.raises(InvalidInputError):
        impact.verdict(lower, upper)


# ---- as Excel calls them ---------------------------------------------------


def test_cxuplift_spills_the_welch_table(excel):
    baseline, post = _samples(2, (12, 9), (40.0, 44.0), (5.0, 9.0))
    table = excel("CXUPLIFT", baseline.tolist(), post.tolist())
    assert [row[0] for row in table] == UPLIFT_LABELS
    values = dict(table[1:])
    welch = stats.ttest_ind(post, baseline, equal_var=False)
    interval = welch.confidence_interval(0.95)
    assert values["Change"] == pytest.approx(post.mean() - baseline.mean(), rel=1e-12)
    assert values["Change %"] == pytest.approx(post.mean() / baseline.mean() - 1, rel=1e-12)
    assert (values["CI lower"], values["CI upper"]) == pytest.approx((interval.low, interval.high), rel=1e-10)
    assert values["p-value"] == pytest.approx(welch.pvalue, rel=1e-9)
    assert (values["N baseline"], values["N post"]) == (12, 9)


def test_cxuplift_ignores_blanks_and_shows_undefined_figures(excel):
    # blanks dropped, not read as 0: the hand-derived case of test_uplift_hand_derived
    table = excel("CXUPLIFT", [3, None, 4, 5], [[5, 6, None, 7]], 0.95)
    assert dict(table[1:])["Change %"] == pytest.approx(0.5, abs=1e-15)
    assert dict(table[1:])["N baseline"] == 3
    flat = dict(excel("CXUPLIFT", [0, 0], [2, 2])[1:])
    assert (flat["Change"], flat["Change %"], flat["p-value"]) == (2.0, "#DIV/0!", "#DIV/0!")


def test_cxdid_spills_the_did_table(excel):
    table = excel("CXDID", *[list(g) for g in HAND_GROUPS], 0.9)
    assert [row[0] for row in table] == DID_LABELS
    values = dict(table[1:])
    quantile = stats.t.ppf(0.95, HAND_DF)
    assert values["Estimate"] == pytest.approx(HAND_ESTIMATE, abs=1e-12)
    assert values["Std error"] == pytest.approx(HAND_SE, rel=1e-12)
    assert values["CI lower"] == pytest.approx(4 - quantile * HAND_SE, rel=1e-10)
    assert values["p-value"] == pytest.approx(2 * stats.t.sf(4 / HAND_SE, HAND_DF), rel=1e-10)


@pytest.mark.parametrize(
    "call, expected",
    [
        (("CXUPLIFT", [5], [5, 6]), "#DIV/0!"),
        (("CXUPLIFT", [5, None], [5, 6]), "#DIV/0!"),
        (("CXUPLIFT", [5, "six"], [5, 6]), "#VALUE!"),
        (("CXUPLIFT", [5, 6], [5, 7], 1), "#NUM!"),
        (("CXUPLIFT", [[1, 2], [3, 4]], [5, 7]), "#VALUE!"),
        (("CXDID", [1, 2], [3, 4], [5], [6, 7]), "#DIV/0!"),
        (("CXDID", [1, 2], [3, 4], [5, 6], [6, True]), "#VALUE!"),
        (("CXDID", [1, 2], [3, 4], [5, 6], [6, 7], -0.1), "#NUM!"),
    ],
)
def test_bad_input_gives_the_expected_error(excel, call, expected):
    assert excel(*call) == expected


def test_error_cells_propagate(excel):
    assert excel.raw("CXUPLIFT", [[1], [2]], [[3], [excel_error("#N/A")]]) == [["#N/A"]]


def test_change_percent_is_relative_to_the_size_of_a_negative_baseline():
    # means -10 and -5: change +5, and +50 % of |-10|
    result = impact.uplift([-10, -10.2, -9.8], [-5, -5.2, -4.8])
    assert result.change == pytest.approx(5, rel=1e-12)
    assert result.change_pct == pytest.approx(0.5, rel=1e-12)
