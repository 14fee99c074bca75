"""The private parts of openpyxl the workbook writer relies on
(cxroi_xl/workbooks/common.py): a subclass of WorksheetWriter, the cell
writer, and underscored attributes of cells, worksheets, workbooks and the
package writer. pyproject.toml holds openpyxl to the 3.1 series; this test
fails loudly, naming the part, if an openpyxl release changes any of them.
(That the fast writer's XML equals openpyxl's, byte for byte, is tested on
every template elsewhere.)
"""
from __future__ import annotations

import inspect
import io
from importlib.metadata import version

import openpyxl
from openpyxl import Workbook
from openpyxl.cell._writer import write_cell
from openpyxl.comments import Comment
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.writer.excel import ExcelWriter


def test_openpyxl_is_the_series_the_writer_was_built_on():
    major, minor = (int(p) for p in version("openpyxl").split(".")[:2])
    assert (major, minor) == (3, 1), f"openpyxl {version('openpyxl')}: the private writer interface below was written for 3.1"


def test_the_worksheet_writer_interface():
    for name in ("write", "write_rows", "rows", "read", "write_top", "write_tail"):
        assert callable(getattr(WorksheetWriter, name, None)), f"WorksheetWriter.{name}"
    assert list(inspect.signature(WorksheetWriter.__init__).parameters)[:3] == ["self", "ws", "out"]
    assert list(inspect.signature(write_cell).parameters) == ["xf", "worksheet", "cell", "styled"]
    ws = Workbook().active
    ws["A1"] = 1
    writer = WorksheetWriter(ws, out=io.BytesIO())
    assert hasattr(writer, "xf") and hasattr(writer, "_rels") and writer.ws is ws
    rows = list(writer.rows())
    assert rows and rows[0][0] == 1 and rows[0][1][0].coordinate == "A1"  # (row index, cells)
    writer.write()
    assert b"<sheetData" in writer.read()


def test_the_underscored_attributes_of_cells_sheets_and_books():
    wb = Workbook()
    ws = wb.active
    cell = ws["A1"]
    cell.value = "x"
    cell.comment = Comment("why", "cxroi-xl")
    for name in ("_value", "_style", "_comment", "data_type", "has_style", "style_id", "hyperlink", "coordinate"):
        assert hasattr(cell, name), f"Cell.{name}"
    assert cell._value == "x" and cell._comment is cell.comment
    for name in ("_comments", "_charts", "_images", "_rels", "legacy_drawing", "_drawing"):
        assert hasattr(ws, name), f"Worksheet.{name}"
    for name in ("_cell_styles", "_sheets", "vba_archive", "iso_dates", "epoch"):
        assert hasattr(wb, name), f"Workbook.{name}"
    assert hasattr(wb._differential_styles, "styles")
    for name in ("write_worksheet", "_write_comment", "_write_worksheets", "write_data"):
        assert callable(getattr(ExcelWriter, name, None)), f"ExcelWriter.{name}"
    import zipfile

    writer = ExcelWriter(wb, zipfile.ZipFile(io.BytesIO(), "w"))
    for name in ("_archive", "manifest", "workbook"):
        assert hasattr(writer, name), f"ExcelWriter.{name}"
    assert openpyxl.__version__ == version("openpyxl")
