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
* Add-in functions (every name in :func:`cxroi_xl.registry.functions`) are
  evaluated by :func:`cxroi_xl.excel.call`, with ranges passed as 2-D lists
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

import calendar
import datetime as dt
import logging
import math
import re
import sys
import time
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal, localcontext
from typing import Any, Callable, Iterator

from openpyxl.formula.tokenizer import Token, Tokenizer, TokenizerError
from openpyxl.utils.cell import column_index_from_string, get_column_letter
from openpyxl.worksheet.formula import ArrayFormula

from .. import registry
from ..excel import EXCEL_ERRORS, ExcelError, call as call_addin

__all__ = ["Budget", "Evaluator", "NATIVE_FUNCTIONS", "Ref", "formula_text", "function_calls", "function_names", "table_bounds", "to_serial"]

logger = logging.getLogger("cxroi_xl")

MAX_ROW, MAX_COL = 1_048_576, 16_384
EPOCH = dt.datetime(1899, 12, 30)  # serial 0; Excel and LibreOffice agree from 1900-03-01
_FUNCTION_PREFIXES = ("_XLFN.", "_XLWS.", "_XLUDF.")  # how files mark newer and add-in functions
_MAX_NESTING = 800  # formula cells evaluated inside one another before restarting from the deepest
_RECURSION_LIMIT = 20_000  # Python frames for _MAX_NESTING nested cells, with room to spare


# --------------------------------------------------------------------------
# Values


# Ranges larger than this are trimmed to the sheet's used area when read
# (beyond it every cell is blank); smaller ones keep their exact shape.
LARGE_RANGE_CELLS = 10_000
# Excel's own limits (Microsoft, "Excel specifications and limits"): longer
# text, longer formulas or deeper nesting give #VALUE! here.
MAX_TEXT_CHARS = 32_767
MAX_FORMULA_CHARS = 8_192
MAX_FUNCTION_NESTING = 64
MAX_CRITERION_CHARS = 255  # COUNTIF/SUMIF criteria and MATCH lookup text
MAX_BRACKET_NESTING = 128  # parentheses, functions, array constants and signs together
MAX_ARRAY_CELLS = 2_000_000  # one array (a range read or a computed block) in one formula


@dataclass(frozen=True)
class Budget:
    """What evaluating one workbook may cost. A cell that goes over a cap
    shows an error saying which; the other cells are still computed. When
    the time or the workbook's cell budget runs out, the cells not yet
    computed show that error instead of a value.

    seconds: wall-clock time for the whole workbook, counted from the
    evaluator's creation. cells_per_formula: cells one formula may read
    (after trimming to the used area; a range read twice counts twice).
    cells_per_workbook: cells read from the sheets (a range read by several
    formulas is read once and shared) plus cells of the array results kept
    while the workbook is evaluated. text_per_formula: characters
    of text one formula may build (32,767 per text, as Excel, but a formula
    over a range builds one per cell).
    """

    seconds: float = 120.0
    cells_per_formula: int = MAX_ARRAY_CELLS
    cells_per_workbook: int = 20_000_000
    text_per_formula: int = 50_000_000


@dataclass(frozen=True)
class Ref:
    """A rectangular range of one sheet, 1-based and inclusive."""

    sheet: str
    min_row: int
    min_col: int
    max_row: int
    max_col: int

    @property
    def rows(self) -> int:
        return self.max_row - self.min_row + 1

    @property
    def cols(self) -> int:
        return self.max_col - self.min_col + 1

    def contains(self, row: int, col: int) -> bool:
        return self.min_row <= row <= self.max_row and self.min_col <= col <= self.max_col

    def address(self) -> str:
        first = f"{get_column_letter(self.min_col)}{self.min_row}"
        if self.rows == self.cols == 1:
            return f"{self.sheet}!{first}"
        return f"{self.sheet}!{first}:{get_column_letter(self.max_col)}{self.max_row}"


class Array(list):
    """A computed 2-D block (a list of rows), as opposed to a reference."""


class _Missing:
    """An argument left empty, as in IF(A1, , 1)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


def _error(code: str, reason: str) -> ExcelError:
    return ExcelError(code, reason)


def _is_error(value: Any) -> bool:
    return isinstance(value, ExcelError)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_date(value: Any) -> bool:
    return isinstance(value, (dt.date, dt.time, dt.timedelta))


def to_serial(value: dt.date | dt.datetime | dt.time | dt.timedelta) -> float:
    """Excel's serial number of a date, time or duration (1899-12-30 = 0).

    >>> to_serial(dt.date(2024, 1, 1)), to_serial(dt.datetime(2024, 1, 1, 18))
    (45292.0, 45292.75)
    """
    if isinstance(value, dt.timedelta):
        return value.total_seconds() / 86400.0
    if isinstance(value, dt.time):
        return (value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6) / 86400.0
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    return (value - EPOCH).total_seconds() / 86400.0


def _from_serial(serial: float) -> dt.date:
    if not 0 <= serial < 2958466:  # 9999-12-31 is Excel's last date
        raise _Failure("#NUM!", f"{serial:g} is not a date")
    return (EPOCH + dt.timedelta(days=math.floor(serial))).date()


class _TooDeep(Exception):
    """Formula cells nest too deeply (a long running total): evaluate ``key``
    first, from a shallow stack, then start again."""

    def __init__(self, key: tuple[str, int, int]):
        super().__init__(key)
        self.key = key


class _Failure(Exception):
    """Raised inside a function to answer with an Excel error."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.error = ExcelError(code, reason)


class _LimitReached(Exception):
    """A resource cap of the :class:`Budget`. Not a :class:`_Failure`, so
    IFERROR cannot turn it into a number: the formula evaluating when it was
    hit shows the error. ``workbook`` caps (time, total cells) also stop
    every formula that was waiting on that one."""

    def __init__(self, code: str, reason: str, workbook: bool = False):
        super().__init__(reason)
        self.error = ExcelError(code, reason)
        self.workbook = workbook


class NotComputed(ExcelError):
    """What a formula shows that calls a function this interpreter does not
    know (SORT, XLOOKUP, LET, ...): ``#NAME?`` here, while Excel computes a
    value. Not a value to compute with: IFERROR and ISERROR cannot turn it
    into one, and every formula reading it is not computed either. ``calc``
    keeps the value the file itself saved for those cells."""


class _NotComputedHere(_LimitReached):
    """Raised where a formula meets a :class:`NotComputed` cell or function."""

    def __init__(self, error: NotComputed):
        super().__init__(str(error), error.reason)
        self.error = error


class _Spend:
    """What one formula has used so far."""

    __slots__ = ("cells", "chars")

    def __init__(self) -> None:
        self.cells = 0
        self.chars = 0


