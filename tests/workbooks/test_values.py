"""Values mode and `cxroi-xl calc`.

Oracles: the add-in results written into the workbook are checked against
direct engine calls (cxroi_xl.engine.finance, itself checked against published
examples in test_finance.py) on benefits derived by hand from the table data
below with the ROI model of the templates; the native formulas that remain
are checked by LibreOffice recalculating the values workbook. Tolerance
1e-12 relative throughout.
"""
from __future__ import annotations

from pathlib import Path

import datetime as dt
import math
import os

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.table import Table
from typer.testing import CliRunner

from cxroi_xl.engine import finance
from cxroi_xl.cli import app
from cxroi_xl.excel import ExcelError
from cxroi_xl.workbooks import libreoffice
from cxroi_xl.workbooks.values import COMMENT_AUTHOR
from cxroi_xl.calc.workbook import calc_file, to_values

RELATIVE = 1e-12
BASELINE = [(1000, 400.0, 30.0), (1100, 420.0, 30.0), (950, 380.0, 31.0)]  # contacts, agent hours, hourly cost
POST = [(1000, 300.0, 31.0, 2500.0), (1050, 250.0, 31.0, 800.0), (1200, 240.0, 32.0, 800.0)]  # ... + automation cost
POST_ADDED = [(1250, 230.0, 32.0, 800.0), (1300, 220.0, 32.0, 800.0)]

BENEFIT = "=Post[[#This Row],[contacts]]*BaselineCPC-Post[[#This Row],[agent_hours]]*Post[[#This Row],[hourly_cost]]"


def _name(book: Workbook, name: str, target: str) -> None:
    book.defined_names[name] = DefinedName(name, attr_text=target)


def tracker() -> Workbook:
    """A small live ROI tracker in the templates' style."""
    book = Workbook()
    inputs = book.active
    inputs.title = "Inputs"
    for row, (label, value, name) in enumerate([("annual discount rate", 0.10, "DiscountRate"), ("benefit risk", 0.10, "BenefitRisk"), ("cost risk", 0.05, "CostRisk")], start=1):
        inputs.cell(row, 1, label)
        inputs.cell(row, 2, value)
        _name(book, name, f"Inputs!$B${row}")

    baseline = book.create_sheet("Baseline")
    baseline.append(["month", "contacts", "agent_hours", "hourly_cost"])
    for month, row in enumerate(BASELINE, start=1):
        baseline.append([dt.datetime(2023, month, 1), *row])
    baseline.add_table(Table(displayName="Baseline", ref=f"A1:D{len(BASELINE) + 1}"))

    post = book.create_sheet("Post-automation")
    post.append(["month", "contacts", "agent_hours", "hourly_cost", "automation_cost", "benefit"])
    for month, row in enumerate(POST, start=1):
        post.append([dt.datetime(2024, month, 1), *row, BENEFIT])
    post.add_table(Table(displayName="Post", ref=f"A1:F{len(POST) + 1}"))

    roi = book.create_sheet("ROI")
    roi["A1"], roi["B1"] = "baseline cost per contact", "=SUMPRODUCT(Baseline[agent_hours], Baseline[hourly_cost])/SUM(Baseline[contacts])"
    roi["A2"], roi["B2"] = "monthly rate", "=(1+DiscountRate)^(1/12)-1"
    _name(book, "BaselineCPC", "ROI!$B$1")
    _name(book, "MonthlyRate", "ROI!$B$2")
    roi["A4"] = "=CXTEI(Post[benefit], Post[automation_cost], MonthlyRate, BenefitRisk, CostRisk)"  # spills A4:B9
    roi["D4"] = "=B8*100"  # native, reads the ROI out of the spill
    roi["D5"] = '="ROI "&TEXT(B8, "0.0%")'
    roi["D6"] = "=_xlfn.CXNPV(MonthlyRate, Post[benefit])"
    roi["D7"] = "=IFERROR(CXPAYBACK({-100, 1}), \"never\")"
    roi["D8"] = "=CXPAYBACK({-100, 1})"
    return book


