"""A required argument left out is named, in a cell and on the command line.

Before: CXROI(B2:B4) read the missing costs as a range of one blank, i.e.
costs 0, 0, 0, and answered #DIV/0! "the present value of the costs is
zero", which sent the user looking for a wrong number instead of the
missing argument. Now every call (xlwings, the evaluator of `cxroi-xl calc`,
`cxroi-xl eval`) goes through one check in the dispatch and answers
#VALUE! with "argument 'costs' is missing".
"""
from __future__ import annotations

import logging

import pytest
from typer.testing import CliRunner

from cxroi_xl.cli import app
from cxroi_xl.excel import registry
from cxroi_xl.excel.dispatch import ExcelError, call

runner = CliRunner()
BENEFITS = [[1000.0], [1200.0]]  # a column of two periods, as Excel sends it

REQUIRED = [(fn.name, arg.name) for fn in registry.functions().values() for arg in fn.args if not arg.optional]


def _reasons(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "cxroi_xl"]


@pytest.mark.parametrize("given", [None, [[""]]], ids=["omitted", "blank cell"])
def test_cell_formula_without_costs_names_the_argument(excel, caplog, given):
    # =CXROI(B2:B3) and =CXROI(B2:B3, C2) with C2 blank, through xlwings' own dispatcher
    with caplog.at_level(logging.INFO, logger="cxroi_xl"):
        answer = excel.raw("CXROI", BENEFITS, given, None, None, None)
    assert answer == [["#VALUE!"]]
    assert any("argument 'costs' is missing" in message for message in _reasons(caplog)), _reasons(caplog)
    assert not any("#DIV/0!" in message for message in _reasons(caplog))


@pytest.mark.parametrize("name, missing", REQUIRED, ids=[f"{n}.{a}" for n, a in REQUIRED])
def test_every_required_argument_is_named_when_missing(excel, caplog, name, missing):
    """Registry-wide: each required argument left blank, the others given
    (any non-blank cell: the check comes before any conversion)."""
    fn = registry.get(name)
    args = [None if arg.optional else [[1.0]] for arg in fn.args]
    args[[arg.name for arg in fn.args].index(missing)] = None
    with caplog.at_level(logging.INFO, logger="cxroi_xl"):
        answer = excel.raw(name, *args)
    assert answer == [["#VALUE!"]]
    assert f"{name} returned #VALUE!: argument '{missing}' is missing" in _reasons(caplog)
    direct = call(name, *args)  # the headless evaluator's and Lite's route
    assert isinstance(direct, ExcelError) and direct.reason == f"argument '{missing}' is missing"


def test_an_empty_range_and_blank_text_are_missing_too():
    for nothing in ([], [[]], "", [[None]]):
        result = call("CXNPV", 0.08, nothing)
        assert isinstance(result, ExcelError) and result == "#VALUE!" and result.reason == "argument 'cashflows' is missing", nothing


def test_the_first_missing_argument_is_named():
    result = call("CXROI")
    assert result == "#VALUE!" and result.reason == "argument 'benefits' is missing"


def test_a_blank_optional_argument_still_takes_its_default(excel):
    # CXROI's discount rate defaults to 0 (undiscounted), by hand:
    # benefits 1000 + 1200, costs 1500 at period 0: (2200 - 1500) / 1500
    assert excel.raw("CXROI", BENEFITS, [[1500.0]], [[""]], None, None) == [[pytest.approx(700 / 1500, abs=1e-12)]]


def test_too_many_arguments_is_said_as_such():
    result = call("CXNPS", [[9.0]], 1, 2)
    assert result == "#VALUE!" and result.reason == "at most 1 argument, got 3"


def test_workbook_formula_without_costs_in_the_evaluator():
    from openpyxl import Workbook

    from cxroi_xl.calc.evaluator import Evaluator

    book = Workbook()
    sheet = book.active
    for row, benefit in enumerate((100, 150, 200), start=2):
        sheet.cell(row, 2, benefit)
    sheet["C1"] = "=CXROI(B2:B4)"
    sheet["C2"] = "=CXROI(B2:B4, D2)"  # D2 blank
    sheet["C3"] = "=CXROI(B2:B4, )"
    evaluator = Evaluator(book)
    for cell in ("C1", "C2", "C3"):
        value = evaluator.value("Sheet", cell)
        assert value == "#VALUE!" and value.reason == "argument 'costs' is missing", cell


# ---- the command line ---------------------------------------------------------


@pytest.mark.parametrize("args", [["1000,1200"], ["1000,1200", ""]], ids=["omitted", "empty"])
def test_eval_names_the_missing_argument_and_exits_2(args):
    result = runner.invoke(app, ["eval", "CXROI", *args])
    assert result.exit_code == 2, result.output
    assert "CXROI: argument 'costs' is missing" in result.output
    assert "#DIV/0!" not in result.output
    assert "CXROI(benefits, costs, [discount_rate], [benefit_risk], [cost_risk])" in result.output  # what to type instead


def test_eval_without_any_argument_names_the_first():
    result = runner.invoke(app, ["eval", "cxnpv"])
    assert result.exit_code == 2 and "CXNPV: argument 'rate' is missing" in result.output


def test_eval_with_too_many_arguments_exits_2():
    result = runner.invoke(app, ["eval", "CXNPS", "9,10", "1"])
    assert result.exit_code == 2 and "CXNPS: at most 1 argument, got 2" in result.output


def test_eval_still_computes_with_every_required_argument():
    # hand-derived: (1000 + 1200 - 1500) / 1500, undiscounted by default
    result = runner.invoke(app, ["eval", "CXROI", "1000,1200", "1500"])
    assert result.exit_code == 0, result.output
    assert float(result.output) == pytest.approx(700 / 1500, rel=1e-12)