def _number(value: Any) -> float:
    """A scalar as a number, as Excel's arithmetic converts it."""
    if _is_error(value):
        raise _Failure(value, value.reason)
    if value is None or value is MISSING:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if _is_number(value):
        return float(value)
    if _is_date(value):
        return to_serial(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            pass
        try:
            return to_serial(dt.date.fromisoformat(text))
        except ValueError:
            raise _Failure("#VALUE!", f"the text '{value[:20]}' is not a number") from None
    raise _Failure("#VALUE!", f"{type(value).__name__} is not a number")


def _general(number: float) -> str:
    """A number as Excel's General format shows it: 15 significant digits."""
    if number == 0:
        return "0"
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    text = format(number, ".15g")
    if "e" in text:
        mantissa, exponent = text.split("e")
        power = int(exponent)
        if -10 < power < 15:
            return format(Decimal(text), "f")
        return f"{mantissa}E{'+' if power >= 0 else '-'}{abs(power):02d}"
    return text


def _text(value: Any) -> str:
    if _is_error(value):
        raise _Failure(value, value.reason)
    if value is None or value is MISSING:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return value
    return _general(_number(value))


def _boolean(value: Any) -> bool:
    if _is_error(value):
        raise _Failure(value, value.reason)
    if isinstance(value, str):
        if value.upper() in ("TRUE", "FALSE"):
            return value.upper() == "TRUE"
        raise _Failure("#VALUE!", f"the text '{value[:20]}' is not TRUE or FALSE")
    return _number(value) != 0


def _integer(value: Any) -> int:
    number = _number(value)
    if not math.isfinite(number) or abs(number) > 1e15:
        raise _Failure("#NUM!", f"{number:g} is out of range")
    return math.trunc(number)


def _finite(number: float) -> float:
    if not math.isfinite(number):
        raise _Failure("#NUM!", "the result is not a finite number")
    return number


# --------------------------------------------------------------------------
# Parsing


class FormulaSyntaxError(ValueError):
    """The formula text cannot be parsed."""


class FormulaTooComplex(FormulaSyntaxError):
    """The formula is longer or nests deeper than Excel allows (#VALUE!)."""


_INFIX_PRECEDENCE = {":": 7, "^": 5, "*": 4, "/": 4, "+": 3, "-": 3, "&": 2, "=": 1, "<>": 1, "<": 1, ">": 1, "<=": 1, ">=": 1}


def _function_name(raw: str) -> str:
    name = raw.upper()
    stripped = True
    while stripped:
        stripped = False
        for prefix in _FUNCTION_PREFIXES:
            if name.startswith(prefix):
                name, stripped = name[len(prefix):], True
    return name


class _Parser:
    """Tokens -> a tree of tuples: ("num", x), ("ref", text), ("call", NAME, args)..."""

    def __init__(self, formula: str):
        try:
            tokens = Tokenizer(formula).items
        except (TokenizerError, IndexError) as exc:  # the tokenizer pops an empty stack on an unmatched ")"
            raise FormulaSyntaxError(str(exc) if isinstance(exc, TokenizerError) else "unbalanced brackets") from None
        self.tokens = [t for t in tokens if t.type != Token.WSPACE]
        self.at = 0
        self.functions = 0  # functions open around the current token
        self.brackets = 0  # any nesting: functions, parentheses, arrays, signs

    def enter(self, function: bool = False) -> None:
        self.brackets += 1
        self.functions += function
        if self.functions > MAX_FUNCTION_NESTING:
            raise FormulaTooComplex(f"functions nest more than {MAX_FUNCTION_NESTING} levels deep (Excel's limit)")
        if self.brackets > MAX_BRACKET_NESTING:
            raise FormulaTooComplex(f"brackets and signs nest more than {MAX_BRACKET_NESTING} levels deep")

    def leave(self, function: bool = False) -> None:
        self.brackets -= 1
        self.functions -= function

    def parse(self) -> tuple:
        if not self.tokens:
            raise FormulaSyntaxError("empty formula")
        node = self.expression(0)
        if self.at != len(self.tokens):
            raise FormulaSyntaxError(f"unexpected {self.tokens[self.at].value!r}")
        return node

    def peek(self) -> Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise FormulaSyntaxError("formula ends too early")
        self.at += 1
        return token

    def expression(self, min_precedence: int) -> tuple:
        left = self.unary()
        while True:
            token = self.peek()
            if token is None or token.type != Token.OP_IN:
                return left
            precedence = _INFIX_PRECEDENCE.get(token.value)
            if precedence is None:
                raise FormulaSyntaxError(f"unsupported operator {token.value!r}")
            if precedence < min_precedence:
                return left
            self.take()
            left = ("op", token.value, left, self.expression(precedence + 1))  # all left-associative, as Excel

    def unary(self) -> tuple:
        token = self.peek()
        if token is not None and token.type == Token.OP_PRE:
            self.take()
            self.enter()
            operand = self.unary()
            self.leave()
            return ("neg", operand) if token.value == "-" else ("pos", operand)
        node = self.primary()
        while (token := self.peek()) is not None and token.type == Token.OP_POST:
            self.take()
            node = ("percent", node)
        return node

    def primary(self) -> tuple:
        token = self.take()
        if token.type == Token.OPERAND:
            if token.subtype == Token.NUMBER:
                return ("value", float(token.value))
            if token.subtype == Token.TEXT:
                return ("value", token.value[1:-1].replace('""', '"'))
            if token.subtype == Token.LOGICAL:
                return ("value", token.value.upper() == "TRUE")
            if token.subtype == Token.ERROR:
                code = token.value.upper()
                return ("value", ExcelError(code, f"the formula contains {code}"))
            return ("ref", token.value)
        if token.type == Token.FUNC and token.subtype == Token.OPEN:
            self.enter(function=True)
            node = ("call", _function_name(token.value[:-1]), self.arguments())
            self.leave(function=True)
            return node
        if token.type == Token.PAREN and token.subtype == Token.OPEN:
            self.enter()
            node = self.expression(0)
            closing = self.take()
            if closing.type != Token.PAREN:
                raise FormulaSyntaxError("unbalanced parentheses")
            self.leave()
            return node
        if token.type == Token.ARRAY and token.subtype == Token.OPEN:
            self.enter()
            node = self.array()
            self.leave()
            return node
        raise FormulaSyntaxError(f"unexpected {token.value!r}")

    def arguments(self) -> list[tuple]:
        args: list[tuple] = []
        token = self.peek()
        if token is not None and token.type == Token.FUNC and token.subtype == Token.CLOSE:
            self.take()
            return args
        while True:
            token = self.peek()
            if token is not None and (token.type == Token.SEP or (token.type == Token.FUNC and token.subtype == Token.CLOSE)):
                args.append(("value", MISSING))
            else:
                args.append(self.expression(0))
            token = self.take()
            if token.type == Token.FUNC and token.subtype == Token.CLOSE:
                return args
            if not (token.type == Token.SEP and token.subtype == Token.ARG):
                raise FormulaSyntaxError(f"unexpected {token.value!r} in the arguments")

    def array(self) -> tuple:
        rows: list[list[Any]] = [[]]
        while True:
            token = self.peek()
            if token is not None and token.type == Token.ARRAY and token.subtype == Token.CLOSE:
                self.take()
                break
            node = self.unary()
            if node[0] == "neg" and node[1][0] == "value" and _is_number(node[1][1]):
                node = ("value", -node[1][1])
            if node[0] != "value":
                raise FormulaSyntaxError("an array constant holds only constants")
            rows[-1].append(node[1])
            token = self.take()
            if token.type == Token.ARRAY and token.subtype == Token.CLOSE:
                break
            if token.type == Token.SEP and token.subtype == Token.ROW:
                rows.append([])
            elif not (token.type == Token.SEP and token.subtype == Token.ARG):
                raise FormulaSyntaxError(f"unexpected {token.value!r} in an array constant")
        if len({len(row) for row in rows}) != 1:
            raise FormulaSyntaxError("array constant rows differ in length")
        return ("value", Array(rows))


def _walk_calls(node: tuple) -> Iterator[tuple[str, int]]:
    # a loop, not recursion: a chain such as 1+1+...+1 is thousands of levels deep
    pending = [node]
    while pending:
        node = pending.pop()
        if node[0] == "call":
            yield node[1], len(node[2])
            pending.extend(reversed(node[2]))
        elif node[0] == "op":
            pending.extend((node[3], node[2]))
        elif node[0] in ("neg", "pos", "percent"):
            pending.append(node[1])


def function_calls(formula: str) -> list[tuple[str, int]]:
    """Every function call in a formula with its number of arguments.

    >>> function_calls("=INDEX(CXTEI(B2:B4, C2:C4), 5, 2)")
    [('INDEX', 3), ('CXTEI', 2)]
    """
    return list(_walk_calls(_parse(formula)))


def function_names(formula: str) -> set[str]:
    """Names of the functions a formula calls, without ``_xlfn.`` prefixes.

    >>> sorted(function_names("=INDEX(_xlfn.CXTEI(B2:B4, C2:C4), 5, 2)"))
    ['CXTEI', 'INDEX']
    """
    return {name for name, _ in _walk_calls(_parse(formula))}


_PARSED: dict[str, tuple] = {}


def _parse(formula: str) -> tuple:
    tree = _PARSED.get(formula)
    if tree is None:
        if len(formula) > MAX_FORMULA_CHARS + 1:  # + the leading "="
            raise FormulaTooComplex(f"the formula has {len(formula) - 1:,} characters, over Excel's limit of {MAX_FORMULA_CHARS:,}")
        if len(_PARSED) > 50_000:  # table rows make many distinct texts; keep memory bounded
            _PARSED.clear()
        try:
            tree = _Parser(formula if formula.startswith("=") else "=" + formula).parse()
        except RecursionError:  # the nesting caps come first; this is a last guard
            raise FormulaTooComplex("the formula nests too deeply") from None
        _PARSED[formula] = tree
    return tree


# --------------------------------------------------------------------------
# References

_CALLED = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\s*\(")  # a name followed by "(", for formulas that cannot be parsed
_CELL = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,7})$")
_COLUMNS = re.compile(r"^\$?([A-Za-z]{1,3}):\$?([A-Za-z]{1,3})$")
_ROWS = re.compile(r"^\$?(\d{1,7}):\$?(\d{1,7})$")


def _split_sheet(text: str) -> tuple[str | None, str]:
    """``'Post-automation'!B2`` -> ("Post-automation", "B2")."""
    if text.startswith("'"):
        end = 1
        while True:
            end = text.find("'", end)
            if end < 0:
                raise FormulaSyntaxError(f"unclosed sheet name in {text}")
            if text[end + 1:end + 2] == "'":
                end += 2
                continue
            break
        if text[end + 1:end + 2] != "!":
            raise FormulaSyntaxError(f"bad sheet reference {text}")
        return text[1:end].replace("''", "'"), text[end + 2:]
    if "!" in text:
        sheet, address = text.split("!", 1)
        return sheet, address
    return None, text


def _cell_position(text: str) -> tuple[int, int] | None:
    match = _CELL.match(text)
    if not match:
        return None
    col, row = column_index_from_string(match.group(1).upper()), int(match.group(2))
    return (row, col) if 1 <= row <= MAX_ROW and col <= MAX_COL else None


def _structured_parts(inner: str) -> tuple[set[str], list[str]]:
    """``[#This Row],[a]:[b]`` -> ({"#this row"}, ["a", "b"]); column names
    keep their case, specials are lower-cased; ``'`` escapes a character."""
    inner = inner.strip()
    if inner.startswith("@"):
        rest = inner[1:].strip()
        columns = _structured_parts(rest)[1] if rest.startswith("[") else ([_unescape(rest)] if rest else [])
        return {"#this row"}, columns
    if not inner.startswith("["):
        if inner.startswith("#"):
            return {inner.lower()}, []
        return set(), [_unescape(inner)] if inner else []
    items: list[str] = []
    position = 0
    while position < len(inner):
        char = inner[position]
        if char == "[":
            end = position + 1
            while end < len(inner) and inner[end] != "]":
                end += 2 if inner[end] == "'" else 1
            if end >= len(inner):
                raise FormulaSyntaxError(f"unclosed [ in [{inner}]")
            items.append(inner[position + 1:end])
            position = end + 1
        elif char in ",: ":
            position += 1
        else:
            raise FormulaSyntaxError(f"bad structured reference [{inner}]")
    specials = {item.strip().lower() for item in items if item.strip().startswith("#")}
    columns = [_unescape(item) for item in items if not item.strip().startswith("#")]
    return specials, columns


def _unescape(name: str) -> str:
    return re.sub(r"'(.)", r"\1", name.strip())


def _grid_shape(grid: list[list[Any]]) -> tuple[int, int]:
    return len(grid), (len(grid[0]) if grid else 0)


# --------------------------------------------------------------------------
# The evaluator


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
    """

    def __init__(self, workbook: Any, budget: Budget | None = None):
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
        self._addin_formulas: dict[str, bool] = {}
        self._results: dict[tuple[str, int, int], Any] = {}
        self._active: set[Any] = set()
        # Formulas that may spill, per sheet: column -> rows, so a cell is
        # checked only against anchors above and to the left of it. Anchors
        # found not to spill are dropped (copy on write: a caller up the
        # stack may be iterating the old lists).
        self._anchors: dict[str, dict[int, list[int]]] = {}
        for ws in workbook.worksheets:
            columns: dict[int, list[int]] = {}
            for row, col in sorted((row, col) for (row, col), cell in ws._cells.items() if self._may_spill(cell)):
                columns.setdefault(col, []).append(row)
            self._anchors[ws.title] = columns

    # ---- public ------------------------------------------------------------

    def value(self, sheet: str, coordinate: str) -> Any:
        """What the cell shows: a number, text, bool, datetime, ``None`` for
        a blank, or an :class:`~cxroi_xl.excel.ExcelError`."""
        ref = self._address(sheet, coordinate)
        return self._settled(lambda: self._cell(ref.sheet, ref.min_row, ref.min_col))

    def spill(self, sheet: str, coordinate: str) -> list[list[Any]]:
        """The whole block a formula shows (its spill range), as a 2-D list;
        ``[[value]]`` for a cell that does not spill."""
        ref = self._address(sheet, coordinate)
        result = self._settled(lambda: self._formula_result(ref.sheet, ref.min_row, ref.min_col)) if self._is_formula(ref) else None
        if isinstance(result, _Spill):
            return [[None if v is MISSING else v for v in row] for row in result.values]
        return [[self.value(sheet, coordinate)]]

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
        try:
            return not function_names(text).isdisjoint(self._addins)
        except FormulaSyntaxError:
            # unreadable or over Excel's limits: if it names an add-in function
            # it is ours to answer, with an error saying why
            return not {_function_name(name) for name in _CALLED.findall(text)}.isdisjoint(self._addins)

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
        text = formula_text(cell)
        return text is not None and "CX" in text.upper() and self.uses_addin(cell)

    def _cell(self, title: str, row: int, col: int) -> Any:
        """The value cell (row, col) shows."""
        ws = self._sheets[title.lower()]
        cell = ws._cells.get((row, col))
        raw = None if cell is None else cell.value
        if formula_text(cell) is not None:
            result = self._formula_result(ws.title, row, col)
            if isinstance(result, _Spill):
                return result.at(row, col)
            if isinstance(result, NotComputed):  # what reads it is not computed either
                raise _NotComputedHere(result)
            return result
        spill = self._spill_over(ws.title, row, col, raw is None)
        if spill is not None:
            return spill.at(row, col)
        if raw is None:
            return None
        if cell.data_type == "e" and isinstance(raw, str) and raw in EXCEL_ERRORS:
            return ExcelError(raw, f"{ws.title}!{cell.coordinate} holds {raw}")
        if isinstance(raw, str) or _is_number(raw) or isinstance(raw, bool) or _is_date(raw):
            return raw
        return str(raw)  # rich text and other cell objects show as their text

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
                if (top, left) == (row, col) or (title, top, left) in self._active:
                    continue
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
        try:
            result = self._evaluate_cell_formula(title, row, col)
        except _TooDeep:
            raise
        except _LimitReached as limit:
            result, reached = limit.error, limit
        except RecursionError:
            result = _error("#NUM!", f"the formulas feeding {title}!{get_column_letter(col)}{row} nest too deeply")
        except MemoryError:
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
        self._results[key] = result
        if reached is not None and reached.workbook:
            raise reached  # the formulas waiting on this one cannot finish either
        return result

    # ---- the budget ----------------------------------------------------------

    def _check_time(self) -> None:
        if time.monotonic() > self._deadline:
            raise _LimitReached("#VALUE!", f"not computed: the workbook's time limit of {self.budget.seconds:g} s ran out", workbook=True)

    def _spend_cells(self, ref: Ref, fresh: bool) -> None:
        """Count a range read against the formula's and the workbook's caps, before reading it."""
        count = ref.rows * ref.cols
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
        if ref.rows * ref.cols > LARGE_RANGE_CELLS:
            # A large range (A1:XFD1048576) is read as far as the sheet is
            # used: beyond that every cell is blank, and building billions of
            # blanks would exhaust memory on a file of a few kilobytes.
            rows, cols = self._used[self._sheet(ref.sheet).title]
            ref = Ref(ref.sheet, ref.min_row, ref.min_col, min(ref.max_row, max(rows, ref.min_row)), min(ref.max_col, max(cols, ref.min_col)))
        grid = self._grids.get(ref)
        self._spend_cells(ref, fresh=grid is None)
        if grid is not None:
            return grid
        self._check_time()
        circular = self._circular
        grid = []
        for row in range(ref.min_row, ref.max_row + 1):
            grid.append([self._cell(ref.sheet, row, col) for col in range(ref.min_col, ref.max_col + 1)])
            if row % 4096 == 0:
                self._check_time()
        if self._circular == circular:  # a value read through a circle depends on where the read started
            self._grids[ref] = grid
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
        sheet_name, address = _split_sheet(text)
        if sheet_name is not None and ":" in sheet_name:
            raise _Failure("#REF!", f"{text}: references across several sheets are not supported")
        title = self._sheet(sheet_name).title if sheet_name is not None else context[0]
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
        return self._name(address, sheet_name is not None, title, context)

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


def formula_text(cell: Any) -> str | None:
    """The formula an openpyxl cell holds (array formulas included), else None.
    Text that merely starts with "=" (data type "s") is not a formula."""
    value = None if cell is None else cell.value
    if isinstance(value, ArrayFormula):
        return value.text if isinstance(value.text, str) and value.text.startswith("=") else None
    if cell is not None and cell.data_type == "f" and isinstance(value, str) and len(value) > 1 and value.startswith("="):
        return value
    return None


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


def _pick(grid: list[list[Any]], i: int, j: int) -> Any:
    """Excel's array broadcasting: a single row or column repeats; beyond a
    block's edge is #N/A."""
    rows, cols = _grid_shape(grid)
    i = 0 if rows == 1 else i
    j = 0 if cols == 1 else j
    if i < rows and j < cols:
        return grid[i][j]
    return _error("#N/A", "arrays of different sizes")


def _safely(function: Callable[..., Any], *args: Any) -> Any:
    try:
        return function(*args)
    except _Failure as failure:
        return failure.error
    except (ArithmeticError, ValueError) as exc:
        return _error("#NUM!", str(exc))


def _elementwise(function: Callable[..., Any], *args: Any) -> Any:
    """Apply a scalar function, element by element when an argument is an array."""
    if not any(isinstance(a, list) for a in args):
        return function(*args)
    grids = [a if isinstance(a, list) else [[a]] for a in args]
    rows = max(_grid_shape(g)[0] for g in grids)
    cols = max(_grid_shape(g)[1] for g in grids)
    if rows * cols > MAX_ARRAY_CELLS:  # a column times a row broadcasts to their product
        raise _Failure("#NUM!", f"the result would be a {rows:,}x{cols:,} array, over the {MAX_ARRAY_CELLS:,} cells a formula may compute")
    return Array([[_safely(function, *(_pick(g, i, j) for g in grids)) for j in range(cols)] for i in range(rows)])


def _arithmetic(operation: Callable[[float, float], float]) -> Callable[[Any, Any], Any]:
    def apply(left: Any, right: Any) -> Any:
        a, b = _number(left), _number(right)
        return _finite(operation(a, b))

    return apply


def _divide(a: float, b: float) -> float:
    if b == 0:
        raise _Failure("#DIV/0!", "division by zero")
    return a / b


def _power(a: float, b: float) -> float:
    if a == 0 and b == 0:
        raise _Failure("#NUM!", "0^0 is undefined")
    if a == 0 and b < 0:
        raise _Failure("#DIV/0!", "0 raised to a negative power")
    if a < 0 and not float(b).is_integer():
        raise _Failure("#NUM!", "a negative number raised to a fractional power")
    try:
        return math.pow(a, b)
    except OverflowError:
        raise _Failure("#NUM!", "the result is too large") from None


def _rank(value: Any) -> tuple[int, Any]:
    """Excel's comparison order: numbers < text < logicals; text ignores case."""
    if isinstance(value, bool):
        return 2, value
    if isinstance(value, str):
        return 1, value.casefold()
    return 0, _number(value)


def _compare(op: str) -> Callable[[Any, Any], bool]:
    test = {"=": lambda c: c == 0, "<>": lambda c: c != 0, "<": lambda c: c < 0, ">": lambda c: c > 0, "<=": lambda c: c <= 0, ">=": lambda c: c >= 0}[op]

    def apply(left: Any, right: Any) -> bool:
        for side in (left, right):
            if _is_error(side):
                raise _Failure(side, side.reason)
        left, right = _blank_as(left, right), _blank_as(right, left)
        a, b = _rank(left), _rank(right)
        return test((a > b) - (a < b))

    return apply


def _blank_as(value: Any, other: Any) -> Any:
    """A blank compares as 0, "" or FALSE, whichever the other side is."""
    if value is not None and value is not MISSING:
        return value
    if isinstance(other, bool):
        return False
    if isinstance(other, str):
        return ""
    return 0.0


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": _arithmetic(lambda a, b: a + b),
    "-": _arithmetic(lambda a, b: a - b),
    "*": _arithmetic(lambda a, b: a * b),
    "/": _arithmetic(_divide),
    "^": _arithmetic(_power),
    "&": lambda a, b: _joined(_text(a), _text(b)),
    **{op: _compare(op) for op in ("=", "<>", "<", ">", "<=", ">=")},
}


