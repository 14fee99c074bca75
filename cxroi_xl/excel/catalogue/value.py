"""Customer value family: CXCLTV, CXCAC, CXLTVCAC, CXCHURN, CXRETENTION,
CXCOHORT, CXSURVIVAL."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...engine import value
from ...errors import InvalidInputError
from ..error_values import ExcelError
from ..declarations import Arg, ExcelFunction

CATEGORY = "CX customer value"

_START = Arg("start_customers", "array", "Customers at the start of each period (a cell or a range; blanks count as 0).", "count")
_DURATIONS = Arg("durations", "numbers", "Per customer: time from acquisition to churn, or to today if still active.", "periods, >= 0", blanks="keep")
_CHURNED = Arg("churned", "numbers", "Per customer: 1 if churned, 0 if still active (censored).", "0 or 1", blanks="keep")


def _complete_rows(**columns: np.ndarray) -> list[np.ndarray]:
    """Equal-length ranges with their blank rows (blank in every range)
    dropped, so a range may run past the data; a row blank in only some of
    the ranges is refused."""
    lengths = {name: len(column) for name, column in columns.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{n} {k}" for k, n in lengths.items())
        raise InvalidInputError(f"the ranges must have the same length ({shown})")
    blank = {name: np.asarray(pd.isna(column), dtype=bool) for name, column in columns.items()}
    empty_row = np.logical_and.reduce(list(blank.values()))
    for name, is_blank in blank.items():
        partial = np.flatnonzero(is_blank & ~empty_row)
        if partial.size:
            raise InvalidInputError(f"{name} is blank in row {partial[0] + 1} where the other ranges have a value")
    return [column[~empty_row] for column in columns.values()]


def _per_period(shares: np.ndarray) -> np.ndarray:
    """Periods without customers at their start show #DIV/0! in their cell."""
    shares = np.asarray(shares, dtype=float)
    cells = shares.astype(object)
    cells[np.isnan(shares)] = ExcelError("#DIV/0!", "no customers at the start of the period")
    return cells


def churn_cells(start_customers, lost_customers):
    return _per_period(value.churn_rate(start_customers, lost_customers))


def retention_cells(start_customers, end_customers, new_customers):
    return _per_period(value.retention_rate(start_customers, end_customers, new_customers))


def cohort_table(customer_ids, order_dates, period):
    """CXCOHORT's spilled table: ``Cohort | 0 | 1 | ...``, blanks for periods
    that have not happened yet."""
    ids, dates = _complete_rows(customer_ids=customer_ids, order_dates=order_dates)
    matrix = value.cohort_retention(ids, dates, period)
    rows = [["Cohort", *matrix.columns.tolist()]]
    for label, shares in zip(matrix.index, matrix.to_numpy()):
        rows.append([label, *(None if np.isnan(s) else s for s in shares)])
    return rows


def survival_table(durations, churned, times):
    """CXSURVIVAL's spill: the Kaplan-Meier table, or a column of S(t)."""
    durations, churned = _complete_rows(durations=durations, churned=churned)
    if times is None:
        table = value.kaplan_meier(durations, churned)
        return [list(table.columns), *table.itertuples(index=False, name=None)]
    return [[None if np.isnan(s) else s] for s in value.survival_at(durations, churned, times)]


