"""Cell values in, Excel values out.

The Excel layer's only jobs: turn what a spreadsheet sends into the numbers,
dates and texts an engine function expects (as the function's registry
declaration says), and turn the engine's answer, or its refusal, into what a
cell can show. No metric is computed here.

What arrives (from xlwings' dispatch, the headless evaluator or a Python
caller): a single cell as a scalar or ``[[value]]``, a row or column as a
list or list of lists, blanks as ``None``, dates as ``datetime`` (Windows
Excel) or serial numbers (Office.js), errors as strings such as ``"#N/A"``.

What leaves: a number, a 2-D list for spilled results, or an
:class:`ExcelError` such as ``#VALUE!`` whose ``reason`` says in one line what
was wrong (logged, and written to a cell note by ``cxroi-xl calc``).
"""
from __future__ import annotations

import datetime as dt
import functools
import logging
import numbers
import sys
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from . import registry
from ..errors import InvalidInputError, NotReachedError, OutOfDomainError, ZeroDenominatorError
from .declarations import Arg, ExcelFunction
from .error_values import EXCEL_ERRORS, ExcelError, is_error

__all__ = ["ExcelError", "call", "coerce", "check_arguments", "ArgumentError", "MissingArgumentError", "to_excel", "EXCEL_ERRORS", "is_error", "COM_ERROR_CODES", "com_errors", "xlwings_results"]

logger = logging.getLogger("cxroi_xl")


# Which error value a spreadsheet user expects for each engine refusal.
_ERROR_CODES: dict[type[BaseException], str] = {
    InvalidInputError: "#VALUE!",
    OutOfDomainError: "#NUM!",
    ZeroDenominatorError: "#DIV/0!",
    NotReachedError: "#N/A",
    ZeroDivisionError: "#DIV/0!",
    OverflowError: "#NUM!",
    FloatingPointError: "#NUM!",
    np.linalg.LinAlgError: "#NUM!",
}

# Per-period amount series (period 0 first), by argument name. In one call a
# single number given for one of them is an amount at period 0: it is padded
# with zeros to the length of the longest other such series, so
# CXROI(B2:B4, 250) means costs 250, 0, 0 (README, Conventions). Two series
# of different lengths above 1 are still refused.
PERIOD_AMOUNTS = frozenset({"benefits", "costs", "cashflows"})

EXCEL_EPOCH = np.datetime64("1899-12-30", "D")  # serial 1 = 1900-01-01 in Excel's 1900 system (after its leap-year bug)




class ArgumentError(InvalidInputError):
    """A call with the wrong arguments for its function: too many, or a
    required one left out. A cell shows #VALUE! with the reason;
    ``cxroi-xl eval`` treats it as a usage error."""


class MissingArgumentError(ArgumentError):
    """A required argument omitted, or given as one blank cell."""

    def __init__(self, argument: str):
        super().__init__(f"argument '{argument}' is missing")
        self.argument = argument


class _PropagatedError(Exception):
    """An argument held an Excel error value: answer with that error."""

    def __init__(self, error: ExcelError):
        super().__init__(error.reason)
        self.error = error




# --------------------------------------------------------------------------
# Arguments


def _grid(raw: Any) -> list[list[Any]]:
    """Any cell shape as a 2-D list: scalar -> [[x]], flat list -> one row."""
    if isinstance(raw, np.ndarray):
        raw = raw.tolist()
    if isinstance(raw, (list, tuple)):
        if not raw:
            return [[]]
        if all(isinstance(row, list) for row in raw):
            return raw  # already 2-D (what xlwings sends); not copied, the arguments are only read
        if all(isinstance(row, (list, tuple)) for row in raw):
            return [list(row) for row in raw]
        if any(isinstance(row, (list, tuple)) for row in raw):
            raise InvalidInputError("ragged range")
        return [list(raw)]
    return [[raw]]


def _is_blank_grid(grid: list[list[Any]]) -> bool:
    return all(cell is None or cell == "" for row in grid for cell in row)


