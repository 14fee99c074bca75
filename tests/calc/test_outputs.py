"""`cxroi-xl calc` never replaces or drops what the user made.

Findings of the second review, each reproduced here first: ``calc m.xlsm
-o m.xlsm`` exited 0 with the VBA project gone and the workbook's content
type plain (Excel refuses such a file), and ``calc p.xlsx -o p.xlsx``
turned the user's live formulas into values. Now the output may not be the
input (by path, symbolic link or hard link), and a macro-enabled workbook
stays one, its macro parts byte for byte, or is refused with the reason.
"""
from __future__ import annotations

import io
import os
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

from cxroi_xl.cli import app

runner = CliRunner()
MACRO_TYPE = b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"
VBA = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8  # stands for a VBA project: kept byte for byte


def _book() -> Workbook:
    book = Workbook()
    sheet = book.active
    sheet.title = "Sheet1"
    sheet["A1"] = "=CXPAYBACK({-100,30,40,50})"
    sheet["A2"] = "=A1*2"
    return book


def write_xlsm(path, vba: bool = True) -> bytes:
    """A macro-enabled workbook as Excel lays it out: the macro-enabled
    content type, xl/vbaProject.bin linked from the workbook."""
    buffer = io.BytesIO()
    _book().save(buffer)
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name in source.namelist():
            data = source.read(name)
            if name == "[Content_Types].xml":
                data = data.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", MACRO_TYPE)
                if vba:
                    data = data.replace(b"<Default ", b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/><Default ', 1)
            if name == "xl/_rels/workbook.xml.rels" and vba:
                data = data.replace(b"</Relationships>", b'<Relationship Id="rIdVBA" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/></Relationships>')
            out.writestr(name, data)
        if vba:
            out.writestr("xl/vbaProject.bin", VBA)
    return path.read_bytes()


def calc(*args):
    return runner.invoke(app, ["calc", *map(str, args)])


@pytest.mark.parametrize("suffix", [".xlsx", ".xlsm"])
def test_output_equal_to_the_input_is_refused_and_the_input_untouched(tmp_path, suffix):
    book = tmp_path / f"p{suffix}"
    before = write_xlsm(book) if suffix == ".xlsm" else (_book().save(book), book.read_bytes())[1]
    result = calc(book, "-o", book)
    assert result.exit_code == 2, result.output
    assert "calc never writes over its input" in result.output
    assert book.read_bytes() == before
    assert load_workbook(book)["Sheet1"]["A1"].value == "=CXPAYBACK({-100,30,40,50})"


def test_a_relative_path_to_the_input_is_refused(tmp_path, monkeypatch):
    _book().save(tmp_path / "p.xlsx")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    result = calc("../p.xlsx", "-o", "./../sub/../p.xlsx")
    assert result.exit_code == 2 and "calc never writes over its input" in result.output


@pytest.mark.parametrize("link", ["symbolic", "hard"])
def test_a_link_to_the_input_is_refused(tmp_path, link):
    book = tmp_path / "p.xlsx"
    _book().save(book)
    before = book.read_bytes()
    other = tmp_path / "other.xlsx"
    (os.symlink if link == "symbolic" else os.link)(book, other)
    result = calc(book, "-o", other)
    assert result.exit_code == 2 and "calc never writes over its input" in result.output, result.output
    assert book.read_bytes() == before and other.read_bytes() == before


def test_a_macro_workbook_keeps_its_macros(tmp_path):
    book, out = tmp_path / "m.xlsm", tmp_path / "values.xlsm"
    write_xlsm(book)
    result = calc(book, "-o", out)
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as written:
        assert written.read("xl/vbaProject.bin") == VBA
        assert MACRO_TYPE in written.read("[Content_Types].xml")
        assert b"vbaProject.bin" in written.read("xl/_rels/workbook.xml.rels")
    values = load_workbook(out)
    assert values["Sheet1"]["A1"].value == pytest.approx(2.6)
    assert values["Sheet1"]["A2"].value == "=A1*2"  # the user's native formula stays


def test_a_macro_workbook_written_as_xlsx_is_refused_with_the_reason(tmp_path):
    book, out = tmp_path / "m.xlsm", tmp_path / "values.xlsx"
    write_xlsm(book)
    result = calc(book, "-o", out)
    assert result.exit_code == 2
    assert "macro-enabled" in result.output and "values.xlsm" in result.output
    assert not out.exists()


def test_an_xlsx_is_not_written_under_an_xlsm_name(tmp_path):
    book, out = tmp_path / "p.xlsx", tmp_path / "values.xlsm"
    _book().save(book)
    result = calc(book, "-o", out)
    assert result.exit_code == 2 and "holds no macros" in result.output
    assert not out.exists()


def test_a_macro_enabled_workbook_without_a_project_stays_macro_enabled(tmp_path):
    book, out = tmp_path / "m.xlsm", tmp_path / "values.xlsm"
    write_xlsm(book, vba=False)
    assert calc(book, "-o", out).exit_code == 0
    with zipfile.ZipFile(out) as written:
        assert MACRO_TYPE in written.read("[Content_Types].xml")


def test_macros_the_writer_would_drop_refuse_the_file(tmp_path, monkeypatch):
    # a writer that loses the project (as openpyxl without keep_vba did) is caught before anything is written
    from cxroi_xl.calc import workbook as calc_workbook

    book, out = tmp_path / "m.xlsm", tmp_path / "values.xlsm"
    write_xlsm(book)
    real = calc_workbook.open_workbook
    monkeypatch.setattr(calc_workbook, "open_workbook", lambda path, limits, data_only=False, keep_vba=False, deadline=None: real(path, limits, data_only))
    result = calc(book, "-o", out)
    assert result.exit_code == 2 and "macros would be lost" in result.output, result.output
    assert not out.exists()
