"""Cached formula results: each formula cell's value, saved beside its formula.

A spreadsheet file stores, for every formula cell, the value it last showed
(``<c><f>formula</f><v>value</v></c>``, with ``t="str"``, ``t="b"`` or
``t="e"`` for text, booleans and errors). Readers that do not recalculate
(pandas, ``openpyxl`` with ``data_only=True``, file previews, importers) show
only that value. openpyxl writes formulas with an empty ``<v>``, so the
builders register each formula's value here as they write it, computed by
the engine from the frames they already hold, and
:func:`~cxroi_xl.workbooks.common.workbook_bytes` fills the ``<v>`` of every
formula cell in the sheet XML when it saves. A formula left without a value
fails the save (:class:`MissingValueError`), so no build can forget one.

Spilled add-in results of live workbooks are saved as Excel 365 dynamic
arrays: the anchor cell carries ``cm="1"`` (cell metadata pointing at the
dynamic-array property ``XLDAPR`` of ``xl/metadata.xml``), exactly as Excel
and XlsxWriter write them; the other cells of the range hold plain values.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any, Iterable, Sequence
from xml.sax.saxutils import escape

import numpy as np
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.utils import column_index_from_string
from openpyxl.utils.datetime import to_excel

from ..excel.dispatch import ExcelError

__all__ = ["Explained", "FormulaValues", "MissingValueError", "xml_value", "METADATA_XML", "METADATA_CONTENT_TYPE", "METADATA_REL_TYPE"]

# The dynamic-array metadata part, as Excel (and XlsxWriter) write it.
METADATA_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<metadata xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:xda="http://schemas.microsoft.com/office/spreadsheetml/2017/dynamicarray">'
    '<metadataTypes count="1"><metadataType name="XLDAPR" minSupportedVersion="120000" copy="1" pasteAll="1" '
    'pasteValues="1" merge="1" splitFirst="1" rowColShift="1" clearFormats="1" clearComments="1" assign="1" '
    'coerce="1" cellMeta="1"/></metadataTypes>'
    '<futureMetadata name="XLDAPR" count="1"><bk><extLst><ext uri="{bdbb8cdc-fa1e-496e-a857-3c3f30c029c3}">'
    '<xda:dynamicArrayProperties fDynamic="1" fCollapsed="0"/></ext></extLst></bk></futureMetadata>'
    '<cellMetadata count="1"><bk><rc t="1" v="0"/></bk></cellMetadata></metadata>'
)
METADATA_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheetMetadata+xml"
METADATA_REL_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sheetMetadata"

_SHOWN_AS = "#N/A"  # errors a file cannot store (#SPILL!, #CALC!) are saved as #N/A, as Excel 2019 shows them

# A formula cell as openpyxl writes it: attributes, formula element, empty value.
_FORMULA_CELL = re.compile(r'<c r="([A-Z]+)(\d+)"([^>]*)>(<f[^>]*>[^<]*</f>|<f[^>]*/>)(?:<v\s*/>|<v>\s*</v>)?</c>')
_TYPE_ATTR = re.compile(r' t="[a-zA-Z]+"')


class Explained(str):
    """A text result with the engine's reason for it ("not reached": the
    cumulative net never reaches zero), shown in the values form's note."""

    def __new__(cls, text: str, reason: str) -> "Explained":
        made = super().__new__(cls, text)
        made.reason = reason
        return made


class MissingValueError(RuntimeError):
    """A formula cell was saved without a cached value."""