# --------------------------------------------------------------------------
# Native functions. Each takes (evaluator, context, *arguments) where an
# argument is a Ref, an Array, a scalar or MISSING.


def _numbers_for_aggregate(ev: Evaluator, args: tuple[Any, ...]) -> list[float]:
    """SUM's reading of its arguments: in ranges and arrays only numbers (and
    dates) count; a number typed as an argument, TRUE or "12" count too."""
    numbers: list[float] = []
    for arg in args:
        if isinstance(arg, (Ref, list)):
            for value in ev._cells_of(arg):
                if _is_error(value):
                    raise _Failure(value, value.reason)
                if _is_number(value) or _is_date(value):
                    numbers.append(_number(value))
        elif arg is not MISSING and arg is not None:
            numbers.append(_number(arg))
    return numbers


def _sum(ev, context, *args):
    return _finite(math.fsum(_numbers_for_aggregate(ev, args)))


def _average(ev, context, *args):
    numbers = _numbers_for_aggregate(ev, args)
    if not numbers:
        raise _Failure("#DIV/0!", "AVERAGE of no numbers")
    return _finite(math.fsum(numbers) / len(numbers))


def _min(ev, context, *args):
    numbers = _numbers_for_aggregate(ev, args)
    return min(numbers) if numbers else 0.0


