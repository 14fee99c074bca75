"""The Excel layer: the one registry of Excel functions and its catalogue,
argument conversion and error values (:func:`call`), the generated xlwings
module, the function reference, xlwings Lite and the classic Windows add-in.

It converts and reports errors; it computes no metric. May import
:mod:`cxroi_xl.engine` and :mod:`cxroi_xl.errors`.

``from cxroi_xl.excel import call`` is what a Lite ``main.py`` pasted into a
workbook uses; it stays importable from here.
"""
from .dispatch import ExcelError, call

__all__ = ["ExcelError", "call"]
