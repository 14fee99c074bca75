"""Customer value against explicit sums, hand-derived cases, an independent
pandas cohort computation on the CDNOW sample, a textbook Kaplan-Meier table
and lifelines.

Oracles:
* CLTV closed forms against the explicit sums they stand for
  (rel 1e-12), and the d = 0 textbook form ARPU x margin / churn.
* CAC, LTV:CAC, churn and retention: hand-derived cases written out below.
* Cohort matrix: a separate pandas computation (``Period`` arithmetic,
  ``groupby().nunique()``) on the raw CDNOW sample of Fader & Hardie
  (tests/data/CDNOW_sample.txt, see tests/data/README.md); exact
  equality for the shares (abs 1e-15).
* Kaplan-Meier: the 6-MP leukaemia remission table of Freireich et al.
  (1963) as printed in Kleinbaum & Klein, and lifelines' KaplanMeierFitter
  on random data with ties and censoring (rel 1e-12), its answers recorded
  in tests/data/reference_lifelines.json.
"""
from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxroi_xl.engine import value
from cxroi_xl.errors import InvalidInputError, OutOfDomainError, ZeroDenominatorError

DATA = Path(__file__).resolve().parents[1] / "data"
# lifelines' KaplanMeierFitter on random data, recorded by
# scripts/record_reference_values.py (lifelines pins pandas < 3, so it is not
# installed with the tests); the file names the version.
LIFELINES = json.loads((DATA / "reference_lifelines.json").read_text(encoding="utf-8"))


def explicit_cltv(arpu, margin, churn, rate, periods):
    """The definition, term by term: sum_{t<N} m (r/(1+d))^t."""
    m = arpu * margin
    return math.fsum(m * ((1 - churn) / (1 + rate)) ** t for t in range(periods))


# ---- CLTV ------------------------------------------------------------------


@pytest.mark.parametrize(
    "arpu, margin, churn, rate, periods",
    [
        (50, 0.7, 0.05, 0.0, 24),
        (50, 0.7, 0.05, 0.01, 24),
        (120, 0.35, 0.02, 0.008, 120),
        (9.99, 1.0, 0.3, 0.1, 7),
        (10, 0.5, 0.0, 0.02, 36),  # no churn: only discounting shortens the sum
        (10, 0.5, 1.0, 0.05, 12),  # everyone leaves after the first period: m
        (10, 0.5, 0.0, 0.0, 12),  # neither: m x N
        (10, 0.5, 0.01, -0.005, 60),  # negative rate, still above -100 %
        (10, 0.5, 1e-9, 0.0, 1000),  # retention within 1e-9 of 1
    ],
)
def test_cltv_finite_horizon_equals_the_explicit_sum(arpu, margin, churn, rate, periods):
    expected = explicit_cltv(arpu, margin, churn, rate, periods)
    assert value.cltv(arpu, margin, churn, rate, periods) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("churn, rate", [(0.05, 0.0), (0.05, 0.01), (0.2, 0.1), (0.0, 0.01), (1.0, 0.0)])
def test_cltv_infinite_sum_is_the_limit_of_the_explicit_sum(churn, rate):
    # the tail after 20,000 periods is below (0.99)^20000 ~ 1e-87 of the total
    assert value.cltv(50, 0.7, churn, rate) == pytest.approx(explicit_cltv(50, 0.7, churn, rate, 20_000), rel=1e-12)


def test_cltv_textbook_form_without_discounting():
    # ARPU 50 x margin 70 % / churn 5 % = 35 / 0.05 = 700
    assert value.cltv(50, 0.7, 0.05) == pytest.approx(700.0, rel=1e-15)
    # Gupta & Lehmann's margin multiple (1+i)/(1+i-r) with i = 12 %, r = 80 %:
    # 1.12 / 0.32 = 3.5, times a margin of 100 = 350
    assert value.cltv(100, 1.0, 0.2, 0.12) == pytest.approx(350.0, rel=1e-14)


def test_cltv_broadcasts_and_a_zero_horizon_is_worth_nothing():
    np.testing.assert_allclose(value.cltv([50, 100], 0.7, [0.05, 0.1]), [700.0, 700.0], rtol=1e-15)
    assert value.cltv(50, 0.7, 0.05, 0.01, 0) == 0.0


