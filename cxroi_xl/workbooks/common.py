"""What every generated workbook shares: styles, number formats, safe text
cells, tables with calculated columns, and a deterministic, atomic save."""
from __future__ import annotations

import datetime as dt
import functools
import io
import math
import os
import re
import tempfile
import unicodedata
import zipfile
from copy import copy
from pathlib import Path
from typing import Any, Iterable, Sequence
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.table import Table, TableColumn, TableFormula, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
from openpyxl.cell._writer import write_cell
from openpyxl.comments.author import AuthorList
from openpyxl.comments.comment_sheet import CommentRecord, CommentSheet
from openpyxl.packaging.relationship import Relationship
from openpyxl.xml.functions import tostring
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.xml.functions import xmlfile
from openpyxl.writer.excel import ExcelWriter

from .cache import METADATA_CONTENT_TYPE, METADATA_REL_TYPE, METADATA_XML, FormulaValues, MissingValueError, xml_value

# One fixed instant for document properties and zip entries, so that the same
# inputs always give the same bytes.
FIXED_TIME = dt.datetime(2024, 1, 1, 0, 0, 0)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

NAVY = "1F3A5F"
TEAL = "2A9D8F"
INPUT_FILL = PatternFill("solid", fgColor="FFF7D6")
CALC_FILL = PatternFill("solid", fgColor="EEF2F6")
HEADER_FILL = PatternFill("solid", fgColor=NAVY)
TITLE_FONT = Font(name="Calibri", size=18, bold=True, color=NAVY)
SUBTITLE_FONT = Font(name="Calibri", size=11, italic=True, color="555555")
HEADER_FONT = Font(name="Calibri", size=11, bold=True, color="FFFFFF")
HEADER_ALIGNMENT = Alignment(horizontal="center", vertical="center", wrap_text=True)
LABEL_FONT = Font(name="Calibri", size=11, bold=True, color="333333")
NOTE_FONT = Font(name="Calibri", size=10, color="666666")
SECTION_FONT = Font(name="Calibri", size=12, bold=True, color=NAVY)
VALUE_FONT = Font(name="Calibri", size=12, bold=True)
BOLD_FONT = Font(name="Calibri", size=11, bold=True)
THIN = Side(style="thin", color="C9D3DD")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
TABLE_STYLE = "TableStyleMedium2"

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CHF": "CHF ", "CAD": "C$", "AUD": "A$", "INR": "₹"}

FORMATS = {
    "int": "#,##0",
    "dec1": "#,##0.0",
    "dec2": "#,##0.00",
    "pct": "0.0%",
    "pct2": "0.00%",
    "date": "yyyy-mm-dd",
    "month": "mmm yyyy",
    "text": "@",
    "general": "General",
    "points": "+0.0;-0.0;0.0",
    "periods": "0.0",
    "pvalue": "0.000",
}


def currency_format(currency: str, decimals: int = 0) -> str:
    """Number format showing amounts in ``currency`` (symbol where known)."""
    digits = "#,##0" + ("." + "0" * decimals if decimals else "")
    symbol = CURRENCY_SYMBOLS.get(currency.upper())
    if symbol:
        escaped = symbol.replace('"', "")
        return f'"{escaped}"{digits};-"{escaped}"{digits}'
    return f'{digits} "{currency.upper()}";-{digits} "{currency.upper()}"'


def put_text(cell, text: Any) -> None:
    """Write client text as text, never as a formula: a value starting with
    ``=``, ``+``, ``-`` or ``@`` would otherwise become a formula."""
    cell.value = None if text is None else str(text)
    if cell.value is not None:
        cell.data_type = "s"


class StyledAlike:
    """Cells styled alike share one style: the first cell of a kind is
    styled attribute by attribute, the others of that kind copy its style
    (each attribute set registers a style object, which costs more than
    writing the cell). Kinds are the caller's keys; one per sheet build."""

    def __init__(self) -> None:
        self._styles: dict[Any, Any] = {}

    def style(self, cell, kind: Any, **attributes: Any) -> None:
        """Style ``cell`` (unstyled so far) with ``attributes``, the same
        for every cell of ``kind``."""
        style = self._styles.get(kind)
        if style is not None:
            cell._style = copy(style)
            return
        for name, value in attributes.items():
            setattr(cell, name, value)
        self._styles[kind] = cell._style


def title(ws: Worksheet, text: str, subtitle: str = "") -> None:
    ws["A1"] = text
    ws["A1"].font = TITLE_FONT
    if subtitle:
        ws["A2"] = subtitle
        ws["A2"].font = SUBTITLE_FONT
    ws.sheet_view.showGridLines = False


