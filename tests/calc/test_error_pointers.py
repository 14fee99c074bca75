"""Errors point at their cause: a bad input shows its own error value in
every cell that uses it, and the data check names the very cell ``calc``
names."""
from __future__ import annotations

import re

from openpyxl import load_workbook
from typer.testing import CliRunner

from cxroi_xl.cli import app
from cxroi_xl.workbooks import build
from cxroi_xl.workbooks.libreoffice import read_values, recalculate


def _filled(tmp_path, **cells):
    path = tmp_path / "template.xlsx"
    path.write_bytes(build.template_bytes("cx_automation_roi", "live"))
    wb = load_workbook(path)
    for where, value in cells.items():
        sheet, coordinate = where.split("!")
        wb[sheet.replace("_", "-") if sheet == "Post_automation" else sheet][coordinate] = value
    bad = tmp_path / "bad.xlsx"
    wb.save(bad)
    return bad


def test_text_as_the_discount_rate_shows_value_in_the_headline_not_an_index_ref(tmp_path):
    """CXTEI answers one #VALUE! for a text rate; INDEX of that error is the
    error itself (as in Excel), never INDEX's own #REF! 'position (2, 2) is
    outside the 1x1 range'."""
    bad = _filled(tmp_path, **{"Inputs!B7": "ten"})
    out = tmp_path / "out.xlsx"
    result = CliRunner().invoke(app, ["calc", str(bad), "-o", str(out)])
    assert "outside the 1x1 range" not in result.output
    roi = load_workbook(out)["ROI"]
    for row in range(6, 11):
        for col in "CDE":
            value = roi[f"{col}{row}"].value
            assert value in ("#VALUE!", "not reached") or not isinstance(value, str) or not value.startswith("#"), (col, row, value)
    assert roi["C6"].value == "#VALUE!" and roi["C8"].value == "#VALUE!"
    assert "#REF!" not in {roi[f"{c}{r}"].value for r in range(6, 18) for c in "CDE"}


def test_the_data_check_names_the_cell_calc_names(tmp_path):
    """Text typed into Baseline!B6: calc's own report and the workbook's
    data check (recalculated by LibreOffice) both say 'Baseline'!B6."""
    bad = _filled(tmp_path, **{"Baseline!B6": "oops"})
    out = tmp_path / "out.xlsx"
    result = CliRunner().invoke(app, ["calc", str(bad), "-o", str(out)])
    assert re.search(r"Baseline'?!B6\b", result.output), result.output[-2000:]
    roi = read_values(recalculate(out, tmp_path / "lo"))["ROI"]
    assert roi["C19"] == 1
    assert roi["D19"] == "first: 'Baseline'!B6"