def xml_value(value: Any) -> tuple[str, str]:
    """``(t attribute, <v> text)`` of a cached value, as Excel stores it.

    >>> xml_value(2.5), xml_value("a<b"), xml_value(True), xml_value(ExcelError("#N/A", "never"))
    (('', '2.5'), (' t="str"', 'a&lt;b'), (' t="b"', '1'), (' t="e"', '#N/A'))
    """
    kind = type(value)
    if kind is float:  # the common cases first: this runs for every formula cell
        if value.is_integer() and abs(value) < 1e15:
            return "", str(int(value))
        return ("", repr(value)) if math.isfinite(value) else (' t="e"', "#NUM!")
    if kind is int:
        return "", str(value)
    if kind is str:
        return ' t="str"', escape(value) if value else ""
    if isinstance(value, ExcelError):
        return ' t="e"', str(value) if value in ERROR_CODES else _SHOWN_AS
    if isinstance(value, (bool, np.bool_)):
        return ' t="b"', "1" if value else "0"
    if value is None:  # a formula pointing at a blank cell shows 0
        return "", "0"
    if isinstance(value, str):
        return ' t="str"', escape(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return "", repr(float(to_excel(value)))
    number = float(value)
    if not math.isfinite(number):
        return ' t="e"', "#NUM!"
    if isinstance(value, (int, np.integer)) or number.is_integer() and abs(number) < 1e15:
        return "", str(int(number))
    return "", repr(number)


class FormulaValues:
    """The values of the formula cells of one workbook build, by sheet title
    and (row, column); and the anchors of its dynamic arrays."""

    def __init__(self) -> None:
        self.cells: dict[str, dict[tuple[int, int], Any]] = {}
        # calculated columns kept whole: sheet -> column -> (first row, values)
        self.columns: dict[str, dict[int, tuple[int, list]]] = {}
        self.dynamic: dict[str, dict[tuple[int, int], str]] = {}
        # cells holding client data the engine supplies rather than a
        # formula (the ROI sheet's extra wins): a reused sheet frame takes
        # them from here (frames.py)
        self.inputs: dict[str, dict[tuple[int, int], Any]] = {}

    def set(self, sheet: str, coordinate: str, value: Any) -> None:
        """One cell's value (``coordinate`` like ``"B5"``)."""
        match = re.fullmatch(r"([A-Z]+)(\d+)", coordinate)
        self.cells.setdefault(sheet, {})[(int(match.group(2)), column_index_from_string(match.group(1)))] = value

    def set_at(self, sheet: str, row: int, col: int, value: Any) -> None:
        self.cells.setdefault(sheet, {})[(row, col)] = value

    def set_column(self, sheet: str, first_row: int, col: int, values: Iterable[Any]) -> None:
        """A calculated column: one value per row from ``first_row`` down."""
        self.columns.setdefault(sheet, {})[col] = (first_row, list(values))

    def column(self, sheet: str, col: int) -> tuple[int, list] | None:
        return self.columns.get(sheet, {}).get(col)

    def set_block(self, sheet: str, top: int, left: int, block: Sequence[Sequence[Any]]) -> None:
        cells = self.cells.setdefault(sheet, {})
        for i, row in enumerate(block):
            for j, value in enumerate(row):
                cells[(top + i, left + j)] = value

    def set_input(self, sheet: str, row: int, col: int, value: Any) -> None:
        """A plain cell written from the client's data, not a formula."""
        self.inputs.setdefault(sheet, {})[(row, col)] = value

    def mark_dynamic(self, sheet: str, top: int, left: int, ref: str) -> None:
        """The formula at (top, left) is a dynamic array spilling over ``ref``."""
        self.dynamic.setdefault(sheet, {})[(top, left)] = ref

    def copy(self) -> "FormulaValues":
        """A copy with its own tables (the values themselves are shared:
        none is changed in place)."""
        made = FormulaValues()
        for name in ("cells", "columns", "dynamic", "inputs"):
            setattr(made, name, {sheet: dict(table) for sheet, table in getattr(self, name).items()})
        return made

    _NONE = object()

    def _lookup(self, sheet: str, row: int, col: int) -> Any:
        value = self.cells.get(sheet, {}).get((row, col), self._NONE)
        if value is self._NONE:
            found = self.columns.get(sheet, {}).get(col)
            if found is not None and 0 <= row - found[0] < len(found[1]):
                return found[1][row - found[0]]
        return value

    def get(self, sheet: str, row: int, col: int, default: Any = None) -> Any:
        value = self._lookup(sheet, row, col)
        return default if value is self._NONE else value

    def has(self, sheet: str, row: int, col: int) -> bool:
        return self._lookup(sheet, row, col) is not self._NONE

    @property
    def has_dynamic_arrays(self) -> bool:
        return any(self.dynamic.values())

    def fill_sheet_xml(self, text: str, sheet: str, strict: bool = True) -> str:
        """``text`` (a worksheet's XML) with every formula cell's value filled in."""
        dynamic = self.dynamic.get(sheet, {})
        missing: list[str] = []

        def fill(match: re.Match) -> str:
            letters, row, attrs, formula = match.group(1), int(match.group(2)), match.group(3), match.group(4)
            key = (row, column_index_from_string(letters))
            value = self._lookup(sheet, *key)
            if value is self._NONE:
                missing.append(f"{letters}{row}")
                return match.group(0)
            return formula_cell_xml(f"{letters}{row}", attrs, formula, value, key in dynamic)

        text = _FORMULA_CELL.sub(fill, text)
        if missing and strict:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            raise MissingValueError(f"sheet '{sheet}': no cached value for the formula in {shown}")
        return text


def formula_cell_xml(coordinate: str, attrs: str, formula_xml: str, value: Any, dynamic: bool = False) -> str:
    """A formula cell with its cached value: ``attrs`` as openpyxl wrote them
    (a type attribute among them is replaced by the value's)."""
    kind, shown = xml_value(value)
    attrs = _TYPE_ATTR.sub("", attrs) + kind + (' cm="1"' if dynamic else "")
    return f'<c r="{coordinate}"{attrs}>{formula_xml}<v>{shown}</v></c>'


def formula_column_xml(letter: str, first_row: int, style: str, formula_xml: str, values: Sequence[Any]) -> list[str]:
    """The cells of a calculated column, formula and cached value each."""
    return [f'<c r="{letter}{first_row + i}"{style}{kind}>{formula_xml}<v>{shown}</v></c>' for i, (kind, shown) in enumerate(map(xml_value, values))]