def page_setup(ws: Worksheet, one_page: bool = False) -> None:
    """Landscape, fit to one page wide (and tall, for report sheets), as a
    report to print or share."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1 if one_page else 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    page_footer(ws)


def page_footer(ws: Worksheet) -> None:
    """Every printed page says which sheet it is and where it falls: the
    sheet's name on the left, "page 2 of 5" on the right (a printed report
    is read loose, away from its tabs)."""
    ws.oddFooter.left.text = "&A"
    ws.oddFooter.left.size = 10  # 7 pt on a page printed at 70 %
    ws.oddFooter.right.text = "page &P of &N"
    ws.oddFooter.right.size = 10


def set_widths(ws: Worksheet, widths: dict[str, float]) -> None:
    for column, width in widths.items():
        ws.column_dimensions[column].width = width


def define_name(wb: Workbook, name: str, sheet: str, coord: str) -> None:
    """A workbook-level named range pointing at one cell or range."""
    ref = f"'{sheet}'!{absolute(coord)}"
    wb.defined_names[name] = DefinedName(name, attr_text=ref)


def absolute(coord: str) -> str:
    parts = coord.split(":")
    out = []
    for part in parts:
        letters = "".join(ch for ch in part if ch.isalpha())
        digits = "".join(ch for ch in part if ch.isdigit())
        out.append(f"${letters}${digits}")
    return ":".join(out)


# Advance widths of DejaVu Sans (regular, bold) for the printable ASCII
# characters 32..126, in font units (2048 an em), read with Pillow from the
# font files. LibreOffice draws Calibri with DejaVu Sans where neither Calibri
# nor its metric twin Carlito is installed (fontconfig's choice), and DejaVu
# is wider than both, so a width computed from it fits in Excel too. Column
# widths are counted in digits of the default font (Excel and LibreOffice
# agree on that), so text widths are divided by the width of a digit.
_DEJAVU = (
    "651 821 942 1716 1303 1946 1597 563 799 799 1024 1716 651 739 651 690 1303 1303 1303 1303 1303 1303 1303 1303 1303 1303 690 690 "
    "1716 1716 1716 1087 2048 1401 1405 1430 1577 1294 1178 1587 1540 604 604 1343 1141 1767 1532 1612 1235 1612 1423 1300 1251 1499 "
    "1401 2025 1403 1251 1403 799 690 799 1716 1024 1024 1255 1300 1126 1300 1260 721 1300 1298 569 569 1186 569 1995 1298 1253 1300 "
    "1300 842 1067 803 1298 1212 1675 1212 1212 1075 1303 690 1303 1716"
)
_DEJAVU_BOLD = (
    "713 934 1067 1716 1425 2052 1786 627 936 936 1071 1716 778 850 778 748 1425 1425 1425 1425 1425 1425 1425 1425 1425 1425 819 819 "
    "1716 1716 1716 1188 2048 1585 1561 1503 1700 1399 1399 1681 1714 762 762 1587 1305 2038 1714 1741 1501 1741 1577 1475 1397 1663 "
    "1585 2259 1579 1483 1485 936 748 936 1716 1024 1024 1382 1466 1214 1466 1389 891 1466 1458 702 702 1362 702 2134 1458 1407 1466 "
    "1466 1010 1219 979 1458 1335 1892 1321 1335 1192 1458 748 1458 1716"
)
_ADVANCE = {False: [int(w) for w in _DEJAVU.split()], True: [int(w) for w in _DEJAVU_BOLD.split()]}
_DIGIT = 1303  # a digit of the regular face at 11 pt: one unit of column width
CELL_PADDING = 1.5  # digits left free in a cell (LibreOffice needs about 0.3; the rest keeps neighbours apart)


_EM = 2048  # font units of an em
_OTHER = 1600  # a character outside these tables: a wide Latin letter (W is 2025)


@functools.lru_cache(maxsize=4096)
def _advance(ch: str, bold: bool) -> int:
    """Advance width of one character beyond ASCII, in DejaVu's units.

    East Asian wide and full-width characters (Unicode's East Asian Width W
    and F: CJK ideographs, kana, hangul, full-width forms) take a whole em,
    as every CJK font draws them (Noto Sans CJK, Yu Gothic, MS Gothic alike);
    combining marks and format characters take none; a letter with an accent
    takes its base letter's width; anything else counts as a wide letter."""
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return _EM
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    base = unicodedata.normalize("NFKD", ch)[:1]
    if base and 32 <= ord(base) < 127:
        return _ADVANCE[bold][ord(base) - 32]
    return _OTHER


def text_width(text: str, bold: bool = False, size: float = 11) -> float:
    """Width of ``text`` in column-width units (digits of 11 pt Calibri as
    LibreOffice draws it), for text in any script (see :func:`_advance`)."""
    if len(text) <= _CACHED_LABEL:
        return _label_width(text, bool(bold), size)
    return _units(text, bool(bold)) / _DIGIT * size / 11


# The same labels and headers recur in every client's workbook; the cache
# keeps short texts only, so it holds at most about 1 MiB.
_CACHED_LABEL = 100


@functools.lru_cache(maxsize=4096)
def _label_width(text: str, bold: bool, size: float) -> float:
    return _units(text, bold) / _DIGIT * size / 11


def _units(text: str, bold: bool) -> int:
    """Width of ``text`` in DejaVu's font units: a sum over its characters."""
    table = _ADVANCE[bold]
    return sum(table[ord(ch) - 32] if 32 <= ord(ch) < 127 else _advance(ch, bold) for ch in text)


def _font_of(cell) -> tuple[bool, float]:
    font = cell.font
    return bool(font is not None and font.b), float(font.sz) if font is not None and font.sz else 11.0


def wrapped_lines(text: str, width: float, bold: bool = False, size: float = 11) -> int:
    """Lines ``text`` takes in a column ``width`` wide, wrapped at spaces."""
    if len(text) <= _CACHED_PARAGRAPH:
        return _cached_wrapped_lines(text, width, bool(bold), size)
    return _wrapped_lines(text, width, bool(bold), size)


# The guide's paragraphs recur in every client's workbook, a client's own
# sentences do not: at most 256 texts of at most 1,000 characters are kept
# (under 0.5 MiB), the least recently used making room.
_CACHED_PARAGRAPH = 1000


@functools.lru_cache(maxsize=256)
def _cached_wrapped_lines(text: str, width: float, bold: bool, size: float) -> int:
    return _wrapped_lines(text, width, bold, size)


