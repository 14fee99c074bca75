"""``calc``'s second pass takes over what its first computed, and only that.

``calc`` evaluates a workbook twice: once to replace the add-in formulas by
their values (:func:`to_values`), once to give every other formula a cached
value (:func:`complete_values`). The second pass takes the first pass's
results of the formulas no add-in formula fed instead of computing them
again; those an add-in formula fed are computed again, reading the values
written in its place. Each case runs the second pass both ways and finds
the same values (errors with the same reasons), and the values worked out
by hand.
"""
from __future__ import annotations

import pytest
from openpyxl import Workbook
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.table import Table, TableColumn

from cxroi_xl.calc.evaluator import Evaluator
from cxroi_xl.calc.workbook import _to_values, complete_values
from cxroi_xl.workbooks.cache import FormulaValues

FLOWS = [-100, 30, 40, 50]


def _table_book(circle: bool = False) -> Workbook:
    """A table whose calculated column doubles each flow, add-in formulas
    reading it, and native formulas reading those or the table only."""
    book = Workbook()
    data = book.active
    data.title = "Data"
    data.append(["month", "flow", "double"])
    for month, flow in enumerate(FLOWS, start=1):
        data.append([month, flow, "=Flows[[#This Row],[flow]]*2"])
    columns = [TableColumn(id=i + 1, name=name) for i, name in enumerate(["month", "flow", "double"])]
    data.add_table(Table(displayName="Flows", ref="A1:C5", tableColumns=columns))
    calc = book.create_sheet("Calc")
    calc["B1"] = "=CXPAYBACK(Flows[flow])"  # cumulative -100, -70, -30, 20: 2 + 30/50 = 2.6 periods
    calc["B2"] = "=B1*10"  # fed by the add-in: 26
    calc["B3"] = "=SUM(Flows[double])"  # the table only: -200 + 60 + 80 + 100 = 40
    calc["B4"] = "=CXPAYBACK(Flows[double])"  # cumulative -200, -140, -60, 40: 2 + 60/100 = 2.6
    calc["B5"] = "=B3+B4"  # 42.6
    calc["B6"] = '=CXNPV("ten", Flows[flow])'  # the add-in refuses the rate: #VALUE!
    calc["B7"] = "=IFERROR(B6, -1)"  # -1
    calc["B8"] = "=B6"  # the error, as read from the value written in B6's place
    calc["B9"] = "=ROWS(Flows[flow])*Data!C2"  # the table only: 4 * -200 = -800
    # native formulas the first pass computes, because add-in formulas read them
    calc["B11"] = "=B1*10"  # fed by the add-in: 26
    calc["B12"] = "=CXNPV(0, B11)"
    calc["B13"] = "=SUM(Flows[flow])"  # the table only: 20
    calc["B14"] = "=CXNPV(0, B13)"
    calc["B15"] = "=B6"  # the add-in's error: its reason changes once B6 holds a value
    calc["B16"] = "=CXNPV(0, B15)"
    if circle:
        calc["C1"], calc["C2"] = "=C2+1", "=C1+1"
        calc["B10"] = "=CXPAYBACK(Flows[flow])+C1*0"  # the add-in's pass meets the circle
    return book


def _spill_book() -> Workbook:
    book = Workbook()
    sheet = book.active
    sheet.title = "S"
    sheet["A1"], sheet["A2"], sheet["B1"], sheet["B2"] = 100, 200, 10, 50
    sheet["C1"] = "=CXCHURN(A1:A2, B1:B2)"  # spills 10/100, 50/200 into C1:C2
    sheet["D2"] = "=C2*100"  # a cell of the spill: 25
    sheet["E1"] = "=SUM(A1:B2)"  # the data only: 360
    return book


def _second_pass(book: Workbook, take_over: bool) -> dict[str, object]:
    """Every native formula's value after both passes, by cell; an error as (code, reason)."""
    _, first = _to_values(book, None)
    values = FormulaValues()
    complete_values(book, values, before=first if take_over else None)
    found = {}
    for sheet in book.worksheets:
        for (row, col), cell in sheet._cells.items():
            if values.has(sheet.title, row, col):
                value = values.get(sheet.title, row, col)
                found[f"{sheet.title}!{cell.coordinate}"] = (str(value), value.reason) if hasattr(value, "reason") else value
    return found


