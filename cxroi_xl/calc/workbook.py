"""``cxroi-xl calc``: a user's live workbook -> its values form.

:func:`to_values` works on an openpyxl workbook in memory; :func:`calc_file`
opens an untrusted file safely, converts it, and writes the result
atomically. :func:`complete_values` gives every formula a builder or a file
left without a value the value the evaluator finds.
"""
from __future__ import annotations

import dataclasses
import gc
import os
import re
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, NamedTuple

from openpyxl.utils.cell import get_column_letter
from openpyxl.worksheet.formula import ArrayFormula

from ..excel.error_values import ExcelError
from ..workbooks.cache import FormulaValues
from ..workbooks.common import workbook_bytes, write_atomic
from ..workbooks.values import ValueCell, _array_ref, _attach_note, _block_of, _formula_of, _note, _write, formula_text
from .evaluator import Evaluator
from .limits import Budget
from .operands import NotComputed
from .safety import Limits, WorkbookError, check_archive, check_macros_kept, macro_parts, open_workbook

__all__ = ["DataCheck", "data_checks", "CalcReport", "formula_errors", "to_values", "complete_values", "calc_file", "refuse_own_input"]

class DataCheck(NamedTuple):
    """A cell in a number column of a tracker's data table that holds text
    or nothing, which the sheet's SUMs skip as Excel's do."""

    sheet: str
    cell: str
    found: str  # "blank" or "text '...'"

# The tracker's data tables (cx_automation_roi) and their number columns.
_CHECKED_TABLES = ("Baseline", "PostAutomation")

def data_checks(workbook: Any) -> list[DataCheck]:
    """Text or blank cells in the number columns (the tracker's KPI columns)
    of the Baseline and PostAutomation tables, row by row, left to right."""
    from openpyxl.utils.cell import range_boundaries

    from ..engine.tracker import KPI_COLUMNS

    found = []
    for sheet in workbook.worksheets:
        for table in sheet.tables.values():
            if table.displayName not in _CHECKED_TABLES:
                continue
            min_col, min_row, _, max_row = range_boundaries(table.ref)
            last = max_row - (table.totalsRowCount or 0)
            columns = [min_col + j for j, column in enumerate(table.tableColumns) if column.name in KPI_COLUMNS]
            for row in range(min_row + (table.headerRowCount if table.headerRowCount is not None else 1), last + 1):
                for col in columns:
                    value = sheet.cell(row, col).value
                    if value is None or (isinstance(value, str) and not value.strip()):
                        found.append(DataCheck(sheet.title, f"{get_column_letter(col)}{row}", "blank"))
                    elif isinstance(value, str) and not value.startswith("="):
                        shown = value if len(value) <= 30 else value[:27] + "..."
                        found.append(DataCheck(sheet.title, f"{get_column_letter(col)}{row}", f"text '{shown}'"))
    return found

@dataclass
class CalcReport:
    """What ``cxroi-xl calc`` did."""

    source: Path
    output: Path
    replaced: list[ValueCell] = field(default_factory=list)
    checks: list[DataCheck] = field(default_factory=list)
    # (sheet, cell) of native formulas this calculation cannot compute
    # (functions it does not know), which keep the value the file saved
    kept: list[tuple[str, str]] = field(default_factory=list)
    # ... and those for which the file saved nothing: #NAME? until Excel recalculates
    not_computed: list[tuple[str, str]] = field(default_factory=list)
    # (sheet, cell, formula, error, reason) of Excel's own formulas that end in an error
    formula_errors: list[tuple[str, str, str, str, str]] = field(default_factory=list)

    @property
    def errors(self) -> list[tuple[str, str, str, str, str]]:
        """(sheet, cell, formula, error, reason) for every error value an
        add-in formula gave (the cell is the formula's anchor)."""
        found = []
        for item in self.replaced:
            block = item.value if isinstance(item.value, list) else [[item.value]]
            for row in block:
                for value in row:
                    if isinstance(value, ExcelError):
                        found.append((item.sheet, item.cell, item.formula, str(value), value.reason))
        return found