def _is_omitted(grid: list[list[Any]]) -> bool:
    """Nothing given: an omitted argument, an empty range or one blank cell
    (Excel and xlwings send an omitted argument and a blank cell alike)."""
    return len(grid) == 1 and len(grid[0]) <= 1 and _is_blank_grid(grid)


def _vector(grid: list[list[Any]], arg: Arg) -> list[Any]:
    """A single row or column, flattened; a block is refused."""
    rows = len(grid)
    cols = max((len(r) for r in grid), default=0)
    if rows > 1 and cols > 1:
        raise InvalidInputError(f"{arg.name}: expected a single row or column, got a {rows}x{cols} block")
    return [cell for row in grid for cell in row]


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE/FALSE"
    if isinstance(value, (dt.date, dt.datetime)):
        return f"the date {value:%Y-%m-%d}"
    if isinstance(value, str):
        shown = value if len(value) <= 20 else value[:17] + "..."
        return f"the text '{shown}'"
    return f"a {type(value).__name__}"


def _is_number(value: Any) -> bool:
    return isinstance(value, (numbers.Real, np.number)) and not isinstance(value, (bool, np.bool_))


def _check_errors(cells: Iterable[Any], arg: Arg) -> None:
    for cell in cells:
        if isinstance(cell, str) and cell in EXCEL_ERRORS:
            why = getattr(cell, "reason", "")  # the evaluator's errors say where they came from; keep it
            raise _PropagatedError(ExcelError(cell, f"{arg.name} holds the error {cell}" + (f": {why}" if why else "")))


_NUMERIC_TYPES = (int, float, type(None), np.float64, np.int64)


def _floats(cells: list[Any], arg: Arg) -> np.ndarray:
    """Cells -> float array, blanks as NaN; refuses text, booleans, dates."""
    cells = [None if cell == "" else cell for cell in cells] if any(isinstance(c, str) for c in cells) else cells
    if not set(map(type, cells)) <= set(_NUMERIC_TYPES):
        _check_errors(cells, arg)
        for position, cell in enumerate(cells, start=1):
            if cell is not None and not _is_number(cell):
                where = f" (cell {position})" if len(cells) > 1 else ""
                raise InvalidInputError(f"{arg.name}: {_describe(cell)} where a number belongs{where}")
    values = np.array(cells, dtype=float)
    if np.isinf(values).any():
        raise InvalidInputError(f"{arg.name}: numbers must be finite")
    return values


def _apply_blanks(values: np.ndarray, arg: Arg) -> np.ndarray:
    blank = np.isnan(values)
    if not blank.any():
        return values
    if arg.blanks == "zero":
        return np.where(blank, 0.0, values)
    if arg.blanks == "skip":
        return values[~blank]
    return values


def _dates(cells: list[Any], arg: Arg) -> np.ndarray:
    _check_errors(cells, arg)
    out = np.empty(len(cells), dtype="datetime64[D]")
    for i, cell in enumerate(cells):
        if cell is None or cell == "":
            out[i] = np.datetime64("NaT")
        elif isinstance(cell, (dt.date, dt.datetime)):
            out[i] = np.datetime64(cell.date() if isinstance(cell, dt.datetime) else cell, "D")
        elif isinstance(cell, np.datetime64):
            out[i] = cell.astype("datetime64[D]")
        elif _is_number(cell):
            serial = float(cell)
            if not 0 < serial < 2958466:  # 9999-12-31, Excel's last date
                raise InvalidInputError(f"{arg.name}: {serial:g} is not a date")
            out[i] = EXCEL_EPOCH + np.timedelta64(int(np.floor(serial)), "D")
        elif isinstance(cell, str):
            try:
                out[i] = np.datetime64(dt.date.fromisoformat(cell.strip()[:10]), "D")
            except ValueError:
                raise InvalidInputError(f"{arg.name}: {_describe(cell)} is not a date (use a date cell or YYYY-MM-DD)") from None
        else:
            raise InvalidInputError(f"{arg.name}: {_describe(cell)} is not a date")
    if arg.blanks == "skip":
        out = out[~np.isnat(out)]
    elif arg.blanks == "zero" and np.isnat(out).any():
        raise InvalidInputError(f"{arg.name}: blank where a date belongs")
    return out