def _max(ev, context, *args):
    numbers = _numbers_for_aggregate(ev, args)
    return max(numbers) if numbers else 0.0


def _count(ev, context, *args):
    count = 0
    for arg in args:
        if isinstance(arg, (Ref, list)):
            count += sum(1 for v in ev._cells_of(arg) if _is_number(v) or _is_date(v))
        elif arg is not MISSING and arg is not None and not _is_error(arg):
            try:
                _number(arg)
                count += 1
            except _Failure:
                pass
    return float(count)


def _counta(ev, context, *args):
    count = 0
    for arg in args:
        if isinstance(arg, (Ref, list)):
            count += sum(1 for v in ev._cells_of(arg) if v is not None and v is not MISSING)
        elif arg is not MISSING:
            count += 1
    return float(count)


def _countblank(ev, context, area):
    if not isinstance(area, Ref):
        raise _Failure("#VALUE!", "COUNTBLANK needs a range")
    return float(sum(1 for v in ev._cells_of(area) if v is None or v == ""))


def _sumproduct(ev, context, *args):
    grids = [ev._as_grid(arg) for arg in args]
    shape = _grid_shape(grids[0])
    if any(_grid_shape(g) != shape for g in grids):
        raise _Failure("#VALUE!", "SUMPRODUCT's arrays differ in size")
    total = []
    for i in range(shape[0]):
        for j in range(shape[1]):
            product = 1.0
            for grid in grids:
                value = grid[i][j]
                if _is_error(value):
                    raise _Failure(value, value.reason)
                product *= _number(value) if (_is_number(value) or _is_date(value)) else 0.0
            total.append(product)
    return _finite(math.fsum(total))


