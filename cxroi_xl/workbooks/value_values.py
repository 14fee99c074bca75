"""The customer-value workbook's cached values, computed by the engine.

Every formula :mod:`~cxroi_xl.workbooks.value_template` writes has its value
here, from the frames the builder holds (orders, the per-customer summary,
the customer months): each add-in cell through :func:`cxroi_xl.excel.dispatch.call`
(the very code the add-in runs) with the cell values the sheet passes it,
the native cells as the same arithmetic on those values. The headless
interpreter is not involved; the tests check every cell against it and
against LibreOffice.

The sheets have no IFERROR: an add-in call the engine refuses shows its
:class:`~cxroi_xl.excel.error_values.ExcelError` (the reason goes into the note of the
values form), and the native formulas over it show the error they meet.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import pandas as pd

from ..excel.dispatch import ExcelError, call
from . import value_layout as vt
from .cache import FormulaValues

__all__ = ["fill_customer_value_values"]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _numbers(values: Sequence[Any]) -> list[float]:
    """What SUM and AVERAGE take from a range: its numbers (text, blanks and
    booleans skipped)."""
    return [float(v) for v in values if _is_number(v)]


def _sum(values: Sequence[Any]) -> Any:
    for v in values:
        if isinstance(v, ExcelError):
            return v
    return math.fsum(_numbers(values))


def _average(values: Sequence[Any]) -> Any:
    for v in values:
        if isinstance(v, ExcelError):
            return v
    numbers = _numbers(values)
    return math.fsum(numbers) / len(numbers) if numbers else ExcelError("#DIV/0!", "AVERAGE of no numbers")


def _arith(function: Callable[..., float], *args: Any) -> Any:
    """A native formula's arithmetic: the first error among the inputs
    propagates, a blank counts as 0, text gives #VALUE!, a division by
    zero #DIV/0!."""
    numbers = []
    for value in args:
        if isinstance(value, ExcelError):
            return value
        if value is None:
            numbers.append(0.0)
        elif _is_number(value):
            numbers.append(float(value))
        else:
            return ExcelError("#VALUE!", f"the text {value!r} where a number belongs")
    try:
        result = function(*numbers)
    except ZeroDivisionError:
        return ExcelError("#DIV/0!", "division by zero")
    except (ValueError, OverflowError):
        return ExcelError("#NUM!", "not a finite number")
    return result if math.isfinite(result) else ExcelError("#NUM!", "not a finite number")


def _spill(result: Any, rows: int, cols: int) -> list[list[Any]]:
    """An add-in call's result over its array formula's ``rows`` x ``cols``
    block: a table's cells beyond the result #N/A; a single value (an
    error) in the top-left cell only, the rest blank, as a dynamic array
    shows it (the builder then shrinks the formula to that cell, as
    :func:`~cxroi_xl.workbooks.values.complete_values` does)."""
    if not isinstance(result, list):
        return [[result if i == j == 0 else None for j in range(cols)] for i in range(rows)]
    return [[result[i][j] if i < len(result) and j < len(result[i]) else ExcelError("#N/A", "outside the result") for j in range(cols)] for i in range(rows)]


def _shape(result: Any) -> tuple[int, int]:
    """The block an add-in result fills (one cell for an error), as the builder sizes it."""
    if isinstance(result, list):
        return len(result), max(len(row) for row in result)
    return 1, 1


def _compare(test: Callable[..., bool], *args: Any) -> Any:
    """A comparison in a native formula over numbers, blanks (0) or errors:
    True/False, or the first error among its inputs."""
    for value in args:
        if isinstance(value, ExcelError):
            return value
    return test(*(0.0 if v is None else float(v) for v in args))