def _texts(cells: list[Any], arg: Arg) -> np.ndarray:
    _check_errors(cells, arg)
    out = np.empty(len(cells), dtype=object)
    for i, cell in enumerate(cells):
        if cell is None or cell == "":
            out[i] = None
        elif isinstance(cell, str):
            # "a " and "a" are the same customer or channel: spaces around
            # text never carry meaning in an id and are easy to type by mistake
            out[i] = cell.strip() or None
        elif _is_number(cell):
            number = float(cell)
            out[i] = str(int(number)) if number.is_integer() else repr(number)
        elif isinstance(cell, (dt.date, dt.datetime)):
            out[i] = cell.isoformat()
        else:
            raise InvalidInputError(f"{arg.name}: {_describe(cell)} where text belongs")
    if arg.blanks == "skip":
        out = out[np.array([v is not None for v in out], dtype=bool)] if len(out) else out
    return out


def _table(grid: list[list[Any]], arg: Arg) -> Any:
    """A block with a header row -> DataFrame; names must be text and unique."""
    import pandas as pd

    width = max(len(row) for row in grid)
    if any(len(row) != width for row in grid):
        raise InvalidInputError(f"{arg.name}: ragged range")
    _check_errors([cell for row in grid for cell in row], arg)
    header = grid[0]
    names = []
    for position, cell in enumerate(header, start=1):
        if not isinstance(cell, str) or not cell.strip():
            raise InvalidInputError(f"{arg.name}: the first row must name every column (column {position} holds {_describe(cell)})")
        names.append(cell.strip().lower())
    if len(set(names)) != len(names):
        raise InvalidInputError(f"{arg.name}: a column name appears twice in the first row")
    rows = [row for row in grid[1:] if not all(cell is None or cell == "" for cell in row)]
    return pd.DataFrame(rows, columns=names, dtype=object)


def coerce(arg: Arg, raw: Any) -> Any:
    """Convert one raw cell argument as its declaration says.

    Raises ``InvalidInputError`` for input of the wrong kind
    (:class:`MissingArgumentError` for a required argument omitted or
    blank), and returns the declared default for an omitted optional
    argument.
    """
    grid = _grid(raw)
    if _is_omitted(grid):
        if arg.optional:
            return arg.default
        raise MissingArgumentError(arg.name)
    kind = arg.kind
    if kind in ("number", "integer", "text"):
        cells = [cell for row in grid for cell in row]
        if len(cells) != 1:
            raise InvalidInputError(f"{arg.name}: expected a single cell, got {len(cells)} cells")
        cell = cells[0]
        _check_errors(cells, arg)
        if kind == "text":
            if not isinstance(cell, str):
                raise InvalidInputError(f"{arg.name}: expected text, got {_describe(cell)}")
            return cell.strip()
        if not _is_number(cell):
            raise InvalidInputError(f"{arg.name}: {_describe(cell)} where a number belongs")
        value = float(cell)
        if not np.isfinite(value):
            raise InvalidInputError(f"{arg.name}: numbers must be finite")
        if kind == "integer":
            if not value.is_integer():
                raise InvalidInputError(f"{arg.name}: expected a whole number, got {value:g}")
            return int(value)
        return value
    if kind == "array":
        width = max(len(row) for row in grid)
        if any(len(row) != width for row in grid):
            raise InvalidInputError(f"{arg.name}: ragged range")
        values = _floats([cell for row in grid for cell in row], arg).reshape(len(grid), width)
        if arg.blanks == "zero":
            values = np.nan_to_num(values, nan=0.0)
        return values
    if kind == "table":
        return _table(grid, arg)
    cells = _vector(grid, arg)
    if kind == "numbers":
        return _apply_blanks(_floats(cells, arg), arg)
    if kind == "dates":
        return _dates(cells, arg)
    if kind == "texts":
        return _texts(cells, arg)
    raise AssertionError(f"unknown argument kind {kind!r}")