def test_cltv_refusals():
    with pytest.raises(ZeroDenominatorError):
        value.cltv(50, 0.7, 0.0)
    with pytest.raises(OutOfDomainError):
        value.cltv(50, 0.7, 1.5)
    with pytest.raises(OutOfDomainError):
        value.cltv(50, 1.2, 0.05)
    with pytest.raises(OutOfDomainError):
        value.cltv(50, 0.7, 0.01, -0.02)  # diverges: r/(1+d) > 1
    with pytest.raises(OutOfDomainError):
        value.cltv(50, 0.7, 0.05, -1.0, 12)
    with pytest.raises(InvalidInputError):
        value.cltv(-50, 0.7, 0.05)


# ---- CAC, LTV:CAC, churn, retention ----------------------------------------


def test_cac_and_ltv_cac_hand_derived():
    assert value.cac(12000, 80) == 150.0  # 12,000 / 80
    assert value.ltv_cac(700, 150) == pytest.approx(14 / 3, rel=1e-15)  # 700 / 150
    with pytest.raises(ZeroDenominatorError):
        value.cac(100, 0)
    with pytest.raises(ZeroDenominatorError):
        value.ltv_cac(700, 0)
    with pytest.raises(InvalidInputError):
        value.cac(-1, 10)


def test_churn_and_retention_hand_derived():
    # churn 10/200 = 0.05, 19/190 = 0.1; a period without customers has none
    np.testing.assert_array_equal(value.churn_rate([200, 190, 0], [10, 19, 0]), [0.05, 0.1, np.nan])
    # retention (210 - 30)/200 = 0.9, (180 - 0)/200 = 0.9, (0 - 0)/0 undefined
    np.testing.assert_array_equal(value.retention_rate([200, 200, 0], [210, 180, 0], [30, 0, 0]), [0.9, 0.9, np.nan])
    assert value.churn_rate(40, 4) == 0.1
    with pytest.raises(ZeroDenominatorError):
        value.churn_rate(0, 0)
    with pytest.raises(OutOfDomainError):
        value.churn_rate([10], [11])
    with pytest.raises(OutOfDomainError):
        value.retention_rate(100, 50, 60)  # more new customers than at the end
    with pytest.raises(InvalidInputError):
        value.retention_rate([1, 2], [1, 2, 3], 0)


# ---- cohorts ----------------------------------------------------------------


def test_cohort_hand_derived():
    # January cohort: a, b (2 customers). a orders again in Feb and Apr, b in
    # Mar. February cohort: c, who orders again in Apr. Data end in April.
    #   Jan cohort: month 0 2/2, 1 {a} 1/2, 2 {b} 1/2, 3 {a} 1/2
    #   Feb cohort: month 0 1/1, 1 {} 0, 2 {c} 1, 3 not yet
    ids = ["a", "b", "a", "c", "b", "a", "c", "a"]
    dates = ["2024-01-03", "2024-01-31", "2024-02-10", "2024-02-11", "2024-03-05", "2024-04-01", "2024-04-30", "2024-01-20"]
    matrix = value.cohort_retention(ids, dates)
    assert matrix.index.tolist() == ["2024-01", "2024-02"]
    np.testing.assert_array_equal(matrix.to_numpy(), [[1, 0.5, 0.5, 0.5], [1, 0, 1, np.nan]])
    counts = value.cohort_counts(ids, dates)
    np.testing.assert_array_equal(counts.to_numpy(), [[2, 1, 1, 1], [1, 0, 1, np.nan]])


def test_cohort_labels_follow_iso_weeks_and_quarters():
    # 2020-12-31 (Thursday) and 2021-01-03 (Sunday) lie in ISO week 2020-W53;
    # 2021-01-04 (Monday) starts 2021-W01.
    weekly = value.cohort_retention(["a", "b", "c"], ["2020-12-31", "2021-01-04", "2021-01-03"], "W")
    assert weekly.index.tolist() == ["2020-W53", "2021-W01"]
    np.testing.assert_array_equal(weekly.to_numpy(), [[1, 0], [1, np.nan]])
    quarterly = value.cohort_retention(["a", "b", "a"], ["2023-12-31", "2024-01-01", "2024-06-30"], "quarter")
    assert quarterly.index.tolist() == ["2023-Q4", "2024-Q1"]
    np.testing.assert_array_equal(quarterly.to_numpy(), [[1, 0, 1], [1, 0, np.nan]])


