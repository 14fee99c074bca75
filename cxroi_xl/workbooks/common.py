"""What every generated workbook shares: styles, number formats, safe text
cells, tables with calculated columns, and a deterministic, atomic save."""
from __future__ import annotations

import datetime as dt
import io
import math
import os
import re
import tempfile
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


class TableSpec:
    """An Excel Table: header at ``(row, col)``, data rows, calculated columns.

    ``columns`` is a sequence of ``(name, number_format, formula or None)``;
    a formula is written in full structured-reference form with ``{T}`` for
    the table name and is stored as the column's calculated formula so that
    Excel fills it into rows the user adds.
    """

    def __init__(self, name: str, columns: Sequence[tuple[str, str, str | None]], header_row: int, first_col: int = 1):
        self.name = name
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
        for j, (name, _, formula) in enumerate(self.columns):
            cell = ws.cell(self.header_row, self.first_col + j, name)
            cell.font = HEADER_FONT
            cell.fill = HEADER_FILL
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        n = 0
        formulas = ["=" + formula.replace("{T}", self.name) if formula is not None else None for _, _, formula in self.columns]
        # Style the first data row cell by cell, then copy its style arrays:
        # setting formats per cell costs more than writing the values.
        prototypes = []
        for j, (name, fmt, formula) in enumerate(self.columns):
            proto = ws.cell(self.header_row + 1, self.first_col + j)
            proto.number_format = fmt
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


class _FixedTimeZip(zipfile.ZipFile):
    """A ZipFile whose entries all carry the same timestamp, which fills the
    cached values of formula cells, splices streamed rows into the
    worksheets that have them and adds the dynamic-array metadata part."""

    splices: dict[str, tuple] = {}
    sheet_titles: dict[str, str] = {}
    values: "FormulaValues | None" = None
    strict: bool = True

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        name = zinfo_or_arcname.filename if isinstance(zinfo_or_arcname, zipfile.ZipInfo) else zinfo_or_arcname
        data = self._finish_part(name, data)
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = zipfile.ZipInfo(zinfo_or_arcname, date_time=_ZIP_TIME)
            zinfo_or_arcname.compress_type = self.compression
            zinfo_or_arcname.external_attr = 0o600 << 16
        else:
            zinfo_or_arcname.date_time = _ZIP_TIME
        super().writestr(zinfo_or_arcname, data, compress_type=compress_type, compresslevel=compresslevel)

    def _finish_part(self, name: str, data):
        sheet = self.sheet_titles.get(name)
        if sheet is not None and (self.values is not None or name in self.splices):
            text = data.decode("utf-8") if isinstance(data, bytes) else data
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
        return data

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        # openpyxl streams some parts through temporary files; their mtime
        # must not reach the archive.
        with open(filename, "rb") as handle:
            self.writestr(arcname or os.path.basename(filename), handle.read())


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
        key = (sheet_id, tuple((c.ref, c.author, c.text.t, c.height, c.width) for c in ws._comments))
        parts = _NOTE_PARTS.get(key)
        if parts is None:
            notes = CommentSheet.from_comments(ws._comments)
            notes._id = sheet_id
            parts = (tostring(notes.to_tree()), notes.write_shapes(None))
            if len(_NOTE_PARTS) >= 64:
                _NOTE_PARTS.clear()
            _NOTE_PARTS[key] = parts
        notes = CommentSheet(authors=AuthorList(), commentList=[])  # names the part for the manifest and the relationship
        notes._id = sheet_id
        self._comments.append(notes)
        self._archive.writestr(notes.path[1:], parts[0])
        self.manifest.append(notes)
        ws.legacy_drawing = f"xl/drawings/commentsDrawing{sheet_id}.vml"
        self._archive.writestr(ws.legacy_drawing, parts[1])
        self.vba_modified.add(ws.legacy_drawing)
        ws._rels.append(Relationship(Id="comments", type=notes._rel_type, Target=notes.path))


_NOTE_PARTS: dict[tuple, tuple[bytes, Any]] = {}


def workbook_bytes(wb: Workbook, stream: RowStream | None = None, values: FormulaValues | None = None, strict: bool = True, ours: bool = True) -> bytes:
    """The workbook as .xlsx bytes, identical for identical content; with
    the rows of ``stream`` spliced into their sheets and, with ``values``,
    every formula cell's cached value (``strict``: a formula without one
    raises :class:`~cxroi_xl.workbooks.cache.MissingValueError`). ``ours``:
    a workbook cxroi-xl made (fixed author and times); a user's keeps its own."""
    if ours:
        wb.properties.creator = "cxroi-xl"
        wb.properties.lastModifiedBy = "cxroi-xl"
        wb.properties.created = FIXED_TIME
        wb.properties.modified = FIXED_TIME
    wb.calculation.fullCalcOnLoad = True  # Excel and LibreOffice recalculate on open
    buffer = io.BytesIO()
    # Level 1: a batch spends a tenth of its time compressing at the default
    # level 6, for files a few percent smaller.
    with _FixedTimeZip(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True, compresslevel=1) as archive:
        archive.splices = stream.for_paths(wb) if stream is not None else {}
        archive.sheet_titles = {f"xl/worksheets/sheet{i}.xml": ws.title for i, ws in enumerate(wb.worksheets, 1)}
        archive.values = values
        archive.strict = strict
        if values is not None and values.has_dynamic_arrays:
            archive.writestr("xl/metadata.xml", METADATA_XML)
        writer = _InMemoryWriter(wb, archive) if not wb.write_only else ExcelWriter(wb, archive)
        writer.write_data()
    return buffer.getvalue()


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
    """A row of header-styled labels outside an Excel Table."""
    for j, label in enumerate(labels):
        cell = ws.cell(row, col + j, label)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def array_formula(ws: Worksheet, ref: str, formula: str) -> None:
    """A formula that fills a block (legacy array formula, which every Excel
    and LibreOffice shows whole; xlwings fills it from the returned table)."""
    first = ref.split(":")[0]
    ws[first] = ArrayFormula(ref, formula)