def _period_zero(fn: ExcelFunction, args: list[Any]) -> list[Any]:
    """A single number among a call's per-period amounts is an amount at
    period 0, zero-padded to the longest of them (see :data:`PERIOD_AMOUNTS`)."""
    series = [i for i, spec in enumerate(fn.args) if spec.kind == "numbers" and spec.name in PERIOD_AMOUNTS and isinstance(args[i], np.ndarray)]
    if len(series) < 2:
        return args
    longest = max(args[i].size for i in series)
    for i in series:
        if args[i].size == 1 and longest > 1:
            args[i] = np.concatenate([args[i], np.zeros(longest - 1)])
    return args


# --------------------------------------------------------------------------
# Results


def _cell(value: Any) -> Any:
    """One result value as a cell value; NaN and infinities become #NUM!."""
    if value is None or isinstance(value, ExcelError):
        return "" if value is None else value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (numbers.Integral, np.integer)):
        return int(value)
    if isinstance(value, (numbers.Real, np.floating)):
        value = float(value)
        return value if np.isfinite(value) else ExcelError("#NUM!", "the result is not a finite number")
    if isinstance(value, np.datetime64):
        return value.astype("datetime64[us]").astype(dt.datetime)
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    return value if isinstance(value, (str, dt.date)) else str(value)


def to_excel(result: Any, shape: str) -> Any:
    """The engine's answer in the form xlwings writes to cells."""
    if shape == "scalar":
        value = _cell(result)
        if value == "":
            return ExcelError("#N/A", "no result")
        return value
    if hasattr(result, "columns") and hasattr(result, "itertuples"):  # a DataFrame
        rows = [list(map(str, result.columns))] + [list(r) for r in result.itertuples(index=False, name=None)]
    elif shape == "column":
        rows = [[v] for v in np.asarray(result, dtype=object).ravel().tolist()]
    else:
        rows = np.asarray(result, dtype=object).tolist() if isinstance(result, np.ndarray) else [list(r) for r in result]
    return [[_cell(v) for v in row] for row in rows]


# Excel's error values as COM carries them (CVErr: 0x800A0000 + xlErr code),
# e.g. xlErrNA 2042 -> -2146826246.
COM_ERROR_CODES: dict[str, int] = {
    "#NULL!": -2146826288,
    "#DIV/0!": -2146826281,
    "#VALUE!": -2146826273,
    "#REF!": -2146826265,
    "#NAME?": -2146826259,
    "#NUM!": -2146826252,
    "#N/A": -2146826246,
}


def com_errors(result: Any, variant: Callable[[int], Any]) -> Any:
    """``result`` with each error value replaced by ``variant(code)``.

    Classic xlwings on Windows hands a returned ``"#N/A"`` to Excel as text
    (``ISNA`` is FALSE, ``IFERROR`` never fires); a COM error variant is a
    real error value. Scalars and spilled 2-D lists alike; other values pass
    unchanged.

    >>> com_errors([["NPV", ExcelError("#NUM!")], ["ROI", 0.25]], lambda code: ("err", code))
    [['NPV', ('err', -2146826252)], ['ROI', 0.25]]
    """

    def one(value: Any) -> Any:
        if isinstance(value, str) and value in COM_ERROR_CODES:
            return variant(COM_ERROR_CODES[value])
        return value

    if isinstance(result, list):
        return [[one(v) for v in row] if isinstance(row, list) else one(row) for row in result]
    return one(result)


def _unchanged(result: Any) -> Any:
    return result