def formula_errors(workbook: Any, values: FormulaValues) -> list[tuple[str, str, str, str, str]]:
    """(sheet, cell, formula, error, reason) for every cell of an Excel
    formula (each cell of an array formula's range) whose value in
    ``values`` is an error, sheet by sheet, row by row.

    What counts: an error a formula gives, computed here (circular names,
    ``#REF!`` of a range too large, ``#DIV/0!``...) or saved in the file for
    a function this calculation does not know. What does not: an error
    value typed in as a constant (the user's data, not a formula's
    failure), and the ``#NAME?`` standing in for a formula this calculation
    cannot compute and the file saved no value for (listed apart, as not
    computed). An add-in's deliberate answer to bad input is an error too,
    listed by :attr:`CalcReport.errors`.
    """
    found = []
    for sheet in workbook.worksheets:
        for row, col in sorted(sheet._cells):
            cell = sheet._cells[(row, col)]
            if isinstance(cell.value, ArrayFormula):
                text, block = cell.value.text or "", _block_of(values, sheet, cell)
            elif cell.data_type == "f":
                text, block = cell.value, [[values.get(sheet.title, row, col)]]
            else:
                continue
            for i, line in enumerate(block):
                for j, value in enumerate(line):
                    if isinstance(value, ExcelError) and not isinstance(value, NotComputed):
                        found.append((sheet.title, f"{get_column_letter(col + j)}{row + i}", text, str(value), value.reason))
    return found


def to_values(workbook: Any, budget: Budget | None = None) -> list[ValueCell]:
    """Replace add-in formulas by their values, in place.

    Everything is evaluated before anything is written, so the values do not
    depend on the order of the cells. Returns one :class:`ValueCell` per
    replaced formula, in sheet order, row by row.

    >>> from openpyxl import Workbook
    >>> book = Workbook()
    >>> sheet = book.active
    >>> sheet["A1"], sheet["A2"] = "=CXPAYBACK({-100,30,40,50})", "=A1*2"
    >>> to_values(book)
    [ValueCell(sheet='Sheet', cell='A1', formula='=CXPAYBACK({-100,30,40,50})', value=2.6)]
    >>> sheet["A1"].value, sheet["A2"].value, sheet["A1"].comment.author
    (2.6, '=A1*2', 'cxroi-xl')
    """
    return _to_values(workbook, budget)[0]

def _to_values(workbook: Any, budget: Budget | None) -> tuple[list[ValueCell], Evaluator]:
    """:func:`to_values`, and the evaluator that computed the values."""
    evaluator = Evaluator(workbook, budget)
    plan = []
    for sheet in workbook.worksheets:
        for row, col in sorted(sheet._cells):
            cell = sheet._cells[(row, col)]
            if not evaluator.uses_addin(cell):
                continue
            coordinate = f"{get_column_letter(col)}{row}"
            block = evaluator.spill(sheet.title, coordinate)
            plan.append((sheet, row, col, _formula_of(cell.value), block, evaluator.fixed_range(sheet.title, coordinate)))

    replaced = []
    for sheet, top, left, formula, block, fixed in plan:
        if fixed is not None:  # an array formula's old range: cells the new result no longer reaches become blank
            for row in range(fixed.min_row, fixed.max_row + 1):
                for col in range(fixed.min_col, fixed.max_col + 1):
                    sheet.cell(row, col).value = None
        for i, values in enumerate(block):
            for j, value in enumerate(values):
                cell = sheet.cell(top + i, left + j)
                _write(cell, value)
                if (i, j) == (0, 0):
                    _attach_note(cell, _note(formula, value))
                elif isinstance(value, ExcelError):
                    _attach_note(cell, _note(f"{formula} (in {sheet.cell(top, left).coordinate})", value))
        anchor = sheet.cell(top, left).coordinate
        shown = block if len(block) > 1 or len(block[0]) > 1 else block[0][0]
        replaced.append(ValueCell(sheet.title, anchor, formula, shown))
    return replaced, evaluator

