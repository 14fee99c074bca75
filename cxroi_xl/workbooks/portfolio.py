"""``portfolio.xlsx``: every client's headline figures in one table, with
conditional formatting and a chart, for the consultant's overview."""
from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import CellIsRule, ColorScaleRule
from openpyxl.styles import Font, PatternFill

from .common import FORMATS, TableSpec, page_setup, save_workbook, set_widths, title

_COLUMNS = [
    ("client_id", FORMATS["text"]),
    ("client_name", FORMATS["text"]),
    ("currency", FORMATS["text"]),
    ("pv_benefits", "#,##0"),
    ("pv_costs", "#,##0"),
    ("npv", "#,##0"),
    ("roi", FORMATS["pct"]),
    ("payback_months", FORMATS["periods"]),
    ("nps_baseline", FORMATS["points"]),
    ("nps_post", FORMATS["points"]),
    ("csat_baseline", FORMATS["pct"]),
    ("csat_post", FORMATS["pct"]),
    ("churn_baseline", FORMATS["pct2"]),
    ("churn_post", FORMATS["pct2"]),
]


def build_portfolio(rows: list[dict]) -> Workbook:
    wb = Workbook()
    ws = wb.active
    ws.title = "Portfolio"
    title(ws, "Portfolio: CX automation returns by client", f"{len(rows)} clients. Amounts in each client's own currency; ROI and payback from the risk-adjusted, discounted model.")
    header_row = 4
    table = TableSpec("Portfolio", [(name, fmt, None) for name, fmt in _COLUMNS], header_row)
    n = table.write(ws, ([row.get(name) for name, _ in _COLUMNS] for row in rows), text_columns=("client_id", "client_name", "currency"))
    last = header_row + n
    roi = table.data_range("roi", n)
    npv = table.data_range("npv", n)
    ws.conditional_formatting.add(roi, ColorScaleRule(start_type="num", start_value=-0.5, start_color="F8696B", mid_type="num", mid_value=0, mid_color="FFFFFF", end_type="num", end_value=2, end_color="63BE7B"))
    ws.conditional_formatting.add(npv, CellIsRule(operator="lessThan", formula=["0"], font=Font(color="9C0006"), fill=PatternFill("solid", fgColor="FFC7CE")))
    ws.conditional_formatting.add(table.data_range("churn_post", n), CellIsRule(operator="greaterThan", formula=[f"{table.col_letter('churn_baseline')}{header_row + 1}"], font=Font(color="9C0006")))
    widths = {"client_id": max([12] + [len(str(row.get("client_id", ""))) + 2 for row in rows]), "client_name": 32, "currency": 10}
    set_widths(ws, {table.col_letter(name): widths.get(name, 14) for name, _ in _COLUMNS})
    ws.freeze_panes = ws.cell(header_row + 1, 3)

    chart = BarChart()
    chart.type = "bar"
    chart.title = "ROI by client"
    chart.y_axis.numFmt = "0%"
    roi_col = [name for name, _ in _COLUMNS].index("roi") + 1
    chart.add_data(Reference(ws, min_col=roi_col, min_row=header_row, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=2, min_row=header_row + 1, max_row=last))
    chart.height = max(8, 0.5 * n + 3)
    chart.width = 18
    chart.legend = None
    chart.x_axis.tickLblPos = "low"  # client names stay readable beside negative bars
    ws.add_chart(chart, f"P{header_row}")
    page_setup(ws)
    return wb


def write_portfolio(rows: list[dict], path: Path) -> Path:
    return save_workbook(build_portfolio(rows), path)