def _cac_payback_months(cac: Any, margin: Any, churn: Any, rate: Any) -> Any:
    """CLTV!C13 as its formula (value_template.CAC_PAYBACK_FORMULA) answers,
    its IFs in Excel's order: 0 without a CAC; "not reached" without a
    positive monthly margin or when the whole lifetime's discounted margin
    stays below the CAC; else the month n where the discounted margin
    m(1+d)/(d+c)(1-((1-c)/(1+d))^n) reaches the CAC. An error among the
    inputs, or of the arithmetic (LN of 0), is the answer."""
    no_cac = _compare(lambda c: c == 0, cac)
    if not isinstance(no_cac, bool) or no_cac:
        return 0 if no_cac is True else no_cac
    no_margin = _compare(lambda m: m <= 0, margin)
    if not isinstance(no_margin, bool) or no_margin:
        return "not reached" if no_margin is True else no_margin
    undiscounted_forever = _compare(lambda d, c: d + c == 0, rate, churn)
    if not isinstance(undiscounted_forever, bool):
        return undiscounted_forever
    if undiscounted_forever:
        return _arith(lambda a, m: a / m, cac, margin)
    remaining = _arith(lambda a, m, d, c: 1 - a * (d + c) / (m * (1 + d)), cac, margin, rate, churn)
    never = _compare(lambda r: r <= 0, remaining)
    if not isinstance(never, bool) or never:
        return "not reached" if never is True else never
    return _arith(lambda r, d, c: math.log(r) / math.log((1 - c) / (1 + d)), remaining, rate, churn)