def complete_values(workbook: Any, values: FormulaValues, budget: Budget | None = None, saved: Callable[[str, int, int, Any], Any] | None = None, before: Evaluator | None = None) -> int:
    """Give every formula the builder left without a value the value the
    headless interpreter finds; returns how many formulas it evaluated.

    The builders compute their values from the engine; this is the fallback
    for workbooks whose data the engine refused, and for builders that do
    not register values yet. A spilled result fills its block and resizes
    its array formula to it. ``saved(sheet, row, column, default)``: the
    value the file saved for a cell, for the formulas the interpreter
    cannot compute (:class:`~cxroi_xl.calc.formula.NotComputed`; an
    array formula then keeps its range). ``before``: the evaluator that
    replaced the add-in formulas (:func:`to_values`); the results no add-in
    formula fed are taken from it instead of computed again."""
    evaluator = None
    evaluated = 0
    for sheet in workbook.worksheets:
        for key in sorted(sheet._cells):
            cell = sheet._cells[key]
            if not (cell.data_type == "f" or isinstance(cell.value, ArrayFormula)) or values.has(sheet.title, *key):
                continue
            if formula_text(cell) is None:
                continue
            evaluator = evaluator or Evaluator(workbook, budget, before)
            evaluated += 1
            if isinstance(cell.value, ArrayFormula):
                block = evaluator.spill(sheet.title, cell.coordinate)
                if saved is not None and isinstance(block[0][0], NotComputed):
                    top, left, bottom, right = _array_ref(cell)
                    values.set_block(sheet.title, top, left, [[saved(sheet.title, r, c, block[0][0]) for c in range(left, right + 1)] for r in range(top, bottom + 1)])
                    continue
                values.set_block(sheet.title, cell.row, cell.column, block)
                top, left, bottom, right = _array_ref(cell)
                for row in range(top, bottom + 1):  # cells of the old range the result no longer reaches
                    for col in range(left, right + 1):
                        if row - top >= len(block) or col - left >= len(block[0]):
                            values.set_at(sheet.title, row, col, None)
                last = f"{get_column_letter(cell.column + len(block[0]) - 1)}{cell.row + len(block) - 1}"
                cell.value = ArrayFormula(f"{cell.coordinate}:{last}", cell.value.text)
            else:
                value = evaluator.value(sheet.title, cell.coordinate)
                if saved is not None and isinstance(value, NotComputed):
                    value = saved(sheet.title, cell.row, cell.column, value)
                values.set_at(sheet.title, cell.row, cell.column, value)
    return evaluated

_SHEET_ENTRY = re.compile(r'<(?:\w+:)?sheet\b[^>]*?\bname="([^"]*)"[^>]*?\br:id="([^"]*)"')

_RELATIONSHIP = re.compile(r'<Relationship\b[^>]*?\bId="([^"]*)"[^>]*?\bTarget="([^"]*)"|<Relationship\b[^>]*?\bTarget="([^"]*)"[^>]*?\bId="([^"]*)"')

_DYNAMIC_ANCHOR = re.compile(r'<c\b(?=[^>]*\bcm="\d+")[^>]*?\br="([A-Z]+\d+)"[^>]*>\s*<f\b[^>]*\bt="array"')

def _dynamic_anchors(path: Path) -> dict[str, list[str]]:
    """Sheet title -> cells holding a dynamic-array formula (``cm`` cell
    metadata on an array formula, with the XLDAPR metadata part), read from
    the package itself: openpyxl drops both. Call it only on a file that
    passed :func:`~cxroi_xl.calc.safety.open_workbook` (sizes checked);
    the parts are scanned as text, never parsed as XML."""
    from xml.sax.saxutils import unescape

    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        if "xl/metadata.xml" not in names or b"XLDAPR" not in archive.read("xl/metadata.xml"):
            return {}
        book = archive.read("xl/workbook.xml").decode("utf-8", "replace")
        rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
        targets = {}
        for a, b, c, d in _RELATIONSHIP.findall(rels):
            rel_id, target = (a, b) if a else (d, c)
            targets[rel_id] = target.lstrip("/")
        found: dict[str, list[str]] = {}
        for name, rel_id in _SHEET_ENTRY.findall(book):
            target = targets.get(rel_id, "")
            part = target if target.startswith("xl/") else f"xl/{target}"
            if part in names:
                anchors = _DYNAMIC_ANCHOR.findall(archive.read(part).decode("utf-8", "replace"))
                if anchors:
                    found[unescape(name, {"&quot;": '"', "&apos;": "'"})] = anchors
        return found

def calc_file(source: str | os.PathLike, output: str | os.PathLike, limits: Limits = Limits(), budget: Budget | None = None) -> CalcReport:
    """``cxroi-xl calc``: the values form of ``source`` written to ``output``.

    ``source`` is opened as untrusted (:func:`~cxroi_xl.calc.safety.open_workbook`);
    a bad file raises :class:`WorkbookError`. ``budget`` bounds the
    evaluation (time, cells, text; see :class:`~cxroi_xl.calc.formula.Budget`). The result is written to a
    temporary file beside ``output`` and moved into place in one step, so
    ``output`` is either the complete new workbook or untouched.
    """
    if gc.get_freeze_count():  # someone else keeps objects apart from the collector: leave it to them
        return _calc_file(source, output, limits, budget)
    # The cyclic collector's passes would go through every module and, once
    # loaded, every cell of the workbook again and again (some 4% of a run's
    # processor time on the shipped templates), though these live to the end:
    # it skips them until then.
    gc.freeze()
    try:
        return _calc_file(source, output, limits, budget, freeze=True)
    finally:
        gc.unfreeze()

