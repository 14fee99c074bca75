"""The customer-value workbook, ``customer_value.xlsx``: orders and monthly
customer counts -> lifetime value, acquisition cost, churn and retention,
cohorts, survival and predicted lifetime value per customer.

Native Excel formulas do what Excel can do itself (sums, ratios, look-ups);
the add-in functions (``CXCLTV``, ``CXCOHORT``, ``CXSURVIVAL``, ``CXBGNBD``,
``CXCLV``...) compute the rest. Their tables are written as legacy array
formulas exactly as large as the engine's answer for the data written, which
:func:`spill_shape` computes while building.

The per-customer summary on the Customers sheet (frequency, recency, T,
monetary value, churn and tenure) is written as values computed from the
orders while building, by :func:`customer_summary`: LibreOffice 7.4 has
MAXIFS and MINIFS, but the headless evaluator behind the values mode and
``cxroi-xl calc`` does not, and array formulas over every order for every
customer cost it seconds per sheet. A note on the sheet says so.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.worksheet import Worksheet

from ..engine import btyd
from ..excel import dispatch as excel
from ..errors import InvalidInputError
from .sample_data import synthetic_transactions
from ..engine.tracker import TrackerInput
from ..engine.value import CustomerValueInput
from .common import (
    BOX,
    CALC_FILL,
    FORMATS,
    HEADER_FILL,
    HEADER_FONT,
    INPUT_FILL,
    LABEL_FONT,
    NOTE_FONT,
    TableSpec,
    currency_format,
    define_name,
    put_text,
    set_widths,
    title,
)
from .common import SECTION_FONT, array_formula, manual_pages, readable_axes, fit_column, fit_headers, header_cells, print_layout, validation, wrapped_lines
from .cache import FormulaValues
from .summaries import SummaryBlock, SummaryLine
from .value_layout import DAYS_PER_WEEK, HEADER_ROW, SURVIVAL_TIMES, VALUE_CURVE_MONTHS, cell_value
from .value_values import ASK_FOR_SPEND, NO_SPEND, VERDICTS, CustomerValueFigures, customer_value_figures, fill_customer_value_values
from .roi_template import CURRENCIES, example_input

__all__ = ["TEMPLATE_NAME", "build", "figures", "example_input_with_orders", "customer_summary", "spill_shape", "write_guide", "cell_value", "Formula", "CHURN_AFTER_DAYS"]

TEMPLATE_NAME = "customer_value"

#: A customer without an order for this many days counts as churned.
CHURN_AFTER_DAYS = 90
TRANSACTIONS = "Transactions"
CUSTOMERS = "Customers"
MONTHS = "CustomerMonths"

SHEET_PURPOSES = [
    ("Start here", "this page."),
    ("Inputs", "revenue per customer, gross margin, churn, discount rate and acquisition spend: the assumptions of the lifetime value."),
    ("Transactions", "one row per order: customer, date, amount."),
    ("Customers", "one row per customer, summarised from the orders: what the predictive models need."),
    ("CLTV", "lifetime value simple and discounted, acquisition cost (CAC) and the LTV:CAC ratio."),
    ("Churn", "customers at the start of each month, new and lost customers; churn and retention month by month."),
    ("Cohorts", "for the customers who first ordered in each month, the share ordering again 1, 2, 3... months later."),
    ("Survival", "how long customers stay: the Kaplan-Meier survival curve."),
    ("Predictive CLV", "BG/NBD and Gamma-Gamma models: each customer's expected orders, chance of still being active and value over the coming months."),
]


# --------------------------------------------------------------------------
# Shared with the attribution template


def write_guide(ws: Worksheet, heading: str, client_name: str, sections: Sequence[tuple[str, Sequence[str]]]) -> None:
    """A 'Start here' sheet: a title, then headed sections of paragraphs."""
    title(ws, heading)
    if client_name:
        put_text(ws["A2"], f"Prepared for {client_name}")
        ws["A2"].font = NOTE_FONT
    row = 4
    for section, paragraphs in sections:
        ws.cell(row, 1, section).font = Font(name="Calibri", size=13, bold=True, color="1F3A5F")
        row += 1
        for paragraph in paragraphs:
            cell = ws.cell(row, 1)
            put_text(cell, paragraph)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            # rough line count so wrapped paragraphs are not cut off
            ws.row_dimensions[row].height = 15 * wrapped_lines(paragraph, GUIDE_WIDTH) + 2
            row += 1
        row += 1
    set_widths(ws, {"A": GUIDE_WIDTH})
    print_layout(ws)
    ws.page_setup.fitToHeight = 2  # a guide read in two pages, not four half-empty ones


GUIDE_WIDTH = 110


def spill_shape(name: str, *args: Any) -> tuple[int, int]:
    """Rows and columns of what add-in function ``name`` returns for these
    cell values; (1, 1) when it answers with an error, which the sheet
    shows as that error value in one cell."""
    result = excel.call(name, *args)
    if isinstance(result, list):
        return len(result), max(len(row) for row in result)
    return 1, 1


def _column(values: Sequence[Any]) -> list[list[Any]]:
    """A column of cell values, as a range arrives from a sheet."""
    return [[value] for value in values]


def _block(top: int, left: int, rows: int, cols: int) -> str:
    return f"{get_column_letter(left)}{top}:{get_column_letter(left + cols - 1)}{top + rows - 1}"


# --------------------------------------------------------------------------
# Data


EXAMPLE_GROSS_MARGIN = 0.6
EXAMPLE_CAC = 300  # about what the example's acquisition spend costs per customer


def example_input_with_orders() -> CustomerValueInput:
    """The main template's example client, with example orders, a gross
    margin of 60% and an acquisition spend of about 300 per customer."""
    base = example_input()
    orders = synthetic_transactions(seed=2024)
    spend = float(round(EXAMPLE_CAC * orders["customer_id"].nunique(), -3))
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
    return CustomerValueInput(**{**fields, "transactions": orders, "gross_margin": EXAMPLE_GROSS_MARGIN, "acquisition_spend": spend})


def _orders(transactions: pd.DataFrame | None) -> pd.DataFrame:
    if transactions is None or len(transactions) == 0:
        raise InvalidInputError("no transactions for this client: the customer-value workbook needs its orders (customer_id, date, amount)")
    orders = pd.DataFrame(
        {
            "customer_id": transactions["customer_id"].astype(str).to_numpy(),
            "date": pd.to_datetime(transactions["date"]).dt.normalize().to_numpy(),
            "amount": transactions["amount"].astype(float).to_numpy(),
        }
    )
    return orders.sort_values(["date", "customer_id"], kind="stable").reset_index(drop=True)


def customer_summary(orders: pd.DataFrame, churn_after_days: int = CHURN_AFTER_DAYS) -> pd.DataFrame:
    """One row per customer (sorted by id) as the Customers sheet shows it.

    ``frequency``, ``recency``, ``T`` (weeks) and ``monetary_value`` are
    :func:`cxroi_xl.engine.btyd.rfm` with the last order date as the end of
    observation. A customer is ``churned`` (1) when her last order is more
    than ``churn_after_days`` before that end; ``tenure_months`` is the whole
    number of average months (365.25/12 days) from her first order to her
    last (churned) or to the end of observation (still active, censored).

    >>> orders = pd.DataFrame({"customer_id": ["a", "a", "b"], "amount": [10.0, 30.0, 5.0],
    ...     "date": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-06-30"])})
    >>> customer_summary(orders)[["customer_id", "frequency", "monetary_value", "churned", "tenure_months"]]
      customer_id  frequency  monetary_value  churned  tenure_months
    0           a          1            30.0        1              1
    1           b          0             0.0        0              0
    """
    summary = btyd.rfm(orders, "customer_id", "date", "amount", freq="W")
    end = orders["date"].max()
    per_customer = orders.groupby("customer_id", sort=True)
    first, last = per_customer["date"].min(), per_customer["date"].max()
    days_since_last = (end - last).dt.days
    churned = (days_since_last > churn_after_days).astype(int)
    tenure_days = (last.where(churned == 1, end) - first).dt.days
    return pd.DataFrame(
        {
            "customer_id": summary.index.to_numpy(),
            "first_order": first.to_numpy(),
            "last_order": last.to_numpy(),
            "orders": per_customer.size().to_numpy(),
            "total_spend": per_customer["amount"].sum().to_numpy(),
            "frequency": summary["frequency"].to_numpy(),
            "recency": summary["recency"].to_numpy(),
            "T": summary["T"].to_numpy(),
            "monetary_value": summary["monetary_value"].to_numpy(),
            "days_since_last": days_since_last.to_numpy(),
            "churned": churned.to_numpy(),
            "tenure_months": np.floor(tenure_days.to_numpy() / btyd.DAYS_PER_MONTH).astype(int),
        }
    )


def _customer_months(kpis: pd.DataFrame) -> pd.DataFrame:
    months = pd.to_datetime(kpis["month"]).dt.to_period("M").dt.to_timestamp()
    frame = pd.DataFrame(
        {
            "month": months,
            "start_customers": kpis["active_customers"].astype(float),
            "new_customers": kpis["new_customers"].astype(float),
            "churned_customers": kpis["churned_customers"].astype(float),
            "revenue": kpis["revenue"].astype(float),
        }
    )
    return frame.sort_values("month", kind="stable").reset_index(drop=True)


def _rows(frame: pd.DataFrame) -> list[list[Any]]:
    return [[cell_value(v) for v in row] for row in frame.itertuples(index=False, name=None)]


# --------------------------------------------------------------------------
# Sheets


def _write_start_here(ws: Worksheet, client_name: str) -> None:
    write_guide(
        ws,
        "Customer value workbook",
        client_name,
        [
            (
                "What this workbook does",
                [
                    "It puts a value on customers: what one customer is worth over their lifetime (CLTV), what it costs to win one (CAC), how many stay month by month, and, from each customer's own order history, how many orders and how much revenue to expect from them next.",
                ],
            ),
            (
                "How to fill it in",
                [
                    "1. Inputs: the yellow cells. Revenue per customer and churn start from the Churn sheet's months; gross margin and acquisition spend are yours to enter.",
                    "2. Transactions: one row per order (customer id, date, amount). Add rows by typing below the table.",
                    "3. Churn: one row per month with the customers at the start of the month, new customers, customers lost and revenue.",
                    "Tables on the Cohorts, Survival and Predictive CLV sheets are sized to the data the workbook was built with; rebuild it with cxroi-xl after adding customers or months so that they grow with the data.",
                ],
            ),
            ("What each sheet shows", [f"{sheet}: {purpose}" for sheet, purpose in SHEET_PURPOSES[1:]]),
            (
                "The formulas",
                [
                    "CLTV = sum over months t = 0, 1, ... of ARPU x margin x ((1 - churn) / (1 + monthly rate))^t: ARPU x margin / churn undiscounted; CAC = acquisition spend from the first to the last order on Transactions / the customers whose first order falls in that window (every customer on the Customers sheet); LTV:CAC = discounted CLTV / CAC (3 or more is the usual target).",
                    "Churn = customers lost / customers at the start of the month; retention = (customers at the end - new customers) / customers at the start.",
                    "Predicted CLV: the BG/NBD model (Fader, Hardie & Lee 2005) predicts each customer's orders from how often and how recently they ordered; the Gamma-Gamma model predicts the value of their orders; their product is discounted monthly.",
                ],
            ),
            (
                "Printing",
                [
                    "Printed (or exported to PDF), each sheet fits its pages and every page's footer names its sheet. Transactions and Customers print their summary (counts, the period covered, totals and averages); the CLTV sheet its figures, chart and first year of the value curve; Predictive CLV its models, totals and first customers. To print all rows of a sheet, select it and choose Page Layout > Print Area > Clear Print Area.",
                ],
            ),
            (
                "Two forms of this workbook",
                [
                    "live: cells hold cxroi-xl formulas such as =CXCLTV(...); they recalculate in Excel on Windows with the cxroi-xl add-in.",
                    "values: every cxroi-xl formula is replaced by its value (the formula is kept in the cell's note), so the file works anywhere. cxroi-xl calc turns a live workbook into this form.",
                ],
            ),
        ],
    )


def summary_blocks(currency: str) -> dict[str, SummaryBlock]:
    """The printed summaries of the Transactions and Customers sheets."""
    money2 = currency_format(currency, 2)
    return {
        "Transactions": SummaryBlock(TRANSACTIONS, "Transactions", (
            SummaryLine("Orders", "COUNT", "date"),
            SummaryLine("First order", "MIN", "date", FORMATS["date"]),
            SummaryLine("Last order", "MAX", "date", FORMATS["date"]),
            SummaryLine("Amount, all orders", "SUM", "amount", money2),
            SummaryLine("Amount per order, average", "AVERAGE", "amount", money2),
        ), 5),
        "Customers": SummaryBlock(CUSTOMERS, "Customers", (
            SummaryLine("Customers", "COUNT", "orders"),
            SummaryLine("First order", "MIN", "first_order", FORMATS["date"]),
            SummaryLine("Last order", "MAX", "last_order", FORMATS["date"]),
            SummaryLine("Orders", "SUM", "orders"),
            SummaryLine("Spend, all customers", "SUM", "total_spend", money2),
            SummaryLine("Spend per customer, average", "AVERAGE", "total_spend", money2),
            SummaryLine(f"Churned (no order for {CHURN_AFTER_DAYS} days)", "SUM", "churned"),
            SummaryLine("Months as a customer, average", "AVERAGE", "tenure_months", FORMATS["dec1"]),
        ), len(CUSTOMER_COLUMNS) + 2),
    }


def _datetimes(values: pd.Series) -> list:
    return [None if pd.isna(v) else pd.Timestamp(v).to_pydatetime() for v in values]


class Formula(str):
    """A native formula to write into a cell; any other text is written as text."""


# name, label, help, number format, value (a Formula, a number or text)
_InputRow = tuple[str, str, str, str, Any]


def _write_input_rows(ws: Worksheet, rows: Sequence[_InputRow], first_row: int, fill) -> None:
    for i, (name, label, help_text, number_format, value) in enumerate(rows):
        r = first_row + i
        ws.cell(r, 1, label).font = LABEL_FONT
        cell = ws.cell(r, 2)
        if isinstance(value, str) and not isinstance(value, Formula):
            put_text(cell, value)
        else:
            cell.value = value
        cell.number_format = number_format
        cell.fill = fill
        cell.border = BOX
        ws.cell(r, 3, help_text).font = NOTE_FONT
        define_name(ws.parent, name, ws.title, f"B{r}")


def _write_inputs(ws: Worksheet, data: TrackerInput, gross_margin: float, acquisition_spend: float | None) -> None:
    title(ws, "Inputs", "Yellow cells are yours to change; grey cells are calculated.")
    money2 = currency_format(data.currency, 2)
    inputs: list[_InputRow] = [
        ("ClientName", "Client name", "As it should appear on reports.", FORMATS["text"], data.client_name),
        ("Currency", "Currency", "ISO code of the amounts (USD, EUR, GBP...).", FORMATS["text"], data.currency),
        ("ARPU", "Revenue per customer per month (ARPU)", "Starts as revenue / customers over the Churn sheet's months; overwrite with your own figure.", money2, Formula(f"=SUM({MONTHS}[revenue])/SUM({MONTHS}[start_customers])")),
        ("GrossMargin", "Gross margin", "Share of revenue left after the cost of goods; enter yours.", FORMATS["pct"], gross_margin),
        ("MonthlyChurn", "Monthly churn rate", "Starts as customers lost / customers at the start over the Churn sheet's months.", FORMATS["pct2"], Formula(f"=SUM({MONTHS}[churned_customers])/SUM({MONTHS}[start_customers])")),
        ("DiscountRate", "Annual discount rate", "Cost of capital used to discount future margin; 10% is common.", FORMATS["pct"], data.discount_rate),
        ("HorizonMonths", "CLTV horizon (months)", "For the CLTV over a fixed horizon.", FORMATS["int"], 36),
        ("AcquisitionSpend", "Sales and marketing spend", "Spent winning the customers below, from the first to the last order on Transactions. Enter yours: CAC needs it.", currency_format(data.currency), acquisition_spend),
        ("NewCustomers", "Customers acquired", "Whose first order falls in that window: every customer on the Customers sheet.", FORMATS["int"], Formula(f"=ROWS({CUSTOMERS}[customer_id])")),
        ("PredictionMonths", "Prediction horizon (months)", "How far ahead the Predictive CLV sheet looks.", FORMATS["int"], 12),
    ]
    _write_input_rows(ws, inputs, 4, INPUT_FILL)
    derived: list[_InputRow] = [
        ("MonthlyRate", "Monthly discount rate", "(1 + annual rate)^(1/12) - 1.", "0.000%", Formula("=(1+DiscountRate)^(1/12)-1")),
        ("PredictionWeeks", "Prediction horizon (weeks)", "The BG/NBD model counts time in weeks: months x 365.25/12/7.", FORMATS["dec2"], Formula(f"=PredictionMonths*365.25/12/{DAYS_PER_WEEK}")),
    ]
    ws.cell(15, 1, "Calculated").font = SECTION_FONT
    _write_input_rows(ws, derived, 16, CALC_FILL)
    ws.add_data_validation(validation("list", formula1='"' + ",".join(CURRENCIES) + '"', cells="B5", prompt="ISO currency code", allow_blank=False))
    ws.add_data_validation(validation("decimal", operator="greaterThanOrEqual", formula1="0", cells="B6 B11 B12", prompt="An amount, 0 or more"))
    ws.add_data_validation(validation("decimal", operator="between", formula1="0", formula2="1", cells="B7 B8 B9", prompt="A percentage between 0% and 100%"))
    ws.add_data_validation(validation("whole", operator="between", formula1="1", formula2="600", cells="B10 B13", prompt="A whole number of months, 1 to 600"))
    set_widths(ws, {"A": 30, "B": 16, "C": 30})
    fit_column(ws, "A", [c.value for c in ws["A"][3:] if isinstance(c.value, str)], bold=True)
    fit_column(ws, "C", [c.value for c in ws["C"][3:] if isinstance(c.value, str)], size=10, maximum=90)
    ws.freeze_panes = "A4"
    print_layout(ws)


def _write_transactions(ws: Worksheet, orders: pd.DataFrame, currency: str) -> int:
    title(ws, "Transactions", "One row per order. Add rows by typing below the table.")
    table = TableSpec(TRANSACTIONS, [("customer_id", FORMATS["text"], None), ("date", FORMATS["date"], None), ("amount", currency_format(currency, 2), None)], HEADER_ROW)
    n = table.write(ws, _rows(orders), text_columns=("customer_id",))
    ws.add_data_validation(validation("date", operator="greaterThan", formula1="36526", cells=table.data_range("date", n + 500), prompt="The date of the order"))
    ws.add_data_validation(validation("decimal", operator="greaterThanOrEqual", formula1="0", cells=table.data_range("amount", n + 500), prompt="The order's amount, 0 or more"))
    set_widths(ws, {"A": 16, "B": 13, "C": 14})
    fit_headers(ws, [HEADER_ROW])
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 1)
    summary_blocks(currency)["Transactions"].write(ws)
    return n


CUSTOMER_COLUMNS = [
    ("customer_id", "text", "The customer."),
    ("first_order", "date", "Date of the first order."),
    ("last_order", "date", "Date of the last order."),
    ("orders", "int", "Orders (rows of Transactions)."),
    ("total_spend", "money", "Sum of the amounts."),
    ("frequency", "int", "Repeat purchases: days with an order, minus 1."),
    ("recency", "dec2", "Weeks from the first to the last order."),
    ("T", "dec2", "Weeks from the first order to the end of observation."),
    ("monetary_value", "money", "Mean value of the repeat purchase days (0 without repeats)."),
    ("days_since_last", "int", "Days from the last order to the end of observation."),
    ("churned", "int", f"1 when the last order is more than {CHURN_AFTER_DAYS} days old."),
    ("tenure_months", "int", "Whole months from the first order to the last (churned) or to the end (active)."),
]


def _write_customers(ws: Worksheet, summary: pd.DataFrame, currency: str) -> int:
    end = summary["last_order"].max()
    title(ws, "Customers", f"One row per customer, summarised from the Transactions up to {pd.Timestamp(end):%Y-%m-%d}, the end of observation.")
    ws["A3"] = (
        "Computed from the Transactions when the workbook was built (cxroi-xl), as values: rebuild the workbook to refresh them. "
        "Orders on the same day count as one purchase. A customer counts as churned after "
        f"{CHURN_AFTER_DAYS} days without an order."
    )
    ws["A3"].font = NOTE_FONT
    formats = {"text": FORMATS["text"], "date": FORMATS["date"], "int": FORMATS["int"], "dec2": FORMATS["dec2"], "money": currency_format(currency, 2)}
    table = TableSpec(CUSTOMERS, [(name, formats[kind], None) for name, kind, _ in CUSTOMER_COLUMNS], HEADER_ROW + 1)
    n = table.write(ws, _rows(summary[[name for name, _, _ in CUSTOMER_COLUMNS]]), text_columns=("customer_id",))
    for j, (_, _, help_text) in enumerate(CUSTOMER_COLUMNS, start=1):
        cell = ws.cell(HEADER_ROW, j, help_text)
        cell.font = NOTE_FONT
        cell.alignment = Alignment(wrap_text=True, vertical="bottom")
    set_widths(ws, {get_column_letter(j): 13 for j in range(1, len(CUSTOMER_COLUMNS) + 1)})
    fit_headers(ws, [HEADER_ROW + 1])
    # the help row above the table wraps at words; the row is as tall as its longest help
    lines = max(wrapped_lines(help_text, ws.column_dimensions[get_column_letter(j)].width, size=10) for j, (_, _, help_text) in enumerate(CUSTOMER_COLUMNS, start=1))
    ws.row_dimensions[HEADER_ROW].height = 13 * lines + 4
    ws.freeze_panes = ws.cell(HEADER_ROW + 2, 2)
    summary_blocks(currency)["Customers"].write(ws)
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW + 1}"  # the help row and the table's header, once the print area is cleared
    return n


def _write_churn(ws: Worksheet, months: pd.DataFrame, currency: str) -> int:
    title(ws, "Churn and retention by month", "One row per month. Churn = lost / customers at the start; retention = (end - new) / start.")
    money0 = currency_format(currency)
    columns = [
        ("month", FORMATS["month"], None),
        ("start_customers", FORMATS["int"], None),
        ("new_customers", FORMATS["int"], None),
        ("churned_customers", FORMATS["int"], None),
        ("revenue", money0, None),
        ("end_customers", FORMATS["int"], "{T}[[#This Row],[start_customers]]+{T}[[#This Row],[new_customers]]-{T}[[#This Row],[churned_customers]]"),
    ]
    table = TableSpec(MONTHS, columns, HEADER_ROW)
    n = table.write(ws, _rows(months))
    ws.add_data_validation(validation("whole", operator="greaterThanOrEqual", formula1="0", cells=" ".join(table.data_range(c, n + 24) for c in ("start_customers", "new_customers", "churned_customers")), prompt="A whole number, 0 or more"))

    # CXCHURN and CXRETENTION spill one rate per month beside the table.
    start, new, lost, end = (f"{MONTHS}[{c}]" for c in ("start_customers", "new_customers", "churned_customers", "end_customers"))
    header_cells(ws, HEADER_ROW, 8, ["churn_rate", "retention_rate"])
    last = HEADER_ROW + n
    # No IFERROR on this sheet or any other: a month without customers at
    # its start shows #DIV/0!, bad data its own error (with the reason in the
    # note of the values form), and the averages below show it too.
    array_formula(ws, f"H{HEADER_ROW + 1}:H{last}", f"=CXCHURN({start},{lost})")
    array_formula(ws, f"I{HEADER_ROW + 1}:I{last}", f"=CXRETENTION({start},{end},{new})")
    for r in range(HEADER_ROW + 1, last + 1):
        ws.cell(r, 8).number_format = FORMATS["pct2"]
        ws.cell(r, 9).number_format = FORMATS["pct2"]

    ws.cell(HEADER_ROW, 11, "Summary").font = SECTION_FONT
    summary = [
        ("Pooled monthly churn (lost / start, all months)", f"=SUM({lost})/SUM({start})", FORMATS["pct2"]),
        ("Average of the monthly churn rates", f"=AVERAGE(H{HEADER_ROW + 1}:H{last})", FORMATS["pct2"]),
        ("Average of the monthly retention rates", f"=AVERAGE(I{HEADER_ROW + 1}:I{last})", FORMATS["pct2"]),
        ("Expected customer lifetime (months) = 1 / churn", f"=1/L{HEADER_ROW + 1}", FORMATS["dec1"]),
    ]
    for i, (label, formula, fmt) in enumerate(summary, start=1):
        ws.cell(HEADER_ROW + i, 11, label).font = LABEL_FONT
        ws.cell(HEADER_ROW + i, 12, formula).number_format = fmt

    chart = LineChart()
    chart.title = "Monthly churn rate"
    chart.y_axis.numFmt = "0.0%"
    chart.add_data(Reference(ws, min_col=8, min_row=HEADER_ROW, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=HEADER_ROW + 1, max_row=last))
    chart.x_axis.number_format = "mmm yy"
    chart.height, chart.width = 8, 17
    readable_axes(chart)
    ws.add_chart(chart, f"K{HEADER_ROW + 7}")

    set_widths(ws, {"A": 11, "B": 12, "C": 12, "D": 12, "E": 14, "F": 12, "G": 3, "H": 12, "I": 12, "J": 3, "K": 30, "L": 12})
    for cell in ws[HEADER_ROW][:9]:
        cell.alignment = Alignment(horizontal="center", vertical="center")
    fit_headers(ws, [HEADER_ROW])
    fit_column(ws, "K", [label for label, _, _ in summary], bold=True)
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 2)
    print_layout(ws, title_rows=f"{HEADER_ROW}:{HEADER_ROW}", title_cols="A:A")
    return n


# "not reached" only where the CAC is genuinely never earned back: no
# positive monthly margin, or a whole lifetime's discounted margin below the
# CAC. An error in the CAC, margin, churn or rate shows as itself.
# Without an acquisition spend the CAC cell says so in words (NO_SPEND) and
# the cells over it repeat its words.
CAC_PAYBACK_FORMULA = (
    '=IF(ISTEXT(C11),C11,IF(C11=0,0,IF(C5<=0,"not reached",IF(MonthlyRate+MonthlyChurn=0,C11/C5,IF(1-C11*(MonthlyRate+MonthlyChurn)/(C5*(1+MonthlyRate))<=0,"not reached",'
    'LN(1-C11*(MonthlyRate+MonthlyChurn)/(C5*(1+MonthlyRate)))/LN((1-MonthlyChurn)/(1+MonthlyRate)))))))'
)
CAC_FORMULA = f'=IF(ISBLANK(AcquisitionSpend),"{NO_SPEND}",CXCAC(AcquisitionSpend,NewCustomers))'
LTV_CAC_FORMULA = "=IF(ISTEXT(C11),C11,CXLTVCAC(C7,C11))"

# Without an acquisition spend the verdict asks for it; an error in the
# ratio shows as itself.
VERDICT_FORMULA = (
    f'=IF(ISNUMBER(C12),IF(C12>=3,"{VERDICTS[0]}",IF(C12>=1,"{VERDICTS[1]}","{VERDICTS[2]}")),'
    f'IF(ISBLANK(AcquisitionSpend),"{ASK_FOR_SPEND}",C12))'
)


CAC_PAYBACK_NOTE = (
    "Months to earn back the CAC: where the curve below crosses the acquisition cost, "
    "n = LN(1 - CAC (d+c) / (m (1+d))) / LN((1-c) / (1+d)) with m the monthly margin, c the monthly churn, d the monthly discount rate."
)


CLTV_PRINTED_MONTHS = 12


def _write_cltv(ws: Worksheet, currency: str) -> None:
    money2 = currency_format(currency, 2)
    title(ws, "Customer lifetime value and acquisition cost", "From the Inputs sheet. Monthly figures; future margin discounted at the monthly rate.")
    ws.cell(4, 2, "Lifetime value").font = SECTION_FONT
    lifetime = "ARPU,GrossMargin,MonthlyChurn"
    rows = [
        (5, "Monthly margin per customer (ARPU x gross margin)", "=ARPU*GrossMargin", money2),
        (6, "Simple CLTV: margin / churn (CXCLTV)", f"=CXCLTV({lifetime})", money2),
        (7, "Discounted CLTV, whole lifetime (CXCLTV)", f"=CXCLTV({lifetime},MonthlyRate)", money2),
        (8, "Discounted CLTV over the horizon (CXCLTV)", f"=CXCLTV({lifetime},MonthlyRate,HorizonMonths)", money2),
        (9, "Expected lifetime in months (1 / churn)", "=1/MonthlyChurn", FORMATS["dec1"]),
        (11, "Acquisition cost per customer (CXCAC)", CAC_FORMULA, money2),
        (12, "LTV:CAC, discounted CLTV / CAC (CXLTVCAC)", LTV_CAC_FORMULA, "0.00"),
        # discounted, as the curve below: the month n at which the cumulative
        # discounted margin m(1+d)/(d+c)(1-((1-c)/(1+d))^n) (CXCLTV over n
        # months) reaches the CAC, solved for n; never when the whole
        # lifetime's value stays below it
        (13, "Months to earn back the CAC (discounted margin)", CAC_PAYBACK_FORMULA, FORMATS["dec1"]),
        (14, "Verdict", VERDICT_FORMULA, FORMATS["general"]),
        (16, "Check: simple CLTV from native formulas", "=ARPU*GrossMargin/MonthlyChurn", money2),
    ]
    ws.cell(10, 2, "Acquisition").font = SECTION_FONT
    for r, label, formula, fmt in rows:
        ws.cell(r, 2, label).font = LABEL_FONT
        cell = ws.cell(r, 3, formula)
        cell.number_format = fmt
        cell.font = Font(name="Calibri", bold=r in (6, 7, 12))
    ws.cell(17, 2, "The check equals the simple CLTV when the add-in and the sheet's own formulas agree.").font = NOTE_FONT
    payback_note = ws.cell(18, 2, CAC_PAYBACK_NOTE)
    payback_note.font, payback_note.alignment = NOTE_FONT, Alignment(wrap_text=True, vertical="top")

    first = 20
    ws.cell(first - 1, 2, f"Value of a customer over time (printed: the first {CLTV_PRINTED_MONTHS} months)").font = SECTION_FONT
    header_cells(ws, first, 2, ["Months as a customer", "Cumulative discounted margin", "Acquisition cost"])
    for k in range(1, VALUE_CURVE_MONTHS + 1):
        r = first + k
        months = ws.cell(r, 2, k)
        months.number_format, months.alignment = FORMATS["int"], Alignment(horizontal="center")
        ws.cell(r, 3, f"=CXCLTV({lifetime},MonthlyRate,B{r})").number_format = money2
        # the chart's CAC line: drawn only when there is a CAC (C11 shows its error)
        ws.cell(r, 4, '=IF(ISNUMBER($C$11),$C$11,"")').number_format = money2
    last = first + VALUE_CURVE_MONTHS

    chart = LineChart()
    chart.title = "A customer's cumulative margin against what they cost to win"
    chart.y_axis.title = currency
    chart.y_axis.numFmt = "#,##0"
    chart.x_axis.title = "months"
    chart.add_data(Reference(ws, min_col=3, max_col=4, min_row=first, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=2, min_row=first + 1, max_row=last))
    chart.height, chart.width = 9, 12  # F:I, on the printed page beside the figures
    readable_axes(chart)
    ws.add_chart(chart, "F4")
    set_widths(ws, {"A": 2, "B": 30, "C": 16, "D": 16})
    fit_column(ws, "B", [label for _, label, _, _ in rows], bold=True)
    ws.merge_cells("B18:D18")
    ws.row_dimensions[18].height = 13 * wrapped_lines(CAC_PAYBACK_NOTE, sum(ws.column_dimensions[c].width for c in "BCD"), size=10) + 4
    fit_headers(ws, [first])
    ws.freeze_panes = "A4"
    # one page: the figures, the chart beside them (F:I) and the curve's first year
    manual_pages(ws, [(1, 9)], first + CLTV_PRINTED_MONTHS, landscape=True)


def _write_cohorts(ws: Worksheet, orders: pd.DataFrame) -> None:
    title(ws, "Cohort retention", "Rows: the month of a customer's first order. Columns: months since then. Cells: the share of the cohort ordering in that month.")
    ids, dates = _column(orders["customer_id"].tolist()), _column([d.to_pydatetime() for d in orders["date"]])
    rows, cols = spill_shape("CXCOHORT", ids, dates, "M")
    top = HEADER_ROW + 1
    ws.cell(HEADER_ROW, 3, "Months since the first order").font = LABEL_FONT
    array_formula(ws, _block(top, 2, rows, cols), f'=CXCOHORT({TRANSACTIONS}[customer_id],{TRANSACTIONS}[date],"M")')
    for j in range(cols):
        cell = ws.cell(top, 2 + j)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(horizontal="center")
    for r in range(top + 1, top + rows):
        ws.cell(r, 2).font = LABEL_FONT
        for c in range(3, 2 + cols):
            ws.cell(r, c).number_format = "0%"
    if rows > 1 and cols > 1:
        matrix = _block(top + 1, 3, rows - 1, cols - 1)
        ws.conditional_formatting.add(matrix, ColorScaleRule(start_type="num", start_value=0, start_color="FFFFFF", end_type="num", end_value=0.5, end_color="2A9D8F"))
    ws.cell(top + rows + 1, 2, "Blank: that month has not happened yet for the cohort. Column 0 is 100% by definition.").font = NOTE_FONT
    set_widths(ws, {"A": 2, "B": 10, **{get_column_letter(c): 7 for c in range(3, 3 + max(cols - 1, 1))}})
    ws.freeze_panes = ws.cell(top + 1, 3)
    print_layout(ws, title_rows=f"{top}:{top}", title_cols="B:B")


def _write_survival(ws: Worksheet, summary: pd.DataFrame) -> None:
    title(ws, "Customer survival", "Kaplan-Meier: the share of customers still active after each number of months. Customers still active are counted up to the end of observation.")
    durations, churned = f"{CUSTOMERS}[tenure_months]", f"{CUSTOMERS}[churned]"
    ws.cell(HEADER_ROW, 2, "Still active after").font = SECTION_FONT
    header_cells(ws, HEADER_ROW + 1, 2, ["Months", "Share still active"])
    first_time = HEADER_ROW + 2
    last_time = first_time + len(SURVIVAL_TIMES) - 1
    for i, months in enumerate(SURVIVAL_TIMES):
        ws.cell(first_time + i, 2, months).number_format = FORMATS["int"]
        ws.cell(first_time + i, 3).number_format = FORMATS["pct"]
    array_formula(ws, f"C{first_time}:C{last_time}", f"=CXSURVIVAL({durations},{churned},B{first_time}:B{last_time})")

    cells = (_column(summary["tenure_months"].tolist()), _column(summary["churned"].tolist()))
    rows, cols = spill_shape("CXSURVIVAL", *cells)
    top = last_time + 3
    ws.cell(top - 1, 2, "Kaplan-Meier table (CXSURVIVAL)").font = SECTION_FONT
    array_formula(ws, _block(top, 2, rows, cols), f"=CXSURVIVAL({durations},{churned})")
    for j in range(cols):
        cell = ws.cell(top, 2 + j)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
    for r in range(top + 1, top + rows):
        for j, fmt in enumerate([FORMATS["int"], FORMATS["int"], FORMATS["int"], FORMATS["pct"]][:cols]):
            ws.cell(r, 2 + j).number_format = fmt

    chart = LineChart()
    chart.title = "Share of customers still active"
    chart.y_axis.numFmt = "0%"
    chart.y_axis.scaling.min = 0
    chart.y_axis.scaling.max = 1
    chart.x_axis.title = "months since the first order"
    chart.add_data(Reference(ws, min_col=1 + cols, min_row=top, max_row=top + rows - 1), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=2, min_row=top + 1, max_row=top + rows - 1))
    chart.height, chart.width = 9, 17
    readable_axes(chart)
    ws.add_chart(chart, "H4")
    set_widths(ws, {"A": 2, "B": 12, "C": 18, "D": 10, "E": 10, "F": 10})
    fit_headers(ws, [HEADER_ROW + 1])
    ws.freeze_panes = "A4"
    print_layout(ws)


PREDICTIVE_PRINTED_CUSTOMERS = 25


def _write_predictive(ws: Worksheet, summary: pd.DataFrame, currency: str) -> None:
    money2 = currency_format(currency, 2)
    title(ws, "Predicted customer lifetime value", "BG/NBD (orders) and Gamma-Gamma (order value) fitted on the Customers sheet; times in weeks.")
    customers = [f"{CUSTOMERS}[{c}]" for c in ("frequency", "recency", "T")]
    rfm_args = ",".join(customers)
    frequency, monetary = customers[0], f"{CUSTOMERS}[monetary_value]"
    cells = [_column(summary[c].tolist()) for c in ("frequency", "recency", "T", "monetary_value")]

    ws.cell(HEADER_ROW, 2, "BG/NBD purchase model (CXBGNBDFIT)").font = SECTION_FONT
    rows, cols = spill_shape("CXBGNBDFIT", *cells[:3])
    array_formula(ws, _block(HEADER_ROW + 1, 2, rows, cols), f"=CXBGNBDFIT({rfm_args})")
    ws.cell(HEADER_ROW, 5, "Gamma-Gamma spend model (CXGGFIT)").font = SECTION_FONT
    gg_rows, gg_cols = spill_shape("CXGGFIT", cells[0], cells[3])
    array_formula(ws, _block(HEADER_ROW + 1, 5, gg_rows, gg_cols), f"=CXGGFIT({frequency},{monetary})")
    for left, height in ((2, rows), (5, gg_rows)):
        for j in range(2):
            cell = ws.cell(HEADER_ROW + 1, left + j)
            cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        for r in range(HEADER_ROW + 2, HEADER_ROW + 1 + height):
            ws.cell(r, left + 1).number_format = "0.0000"

    n = len(summary)
    totals_top = HEADER_ROW + 1 + max(rows, gg_rows) + 2
    top = totals_top + 6
    last = top + n
    totals = [
        ("Customers", f"=ROWS({CUSTOMERS}[customer_id])", FORMATS["int"]),
        ("Expected orders over the horizon, all customers", f"=SUM(E{top + 1}:E{last})", FORMATS["dec1"]),
        ("Predicted value over the horizon, all customers", f"=SUM(G{top + 1}:G{last})", money2),
        ("Average predicted value per customer", f"=AVERAGE(G{top + 1}:G{last})", money2),
    ]
    ws.cell(totals_top, 2, "Over the prediction horizon (Inputs)").font = SECTION_FONT
    for i, (label, formula, fmt) in enumerate(totals, start=totals_top + 1):
        ws.cell(i, 2, label).font = LABEL_FONT
        ws.cell(i, 6, formula).number_format = fmt

    labels = ["customer_id", "frequency", "monetary_value", "Expected orders (CXBGNBD)", "P(alive) (CXPALIVE)", "Predicted value (CXCLV)"]
    header_cells(ws, top, 2, labels)
    for i in range(n):
        r = top + 1 + i
        ws.cell(r, 2, f"=INDEX({CUSTOMERS}[customer_id],{i + 1})")
        ws.cell(r, 3, f"=INDEX({frequency},{i + 1})").number_format = FORMATS["int"]
        ws.cell(r, 4, f"=INDEX({monetary},{i + 1})").number_format = money2
        ws.cell(r, 5).number_format = FORMATS["dec2"]
        ws.cell(r, 6).number_format = FORMATS["pct"]
        ws.cell(r, 7).number_format = money2
    if n:
        # a model that cannot be fitted shows its error in the first row
        # (build() shrinks the formula to it), and the totals above show it
        # too, never a sum of nothing
        array_formula(ws, f"E{top + 1}:E{last}", f"=CXBGNBD({rfm_args},PredictionWeeks)")
        array_formula(ws, f"F{top + 1}:F{last}", f"=CXPALIVE({rfm_args})")
        array_formula(ws, f"G{top + 1}:G{last}", f"=CXCLV({rfm_args},{monetary},PredictionMonths,MonthlyRate,{DAYS_PER_WEEK})")
    set_widths(ws, {"A": 2, "B": 16, "C": 14, "D": 16, "E": 14, "F": 14, "G": 14})
    fit_headers(ws, [top])
    ws.freeze_panes = ws.cell(top + 1, 3)
    print_layout(ws, title_rows=f"{top}:{top}")
    if n > PREDICTIVE_PRINTED_CUSTOMERS:  # printed: the models, the totals and the first customers
        ws.cell(top - 1, 2, f"Printed: the first {PREDICTIVE_PRINTED_CUSTOMERS} of {n} customers; Page Layout > Print Area > Clear Print Area prints all.").font = NOTE_FONT
        ws.print_area = f"A1:G{top + PREDICTIVE_PRINTED_CUSTOMERS}"


def build(data: TrackerInput | None = None) -> Workbook:
    """The live workbook (add-in formulas in the cells) for ``data``, or the
    shipped template with the example client when ``data`` is None.

    ``data.transactions`` (customer_id, date, amount) feed the Transactions,
    Customers, Cohorts, Survival and Predictive CLV sheets; the customer
    counts and revenue of ``data.kpis`` feed the Churn sheet; the gross
    margin, discount rate and acquisition spend (of a
    :class:`~cxroi_xl.engine.value.CustomerValueInput`; blank otherwise)
    the Inputs sheet. Raises :class:`~cxroi_xl.errors.InvalidInputError`
    without transactions.
    """
    data = data or example_input_with_orders()
    prepared = _prepare(data)
    orders, summary, months = prepared.orders, prepared.summary, prepared.months

    wb = Workbook()
    start = wb.active
    start.title = "Start here"
    sheets = {name: wb.create_sheet(name) for name, _ in SHEET_PURPOSES[1:]}
    _write_start_here(start, data.client_name)
    _write_inputs(sheets["Inputs"], data, prepared.figures.gross_margin, prepared.figures.acquisition_spend)
    _write_transactions(sheets["Transactions"], orders, data.currency)
    _write_customers(sheets["Customers"], summary, data.currency)
    _write_cltv(sheets["CLTV"], data.currency)
    _write_churn(sheets["Churn"], months, data.currency)
    _write_cohorts(sheets["Cohorts"], orders)
    _write_survival(sheets["Survival"], summary)
    _write_predictive(sheets["Predictive CLV"], summary, data.currency)
    wb.active = sheets["CLTV"]
    wb.formula_values = FormulaValues()
    single = fill_customer_value_values(wb.formula_values, orders, summary, months, prepared.figures)
    blocks = summary_blocks(data.currency)
    blocks["Transactions"].fill(wb.formula_values, "Transactions", {"date": _datetimes(orders["date"]), "amount": orders["amount"].tolist()})
    blocks["Customers"].fill(wb.formula_values, "Customers", {
        **{name: summary[name].tolist() for name in ("orders", "total_spend", "churned", "tenure_months")},
        **{name: _datetimes(summary[name]) for name in ("first_order", "last_order")},
    })
    for sheet, row, col in single:
        # an error answers in the formula's first cell only, as a dynamic array
        # shows a single value (and as cxroi-xl calc resizes it); no copy of
        # the error on every month or customer
        cell = wb[sheet].cell(row, col)
        cell.value = ArrayFormula(f"{cell.coordinate}:{cell.coordinate}", cell.value.text)
    return wb


@dataclasses.dataclass(frozen=True)
class _Prepared:
    """A client's frames as the sheets show them, and the figures that sum
    the client up."""

    orders: pd.DataFrame
    summary: pd.DataFrame
    months: pd.DataFrame
    figures: CustomerValueFigures


_LAST_PREPARED: list = []  # [(data, _Prepared)]: the last client's


def _prepare(data: TrackerInput) -> _Prepared:
    """The frames and figures of ``data``'s workbook. The batch asks for the
    figures twice per client (its summary line, then the workbook): the last
    client's are kept, so the models are fitted once."""
    if _LAST_PREPARED and _LAST_PREPARED[0][0] is data:
        return _LAST_PREPARED[0][1]
    orders = _orders(data.transactions)
    summary = customer_summary(orders)
    months = _customer_months(data.kpis)
    spend = getattr(data, "acquisition_spend", None)  # a plain TrackerInput carries none
    prepared = _Prepared(orders, summary, months, customer_value_figures(summary, months, data.discount_rate, data.gross_margin, spend))
    _LAST_PREPARED[:] = [(data, prepared)]
    return prepared


def figures(data: TrackerInput) -> CustomerValueFigures:
    """The figures ``build(data)`` writes into the Inputs and CLTV sheets and
    the Predictive CLV sheet's totals, as the engine gives them: what the
    batch summary reports for the client. Raises
    :class:`~cxroi_xl.errors.InvalidInputError` without transactions."""
    return _prepare(data).figures
