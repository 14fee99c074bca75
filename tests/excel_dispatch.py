"""Drive the UDF module through xlwings' own server-side dispatcher.

``xlwings.server.custom_functions_call`` is the code path that receives an
Excel (Office.js) custom-function call: it looks the function up in the
module, applies the ``@xw.arg`` converters and optional-argument rules, calls
it and converts the result back into the JSON Excel receives. The helpers
here build the payload Excel would send and decode the answer.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import importlib
from typing import Any

import xlwings as xw
import xlwings.server

EXCEL_EPOCH = dt.datetime(1899, 12, 30)

_ERROR_TYPES = {
    "Div0": "#DIV/0!",
    "NotAvailable": "#N/A",
    "Name": "#NAME?",
    "Null": "#NULL!",
    "Num": "#NUM!",
    "Ref": "#REF!",
    "Value": "#VALUE!",
}


def excel_error(code: str) -> dict:
    """An error cell as Office.js sends it in an argument."""
    name = {v: k for k, v in _ERROR_TYPES.items()}[code]
    return {"type": "Error", "basicValue": code, "errorType": name}


def cell(value: Any) -> Any:
    """A Python value as Office.js sends a cell: blanks "", dates as serials."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return (value - EXCEL_EPOCH).total_seconds() / 86400.0
    if isinstance(value, dt.date):
        return float((value - EXCEL_EPOCH.date()).days)
    return value


def as_range(value: Any) -> Any:
    """Excel sends every argument as a 2-D matrix: scalars as [[x]],
    columns as [[a], [b]], rows as [[a, b]]. Lists of scalars are columns."""
    if isinstance(value, list):
        if value and isinstance(value[0], list):
            return [[cell(v) for v in row] for row in value]
        return [[cell(v)] for v in value]
    return [[cell(value)]]


def decode(value: Any) -> Any:
    """Excel's side of the answer: error objects back to "#VALUE!" strings."""
    if isinstance(value, dict) and value.get("type") == "Error":
        return _ERROR_TYPES[value["errorType"]]
    if isinstance(value, dict) and value.get("type") == "FormattedNumber":
        return value["basicValue"]
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


class ExcelDispatcher:
    def __init__(self) -> None:
        self.module = importlib.import_module("cxroi_udfs")

    def payload(self, name: str, args: list[Any]) -> dict:
        return {
            "func_name": name,
            "args": args,
            "caller_address": "Sheet1!A1",
            "formula_name": name,
            "version": xw.__version__,
            "client": "Office.js",
            "runtime": "1.4",
            "culture_info_name": "en-US",
            "date_format": "yyyy-mm-dd",
        }

    def raw(self, name: str, *args: Any) -> Any:
        """Call with args already shaped as Excel sends them (2-D lists, or
        None for an omitted optional argument)."""
        result = asyncio.run(xlwings.server.custom_functions_call(self.payload(name, list(args)), self.module))
        return decode(result)

    def __call__(self, name: str, *args: Any) -> Any:
        """Call with Python values: scalars, lists (columns) or 2-D lists.
        Returns a scalar for a 1x1 answer, else the 2-D list."""
        shaped = [None if a is None else as_range(a) for a in args]
        result = self.raw(name, *shaped)
        if isinstance(result, list) and len(result) == 1 and len(result[0]) == 1:
            return result[0][0]
        return result
