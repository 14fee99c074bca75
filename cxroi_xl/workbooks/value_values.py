"""The customer-value workbook's cached values, computed by the engine.

Every formula :mod:`~cxroi_xl.workbooks.value_template` writes has its value
here, from the frames the builder holds (orders, the per-customer summary,
the customer months): each add-in cell through :func:`cxroi_xl.excel.dispatch.call`
(the very code the add-in runs) with the cell values the sheet passes it,
the native cells as the same arithmetic on those values (the months to
earn the CAC back by :func:`cxroi_xl.engine.value.cac_payback`). The
headless interpreter is not involved; the tests check every cell against it
and against LibreOffice. The figures that sum a client up
(:class:`CustomerValueFigures`) are computed once, for the cells and for
the batch summary alike.

The sheets have no IFERROR: an add-in call the engine refuses shows its
:class:`~cxroi_xl.excel.error_values.ExcelError` (the reason goes into the note of the
values form), and the native formulas over it show the error they meet.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import pandas as pd

from ..engine import value as engine_value
from ..errors import CXError
from ..excel.dispatch import ExcelError, call, error_for
from . import value_layout as vt
from .cache import Explained, FormulaValues

__all__ = ["fill_customer_value_values", "customer_value_figures", "CustomerValueFigures", "NO_SPEND", "VERDICTS", "ASK_FOR_SPEND"]

#: What the CAC, LTV:CAC and payback cells show without an acquisition spend.
NO_SPEND = "needs the acquisition spend (Inputs)"
NO_SPEND_REASON = "no acquisition spend entered on Inputs (in a generated workbook: the clients table's acquisition_spend was blank)"
#: The CLTV sheet's verdict on LTV:CAC: 3 or more, 1 or more, below 1; and without a spend.
VERDICTS = ("healthy: 3 or more", "positive, below the usual 3x target", "a customer returns less than they cost to win")
ASK_FOR_SPEND = "enter the acquisition spend on Inputs"


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


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and not isinstance(value, ExcelError)


def _cac_payback_months(cac: Any, margin: Any, churn: Any, rate: Any) -> Any:
    """CLTV!C13 as its formula (value_template.CAC_PAYBACK_FORMULA) answers:
    the CAC cell's own text when it has no number (no acquisition spend);
    an error among the inputs as the formula's IFs meet it, in Excel's
    order; else the engine's months
    (:func:`cxroi_xl.engine.value.cac_payback`, whose tests follow the
    formula's): "not reached" where it answers never, its refusal (LN of 0)
    as the error the formula shows."""
    if _is_text(cac):
        return cac
    no_cac = _compare(lambda c: c == 0, cac)
    if not isinstance(no_cac, bool) or no_cac:
        return 0 if no_cac is True else no_cac
    no_margin = _compare(lambda m: m <= 0, margin)
    if not isinstance(no_margin, bool) or no_margin:
        return _NEVER if no_margin is True else no_margin
    undiscounted_forever = _compare(lambda d, c: d + c == 0, rate, churn)
    if not isinstance(undiscounted_forever, bool):
        return undiscounted_forever
    try:
        months = engine_value.cac_payback(*(0.0 if v is None else float(v) for v in (cac, margin, churn, rate)))
    except CXError as exc:
        return error_for(exc)  # LN(0) in the formula: #NUM!
    return _NEVER if math.isinf(months) else months


_NEVER = Explained("not reached", "a customer's whole discounted margin never covers the acquisition cost")


@dataclass(frozen=True)
class CustomerValueFigures:
    """The engine's answers for the cells that sum a client up: the Inputs
    sheet's derived figures, the CLTV sheet and the predicted value per
    customer. Each is a number, the text the cell shows, or an
    :class:`~cxroi_xl.excel.error_values.ExcelError` with its reason.

    The workbook's cells hold exactly these values
    (:func:`fill_customer_value_values`) and the batch summary reads them
    (:mod:`cxroi_xl.batch.summary`): each is computed once."""

    gross_margin: float
    acquisition_spend: float | None
    arpu: Any
    monthly_churn: Any
    customers: Any  # Inputs!NewCustomers: the customers whose first order falls in the Transactions' window
    monthly_rate: Any
    prediction_weeks: Any
    monthly_margin: Any
    cltv_simple: Any
    cltv: Any  # discounted, a whole lifetime: the LTV of LTV:CAC
    cltv_horizon: Any
    lifetime_months: Any
    cac: Any
    ltv_cac: Any
    cac_payback_months: Any
    verdict: Any
    check: Any
    predicted_clv: Any  # CXCLV's answer for every customer (a column), or its error

    @property
    def predicted_values(self) -> list[Any]:
        """The predicted value of each customer, or the error once."""
        return [row[0] for row in self.predicted_clv] if isinstance(self.predicted_clv, list) else [self.predicted_clv]

    @property
    def predicted_total(self) -> Any:
        """Predicted value of all customers over the prediction horizon (SUM)."""
        return _sum(self.predicted_values)

    @property
    def predicted_average(self) -> Any:
        """Average predicted value per customer (AVERAGE)."""
        return _average(self.predicted_values)


def _column(items: Sequence[Any]) -> list[list[Any]]:
    """A one-column range, as the add-in receives it."""
    return [[v] for v in items]


def _cells(frame: pd.DataFrame, name: str) -> list[Any]:
    return [vt.cell_value(v) for v in frame[name]]


def customer_value_figures(summary: pd.DataFrame, months: pd.DataFrame, discount_rate: float, gross_margin: float, acquisition_spend: float | None) -> CustomerValueFigures:
    """The figures the workbook built from the per-customer ``summary`` and
    the customer ``months`` (the builder's frames) shows, with the Inputs
    sheet's ``discount_rate``, ``gross_margin`` and ``acquisition_spend``
    (None: not entered). Each add-in cell through
    :func:`~cxroi_xl.excel.dispatch.call` with the cell values the sheet
    passes it, the native cells as the same arithmetic on them."""
    start, lost, revenue = (_cells(months, c) for c in ("start_customers", "churned_customers", "revenue"))
    horizon, prediction_months = 36, 12  # the Inputs sheet's
    margin = vt.cell_value(gross_margin)
    arpu = _arith(lambda a, b: a / b, _sum(revenue), _sum(start))
    churn = _arith(lambda a, b: a / b, _sum(lost), _sum(start))
    customers = len(summary)  # ROWS(Customers[customer_id]): every customer first orders inside the window
    monthly_rate = _arith(lambda r: (1 + r) ** (1 / 12) - 1, vt.cell_value(discount_rate))
    prediction_weeks = _arith(lambda m: m * 365.25 / 12 / vt.DAYS_PER_WEEK, prediction_months)
    spend = vt.cell_value(acquisition_spend) if acquisition_spend is not None else None
    discounted = call("CXCLTV", arpu, margin, churn, monthly_rate)
    monthly_margin = _arith(lambda a, b: a * b, arpu, margin)
    no_spend = Explained(NO_SPEND, NO_SPEND_REASON)
    cac = no_spend if spend is None else call("CXCAC", spend, customers)
    ltv_cac = cac if _is_text(cac) else call("CXLTVCAC", discounted, cac)
    if _is_number(ltv_cac):
        verdict = VERDICTS[0] if ltv_cac >= 3 else VERDICTS[1] if ltv_cac >= 1 else VERDICTS[2]
    else:
        verdict = ASK_FOR_SPEND if spend is None else ltv_cac
    frequency, recency, age, monetary = (_column(_cells(summary, c)) for c in ("frequency", "recency", "T", "monetary_value"))
    return CustomerValueFigures(
        gross_margin=margin,
        acquisition_spend=spend,
        arpu=arpu,
        monthly_churn=churn,
        customers=customers,
        monthly_rate=monthly_rate,
        prediction_weeks=prediction_weeks,
        monthly_margin=monthly_margin,
        cltv_simple=call("CXCLTV", arpu, margin, churn),
        cltv=discounted,
        cltv_horizon=call("CXCLTV", arpu, margin, churn, monthly_rate, horizon),
        lifetime_months=_arith(lambda c: 1 / c, churn),
        cac=cac,
        ltv_cac=ltv_cac,
        cac_payback_months=_cac_payback_months(cac, monthly_margin, churn, monthly_rate),
        verdict=verdict,
        check=_arith(lambda a, m, c: a * m / c, arpu, margin, churn),
        predicted_clv=call("CXCLV", frequency, recency, age, monetary, prediction_months, monthly_rate, vt.DAYS_PER_WEEK),
    )


def fill_customer_value_values(values: FormulaValues, orders: pd.DataFrame, summary: pd.DataFrame, months: pd.DataFrame, figures: CustomerValueFigures) -> list[tuple[str, int, int]]:
    """Register the value of every formula of the customer-value workbook
    built from ``orders``, the per-customer ``summary`` and the customer
    ``months`` (the builder's frames), its headline ``figures`` being
    :func:`customer_value_figures` of the same frames.

    Returns (sheet, row, column) of the array formulas sized to the data
    (a row per month, per customer, per time) whose add-in call answered
    with a single value, an error: the builder shrinks them to that cell."""
    cells, column = _cells, _column
    f = figures

    # ---- Inputs ------------------------------------------------------------------
    start, new, lost = (cells(months, c) for c in ("start_customers", "new_customers", "churned_customers"))
    arpu, margin, churn, monthly_rate = f.arpu, f.gross_margin, f.monthly_churn, f.monthly_rate
    prediction_weeks = f.prediction_weeks
    for row, value in ((6, arpu), (8, churn), (12, f.customers), (16, monthly_rate), (17, prediction_weeks)):
        values.set_at("Inputs", row, 2, value)

    # ---- CLTV --------------------------------------------------------------------
    sheet = "CLTV"
    for row, value in (
        (5, f.monthly_margin),
        (6, f.cltv_simple),
        (7, f.cltv),
        (8, f.cltv_horizon),
        (9, f.lifetime_months),
        (11, f.cac),
        (12, f.ltv_cac),
        (13, f.cac_payback_months),
        (14, f.verdict),
        (16, f.check),
    ):
        values.set_at(sheet, row, 3, value)
    first = 20
    for k in range(1, vt.VALUE_CURVE_MONTHS + 1):
        values.set_at(sheet, first + k, 3, call("CXCLTV", arpu, margin, churn, monthly_rate, k))
        values.set_at(sheet, first + k, 4, f.cac if _is_number(f.cac) else "")

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
    clv = sized(sheet, top + 1, 7, f.predicted_clv, customers)
    if customers:
        values.set_column(sheet, top + 1, 2, cells(summary, "customer_id"))
        values.set_column(sheet, top + 1, 3, [v for (v,) in frequency])
        values.set_column(sheet, top + 1, 4, [v for (v,) in monetary])
        values.set_block(sheet, top + 1, 5, orders_ahead)
        values.set_block(sheet, top + 1, 6, alive)
        values.set_block(sheet, top + 1, 7, clv)
    for row, value in (
        (totals_top + 1, max(customers, 1)),
        (totals_top + 2, _sum([r[0] for r in orders_ahead])),
        (totals_top + 3, f.predicted_total),
        (totals_top + 4, f.predicted_average),
    ):
        values.set_at(sheet, row, 6, value)
    return single