def fill_customer_value_values(values: FormulaValues, orders: pd.DataFrame, summary: pd.DataFrame, months: pd.DataFrame, discount_rate: float, acquisition_spend: float | None) -> list[tuple[str, int, int]]:
    """Register the value of every formula of the customer-value workbook
    built from ``orders``, the per-customer ``summary`` and the customer
    ``months`` (the builder's frames), with the Inputs sheet's
    ``discount_rate`` and ``acquisition_spend``.

    Returns (sheet, row, column) of the array formulas sized to the data
    (a row per month, per customer, per time) whose add-in call answered
    with a single value, an error: the builder shrinks them to that cell."""
    def cells(frame: pd.DataFrame, name: str) -> list[Any]:
        return [vt.cell_value(v) for v in frame[name]]

    def column(items: Sequence[Any]) -> list[list[Any]]:  # a one-column range, as the add-in receives it
        return [[v] for v in items]

    # ---- Inputs (the example's gross margin, horizon and prediction months) ----
    start, new, lost, revenue = (cells(months, c) for c in ("start_customers", "new_customers", "churned_customers", "revenue"))
    margin, horizon, prediction_months = 0.6, 36, 12
    arpu = _arith(lambda a, b: a / b, _sum(revenue), _sum(start))
    churn = _arith(lambda a, b: a / b, _sum(lost), _sum(start))
    new_customers = _sum(new)
    monthly_rate = _arith(lambda r: (1 + r) ** (1 / 12) - 1, vt.cell_value(discount_rate))
    prediction_weeks = _arith(lambda m: m * 365.25 / 12 / vt.DAYS_PER_WEEK, prediction_months)
    spend = vt.cell_value(acquisition_spend) if acquisition_spend is not None else None
    for row, value in ((6, arpu), (8, churn), (12, new_customers), (16, monthly_rate), (17, prediction_weeks)):
        values.set_at("Inputs", row, 2, value)

    # ---- CLTV --------------------------------------------------------------------
    sheet = "CLTV"
    simple = call("CXCLTV", arpu, margin, churn)
    discounted = call("CXCLTV", arpu, margin, churn, monthly_rate)
    cac = call("CXCAC", spend, new_customers)
    monthly_margin = _arith(lambda a, b: a * b, arpu, margin)
    ltv_cac = call("CXLTVCAC", discounted, cac)
    if _is_number(ltv_cac):
        verdict = "healthy: 3 or more" if ltv_cac >= 3 else "positive, below the usual 3x target" if ltv_cac >= 1 else "a customer returns less than they cost to win"
    else:
        verdict = "enter the acquisition spend on Inputs" if spend is None else ltv_cac
    for row, value in (
        (5, monthly_margin),
        (6, simple),
        (7, discounted),
        (8, call("CXCLTV", arpu, margin, churn, monthly_rate, horizon)),
        (9, _arith(lambda c: 1 / c, churn)),
        (11, cac),
        (12, ltv_cac),
        (13, _cac_payback_months(cac, monthly_margin, churn, monthly_rate)),
        (14, verdict),
        (16, _arith(lambda a, m, c: a * m / c, arpu, margin, churn)),
    ):
        values.set_at(sheet, row, 3, value)
    first = 20
    for k in range(1, vt.VALUE_CURVE_MONTHS + 1):
        values.set_at(sheet, first + k, 3, call("CXCLTV", arpu, margin, churn, monthly_rate, k))
        values.set_at(sheet, first + k, 4, cac if _is_number(cac) else "")

    # ---- Churn ---------------------------------------------------------------------
    sheet, top = "Churn", vt.HEADER_ROW + 1
    end = [_arith(lambda s, n, c: s + n - c, s, n, c) for s, n, c in zip(start, new, lost)]
    values.set_column(sheet, top, 6, end)
    n = len(months)
    single: list[tuple[str, int, int]] = []

    def sized(sheet: str, row: int, col: int, result: Any, rows: int) -> list[list[Any]]:
        """One column of ``rows`` cells from (row, col) for an add-in call's result."""
        if not isinstance(result, list) and rows:
            single.append((sheet, row, col))
        return _spill(result, rows, 1)

    churn_rates = sized(sheet, top, 8, call("CXCHURN", column(start), column(lost)), n)
    retention = sized(sheet, top, 9, call("CXRETENTION", column(start), column(end), column(new)), n)
    values.set_block(sheet, top, 8, churn_rates)
    values.set_block(sheet, top, 9, retention)
    pooled = _arith(lambda a, b: a / b, _sum(lost), _sum(start))
    for row, value in (
        (top, pooled),
        (top + 1, _average([r[0] for r in churn_rates])),
        (top + 2, _average([r[0] for r in retention])),
        (top + 3, _arith(lambda p: 1 / p, pooled)),
    ):
        values.set_at(sheet, row, 12, value)

    # ---- Cohorts ----------------------------------------------------------------
    ids, dates = column(cells(orders, "customer_id")), column(cells(orders, "date"))
    result = call("CXCOHORT", ids, dates, "M")
    values.set_block("Cohorts", vt.HEADER_ROW + 1, 2, _spill(result, *_shape(result)))

    # ---- Survival -----------------------------------------------------------------
    tenure, churned = column(cells(summary, "tenure_months")), column(cells(summary, "churned"))
    first_time = vt.HEADER_ROW + 2
    times = column(list(vt.SURVIVAL_TIMES))
    values.set_block("Survival", first_time, 3, sized("Survival", first_time, 3, call("CXSURVIVAL", tenure, churned, times), len(times)))
    result = call("CXSURVIVAL", tenure, churned)
    values.set_block("Survival", first_time + len(times) - 1 + 3, 2, _spill(result, *_shape(result)))

    # ---- Predictive CLV ------------------------------------------------------------------
    sheet = "Predictive CLV"
    frequency, recency, age, monetary = (column(cells(summary, c)) for c in ("frequency", "recency", "T", "monetary_value"))
    fit = call("CXBGNBDFIT", frequency, recency, age)
    gg = call("CXGGFIT", frequency, monetary)
    (rows, _), (gg_rows, _) = _shape(fit), _shape(gg)
    values.set_block(sheet, vt.HEADER_ROW + 1, 2, _spill(fit, *_shape(fit)))
    values.set_block(sheet, vt.HEADER_ROW + 1, 5, _spill(gg, *_shape(gg)))
    customers = len(summary)
    totals_top = vt.HEADER_ROW + 1 + max(rows, gg_rows) + 2
    top = totals_top + 6
    orders_ahead = sized(sheet, top + 1, 5, call("CXBGNBD", frequency, recency, age, prediction_weeks), customers)
    alive = sized(sheet, top + 1, 6, call("CXPALIVE", frequency, recency, age), customers)
    clv = sized(sheet, top + 1, 7, call("CXCLV", frequency, recency, age, monetary, prediction_months, monthly_rate, vt.DAYS_PER_WEEK), customers)
    if customers:
        values.set_column(sheet, top + 1, 2, cells(summary, "customer_id"))
        values.set_column(sheet, top + 1, 3, [v for (v,) in frequency])
        values.set_column(sheet, top + 1, 4, [v for (v,) in monetary])
        values.set_block(sheet, top + 1, 5, orders_ahead)
        values.set_block(sheet, top + 1, 6, alive)
        values.set_block(sheet, top + 1, 7, clv)
    predicted = [r[0] for r in clv]
    for row, value in (
        (totals_top + 1, max(customers, 1)),
        (totals_top + 2, _sum([r[0] for r in orders_ahead])),
        (totals_top + 3, _sum(predicted)),
        (totals_top + 4, _average(predicted)),
    ):
        values.set_at(sheet, row, 6, value)
    return single