def test_the_second_pass_finds_the_same_with_or_without_taking_over():
    taken = _second_pass(_table_book(), take_over=True)
    assert taken == _second_pass(_table_book(), take_over=False)
    assert [taken[f"Data!C{row}"] for row in range(2, 6)] == [-200.0, 60.0, 80.0, 100.0]
    assert taken["Calc!B2"] == pytest.approx(26.0)
    assert taken["Calc!B3"] == 40.0
    assert taken["Calc!B5"] == pytest.approx(42.6)
    assert taken["Calc!B7"] == -1.0
    code, reason = taken["Calc!B8"]
    assert code == "#VALUE!" and "B6" in reason  # read from the value written in B6's place
    assert taken["Calc!B9"] == -800.0
    assert taken["Calc!B11"] == pytest.approx(26.0)
    assert taken["Calc!B13"] == 20.0
    assert taken["Calc!B15"] == taken["Calc!B8"]


def test_only_what_no_add_in_fed_is_taken_over():
    book = _table_book()
    _, first = _to_values(book, None)
    taken = set(Evaluator(book, before=first)._results)
    # the calculated column and B13, computed for the add-in formulas that read them; not B11 or B15
    assert taken == {("Data", row, 3) for row in range(2, 6)} | {("Calc", 13, 2)}


def test_nothing_is_taken_over_after_a_circular_reference():
    book = _table_book(circle=True)
    _, first = _to_values(book, None)
    assert Evaluator(book, before=first)._results == {}
    assert _second_pass(_table_book(circle=True), take_over=True) == _second_pass(_table_book(circle=True), take_over=False)


def test_a_cell_of_an_add_in_spill_is_read_again():
    taken = _second_pass(_spill_book(), take_over=True)
    assert taken == _second_pass(_spill_book(), take_over=False)
    assert taken["S!D2"] == pytest.approx(25.0)
    assert taken["S!E1"] == 360.0
    book = _spill_book()
    _, first = _to_values(book, None)
    assert ("S", 2, 4) not in Evaluator(book, before=first)._results


def test_nothing_is_taken_over_when_a_formula_read_before_is_blanked():
    def book() -> Workbook:
        book = Workbook()
        sheet = book.active
        sheet.title = "S"
        sheet["E1"], sheet["E2"], sheet["F1"], sheet["F2"] = 100, 200, 10, 50
        sheet["A1"] = ArrayFormula("A1:B2", "=CXCHURN(E1:E2, F1:F2)")  # its saved range is blanked when it is replaced
        sheet["B2"] = "=5"  # a formula inside that range
        sheet["C1"] = "=B2*2"
        sheet["D1"] = "=CXNPV(0, C1)"  # so the first pass computes C1
        return book

    assert _second_pass(book(), take_over=True) == _second_pass(book(), take_over=False) == {"S!C1": 0.0}


def test_what_an_add_in_array_formula_saved_in_its_range_is_read_again():
    def book() -> Workbook:
        book = Workbook()
        sheet = book.active
        sheet.title = "S"
        sheet["A1"] = ArrayFormula("A1:B2", "=CXNPV(0, {1,2})")  # one value: its saved range is blanked when it is replaced
        sheet["B1"], sheet["B2"] = 7, 8  # values saved in that range
        sheet["C1"], sheet["C2"] = "=B1", "=B2"
        sheet["D1"] = "=CXNPV(0, C1, C2)"  # so the first pass computes C1, then C2
        return book

    assert _second_pass(book(), take_over=True) == _second_pass(book(), take_over=False) == {"S!C1": None, "S!C2": None}


def test_a_value_in_an_array_formula_s_saved_range_is_read_again():
    def book() -> Workbook:
        book = Workbook()
        sheet = book.active
        sheet.title = "S"
        sheet["A1"] = ArrayFormula("A1:A3", "=B1:B2*2")  # two rows of result saved over three
        sheet["B1"], sheet["B2"] = 1, 2
        sheet["A3"] = 99  # saved in the range, outside the result: #N/A until the second pass shrinks the range
        sheet["D1"] = "=A3"
        sheet["E1"] = "=CXNPV(0, D1)"  # so the first pass computes D1
        return book

    assert _second_pass(book(), take_over=True) == _second_pass(book(), take_over=False)
    assert _second_pass(book(), take_over=True)["S!D1"] == 99