def _oracle(discount_rate=0.10, post=POST):
    """The ROI model by hand: baseline cost per contact, monthly benefits, TEI."""
    cost_per_contact = sum(h * c for _, h, c in BASELINE) / sum(n for n, _, _ in BASELINE)
    benefits = [n * cost_per_contact - h * c for n, h, c, _ in post]
    costs = [a for *_, a in post]
    rate = (1 + discount_rate) ** (1 / 12) - 1
    return benefits, costs, rate, finance.tei(benefits, costs, rate, 0.10, 0.05)


def _close(a, b) -> bool:
    return math.isclose(a, b, rel_tol=RELATIVE)


def test_addin_formulas_become_values_and_native_formulas_stay():
    book = tracker()
    replaced = to_values(book)
    roi = book["ROI"]
    benefits, costs, rate, tei = _oracle()
    assert [(r.sheet, r.cell) for r in replaced] == [("ROI", "A4"), ("ROI", "D6"), ("ROI", "D7"), ("ROI", "D8")]
    assert [roi[f"A{r}"].value for r in range(4, 10)] == ["Metric", "PV benefits", "PV costs", "NPV", "ROI", "Payback (periods)"]
    for row, expected in zip(range(5, 10), [tei.pv_benefits, tei.pv_costs, tei.npv, tei.roi, tei.payback]):
        assert _close(roi[f"B{row}"].value, expected)
    assert _close(roi["D6"].value, finance.npv(rate, benefits))
    assert roi["D7"].value == "never" and roi["D7"].data_type == "s"
    assert roi["D4"].value == "=B8*100" and roi["B1"].value.startswith("=SUMPRODUCT(")  # native formulas kept
    assert book["Post-automation"]["F2"].value == BENEFIT
    note = roi["A4"].comment
    assert note.author == COMMENT_AUTHOR and "=CXTEI(Post[benefit], Post[automation_cost], MonthlyRate, BenefitRisk, CostRisk)" in note.text
    assert "_xlfn" not in roi["D6"].comment.text and "=CXNPV(MonthlyRate, Post[benefit])" in roi["D6"].comment.text


def test_error_results_are_error_cells_with_the_reason_in_the_note():
    book = tracker()
    book["ROI"]["B7"] = "in the way"  # blocks the CXTEI spill
    replaced = {r.cell: r.value for r in to_values(book)}
    roi = book["ROI"]
    assert roi["D8"].value == "#N/A" and roi["D8"].data_type == "e"
    assert "never" in roi["D8"].comment.text.lower()
    assert replaced["A4"] == "#SPILL!" and isinstance(replaced["A4"], ExcelError)
    assert roi["A4"].value == "#N/A" and roi["A4"].data_type == "e"  # older programs cannot read #SPILL! from a file
    assert "#SPILL!" in roi["A4"].comment.text and "B7" in roi["A4"].comment.text
    assert roi["B7"].value == "in the way"


def test_a_user_note_is_kept():
    from openpyxl.comments import Comment

    book = tracker()
    book["ROI"]["D6"].comment = Comment("check with the bank", "Dana")
    to_values(book)
    text = book["ROI"]["D6"].comment.text
    assert text.startswith("check with the bank") and "=CXNPV(" in text


def _edited_by_a_user(path):
    """What a user does in Excel: rows added to a table, an input changed,
    and CX formulas typed over plain ranges on a new sheet."""
    book = load_workbook(path)
    post = book["Post-automation"]
    table = post.tables["Post"]
    first = len(POST) + 2
    for offset, row in enumerate(POST_ADDED):
        post.append([dt.datetime(2024, first - 1 + offset, 1), *row, BENEFIT])
    table.ref = f"A1:F{len(POST) + len(POST_ADDED) + 1}"
    table.autoFilter.ref = table.ref
    book["Inputs"]["B1"] = 0.12
    mine = book.create_sheet("Mine")
    for row, (benefit, cost) in enumerate([(0, 500), (300, 50), (350, 50), (400, 50)], start=1):
        mine.cell(row, 1, benefit)
        mine.cell(row, 2, cost)
    mine["D1"] = "=CXROI(A1:A4, B1:B4)"
    mine["D2"] = "=CXTEI(A1:A4, B1:B4, 0.01)"
    book.save(path)


