"""Conventions of the Excel layer that users rely on: text is text, a
single number given for a per-period series is an amount at period 0, and
every optional argument's help says its default."""
from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from cxroi_xl.cli import app
from cxroi_xl.excel import registry
from cxroi_xl.excel.declarations import WIZARD_LIMIT

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


# ---- every optional argument's help says its default ------------------------
# The help Excel's function wizard shows (the generated module's @xw.arg doc,
# MacroOptions, Lite) and `cxroi-xl functions` print is Arg.describe(): the
# default is added there, from the declared value, for every function.
OPTIONAL = [(fn.name, arg) for fn in registry.functions().values() for arg in fn.args if arg.optional]
# A default of None has no value to print: the help itself says what leaving
# the argument out does ("omit for ...", "Blank: ...", "default scale - 1").
SAYS_WHAT_OMITTING_DOES = re.compile(r"\b(omit|blank|default)\b", re.IGNORECASE)


@pytest.mark.parametrize("name, arg", OPTIONAL, ids=[f"{n}.{a.name}" for n, a in OPTIONAL])
def test_optional_argument_help_states_its_default(name, arg):
    text = arg.describe()
    assert "\n" not in text and len(text) <= WIZARD_LIMIT, (name, arg.name, len(text))
    if arg.default is None:
        assert text.endswith(" Optional."), text
        assert SAYS_WHAT_OMITTING_DOES.search(arg.help), f"{name}.{arg.name}: say what leaving it blank does"
        return
    found = re.search(r" Optional, default (.+)\.$", text)
    assert found, text
    shown = found.group(1)
    # read back as a user would type it in the cell, it is the declared default
    if isinstance(arg.default, str):
        assert shown == f'"{arg.default}"'
    else:
        assert float(shown) == arg.default and "e" not in shown.lower()


def test_defaults_of_cxroi_and_cxtei_are_kept():
    # CXROI undiscounted unless told, CXTEI at 10% per period (its TEI origin)
    assert {a.name: a.default for a in registry.get("CXROI").args if a.optional} == {"discount_rate": 0.0, "benefit_risk": 0.0, "cost_risk": 0.0}
    assert {a.name: a.default for a in registry.get("CXTEI").args if a.optional} == {"discount_rate": 0.1, "benefit_risk": 0.0, "cost_risk": 0.0}


def test_the_defaults_are_what_an_omitted_argument_gets(excel):
    # hand-derived: benefits 100, 150, 200, a one-off cost of 250. CXROI
    # undiscounted: (450 - 250) / 250; CXTEI at 10%: PV benefits
    # 100 + 150/1.1 + 200/1.21
    assert excel("CXROI", BENEFITS, 250) == pytest.approx(0.8, abs=1e-12)
    values = {row[0]: row[1] for row in excel("CXTEI", BENEFITS, 250)[1:]}
    assert values["PV benefits"] == pytest.approx(PV_BENEFITS_10, abs=1e-9)


def test_functions_command_prints_each_default():
    listing = runner.invoke(app, ["functions"])
    assert listing.exit_code == 0
    assert "discount_rate" in listing.output
    for fn in registry.functions().values():
        for arg in fn.args:
            assert arg.describe() in listing.output, (fn.name, arg.name)
    # CXTEI's rate, by name: the one default users most often ask about
    assert re.search(r"CXTEI\(.*?\n(?:.*\n)*?\s+discount_rate\s+Discount rate per period\. \[fraction per period\] Optional, default 0\.1\.", listing.output)
    as_json = json.loads(runner.invoke(app, ["functions", "--json"]).output)
    defaults = {(f["name"], a["name"]): a["default"] for f in as_json for a in f["args"]}
    assert defaults[("CXTEI", "discount_rate")] == "0.1" and defaults[("CXROI", "discount_rate")] == "0"
    assert defaults[("CXCOHORT", "period")] == '"M"' and defaults[("CXROI", "costs")] is None