FUNCTIONS = [
    ExcelFunction(
        name="CXCLTV",
        summary="Customer lifetime value: margin per period kept while the customer stays, discounted.",
        args=(
            Arg("arpu", "number", "Average revenue per customer per period.", "currency"),
            Arg("gross_margin", "number", "Gross margin on that revenue, e.g. 0.7.", "fraction 0..1"),
            Arg("churn_rate", "number", "Share of customers lost per period, e.g. 0.05.", "fraction 0..1"),
            Arg("discount_rate", "number", "Discount rate per period; 0 = undiscounted.", "fraction per period", default=0.0),
            Arg("periods", "integer", "Horizon in periods; omit for a customer's whole expected lifetime.", "periods", default=None),
        ),
        returns="scalar",
        engine=value.cltv,
        category=CATEGORY,
        result="Lifetime value per customer in the ARPU's currency.",
        details="m = arpu x gross_margin, r = 1 - churn_rate: sum_{t=0}^{N-1} m (r/(1+d))^t, the first margin undiscounted. Without periods the infinite sum m (1+d)/(d+churn_rate), i.e. ARPU x margin / churn when d = 0. #DIV/0! when churn and discount rate are both 0 without periods; #NUM! for churn or margin outside 0..1.",
        example="=CXCLTV(50, 0.7, 0.05, 0.01, 36)",
    ),
    ExcelFunction(
        name="CXCAC",
        summary="Customer acquisition cost: sales and marketing spend / new customers.",
        args=(
            Arg("spend", "number", "Sales and marketing spend of the period.", "currency"),
            Arg("new_customers", "number", "Customers acquired in the same period.", "count"),
        ),
        returns="scalar",
        engine=value.cac,
        category=CATEGORY,
        result="Cost per new customer; #DIV/0! with no new customers.",
        example="=CXCAC(12000, 80)",
    ),
    ExcelFunction(
        name="CXLTVCAC",
        summary="LTV:CAC ratio: customer lifetime value / acquisition cost (3 or more is the usual target).",
        args=(
            Arg("cltv", "number", "Lifetime value per customer, e.g. from CXCLTV.", "currency"),
            Arg("cac", "number", "Acquisition cost per customer, e.g. from CXCAC.", "currency"),
        ),
        returns="scalar",
        engine=value.ltv_cac,
        category=CATEGORY,
        result="The ratio; #DIV/0! when the acquisition cost is 0.",
        example="=CXLTVCAC(B2, B3)",
    ),
    ExcelFunction(
        name="CXCHURN",
        summary="Churn rate per period: customers lost / customers at the start.",
        args=(
            _START,
            Arg("lost_customers", "array", "Of those, how many left during each period (blanks count as 0).", "count"),
        ),
        returns="array",
        engine=churn_cells,
        category=CATEGORY,
        result="One rate per period, spilled in the shape of the input; #DIV/0! for a period that starts with no customers.",
        details="Ranges broadcast element-wise, so one start count with a range of losses also works. #NUM! when more customers are lost than there were.",
        example="=CXCHURN(B2:B13, C2:C13)",
    ),
    ExcelFunction(
        name="CXRETENTION",
        summary="Customer retention rate per period: (customers at the end - new customers) / customers at the start.",
        args=(
            _START,
            Arg("end_customers", "array", "Customers at the end of each period (blanks count as 0).", "count"),
            Arg("new_customers", "array", "Customers acquired during each period (blanks count as 0).", "count"),
        ),
        returns="array",
        engine=retention_cells,
        category=CATEGORY,
        result="One rate per period, spilled in the shape of the input; #DIV/0! for a period that starts with no customers.",
        details="Reichheld's (E - N) / S. #NUM! when there are more new customers than customers at the end, or more kept than there were at the start.",
        example="=CXRETENTION(B2:B13, C2:C13, D2:D13)",
    ),
    ExcelFunction(
        name="CXCOHORT",
        call_in_wizard=False,  # cost grows with the data: not on every keystroke in the wizard
        summary="Cohort retention matrix: share of each acquisition cohort that orders in each later period.",
        args=(
            Arg("customer_ids", "texts", "One customer id per order (text or numbers).", blanks="keep"),
            Arg("order_dates", "dates", "The date of each order, same length as customer_ids.", blanks="keep"),
            Arg("period", "text", 'Cohort period: "M" months, "W" ISO weeks, "Q" quarters.', default="M"),
        ),
        returns="table",
        engine=cohort_table,
        category=CATEGORY,
        result="A table Cohort | 0 | 1 | ...: one row per cohort (1997-01, 1997-W03 or 1997-Q1), the share active k periods after acquisition; blank where that period has not happened yet.",
        details="A customer's cohort is the period of their first order; they are active in a period when they order at least once in it, so column 0 is 1. Rows blank in both ranges are ignored.",
        example='=CXCOHORT(A2:A5000, B2:B5000, "M")',
    ),
    ExcelFunction(
        name="CXSURVIVAL",
        call_in_wizard=False,  # cost grows with the data: not on every keystroke in the wizard
        summary="Kaplan-Meier customer survival: share of customers still active after a time.",
        args=(
            _DURATIONS,
            _CHURNED,
            Arg("times", "numbers", "Times at which to read the curve; omit for the full table.", "periods, >= 0", default=None, blanks="keep"),
        ),
        returns="table",
        engine=survival_table,
        category=CATEGORY,
        result="With times, a column of S(t); without, a table Time | At risk | Events | Survival at each churn time.",
        details="S(t) = product over churn times t_j <= t of (1 - d_j/n_j), with n_j customers whose duration is >= t_j; active customers are censored at their duration (Kaplan & Meier 1958). #DIV/0! with no customers.",
        example="=CXSURVIVAL(B2:B500, C2:C500, {3;6;12})",
    ),
]