def _wrapped_lines(text: str, width: float, bold: bool, size: float) -> int:
    # a line's width is the sum of its words' and spaces' (text_width is a
    # sum over characters), so each word is measured once, not every
    # candidate line
    space = _units(" ", bold)
    lines, current, started = 1, 0, False  # the line so far: its units, whether it has any text
    for word in text.split(" "):
        units = _units(word, bold)
        candidate = current + space + units if started else units
        if started and candidate / _DIGIT * size / 11 + CELL_PADDING > width:
            lines, current, started = lines + 1, units, word != ""
        else:
            current, started = candidate, started or word != ""
    return lines


def fit_headers(ws: Worksheet, rows: Iterable[int], max_lines: int = 2) -> None:
    """Make every header cell in ``rows`` readable at its column's width.

    A header without spaces (an Excel Table column name such as
    ``automated_contacts``, which formulas and the batch input refer to) is
    never wrapped: its column is widened to hold it on one line. A header
    with spaces wraps at word boundaries only: its column holds the longest
    word, and at most ``max_lines`` lines; the row grows to show them."""
    wrapped: dict[tuple, Any] = {}  # (a cell's style, wrap) -> the style with that wrapping
    for row in rows:
        lines_needed = 1
        for cell in ws[row]:
            if not isinstance(cell.value, str) or cell.value.startswith("="):
                continue
            text = cell.value
            bold, size = _font_of(cell)
            letter = cell.column_letter
            current = ws.column_dimensions[letter].width or 8.43
            words = text.split(" ")
            if len(words) == 1:
                needed = text_width(text, bold, size) + CELL_PADDING
                wrap = False
            else:
                # the narrowest whole width holding the longest word in at most max_lines lines
                needed = round(max(text_width(w, bold, size) for w in words) + CELL_PADDING + 0.49, 0)
                while wrapped_lines(text, max(needed, current), bold, size) > max_lines:
                    needed += 1
                wrap = True
            width = max(current, round(needed + 0.49, 0))
            ws.column_dimensions[letter].width = width
            key = (tuple(cell._style), wrap)
            if key in wrapped:
                cell._style = copy(wrapped[key])
            elif cell.alignment.wrap_text != wrap:
                alignment = copy(cell.alignment)
                alignment.wrap_text = wrap
                cell.alignment = alignment
                wrapped[key] = cell._style
            if wrap:
                lines_needed = max(lines_needed, wrapped_lines(text, width, bold, size))
        height = 15 * lines_needed + 4
        if lines_needed > 1 or (ws.row_dimensions[row].height or 0) > height:
            ws.row_dimensions[row].height = height


def fit_column(ws: Worksheet, letter: str, texts: Iterable[str], bold: bool = False, size: float = 11, maximum: float = 80) -> None:
    """Widen column ``letter`` to show each of ``texts`` (displayed values)."""
    widest = max((text_width(t, bold, size) for t in texts), default=0) + CELL_PADDING
    current = ws.column_dimensions[letter].width or 8.43
    ws.column_dimensions[letter].width = max(current, min(maximum, round(widest + 0.49, 0)))


def readable_axes(chart, size_pt: float = 9) -> None:
    """Axis labels at ``size_pt`` on both axes: without a size LibreOffice
    shrinks the labels of a crowded axis until they cannot be read."""
    from openpyxl.chart.text import RichText
    from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties

    for axis in (chart.x_axis, chart.y_axis):
        props = CharacterProperties(sz=int(size_pt * 100))
        axis.txPr = RichText(p=[Paragraph(pPr=ParagraphProperties(defRPr=props), endParaRPr=props)])


# A4 landscape less margins of 0.4 inch: the printable width in points.
_A4_LANDSCAPE_PT = 842 - 2 * 0.4 * 72
_A4_PORTRAIT_PT = 595 - 2 * 0.4 * 72
_PT_PER_WIDTH = 7.0  # one unit of column width, printed at 100 % (DejaVu's digit at 11 pt)
MIN_PRINT_SCALE = 0.7


def print_layout(ws: Worksheet, title_rows: str | None = None, title_cols: str | None = None, last_col: int | None = None) -> None:
    """Pages a person can read: A4, landscape when the sheet is wider than a
    portrait page, as many pages wide as it takes to print at
    :data:`MIN_PRINT_SCALE` or more (fit to that width, any height), the
    header rows (``"4:4"``) and label columns (``"A:A"``) repeated on every
    page."""
    last_col = last_col or ws.max_column
    from openpyxl.utils import get_column_letter as letter_of

    total = sum((ws.column_dimensions[letter_of(c)].width or 8.43) for c in range(1, last_col + 1)) * _PT_PER_WIDTH
    for chart in ws._charts:  # a chart beside the cells widens the printed area
        anchor = chart.anchor if isinstance(chart.anchor, str) else None
        if anchor:
            from openpyxl.utils.cell import coordinate_from_string, column_index_from_string as index_of

            left = sum((ws.column_dimensions[letter_of(c)].width or 8.43) for c in range(1, index_of(coordinate_from_string(anchor)[0]))) * _PT_PER_WIDTH
            total = max(total, left + chart.width / 2.54 * 72)
    landscape = total > _A4_PORTRAIT_PT
    printable = _A4_LANDSCAPE_PT if landscape else _A4_PORTRAIT_PT
    repeated = 0.0
    if title_cols:
        first, _, last = title_cols.partition(":")
        from openpyxl.utils import column_index_from_string

        repeated = sum((ws.column_dimensions[letter_of(c)].width or 8.43) for c in range(column_index_from_string(first), column_index_from_string(last or first) + 1)) * _PT_PER_WIDTH
    pages = 1
    if total * MIN_PRINT_SCALE > printable:
        # columns break at their edges, so leave a tenth of each page spare
        pages = 2
        while total * MIN_PRINT_SCALE > pages * (printable * 0.9) - (pages - 1) * repeated * MIN_PRINT_SCALE and pages < 10:
            pages += 1
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = pages
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = pages == 1
    ws.page_margins.left = ws.page_margins.right = 0.4
    page_footer(ws)
    if title_rows:
        ws.print_title_rows = title_rows
    if title_cols and pages > 1:
        ws.print_title_cols = title_cols