@pytest.fixture(scope="module")
def calculated(tmp_path_factory):
    """The live tracker, edited by a user, through `cxroi-xl calc`, then
    recalculated by LibreOffice (one start for the whole module)."""
    folder = tmp_path_factory.mktemp("calc")
    live = folder / "live.xlsx"
    tracker().save(live)
    _edited_by_a_user(live)
    result = CliRunner().invoke(app, ["calc", str(live), "-o", str(folder / "values.xlsx")])
    assert result.exit_code == 1, result.output  # ROI!D8 is an intended error cell: listed, exit 1, the rest written
    recalculated = libreoffice.recalculate(folder / "values.xlsx", folder / "lo")
    return folder / "values.xlsx", libreoffice.read_values(recalculated), result.output


def test_calc_honours_the_users_edits(calculated):
    path, _, output = calculated
    roi = load_workbook(path)["ROI"]
    benefits, costs, rate, tei = _oracle(discount_rate=0.12, post=POST + POST_ADDED)
    for row, expected in zip(range(5, 10), [tei.pv_benefits, tei.pv_costs, tei.npv, tei.roi, tei.payback]):
        assert _close(roi[f"B{row}"].value, expected), row
    assert _close(roi["D6"].value, finance.npv(rate, benefits))
    mine = load_workbook(path)["Mine"]
    assert _close(mine["D1"].value, finance.roi([0, 300, 350, 400], [500, 50, 50, 50]))
    assert mine["D7"].value == "Payback (periods)"  # CXTEI spilled D2:E7
    assert _close(mine["E7"].value, finance.tei([0, 300, 350, 400], [500, 50, 50, 50], 0.01).payback)
    assert "6 add-in formula(s)" in output and "ROI!D8" in output  # the error cell is reported


def test_values_workbook_recalculates_in_libreoffice_without_errors(calculated):
    path, recalculated, _ = calculated
    errors = [(sheet, cell, v) for sheet, cells in recalculated.items() for cell, v in cells.items() if isinstance(v, ExcelError)]
    assert errors == [("ROI", "D8", "#N/A")]  # CXPAYBACK({-100, 1}) never pays back: an intended error
    _, _, _, tei = _oracle(discount_rate=0.12, post=POST + POST_ADDED)
    assert _close(recalculated["ROI"]["D4"], 100 * tei.roi)  # native formula over a written value
    assert recalculated["ROI"]["D5"] == f"ROI {100 * tei.roi:.1f}%"
    assert _close(recalculated["ROI"]["B8"], tei.roi)


def test_calc_writes_whole_or_not_at_all(tmp_path, monkeypatch):
    live = tmp_path / "live.xlsx"
    tracker().save(live)
    out = tmp_path / "out.xlsx"
    out.write_bytes(b"previous result")

    def broken_sync(fd):  # half a workbook is in the temporary file when the disk fills
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_sync)
    result = CliRunner().invoke(app, ["calc", str(live), "-o", str(out)])
    assert result.exit_code == 1 and "disk full" in result.output and "out.xlsx" in result.output
    assert out.read_bytes() == b"previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.xlsx", "out.xlsx"]


def test_calc_file_report(tmp_path):
    live = tmp_path / "live.xlsx"
    tracker().save(live)
    report = calc_file(live, tmp_path / "values.xlsx")
    assert report.output.is_file() and len(report.replaced) == 4
    assert [(sheet, cell, error) for sheet, cell, _, error, _ in report.errors] == [("ROI", "D8", "#N/A")]


def test_calc_keeps_a_users_dynamic_arrays_dynamic(tmp_path):
    """A dynamic array saved by Excel (XlsxWriter writes the same XML) stays
    one after calc: cm on the anchor, the metadata part, cached values; an
    add-in spill becomes values."""
    import re
    import zipfile

    xlsxwriter = pytest.importorskip("xlsxwriter")
    source = tmp_path / "user.xlsx"
    book = xlsxwriter.Workbook(str(source))
    sheet = book.add_worksheet("Data")
    for i, v in enumerate([3, 5, 8]):
        sheet.write(i, 0, v)
    sheet.write_dynamic_array_formula("B1:B3", "=A1:A3*2")
    sheet.write_dynamic_array_formula("C1:D1", "=CXNPSCI(A1:A3)")
    book.close()
    out = tmp_path / "out.xlsx"
    calc_file(source, out)
    with zipfile.ZipFile(out) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
        assert "xl/metadata.xml" in archive.namelist()
        assert "sheetMetadata" in archive.read("[Content_Types].xml").decode()
    assert re.search(r'<c r="B1"[^>]*cm="1"[^>]*><f t="array" ref="B1:B3">A1:A3\*2</f><v>6</v></c>', xml)
    assert not re.search(r'<c r="C1"[^>]*cm=', xml)  # the add-in spill is now values
    from openpyxl import load_workbook

    shown = load_workbook(out, data_only=True)["Data"]
    assert [shown[f"B{r}"].value for r in (1, 2, 3)] == [6, 10, 16]


