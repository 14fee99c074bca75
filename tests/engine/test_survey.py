"""Survey metrics against hand-derived cases, published examples and
reference packages.

Oracles:
* NPS: hand-counted cases written out below (all promoters = 100, all
  detractors = -100, a 10-answer case).
* NPS interval: the score interval (Rocks 2016) computed independently
  with scipy's optimiser and root finder; its coverage, exact over every
  possible sample, on a stated grid of true shares.
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
from hypothesis import given
from hypothesis import strategies as st
from scipy import optimize, stats
from statsmodels.stats.proportion import proportion_confint

from cxroi_xl.engine import survey
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


def _score_interval_oracle(promoters: int, detractors: int, n: int, confidence: float) -> tuple[float, float]:
    """The score interval written out independently of the engine: the
    restricted maximum-likelihood shares by numerical maximisation (scipy's
    bounded minimiser), the ends by Brent's root finder on the score
    statistic (Rocks 2016, section 3.3)."""
    passives = n - promoters - detractors
    estimate = (promoters - detractors) / n
    z = stats.norm.ppf(0.5 + confidence / 2)

    def statistic(delta: float) -> float:
        def minus_log_likelihood(q: float) -> float:
            shares = np.array([q + delta, q, 1 - 2 * q - delta])
            counts = np.array([promoters, detractors, passives])
            return -float(np.sum(counts[counts > 0] * np.log(np.maximum(shares[counts > 0], 1e-300))))

        low, high = max(0.0, -delta), (1 - delta) / 2
        found = optimize.minimize_scalar(minus_log_likelihood, bounds=(low, high), method="bounded", options={"xatol": 1e-13}).x
        q = min((found, low, high), key=minus_log_likelihood)  # the maximum may sit on a bound
        variance = 2 * q + delta - delta**2
        return n * (estimate - delta) ** 2 / variance - z**2

    inside = min(max(estimate, -1 + 1e-9), 1 - 1e-9)  # at -1 or 1 the statistic is 0/0
    lower = -1.0 if estimate == -1 else optimize.brentq(statistic, -1 + 1e-12, inside, xtol=1e-13)
    upper = 1.0 if estimate == 1 else optimize.brentq(statistic, inside, 1 - 1e-12, xtol=1e-13)
    return 100 * lower, 100 * upper


@pytest.mark.parametrize(
    "scores, confidence",
    [(TEN_ANSWERS, 0.95), (TEN_ANSWERS, 0.8), ([10, 9, 3, 7], 0.95), ([9, 10, 10], 0.95), ([0, 1, 2, 3, 4], 0.99), (list(range(11)) * 7, 0.9)],
)
def test_nps_interval_is_the_score_interval(scores, confidence):
    interval = survey.nps_interval(scores, confidence)
    promoters = sum(s >= 9 for s in scores)
    detractors = sum(s <= 6 for s in scores)
    lower, upper = _score_interval_oracle(promoters, detractors, len(scores), confidence)
    assert interval.lower == pytest.approx(lower, abs=1e-6)
    assert interval.upper == pytest.approx(upper, abs=1e-6)
    assert interval.estimate == pytest.approx(100 * (promoters - detractors) / len(scores), abs=1e-12)
    assert (interval.n, interval.confidence) == (len(scores), confidence)


def test_nps_interval_stays_within_the_scale_for_the_reported_case():
    # The Wald interval gave [-56.3, 106.3] for {10, 9, 3, 7}.
    interval = survey.nps_interval([10, 9, 3, 7])
    assert -100 <= interval.lower < interval.estimate < interval.upper <= 100


def test_nps_interval_keeps_a_width_when_every_answer_is_a_promoter():
    # The Wald interval collapsed to [100, 100]. Hand-derived: with n
    # promoters only, the restricted shares are p_P = (1 + d)/2, p_D = (1 - d)/2
    # (no passives), so the statistic is n (1 - d)^2 / (1 - d^2) = n (1 - d)/(1 + d),
    # and it equals z^2 at d = (n - z^2) / (n + z^2).
    interval = survey.nps_interval([9, 10, 10])
    z2 = stats.norm.ppf(0.975) ** 2
    assert interval.upper == 100.0
    assert interval.lower == pytest.approx(100 * (3 - z2) / (3 + z2), abs=1e-9)  # -12.3: 3 answers say little
    assert survey.nps_interval([9] * 200).lower > 95  # 200 say a lot


@given(st.lists(st.integers(0, 10), min_size=1, max_size=300), st.floats(0.5, 0.999))
def test_nps_interval_is_always_within_minus_100_and_100(scores, confidence):
    interval = survey.nps_interval(scores, confidence)
    assert -100.0 <= interval.lower <= interval.estimate <= interval.upper <= 100.0
    assert interval.lower < interval.upper


# True shares on which coverage is checked: p_P, p_D in 0.05, 0.10, ..., 0.90
# with at least 5 % passives.
COVERAGE_GRID = [(p, d) for p in np.arange(1, 19) / 20 for d in np.arange(1, 19) / 20 if p + d <= 0.95 + 1e-9]


def _coverage(n: int, confidence: float = 0.95) -> np.ndarray:
    """Exact two-sided coverage at each grid point: the probability of every
    possible sample of n answers (promoters, detractors) times whether its
    interval holds the true NPS. This is what a simulation estimates, without
    its noise, and one vectorised call gives all the intervals."""
    promoters, detractors = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    possible = promoters + detractors <= n
    promoters, detractors = promoters[possible], detractors[possible]
    lower, upper = survey.nps_score_bounds(promoters, detractors, n, stats.norm.ppf(0.5 + confidence / 2))
    counts = np.stack([promoters, detractors, n - promoters - detractors], axis=1)
    coverage = []
    for p, d in COVERAGE_GRID:
        probability = stats.multinomial.pmf(counts, n, [p, d, 1 - p - d])
        true_nps = 100 * (p - d)
        coverage.append(probability[(lower <= true_nps + 1e-9) & (true_nps - 1e-9 <= upper)].sum())
    return np.array(coverage)


@pytest.mark.parametrize("n", [20, 200])
def test_nps_interval_coverage_is_at_least_93_percent(n):
    coverage = _coverage(n)
    assert coverage.min() >= 0.93, COVERAGE_GRID[int(coverage.argmin())]
    assert abs(coverage.mean() - 0.95) < 0.01  # neither far too wide nor too narrow on average


def test_nps_interval_coverage_for_five_answers_is_reported():
    # n = 5: NPS takes 21 values; the coverage swings with the grid point.
    # Measured: minimum 0.922 at p_P = p_D = 0.45, mean 0.970 (the Wald
    # interval is far worse here); the test pins the minimum loosely.
    assert _coverage(5).min() >= 0.90


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
    lower, upper = _score_interval_oracle(4, 3, 10, 0.95)
    row = excel("CXNPSCI", TEN_ANSWERS)
    assert row == [[pytest.approx(lower, abs=1e-6), pytest.approx(upper, abs=1e-6)]]
    lower90, upper90 = _score_interval_oracle(4, 3, 10, 0.9)
    assert excel("CXNPSCI", TEN_ANSWERS, 0.9)[0] == [pytest.approx(lower90, abs=1e-6), pytest.approx(upper90, abs=1e-6)]


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