_A4_LONG_PT, _A4_SHORT_PT = 842.0, 595.0
_DEFAULT_ROW_PT = 15.0  # Calibri 11's row height
CHART_SPARE = 0.9  # a chart's page keeps a tenth of its height spare: Excel paginates a little differently


def page_scale(row_heights: Sequence[float | None], group_widths: Sequence[Sequence[float | None]], landscape: bool) -> float:
    """The scale of :func:`manual_pages`: the printed rows' heights (None:
    the default) and each page's columns' widths (None: the default)."""
    width_pt = (_A4_LONG_PT if landscape else _A4_SHORT_PT) - 0.8 * 72
    height_pt = (_A4_SHORT_PT if landscape else _A4_LONG_PT) - 1.2 * 72
    tall = sum((height or _DEFAULT_ROW_PT) for height in row_heights)
    scale = min(1.0, CHART_SPARE * height_pt / tall)
    for widths in group_widths:
        wide = sum((width or 8.43) for width in widths) * _PT_PER_WIDTH
        scale = min(scale, width_pt / wide)
    return scale


def manual_pages(ws: Worksheet, column_groups: Sequence[tuple[int, int]], last_row: int, landscape: bool) -> float:
    """Print ``ws`` as fixed pages: one page per group of columns (first,
    last, 1-based), rows 1 to ``last_row``, split by manual column breaks
    at one scale that fits every page with a tenth of its height spare.

    A fixed scale, not fit-to-page: Excel ignores manual breaks when a
    sheet is fitted to pages, and a chart must never straddle a break.
    Returns the scale (a fraction)."""
    margins = ws.page_margins
    margins.left = margins.right = 0.4
    margins.top = margins.bottom = 0.6
    margins.header = margins.footer = 0.3
    heights = [ws.row_dimensions[r].height for r in range(1, last_row + 1)]
    widths = [[ws.column_dimensions[get_column_letter(c)].width for c in range(first, last + 1)] for first, last in column_groups]
    scale = page_scale(heights, widths, landscape)
    setup = ws.page_setup
    setup.orientation = "landscape" if landscape else "portrait"
    setup.paperSize = ws.PAPERSIZE_A4
    setup.scale = int(scale * 100)
    ws.sheet_properties.pageSetUpPr.fitToPage = False
    ws.print_options.horizontalCentered = False
    for _, last in column_groups[:-1]:
        ws.col_breaks.append(Break(id=last))
    ws.print_area = f"A1:{get_column_letter(column_groups[-1][1])}{last_row}"
    page_footer(ws)
    return int(scale * 100) / 100


class TableSpec:
    """An Excel Table: header at ``(row, col)``, data rows, calculated columns.

    ``columns`` is a sequence of ``(name, number_format, formula or None)``;
    a formula is written in full structured-reference form with ``{T}`` for
    the table name and is stored as the column's calculated formula so that
    Excel fills it into rows the user adds.
    """

    def __init__(self, name: str, columns: Sequence[tuple[str, str, str | None]], header_row: int, first_col: int = 1, alignments: dict[str, Alignment] | None = None):
        self.name = name
        # column name -> alignment of its data cells (e.g. text beside numbers, centred)
        self.alignments = dict(alignments or {})
        self.columns = list(columns)
        self.header_row = header_row
        self.first_col = first_col

    def col_letter(self, name: str) -> str:
        index = [c[0] for c in self.columns].index(name)
        return get_column_letter(self.first_col + index)

    def formula(self, column: str) -> str | None:
        for name, _, formula in self.columns:
            if name == column:
                return None if formula is None else formula.replace("{T}", self.name)
        raise KeyError(column)

    def data_range(self, column: str, n_rows: int) -> str:
        letter = self.col_letter(column)
        return f"{letter}{self.header_row + 1}:{letter}{self.header_row + max(n_rows, 1)}"

    def write(self, ws: Worksheet, rows: Iterable[Sequence[Any]], text_columns: Iterable[str] = (), stream: "RowStream | None" = None) -> int:
        """Write the header and the data rows (inputs only; calculated
        columns are filled with their formula). Returns the number of rows.

        With a ``stream``, only the first data row becomes openpyxl cells
        (it carries the styles); the others are written straight into the
        sheet's XML when the workbook is saved (see :class:`RowStream`)."""
        text_columns = set(text_columns)
        if stream is not None:
            rows = list(rows)
            rows, streamed = rows[:1], rows[1:]
        header_cells(ws, self.header_row, self.first_col, [name for name, _, _ in self.columns])
        n = 0
        formulas = ["=" + formula.replace("{T}", self.name) if formula is not None else None for _, _, formula in self.columns]
        # Style the first data row cell by cell, then copy its style arrays:
        # setting formats per cell costs more than writing the values.
        prototypes = []
        for j, (name, fmt, formula) in enumerate(self.columns):
            proto = ws.cell(self.header_row + 1, self.first_col + j)
            proto.number_format = fmt
            if name in self.alignments:
                proto.alignment = self.alignments[name]
            if formula is not None:
                proto.fill = CALC_FILL
            prototypes.append(proto._style)
        text_positions = {j for j, (name, _, _) in enumerate(self.columns) if name in text_columns}
        input_positions = [j for j, (_, _, formula) in enumerate(self.columns) if formula is None]
        for n, values in enumerate(rows, start=1):
            r = self.header_row + n
            for j, value in zip(input_positions, values):
                cell = ws.cell(r, self.first_col + j)
                if j in text_positions:
                    put_text(cell, value)
                else:
                    cell.value = value
                cell._style = copy(prototypes[j])
            for j, formula in enumerate(formulas):
                if formula is not None:
                    cell = ws.cell(r, self.first_col + j, formula)
                    cell._style = copy(prototypes[j])
        if stream is not None and streamed:
            stream.add(ws, self.header_row + 2, self.first_col, streamed, formulas, input_positions, text_positions)
            n += len(streamed)
        n_rows = max(n, 1)
        if n == 0:  # an empty table still needs one (blank) data row
            for j, formula in enumerate(formulas):
                if formula is not None:
                    ws.cell(self.header_row + 1, self.first_col + j, formula)
        last_col = get_column_letter(self.first_col + len(self.columns) - 1)
        ref = f"{get_column_letter(self.first_col)}{self.header_row}:{last_col}{self.header_row + n_rows}"
        table = Table(displayName=self.name, ref=ref)
        table.tableStyleInfo = TableStyleInfo(name=TABLE_STYLE, showRowStripes=True)
        table.tableColumns = [
            TableColumn(
                id=j + 1,
                name=name,
                calculatedColumnFormula=None if formula is None else TableFormula(attr_text=formula.replace("{T}", self.name)),
            )
            for j, (name, _, formula) in enumerate(self.columns)
        ]
        table.autoFilter = None
        ws.add_table(table)
        return n_rows


