"""The printed summary of a raw-data sheet: a small block of counts, the
period covered and averages, beside the sheet's table, and the sheet's
print area over it.

A client's 300 survey answers or 20,000 transactions are data to keep, not
pages to read: printed, such a sheet is its summary (one page); Page Layout >
Print Area > Clear Print Area prints the whole table. Each line is one native
formula over one table column, so the block follows the user's edits; its
cached value comes from :meth:`SummaryBlock.fill`, over the same column values
the builder wrote (Excel's rules: text and blanks ignored, the first error
propagated, an average of nothing left blank).
"""
from __future__ import annotations

import datetime as dt
import math
from copy import copy
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ..excel.error_values import ExcelError
from .cache import FormulaValues
from .common import BOX, FORMATS, HEADER_FILL, HEADER_FONT, LABEL_FONT, NOTE_FONT, TITLE_FONT, page_footer

__all__ = ["SummaryLine", "SummaryBlock"]

PRINT_NOTE = "Printed: this summary. To print every row: Page Layout > Print Area > Clear Print Area."
LABEL_WIDTH, VALUE_WIDTH = 34, 16
_RIGHT = Alignment(horizontal="right")


@dataclass(frozen=True)
class SummaryLine:
    """One line: ``function`` of the table column ``column``.

    ``function`` is COUNT, SUM, AVERAGE, MIN, MAX (AVERAGE, MIN and MAX of an
    empty column are left blank, not ``#DIV/0!`` or 0) or COUNTIF with
    ``criterion`` (a text matched exactly, as Excel's COUNTIF matches it,
    case-insensitively).
    """

    label: str
    function: str
    column: str
    number_format: str = FORMATS["int"]
    criterion: str | None = None

    def formula(self, table: str) -> str:
        ref = f"{table}[{self.column}]"
        if self.function == "COUNTIF":
            return f'=COUNTIF({ref},"{self.criterion}")'
        if self.function in ("AVERAGE", "MIN", "MAX"):
            return f'=IF(COUNT({ref})=0,"",{self.function}({ref}))'
        return f"={self.function}({ref})"

    def value(self, column: Sequence[Any]) -> Any:
        """What Excel shows for this line over the column's cell values."""
        if self.function == "COUNTIF":
            wanted = str(self.criterion).casefold()
            return sum(1 for v in column if isinstance(v, str) and v.casefold() == wanted)
        if _PLAIN_NUMBERS.issuperset(map(type, column)):
            # the common case, a column of numbers (NaN: a blank cell): no
            # per-value type tests
            numbers = [float(v) for v in column if v == v]
        else:
            numbers = _excel_numbers(column, self.function)
            if isinstance(numbers, ExcelError):
                return numbers
        if self.function == "COUNT":
            return len(numbers)
        if self.function == "SUM":
            return float(sum(numbers)) if numbers else 0
        if not numbers:
            return ""
        if self.function == "AVERAGE":
            return float(np.mean(numbers))
        return (min if self.function == "MIN" else max)(numbers)


# The types of a column that holds numbers only (bool is not among them:
# Excel's functions skip a TRUE in a range).
_PLAIN_NUMBERS = frozenset({float, int, np.float64, np.int64})


def _excel_numbers(column: Sequence[Any], function: str) -> list | ExcelError:
    """The values ``function`` counts, as Excel reads a range: text, blanks
    and booleans skipped, dates kept (MIN and MAX of dates is the date), the
    first error returned (COUNT skips errors)."""
    numbers: list = []
    for v in column:
        if isinstance(v, ExcelError):
            if function == "COUNT":
                continue
            return v
        if isinstance(v, bool) or v is None or isinstance(v, str):
            continue
        if isinstance(v, (dt.datetime, dt.date)):
            numbers.append(v)
        elif isinstance(v, (int, float, np.integer, np.floating)) and not math.isnan(float(v)):
            numbers.append(float(v))
    return numbers


@dataclass(frozen=True)
class SummaryBlock:
    """A sheet's printed summary: a heading, a note on printing, then one
    line per :class:`SummaryLine`, at column ``left`` from row 1."""

    table: str
    heading: str
    lines: tuple[SummaryLine, ...]
    left: int

    FIRST_LINE = 5  # heading, note, blank, header row (the table's too), then the lines

    @property
    def last_row(self) -> int:
        return self.FIRST_LINE + len(self.lines) - 1

    @property
    def print_area(self) -> str:
        return f"{get_column_letter(self.left)}1:{get_column_letter(self.left + 1)}{self.last_row}"

    def write(self, ws: Worksheet) -> None:
        """The block, and the sheet's print settings: one portrait page of it
        (no repeated rows or columns: the table is not printed)."""
        label_col, value_col = self.left, self.left + 1
        ws.cell(1, label_col, self.heading).font = TITLE_FONT
        ws.cell(2, label_col, PRINT_NOTE).font = NOTE_FONT
        ws.cell(2, label_col).alignment = Alignment(wrap_text=True, vertical="top")
        ws.merge_cells(start_row=2, start_column=label_col, end_row=2, end_column=value_col)
        ws.row_dimensions[2].height = 28
        for col, text in ((label_col, "Summary"), (value_col, "Value")):
            cell = ws.cell(self.FIRST_LINE - 1, col, text)
            cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        label_style = value_style = None
        for i, line in enumerate(self.lines):
            r = self.FIRST_LINE + i
            label = ws.cell(r, label_col, line.label)
            value = ws.cell(r, value_col, line.formula(self.table))
            if label_style is None:  # the first line styled, the others copy it
                label.font, label.border = LABEL_FONT, BOX
                value.border, value.alignment = BOX, _RIGHT
                label_style, value_style = label._style, value._style
            else:
                label._style, value._style = copy(label_style), copy(value_style)
            value.number_format = line.number_format
        ws.column_dimensions[get_column_letter(label_col)].width = LABEL_WIDTH
        ws.column_dimensions[get_column_letter(value_col)].width = VALUE_WIDTH
        setup = ws.page_setup
        setup.orientation, setup.paperSize = "portrait", ws.PAPERSIZE_A4
        # one page wide, as tall as it takes: the block is one page; with the
        # print area cleared, the whole table, its header row on every page
        setup.fitToWidth, setup.fitToHeight = 1, 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.horizontalCentered = False
        ws.print_area = self.print_area
        ws.print_title_rows = f"{self.FIRST_LINE - 1}:{self.FIRST_LINE - 1}"  # the table's header row too
        page_footer(ws)

    def fill(self, values: FormulaValues, sheet: str, columns: Mapping[str, Sequence[Any]]) -> None:
        """Register each line's value from the table's column values."""
        for i, line in enumerate(self.lines):
            values.set_at(sheet, self.FIRST_LINE + i, self.left + 1, line.value(columns.get(line.column, ())))
