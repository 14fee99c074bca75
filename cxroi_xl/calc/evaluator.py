"""A headless formula evaluator for openpyxl workbooks.

It answers what a spreadsheet would show in a cell, without a spreadsheet:
``Evaluator(workbook).value("ROI", "B2")``. It is what ``cxroi-xl calc`` and
the templates' values mode use to put the add-in's results into a workbook
for people who do not have the add-in.

How it works:

* Formulas are split into tokens by openpyxl's tokenizer and parsed into a
  small tree by precedence climbing (Excel's precedence: ``:``, then unary
  ``-``, ``%``, ``^``, ``* /``, ``+ -``, ``&``, comparisons; so ``-2^2`` is 4).
* Cells are evaluated lazily, each at most once (memoised); a cell met again
  while it is being evaluated is a circular reference and gives ``#REF!``.
  ``calc`` evaluates twice (add-in formulas, then the rest once those hold
  values); the second pass takes over the first's results that no add-in
  formula fed (``Evaluator(..., before=first)``).
* Add-in functions (every name in :func:`cxroi_xl.excel.registry.functions`) are
  evaluated by :func:`cxroi_xl.excel.dispatch.call`, with ranges passed as 2-D lists
  of cell values (blanks ``None``, dates ``datetime``), as xlwings would.
  A table they return spills: the cells to the right of and below the
  formula show it, so ``ROI!C5`` inside a ``CXTEI`` spill has a value, and a
  spill onto non-empty cells gives ``#SPILL!`` as in Excel 365.
* Native functions follow Excel's documented semantics for the set listed in
  :data:`NATIVE_FUNCTIONS`; any other function gives ``#NAME?``.
* Workbooks may come from anyone, so evaluation is bounded (:class:`Budget`):
  a wall-clock limit for the workbook, cells read per formula and per
  workbook, Excel's own limits on text (32,767 characters) and formulas
  (8,192 characters, 64 nested functions), array sizes; ranges larger than
  :data:`LARGE_RANGE_CELLS` are read only as far as the sheet is used, each
  range once per workbook, and wildcards match in linear time. A cell over
  a limit shows an error with the reason; the others are still computed.

Semantics, briefly: errors propagate through arithmetic; a blank is 0 in
arithmetic and "" in text, and is skipped by SUM, AVERAGE, COUNT...; dates
are serial numbers counted from 1899-12-30 (Excel's serials from 1900-03-01
on); arithmetic on ranges works element-wise (dynamic-array Excel), and a
formula that is neither an array formula nor an add-in call shows the range
cell in its own row or column (implicit intersection) or an array's first
value. Structured references are understood in the full form that files
store (``Table1[[#This Row],[col]]``, ``Table1[col]``, ``Table1[#Data]``,
``Table1[[col1]:[col2]]``, plus ``#All``, ``#Headers``, ``#Totals``, ``@``).

>>> from openpyxl import Workbook
>>> book = Workbook()
>>> sheet = book.active
>>> sheet.append([-100]); sheet.append([30]); sheet.append([40]); sheet.append([50])
>>> sheet["B1"] = "=SUM(A1:A4)*2%"
>>> sheet["C1"] = "=CXPAYBACK(A1:A4)"
>>> Evaluator(book).value("Sheet", "B1"), Evaluator(book).value("Sheet", "C1")
(0.4, 2.6)
"""
from __future__ import annotations

import dataclasses
import logging
import math
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable

from openpyxl.utils.cell import column_index_from_string, get_column_letter
from openpyxl.worksheet.formula import ArrayFormula

from ..excel import registry
from ..excel.error_values import EXCEL_ERRORS, ExcelError
from ..excel.dispatch import call as call_addin
from ..workbooks.values import formula_text
from .functions import _LAZY, NATIVE_FUNCTIONS
from .limits import _MAX_NESTING, _RECURSION_LIMIT, LARGE_RANGE_CELLS, Budget, _LimitReached, _Spend, _TooDeep
from .operands import _BINARY, MISSING, Array, NotComputed, Ref, _elementwise, _error, _Failure, _grid_shape, _is_date, _is_number, _joined, _NotComputedHere, _number, _text
from .parser import _CALLED, _COLUMNS, _ROWS, FormulaSyntaxError, FormulaTooComplex, _cell_position, _function_name, _parse, _split_sheet, _structured_parts, _walk_calls, function_names

logger = logging.getLogger("cxroi_xl")

_TEXT_CACHE_SIZE = 100_000  # formula texts whose add-in use is kept, per evaluator
_UNSURE_CELLS = 10_000  # cells read under a spill being computed, recorded before giving up on taking results over

_A1_CACHE_SIZE = 100_000  # reference texts kept resolved per evaluator; a workbook has far fewer distinct ones


