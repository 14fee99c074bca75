"""The limits of the headless calculation: Excel's own (text, formula
length, nesting) and the budget a workbook from anyone is evaluated in
(time, cells read, array sizes)."""
from __future__ import annotations

from dataclasses import dataclass

from ..excel.error_values import ExcelError


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

class _TooDeep(Exception):
    """Formula cells nest too deeply (a long running total): evaluate ``key``
    first, from a shallow stack, then start again."""

    def __init__(self, key: tuple[str, int, int]):
        super().__init__(key)
        self.key = key

class _LimitReached(Exception):
    """A resource cap of the :class:`Budget`. Not a :class:`_Failure`, so
    IFERROR cannot turn it into a number: the formula evaluating when it was
    hit shows the error. ``workbook`` caps (time, total cells) also stop
    every formula that was waiting on that one."""

    def __init__(self, code: str, reason: str, workbook: bool = False):
        super().__init__(reason)
        self.error = ExcelError(code, reason)
        self.workbook = workbook

class _Spend:
    """What one formula has used so far."""

    __slots__ = ("cells", "chars")

    def __init__(self) -> None:
        self.cells = 0
        self.chars = 0
