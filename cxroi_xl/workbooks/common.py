"""What every generated workbook shares: styles, number formats, safe text
cells, tables with calculated columns, and a deterministic, atomic save."""
from __future__ import annotations

import datetime as dt
import io
import os
import tempfile
import zipfile
from copy import copy
from pathlib import Path
from typing import Any, Iterable, Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.table import Table, TableColumn, TableFormula, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

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


def page_setup(ws: Worksheet) -> None:
    """Landscape, fit to one page wide, as a report to print or share."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
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

    def write(self, ws: Worksheet, rows: Iterable[Sequence[Any]], text_columns: Iterable[str] = ()) -> int:
        """Write the header and the data rows (inputs only; calculated
        columns are filled with their formula). Returns the number of rows."""
        text_columns = set(text_columns)
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


class _FixedTimeZip(zipfile.ZipFile):
    """A ZipFile whose entries all carry the same timestamp."""

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = zipfile.ZipInfo(zinfo_or_arcname, date_time=_ZIP_TIME)
            zinfo_or_arcname.compress_type = self.compression
            zinfo_or_arcname.external_attr = 0o600 << 16
        else:
            zinfo_or_arcname.date_time = _ZIP_TIME
        super().writestr(zinfo_or_arcname, data, compress_type=compress_type, compresslevel=compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        # openpyxl streams worksheets through temporary files; their mtime
        # must not reach the archive.
        with open(filename, "rb") as handle:
            self.writestr(arcname or os.path.basename(filename), handle.read())


def workbook_bytes(wb: Workbook) -> bytes:
    """The workbook as .xlsx bytes, identical for identical content."""
    wb.properties.creator = "cxroi-xl"
    wb.properties.lastModifiedBy = "cxroi-xl"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    buffer = io.BytesIO()
    with _FixedTimeZip(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        writer = ExcelWriter(wb, archive)
        writer.write_data()
    return buffer.getvalue()


def write_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and
    a rename, so a reader never sees a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_workbook(wb: Workbook, path: Path) -> Path:
    """Deterministic bytes, written atomically."""
    return write_atomic(Path(path), workbook_bytes(wb))