@dataclass
class _Spill:
    """What a spilling formula (an add-in call or an array formula) shows."""

    anchor: tuple[str, int, int]
    values: list[list[Any]]
    fixed: Ref | None  # the range an array formula was saved with
    dynamic: bool  # True: the result decides the extent (add-in call); False: CSE array formula

    @property
    def extent(self) -> Ref:
        """The cells the result itself occupies."""
        title, top, left = self.anchor
        rows, cols = _grid_shape(self.values)
        return Ref(title, top, left, top + rows - 1, left + cols - 1)

    def in_fixed(self, row: int, col: int) -> bool:
        return self.fixed is not None and self.fixed.contains(row, col)

    def covers(self, row: int, col: int) -> bool:
        return self.in_fixed(row, col) or (self.dynamic and self.extent.contains(row, col))

    def at(self, row: int, col: int) -> Any:
        _, top, left = self.anchor
        rows, cols = _grid_shape(self.values)
        i, j = row - top, col - left
        if not self.dynamic:  # a CSE array repeats a single row or column over its range
            i = 0 if rows == 1 else i
            j = 0 if cols == 1 else j
        if i < rows and j < cols:
            value = self.values[i][j]
            return None if value is MISSING else value
        return None if self.dynamic else _error("#N/A", "outside the array formula's result")

