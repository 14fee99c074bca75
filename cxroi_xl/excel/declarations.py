"""How one Excel function is declared: :class:`ExcelFunction` and its
:class:`Arg` s. The catalogue's modules declare with these; the registry
(:mod:`cxroi_xl.excel.registry`) collects the declarations.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal

__all__ = ["Arg", "ExcelFunction", "REQUIRED", "ArgKind", "ReturnShape", "WIZARD_LIMIT"]

# Excel's Insert Function dialog: MacroOptions takes a function description
# and each argument description of at most 255 characters (xlwings cuts
# longer ones mid-word), on one line.
WIZARD_LIMIT = 255


class _Required:
    def __repr__(self) -> str:  # shows in generated help and error messages
        return "REQUIRED"


REQUIRED: Any = _Required()

# How a cell argument is coerced before the engine sees it (cxroi_xl.excel.dispatch):
#   number   one number (a single cell); blank -> default
#   integer  one whole number
#   text     one piece of text
#   numbers  a single row or column -> 1-D float array (blanks per `blanks`)
#   array    any block -> 2-D float array, shape kept (blanks per `blanks`)
#   dates    a single row or column of dates -> 1-D datetime64[D]
#   texts    a single row or column -> 1-D object array of str (blank -> None)
#   table    a block whose first row names its columns -> pandas DataFrame of
#            the cells as they arrive (names stripped and lower-cased; rows
#            entirely blank dropped); the engine's adapter converts columns
ArgKind = Literal["number", "integer", "text", "numbers", "array", "dates", "texts", "table"]

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

    @property
    def shown_default(self) -> str | None:
        """The default as a user would type it in a cell (``0``, ``0.1``,
        ``"M"``); None for a required argument and for a default of None,
        whose meaning (what omitting it does) the help text itself says."""
        if not self.optional or self.default is None:
            return None
        value = self.default
        if isinstance(value, str):
            return f'"{value}"'
        if isinstance(value, float) and value.is_integer():
            return str(int(value))  # 0.0 -> 0: what a spreadsheet shows
        return repr(value)

    def describe(self) -> str:
        """One line for Excel's function wizard and ``cxroi-xl functions``:
        help, unit and, for an optional argument, its default."""
        text = self.help
        if self.unit:
            text += f" [{self.unit}]"
        if self.optional:
            shown = self.shown_default
            text += f" Optional, default {shown}." if shown is not None else " Optional."
        return text


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

    def full_help(self) -> str:
        """Everything about the function in plain text (``cxroi-xl functions
        NAME``): signature, summary, details, each argument with its type,
        unit, default and help, what it returns, the example."""
        lines = [self.signature(), "", self.summary]
        if self.details:
            lines += ["", self.details]
        lines += ["", "Arguments:"]
        for arg in self.args:
            facts = [arg.kind] + ([arg.unit] if arg.unit and arg.unit != arg.kind else [])
            if not arg.optional:
                facts.append("required")
            elif arg.shown_default is not None:
                facts.append(f"optional, default {arg.shown_default}")
            else:
                facts.append("optional")
            lines.append(f"  {arg.name} ({', '.join(facts)})")
            lines.append(f"      {arg.help}")
        shape = {"scalar": "one value", "table": "a table with a header row, spilled", "array": "a block, spilled", "column": "a column, spilled"}[self.returns]
        lines += ["", f"Returns ({shape}): {self.result}" if self.result else f"Returns {shape}."]
        if self.example:
            lines += ["", f"Example: {self.example}"]
        return "\n".join(lines)

    def docstring(self) -> str:
        """The long help: summary, details, result and example (README, Python help)."""
        lines = [self.summary]
        if self.details:
            lines += ["", self.details]
        if self.result:
            lines += ["", f"Returns: {self.result}"]
        lines += ["", f"Example: {self.example}"]
        return "\n".join(lines)