def _wildcard(pattern: str) -> Callable[[str], bool]:
    """Excel's * and ? (escaped with ~) as a case-insensitive test of a whole text.

    In linear time, without backtracking: the pattern is cut at each * into
    pieces of fixed length (characters and ?); the first piece must start
    the text, the last end it, and each middle one is taken at its leftmost
    place after the previous one (leftmost is never worse for what follows).
    A regular expression with many .* would try every split: a 40-character
    text and a 25-star criterion would never finish.

    >>> test = _wildcard("a*b?d*")
    >>> test("AxxBcDzz"), test("abd"), _wildcard("~*")("*"), _wildcard("~*")("x")
    (True, False, True, False)
    """
    pieces: list[list[str]] = [[]]
    escape = False
    for char in pattern:
        if escape:
            pieces[-1].append(re.escape(char))
            escape = False
        elif char == "~":
            escape = True
        elif char == "*":
            pieces.append([])
        elif char == "?":
            pieces[-1].append(".")
        else:
            pieces[-1].append(re.escape(char))
    # each piece matches exactly len(piece) characters: no quantifier, so no backtracking
    compiled = [(re.compile("".join(piece), re.IGNORECASE | re.DOTALL), len(piece)) for piece in pieces]
    if len(compiled) == 1:
        whole = compiled[0][0]
        return lambda text: whole.fullmatch(text) is not None
    first, middle, (last, last_length) = compiled[0][0], compiled[1:-1], compiled[-1]

    def matches(text: str) -> bool:
        found = first.match(text)
        if found is None:
            return False
        position = found.end()
        for piece, length in middle:
            if length:
                found = piece.search(text, position)
                if found is None:
                    return False
                position = found.end()
        start = len(text) - last_length
        return start >= position and last.fullmatch(text, start) is not None

    return matches


def _criterion(criterion: Any) -> Callable[[Any], bool]:
    """COUNTIF's criterion: 5, ">=5", "<>x", "a*", "" -> a test of one value."""
    if _is_error(criterion):
        raise _Failure(criterion, criterion.reason)
    if criterion is None or criterion is MISSING:
        criterion = 0.0
    if isinstance(criterion, bool) or _is_number(criterion) or _is_date(criterion):
        op, operand = "=", criterion
    else:
        text = str(criterion)
        if len(text) > MAX_CRITERION_CHARS:
            raise _Failure("#VALUE!", f"the criterion is longer than {MAX_CRITERION_CHARS} characters (Excel's limit)")
        op = next((o for o in ("<=", ">=", "<>", "<", ">", "=") if text.startswith(o)), "")
        rest = text[len(op):]
        op = op or "="
        operand = rest
        if rest.strip():
            try:
                operand = float(rest)
            except ValueError:
                if rest.upper() in ("TRUE", "FALSE"):
                    operand = rest.upper() == "TRUE"
    compare = _compare(op)
    if isinstance(operand, str):
        if operand == "":  # "" matches blanks and empty text; "=" only blanks; "<>" non-blanks
            if op == "=":
                return (lambda v: v is None or v == "") if text == "" else (lambda v: v is None)
            if op == "<>":
                return lambda v: v is not None and v != ""
        if op in ("=", "<>"):
            pattern = _wildcard(operand)
            matches = lambda v: isinstance(v, str) and pattern(v)  # noqa: E731
            return matches if op == "=" else (lambda v: not matches(v))
        return lambda v: isinstance(v, str) and compare(v, operand)
    if isinstance(operand, bool):
        return lambda v: (isinstance(v, bool) and compare(v, operand)) if op != "<>" else not (isinstance(v, bool) and v == operand)
    number = _number(operand)
    if op == "<>":
        return lambda v: not ((_is_number(v) or _is_date(v)) and _number(v) == number)
    return lambda v: (_is_number(v) or _is_date(v)) and compare(_number(v), number)


def _resized(ev: Evaluator, area: Any, like: list[list[Any]]) -> list[list[Any]]:
    """SUMIF's sum_range: its top-left cell, stretched to the criteria range's size."""
    rows, cols = _grid_shape(like)
    if isinstance(area, Ref):
        return ev._grid(Ref(area.sheet, area.min_row, area.min_col, area.min_row + rows - 1, area.min_col + cols - 1))
    grid = ev._as_grid(area)
    if _grid_shape(grid) != (rows, cols):
        raise _Failure("#VALUE!", "ranges of different sizes")
    return grid


def _matching(ev: Evaluator, pairs: list[tuple[Any, Any]]) -> tuple[list[list[Any]], list[list[bool]]]:
    """The first criteria range and which of its cells meet every criterion."""
    first = ev._as_grid(pairs[0][0])
    shape = _grid_shape(first)
    mask = [[True] * shape[1] for _ in range(shape[0])]
    for area, criterion in pairs:
        grid = ev._as_grid(area)
        if _grid_shape(grid) != shape:
            raise _Failure("#VALUE!", "criteria ranges of different sizes")
        test = _criterion(ev._one(criterion))
        for i, row in enumerate(grid):
            for j, value in enumerate(row):
                if mask[i][j] and not test(value):
                    mask[i][j] = False
            if i % 1024 == 1023:  # a text test costs up to 32,767 x 255 steps: watch the clock
                ev._check_time()
    return first, mask


def _matched_numbers(values: list[list[Any]], mask: list[list[bool]]) -> list[float]:
    picked = []
    for row, keep in zip(values, mask):
        for value, wanted in zip(row, keep):
            if not wanted:
                continue
            if _is_error(value):
                raise _Failure(value, value.reason)
            if _is_number(value) or _is_date(value):
                picked.append(_number(value))
    return picked


def _pairs(args: tuple[Any, ...], name: str) -> list[tuple[Any, Any]]:
    if len(args) % 2:
        raise _Failure("#VALUE!", f"{name} needs range, criterion pairs")
    return list(zip(args[::2], args[1::2]))


def _sumif(ev, context, area, criterion, sum_area=MISSING):
    first, mask = _matching(ev, [(area, criterion)])
    values = first if sum_area is MISSING else _resized(ev, sum_area, first)
    return _finite(math.fsum(_matched_numbers(values, mask)))


