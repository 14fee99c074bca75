"""The save's fast route against openpyxl's own writer.

Oracle: openpyxl's ``WorksheetWriter`` (lxml), which the fast route replaces
for the cells: both must give the same bytes, for every template, both
modes, a generated client, and cells of every kind openpyxl writes.
"""
from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.comments import Comment
from openpyxl.styles import Font
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.worksheet import Worksheet

from cxroi_xl.workbooks import build, common
from cxroi_xl.workbooks.cache import FormulaValues
from tests.workbooks.test_cache import client


class _OpenpyxlRows(common._FastWorksheetWriter):
    """The writer with openpyxl's own cell rendering."""

    def write_rows(self):
        common.WorksheetWriter.write_rows(self)


def _both(make) -> tuple[bytes, bytes]:
    fast = make()
    original = common._FastWorksheetWriter
    common._FastWorksheetWriter = _OpenpyxlRows
    try:
        slow = make()
    finally:
        common._FastWorksheetWriter = original
    return fast, slow


@pytest.mark.parametrize("name", list(build.BUILDERS))
@pytest.mark.parametrize("mode", ["live", "values"])
def test_templates_are_the_bytes_openpyxl_writes(name, mode):
    fast, slow = _both(lambda: build.template_bytes(name, mode))
    assert fast == slow


@pytest.mark.parametrize("mode", ["live", "values"])
def test_generated_client_is_the_bytes_openpyxl_writes(tmp_path, mode):
    def make():
        path = build.build_client_workbook(client(12), "cx_automation_roi", mode, tmp_path / "c.xlsx")
        return path.read_bytes()

    fast, slow = _both(make)
    assert fast == slow


def _odd_cells() -> Workbook:
    book = Workbook()
    ws: Worksheet = book.active
    ws["A1"], ws["A2"], ws["A3"] = 1, 2.5, 1e-300
    ws["A4"], ws["A5"] = True, False
    ws["A6"] = float("nan")
    ws["A7"] = dt.datetime(2024, 3, 1, 12, 30)
    ws["A8"] = dt.date(1900, 2, 1)  # before Excel's phantom 29 Feb 1900
    ws["A9"] = " padded text "
    ws["A10"] = 'a < b & "c" > d \r\n é ✓ 日本'
    ws["A11"] = "=SUM(A1:A3)&\"<x>\""
    ws["A12"] = ArrayFormula("A12:B13", "=CXNPSCI(A1:A3)")
    ws["A14"] = "#N/A"
    ws["A14"].data_type = "e"
    ws["A15"] = CellRichText(["plain ", TextBlock(InlineFont(b=True), "bold")])
    ws["A16"] = "link"
    ws["A16"].hyperlink = "https://example.org/a?b=1&c=2"
    ws["A17"].font = Font(bold=True)  # styled, no value
    ws["A18"] = ""
    ws["A19"] = "noted"
    ws["A19"].comment = Comment("a note", "me")
    ws["A20"] = 12345678901234567890
    ws.row_dimensions[21].height = 30  # a row with a height and no cells
    ws["A22"] = "="  # a formula of nothing
    return book


def test_cells_of_every_kind_are_the_bytes_openpyxl_writes():
    fast, slow = _both(lambda: common.workbook_bytes(_odd_cells()))
    assert fast == slow
    book = load_workbook(io.BytesIO(fast), rich_text=True)
    assert book.active["A10"].value == 'a < b & "c" > d \r\n é ✓ 日本'
    assert book.active["A16"].hyperlink.target == "https://example.org/a?b=1&c=2"
    assert book.active["A19"].comment.text == "a note"


def test_cached_values_go_into_the_rendered_cells():
    book = Workbook()
    book.active["A1"], book.active["A2"] = 2, "=A1*3"
    values = FormulaValues()
    values.set("Sheet", "A2", 6)
    xml = zipfile.ZipFile(io.BytesIO(common.workbook_bytes(book, values=values))).read("xl/worksheets/sheet1.xml").decode()
    assert '<c r="A2"><f>A1*3</f><v>6</v></c>' in xml


def test_notes_rendered_once_per_process_stay_each_workbooks_own():
    def noted(text: str) -> bytes:
        book = Workbook()
        book.active["A1"] = 1
        book.active["A1"].comment = Comment(text, "cxroi-xl")
        return common.workbook_bytes(book)

    first, second, again = noted("first note"), noted("second note"), noted("first note")
    assert first == again
    assert load_workbook(io.BytesIO(first)).active["A1"].comment.text == "first note"
    assert load_workbook(io.BytesIO(second)).active["A1"].comment.text == "second note"
