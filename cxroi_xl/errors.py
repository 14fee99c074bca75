"""Errors the engine raises for input it cannot answer.

Every error is a ``ValueError`` so that Python callers can catch one type. The
subclasses say *why* the input has no answer; the Excel layer maps each to the
error value a spreadsheet user expects (see :mod:`cxroi_xl.excel.dispatch`), the engine
itself knows nothing of Excel.
"""
from __future__ import annotations


class CXError(ValueError):
    """Base class of every input error raised by the cxroi-xl engine."""


class InvalidInputError(CXError):
    """Wrong type, shape or content: text where a number belongs, ranges of
    different lengths, a value outside its scale, an unknown option."""


class OutOfDomainError(CXError):
    """The input is well formed but has no finite answer: a rate at or below
    -100%, an IRR without a sign change, an optimiser that did not converge."""


class ZeroDenominatorError(CXError):
    """The answer divides by zero: no survey answers, zero cost to compare
    with, an infinite lifetime value."""


class NotReachedError(CXError):
    """The quantity asked for does not occur in the data, e.g. a payback that
    the cash flows never reach."""
