"""The attribution workbook's cached values, computed by the engine.

Every formula :mod:`~cxroi_xl.workbooks.attribution_template` writes has its
value here, from the journeys frame the builder holds: each model's table
through :func:`cxroi_xl.excel.call` (the very code the add-in runs, with the
cell values the sheet passes it), the summary's look-ups and totals and the
Journeys sheet's totals as the same arithmetic on those results. The
headless interpreter is not involved; the tests check every cell against it
and against LibreOffice.
"""
from __future__ import annotations

import math
from typing import Any

import pandas as pd
from openpyxl.utils import get_column_letter

from ..attribution import MODELS
from ..excel import ExcelError, call
from .cache import FormulaValues
from .formula import _wildcard

__all__ = ["fill_attribution_values"]

NOT_AVAILABLE = "n/a"  # what the sheet's IFERROR shows


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _sum(values) -> float:
    """SUM: numbers only (text, blanks and booleans in a range are skipped)."""
    return math.fsum(float(v) for v in values if _number(v))


def _iferror(value: Any) -> Any:
    return NOT_AVAILABLE if isinstance(value, ExcelError) else value


def _model_block(result: Any, rows: int, cols: int) -> list[list[Any]]:
    """IFERROR(CXATTRIBUTION(...), "n/a") over its array formula's block."""
    if not isinstance(result, list):
        return [[_iferror(result)] * cols for _ in range(rows)]
    return [[_iferror(result[i][j]) if i < len(result) and j < len(result[i]) else ExcelError("#N/A", "outside the result") for j in range(cols)] for i in range(rows)]


def _match_exact(wanted: Any, names: list[Any]) -> int | None:
    """MATCH(wanted, names, 0), 1-based; None where MATCH answers #N/A."""
    if isinstance(wanted, ExcelError):
        return None
    if isinstance(wanted, str):
        test = _wildcard(wanted)
        found = (i for i, v in enumerate(names, 1) if isinstance(v, str) and test(v))
    else:
        wanted = 0.0 if wanted is None else wanted
        found = (i for i, v in enumerate(names, 1) if _number(v) and not isinstance(wanted, bool) and float(v) == float(wanted))
    return next(found, None)


def fill_attribution_values(values: FormulaValues, journeys: pd.DataFrame, args: tuple, layout: dict[str, Any]) -> None:
    """Register the value of every formula of the attribution workbook.

    ``args`` are the cell values each model's ``CXATTRIBUTION`` receives
    (paths, conversions, values, nulls as columns; the half-life), ``layout``
    where the builder put things: ``sheet``, ``journeys_sheet``,
    ``totals_row`` and ``totals_col`` of the Journeys totals, ``top`` (the
    summary's header row), ``blocks_top`` (the models' tables' first row),
    ``block_width`` and ``shapes`` (model -> rows, columns of its table).
    """
    paths, conversions, money, nulls, half_life = args
    sheet, shapes, width = layout["sheet"], layout["shapes"], layout["block_width"]
    top, blocks_top = layout["top"], layout["blocks_top"]

    # Journeys totals: Journeys, Converted, Conversion rate, Conversion value, Value per conversion
    converted = _sum(v for (v,) in conversions)
    everyone = converted + _sum(v for (v,) in nulls)
    worth = _sum(v for (v,) in money)
    row, col = layout["totals_row"], layout["totals_col"]
    for k, value in enumerate((everyone, converted, converted / everyone if everyone else NOT_AVAILABLE, worth, worth / converted if converted else NOT_AVAILABLE)):
        values.set_at(layout["journeys_sheet"], row + k, col, value)

    blocks = {}
    for k, model in enumerate(MODELS):
        rows, cols = shapes[model]
        blocks[model] = _model_block(call("CXATTRIBUTION", paths, conversions, model, money, nulls, half_life), rows, cols)
        values.set_block(sheet, blocks_top, 2 + k * width, blocks[model])

    # The summary: channel names from the first model's table, each model's
    # credit found by name (INDEX/MATCH), a total per model.
    first = blocks[MODELS[0]]
    channels = shapes[MODELS[0]][0] - 1
    columns: list[list[Any]] = [[] for _ in MODELS]
    for i in range(channels):
        r = top + 1 + i
        name = first[1 + i][0]
        name = 0 if name is None else name  # a formula pointing at a blank shows 0
        values.set_at(sheet, r, 2, name)
        for k, model in enumerate(MODELS):
            block = blocks[model]
            position = _match_exact(name, [line[0] for line in block[1:]]) if len(block) > 1 else None
            credit = NOT_AVAILABLE if position is None else block[position][1] if len(block[position]) > 1 else NOT_AVAILABLE
            credit = _iferror(0 if credit is None else credit)
            values.set_at(sheet, r, 3 + k, credit)
            columns[k].append(credit)
    for k in range(len(MODELS)):
        total = _sum(columns[k])
        if not channels:  # no channel rows: the total's range (the row above it to itself) holds the total itself
            total = ExcelError("#REF!", f"circular reference through {sheet}!{get_column_letter(3 + k)}{top + 1}")
        values.set_at(sheet, top + 1 + channels, 3 + k, total)
