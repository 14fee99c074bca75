"""Untrusted workbooks: every bad file is refused with a message naming the
file and the problem, `cxroi-xl calc` exits non-zero and writes nothing."""
from __future__ import annotations

import zipfile

import openpyxl
import pytest
from openpyxl import Workbook
from openpyxl.worksheet.table import Table
from typer.testing import CliRunner

from cxroi_xl.cli import app
from cxroi_xl.calc import safety
from cxroi_xl.calc.safety import Limits, WorkbookError, open_workbook

runner = CliRunner()


def _good_workbook(path):
    book = Workbook()
    sheet = book.active
    sheet.append(["benefit", "cost"])
    sheet.append([0, 100])
    sheet.append([150, 10])
    sheet.add_table(Table(displayName="Flows", ref="A1:B3"))
    sheet["D1"] = "=CXROI(Flows[benefit], Flows[cost])"
    book.save(path)
    return path


def _rewrite(source, target, part, change):
    """Copy an .xlsx, passing one part's bytes through ``change``."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for name in old.namelist():
            data = old.read(name)
            new.writestr(name, change(data) if name == part else data)
    return target


def _not_a_zip(folder):
    path = folder / "noise.xlsx"
    path.write_bytes(bytes(range(256)) * 4)
    return path, "not a zip archive"


def _text_renamed(folder):
    path = folder / "notes.xlsx"
    path.write_text("month,contacts\n2024-01,1000\n", encoding="utf-8")
    return path, "not a zip archive"


def _ole_header(folder):
    path = folder / "protected.xlsx"
    path.write_bytes(safety.OLE_SIGNATURE + bytes(504))
    return path, "encrypted or not an .xlsx"


def _zip_bomb(folder):
    path = folder / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", bytes(20 * 1024 * 1024))  # 20 MB of zeros, ~20 kB packed
    return path, "zip bomb"


def _broken_table(folder):
    good = _good_workbook(folder / "good.xlsx")
    path = _rewrite(good, folder / "broken_table.xlsx", "xl/tables/table1.xml", lambda xml: xml.replace(b'ref="A1:B3"', b'ref="A1:B"'))
    return path, "sheet 'Sheet', table 'Flows': malformed range 'A1:B'"


def _zip_without_a_workbook(folder):
    path = folder / "photos.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("holiday.txt", "not a spreadsheet")
    return path, "not a readable .xlsx workbook"


BAD_FILES = [_not_a_zip, _text_renamed, _ole_header, _zip_bomb, _broken_table, _zip_without_a_workbook]


@pytest.mark.parametrize("make", BAD_FILES, ids=lambda f: f.__name__.strip("_"))
def test_bad_file_is_refused_by_name(tmp_path, make):
    path, problem = make(tmp_path)
    with pytest.raises(WorkbookError) as caught:
        open_workbook(path)
    assert str(path) in str(caught.value) and problem in str(caught.value)


@pytest.mark.parametrize("make", BAD_FILES, ids=lambda f: f.__name__.strip("_"))
def test_calc_on_a_bad_file_exits_2_and_writes_nothing(tmp_path, make):
    path, problem = make(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = runner.invoke(app, ["calc", str(path), "-o", str(tmp_path / "out.xlsx")])
    message = " ".join(result.output.split())  # the console may wrap long lines
    assert result.exit_code == 2, result.output
    assert path.name in message and problem in message
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_size_limit(tmp_path):
    path = _good_workbook(tmp_path / "big.xlsx")
    with pytest.raises(WorkbookError, match="over the 1000 bytes size limit"):
        open_workbook(path, Limits(max_bytes=1000))
    result = runner.invoke(app, ["calc", str(path), "-o", str(tmp_path / "out.xlsx"), "--max-mb", "0.001"])
    assert result.exit_code == 2 and "size limit" in result.output and not (tmp_path / "out.xlsx").exists()


def test_zip_limits_are_configurable(tmp_path):
    path = _good_workbook(tmp_path / "book.xlsx")
    with pytest.raises(WorkbookError, match="parts, over the limit of 3"):
        open_workbook(path, Limits(max_entries=3))
    with pytest.raises(WorkbookError, match="unpacks to .* over the .* limit"):
        open_workbook(path, Limits(max_uncompressed_bytes=100))
    assert open_workbook(path)["Sheet"]["D1"].value == "=CXROI(Flows[benefit], Flows[cost])"


def test_table_narrower_than_its_columns(tmp_path):
    good = _good_workbook(tmp_path / "good.xlsx")
    path = _rewrite(good, tmp_path / "narrow.xlsx", "xl/tables/table1.xml", lambda xml: xml.replace(b'ref="A1:B3"', b'ref="A1:A3"'))
    with pytest.raises(WorkbookError, match="table 'Flows': range A1:A3 is 1 columns wide but the table names 2 columns"):
        open_workbook(path)


def test_xml_is_parsed_with_defusedxml(tmp_path):
    assert openpyxl.DEFUSEDXML  # openpyxl picked defusedxml up
    good = _good_workbook(tmp_path / "good.xlsx")
    laughs = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'

    def inject(xml: bytes) -> bytes:
        body = xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml
        return laughs + body.replace(b"<sheetData>", b"<sheetData>&lol2;", 1)

    path = _rewrite(good, tmp_path / "laughs.xlsx", "xl/worksheets/sheet1.xml", inject)
    with pytest.raises(WorkbookError, match="declares a DOCTYPE"):
        open_workbook(path)
    # the same part in the workbook's own XML (parsed with lxml when it is
    # installed) is refused before any parser sees it
    styles = _rewrite(good, tmp_path / "styles.xlsx", "xl/styles.xml", lambda xml: laughs + xml.split(b"?>", 1)[-1])
    with pytest.raises(WorkbookError, match="xl/styles.xml declares a DOCTYPE"):
        open_workbook(styles)


def test_refuses_to_parse_without_defusedxml(tmp_path, monkeypatch):
    monkeypatch.setattr(openpyxl, "DEFUSEDXML", False)
    with pytest.raises(RuntimeError, match="defusedxml"):
        open_workbook(_good_workbook(tmp_path / "good.xlsx"))


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(WorkbookError, match="no such file"):
        open_workbook(tmp_path / "absent.xlsx")
    with pytest.raises(WorkbookError, match="is not a file"):
        open_workbook(tmp_path)


def test_a_good_file_passes(tmp_path):
    book = open_workbook(_good_workbook(tmp_path / "good.xlsx"))
    assert book["Sheet"].tables["Flows"].ref == "A1:B3"


_LAUGHS = '<?xml version="1.0" encoding="{encoding}"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'


@pytest.mark.parametrize(
    "codec, declared",
    [("utf-16", "UTF-16"), ("utf-16-le", "UTF-16"), ("utf-16-be", "UTF-16"), ("utf-32", "UTF-32"), ("utf-8-sig", "UTF-8")],
    ids=["utf16-bom", "utf16le-unmarked", "utf16be-unmarked", "utf32-bom", "utf8-bom"],
)
def test_doctype_is_found_in_any_encoding_a_parser_reads(tmp_path, codec, declared):
    # A part in UTF-16 (with or without a byte-order mark) hides "<!DOCTYPE"
    # from a byte search; the pre-check must read the part as a parser would.
    good = _good_workbook(tmp_path / "good.xlsx")

    def inject(xml: bytes) -> bytes:
        body = xml.decode("utf-8").split("?>", 1)[-1]
        return (_LAUGHS.format(encoding=declared) + body.replace("<sheetData>", "<sheetData>&lol2;", 1)).encode(codec)

    path = _rewrite(good, tmp_path / f"laughs-{codec}.xlsx", "xl/worksheets/sheet1.xml", inject)
    with pytest.raises(WorkbookError, match="sheet1.xml declares a DOCTYPE"):
        safety.check_archive(path)


def test_a_utf16_part_without_doctype_passes_the_check(tmp_path):
    good = _good_workbook(tmp_path / "good.xlsx")
    recoded = lambda xml: ('<?xml version="1.0" encoding="UTF-16"?>' + xml.decode("utf-8").split("?>", 1)[-1]).encode("utf-16")  # noqa: E731
    safety.check_archive(_rewrite(good, tmp_path / "utf16.xlsx", "xl/worksheets/sheet1.xml", recoded))


def test_a_part_in_an_unknown_encoding_is_refused(tmp_path):
    good = _good_workbook(tmp_path / "good.xlsx")
    declared = lambda xml: b'<?xml version="1.0" encoding="x-no-such-codec"?>' + xml.split(b"?>", 1)[-1]  # noqa: E731
    with pytest.raises(WorkbookError, match="unknown encoding 'x-no-such-codec'"):
        safety.check_archive(_rewrite(good, tmp_path / "odd.xlsx", "xl/worksheets/sheet1.xml", declared))