def cdnow_orders() -> pd.DataFrame:
    columns = ["customer", "sample_id", "date", "cds", "amount"]
    orders = pd.read_csv(DATA / "CDNOW_sample.txt", sep=r"\s+", header=None, names=columns, dtype={"customer": str})
    orders["date"] = pd.to_datetime(orders["date"].astype(str), format="%Y%m%d")
    return orders


def pandas_cohort_oracle(orders: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Independent route: pandas Periods, per-cohort nunique, a calendar mask."""
    period = orders["date"].dt.to_period(freq)
    cohort = period.groupby(orders["customer"]).transform("min")
    since = (period - cohort).map(lambda offset: offset.n)
    active = orders["customer"].groupby([cohort, since]).nunique().unstack(fill_value=0)
    shares = active.div(active[0], axis=0).astype(float)
    last = period.max()
    shares = shares.reindex(columns=range((last - shares.index.min()).n + 1), fill_value=0.0)
    for c in shares.index:
        for k in shares.columns:
            if c + k > last:
                shares.loc[c, k] = np.nan
    if freq == "W":
        labels = [f"{p.start_time.isocalendar()[0]}-W{p.start_time.isocalendar()[1]:02d}" for p in shares.index]
    elif freq == "Q":
        labels = [str(p).replace("Q", "-Q") for p in shares.index]
    else:
        labels = [str(p) for p in shares.index]
    shares.index = labels
    return shares


@pytest.mark.parametrize("freq", ["M", "W", "Q"])
def test_cohort_matrix_on_cdnow_matches_an_independent_pandas_computation(freq):
    orders = cdnow_orders()
    assert len(orders) == 6919 and orders["customer"].nunique() == 2357  # the sample's published size
    ours = value.cohort_retention(orders["customer"].to_numpy(), orders["date"].to_numpy(), freq)
    oracle = pandas_cohort_oracle(orders, freq)
    assert ours.index.tolist() == oracle.index.tolist()
    np.testing.assert_allclose(ours.to_numpy(), oracle.to_numpy(), rtol=0, atol=1e-15)


def test_cxcohort_on_cdnow_through_dispatch(excel):
    orders = cdnow_orders()
    dates = [d.date() for d in orders["date"]]
    ids = orders["customer"].tolist()
    # a range running past the data, as users select it: blank rows are ignored
    table = excel("CXCOHORT", ids + [None, None], dates + [None, None])
    oracle = pandas_cohort_oracle(orders, "M")
    assert table[0] == ["Cohort", *range(18)]
    assert [row[0] for row in table[1:]] == ["1997-01", "1997-02", "1997-03"]
    expected = [[(None if np.isnan(v) else v) for v in row] for row in oracle.to_numpy()]
    got = [[(None if v == "" else v) for v in row[1:]] for row in table[1:]]
    for got_row, expected_row in zip(got, expected):
        assert got_row == pytest.approx(expected_row, abs=1e-15)
    assert table[3][-1] == ""  # the March 1997 cohort's 18th month is July 1998, after the data


# ---- Kaplan-Meier -----------------------------------------------------------

# Freireich et al. (1963), 6-MP group, weeks in remission; + = censored. As
# printed in Kleinbaum & Klein, "Survival Analysis: A Self-Learning Text",
# ch. 2: 6,6,6,7,10,13,16,22,23 relapsed; 6+,9+,10+,11+,17+,19+,20+,25+,32+,
# 32+,34+,35+ censored.
SIX_MP_TIMES = [6, 6, 6, 7, 10, 13, 16, 22, 23, 6, 9, 10, 11, 17, 19, 20, 25, 32, 32, 34, 35]
SIX_MP_RELAPSED = [1] * 9 + [0] * 12
# t_j, n_j, d_j and S(t_j) as printed (to 3 decimals); the products are
# 18/21; x 16/17; x 14/15; x 11/12; x 10/11; x 6/7; x 5/6.
SIX_MP_TABLE = [
    (6, 21, 3, 0.857, 18 / 21),
    (7, 17, 1, 0.807, 18 / 21 * 16 / 17),
    (10, 15, 1, 0.753, 18 / 21 * 16 / 17 * 14 / 15),
    (13, 12, 1, 0.690, 18 / 21 * 16 / 17 * 14 / 15 * 11 / 12),
    (16, 11, 1, 0.627, 18 / 21 * 16 / 17 * 14 / 15 * 11 / 12 * 10 / 11),
    (22, 7, 1, 0.538, 18 / 21 * 16 / 17 * 14 / 15 * 11 / 12 * 10 / 11 * 6 / 7),
    (23, 6, 1, 0.448, 18 / 21 * 16 / 17 * 14 / 15 * 11 / 12 * 10 / 11 * 6 / 7 * 5 / 6),
]


def test_kaplan_meier_textbook_table():
    table = value.kaplan_meier(SIX_MP_TIMES, SIX_MP_RELAPSED)
    assert table.columns.tolist() == ["Time", "At risk", "Events", "Survival"]
    assert table[["Time", "At risk", "Events"]].to_numpy().tolist() == [[t, n, d] for t, n, d, _, _ in SIX_MP_TABLE]
    printed = [row[3] for row in SIX_MP_TABLE]
    exact = [row[4] for row in SIX_MP_TABLE]
    np.testing.assert_allclose(table["Survival"], printed, atol=5e-4)  # printed to 3 decimals
    np.testing.assert_allclose(table["Survival"], exact, rtol=1e-12)


def test_cxsurvival_textbook_table_through_dispatch(excel):
    table = excel("CXSURVIVAL", SIX_MP_TIMES, SIX_MP_RELAPSED)
    assert table[0] == ["Time", "At risk", "Events", "Survival"]
    for got, (t, n, d, _, s) in zip(table[1:], SIX_MP_TABLE):
        assert got[:3] == [t, n, d] and got[3] == pytest.approx(s, rel=1e-12)
    # read off the step function: before the first relapse, at 6, between 10
    # and 13, after the last censoring; a blank time stays blank
    column = excel("CXSURVIVAL", SIX_MP_TIMES, SIX_MP_RELAPSED, [0, 6, 12, None, 40])
    values = [row[0] for row in column]
    assert values[3] == ""
    expected = [1.0, SIX_MP_TABLE[0][4], SIX_MP_TABLE[2][4], SIX_MP_TABLE[6][4]]
    assert values[:3] + values[4:] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("case", LIFELINES["cases"], ids=lambda case: f"seed{case['seed']}")
def test_kaplan_meier_agrees_with_lifelines(case):
    # 2,000 random whole-month durations (many ties), 60 % churned
    durations, churned = np.array(case["durations"]), np.array(case["churned"], dtype=float)
    table = value.kaplan_meier(durations, churned)
    np.testing.assert_array_equal(table["Time"], case["event_times"])
    np.testing.assert_array_equal(table["At risk"], case["at_risk"])
    np.testing.assert_array_equal(table["Events"], case["events"])
    np.testing.assert_allclose(table["Survival"], case["survival"], rtol=1e-12)
    np.testing.assert_allclose(value.survival_at(durations, churned, case["times"]), case["survival_at_times"], rtol=1e-12)


def test_kaplan_meier_refusals():
    with pytest.raises(ZeroDenominatorError):
        value.kaplan_meier([], [])
    with pytest.raises(InvalidInputError):
        value.kaplan_meier([1, -2], [1, 0])
    with pytest.raises(InvalidInputError):
        value.kaplan_meier([1, 2], [1, 2])
    with pytest.raises(InvalidInputError):
        value.kaplan_meier([1, 2], [1])
    assert value.kaplan_meier([1, 2], [0, 0]).empty  # nobody churned: no steps
    np.testing.assert_array_equal(value.survival_at([1, 2], [0, 0], [5]), [1.0])


# ---- through xlwings' dispatcher ---------------------------------------------


def test_closed_forms_through_dispatch(excel):
    assert excel("CXCLTV", 50, 0.7, 0.05) == pytest.approx(700.0, rel=1e-15)
    assert excel("CXCLTV", 50, 0.7, 0.05, 0.01, 24) == pytest.approx(explicit_cltv(50, 0.7, 0.05, 0.01, 24), rel=1e-12)
    assert excel("CXCLTV", 50, 0.7, 0.05, None, 24) == pytest.approx(explicit_cltv(50, 0.7, 0.05, 0.0, 24), rel=1e-12)
    assert excel("CXCAC", 12000, 80) == 150.0
    assert excel("CXLTVCAC", 700, 150) == pytest.approx(14 / 3, rel=1e-15)


def test_churn_and_retention_spill_in_the_input_shape(excel):
    # column in, column out; a month without customers shows #DIV/0! alone
    assert excel("CXCHURN", [200, 190, 0], [10, 19, 0]) == [[0.05], [0.1], ["#DIV/0!"]]
    # rows, and one start count broadcast against a row of losses
    assert excel("CXCHURN", [[200, 100]], [[10, 20]]) == [[0.05, 0.2]]
    assert excel("CXCHURN", 200, [[10, 20]]) == [[0.05, 0.1]]
    # (210 - 30)/200 = 0.9; (190 - 10)/180 = 1.0; blanks count as 0
    assert excel("CXRETENTION", [200, 180], [210, 190], [30, 10]) == [[0.9], [1.0]]
    assert excel("CXRETENTION", [200, None], [210, None], [30, None]) == [[0.9], ["#DIV/0!"]]


@pytest.mark.parametrize(
    "call, expected",
    [
        (("CXCLTV", 50, 0.7, 0), "#DIV/0!"),  # zero churn, zero discount: infinite
        (("CXCLTV", 50, 0.7, 1.5), "#NUM!"),
        (("CXCLTV", 50, 0.7, -0.1), "#NUM!"),
        (("CXCLTV", 50, "70%", 0.05), "#VALUE!"),
        (("CXCLTV", -50, 0.7, 0.05), "#VALUE!"),
        (("CXCLTV", 50, 0.7, 0.05, 0.01, 2.5), "#VALUE!"),
        (("CXCAC", 1000, 0), "#DIV/0!"),
        (("CXCAC", -1000, 10), "#VALUE!"),
        (("CXLTVCAC", 700, 0), "#DIV/0!"),
        (("CXCHURN", [10, 10], [11, 1]), "#NUM!"),
        (("CXCHURN", [10, 10], [1, -1]), "#VALUE!"),
        (("CXCHURN", [10, 10, 10], [1, 1]), "#VALUE!"),
        (("CXRETENTION", 100, 50, 60), "#NUM!"),
        (("CXCOHORT", ["a", "b"], [dt.date(2024, 1, 1)]), "#VALUE!"),
        (("CXCOHORT", ["a", "b"], [dt.date(2024, 1, 1), None]), "#VALUE!"),
        (("CXCOHORT", ["a"], [dt.date(2024, 1, 1)], "Y"), "#VALUE!"),
        (("CXCOHORT", ["a", None], ["soon", None]), "#VALUE!"),
        (("CXSURVIVAL", [1, -2], [1, 0]), "#VALUE!"),
        (("CXSURVIVAL", [1, 2], [1, 0.5]), "#VALUE!"),
        (("CXSURVIVAL", [1, 2], [1, "yes"]), "#VALUE!"),
        (("CXSURVIVAL", [None, None], [None, None]), "#DIV/0!"),  # no customers
        (("CXSURVIVAL", [1, 2], [1, 0], -1), "#VALUE!"),
    ],
)
def test_bad_input_gives_the_expected_error(excel, call, expected):
    assert excel(*call) == expected


def test_error_cells_propagate(excel):
    from tests.excel_dispatch import excel_error

    assert excel.raw("CXSURVIVAL", [[1], [excel_error("#N/A")]], [[1], [0]]) == [["#N/A"]]
    assert excel.raw("CXCLTV", [[50]], [[excel_error("#DIV/0!")]], [[0.05]]) == [["#DIV/0!"]]
