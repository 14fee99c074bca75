"""Survey metrics against hand-derived cases, published examples and
reference packages.

Oracles:
* NPS: hand-counted cases written out below (all promoters = 100, all
  detractors = -100, a 10-answer case).
* NPS interval: the variance of the answers coded +1/0/-1 (promoter,
  passive, detractor), computed with numpy, and scipy's normal quantile;
  plus the 10-answer case worked by hand.
* Wilson interval: Newcombe (1998), Statistics in Medicine 17, 857-872,
  Table II, method 3 (published to 4 decimals); the published formula
  written out below; statsmodels' ``proportion_confint(method="wilson")``.
* CSAT and CES: hand-counted cases.
Every function is also called through xlwings' dispatcher, as Excel calls it.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from cxroi_xl import survey
from cxroi_xl.errors import InvalidInputError, OutOfDomainError, ZeroDenominatorError
from tests.excel_dispatch import excel_error

# 4 promoters (10, 9, 9, 10), 3 passives (8, 7, 7), 3 detractors (6, 0, 3)
TEN_ANSWERS = [10, 9, 9, 10, 8, 7, 7, 6, 0, 3]


# ---- NPS -----------------------------------------------------------------


def test_nps_hand_counted():
    assert survey.nps([9, 10, 10, 9]) == 100.0  # all promoters
    assert survey.nps([0, 1, 2, 3, 4, 5, 6]) == -100.0  # all detractors
    assert survey.nps([7, 8, 7]) == 0.0  # all passives
    # 10 answers: 4/10 promoters - 3/10 detractors = 40% - 30% = 10 points
    assert survey.nps(TEN_ANSWERS) == pytest.approx(10.0, abs=1e-12)


def test_nps_boundaries_between_groups():
    # 6 detracts, 7 and 8 are passive, 9 promotes: (1 - 1) / 4 = 0
    assert survey.nps([6, 7, 8, 9]) == 0.0
    # one promoter of three answers: 100/3 points
    assert survey.nps([9, 8, 7]) == pytest.approx(100 / 3, abs=1e-12)


def test_nps_ignores_missing_answers_in_arrays_and_series():
    assert survey.nps([10, None, 0, float("nan"), 9]) == pytest.approx(100 / 3, abs=1e-12)
    series = pd.Series([10, pd.NA, 0, 9], dtype="Int64")
    assert survey.nps(series) == pytest.approx(100 / 3, abs=1e-12)


@pytest.mark.parametrize("scores", [[11], [-1], [7.5], [9, 10, 1e308], ["ten"]])
def test_nps_refuses_answers_off_the_scale(scores):
    with pytest.raises(InvalidInputError):
        survey.nps(scores)


def test_nps_without_answers_divides_by_zero():
    with pytest.raises(ZeroDenominatorError):
        survey.nps([None, float("nan")])
    with pytest.raises(ZeroDenominatorError):
        survey.nps([])


# ---- NPS interval ---------------------------------------------------------


# Hand-derived: pP = 0.4, pD = 0.3, variance 0.4 + 0.3 - 0.1^2 = 0.69,
# SE = sqrt(0.69 / 10) = 0.262679; z(97.5%) = 1.959964, so
# 10 -/+ 100 x 0.514842 = -41.4842 .. 61.4842.
def test_nps_interval_hand_derived():
    interval = survey.nps_interval(TEN_ANSWERS)
    half_width = 100 * 1.959963984540054 * math.sqrt(0.069)
    assert interval.estimate == pytest.approx(10.0, abs=1e-12)
    assert interval.lower == pytest.approx(10.0 - half_width, abs=1e-9)
    assert interval.upper == pytest.approx(10.0 + half_width, abs=1e-9)
    assert (interval.n, interval.confidence) == (10, 0.95)


@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.95, 0.99])
def test_nps_interval_is_the_coded_mean_interval(confidence):
    # NPS / 100 is the mean of X = +1 (promoter), 0 (passive), -1 (detractor),
    # whose multinomial variance is the population variance of X.
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 11, size=777)
    coded = np.where(scores >= 9, 1.0, np.where(scores <= 6, -1.0, 0.0))
    se = np.std(coded) / np.sqrt(coded.size)
    z = stats.norm.ppf(0.5 + confidence / 2)
    interval = survey.nps_interval(scores, confidence)
    assert interval.estimate == pytest.approx(100 * coded.mean(), rel=1e-12)
    assert interval.lower == pytest.approx(100 * (coded.mean() - z * se), rel=1e-10)
    assert interval.upper == pytest.approx(100 * (coded.mean() + z * se), rel=1e-10)


def test_nps_interval_collapses_when_every_answer_is_a_promoter():
    interval = survey.nps_interval([9, 10, 10])
    assert (interval.lower, interval.upper) == (100.0, 100.0)


@pytest.mark.parametrize("confidence", [0, 1, -0.5, 1.5])
def test_confidence_outside_zero_one_is_out_of_domain(confidence):
    with pytest.raises(OutOfDomainError):
        survey.nps_interval(TEN_ANSWERS, confidence)
    with pytest.raises(OutOfDomainError):
        survey.rate(1, 2, confidence)


# ---- CSAT and CES ---------------------------------------------------------


def test_csat_top_two_box_hand_counted():
    # 5-point scale, default threshold 4: answers 5, 4, 4 of 5 -> 3/5
    assert survey.csat([5, 4, 4, 3, 1]) == pytest.approx(0.6, abs=1e-15)
    # 10-point scale: default threshold 9 -> 9, 10 of 4; threshold 8 -> 3 of 4
    assert survey.csat([10, 8, 7, 9], scale=10) == pytest.approx(0.5, abs=1e-15)
    assert survey.csat([10, 8, 7, 9], scale=10, threshold=8) == pytest.approx(0.75, abs=1e-15)
    assert survey.csat([5, None, 1]) == pytest.approx(0.5, abs=1e-15)


def test_csat_refuses_bad_scales():
    with pytest.raises(InvalidInputError):
        survey.csat([6], scale=5)
    with pytest.raises(InvalidInputError):
        survey.csat([0, 3], scale=5)
    with pytest.raises(OutOfDomainError):
        survey.csat([1], scale=1)
    with pytest.raises(OutOfDomainError):
        survey.csat([1], scale=5, threshold=6)
    with pytest.raises(ZeroDenominatorError):
        survey.csat([None])


def test_ces_is_the_mean_answer():
    # (7 + 6 + 5 + 2) / 4 = 5
    assert survey.ces([7, 6, None, 5, 2]) == pytest.approx(5.0, abs=1e-15)
    # a 1..5 effort scale fits the default 1..7 check: (1 + 2 + 2) / 3
    assert survey.ces([1, 2, 2]) == pytest.approx(5 / 3, abs=1e-15)
    with pytest.raises(InvalidInputError):
        survey.ces([8])
    with pytest.raises(InvalidInputError):
        survey.ces([4, 6], scale=5)
    with pytest.raises(ZeroDenominatorError):
        survey.ces([])


# ---- Wilson rate ----------------------------------------------------------


def wilson_published(successes: int, trials: int, z: float) -> tuple[float, float]:
    """Wilson (1927) as Newcombe (1998) writes it:
    (2np + z^2 -/+ z sqrt(z^2 + 4np(1-p))) / (2(n + z^2))."""
    n, p = trials, successes / trials
    root = z * math.sqrt(z * z + 4 * n * p * (1 - p))
    return (2 * n * p + z * z - root) / (2 * (n + z * z)), (2 * n * p + z * z + root) / (2 * (n + z * z))


# Newcombe (1998), Table II, method 3 (score interval), 95%.
@pytest.mark.parametrize(
    "successes, trials, lower, upper",
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_wilson_matches_newcombe_published_examples(successes, trials, lower, upper):
    result = survey.rate(successes, trials)
    assert result.estimate == pytest.approx(successes / trials, rel=1e-15)
    assert result.lower == pytest.approx(lower, abs=5e-5)  # published to 4 decimals
    assert result.upper == pytest.approx(upper, abs=5e-5)


def test_wilson_matches_published_formula_and_statsmodels():
    for confidence in (0.8, 0.95, 0.99):
        z = stats.norm.ppf(0.5 + confidence / 2)
        for trials in (1, 2, 7, 50, 1000):
            for successes in sorted({0, 1, trials // 3, trials - 1, trials}):
                result = survey.rate(successes, trials, confidence)
                formula = wilson_published(successes, trials, z)
                package = proportion_confint(successes, trials, alpha=1 - confidence, method="wilson")
                assert (result.lower, result.upper) == pytest.approx(formula, rel=1e-12, abs=1e-15)
                assert (result.lower, result.upper) == pytest.approx(package, rel=1e-12, abs=1e-15)


def test_fcr_is_the_wilson_rate():
    assert survey.fcr is survey.rate  # first-contact resolution is a rate; one implementation


@pytest.mark.parametrize("successes, trials", [(3, 2), (-1, 5), (1.5, 3), (1, float("inf"))])
def test_rate_refuses_impossible_counts(successes, trials):
    with pytest.raises(InvalidInputError):
        survey.rate(successes, trials)


def test_rate_without_trials_divides_by_zero():
    with pytest.raises(ZeroDenominatorError):
        survey.rate(0, 0)


# ---- as Excel calls them ---------------------------------------------------


def test_cxnps_through_dispatch(excel):
    assert excel("CXNPS", TEN_ANSWERS) == pytest.approx(10.0, abs=1e-12)
    assert excel("CXNPS", [TEN_ANSWERS]) == pytest.approx(10.0, abs=1e-12)  # a row
    assert excel("CXNPS", [10, None, 0, None, 9]) == pytest.approx(100 / 3, abs=1e-12)  # blanks ignored, not 0
    assert excel("CXNPS", 10) == 100.0


def test_cxnpsci_spills_one_row(excel):
    half_width = 100 * 1.959963984540054 * math.sqrt(0.069)  # as test_nps_interval_hand_derived
    row = excel("CXNPSCI", TEN_ANSWERS)
    assert row == [[pytest.approx(10 - half_width, abs=1e-9), pytest.approx(10 + half_width, abs=1e-9)]]
    z90 = stats.norm.ppf(0.95)
    assert excel("CXNPSCI", TEN_ANSWERS, 0.9)[0][1] == pytest.approx(10 + 100 * z90 * math.sqrt(0.069), abs=1e-9)


def test_cxcsat_and_cxces_through_dispatch(excel):
    assert excel("CXCSAT", [5, 4, None, 4, 3, 1]) == pytest.approx(0.6, abs=1e-15)
    assert excel("CXCSAT", [10, 8, 7, 9], 10, 8) == pytest.approx(0.75, abs=1e-15)
    assert excel("CXCSAT", [10, 8, 7, 9], 10) == pytest.approx(0.5, abs=1e-15)
    assert excel("CXCES", [7, 6, None, 5, 2]) == pytest.approx(5.0, abs=1e-15)


def test_cxrate_spills_rate_lower_upper(excel):
    rate, lower, upper = excel("CXRATE", 81, 263)[0]
    assert rate == pytest.approx(81 / 263, rel=1e-15)
    assert (lower, upper) == pytest.approx((0.2553, 0.3662), abs=5e-5)  # Newcombe (1998), Table II
    z90 = stats.norm.ppf(0.95)
    assert excel("CXRATE", 15, 148, 0.9)[0][1:] == pytest.approx(wilson_published(15, 148, z90), rel=1e-12)


@pytest.mark.parametrize(
    "call, expected",
    [
        (("CXNPS", [9, "ten", 10]), "#VALUE!"),
        (("CXNPS", [9, 11]), "#VALUE!"),
        (("CXNPS", [9, 7.5]), "#VALUE!"),
        (("CXNPS", [9, True]), "#VALUE!"),
        (("CXNPS", [None, None, None]), "#DIV/0!"),
        (("CXNPS", [[9, 10], [8, 7]]), "#VALUE!"),
        (("CXNPSCI", [9, 10], 1.0), "#NUM!"),
        (("CXNPSCI", [9, 10], 0), "#NUM!"),
        (("CXCSAT", [6, 5]), "#VALUE!"),
        (("CXCSAT", [3, 5], 1), "#NUM!"),
        (("CXCSAT", [3, 5], 5, 9), "#NUM!"),
        (("CXCSAT", [None, None]), "#DIV/0!"),
        (("CXCES", [0, 5]), "#VALUE!"),
        (("CXCES", [None, None]), "#DIV/0!"),
        (("CXRATE", 2.5, 10), "#VALUE!"),
        (("CXRATE", 11, 10), "#VALUE!"),
        (("CXRATE", -1, 10), "#VALUE!"),
        (("CXRATE", 0, 0), "#DIV/0!"),
        (("CXRATE", 1, 10, 1.5), "#NUM!"),
    ],
)
def test_bad_input_gives_the_expected_error(excel, call, expected):
    assert excel(*call) == expected


def test_error_cells_propagate(excel):
    assert excel.raw("CXNPS", [[9], [excel_error("#N/A")]]) == [["#N/A"]]
    assert excel.raw("CXRATE", [[excel_error("#DIV/0!")]], [[10]]) == [["#DIV/0!"]]
