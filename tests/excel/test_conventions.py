"""Conventions of the Excel layer that users rely on: text is text, and a
single number given for a per-period series is an amount at period 0."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cxroi_xl.cli import app

runner = CliRunner()


@pytest.mark.parametrize("word", ["nan", "NaN", "inf", "-infinity"])
def test_eval_reads_words_that_float_accepts_as_text(word):
    # float("nan") succeeds, so "nan" used to arrive as a NaN number, which
    # the coercion treats as a blank: CXNPS(nan) said "no scores to count".
    result = runner.invoke(app, ["eval", "CXNPS", "--", word])
    assert result.exit_code == 1
    assert "#VALUE!" in result.output and f"the text '{word}'" in result.output
    in_a_range = runner.invoke(app, ["eval", "CXNPS", "--", f"10,{word},3"])
    assert in_a_range.exit_code == 1 and "#VALUE!" in in_a_range.output and "(cell 2)" in in_a_range.output


# ---- a single number is an amount at period 0 -----------------------------
# Hand-derived oracle: benefits 100, 150, 200 and a one-off cost of 250 at
# period 0 (then 0, 0). Undiscounted: ROI = (450 - 250) / 250 = 0.8.
# At 10% per period: PV benefits = 100 + 150/1.1 + 200/1.21 = 401.652893,
# ROI = (401.652893 - 250) / 250 = 0.606612.
BENEFITS = [100, 150, 200]
PV_BENEFITS_10 = 100 + 150 / 1.1 + 200 / 1.21


def test_cxroi_reads_a_single_cost_as_period_0(excel):
    # before: #VALUE! "benefits and costs must have the same length (3 and 1)"
    assert excel("CXROI", BENEFITS, 250) == pytest.approx(0.8, abs=1e-12)
    assert excel("CXROI", BENEFITS, 250, 0.1) == pytest.approx((PV_BENEFITS_10 - 250) / 250, abs=1e-12)
    assert excel("CXROI", [BENEFITS], 250) == pytest.approx(0.8, abs=1e-12)  # a row works as a column does


def test_cxroi_reads_a_single_benefit_as_period_0(excel):
    # a benefit of 300 now against costs 100, 50, 50: (300 - 200) / 200 = 0.5
    assert excel("CXROI", 300, [100, 50, 50]) == pytest.approx(0.5, abs=1e-12)


def test_cxtei_reads_a_single_cost_as_period_0(excel):
    table = excel("CXTEI", BENEFITS, 250, 0.1)
    values = {row[0]: row[1] for row in table[1:]}
    assert values["PV benefits"] == pytest.approx(PV_BENEFITS_10, abs=1e-9)
    assert values["PV costs"] == pytest.approx(250, abs=1e-12)
    assert values["NPV"] == pytest.approx(PV_BENEFITS_10 - 250, abs=1e-9)
    # cumulative net: -150 at t=0, -150 + 150/1.1 = -13.636 at t=1, then
    # +165.289 in period 2, crossing zero within it (as -100, 30, 40, 50 pays
    # back after 2.6): 1 + 13.636364 / 165.289256 = 1.0825
    assert values["Payback (periods)"] == pytest.approx(1 + (150 - 150 / 1.1) / (200 / 1.21), abs=1e-9)


def test_series_of_different_lengths_are_still_refused(excel):
    assert excel("CXROI", BENEFITS, [250, 10]) == "#VALUE!"


def test_a_single_number_for_both_is_one_period(excel):
    assert excel("CXROI", 300, 200) == pytest.approx(0.5, abs=1e-12)


def test_single_cost_in_a_workbook_formula():
    # the same convention in the evaluator `cxroi-xl calc` uses
    from openpyxl import Workbook

    from cxroi_xl.calc.evaluator import Evaluator

    book = Workbook()
    sheet = book.active
    for row, benefit in enumerate(BENEFITS, start=2):
        sheet.cell(row, 2, benefit)
    sheet["C1"] = "=CXROI(B2:B4, 250)"
    assert Evaluator(book).value("Sheet", "C1") == pytest.approx(0.8, abs=1e-12)