def _sumifs(ev, context, sum_area, *criteria):
    first, mask = _matching(ev, _pairs(criteria, "SUMIFS"))
    values = ev._as_grid(sum_area)
    if _grid_shape(values) != _grid_shape(first):
        raise _Failure("#VALUE!", "SUMIFS ranges of different sizes")
    return _finite(math.fsum(_matched_numbers(values, mask)))


def _countif(ev, context, area, criterion):
    return float(sum(map(sum, _matching(ev, [(area, criterion)])[1])))


def _countifs(ev, context, *criteria):
    return float(sum(map(sum, _matching(ev, _pairs(criteria, "COUNTIFS"))[1])))


def _mean(numbers: list[float], name: str) -> float:
    if not numbers:
        raise _Failure("#DIV/0!", f"{name}: no cell meets the criteria")
    return _finite(math.fsum(numbers) / len(numbers))


def _averageif(ev, context, area, criterion, average_area=MISSING):
    first, mask = _matching(ev, [(area, criterion)])
    values = first if average_area is MISSING else _resized(ev, average_area, first)
    return _mean(_matched_numbers(values, mask), "AVERAGEIF")


def _averageifs(ev, context, average_area, *criteria):
    first, mask = _matching(ev, _pairs(criteria, "AVERAGEIFS"))
    values = ev._as_grid(average_area)
    if _grid_shape(values) != _grid_shape(first):
        raise _Failure("#VALUE!", "AVERAGEIFS ranges of different sizes")
    return _mean(_matched_numbers(values, mask), "AVERAGEIFS")


def _condition(ev: Evaluator, value: Any) -> Any:
    return _elementwise(_boolean, ev._values(value))


def _if(ev: Evaluator, nodes: list[tuple], context: tuple[str, int, int]) -> Any:
    if not 1 <= len(nodes) <= 3:
        return _error("#VALUE!", f"IF got {len(nodes)} arguments")
    try:
        condition = _condition(ev, ev._evaluate(nodes[0], context))
    except _Failure as failure:
        return failure.error
    if _is_error(condition):
        return condition

    def branch(index: int) -> Any:
        if index >= len(nodes):
            return False  # IF(c, x) shows FALSE when c is false
        value = ev._evaluate(nodes[index], context)
        return 0.0 if value is MISSING else value

    if isinstance(condition, list):  # an array condition picks element by element
        chosen = (ev._values(branch(1)), ev._values(branch(2)))
        return _elementwise(lambda c, yes, no: c if _is_error(c) else (yes if c else no), condition, *chosen)
    return branch(1 if condition else 2)


def _if_error(codes: frozenset[str] | None) -> Callable[[Evaluator, list[tuple], tuple[str, int, int]], Any]:
    """IFERROR (any error) and IFNA (#N/A only): the fallback is evaluated only when needed."""

    def function(ev: Evaluator, nodes: list[tuple], context: tuple[str, int, int]) -> Any:
        if len(nodes) != 2:
            return _error("#VALUE!", "IFERROR and IFNA take two arguments")
        value = ev._values(ev._evaluate(nodes[0], context))
        caught = lambda v: _is_error(v) and (codes is None or v in codes)  # noqa: E731
        cells = [v for row in value for v in row] if isinstance(value, list) else [value]
        if not any(caught(v) for v in cells):
            return value
        fallback = ev._evaluate(nodes[1], context)
        fallback = 0.0 if fallback is MISSING else ev._values(fallback)
        return _elementwise(lambda v, f: f if caught(v) else v, value, fallback)

    return function


_LAZY: dict[str, Callable[[Evaluator, list[tuple], tuple[str, int, int]], Any]] = {
    "IF": _if,
    "IFERROR": _if_error(None),
    "IFNA": _if_error(frozenset({"#N/A"})),
}


def _per_value(test: Callable[[Any], Any]) -> Callable[..., Any]:
    """A one-argument function applied to each value of a range or array."""
    return lambda ev, context, value: _elementwise(test, ev._values(value))


def _logical(ev: Evaluator, args: tuple[Any, ...], combine: Callable[[list[bool]], bool], name: str) -> bool:
    flags: list[bool] = []
    for arg in args:
        if isinstance(arg, (Ref, list)):
            for value in ev._cells_of(arg):
                if _is_error(value):
                    raise _Failure(value, value.reason)
                if isinstance(value, bool) or _is_number(value):
                    flags.append(bool(value))
        elif arg is not MISSING:
            flags.append(_boolean(arg))
    if not flags:
        raise _Failure("#VALUE!", f"{name} found no logical values")
    return combine(flags)


def _decimal_round(number: float, digits: int, mode: str) -> float:
    """Round to ``digits`` decimals on the number's shortest decimal form, as
    Excel does (ROUND(2.675, 2) = 2.68 although 2.675 is stored as 2.67499...)."""
    if not math.isfinite(number):
        raise _Failure("#NUM!", "not a finite number")
    if digits >= 0 and abs(number) >= 1e15:
        return number
    if digits < -308:
        return 0.0
    with localcontext() as decimal_context:
        decimal_context.prec = 400
        return float(Decimal(repr(number)).quantize(Decimal(1).scaleb(-digits), rounding=mode))


def _rounding(mode: str) -> Callable[..., Any]:
    def function(ev, context, number, digits=MISSING):
        return _elementwise(lambda x, d: _decimal_round(_number(x), _integer(d), mode), ev._values(number), ev._values(digits))

    return function


def _sqrt(value: Any) -> float:
    number = _number(value)
    if number < 0:
        raise _Failure("#NUM!", "square root of a negative number")
    return math.sqrt(number)


def _index(ev, context, area, row=MISSING, col=MISSING):
    rows, cols = (area.rows, area.cols) if isinstance(area, Ref) else _grid_shape(ev._as_grid(area))
    i = 0 if row is MISSING else _integer(ev._one(row))
    j = 0 if col is MISSING else _integer(ev._one(col))
    if col is MISSING and rows == 1 and cols > 1:  # INDEX(row_range, n) counts along the row
        i, j = 1, i
    elif col is MISSING and cols == 1:
        j = 1
    if i < 0 or j < 0:
        raise _Failure("#VALUE!", "INDEX: negative position")
    if i > rows or j > cols:
        raise _Failure("#REF!", f"INDEX: position ({i}, {j}) is outside the {rows}x{cols} range")
    row_span = range(1, rows + 1) if i == 0 else range(i, i + 1)
    col_span = range(1, cols + 1) if j == 0 else range(j, j + 1)
    if isinstance(area, Ref):
        return Ref(area.sheet, area.min_row + row_span[0] - 1, area.min_col + col_span[0] - 1, area.min_row + row_span[-1] - 1, area.min_col + col_span[-1] - 1)
    grid = ev._as_grid(area)
    picked = Array([[grid[r - 1][c - 1] for c in col_span] for r in row_span])
    return picked[0][0] if len(picked) == 1 and len(picked[0]) == 1 else picked