class RowStream:
    """Table rows written straight into worksheet XML at save time.

    openpyxl spends most of a large workbook's time creating, styling and
    serialising one object per cell. The rows of a client's data tables are
    plain values and formulas whose style is that of the table's first data
    row, so they are rendered here as XML text and spliced into the sheet
    openpyxl writes, which then differs from the all-openpyxl file only in
    bytes, not in content (a test compares the two cell by cell).
    """

    def __init__(self) -> None:
        self._sheets: dict[str, tuple] = {}

    def add(self, ws: Worksheet, first_row: int, first_col: int, rows, formulas, input_positions, text_positions) -> None:
        self._sheets[ws.title] = (first_row, first_col, rows, formulas, input_positions, text_positions)

    def for_paths(self, wb: Workbook) -> dict[str, tuple]:
        # openpyxl numbers worksheet parts by their position, 1-based, when it writes
        positions = {ws.title: i for i, ws in enumerate(wb.worksheets, 1)}
        return {f"xl/worksheets/sheet{positions[title]}.xml": spec for title, spec in self._sheets.items()}

    @staticmethod
    def splice(xml: bytes | str, spec: tuple, values: "FormulaValues | None" = None, sheet: str = "") -> str:
        """The sheet XML with the streamed rows added, rendered column by
        column: each distinct value of a column is rendered once (a survey
        column holds a handful of them), each cell is one string format."""
        first_row, first_col, rows, formulas, input_positions, text_positions = spec
        text = xml.decode("utf-8") if isinstance(xml, bytes) else xml
        prototype_row = first_row - 1
        styles = dict(re.findall(rf'<c r="([A-Z]+){prototype_row}"(?: s="(\d+)")?', text))
        letters = [get_column_letter(first_col + j) for j in range(len(formulas))]
        style_attr = [f' s="{styles[letter]}"' if styles.get(letter) else "" for letter in letters]
        n = len(rows)
        numbers = [str(first_row + i) for i in range(n)]
        inputs = dict(zip(input_positions, zip(*rows))) if n else {}
        columns: list[list[str]] = []
        for j, letter in enumerate(letters):
            style = style_attr[j]
            if formulas[j] is not None:
                if values is None:
                    columns.append([f'<c r="{letter}{r}"{style}><f>{escape(formulas[j][1:])}</f><v></v></c>' for r in numbers])
                    continue
                found = values.column(sheet, first_col + j)
                if found is None or found[0] > first_row or found[0] + len(found[1]) < first_row + n:
                    raise MissingValueError(f"sheet '{sheet}': no cached values for the formulas in column {letter} from row {first_row}")
                offset = first_row - found[0]
                # one shared formula per column (as Excel writes a filled-down
                # formula): the text once, the other rows point at it. The
                # structured references name this row, so nothing shifts.
                shared = f'<f t="shared" ref="{letter}{first_row}:{letter}{first_row + n - 1}" si="{j}">{escape(formulas[j][1:])}</f>'
                column = found[1][offset : offset + n]
                cells = _render_column(letter, numbers, column, lambda value, f=f'<f t="shared" si="{j}"/>': _formula_rest(style, f, value))
                if n:
                    cells[0] = f'<c r="{letter}{first_row}"{_formula_rest(style, shared, column[0])}'
                columns.append(cells)
                continue
            as_text = j in text_positions
            columns.append(_render_column(letter, numbers, inputs.get(j, (None,) * n), lambda value: _input_rest(style, as_text, value)))
        out = [f'<row r="{r}">{"".join(cells)}</row>' for r, cells in zip(numbers, zip(*columns))]
        last_row = first_row + n - 1
        text = re.sub(r'<dimension ref="([A-Z]+\d+):([A-Z]+)\d+"/>', lambda m: f'<dimension ref="{m.group(1)}:{m.group(2)}{last_row}"/>', text, count=1)
        return text.replace("</sheetData>", "".join(out) + "</sheetData>", 1)


