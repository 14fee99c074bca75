"""The values a workbook build writes: each add-in formula's cached value
from the engine, spilled blocks as dynamic arrays (live form) or as plain
values with the formula in a cell note (values form).

Every cell whose formula calls an add-in function (a name in the registry)
gets the value the engine computed, and a spilled result fills its whole
spill range; in the values form the original formula goes into a cell note
(author ``cxroi-xl``) with the reason when the result is an error. Native
Excel formulas stay formulas, so the workbook still recalculates in Excel
for Mac, Excel on the web, LibreOffice or Google Sheets.

Nothing here evaluates a formula: the builders register every value from
the engine. Values a builder could not get from the engine (a client whose
data the engine refuses) are filled by the ``interpret`` callable its caller
passes to :func:`finish` (the batch passes the headless calculation's).
"""
from __future__ import annotations

import re
from typing import Any, Callable, NamedTuple

from openpyxl import Workbook
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.comments import Comment
from openpyxl.worksheet.formula import ArrayFormula

from ..excel import registry
from ..excel.error_values import ExcelError
from .cache import FormulaValues

__all__ = ["ValueCell", "COMMENT_AUTHOR", "note_size", "addin_cells", "called_functions", "finish", "formula_text", "make_dynamic", "values_from_cache"]

COMMENT_AUTHOR = "cxroi-xl"

_SHOWN_AS = "#N/A"  # for errors that older spreadsheet programs cannot read from a file (#SPILL!, #CALC!)

class ValueCell(NamedTuple):
    """One replaced formula: its cell, its text, and its value (a 2-D list when it spilled)."""

    sheet: str
    cell: str
    formula: str
    value: Any


def formula_text(cell: Any) -> str | None:
    """The formula an openpyxl cell holds (array formulas included), else None.
    Text that merely starts with "=" (data type "s") is not a formula."""
    value = None if cell is None else cell.value
    if isinstance(value, ArrayFormula):
        return value.text if isinstance(value.text, str) and value.text.startswith("=") else None
    if cell is not None and cell.data_type == "f" and isinstance(value, str) and len(value) > 1 and value.startswith("="):
        return value
    return None


_TEXT_LITERAL = re.compile(r'"(?:[^"]|"")*"')
# a name followed by "(", not part of a longer name, a sheet or a table reference
_CALLED = re.compile(r"(?<![\w.\]'!$])(?:_xlfn\.|_xlws\.|_xludf\.)*([A-Za-z_][A-Za-z0-9_.]*)\s*\(", re.IGNORECASE)


def called_functions(formula: str) -> set[str]:
    """Upper-case names of the functions a formula calls, without
    ``_xlfn.`` markers; text in quotes is not read.

    >>> sorted(called_functions('=INDEX(_xlfn.CXTEI(B2:B4, C2:C4), 5, 2)&"CXROI(x)"'))
    ['CXTEI', 'INDEX']
    """
    return {name.upper() for name in _CALLED.findall(_TEXT_LITERAL.sub('""', formula))}


def _formula_of(value: Any) -> str:
    """The formula as a user would type it: no ``_xlfn.`` markers."""
    text = value.text if isinstance(value, ArrayFormula) else value
    for prefix in ("_xlfn._xlws.", "_xlfn.", "_xlws.", "_xludf."):
        text = text.replace(prefix, "").replace(prefix.upper(), "")
    return text

def _write(cell: Any, value: Any) -> None:
    """Put a computed value into a cell, keeping its style and number format."""
    if isinstance(value, ExcelError):
        cell.value = str(value) if value in ERROR_CODES else _SHOWN_AS
        cell.data_type = "e"
    elif isinstance(value, str):
        cell.value = value
        cell.data_type = "s"  # text such as "=x" or "#N/A" stays text, not a formula or an error
    else:
        cell.value = value

def _note(formula: str, value: Any) -> str:
    text = f"Calculated by cxroi-xl from the formula\n{formula}"
    if isinstance(value, ExcelError):
        shown = "" if value in ERROR_CODES else f" (shown as {_SHOWN_AS})"
        text += f"\n\nResult {value}{shown}: {value.reason or 'no reason given'}"
    elif getattr(value, "reason", None):  # text the engine explains ("not reached")
        text += f"\n\nResult \"{value}\": {value.reason}"
    return text

def _attach_note(cell: Any, text: str) -> None:
    """Add our note, keeping a note the user wrote; replace an older one of ours."""
    if cell.comment is not None and cell.comment.author != COMMENT_AUTHOR:
        text = f"{cell.comment.text}\n\n{text}"
    comment = Comment(text, COMMENT_AUTHOR)
    comment.width, comment.height = note_size(text)
    cell.comment = comment


