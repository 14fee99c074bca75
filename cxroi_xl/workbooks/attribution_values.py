"""The attribution workbook's cached values, computed by the engine.

Every formula :mod:`~cxroi_xl.workbooks.attribution_template` writes has its
value here, from the journeys frame the builder holds: each model's table
through :func:`cxroi_xl.excel.dispatch.call` (the very code the add-in runs, with the
cell values the sheet passes it), the summary's look-ups and totals and the
Journeys sheet's totals as the same arithmetic on those results. The
headless interpreter is not involved; the tests check every cell against it
and against LibreOffice.

The sheets have no IFERROR: a model the engine refuses shows its
:class:`~cxroi_xl.excel.error_values.ExcelError` (the reason goes into the note of the
values form), and the totals and the summary show the error they meet.
"""
from __future__ import annotations

import math
from typing import Any

import pandas as pd
from ..engine.attribution import MODELS
from ..excel.dispatch import ExcelError, call
from .cache import FormulaValues
from ..excel.wildcards import wildcard

__all__ = ["fill_attribution_values", "attribution_figures", "top_channel"]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _sum(values) -> Any:
    """SUM: the first error in the range, else its numbers added up (text,
    blanks and booleans are skipped)."""
    values = list(values)
    for v in values:
        if isinstance(v, ExcelError):
            return v
    return math.fsum(float(v) for v in values if _number(v))


def _divide(numerator: float, denominator: float, reason: str) -> Any:
    """A native division of two SUMs: #DIV/0! when the denominator is 0."""
    return numerator / denominator if denominator else ExcelError("#DIV/0!", reason)


def _model_block(result: Any, rows: int, cols: int) -> list[list[Any]]:
    """CXATTRIBUTION(...)'s result over its array formula's block (sized by
    the builder to the result: one cell for an error); a table's cells
    beyond the result #N/A, as a legacy array formula shows them."""
    if not isinstance(result, list):
        return [[result] * cols for _ in range(rows)]
    return [[result[i][j] if i < len(result) and j < len(result[i]) else ExcelError("#N/A", "outside the result") for j in range(cols)] for i in range(rows)]


def _match_exact(wanted: Any, names: list[Any]) -> int | None:
    """MATCH(wanted, names, 0), 1-based; None where MATCH answers #N/A."""
    if isinstance(wanted, ExcelError):
        return None
    if isinstance(wanted, str):
        test = wildcard(wanted)
        found = (i for i, v in enumerate(names, 1) if isinstance(v, str) and test(v))
    else:
        wanted = 0.0 if wanted is None else wanted
        found = (i for i, v in enumerate(names, 1) if _number(v) and not isinstance(wanted, bool) and float(v) == float(wanted))
    return next(found, None)


def top_channel(table: Any) -> Any:
    """The channel a model's table (``CXATTRIBUTION``'s answer: a header,
    then channel, conversions, value, share) credits with the most
    conversions; channels tied to 12 significant digits are all named, in
    the table's order, separated by " / ". A model that answered with an
    error gives that error."""
    if not isinstance(table, list):
        return table
    credits = [(line[0], line[1]) for line in table[1:] if _number(line[1])]
    if not credits:
        return ExcelError("#N/A", "the model credits no channel")
    most = max(credit for _, credit in credits)
    return " / ".join(str(channel) for channel, credit in credits if math.isclose(credit, most, rel_tol=1e-12))


def attribution_figures(args: tuple) -> dict[str, Any]:
    """What sums up the attribution workbook for ``args`` (the cell values
    each model's ``CXATTRIBUTION`` receives, as for
    :func:`fill_attribution_values`): ``conversions`` and
    ``conversion_value`` (the Journeys sheet's Converted and Conversion
    value) and ``top_channels``, model -> :func:`top_channel` of its table."""
    paths, conversions, money, nulls, half_life = args
    tables = {model: call("CXATTRIBUTION", paths, conversions, model, money, nulls, half_life) for model in MODELS}
    return {
        "conversions": _sum(v for (v,) in conversions),
        "conversion_value": _sum(v for (v,) in money),
        "top_channels": {model: top_channel(table) for model, table in tables.items()},
    }


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
    rate = _divide(converted, everyone, "no journeys: conversions + nulls add up to 0")
    per_conversion = _divide(worth, converted, "no conversions to share the value")
    for k, value in enumerate((everyone, converted, rate, worth, per_conversion)):
        values.set_at(layout["journeys_sheet"], row + k, col, value)

    blocks = {}
    for k, model in enumerate(MODELS):
        rows, cols = shapes[model]
        blocks[model] = _model_block(call("CXATTRIBUTION", paths, conversions, model, money, nulls, half_life), rows, cols)
        values.set_block(sheet, blocks_top, 2 + k * width, blocks[model])

    # The summary: channel names from the first model's table, each model's
    # credit found by name (INDEX/MATCH) or, for a model that answered with
    # an error, that error; a total per model.
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
            if len(block) < 2:  # the formula points at the model's one cell
                credit = block[0][0]
            elif isinstance(name, ExcelError):  # MATCH answers with the error it looks up
                credit = name
            else:
                position = _match_exact(name, [line[0] for line in block[1:]])
                credit = ExcelError("#N/A", f"{name} is not a channel of the {model} model's table") if position is None else block[position][1]
            credit = 0 if credit is None else credit
            values.set_at(sheet, r, 3 + k, credit)
            columns[k].append(credit)
    for k, model in enumerate(MODELS):
        # without channel rows the total points at the model's one cell
        total = _sum(columns[k]) if channels else blocks[model][0][0]
        values.set_at(sheet, top + 1 + channels, 3 + k, 0 if total is None else total)