def _formula_rest(style: str, formula_xml: str, value: Any) -> str:
    """A formula cell after its reference: attributes, formula, cached value."""
    kind, shown = xml_value(value)
    return f"{style}{kind}>{formula_xml}<v>{shown}</v></c>"


def _input_rest(style: str, as_text: bool, value: Any) -> str | None:
    """An input cell after its reference; None for a blank without style."""
    if value is None or (isinstance(value, float) and value != value):
        return f"{style}/>" if style else None
    if as_text or isinstance(value, str):
        return f'{style} t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'
    if isinstance(value, (dt.date, dt.datetime)):
        return f'{style} t="n"><v>{to_excel(value)}</v></c>'
    return f'{style} t="n"><v>{value}</v></c>'


def _render_column(letter: str, numbers: list[str], column: Sequence[Any], rest) -> list[str]:
    """The cells of one column: ``rest(value)`` computed once per distinct
    value (by type and value, so 1 and 1.0 stay apart), a blank without
    style left out."""
    seen: dict = {}
    cells = []
    for r, value in zip(numbers, column):
        try:
            key = (value.__class__, value)
            tail = seen[key]
        except KeyError:
            tail = seen[key] = rest(value)
        except TypeError:  # unhashable: rendered as it is
            tail = rest(value)
        cells.append("" if tail is None else f'<c r="{letter}{r}"{tail}')
    return cells


class _FinishedParts:
    """The parts of a package as openpyxl writes them, in order, each
    finished on the way in: formula cells given their cached values,
    streamed rows spliced into their worksheets, the dynamic-array metadata
    part announced. :func:`zip_parts` makes the file of them."""

    def __init__(self, splices: dict[str, tuple], sheet_titles: dict[str, str], values: "FormulaValues | None", strict: bool, unfilled: set[str] = frozenset()) -> None:
        self.parts: dict[str, bytes] = {}
        self.splices, self.sheet_titles, self.values, self.strict = splices, sheet_titles, values, strict
        # sheets whose XML is also kept as openpyxl wrote it, before any
        # value was filled in (a frame compiles them: frames.py)
        self.unfilled_wanted, self.unfilled = unfilled, {}
        # sheet title -> sizes of the workbook's cell-style and differential
        # style tables when openpyxl began writing it (writing registers them)
        self.registered_before: dict[str, tuple[int, int]] = {}

    def writestr(self, name, data) -> None:
        name = name.filename if isinstance(name, zipfile.ZipInfo) else name
        self.parts[name] = self._finish_part(name, data)

    def namelist(self) -> list[str]:
        return list(self.parts)

    def write(self, filename, arcname=None) -> None:
        # openpyxl streams some parts through temporary files
        with open(filename, "rb") as handle:
            self.writestr(arcname or os.path.basename(filename), handle.read())

    def _finish_part(self, name: str, data) -> bytes:
        sheet = self.sheet_titles.get(name)
        if sheet is not None and (self.values is not None or name in self.splices):
            text = data.decode("utf-8") if isinstance(data, bytes) else data
            if sheet in self.unfilled_wanted:
                self.unfilled[name] = text
            if self.values is not None:
                text = self.values.fill_sheet_xml(text, sheet, self.strict)
            if name in self.splices:
                text = RowStream.splice(text, self.splices[name], self.values, sheet)
            return text.encode("utf-8")
        if self.values is not None and self.values.has_dynamic_arrays:
            if name == "[Content_Types].xml":
                text = data.decode("utf-8") if isinstance(data, bytes) else data
                override = f'<Override PartName="/xl/metadata.xml" ContentType="{METADATA_CONTENT_TYPE}"/>'
                return text.replace("</Types>", override + "</Types>", 1).encode("utf-8")
            if name == "xl/_rels/workbook.xml.rels":
                text = data.decode("utf-8") if isinstance(data, bytes) else data
                n = text.count("<Relationship ") + 1
                rel = f'<Relationship Type="{METADATA_REL_TYPE}" Target="metadata.xml" Id="rId{n}"/>'
                return text.replace("</Relationships>", rel + "</Relationships>", 1).encode("utf-8")
        return data.encode("utf-8") if isinstance(data, str) else data