class Evaluator:
    """Evaluate the formulas of an openpyxl workbook, lazily and once each.

    The workbook must be loaded with formulas (``data_only=False``) or built
    in memory. The evaluator only reads it; :mod:`cxroi_xl.workbooks.values`
    writes results back.

    ``before``: an evaluator of the same workbook taken before its add-in
    formulas were replaced by the values it gave them (``calc``'s second
    pass). Its results that no add-in formula fed are taken over instead of
    computed again (see :meth:`_take_over`).
    """

    def __init__(self, workbook: Any, budget: Budget | None = None, before: Evaluator | None = None):
        self.workbook = workbook
        self.budget = budget or Budget()
        self._deadline = time.monotonic() + self.budget.seconds
        self._spending: list[_Spend] = []  # one per formula being evaluated, innermost last
        self._cells_read = 0
        self._circular = 0  # circular references met; a range read that met one is not shared
        self._grids: dict[Ref, list[list[Any]]] = {}  # range reads shared between formulas
        # The used area of each sheet, once: openpyxl recounts it on every ask.
        self._used = {ws.title: (max(ws.max_row, 1), max(ws.max_column, 1)) for ws in workbook.worksheets}
        self._sheets = {ws.title.lower(): ws for ws in workbook.worksheets}
        self._tables: dict[str, tuple[Any, Any]] = {}
        for ws in workbook.worksheets:
            for table in ws.tables.values():
                self._tables[table.displayName.lower()] = (ws, table)
        self._names = {name.lower(): dn.attr_text for name, dn in workbook.defined_names.items()}
        self._local_names = {
            (ws.title.lower(), name.lower()): dn.attr_text for ws in workbook.worksheets for name, dn in ws.defined_names.items()
        }
        self._addins = frozenset(registry.functions())
        self._structured_cache: dict[str, Ref | tuple] = {}
        # A1 reference texts resolved, per (text, sheet of the formula): a
        # range's bounds do not change while the workbook is evaluated
        self._a1_cache: dict[tuple[str, str], Ref | tuple] = {}
        # an array formula's saved range, parsed once: one entry per anchor
        self._fixed_bounds: dict[tuple[str, int, int], tuple[Any, Any, tuple[int, int, int, int] | None]] = {}
        self._addin_formulas: dict[str, bool] = {}
        self._addin_texts: dict[str, bool] = {}
        self._results: dict[tuple[str, int, int], Any] = {}
        # What an add-in formula fed, for calc's second pass (_take_over).
        # Reading an add-in formula's value (its cell, its spill, its saved
        # range), a value in any array formula's saved range, or a formula or
        # range read already fed counts in _taints; a formula or range read
        # during which the count grew is fed too. Only what was not fed
        # outlives the replacement of the add-in formulas by their values.
        self._taints = 0
        self._tainted: set[tuple[str, int, int]] = set()
        self._tainted_grids: set[Ref] = set()
        self._unsure: list[tuple[tuple[str, int, int], int, int]] | None = []  # cells read while a spill that may cover them was being computed; None: cannot tell
        self._stopped = False  # a workbook-wide limit (time, cells) or the machine's (memory, stack) was reached
        self._read_headers = False  # a table's headers were read from its cells
        self._active: set[Any] = set()
        # Formulas that may spill, per sheet: column -> rows, so a cell is
        # checked only against anchors above and to the left of it. Anchors
        # found not to spill are dropped (copy on write: a caller up the
        # stack may be iterating the old lists).
        self._anchors: dict[str, dict[int, list[int]]] = {}
        # The saved ranges of add-in array formulas, per sheet: replacing the
        # formula blanks them, so what is read there was fed by the add-in.
        self._replaced: dict[str, list[tuple[int, int, int, int]]] = {}
        for ws in workbook.worksheets:
            columns: dict[int, list[int]] = {}
            for row, col in sorted((row, col) for (row, col), cell in ws._cells.items() if self._may_spill(cell)):
                columns.setdefault(col, []).append(row)
                formula = ws._cells[(row, col)].value
                if isinstance(formula, ArrayFormula) and self.uses_addin(ws._cells[(row, col)]):
                    try:
                        self._replaced.setdefault(ws.title, []).append(table_bounds(formula.ref))
                    except ValueError:
                        if _cell_position(str(formula.ref)) is None:  # not its own cell alone: cannot tell what is blanked
                            self._unsure = None
            self._anchors[ws.title] = columns
        if before is not None:
            self._take_over(before)

    # ---- public ------------------------------------------------------------

    def value(self, sheet: str, coordinate: str) -> Any:
        """What the cell shows: a number, text, bool, datetime, ``None`` for
        a blank, or an :class:`~cxroi_xl.excel.error_values.ExcelError`."""
        ref = self._address(sheet, coordinate)
        return self._settled(lambda: self._cell(ref.sheet, ref.min_row, ref.min_col))

    def spill(self, sheet: str, coordinate: str) -> list[list[Any]]:
        """The whole block a formula shows (its spill range), as a 2-D list;
        ``[[value]]`` for a cell that does not spill."""
        ref = self._address(sheet, coordinate)
        result = self._settled(lambda: self._formula_result(ref.sheet, ref.min_row, ref.min_col)) if self._is_formula(ref) else None
        if isinstance(result, _Spill):
            return [[None if v is MISSING else v for v in row] for row in result.values]
        return [[self._settled(lambda: self._cell(ref.sheet, ref.min_row, ref.min_col))]]  # as value() does

    def spill_range(self, sheet: str, coordinate: str) -> Ref:
        """The cells a formula's result occupies (the cell itself if it does not spill)."""
        ref = self._address(sheet, coordinate)
        rows, cols = _grid_shape(self.spill(sheet, coordinate))
        return Ref(ref.sheet, ref.min_row, ref.min_col, ref.min_row + rows - 1, ref.min_col + cols - 1)

    def fixed_range(self, sheet: str, coordinate: str) -> Ref | None:
        """The range an array formula was saved with (``None`` for other cells)."""
        ref = self._address(sheet, coordinate)
        formula = self._sheet(ref.sheet)._cells.get((ref.min_row, ref.min_col))
        if formula is None or not isinstance(formula.value, ArrayFormula):
            return None
        return self._array_range(ref.sheet, formula.value)

    def uses_addin(self, cell: Any) -> bool:
        """True when an openpyxl cell holds a formula calling an add-in function."""
        text = formula_text(cell)
        if text is None:
            return False
        known = self._addin_texts.get(text)
        if known is None:
            if len(self._addin_texts) >= _TEXT_CACHE_SIZE:
                self._addin_texts.clear()
            try:
                known = not function_names(text).isdisjoint(self._addins)
            except FormulaSyntaxError:
                # unreadable or over Excel's limits: if it names an add-in function
                # it is ours to answer, with an error saying why
                known = not {_function_name(name) for name in _CALLED.findall(text)}.isdisjoint(self._addins)
            self._addin_texts[text] = known
        return known

    def _take_over(self, before: Evaluator) -> None:
        """Start from the results of ``before`` that no add-in formula fed.

        Such a formula read only cells that replacing the add-in formulas by
        their values leaves as they were, so computing it again would give
        the same. Nothing is taken over where the outcome could depend on the
        order of evaluation or on what was replaced: a circular reference, a
        spill that may cover a cell read while it was being computed, a
        workbook-wide limit reached, headers read from cells, another used
        area, other limits, or a formula read before that is no longer one.
        The cells ``before`` read count against this evaluator's workbook
        budget: computing everything again would read at most these and
        this evaluator's own, so if this one stays within the budget, so
        would that (if not, this one stops sooner).
        """
        same_limits = dataclasses.replace(before.budget, seconds=0) == dataclasses.replace(self.budget, seconds=0)
        if (
            before.workbook is not self.workbook or before._used != self._used or not same_limits
            or before._circular or before._stopped or before._read_headers or before._spilled_while_read()
        ):
            return
        results = {key: result for key, result in before._results.items() if key not in before._tainted}
        for title, row, col in results:
            if formula_text(self._sheets[title.lower()]._cells.get((row, col))) is None:
                return  # a formula read before is gone: it stood in an add-in array formula's saved range
        self._results = results
        self._grids = {ref: grid for ref, grid in before._grids.items() if ref not in before._tainted_grids}
        self._cells_read = before._cells_read

    def _spilled_while_read(self) -> bool:
        """Whether a cell read while a formula that may spill was being
        computed (and so read as not covered) turned out to be covered, or
        whether that cannot be told."""
        if self._unsure is None:
            return True
        for anchor, row, col in self._unsure:
            if anchor not in self._results:
                return True
            result = self._results[anchor]
            if isinstance(result, _Spill) and result.covers(row, col):
                return True
        return False

    # ---- cells -------------------------------------------------------------

    def _settled(self, compute: Callable[[], Any]) -> Any:
        """Run ``compute``; when cells nest too deeply, evaluate the deepest
        one first (its own precedents likewise) and try again. Each retry
        finds more cells memoised, so chains of any length finish."""
        previous = sys.getrecursionlimit()
        sys.setrecursionlimit(max(previous, _RECURSION_LIMIT))
        try:
            while True:
                try:
                    return compute()
                except _TooDeep as deep:
                    pending = [deep.key]
                    while pending:
                        try:
                            self._formula_result(*pending[-1])
                            pending.pop()
                        except _TooDeep as deeper:
                            pending.append(deeper.key)
        except _LimitReached as limit:  # the time or the workbook's cells ran out
            return limit.error
        finally:
            sys.setrecursionlimit(previous)

    def _sheet(self, title: str) -> Any:
        ws = self._sheets.get(title.lower())
        if ws is None:
            raise _Failure("#REF!", f"there is no sheet '{title}'")
        return ws

    def _address(self, sheet: str, coordinate: str) -> Ref:
        ws = self._sheets.get(sheet.lower())
        position = _cell_position(coordinate)
        if ws is None or position is None:
            raise KeyError(f"{sheet}!{coordinate} is not a cell of this workbook")
        return Ref(ws.title, position[0], position[1], position[0], position[1])

    def _is_formula(self, ref: Ref) -> bool:
        cell = self._sheets[ref.sheet.lower()]._cells.get((ref.min_row, ref.min_col))
        return formula_text(cell) is not None

    def _may_spill(self, cell: Any) -> bool:
        if isinstance(cell.value, ArrayFormula):
            return True
        if cell.data_type != "f":
            return False
        text = formula_text(cell)
        return text is not None and "CX" in text.upper() and self.uses_addin(cell)

    def _cell(self, title: str, row: int, col: int) -> Any:
        """The value cell (row, col) shows."""
        ws = self._sheets[title.lower()]
        cell = ws._cells.get((row, col))
        raw = None if cell is None else cell.value
        # formula_text only for what may be a formula: most cells read are data
        if raw is not None and (cell.data_type == "f" or isinstance(raw, ArrayFormula)) and formula_text(cell) is not None:
            key = (ws.title, row, col)
            result = self._formula_result(*key)
            if key in self._tainted:
                self._taints += 1
            if isinstance(result, _Spill):
                return result.at(row, col)
            if isinstance(result, NotComputed):  # what reads it is not computed either
                raise _NotComputedHere(result)
            return result
        replaced = self._replaced.get(ws.title)
        if replaced and any(min_row <= row <= max_row and min_col <= col <= max_col for min_col, min_row, max_col, max_row in replaced):
            self._taints += 1
        spill = self._spill_over(ws.title, row, col, raw is None)
        if spill is not None:
            if spill.anchor in self._tainted:
                self._taints += 1
            return spill.at(row, col)
        if raw is None:
            return None
        if cell.data_type == "e" and isinstance(raw, str) and raw in EXCEL_ERRORS:
            return ExcelError(raw, f"{ws.title}!{cell.coordinate} holds {raw}")
        if isinstance(raw, str) or _is_number(raw) or isinstance(raw, bool) or _is_date(raw):
            return raw
        return str(raw)  # rich text and other cell objects show as their text

    def _fixed_covers(self, title: str, top: int, left: int, row: int, col: int) -> bool:
        """Whether the array formula at (top, left), if it is one, states a
        range holding (row, col)."""
        cell = self._sheets[title.lower()]._cells.get((top, left))
        formula = None if cell is None else cell.value
        if not isinstance(formula, ArrayFormula):
            return False
        # asked for every value cell read below and right of the formula: its
        # range is read once, and again only if the cell gets another formula
        known = self._fixed_bounds.get((title, top, left))
        if known is None or known[0] is not formula or known[1] != formula.ref:
            try:
                bounds = table_bounds(formula.ref)
            except ValueError:
                bounds = None
            known = self._fixed_bounds[(title, top, left)] = (formula, formula.ref, bounds)
        if known[2] is None:
            return False
        min_col, min_row, max_col, max_row = known[2]
        return min_row <= row <= max_row and min_col <= col <= max_col

    def _spill_over(self, title: str, row: int, col: int, empty: bool) -> _Spill | None:
        """The spill covering a non-formula cell, if any. Only an array
        formula's saved range takes over cells holding (cached) values."""
        columns = self._anchors.get(title)
        if not columns:
            return None
        found: tuple[tuple[int, int], _Spill] | None = None
        settled: list[tuple[int, int]] = []
        for left, tops in columns.items():
            if left > col:
                continue
            for top in tops:
                if top > row:
                    break
                if (top, left) == (row, col):
                    continue
                if (title, top, left) in self._active:
                    if self._unsure is not None:
                        self._unsure.append(((title, top, left), row, col))
                        if len(self._unsure) > _UNSURE_CELLS:
                            self._unsure = None
                    continue
                if not empty:
                    if not self._fixed_covers(title, top, left, row, col):
                        # a cell holding a value is taken over only by an array
                        # formula's saved range, which the file states: no need
                        # to compute (and depend on) formulas that cannot cover it
                        continue
                    # calc's second pass may shrink that range to the result before this is read again
                    self._taints += 1
                result = self._formula_result(title, top, left)
                if not isinstance(result, _Spill):
                    settled.append((top, left))  # memoised: it will never spill
                elif result.covers(row, col) and (empty or result.in_fixed(row, col)):
                    if found is None or (top, left) < found[0]:  # the uppermost, then leftmost, as before
                        found = ((top, left), result)
                    break
        if settled:
            gone = set(settled)
            kept = {left: [top for top in tops if (top, left) not in gone] for left, tops in self._anchors[title].items()}
            self._anchors[title] = {left: tops for left, tops in kept.items() if tops}
        return None if found is None else found[1]

    def _formula_result(self, title: str, row: int, col: int) -> Any:
        key = (title, row, col)
        if key in self._results:
            return self._results[key]
        if key in self._active:
            self._circular += 1
            return _error("#REF!", f"circular reference through {title}!{get_column_letter(col)}{row}")
        if len(self._active) >= _MAX_NESTING:
            raise _TooDeep(key)
        self._check_time()
        self._active.add(key)
        self._spending.append(_Spend())
        reached = None
        taints = self._taints
        try:
            result = self._evaluate_cell_formula(title, row, col)
        except _TooDeep:
            raise
        except _LimitReached as limit:
            result, reached = limit.error, limit
        except RecursionError:
            self._stopped = True  # how deep is too deep depends on where the evaluation started
            result = _error("#NUM!", f"the formulas feeding {title}!{get_column_letter(col)}{row} nest too deeply")
        except MemoryError:
            self._stopped = True
            result = _error("#NUM!", "not enough memory to compute this formula")
        except Exception as exc:  # a cell shows an error value and a one-line reason, never a traceback
            logger.debug("evaluating %s!%s%s failed", title, get_column_letter(col), row, exc_info=True)
            result = _error("#VALUE!", f"unexpected error: {type(exc).__name__}: {exc}".splitlines()[0])
        finally:
            self._active.discard(key)
            self._spending.pop()
        if isinstance(result, _Spill):  # kept for the whole run: its cells count against the workbook's budget
            try:
                self._spend_workbook(len(result.values) * len(result.values[0]) if result.values else 0)
            except _LimitReached as limit:
                result, reached = limit.error, limit
        if self._taints != taints or self.uses_addin(self._sheets[title.lower()]._cells.get((row, col))):
            self._tainted.add(key)
        self._results[key] = result
        if reached is not None and reached.workbook:
            raise reached  # the formulas waiting on this one cannot finish either
        return result

    # ---- the budget ----------------------------------------------------------

    def _check_time(self) -> None:
        if time.monotonic() > self._deadline:
            self._stopped = True
            raise _LimitReached("#VALUE!", f"not computed: the workbook's time limit of {self.budget.seconds:g} s ran out", workbook=True)

    def _spend_cells(self, ref: Ref, fresh: bool, count: int) -> None:
        """Count a range read (``ref``, of ``count`` cells) against the formula's and the workbook's caps, before reading it."""
        if self._spending:
            spend = self._spending[-1]
            spend.cells += count
            if spend.cells > self.budget.cells_per_formula:
                raise _LimitReached("#NUM!", f"the formula reads more than {self.budget.cells_per_formula:,} cells (at {ref.address()})")
        if fresh:
            self._spend_workbook(count)

    def _spend_workbook(self, count: int) -> None:
        self._cells_read += count
        if self._cells_read > self.budget.cells_per_workbook:
            self._stopped = True
            raise _LimitReached("#NUM!", f"not computed: the workbook's formulas read or hold more than {self.budget.cells_per_workbook:,} cells in all", workbook=True)

    def _spend_text(self, chars: int) -> None:
        if self._spending:
            spend = self._spending[-1]
            spend.chars += chars
            if spend.chars > self.budget.text_per_formula:
                raise _LimitReached("#VALUE!", f"the formula builds more than {self.budget.text_per_formula:,} characters of text")

    def _array_range(self, title: str, formula: ArrayFormula) -> Ref | None:
        """The range an array formula was saved with, clipped to the sheet's
        used area: beyond it the formula shows nothing a file could hold, and
        a saved C1:Z1000000 must not make us create or blank 24 million cells."""
        try:
            ref = self._reference(formula.ref, (title, 1, 1))
        except (_Failure, FormulaSyntaxError):
            return None
        if not isinstance(ref, Ref):
            return None
        rows, cols = self._used[ref.sheet]
        return Ref(ref.sheet, ref.min_row, ref.min_col, max(ref.min_row, min(ref.max_row, rows)), max(ref.min_col, min(ref.max_col, cols)))

    def _evaluate_cell_formula(self, title: str, row: int, col: int) -> Any:
        ws = self._sheets[title.lower()]
        cell = ws._cells[(row, col)]
        raw, text = cell.value, formula_text(cell)
        context = (title, row, col)
        try:
            tree = _parse(text)
        except FormulaTooComplex as exc:
            return _error("#VALUE!", f"the formula is refused: {exc}")
        except FormulaSyntaxError as exc:
            shown = text if len(text) <= 80 else text[:77] + "..."
            return _error("#NAME?", f"the formula {shown} cannot be read: {exc}")
        result = self._evaluate(tree, context)
        fixed = self._array_range(title, raw) if isinstance(raw, ArrayFormula) else None
        dynamic = self._calls_addin(text, tree)
        if fixed is None and not dynamic:
            return self._scalar_result(result, context)
        if isinstance(result, Ref):
            result = Array(self._grid(result))
        if not isinstance(result, list):
            return self._scalar(result)
        if _grid_shape(result) == (1, 1):
            return self._scalar(result[0][0])
        spill = _Spill(context, [list(r) for r in result], fixed, dynamic)
        if dynamic:
            blocked = self._blocking_cell(ws, spill)
            if blocked:
                return _error("#SPILL!", f"the result needs {spill.extent.address()} but {blocked} is not empty")
        return spill

    def _calls_addin(self, text: str, tree: tuple) -> bool:
        known = self._addin_formulas.get(text)
        if known is None:
            known = self._addin_formulas[text] = not {name for name, _ in _walk_calls(tree)}.isdisjoint(self._addins)
        return known

    @staticmethod
    def _blocking_cell(ws: Any, spill: _Spill) -> str | None:
        """A filled cell in the way of a spill (the array formula's own saved range does not count)."""
        extent = spill.extent
        for (row, col), cell in ws._cells.items():
            if cell.value is None or not extent.contains(row, col) or (row, col) == (extent.min_row, extent.min_col) or spill.in_fixed(row, col):
                continue
            return cell.coordinate
        return None

    def _scalar_result(self, result: Any, context: tuple[str, int, int]) -> Any:
        """A non-spilling formula's value: a range gives the cell in the
        formula's row or column (implicit intersection), an array its first value."""
        if isinstance(result, Ref):
            _, row, col = context
            if result.rows == 1 and result.cols == 1:
                return self._cell(result.sheet, result.min_row, result.min_col)
            if result.cols == 1 and result.min_row <= row <= result.max_row:
                return self._cell(result.sheet, row, result.min_col)
            if result.rows == 1 and result.min_col <= col <= result.max_col:
                return self._cell(result.sheet, result.min_row, col)
            return _error("#VALUE!", f"{result.address()} is a range where one value belongs")
        if isinstance(result, list):
            return self._scalar(result[0][0] if result and result[0] else None)
        return self._scalar(result)

    @staticmethod
    def _scalar(value: Any) -> Any:
        if value is MISSING:
            return 0.0
        if isinstance(value, float) and not math.isfinite(value):
            return _error("#NUM!", "the result is not a finite number")
        return value

    # ---- expressions ---------------------------------------------------------

    def _evaluate(self, node: tuple, context: tuple[str, int, int]) -> Any:
        kind = node[0]
        try:
            if kind == "value":
                return node[1]
            if kind == "ref":
                return self._reference(node[1], context)
            if kind == "call":
                return self._call(node[1], node[2], context)
            if kind == "op":
                return self._operator(node[1], node[2], node[3], context)
            operand = self._evaluate(node[1], context)
            if kind == "neg":
                return _elementwise(lambda x: -_number(x), self._values(operand))
            if kind == "pos":
                return operand
            return _elementwise(lambda x: _number(x) / 100.0, self._values(operand))
        except _Failure as failure:
            return failure.error
        except FormulaSyntaxError as exc:  # a malformed reference inside the formula
            return _error("#REF!", str(exc))

    def _values(self, value: Any) -> Any:
        """A reference as its cell values (a 2-D Array); other values as they are."""
        if isinstance(value, Ref):
            return Array(self._grid(value))
        return value

    def _grid(self, ref: Ref) -> list[list[Any]]:
        """The values of a range, row by row. Read once per workbook and
        shared: cells are memoised, so a second read would find the same."""
        count = (ref.max_row - ref.min_row + 1) * (ref.max_col - ref.min_col + 1)
        if count > LARGE_RANGE_CELLS:
            # A large range (A1:XFD1048576) is read as far as the sheet is
            # used: beyond that every cell is blank, and building billions of
            # blanks would exhaust memory on a file of a few kilobytes.
            rows, cols = self._used[self._sheet(ref.sheet).title]
            ref = Ref(ref.sheet, ref.min_row, ref.min_col, min(ref.max_row, max(rows, ref.min_row)), min(ref.max_col, max(cols, ref.min_col)))
            count = ref.rows * ref.cols
        grid = self._grids.get(ref)
        self._spend_cells(ref, grid is None, count)
        if grid is not None:
            if self._tainted_grids and ref in self._tainted_grids:
                self._taints += 1
            return grid
        self._check_time()
        circular, taints = self._circular, self._taints
        grid = []
        for row in range(ref.min_row, ref.max_row + 1):
            grid.append([self._cell(ref.sheet, row, col) for col in range(ref.min_col, ref.max_col + 1)])
            if row % 4096 == 0:
                self._check_time()
        if self._circular == circular:  # a value read through a circle depends on where the read started
            self._grids[ref] = grid
            if self._taints != taints:
                self._tainted_grids.add(ref)
        return grid

    def _operator(self, op: str, left_node: tuple, right_node: tuple, context: tuple[str, int, int]) -> Any:
        left = self._evaluate(left_node, context)
        right = self._evaluate(right_node, context)
        if op == ":":
            if isinstance(left, Ref) and isinstance(right, Ref) and left.sheet == right.sheet:
                return Ref(left.sheet, min(left.min_row, right.min_row), min(left.min_col, right.min_col), max(left.max_row, right.max_row), max(left.max_col, right.max_col))
            return _error("#VALUE!", "the : operator needs two references on one sheet")
        if op == "&":
            return _elementwise(self._join, self._values(left), self._values(right))
        return _elementwise(_BINARY[op], self._values(left), self._values(right))

    def _join(self, left: Any, right: Any) -> str:
        """``&``: Excel's 32,767-character cap per text, and the formula's text budget."""
        text = _joined(_text(left), _text(right))
        self._spend_text(len(text))
        return text

    def _reference(self, text: str, context: tuple[str, int, int]) -> Any:
        """A reference operand -> Ref (or a defined name's value)."""
        if text.startswith("["):
            raise _Failure("#REF!", f"{text}: links to other workbooks are not followed")
        if "[" in text:
            return self._structured(text, context)
        resolved = self._a1_cache.get((text, context[0]))
        if resolved is None:
            if len(self._a1_cache) >= _A1_CACHE_SIZE:
                self._a1_cache.clear()
            resolved = self._a1_cache[(text, context[0])] = self._resolve_a1(text, context[0])
        if isinstance(resolved, Ref):
            return resolved
        _, address, qualified, title = resolved
        return self._name(address, qualified, title, context)

    def _resolve_a1(self, text: str, here: str) -> Ref | tuple[str, str, bool, str]:
        """An A1 reference written on sheet ``here`` as a Ref, or a defined
        name as ("name", name, qualified, sheet), evaluated where it is used."""
        sheet_name, address = _split_sheet(text)
        if sheet_name is not None and ":" in sheet_name:
            raise _Failure("#REF!", f"{text}: references across several sheets are not supported")
        title = self._sheet(sheet_name).title if sheet_name is not None else here
        ws = self._sheets[title.lower()]
        if address.upper() == "#REF!":
            raise _Failure("#REF!", f"{text} refers to a deleted range")
        parts = address.split(":", 1)
        if len(parts) == 2 and "!" in parts[1]:  # 'Sheet'!A1:'Sheet'!B2 names the sheet twice
            second_sheet, parts[1] = _split_sheet(parts[1])
            if self._sheet(second_sheet).title != title:
                raise _Failure("#REF!", f"{text}: a range cannot span two sheets")
        if len(parts) == 2 and (first := _cell_position(parts[0])) and (last := _cell_position(parts[1])):
            return Ref(title, min(first[0], last[0]), min(first[1], last[1]), max(first[0], last[0]), max(first[1], last[1]))
        if len(parts) == 1 and (first := _cell_position(address)):
            return Ref(title, first[0], first[1], first[0], first[1])
        if match := _COLUMNS.match(address):
            a, b = (column_index_from_string(g.upper()) for g in match.groups())
            return Ref(title, 1, min(a, b), self._used[ws.title][0], max(a, b))  # whole columns, up to the last used row
        if match := _ROWS.match(address):
            a, b = (int(g) for g in match.groups())
            return Ref(title, min(a, b), 1, max(a, b), self._used[ws.title][1])
        return ("name", address, sheet_name is not None, title)

    def _name(self, name: str, qualified: bool, title: str, context: tuple[str, int, int]) -> Any:
        key = name.lower()
        local = self._local_names.get((title.lower(), key))
        text = local if local is not None or qualified else self._names.get(key)
        if text is None:
            if not qualified and key in self._tables:
                return self._structured(f"{name}[#Data]", context)
            raise _Failure("#NAME?", f"unknown name {name}")
        marker = ("name", title.lower() if local is not None else "", key)
        if marker in self._active:
            raise _Failure("#REF!", f"the name {name} refers to itself")
        self._active.add(marker)
        try:
            return self._evaluate(_parse("=" + text), context)
        except FormulaTooComplex as exc:
            raise _Failure("#VALUE!", f"the name {name} is refused: {exc}") from None
        except FormulaSyntaxError as exc:
            raise _Failure("#NAME?", f"the name {name} cannot be read: {exc}") from None
        finally:
            self._active.discard(marker)

    def _structured(self, text: str, context: tuple[str, int, int]) -> Ref:
        # Tables do not move while a workbook is evaluated, so each reference
        # text is resolved once; only [#This Row] depends on the cell.
        resolved = self._structured_cache.get(text)
        if resolved is None:
            resolved = self._structured_cache[text] = self._resolve_structured(text)
        if isinstance(resolved, Ref):
            return resolved
        title, data_first, data_last, first_col, last_col, table_name = resolved
        row = context[1]
        if context[0] != title or not data_first <= row <= data_last:
            raise _Failure("#VALUE!", f"{text} is used outside the rows of table {table_name}")
        return Ref(title, row, first_col, row, last_col)

    def _resolve_structured(self, text: str) -> Ref | tuple:
        """A table reference as a fixed range, or for ``[#This Row]`` the
        bounds a row must lie in: (sheet, first, last, first col, last col, table)."""
        name, inner = text.split("[", 1)
        if not inner.endswith("]"):
            raise FormulaSyntaxError(f"bad structured reference {text}")
        found = self._tables.get(name.strip().lower())
        if found is None:
            raise _Failure("#REF!", f"there is no table {name}")
        ws, table = found
        specials, columns = _structured_parts(inner[:-1])
        try:
            min_col, min_row, max_col, max_row = table_bounds(table.ref)
        except ValueError:
            raise _Failure("#REF!", f"table {table.displayName} has a malformed range {table.ref!r}") from None
        header_rows = 1 if table.headerRowCount is None else int(table.headerRowCount)
        totals_rows = int(table.totalsRowCount or 0)
        data_first, data_last = min_row + header_rows, max_row - totals_rows
        if columns:
            headers = self._table_headers(ws, table, min_row, min_col, max_col, header_rows)
            try:
                positions = [headers.index(column.lower()) for column in columns]
            except ValueError:
                raise _Failure("#REF!", f"table {table.displayName} has no column {', '.join(columns)}") from None
            first_col, last_col = min_col + min(positions), min_col + max(positions)
        else:
            first_col, last_col = min_col, max_col
        specials = specials or {"#data"}
        if "#this row" in specials:
            return (ws.title, data_first, data_last, first_col, last_col, table.displayName)
        spans = {
            "#all": (min_row, max_row),
            "#data": (data_first, data_last),
            "#headers": (min_row, min_row + header_rows - 1),
            "#totals": (max_row - totals_rows + 1, max_row),
        }
        unknown = specials - set(spans)
        if unknown:
            raise _Failure("#REF!", f"{text}: unknown item {', '.join(sorted(unknown))}")
        first_row = min(spans[s][0] for s in specials)
        last_row = max(spans[s][1] for s in specials)
        if last_row < first_row:
            raise _Failure("#REF!", f"{text} is empty")
        return Ref(ws.title, first_row, first_col, last_row, last_col)

    def _table_headers(self, ws: Any, table: Any, row: int, min_col: int, max_col: int, header_rows: int) -> list[str]:
        if table.tableColumns:
            return [str(column.name).lower() for column in table.tableColumns]
        if header_rows == 0:
            return []
        self._read_headers = True  # a header cell may be a formula the add-in answers
        return ["" if (cell := ws._cells.get((row, col))) is None or cell.value is None else str(cell.value).lower() for col in range(min_col, max_col + 1)]

    # ---- functions -----------------------------------------------------------

    def _call(self, name: str, arg_nodes: list[tuple], context: tuple[str, int, int]) -> Any:
        if name in _LAZY:
            return _LAZY[name](self, arg_nodes, context)
        if name in self._addins:
            args = [self._evaluate(node, context) for node in arg_nodes]
            return self._call_addin(name, args)
        spec = NATIVE_FUNCTIONS.get(name)
        if spec is None:
            raise _NotComputedHere(NotComputed("#NAME?", f"unknown function {name}: not computed here (Excel computes it on open)"))
        least, most, function = spec
        if not least <= len(arg_nodes) <= (most if most is not None else len(arg_nodes)):
            return _error("#VALUE!", f"{name} got {len(arg_nodes)} arguments")
        args = [self._evaluate(node, context) for node in arg_nodes]
        try:
            return function(self, context, *args)
        except _Failure as failure:
            return failure.error
        except (ArithmeticError, ValueError) as exc:
            return _error("#NUM!", f"{name}: {exc}")

    def _call_addin(self, name: str, args: list[Any]) -> Any:
        def as_cells(value: Any) -> Any:
            if value is MISSING:
                return None
            if isinstance(value, Ref):
                return self._grid(value)
            if isinstance(value, list):
                return [[None if v is MISSING else v for v in row] for row in value]
            return value

        result = call_addin(name, *[as_cells(arg) for arg in args])
        if isinstance(result, list):
            return Array([list(row) for row in result])
        return result

    def _cells_of(self, value: Any) -> list[Any]:
        """Every cell value of a reference or array, row by row."""
        if isinstance(value, Ref):
            return [v for row in self._grid(value) for v in row]
        if isinstance(value, list):
            return [v for row in value for v in row]
        return [value]

    def _as_grid(self, value: Any) -> list[list[Any]]:
        if isinstance(value, Ref):
            return self._grid(value)
        if isinstance(value, list):
            return value
        return [[value]]

    def _one(self, value: Any) -> Any:
        """A single value from an argument: a 1x1 range's cell."""
        if isinstance(value, Ref):
            if value.rows == 1 and value.cols == 1:
                return self._cell(value.sheet, value.min_row, value.min_col)
            raise _Failure("#VALUE!", f"{value.address()} is a range where one value belongs")
        if isinstance(value, list):
            if _grid_shape(value) == (1, 1):
                return value[0][0]
            raise _Failure("#VALUE!", "an array where one value belongs")
        return value

def table_bounds(ref: str) -> tuple[int, int, int, int]:
    """(min_col, min_row, max_col, max_row) of a table's range; ValueError if malformed.

    >>> table_bounds("A1:K13")
    (1, 1, 11, 13)
    """
    parts = str(ref).split(":")
    if len(parts) != 2:
        raise ValueError(ref)
    first, last = _cell_position(parts[0]), _cell_position(parts[1])
    if first is None or last is None or first[0] > last[0] or first[1] > last[1]:
        raise ValueError(ref)
    return first[1], first[0], last[1], last[0]


# --------------------------------------------------------------------------
# Operators
