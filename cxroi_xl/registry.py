"""The one catalogue of Excel functions.

Each Excel function is declared once, as an :class:`ExcelFunction`, in a module
of :mod:`cxroi_xl.catalogue` (one module per engine domain). Everything else
is derived from these declarations:

* the xlwings module ``udfs/cxroi_udfs.py`` (``cxroi-xl udfs generate``; a
  test fails when the file and the registry disagree),
* the argument coercion and error handling of every cell call
  (:func:`cxroi_xl.excel.call`),
* ``cxroi-xl functions`` and the README's function reference,
* the headless evaluator used by ``cxroi-xl calc`` and the templates,
* the registry-wide tests that throw Excel-shaped junk at every function.

Adding a function is one declaration plus its engine code and tests.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

__all__ = ["Arg", "ExcelFunction", "REQUIRED", "functions", "get", "ArgKind", "ReturnShape", "WIZARD_LIMIT"]

# Excel's Insert Function dialog: MacroOptions takes a function description
# and each argument description of at most 255 characters (xlwings cuts
# longer ones mid-word), on one line.
WIZARD_LIMIT = 255


class _Required:
    def __repr__(self) -> str:  # shows in generated help and error messages
        return "REQUIRED"


REQUIRED: Any = _Required()

# How a cell argument is coerced before the engine sees it (cxroi_xl.excel):
#   number   one number (a single cell); blank -> default
#   integer  one whole number
#   text     one piece of text
#   numbers  a single row or column -> 1-D float array (blanks per `blanks`)
#   array    any block -> 2-D float array, shape kept (blanks per `blanks`)
#   dates    a single row or column of dates -> 1-D datetime64[D]
#   texts    a single row or column -> 1-D object array of str (blank -> None)
ArgKind = Literal["number", "integer", "text", "numbers", "array", "dates", "texts"]

# What the engine's result becomes in the sheet:
#   scalar   one value
#   table    a 2-D block with a header row, spilled
#   array    a 2-D block, spilled, same orientation as returned
#   column   a 1-D result spilled down a column
ReturnShape = Literal["scalar", "table", "array", "column"]


@dataclass(frozen=True)
class Arg:
    """One argument of an Excel function.

    ``blanks`` says what a blank cell inside a range means: ``"zero"`` (as
    Excel's SUM treats it), ``"skip"`` (dropped, as AVERAGE does) or
    ``"keep"`` (NaN for floats, ``None`` for text, so the engine can align
    rows across several ranges).
    """

    name: str
    kind: ArgKind
    help: str
    unit: str = ""
    default: Any = REQUIRED
    blanks: Literal["zero", "skip", "keep"] = "zero"

    @property
    def optional(self) -> bool:
        return self.default is not REQUIRED

    def describe(self) -> str:
        """One line for Excel's function wizard."""
        text = self.help
        if self.unit:
            text += f" [{self.unit}]"
        if self.optional:
            text += f" Optional, default {_show_default(self.default)}."
        return text


def _show_default(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


@dataclass(frozen=True)
class ExcelFunction:
    """Declaration of one Excel function.

    ``engine`` receives the coerced arguments positionally, in declaration
    order, and returns a number (``scalar``), a 2-D list or DataFrame with a
    header (``table``), a 2-D array (``array``) or a 1-D array (``column``).
    It raises the errors of :mod:`cxroi_xl.errors` for input it cannot answer.

    ``summary`` is the one line Excel's function wizard shows (at most
    :data:`WIZARD_LIMIT` characters); ``details`` the long explanation, in
    the README. ``call_in_wizard=False`` for functions whose cost grows with
    their data, so classic Excel does not rerun them on every keystroke in
    the Insert Function dialog.
    """

    name: str
    summary: str
    args: tuple[Arg, ...]
    returns: ReturnShape
    engine: Callable[..., Any]
    category: str
    example: str
    result: str = ""
    details: str = ""
    call_in_wizard: bool = True
    domain: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        problems = []
        if "\n" in self.summary or len(self.summary) > WIZARD_LIMIT:
            problems.append(f"summary must be one line of at most {WIZARD_LIMIT} characters")
        problems += [
            f"help of {arg.name} must be one line of at most {WIZARD_LIMIT} characters with its unit and default"
            for arg in self.args
            if "\n" in arg.describe() or len(arg.describe()) > WIZARD_LIMIT
        ]
        if problems:
            raise ValueError(f"{self.name}: " + "; ".join(problems))

    @property
    def min_args(self) -> int:
        return sum(1 for a in self.args if not a.optional)

    @property
    def max_args(self) -> int:
        return len(self.args)

    def signature(self) -> str:
        """``CXNPV(rate, cashflows, [dates])`` as users read it."""
        parts = [f"[{a.name}]" if a.optional else a.name for a in self.args]
        return f"{self.name}({', '.join(parts)})"

    def docstring(self) -> str:
        """The long help: summary, details, result and example (README, Python help)."""
        lines = [self.summary]
        if self.details:
            lines += ["", self.details]
        if self.result:
            lines += ["", f"Returns: {self.result}"]
        lines += ["", f"Example: {self.example}"]
        return "\n".join(lines)


_FUNCTIONS: dict[str, ExcelFunction] | None = None
# The order users meet the domains in (function list, README, wizard).
_DOMAIN_ORDER = ("finance", "survey", "impact", "value", "btyd", "attribution")


def _load() -> dict[str, ExcelFunction]:
    from . import catalogue

    found: dict[str, ExcelFunction] = {}
    def reading_order(info) -> tuple[int, str]:
        order = _DOMAIN_ORDER.index(info.name) if info.name in _DOMAIN_ORDER else len(_DOMAIN_ORDER)
        return order, info.name

    for info in sorted(pkgutil.iter_modules(catalogue.__path__), key=reading_order):
        module = importlib.import_module(f"{catalogue.__name__}.{info.name}")
        for fn in getattr(module, "FUNCTIONS", ()):
            if fn.name in found:
                raise RuntimeError(f"Excel function {fn.name} is declared twice")
            object.__setattr__(fn, "domain", info.name)
            found[fn.name] = fn
    return found


def functions() -> dict[str, ExcelFunction]:
    """Every declared Excel function by name, in catalogue order."""
    global _FUNCTIONS
    if _FUNCTIONS is None:
        _FUNCTIONS = _load()
    return _FUNCTIONS


def get(name: str) -> ExcelFunction:
    """The declaration of ``name`` (case-insensitive); ``KeyError`` if unknown."""
    return functions()[name.upper()]
