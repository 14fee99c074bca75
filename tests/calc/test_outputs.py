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


# -- errors of Excel's own formulas are listed, exit 1 ------------------------------------
# Found by the second review: circular defined names and {=SUM(A:XFD*1)}
# gave #REF! with exit 0 and no listing. Now every formula cell (an
# add-in's or Excel's own, each cell of an array formula's range) whose
# value is an error is listed with its sheet, cell, error and reason, and
# calc exits 1; error values typed in as constants are the user's data, not
# a formula's failure, and are not listed.
def _erring_book(path):
    from openpyxl.workbook.defined_name import DefinedName
    from openpyxl.worksheet.formula import ArrayFormula

    book = _book()
    sheet = book["Sheet1"]
    book.defined_names["Loop1"] = DefinedName("Loop1", attr_text="Loop2")
    book.defined_names["Loop2"] = DefinedName("Loop2", attr_text="Loop1")
    sheet["B1"] = "=Loop1"  # a name defined by a name defined by it
    sheet["B2"] = "=1/0"
    sheet["C1"] = "#N/A"  # an error value typed in: the user's, not a formula's
    sheet["D1"] = ArrayFormula("D1", "=SUM(A1:B1*1)")  # the sum meets B1's #REF!
    book.save(path)


def test_errors_of_excels_own_formulas_are_listed_and_exit_1(tmp_path):
    book, out = tmp_path / "p.xlsx", tmp_path / "values.xlsx"
    _erring_book(book)
    result = runner.invoke(app, ["calc", str(book), "-o", str(out)], terminal_width=300)
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "Sheet1!B1 #REF!: the name Loop1 refers to itself (formula =Loop1)" in text
    assert "Sheet1!B2 #DIV/0!: division by zero (formula =1/0)" in text
    assert "Sheet1!D1 #REF!: the name Loop1 refers to itself (formula =SUM(A1:B1*1))" in text
    assert "Sheet1!C1" not in text  # typed in, not computed
    assert "3 cell(s) ended in an error" in text
    values = load_workbook(out, data_only=True)["Sheet1"]  # written all the same
    assert (values["A1"].value, values["A2"].value, values["B1"].value, values["B2"].value) == (pytest.approx(2.6), pytest.approx(5.2), "#REF!", "#DIV/0!")


def test_a_whole_sheet_array_formula_lists_its_error(tmp_path):
    from openpyxl.worksheet.formula import ArrayFormula

    book, out = tmp_path / "p.xlsx", tmp_path / "values.xlsx"
    workbook = _book()
    workbook["Sheet1"]["C1"] = ArrayFormula("C1", "=SUM(A:XFD*1)")  # the review's case: it reads itself
    workbook.save(book)
    result = runner.invoke(app, ["calc", str(book), "-o", str(out)], terminal_width=300)
    assert result.exit_code == 1, result.output
    assert "Sheet1!C1 #REF!" in " ".join(result.output.split()) and "1 cell(s) ended in an error" in " ".join(result.output.split())


def test_an_add_in_error_and_a_native_error_are_both_counted(tmp_path):
    book, out = tmp_path / "p.xlsx", tmp_path / "values.xlsx"
    workbook = _book()
    workbook["Sheet1"]["B1"] = "=CXPAYBACK({-100,1})"  # never pays back: the add-in's #N/A on purpose
    workbook["Sheet1"]["B2"] = "=B1+1"  # Excel's own formula meets it
    workbook.save(book)
    result = runner.invoke(app, ["calc", str(book), "-o", str(out)], terminal_width=300)
    text = " ".join(result.output.split())
    assert result.exit_code == 1
    assert "Sheet1!B1 #N/A: the cumulative cash flow never reaches zero" in text
    assert "Sheet1!B2 #N/A: Sheet1!B1 holds #N/A (formula =B1+1)" in text  # pointing at where it came from
    assert "2 cell(s) ended in an error" in text


def test_a_workbook_without_errors_still_exits_0(tmp_path):
    book, out = tmp_path / "p.xlsx", tmp_path / "values.xlsx"
    workbook = _book()
    workbook["Sheet1"]["C1"] = "#N/A"  # typed in
    workbook["Sheet1"]["C2"] = "=IFERROR(1/0, 7)"  # an error caught is no error
    workbook.save(book)
    result = calc(book, "-o", out)
    assert result.exit_code == 0, result.output
    assert "ended in an error" not in result.output
