"""The values formulas compute with (references, arrays, blanks, errors,
date serials), their coercions as Excel does them, and the operators."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from openpyxl.utils.cell import get_column_letter

from ..excel.error_values import ExcelError
from .limits import MAX_ARRAY_CELLS, MAX_TEXT_CHARS, _LimitReached


MAX_ROW, MAX_COL = 1_048_576, 16_384


EPOCH = dt.datetime(1899, 12, 30)  # serial 0; Excel and LibreOffice agree from 1900-03-01

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

class _Failure(Exception):
    """Raised inside a function to answer with an Excel error."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.error = ExcelError(code, reason)

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
    arrays = False
    for a in args:
        if isinstance(a, list):
            arrays = True
            if len(a) != 1 or len(a[0]) != 1:
                break
    else:
        if not arrays:
            return function(*args)
        # single cells (a table row's [#This Row] reads one): what the loop below gives, without it
        return Array([[_safely(function, *[a[0][0] if isinstance(a, list) else a for a in args])]])
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


def _grid_shape(grid: list[list[Any]]) -> tuple[int, int]:
    return len(grid), (len(grid[0]) if grid else 0)


# --------------------------------------------------------------------------
# The evaluator


def _joined(*parts: str) -> str:
    if sum(map(len, parts)) > MAX_TEXT_CHARS:
        raise _Failure("#VALUE!", f"the text would be longer than {MAX_TEXT_CHARS:,} characters (Excel's limit)")
    return "".join(parts)