def _match(ev, context, lookup, area, match_type=MISSING):
    grid = ev._as_grid(area)
    rows, cols = _grid_shape(grid)
    if rows > 1 and cols > 1:
        raise _Failure("#N/A", "MATCH needs a single row or column")
    values = [v for r in grid for v in r]
    wanted = ev._one(lookup)
    if _is_error(wanted):
        raise _Failure(wanted, wanted.reason)
    kind = 1 if match_type is MISSING else _integer(ev._one(match_type))
    if wanted is None:
        wanted = 0.0
    if kind == 0:
        if isinstance(wanted, str):
            if len(wanted) > MAX_CRITERION_CHARS:
                raise _Failure("#VALUE!", f"MATCH: the lookup text is longer than {MAX_CRITERION_CHARS} characters (Excel's limit)")
            pattern = _wildcard(wanted)
            test = lambda v: isinstance(v, str) and pattern(v)  # noqa: E731
        else:
            key = _rank(wanted)
            test = lambda v: v is not None and not _is_error(v) and _rank(v) == key  # noqa: E731
        for position, value in enumerate(values, start=1):
            if test(value):
                return float(position)
        raise _Failure("#N/A", "MATCH: value not found")
    # Approximate match on sorted data: the last value not past the lookup value.
    key, found = _rank(wanted), None
    for position, value in enumerate(values, start=1):
        if value is None or _is_error(value) or _rank(value)[0] != key[0]:
            continue
        if (kind > 0 and _rank(value) > key) or (kind < 0 and _rank(value) < key):
            break
        found = position
    if found is None:
        raise _Failure("#N/A", "MATCH: value not found")
    return float(found)


def _dimension(which: int) -> Callable[..., float]:
    def function(ev, context, area):
        if isinstance(area, Ref):
            return float(area.rows if which == 0 else area.cols)
        return float(_grid_shape(ev._as_grid(area))[which])

    return function


def _position(which: int) -> Callable[..., float]:
    def function(ev, context, area=MISSING):
        if area is MISSING:
            return float(context[1 + which])
        if not isinstance(area, Ref):
            raise _Failure("#VALUE!", "ROW and COLUMN need a reference")
        return float(area.min_row if which == 0 else area.min_col)

    return function


def _date(ev, context, year, month, day):
    y, m, d = (_integer(ev._one(v)) for v in (year, month, day))
    if 0 <= y < 1900:
        y += 1900
    if not 0 <= y < 10000:
        raise _Failure("#NUM!", f"DATE: year {y} is out of range")
    y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
    try:
        serial = (dt.date(y, m, 1) - EPOCH.date()).days + d - 1
    except ValueError:
        raise _Failure("#NUM!", "DATE: out of range") from None
    if serial < 0:
        raise _Failure("#NUM!", "DATE before 1900")
    return float(serial)


def _date_part(part: str) -> Callable[..., Any]:
    return _per_value(lambda v: float(getattr(_from_serial(_number(v)), part)))


def _shift_months(start: Any, months: Any, end_of_month: bool) -> float:
    day = _from_serial(_number(start))
    total = day.year * 12 + day.month - 1 + _integer(months)
    year, month = divmod(total, 12)
    month += 1
    if not 1900 <= year < 10000:
        raise _Failure("#NUM!", "the date is out of range")
    last = calendar.monthrange(year, month)[1]
    result = dt.date(year, month, last if end_of_month else min(day.day, last))
    return float((result - EPOCH.date()).days)


def _npv(ev, context, rate, *values):
    r = _number(ev._one(rate))
    if r == -1:
        raise _Failure("#DIV/0!", "NPV: rate of -100%")
    flows = _numbers_for_aggregate(ev, values)
    return _finite(math.fsum(v / (1 + r) ** t for t, v in enumerate(flows, start=1)))


def _joined(*parts: str) -> str:
    if sum(map(len, parts)) > MAX_TEXT_CHARS:
        raise _Failure("#VALUE!", f"the text would be longer than {MAX_TEXT_CHARS:,} characters (Excel's limit)")
    return "".join(parts)


def _concatenate(ev, context, *args):
    text = _joined(*(_text(ev._one(arg)) for arg in args))
    ev._spend_text(len(text))
    return text


def _n(value: Any) -> Any:
    if _is_error(value):
        raise _Failure(value, value.reason)
    if isinstance(value, bool) or _is_number(value) or _is_date(value):
        return _number(value)
    return 0.0


def _mod(a: Any, b: Any) -> float:
    x, y = _number(a), _number(b)
    if y == 0:
        raise _Failure("#DIV/0!", "MOD by zero")
    return x - y * math.floor(x / y)


def _choose(ev, context, index, *options):
    i = _integer(ev._one(index))
    if not 1 <= i <= len(options):
        raise _Failure("#VALUE!", f"CHOOSE: {i} is not between 1 and {len(options)}")
    chosen = options[i - 1]
    return 0.0 if chosen is MISSING else chosen


def _exp(value: Any) -> float:
    try:
        return math.exp(_number(value))
    except OverflowError:
        raise _Failure("#NUM!", "EXP overflows") from None


def _ln(value: Any) -> float:
    number = _number(value)
    if number <= 0:
        raise _Failure("#NUM!", "LN of a number <= 0")
    return math.log(number)


# ---- TEXT ---------------------------------------------------------------

_DATE_CODES = re.compile(r"yyyy|yy|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|am/pm|a/p", re.IGNORECASE)


def _format_sections(fmt: str) -> list[str]:
    sections, current, quoted, i = [], "", False, 0
    while i < len(fmt):
        char = fmt[i]
        if char == '"':
            quoted = not quoted
        if char == "\\" and i + 1 < len(fmt):
            current += fmt[i:i + 2]
            i += 2
            continue
        if char == ";" and not quoted:
            sections.append(current)
            current = ""
        else:
            current += char
        i += 1
    return sections + [current]


def _format_tokens(section: str) -> list[tuple[bool, str]]:
    """(is_literal, text) pieces: quoted text and \\x are literal."""
    tokens, i = [], 0
    while i < len(section):
        char = section[i]
        if char == '"':
            end = section.index('"', i + 1) if '"' in section[i + 1:] else len(section)
            tokens.append((True, section[i + 1:end]))
            i = end + 1
        elif char == "\\" and i + 1 < len(section):
            tokens.append((True, section[i + 1]))
            i += 2
        elif char == "[":  # colours and locale tags, e.g. [Red] or [$-409]
            end = section.find("]", i)
            tag = section[i + 1:end] if end > 0 else ""
            if tag.startswith("$") and "-" in tag:
                tokens.append((True, tag[1:tag.index("-")]))
            i = end + 1 if end > 0 else len(section)
        elif char == "_" and i + 1 < len(section):  # space the width of the next character
            tokens.append((True, " "))
            i += 2
        elif char == "*" and i + 1 < len(section):  # fill: nothing at a fixed width
            i += 2
        else:
            tokens.append((False, char))
            i += 1
    return tokens


def _is_date_format(tokens: list[tuple[bool, str]]) -> bool:
    code = "".join(text for literal, text in tokens if not literal).lower()
    return any(c in code for c in "ydhs") or ("m" in code and not any(c in code for c in "0#?"))


def _format_date(serial: float, tokens: list[tuple[bool, str]]) -> str:
    moment = EPOCH + dt.timedelta(days=serial)
    moment = (moment + dt.timedelta(microseconds=500_000)).replace(microsecond=0)  # seconds round, as Excel shows them
    pieces: list[tuple[bool, str]] = []  # (is_code, text)

    def split(run: str) -> None:
        position = 0
        for match in _DATE_CODES.finditer(run):
            if match.start() > position:
                pieces.append((False, run[position:match.start()]))
            pieces.append((True, match.group(0).lower()))
            position = match.end()
        if position < len(run):
            pieces.append((False, run[position:]))

    run = ""
    for literal, text in tokens:
        if literal:
            split(run)
            run = ""
            pieces.append((False, text))
        else:
            run += text
    split(run)
    codes = [text for is_code, text in pieces if is_code]
    twelve_hour = "am/pm" in codes or "a/p" in codes
    hour = (moment.hour % 12 or 12) if twelve_hour else moment.hour
    out: list[str] = []
    index = 0
    for is_code, text in pieces:
        if not is_code:
            out.append(text)
            continue
        previous = codes[index - 1] if index else ""
        following = codes[index + 1] if index + 1 < len(codes) else ""
        index += 1
        is_minute = text in ("m", "mm") and (previous in ("h", "hh") or following in ("s", "ss"))
        out.append(
            {
                "yyyy": f"{moment.year:04d}",
                "yy": f"{moment.year % 100:02d}",
                "mmmm": calendar.month_name[moment.month],
                "mmm": calendar.month_abbr[moment.month],
                "mm": f"{moment.minute:02d}" if is_minute else f"{moment.month:02d}",
                "m": f"{moment.minute}" if is_minute else f"{moment.month}",
                "dddd": calendar.day_name[moment.weekday()],
                "ddd": calendar.day_abbr[moment.weekday()],
                "dd": f"{moment.day:02d}",
                "d": f"{moment.day}",
                "hh": f"{hour:02d}",
                "h": f"{hour}",
                "ss": f"{moment.second:02d}",
                "s": f"{moment.second}",
                "am/pm": "AM" if moment.hour < 12 else "PM",
                "a/p": "A" if moment.hour < 12 else "P",
            }[text]
        )
    return "".join(out)