def zip_parts(parts: dict[str, bytes]) -> bytes:
    """The .xlsx file of ``parts``, in their order, every entry with the
    same timestamp: identical parts give identical bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for name, data in parts.items():
            entry = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            # Level 1: a batch spends a tenth of its time compressing at the
            # default level 6, for files a few percent smaller.
            archive.writestr(entry, data, compresslevel=1)
    return buffer.getvalue()


# A cell element as openpyxl and the fast writer write it: column letters,
# row, attributes, content (None for an empty element).
CELL_ELEMENT = re.compile(r'<c r="([A-Z]+)(\d+)"([^>]*?)(?:/>|>(.*?)</c>)', re.S)

_ROWS_MARK = "cxroi-xl-rows"
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTR_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def _xml_text(text: str) -> str:
    """Text as lxml writes it into a worksheet (ASCII, other characters as references)."""
    text = text.translate(_TEXT_ESCAPES)
    return text if text.isascii() else text.encode("ascii", "xmlcharrefreplace").decode("ascii")


def _xml_attrs(attrs: Iterable[tuple[str, str]]) -> str:
    return "".join(f' {key}="{_xml_attr(value)}"' for key, value in attrs)


def _xml_attr(value: str) -> str:
    value = value.translate(_ATTR_ESCAPES)
    return value if value.isascii() else value.encode("ascii", "xmlcharrefreplace").decode("ascii")


def _number_text(value: Any) -> str:
    """A number as openpyxl writes it (``safe_string``)."""
    return "" if value != value or value in (math.inf, -math.inf) else "%.16g" % value


class _FastWorksheetWriter(WorksheetWriter):
    """openpyxl's worksheet writer with the cells rendered as text.

    openpyxl builds an lxml element per cell; a workbook of a few hundred
    styled cells spends more time there than anywhere else in its save.
    Rows are rendered here as the same XML text, byte for byte (a test
    compares the two writers on every template), and put in place of a
    marker; cells of a kind this renderer does not know (rich text, data
    table formulas, ISO dates) go through openpyxl's own cell writer."""

    rows_text = ""

    def write_rows(self):
        # rendered here, before the tail: rendering collects the sheet's
        # comments and hyperlinks, which the tail writes
        self.rows_text = self.rows_xml()
        xf = self.xf.send(True)
        with xf.element("sheetData"):
            xf.write(_ROWS_MARK)
        self.xf.send(None)

    def rows_xml(self) -> str:
        ws = self.ws
        dims = ws.row_dimensions
        out = []
        for row_idx, row in self.rows():
            attrs = _xml_attrs(dims[row_idx]) if row_idx in dims else ""
            cells = []
            for cell in row:
                if cell._comment is not None:
                    ws._comments.append(CommentRecord.from_cell(cell))
                if cell._value is None and not cell.has_style and not cell._comment:
                    continue
                cells.append(self.cell_xml(cell))
            out.append(f'<row r="{row_idx}"{attrs}>{"".join(cells)}</row>')
        return "".join(out)

    def cell_xml(self, cell) -> str:
        value, kind = cell._value, cell.data_type
        if cell.hyperlink:
            return self._openpyxl_cell_xml(cell)
        styled = f' s="{cell.style_id}"' if cell.has_style else ""
        head = f'<c r="{cell.coordinate}"{styled}'
        if kind == "n" and value.__class__ in (int, float):
            return f'{head} t="n"><v>{_number_text(value)}</v></c>'
        if kind == "s" and value.__class__ is str:
            if value == "":
                return f'{head} t="inlineStr"></c>'
            space = ' xml:space="preserve"' if value != value.strip() else ""
            return f'{head} t="inlineStr"><is><t{space}>{_xml_text(value)}</t></is></c>'
        if kind == "f" and value.__class__ is str:
            return f"{head}><f>{_xml_text(value[1:])}</f><v></v></c>" if value else f"{head}></c>"
        if kind == "f" and isinstance(value, ArrayFormula):
            text = f"<f{_xml_attrs(value)}>{_xml_text(value.text[1:]) if value.text else ''}</f>"
            return f"{head}>{text}<v></v></c>"
        if value is None and kind in ("n", "s", "b", "e", "f"):
            return f"{head}></c>" if kind == "f" else f'{head} t="{"inlineStr" if kind == "s" else kind}"></c>'
        if kind == "b" and value.__class__ is bool:
            return f'{head} t="b"><v>{int(value)}</v></c>'
        if kind == "e" and value.__class__ is str:
            return f'{head} t="e"><v>{_xml_text(value)}</v></c>'
        if kind == "d" and not self.ws.parent.iso_dates and value.__class__ in (dt.datetime, dt.date) and getattr(value, "tzinfo", None) is None:
            return f'{head} t="n"><v>{_number_text(to_excel(value, self.ws.parent.epoch))}</v></c>'
        return self._openpyxl_cell_xml(cell)

    def _openpyxl_cell_xml(self, cell) -> str:
        buffer = io.BytesIO()
        with xmlfile(buffer) as xf:
            write_cell(xf, self.ws, cell, cell.has_style)
        return buffer.getvalue().decode("ascii")


class _InMemoryWriter(ExcelWriter):
    """openpyxl's writer, with worksheets serialised in memory rather than
    through a temporary file each (creating and removing them costs more
    than writing a small sheet)."""

    def write_worksheet(self, ws):
        if isinstance(self._archive, _FinishedParts):
            self._archive.registered_before[ws.title] = (len(self.workbook._cell_styles), len(self.workbook._differential_styles.styles))
        ws._drawing = SpreadsheetDrawing()
        ws._drawing.charts = ws._charts
        ws._drawing.images = ws._images
        writer = _FastWorksheetWriter(ws, out=io.BytesIO())
        writer.write()
        ws._rels = writer._rels
        data = writer.read().replace(f"<sheetData>{_ROWS_MARK}</sheetData>".encode(), f"<sheetData>{writer.rows_text}</sheetData>".encode(), 1)
        self._archive.writestr(ws.path[1:], data)
        self.manifest.append(ws)

    def _write_comment(self, ws):
        """openpyxl's, with the notes' two parts (comments and their VML
        drawing) rendered once per process for the same notes: a values
        workbook carries the same few dozen notes client after client."""
        if self.workbook.vba_archive is not None:
            return super()._write_comment(ws)
        sheet_id = len(self._comments) + 1
        parts = note_parts(sheet_id, ws._comments)
        notes = CommentSheet(authors=AuthorList(), commentList=[])  # names the part for the manifest and the relationship
        notes._id = sheet_id
        self._comments.append(notes)
        self._archive.writestr(notes.path[1:], parts[0])
        self.manifest.append(notes)
        ws.legacy_drawing = f"xl/drawings/commentsDrawing{sheet_id}.vml"
        self._archive.writestr(ws.legacy_drawing, parts[1])
        self.vba_modified.add(ws.legacy_drawing)
        ws._rels.append(Relationship(Id="comments", type=notes._rel_type, Target=notes.path))


