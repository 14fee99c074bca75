"""The customer-value workbook's cached values, computed by the engine.

Every formula :mod:`~cxroi_xl.workbooks.value_template` writes has its value
here, from the frames the builder holds (orders, the per-customer summary,
the customer months): each add-in cell through :func:`cxroi_xl.excel.call`
(the very code the add-in runs) with the cell values the sheet passes it,
the native cells as the same arithmetic on those values. The headless
interpreter is not involved; the tests check every cell against it and
against LibreOffice.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import pandas as pd

from ..excel import ExcelError, call
from .cache import FormulaValues

__all__ = ["fill_customer_value_values"]

NOT_AVAILABLE = "n/a"  # what the sheets' IFERROR shows


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


def _iferror(value: Any) -> Any:
    return NOT_AVAILABLE if isinstance(value, ExcelError) else value


def _spill(result: Any, rows: int, cols: int) -> list[list[Any]]:
    """IFERROR(add-in call, "n/a") over its array formula's block."""
    if not isinstance(result, list):
        return [[_iferror(result)] * cols for _ in range(rows)]
    return [[_iferror(result[i][j]) if i < len(result) and j < len(result[i]) else ExcelError("#N/A", "outside the result") for j in range(cols)] for i in range(rows)]


def _shape(result: Any) -> tuple[int, int]:
    """The block an add-in result fills (one cell for an error), as the builder sizes it."""
    if isinstance(result, list):
        return len(result), max(len(row) for row in result)
    return 1, 1


def _cac_payback_months(cac: Any, margin: Any, churn: Any, rate: Any) -> Any:
    """CLTV!C13 as its formula (value_template.CAC_PAYBACK_FORMULA) answers:
    the month n where the discounted margin m(1+d)/(d+c)(1-((1-c)/(1+d))^n)
    reaches the CAC, "not reached" when the whole lifetime stays below it,
    "n/a" where the formula's IFERROR would answer."""
    if not all(_is_number(v) for v in (cac, margin, churn, rate)):
        return "n/a"
    if cac == 0:
        return 0
    try:
        if rate + churn == 0:
            return cac / margin
        remaining = 1 - cac * (rate + churn) / (margin * (1 + rate))
        if remaining <= 0:
            return "not reached"
        return math.log(remaining) / math.log((1 - churn) / (1 + rate))
    except (ZeroDivisionError, ValueError):
        return "n/a"


def fill_customer_value_values(values: FormulaValues, orders: pd.DataFrame, summary: pd.DataFrame, months: pd.DataFrame, discount_rate: float, acquisition_spend: float | None) -> None:
    """Register the value of every formula of the customer-value workbook
    built from ``orders``, the per-customer ``summary`` and the customer
    ``months`` (the builder's frames), with the Inputs sheet's
    ``discount_rate`` and ``acquisition_spend``."""
    from . import value_template as vt  # the layout's constants (it imports this module)

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
    discounted = _iferror(call("CXCLTV", arpu, margin, churn, monthly_rate))
    cac = _iferror(call("CXCAC", spend, new_customers))
    monthly_margin = _arith(lambda a, b: a * b, arpu, margin)
    ltv_cac = _iferror(call("CXLTVCAC", discounted, cac))
    if _is_number(ltv_cac):
        verdict = "healthy: 3 or more" if ltv_cac >= 3 else "positive, below the usual 3x target" if ltv_cac >= 1 else "a customer returns less than they cost to win"
    else:
        verdict = "enter the acquisition spend on Inputs"
    for row, value in (
        (5, monthly_margin),
        (6, _iferror(simple)),
        (7, discounted),
        (8, _iferror(call("CXCLTV", arpu, margin, churn, monthly_rate, horizon))),
        (9, _iferror(_arith(lambda c: 1 / c, churn))),
        (11, cac),
        (12, ltv_cac),
        (13, _cac_payback_months(cac, monthly_margin, churn, monthly_rate)),
        (14, verdict),
        (16, _iferror(_arith(lambda a, m, c: a * m / c, arpu, margin, churn))),
    ):
        values.set_at(sheet, row, 3, value)
    first = 20
    for k in range(1, vt.VALUE_CURVE_MONTHS + 1):
        values.set_at(sheet, first + k, 3, _iferror(call("CXCLTV", arpu, margin, churn, monthly_rate, k)))
        values.set_at(sheet, first + k, 4, cac if _is_number(cac) else "")

    # ---- Churn ---------------------------------------------------------------------
    sheet, top = "Churn", vt.HEADER_ROW + 1
    end = [_arith(lambda s, n, c: s + n - c, s, n, c) for s, n, c in zip(start, new, lost)]
    values.set_column(sheet, top, 6, end)
    n = len(months)
    churn_rates = _spill(call("CXCHURN", column(start), column(lost)), n, 1)
    retention = _spill(call("CXRETENTION", column(start), column(end), column(new)), n, 1)
    values.set_block(sheet, top, 8, churn_rates)
    values.set_block(sheet, top, 9, retention)
    pooled = _arith(lambda a, b: a / b, _sum(lost), _sum(start))
    for row, value in (
        (top, pooled),
        (top + 1, _iferror(_average([r[0] for r in churn_rates]))),
        (top + 2, _iferror(_average([r[0] for r in retention]))),
        (top + 3, _iferror(_arith(lambda p: 1 / p, pooled))),
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
    values.set_block("Survival", first_time, 3, _spill(call("CXSURVIVAL", tenure, churned, times), len(times), 1))
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
    orders_ahead = _spill(call("CXBGNBD", frequency, recency, age, prediction_weeks), customers, 1)
    alive = _spill(call("CXPALIVE", frequency, recency, age), customers, 1)
    clv = _spill(call("CXCLV", frequency, recency, age, monetary, prediction_months, monthly_rate, vt.DAYS_PER_WEEK), customers, 1)
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
        (totals_top + 4, _iferror(_average(predicted))),
    ):
        values.set_at(sheet, row, 6, value)
