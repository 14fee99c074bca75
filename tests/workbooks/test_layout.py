"""Readable sheets: headers that fit their columns, no text running into a
neighbour, printed pages a person can read, and the figures whose layout
work changed them (the CX metrics NPS interval, the discounted CAC payback,
calc's data checks).

Two independent oracles for the layout: the font metrics of the font
LibreOffice draws Calibri with on this machine (``fc-match Calibri``, read by
Pillow, not the width table the builder uses), and the words of the PDF
LibreOffice prints (``pdftotext -bbox``)."""
from __future__ import annotations

import math
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.workbook.defined_name import DefinedName
from typer.testing import CliRunner

from cxroi_xl.cli import app
from cxroi_xl.engine.tracker import KPI_COLUMNS
from cxroi_xl.workbooks import build, roi_template, value_template
from cxroi_xl.workbooks.common import HEADER_FILL
from cxroi_xl.workbooks.summaries import SummaryBlock
from cxroi_xl.calc.evaluator import Evaluator
from cxroi_xl.workbooks.libreoffice import _convert
from cxroi_xl.calc.workbook import calc_file

TEMPLATES = ("cx_automation_roi", "customer_value", "attribution")
PX_PER_PT = 96 / 72


def _font_file(pattern: str) -> str:
    fc_match = shutil.which("fc-match")
    if not fc_match:
        pytest.fail("fc-match (fontconfig) is needed to find the font LibreOffice uses")
    return subprocess.run([fc_match, "-f", "%{file}", pattern], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def fonts():
    from PIL import ImageFont

    size = round(11 * PX_PER_PT)
    regular = ImageFont.truetype(_font_file("Calibri"), 2048)
    bold = ImageFont.truetype(_font_file("Calibri:bold"), 2048)
    # LibreOffice counts a column width in digits of the default font
    # (Calibri 11 pt, drawn with the font fontconfig picks): 16 wide holds 16 zeros.
    digit_px = regular.getlength("0") / 2048 * 11 * PX_PER_PT
    return {"regular": regular, "bold": bold, "digit_px": digit_px, "size": size}


def _text_px(fonts, text: str, bold: bool, size_pt: float) -> float:
    return fonts["bold" if bold else "regular"].getlength(text) / 2048 * size_pt * PX_PER_PT


@pytest.fixture(scope="module")
def books():
    return {name: build.BUILDERS[name]() for name in TEMPLATES}


def _header_cells(ws):
    for row in ws.iter_rows():
        for cell in row:
            if cell.fill is not None and cell.fill.fgColor is not None and cell.fill.fgColor.rgb == HEADER_FILL.fgColor.rgb and isinstance(cell.value, str) and not cell.value.startswith("="):
                yield cell


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_header_fits_its_column_in_the_font_libreoffice_draws(template, books, fonts):
    """Each header either fits on one line (no space to wrap at: it must
    never break mid-word) or wraps at spaces into lines that each fit, in a
    row tall enough for them; measured with Pillow on the font file."""
    checked = 0
    for ws in books[template]:
        if ws.title == "ROI":  # laid out by its own writer
            continue
        for cell in _header_cells(ws):
            width = ws.column_dimensions[cell.column_letter].width or 8.43
            column_px = width * fonts["digit_px"] - 3  # LibreOffice keeps a pixel or two each side
            bold = bool(cell.font.b)
            size = float(cell.font.sz or 11)
            words = cell.value.split(" ")
            if len(words) == 1 or not cell.alignment.wrap_text:
                assert _text_px(fonts, cell.value, bold, size) <= column_px, f"{template} {ws.title}!{cell.coordinate} {cell.value!r} is clipped at width {width}"
                assert not (cell.alignment.wrap_text and len(words) == 1), f"{ws.title}!{cell.coordinate}: a header without spaces must not wrap"
                continue
            lines, current = [], ""
            for word in words:
                candidate = f"{current} {word}".strip()
                if current and _text_px(fonts, candidate, bold, size) > column_px:
                    lines.append(current)
                    current = word
                else:
                    current = candidate
            lines.append(current)
            for line in lines:
                assert _text_px(fonts, line, bold, size) <= column_px, f"{template} {ws.title}!{cell.coordinate}: {line!r} does not fit"
            line_pt = size * 1.17  # DejaVu's line height, 1.164 em
            height = ws.row_dimensions[cell.row].height or 15
            assert len(lines) * line_pt <= height, f"{template} {ws.title}!{cell.coordinate}: {len(lines)} lines in a row {height} pt tall"
            checked += 1
    assert checked or template == "cx_automation_roi"


def test_every_input_label_fits_beside_its_cell(books, fonts):
    # a label in A is clipped by the value in B beside it, so it must fit
    # its column whole ("Half-life, retained margin (months)" did not)
    ws = books["cx_automation_roi"]["Inputs"]
    column_px = (ws.column_dimensions["A"].width or 8.43) * fonts["digit_px"] - 3
    labels = [row[0] for row in ws.iter_rows(min_row=4, max_col=2) if isinstance(row[0].value, str) and row[1].value is not None]
    assert len(labels) >= 25  # every named input and calculated cell
    for cell in labels:
        assert _text_px(fonts, cell.value, bool(cell.font.b), float(cell.font.sz or 11)) <= column_px, f"Inputs!{cell.coordinate} {cell.value!r} is clipped"


def test_table_column_names_are_kept_for_formulas_and_the_batch_input(books):
    tables = {t.displayName: [c.name for c in t.tableColumns] for ws in books["cx_automation_roi"] for t in ws.tables.values()}
    assert tables["Baseline"][: 1 + len(KPI_COLUMNS)] == ["month", *KPI_COLUMNS]
    assert tables["PostAutomation"][: 1 + len(KPI_COLUMNS)] == ["month", *KPI_COLUMNS]


@pytest.mark.parametrize("template", TEMPLATES)
def test_pages_are_a4_landscape_where_wide_with_repeated_headers(template, books):
    for ws in books[template]:
        setup = ws.page_setup
        assert str(setup.paperSize) == ws.PAPERSIZE_A4, ws.title
        if not ws.sheet_properties.pageSetUpPr.fitToPage:  # fixed pages (ROI, Scenarios, CLTV, Attribution): one scale, manual breaks
            assert 70 <= int(setup.scale) <= 100 and ws.print_area, (ws.title, setup.scale)
            continue
        if ws.title == "Summary":
            assert setup.fitToHeight == 1, f"{ws.title}: one page"  # the page a reviewer reads first
            continue
        if ws.title == "Start here":
            assert setup.fitToHeight == 2, ws.title
            continue
        if ws.print_area:  # a summary block, or the top of a long table (its print area): one page
            assert setup.fitToHeight in (0, 1), ws.title
        else:
            assert setup.fitToHeight == 0, f"{ws.title}: as many pages tall as it takes"
        last = 9 if ws.title == "CX metrics" else ws.max_column
        width_pt = sum((ws.column_dimensions[c].width or 8.43) for c in map(_letter, range(1, last + 1))) * 7
        if width_pt > 595 - 58 and not _prints_its_summary(ws):  # a summary block is a portrait page
            assert setup.orientation == "landscape", ws.title
        if ws.tables:
            assert ws.print_title_rows, f"{ws.title}: the table's header row repeats on every page"


def _prints_its_summary(ws) -> bool:
    """A raw-data sheet whose print area is its summary block, not its table."""
    return bool(ws.print_area) and ws.cell(SummaryBlock.FIRST_LINE - 1, _block_column(ws)).value == "Summary"


def _block_column(ws) -> int:
    """The first column of a sheet's print area (a raw-data sheet's summary block)."""
    from openpyxl.utils.cell import range_boundaries

    return range_boundaries(str(ws.print_area).split("!")[-1].replace("$", ""))[0]


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


# --- what LibreOffice prints ---------------------------------------------------------------

_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    """The values form of each template printed to PDF by LibreOffice, as
    words with their boxes, page by page."""
    folder = tmp_path_factory.mktemp("printed")
    paths = []
    for name in TEMPLATES:
        path = folder / f"{name}.xlsx"
        path.write_bytes(build.template_bytes(name, mode="values"))
        paths.append(path)
    pdfs = _convert(paths, folder / "pdf", "pdf", 300)
    pages = {}
    for name, pdf in zip(TEMPLATES, pdfs):
        xhtml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        pages[name] = [
            [(float(a), float(b), float(c), float(d), text.replace("&amp;", "&").replace("&gt;", ">").replace("&lt;", "<").replace("&quot;", '"')) for a, b, c, d, text in _WORD.findall(page)]
            for page in xhtml.split("<page ")[1:]
        ]
    return pages


def test_printed_headers_are_whole_words(printed, books):
    """Every Excel Table column name is printed in one piece (the defect:
    ``automated_conta`` / ``cts``)."""
    for name in TEMPLATES:
        words = {w[4] for page in printed[name] for w in page}
        for ws in books[name]:
            if _prints_its_summary(ws):
                continue  # its table prints whole once the print area is cleared: test_print.py
            for table in ws.tables.values():
                for column in table.tableColumns:
                    assert column.name in words, f"{name} {ws.title}: header {column.name!r} is not printed whole"


_NUMBER = re.compile(r"^[-+]?[$€£¥]?[\d][\d,.]*%?$")
_GLUED = re.compile(r"^[-+]?[$€£¥]?\d[\d,.]*%?[A-Za-z]{2,}")


def test_no_number_runs_into_the_text_beside_it(printed):
    """No printed word is a number glued to text (``+23.7improved``,
    ``6.3%chatbot``), and text printed right after a number (a verdict, a
    phase, a channel) keeps a gap of at least half a line's height, twice a
    space's width."""
    cell_words = {"improved", "worse", "baseline", "post", "chatbot", "email", "referral", "search", "social", "A"}
    for name in TEMPLATES:
        pairs = 0
        for number, page in enumerate(printed[name], start=1):
            for word in page:
                assert not _GLUED.match(word[4]), f"{name} page {number}: {word[4]!r}"
            lines: dict[float, list] = {}
            for word in page:
                lines.setdefault(round(word[3]), []).append(word)
            for line in lines.values():
                line.sort()
                for left, right in zip(line, line[1:]):
                    if _NUMBER.match(left[4]) and right[4] in cell_words:
                        gap, height = right[0] - left[2], right[3] - right[1]
                        assert gap >= 0.5 * height, f"{name} page {number}: {left[4]!r} and {right[4]!r} only {gap:.1f} pt apart"
                        pairs += 1
        # the verdicts, the channels of the models' tables (the survey phases
        # print with the Surveys table, once its print area is cleared: test_print.py)
        assert pairs >= {"cx_automation_roi": 4, "customer_value": 0, "attribution": 20}[name], (name, pairs)


def _sheet_of_pages(book, pages) -> list[str]:
    """The sheet each printed page belongs to: a page starting with a
    sheet's title (its A1) begins that sheet; the others continue it."""
    titles = {ws["A1"].value: ws.title for ws in book if isinstance(ws["A1"].value, str)}
    current, found = "", []
    for page in pages:
        start = " ".join(w[4] for w in sorted(page, key=lambda w: (round(w[1]), w[0]))[:8])
        for heading, sheet in titles.items():
            if start.startswith(heading):
                current = sheet
        found.append(current)
    return found


def test_printed_text_is_large_enough_to_read(printed, books):
    """No sheet is shrunk to fit: every word printed at 6.5 pt or more (the
    box of a word is 1.164 em tall in DejaVu Sans; 10 pt notes at the
    smallest fit-to-width scale allowed, 70 %, print at 7 pt)."""
    for name in TEMPLATES:
        sheets = _sheet_of_pages(books[name], printed[name])
        assert "Start here" in sheets and len(set(sheets)) == len(books[name].sheetnames), sheets
        for number, (page, sheet) in enumerate(zip(printed[name], sheets), start=1):
            if sheet == "ROI":  # laid out by its own writer, on one page
                continue
            heights = [w[3] - w[1] for w in page if len(w[4].strip()) > 1]  # a single letter may be rotated (an axis title)
            if heights:
                assert min(heights) / 1.164 >= 6.5, f"{name} page {number}: text printed at {min(heights) / 1.164:.1f} pt"


# --- the figures -------------------------------------------------------------------------


def test_cx_metrics_nps_interval_combines_the_two_score_intervals_by_newcombe():
    """Hand-derived: baseline NPS 10 with interval [0, 25], post 30 with
    [15, 40]; d = 20, lower = 20 - sqrt((30 - 15)^2 + (25 - 10)^2) = 20 -
    sqrt(450) = -1.2132034, upper = 20 + sqrt((40 - 30)^2 + (10 - 0)^2) = 20
    + sqrt(200) = 34.1421356 (Newcombe 1998, method 10; each side from its
    own distances, not half-widths in quadrature)."""
    book = roi_template.build()
    ws = book["CX metrics"]
    assert "Newcombe" in ws["I5"].value and "quadrature" not in ws["I5"].value
    for coordinate, value in {"C5": 10, "D5": 30, "K5": 0, "L5": 25, "N5": 15, "O5": 40}.items():
        ws[coordinate] = value
    evaluator = Evaluator(book)
    assert evaluator.value("CX metrics", "F5") == pytest.approx(20 - math.sqrt(450), abs=1e-9)
    assert evaluator.value("CX metrics", "G5") == pytest.approx(20 + math.sqrt(200), abs=1e-9)


def test_cached_nps_interval_follows_the_same_rule():
    """The engine-computed cached values of the shipped template's NPS row
    satisfy the formula's relation with its own cached inputs (1e-9)."""
    book = roi_template.build()
    values = book.formula_values
    c, d, k, l, n, o, f, g = (values.get("CX metrics", 5, col) for col in (3, 4, 11, 12, 14, 15, 6, 7))
    assert l - c != c - k, "the example must have an asymmetric interval to tell the rules apart"
    assert f == pytest.approx((d - c) - math.sqrt((d - n) ** 2 + (l - c) ** 2), abs=1e-9)
    assert g == pytest.approx((d - c) + math.sqrt((o - d) ** 2 + (c - k) ** 2), abs=1e-9)


def test_months_to_earn_back_the_cac_are_discounted_as_the_chart():
    """Hand-derived: margin 100 a month, CAC 500, churn 5 %, discount 1 % a
    month: n = ln(1 - 500 x 0.06 / (100 x 1.01)) / ln(0.95 / 1.01) =
    5.754732...; the discounted cumulative margin (the chart's curve, CXCLTV
    over n months) is 444.55 after 5 months and 518.19 after 6."""
    from cxroi_xl.engine.value import cltv

    book = Workbook()
    ws = book.active
    ws.title = "S"
    ws["C5"], ws["C11"], ws["B1"], ws["B2"] = 100, 500, 0.01, 0.05
    book.defined_names["MonthlyRate"] = DefinedName("MonthlyRate", attr_text="'S'!$B$1")
    book.defined_names["MonthlyChurn"] = DefinedName("MonthlyChurn", attr_text="'S'!$B$2")
    ws["C13"] = value_template.CAC_PAYBACK_FORMULA
    months = Evaluator(book).value("S", "C13")
    expected = math.log(1 - 500 * 0.06 / (100 * 1.01)) / math.log(0.95 / 1.01)
    assert months == pytest.approx(expected, abs=1e-9)
    assert expected == pytest.approx(5.754732, abs=1e-6)
    assert cltv(100, 1, 0.05, 0.01, 5) < 500 < cltv(100, 1, 0.05, 0.01, 6)
    ws["C11"] = 100 * 1.01 / 0.06 + 1  # more than a whole lifetime's discounted margin
    assert Evaluator(book).value("S", "C13") == "not reached"
    live = value_template.build()
    assert live["CLTV"]["C13"].value == value_template.CAC_PAYBACK_FORMULA


def _tracker_with_typos(tmp_path: Path) -> Path:
    source = tmp_path / "typo.xlsx"
    source.write_bytes(build.template_bytes("cx_automation_roi", mode="live"))
    book = load_workbook(source)
    ws = book["Baseline"]
    cost = 1 + [c.name for c in ws.tables["Baseline"].tableColumns].index("automation_cost")
    ws.cell(6, cost).value = "1,2O0"  # a letter O for a zero: text, skipped by SUM
    post = book["Post-automation"]
    post.cell(7, 1 + [c.name for c in post.tables["PostAutomation"].tableColumns].index("agent_hours")).value = None
    book.save(source)
    return source


def test_calc_reports_text_and_blank_number_cells(tmp_path):
    source = _tracker_with_typos(tmp_path)
    cost = _letter(1 + ["month", *KPI_COLUMNS].index("automation_cost"))
    hours = _letter(1 + ["month", *KPI_COLUMNS].index("agent_hours"))
    report = calc_file(source, tmp_path / "out.xlsx")
    assert [tuple(c) for c in report.checks] == [("Baseline", f"{cost}6", "text '1,2O0'"), ("Post-automation", f"{hours}7", "blank")]
    result = CliRunner().invoke(app, ["calc", str(source), "-o", str(tmp_path / "out2.xlsx")], terminal_width=200)
    assert f"Baseline!{cost}6: text '1,2O0' in a number column" in result.output
    assert f"Post-automation!{hours}7: blank in a number column" in result.output
    assert "2 data check warning(s)" in result.output
    # the sheet's own sums skip them as Excel's do; the measured model refuses
    # text and blanks where it needs a month's number, saying which (exit 1)
    assert "baseline[automation_cost] row 2: '1,2O0' where a number belongs" in result.output
    assert result.exit_code == 1


def test_calc_of_a_clean_tracker_has_no_data_checks(tmp_path):
    source = tmp_path / "clean.xlsx"
    source.write_bytes(build.template_bytes("cx_automation_roi", mode="live"))
    assert calc_file(source, tmp_path / "out.xlsx").checks == []
