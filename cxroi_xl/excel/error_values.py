"""Excel's error values as Python sees them: the codes, and
:class:`ExcelError`, a code that remembers why it was returned. The bottom
of the Excel layer: the catalogue, the dispatcher and the workbooks use it.
"""
from __future__ import annotations

from typing import Any

__all__ = ["EXCEL_ERRORS", "ExcelError", "is_error"]

EXCEL_ERRORS = frozenset(
    {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA", "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#BUSY!", "#CONNECT!", "#UNKNOWN!"}
)


class ExcelError(str):
    """An Excel error value (``"#VALUE!"``) that remembers why it was returned.

    It is a ``str``, so xlwings writes it as the error value itself.
    """

    reason: str

    def __new__(cls, code: str, reason: str = "") -> "ExcelError":
        self = super().__new__(cls, code)
        self.reason = reason
        return self


def is_error(value: Any) -> bool:
    """True for Excel error values as they arrive or leave (``"#N/A"``...)."""
    return isinstance(value, str) and value in EXCEL_ERRORS