def _saved_with_values(path: Path) -> Path:
    """A workbook as Excel saves it: functions the headless calculation
    does not know (XLOOKUP, SORT as an array), their saved results, and
    formulas reading them. The saved values are what Excel computes,
    worked out by hand from B1:C3."""
    from openpyxl.worksheet.formula import ArrayFormula

    from cxroi_xl.workbooks.cache import FormulaValues
    from cxroi_xl.workbooks.common import write_atomic, workbook_bytes

    book = Workbook()
    sheet = book.active
    for r, (b, c) in enumerate(((3, 30), (1, 10), (2, 20)), start=1):
        sheet.cell(r, 2, b)
        sheet.cell(r, 3, c)
    sheet["A1"] = "=_xlfn.XLOOKUP(2,B1:B3,C1:C3)"  # 20
    sheet["A2"] = "=A1*2"  # 40
    sheet["A3"] = "=IFERROR(_xlfn.XLOOKUP(9,B1:B3,C1:C3),-1)"  # not found: -1
    sheet["A4"] = "=B1+1"  # computed here: 4
    sheet["A5"] = ArrayFormula("A5:A7", "=_xlfn._xlws.SORT(B1:B3)")  # 1, 2, 3
    sheet["A6"], sheet["A7"] = 2, 3  # the rest of the spill, as Excel saves it
    sheet["A8"] = "=SUM(A5:A7)"  # 6
    sheet["D1"] = "=CXNPV(0.1,A5:A7)"  # an add-in formula over the SORT
    values = FormulaValues()
    for coordinate, value in (("A1", 20), ("A2", 40), ("A3", -1), ("A4", 4), ("A5", 1), ("A8", 6), ("D1", 0.0)):
        values.set("Sheet", coordinate, value)
    return write_atomic(path, workbook_bytes(book, values=values, ours=False))


def test_calc_keeps_the_saved_values_of_formulas_it_cannot_compute(tmp_path):
    source = _saved_with_values(tmp_path / "saved.xlsx")
    report = calc_file(source, tmp_path / "out.xlsx")
    shown = load_workbook(report.output, data_only=True)["Sheet"]
    # what Excel shows for the formulas the interpreter lacks, and for
    # those reading them: never a number IFERROR made out of a #NAME?
    assert [shown[c].value for c in ("A1", "A2", "A3", "A5", "A6", "A7", "A8")] == [20, 40, -1, 1, 2, 3, 6]
    assert shown["A4"].value == 4  # computed here
    assert sorted(report.kept) == [("Sheet", c) for c in ("A1", "A2", "A3", "A5", "A6", "A7", "A8")]
    assert report.not_computed == []
    # the add-in formula reading the SORT is not computed here either: its
    # note says why, instead of a wrong NPV of #NAME? cells
    assert shown["D1"].value == "#NAME?"
    assert "not computed here" in load_workbook(report.output)["Sheet"]["D1"].comment.text
    # the formulas stay, for Excel to recalculate on open
    formulas = load_workbook(report.output)["Sheet"]
    assert formulas["A1"].value.startswith("=") and formulas["A8"].value == "=SUM(A5:A7)"


def test_calc_says_which_formulas_it_could_not_compute(tmp_path):
    book = Workbook()
    book.active["A1"] = "=_xlfn.XLOOKUP(2,B1:B3,C1:C3)"  # saved by openpyxl: no value
    book.save(tmp_path / "bare.xlsx")
    result = CliRunner().invoke(app, ["calc", str(tmp_path / "bare.xlsx"), "-o", str(tmp_path / "out.xlsx")])
    assert result.exit_code == 0, result.output
    assert "not computed here" in result.output and "Sheet!A1" in result.output
    cell = load_workbook(tmp_path / "out.xlsx", data_only=True)["Sheet"]["A1"]
    assert cell.value == "#NAME?"