def _calc_file(source: str | os.PathLike, output: str | os.PathLike, limits: Limits, budget: Budget | None, freeze: bool = False) -> CalcReport:
    source, output = Path(source), Path(output)
    budget = budget or Budget()
    started = time.monotonic()
    refuse_own_input(source, output)
    deadline = started + budget.seconds  # reading the file counts against --time-limit too
    check_archive(source, limits, deadline)
    macros = macro_parts(source)
    if macros and output.suffix.lower() != ".xlsm":
        raise WorkbookError(source, f"is a macro-enabled workbook ({macros[0]}); write its values form to an .xlsm (-o {output.stem}.xlsm) so its macros are kept")
    if not macros and output.suffix.lower() == ".xlsm":
        raise WorkbookError(output, f"ends in .xlsm but {source.name} holds no macros: Excel refuses an .xlsx saved under that name; choose -o {output.stem}.xlsx")
    workbook = open_workbook(source, limits, keep_vba=bool(macros), deadline=deadline)
    if freeze:
        gc.freeze()
    checks = data_checks(workbook)
    replaced, evaluated = _to_values(workbook, budget)
    # the native formulas get what is left of the workbook's time
    budget = dataclasses.replace(budget, seconds=max(budget.seconds - (time.monotonic() - started), 0.001))
    folder = output.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"the folder {folder} does not exist")
    # the native formulas left keep a cached value too, so readers that do
    # not recalculate see the numbers
    values = FormulaValues()
    for title, anchors in _dynamic_anchors(source).items():  # a user's dynamic arrays stay dynamic
        if title not in workbook.sheetnames:
            continue
        sheet = workbook[title]
        for coordinate in anchors:
            cell = sheet[coordinate]
            if isinstance(cell.value, ArrayFormula):
                values.mark_dynamic(title, cell.row, cell.column, cell.value.ref)
    saved = _SavedValues(source, limits)
    complete_values(workbook, values, budget, saved, before=evaluated)
    for sheet in workbook.worksheets:  # the rest of each array formula's range holds its values, as Excel saves it
        for cell in [c for c in sheet._cells.values() if isinstance(c.value, ArrayFormula)]:
            for i, row in enumerate(_block_of(values, sheet, cell)):
                for j, value in enumerate(row):
                    if (i, j) != (0, 0):
                        _write(sheet.cell(cell.row + i, cell.column + j), value)
    errors = formula_errors(workbook, values)
    data = workbook_bytes(workbook, values=values, strict=False, ours=False)
    if workbook.vba_archive is not None:
        workbook.vba_archive.close()
    if macros:
        check_macros_kept(source, data, macros)
    write_atomic(output, data)  # a temporary file in the same folder, then a rename
    return CalcReport(source, output, replaced, checks, saved.kept, saved.missing, errors)

def refuse_own_input(source: Path, output: Path) -> None:
    """``calc`` never writes over its input: the output may not be the input
    itself, a symbolic link to it or another hard link of it (the user's
    formulas would become values)."""
    same = output.resolve() == source.resolve()
    if not same:
        try:
            same = os.path.samefile(source, output)
        except OSError:  # the output does not exist yet (or cannot be read): not the input
            same = False
    if same:
        raise WorkbookError(output, f"is the input workbook {source} itself (or a link to it); calc never writes over its input, whose formulas would be lost: choose another -o")


class _SavedValues:
    """The values a workbook file saved for its formula cells, read (once,
    and only when asked) for the formulas the interpreter cannot compute:
    what Excel showed when it last saved the file, which it shows again
    until it recalculates, rather than a #NAME? Excel would not show.
    Records each cell asked for in ``kept`` or, with nothing saved,
    ``missing``."""

    def __init__(self, path: Path, limits: Limits):
        self.path, self.limits = path, limits
        self.kept: list[tuple[str, str]] = []
        self.missing: list[tuple[str, str]] = []
        self.book: Any = None

    def __call__(self, sheet: str, row: int, col: int, default: Any) -> Any:
        if self.book is None:
            self.book = open_workbook(self.path, self.limits, data_only=True)
        cell = self.book[sheet]._cells.get((row, col)) if sheet in self.book.sheetnames else None
        where = (sheet, f"{get_column_letter(col)}{row}")
        if cell is None or cell.value is None:
            self.missing.append(where)
            return default  # nothing saved: the error and its reason stay
        self.kept.append(where)
        if cell.data_type == "e":
            return ExcelError(str(cell.value), f"saved in the file ({default.reason})")
        return cell.value