def xlwings_results() -> Callable[[Any], Any]:
    """How results leave for the xlwings integration running the UDF module.

    Classic xlwings on Windows (its COM server, ``xlwings.udfs``) needs COM
    error variants (pywin32's ``VARIANT(VT_ERROR, code)``); xlwings Lite,
    Server and Office.js turn the ``"#N/A"`` strings into real errors
    themselves, so there results pass unchanged. The generated UDF module
    asks once, at import.
    """
    xw = sys.modules.get("xlwings")
    classic = sys.modules.get("xlwings.udfs")
    if xw is None or classic is None or getattr(xw, "func", None) is not getattr(classic, "xlfunc", None):
        return _unchanged
    import pythoncom  # pywin32: present wherever classic xlwings runs
    from win32com.client import VARIANT

    return functools.partial(com_errors, variant=lambda code: VARIANT(pythoncom.VT_ERROR, code))


def error_for(exc: BaseException) -> ExcelError:
    """The Excel error value for an exception raised by an engine function."""
    for kind in type(exc).__mro__:
        if kind in _ERROR_CODES:
            return ExcelError(_ERROR_CODES[kind], str(exc).splitlines()[0] if str(exc) else kind.__name__)
    return ExcelError("#VALUE!", f"unexpected error: {type(exc).__name__}: {exc}".splitlines()[0])


def check_arguments(fn: ExcelFunction, raw_args: Sequence[Any]) -> None:
    """Refuse a call that gives ``fn`` too many arguments or leaves out a
    required one (omitted, or one blank cell), before any is converted.

    Raises :class:`ArgumentError` (:class:`MissingArgumentError` naming the
    first argument missing).

    >>> check_arguments(registry.get("CXROI"), [[[1000], [1200]]])
    Traceback (most recent call last):
    ...
    cxroi_xl.excel.dispatch.MissingArgumentError: argument 'costs' is missing
    """
    if len(raw_args) > fn.max_args:
        raise ArgumentError(f"at most {fn.max_args} argument{'' if fn.max_args == 1 else 's'}, got {len(raw_args)}")
    for position, spec in enumerate(fn.args):
        if spec.optional:
            continue
        raw = raw_args[position] if position < len(raw_args) else None
        try:
            omitted = _is_omitted(_grid(raw))
        except InvalidInputError:  # a ragged range is given, if badly: coerce says what is wrong
            omitted = False
        if omitted:
            raise MissingArgumentError(spec.name)


def call(name: str, *raw_args: Any) -> Any:
    """Evaluate Excel function ``name`` on raw cell arguments.

    Never raises: bad input gives an :class:`ExcelError` with a reason.

    >>> call("CXPAYBACK", [[-100], [30], [40], [50]])
    2.6
    >>> error = call("CXNPV", "ten", [1, 2])
    >>> error, error.reason
    ('#VALUE!', "rate: the text 'ten' where a number belongs")
    >>> error = call("CXROI", [[1000], [1200]], None)
    >>> error, error.reason
    ('#VALUE!', "argument 'costs' is missing")
    """
    try:
        fn: ExcelFunction = registry.get(name)
    except KeyError:
        return ExcelError("#NAME?", f"unknown function {name}")
    try:
        check_arguments(fn, raw_args)
        padded = list(raw_args) + [None] * (fn.max_args - len(raw_args))
        args = _period_zero(fn, [coerce(spec, raw) for spec, raw in zip(fn.args, padded)])
        with np.errstate(all="ignore"):
            result = fn.engine(*args)
        return to_excel(result, fn.returns)
    except _PropagatedError as exc:
        return exc.error
    except Exception as exc:  # a cell must show an error value, never a traceback
        error = error_for(exc)
        if error.reason.startswith("unexpected error"):
            # the reason is in the cell; the traceback only for whoever turns on debug logging
            logger.info("%s failed: %s", fn.name, error.reason)
            logger.debug("%s failed", fn.name, exc_info=True)
        else:
            logger.info("%s returned %s: %s", fn.name, error, error.reason)
        return error