def note_parts(sheet_id: int, records: list[CommentRecord]) -> tuple[bytes, bytes]:
    """The comments part and the VML drawing openpyxl writes for the notes
    ``records`` (in the order of their cells) of the ``sheet_id``-th sheet
    with notes, made once per process for the same notes."""
    key = (sheet_id, tuple((c.ref, c.author, c.text.t, c.height, c.width) for c in records))
    parts = _NOTE_PARTS.get(key)
    if parts is None:
        notes = CommentSheet.from_comments(records)
        notes._id = sheet_id
        vml = notes.write_shapes(None)
        parts = (tostring(notes.to_tree()), vml.encode("utf-8") if isinstance(vml, str) else vml)
        _NOTE_PARTS.put(key, parts, sum(map(len, parts)) + sum(len(c.text.t) + 100 for c in records))
    return parts


class _BoundedCache:
    """A memo of at most ``max_bytes`` (each entry's size as the caller
    counts it), the least recently used entries forgotten first: memory
    stays flat however many distinct entries a batch makes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.nbytes = 0
        self._entries: dict[Any, tuple[Any, int]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Any) -> Any:
        found = self._entries.pop(key, None)
        if found is None:
            return None
        self._entries[key] = found  # the most recently used last
        return found[0]

    def put(self, key: Any, value: Any, nbytes: int) -> None:
        if nbytes > self.max_bytes or key in self._entries:
            return
        while self._entries and self.nbytes + nbytes > self.max_bytes:
            self.nbytes -= self._entries.pop(next(iter(self._entries)))[1]
        self._entries[key] = (value, nbytes)
        self.nbytes += nbytes

    def clear(self) -> None:
        self._entries.clear()
        self.nbytes = 0


# (sheet number, notes) -> the two parts of those notes. The sheets of the
# client's data carry the same notes client after client; a values form's
# results carry the client's own, so the entries churn: 512 KiB keeps the
# first kind and about two dozen of the second (some 20 KiB each).
_NOTE_PARTS = _BoundedCache(512 * 1024)


def workbook_parts(wb: Workbook, stream: RowStream | None = None, values: FormulaValues | None = None, strict: bool = True, ours: bool = True, unfilled: Iterable[str] = (), sheets_only: bool = False) -> _FinishedParts:
    """The finished parts of the workbook (see :func:`workbook_bytes`);
    with the XML of the sheets titled in ``unfilled`` also kept as openpyxl
    wrote it (``.unfilled``, by part name). ``sheets_only``: the worksheets
    and the parts they own (tables, notes, drawings), not the workbook's."""
    if ours:
        wb.properties.creator = "cxroi-xl"
        wb.properties.lastModifiedBy = "cxroi-xl"
        wb.properties.created = FIXED_TIME
        wb.properties.modified = FIXED_TIME
    wb.calculation.fullCalcOnLoad = True  # Excel and LibreOffice recalculate on open
    sheet_titles = {f"xl/worksheets/sheet{i}.xml": ws.title for i, ws in enumerate(wb.worksheets, 1)}
    archive = _FinishedParts(stream.for_paths(wb) if stream is not None else {}, sheet_titles, values, strict, set(unfilled))
    if values is not None and values.has_dynamic_arrays:
        archive.writestr("xl/metadata.xml", METADATA_XML)
    writer = _InMemoryWriter(wb, archive) if not wb.write_only else ExcelWriter(wb, archive)
    if sheets_only:
        writer._write_worksheets()
    else:
        writer.write_data()
    return archive


def workbook_bytes(wb: Workbook, stream: RowStream | None = None, values: FormulaValues | None = None, strict: bool = True, ours: bool = True) -> bytes:
    """The workbook as .xlsx bytes, identical for identical content; with
    the rows of ``stream`` spliced into their sheets and, with ``values``,
    every formula cell's cached value (``strict``: a formula without one
    raises :class:`~cxroi_xl.workbooks.cache.MissingValueError`). ``ours``:
    a workbook cxroi-xl made (fixed author and times); a user's keeps its own."""
    return zip_parts(workbook_parts(wb, stream, values, strict, ours).parts)


_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and
    a rename, so a reader never sees a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; a workbook is an ordinary file
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_workbook(wb: Workbook, path: Path, stream: RowStream | None = None, values: FormulaValues | None = None) -> Path:
    """Deterministic bytes, written atomically."""
    return write_atomic(Path(path), workbook_bytes(wb, stream, values))


def validation(kind: str, cells: str, prompt: str, allow_blank: bool = True, **kwargs) -> DataValidation:
    """A data-validation rule over space-separated ranges, whose prompt
    doubles as the message shown when an entry is refused."""
    rule = DataValidation(type=kind, allow_blank=allow_blank, showErrorMessage=True, showInputMessage=True, **kwargs)
    rule.promptTitle = "cxroi-xl"
    rule.prompt = prompt
    rule.errorTitle = "Not accepted"
    rule.error = prompt
    for cell_range in cells.split():
        rule.add(cell_range)
    return rule


def header_cells(ws: Worksheet, row: int, col: int, labels: list[str]) -> None:
    """A row of header-styled labels (an Excel Table's header row among them)."""
    style = None
    for j, label in enumerate(labels):
        cell = ws.cell(row, col + j, label)
        if style is None:  # styled once, the others share its style array
            cell.font = HEADER_FONT
            cell.fill = HEADER_FILL
            cell.alignment = HEADER_ALIGNMENT
            style = cell._style
        else:
            cell._style = copy(style)


def array_formula(ws: Worksheet, ref: str, formula: str) -> None:
    """A formula that fills a block (legacy array formula, which every Excel
    and LibreOffice shows whole; xlwings fills it from the returned table)."""
    first = ref.split(":")[0]
    ws[first] = ArrayFormula(ref, formula)