def _format_number(number: float, tokens: list[tuple[bool, str]], signed: bool) -> str:
    """A number in a format such as ``#,##0.00``, ``0%`` or ``"$"#,##0``."""
    code = "".join("\0" if literal else text for literal, text in tokens)
    literals = [text for literal, text in tokens if literal]
    placeholders = [i for i, ch in enumerate(code) if ch in "0#?"]
    sign = "-" if signed and number < 0 else ""

    def render(part: str, first_literal: int) -> str:
        pending = iter(literals[first_literal:])
        return "".join(next(pending) if ch == "\0" else ch for ch in part)

    if not placeholders:
        return sign + render(code, 0)
    start, end = placeholders[0], placeholders[-1] + 1
    while end < len(code) and code[end] in ",.":
        end += 1
    numeric = code[start:end]
    scale = 0
    while numeric.endswith(","):  # a trailing comma divides by 1000
        numeric, scale = numeric[:-1], scale + 1
    value = abs(number) * (100 ** code.count("%")) / (1000 ** scale)
    int_code, point, dec_code = numeric.replace("\0", "").partition(".")
    decimals = sum(1 for ch in dec_code if ch in "0#?")
    required = dec_code.count("0")
    rounded = _decimal_round(value, decimals, ROUND_HALF_UP)
    whole, _, fraction = format(Decimal(repr(rounded)), f".{decimals}f").partition(".")
    while len(fraction) > required and fraction.endswith("0"):
        fraction = fraction[:-1]
    whole = whole.lstrip("0").rjust(int_code.count("0"), "0")
    if "," in int_code and whole:
        whole = f"{int(whole):,}"
    digits = whole + point + fraction
    if rounded == 0:
        sign = ""
    prefix = render(code[:start], 0)
    suffix = render(code[end:], code[:end].count("\0"))
    return sign + prefix + digits + suffix


def _text_format(ev, context, value, fmt):
    value, fmt = ev._one(value), _text(ev._one(fmt))
    if _is_error(value):
        raise _Failure(value, value.reason)
    if isinstance(value, str):
        try:
            value = _number(value)
        except _Failure:
            return value
    number = _number(value)
    sections = _format_sections(fmt)
    section, signed = sections[0], True
    if number < 0 and len(sections) > 1:
        section, signed = sections[1], False
    elif number == 0 and len(sections) > 2:
        section = sections[2]
    if section.strip().lower() in ("general", ""):
        return _general(number)
    tokens = _format_tokens(section)
    if _is_date_format(tokens):
        return _format_date(number, tokens)
    return _format_number(number, tokens, signed)


NATIVE_FUNCTIONS: dict[str, tuple[int, int | None, Callable[..., Any]]] = {
    "SUM": (1, None, _sum),
    "SUMPRODUCT": (1, None, _sumproduct),
    "SUMIF": (2, 3, _sumif),
    "SUMIFS": (3, None, _sumifs),
    "COUNT": (1, None, _count),
    "COUNTA": (1, None, _counta),
    "COUNTBLANK": (1, 1, _countblank),
    "COUNTIF": (2, 2, _countif),
    "COUNTIFS": (2, None, _countifs),
    "AVERAGE": (1, None, _average),
    "AVERAGEIF": (2, 3, _averageif),
    "AVERAGEIFS": (3, None, _averageifs),
    "MIN": (1, None, _min),
    "MAX": (1, None, _max),
    "ISERROR": (1, 1, _per_value(_is_error)),
    "ISNA": (1, 1, _per_value(lambda v: _is_error(v) and v == "#N/A")),
    "ISNUMBER": (1, 1, _per_value(lambda v: _is_number(v) or _is_date(v))),
    "ISTEXT": (1, 1, _per_value(lambda v: isinstance(v, str) and not _is_error(v))),
    "ISBLANK": (1, 1, _per_value(lambda v: v is None)),
    "AND": (1, None, lambda ev, context, *args: _logical(ev, args, all, "AND")),
    "OR": (1, None, lambda ev, context, *args: _logical(ev, args, any, "OR")),
    "NOT": (1, 1, _per_value(lambda v: not _boolean(v))),
    "TRUE": (0, 0, lambda ev, context: True),
    "FALSE": (0, 0, lambda ev, context: False),
    "NA": (0, 0, lambda ev, context: _error("#N/A", "NA()")),
    "ROUND": (2, 2, _rounding(ROUND_HALF_UP)),
    "ROUNDUP": (2, 2, _rounding(ROUND_UP)),
    "ROUNDDOWN": (2, 2, _rounding(ROUND_DOWN)),
    "INT": (1, 1, _per_value(lambda v: float(math.floor(_number(v))))),
    "MOD": (2, 2, lambda ev, context, a, b: _elementwise(_mod, ev._values(a), ev._values(b))),
    "ABS": (1, 1, _per_value(lambda v: abs(_number(v)))),
    "SQRT": (1, 1, _per_value(_sqrt)),
    "EXP": (1, 1, _per_value(_exp)),
    "LN": (1, 1, _per_value(_ln)),
    "POWER": (2, 2, lambda ev, context, a, b: _elementwise(_BINARY["^"], ev._values(a), ev._values(b))),
    "INDEX": (2, 3, _index),
    "MATCH": (2, 3, _match),
    "CHOOSE": (2, None, _choose),
    "ROWS": (1, 1, _dimension(0)),
    "COLUMNS": (1, 1, _dimension(1)),
    "ROW": (0, 1, _position(0)),
    "COLUMN": (0, 1, _position(1)),
    "DATE": (3, 3, _date),
    "YEAR": (1, 1, _date_part("year")),
    "MONTH": (1, 1, _date_part("month")),
    "DAY": (1, 1, _date_part("day")),
    "EOMONTH": (2, 2, lambda ev, context, start, months: _elementwise(lambda s, m: _shift_months(s, m, True), ev._values(start), ev._values(months))),
    "EDATE": (2, 2, lambda ev, context, start, months: _elementwise(lambda s, m: _shift_months(s, m, False), ev._values(start), ev._values(months))),
    "TEXT": (2, 2, _text_format),
    "CONCATENATE": (1, None, _concatenate),
    "LEN": (1, 1, _per_value(lambda v: float(len(_text(v))))),
    "N": (1, 1, lambda ev, context, value: _n(ev._one(value))),
    "NPV": (2, None, _npv),
}
"""Native Excel functions the evaluator knows: name -> (least, most arguments, implementation)."""

# Every native Excel function the evaluator computes (eager and lazy ones).
SUPPORTED_NATIVE_FUNCTIONS = frozenset(NATIVE_FUNCTIONS) | frozenset(_LAZY)