def note_size(text: str) -> tuple[int, int]:
    """(width, height) in points of a note of ours holding ``text``: tall
    enough for its lines wrapped at about 48 characters."""
    lines = sum(1 + len(line) // 48 for line in text.splitlines())
    return 320, max(80, 15 * lines + 10)

def _array_ref(cell: Any) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of the block a formula cell fills."""
    from openpyxl.utils.cell import range_boundaries

    if isinstance(cell.value, ArrayFormula):
        left, top, right, bottom = range_boundaries(cell.value.ref)
        return top, left, bottom, right
    return cell.row, cell.column, cell.row, cell.column

def addin_cells(workbook: Any) -> list[tuple[Any, Any]]:
    """(sheet, cell) of every formula that calls an add-in function."""
    addins = frozenset(registry.functions())
    found = []
    for sheet in workbook.worksheets:
        for key in sorted(sheet._cells):
            cell = sheet._cells[key]
            text = formula_text(cell) if cell.data_type == "f" or isinstance(cell.value, ArrayFormula) else None
            if text is None or "CX" not in text.upper():
                continue
            if not called_functions(text).isdisjoint(addins):
                found.append((sheet, cell))
    return found

def _block_of(values: FormulaValues, sheet: Any, cell: Any) -> list[list[Any]]:
    top, left, bottom, right = _array_ref(cell)
    return [[values.get(sheet.title, row, col) for col in range(left, right + 1)] for row in range(top, bottom + 1)]

def make_dynamic(workbook: Any, values: FormulaValues) -> None:
    """Live form: every add-in formula becomes a dynamic array (its anchor
    marked for ``cm="1"``). A spill's other cells hold the cached values as
    plain values, as Excel saves a spill; a single-cell formula becomes a
    one-cell dynamic array, as XlsxWriter's ``write_dynamic_array_formula``
    writes it, so that Excel 365 shows ``=CXROI(...)``, not the implicit
    intersection ``=@CXROI(...)`` it gives a legacy formula whose function
    may return an array."""
    for sheet, cell in addin_cells(workbook):
        if not isinstance(cell.value, ArrayFormula):
            cell.value = ArrayFormula(cell.coordinate, cell.value)
            values.mark_dynamic(sheet.title, cell.row, cell.column, cell.coordinate)
            continue
        values.mark_dynamic(sheet.title, cell.row, cell.column, cell.value.ref)
        for i, row in enumerate(_block_of(values, sheet, cell)):
            for j, value in enumerate(row):
                if (i, j) != (0, 0):
                    _write(sheet.cell(cell.row + i, cell.column + j), value)

def values_from_cache(workbook: Any, values: FormulaValues) -> list[ValueCell]:
    """Values form of a live workbook build: each add-in formula replaced by
    its cached value (a spill by its block), the formula kept in the cell's
    note with the reason of an error; native formulas stay, with their
    cached values. Nothing is computed again."""
    replaced = []
    for sheet, cell in addin_cells(workbook):
        formula = _formula_of(cell.value)
        block = _block_of(values, sheet, cell)
        top, left = cell.row, cell.column
        for i, row in enumerate(block):
            for j, value in enumerate(row):
                target = sheet.cell(top + i, left + j)
                _write(target, value)
                if (i, j) == (0, 0):
                    _attach_note(target, _note(formula, value))
                elif isinstance(value, ExcelError):
                    _attach_note(target, _note(f"{formula} (in {cell.coordinate})", value))
        shown = block if len(block) > 1 or len(block[0]) > 1 else block[0][0]
        replaced.append(ValueCell(sheet.title, cell.coordinate, formula, shown))
    return replaced


def finish(wb: Workbook, mode: str, interpret: Callable[[Workbook, FormulaValues], int] | None = None) -> Workbook:
    """Apply the mode to a freshly built live workbook; its formulas' values
    end up in ``wb.formula_values``.

    ``interpret(wb, values)`` fills the values of the formulas the builder
    left without one and returns how many it computed (stored as
    ``wb.interpreted_formulas``); without it such formulas stay without a
    cached value, and saving the workbook strictly refuses them."""
    if mode not in ("live", "values"):
        raise ValueError("mode must be 'live' or 'values'")
    values = getattr(wb, "formula_values", None)
    if values is None:
        values = wb.formula_values = FormulaValues()
    wb.interpreted_formulas = interpret(wb, values) if interpret is not None else 0
    if mode == "live":
        make_dynamic(wb, values)
    else:
        values_from_cache(wb, values)
    return wb
