"""``portfolio.xlsx``: every client's headline figures in one table, their
totals per currency and, with exchange rates, in one reporting currency.

Headers, units and number formats come from the template's summary in
:mod:`cxroi_xl.workbooks.summary_columns` (the one declaration of each
template's summary columns, its title and its totals' ratio), so the
portfolio shows the same rounded figures as ``summary.csv``. Totals are
numbers computed here, not formulas: a formula cell would need a cached
value to show anything in a viewer that does not recalculate.
"""
from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import CellIsRule, ColorScaleRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from .summary_columns import ATTRIBUTION_TEMPLATE, CUSTOMER_VALUE_TEMPLATE, ROI_TEMPLATE, SummaryColumn, SummarySpec, convert_totals, currency_totals, summary_spec
from .common import BOLD_FONT, HEADER_FILL, HEADER_FONT, NOTE_FONT, SECTION_FONT, TABLE_STYLE, page_setup, print_layout, put_text, save_workbook, title

HEADER_ROW = 4
# Widths in characters: a header wraps at its spaces onto at most two lines,
# so a column is as wide as the longest word of its label or its widest value.
_MIN_WIDTH = 9
_MAX_WIDTH = 40


def _shown(value, column: SummaryColumn, currency: str) -> str:
    """Roughly the text Excel shows for ``value`` (for column widths)."""
    if value is None:
        return ""
    if column.unit in ("text", "verdict"):
        return str(value)
    if column.unit in ("rate", "probability"):
        return f"{float(value):.2%}"
    decimals = column.decimals(currency) or 0
    return f"{float(value):+,.{decimals}f}" if column.unit == "points" else f"{float(value):,.{decimals}f}"


def _width(label: str, texts) -> float:
    words = max((len(word) for word in label.split()), default=0)
    half = (len(label) + 1) // 2  # two lines of about half the label
    return float(min(_MAX_WIDTH, max(_MIN_WIDTH, words + 2, half + 2, *(len(t) + 2 for t in texts))))


def _header(ws: Worksheet, row: int, col: int, label: str) -> None:
    cell = ws.cell(row, col, label)
    cell.font = HEADER_FONT
    cell.fill = HEADER_FILL
    cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _put(ws: Worksheet, row: int, col: int, value, column: SummaryColumn, currency: str):
    cell = ws.cell(row, col)
    if column.unit in ("text", "verdict"):
        put_text(cell, value)  # client text starting with = stays text
    else:
        cell.value = value
        whole = column.unit != "count" or not isinstance(value, float) or value.is_integer()
        cell.number_format = column.excel_format(currency) if whole else "#,##0.00"
    return cell


def _client_table(ws: Worksheet, rows: list[dict], spec: SummarySpec) -> dict[str, float]:
    """The clients' table; returns the widths its columns need."""
    columns = spec.columns
    texts: dict[str, list[str]] = {c.name: [] for c in columns}
    for j, column in enumerate(columns, start=1):
        _header(ws, HEADER_ROW, j, column.label)
    for i, row in enumerate(rows, start=HEADER_ROW + 1):
        currency = row.get("currency") or "USD"
        for j, column in enumerate(columns, start=1):
            value = row.get(column.name)
            if spec.template == ROI_TEMPLATE and column.name == "payback_months" and value is None:
                value = "not reached"  # the net benefit never covers the costs in the tracked months
                cell = ws.cell(i, j, value)
                cell.alignment = Alignment(horizontal="right")
                texts[column.name].append(value)
                continue
            _put(ws, i, j, value, column, currency)
            texts[column.name].append(_shown(value, column, currency))
    n = max(len(rows), 1)
    ref = f"A{HEADER_ROW}:{get_column_letter(len(columns))}{HEADER_ROW + n}"
    table = Table(displayName="Portfolio", ref=ref)
    table.tableStyleInfo = TableStyleInfo(name=TABLE_STYLE, showRowStripes=True)
    # the human labels are the table's column names (nothing refers to them)
    table.tableColumns = [TableColumn(id=j, name=column.label) for j, column in enumerate(columns, start=1)]
    ws.add_table(table)
    ws.row_dimensions[HEADER_ROW].height = 30  # two lines of header
    return {c.name: _width(c.label, texts[c.name]) for c in columns}


def _total_columns(spec: SummarySpec, report_currency: str | None = None) -> list[tuple[str, str, SummaryColumn | None]]:
    """(key, label, summary column or None) of a totals table; converted
    totals add the rate used, last."""
    columns = [("currency", "Currency", None), ("clients", "Clients", None)]
    columns += [(name, spec.column(name).label, spec.column(name)) for name in spec.additive]
    columns.append((spec.ratio.name, spec.ratio.label, spec.ratio.column))
    if report_currency:
        columns.append(("rate", f"Rate ({report_currency} per unit)", None))
    return columns


def _totals_table(ws: Worksheet, top: int, heading: str, note: str, columns, rows: list[dict], amount_currency) -> int:
    """A heading, a note and a plain block of totals; returns the next free row."""
    ws.cell(top, 1, heading).font = SECTION_FONT
    ws.cell(top + 1, 1, note).font = NOTE_FONT
    header = top + 2
    for j, (_, label, _) in enumerate(columns, start=1):
        _header(ws, header, j, label)
    ws.row_dimensions[header].height = 30
    for i, row in enumerate(rows, start=header + 1):
        currency = amount_currency(row)
        for j, (key, _, column) in enumerate(columns, start=1):
            value = row.get(key)
            if column is None:
                cell = ws.cell(i, j)
                if isinstance(value, str):
                    put_text(cell, value)
                else:
                    cell.value = value
                    if key == "rate":
                        cell.number_format = "0.000000"
            else:
                cell = _put(ws, i, j, value, column, currency)
            if row.get("_bold"):
                cell.font = BOLD_FONT
    return header + 1 + len(rows) + 1


# What each template's portfolio draws beside its table: the column charted
# by client, the chart's title and axis format.
_CHARTS = {
    ROI_TEMPLATE: ("roi", "ROI by client", "0%"),
    CUSTOMER_VALUE_TEMPLATE: ("ltv_cac", "LTV:CAC by client", "0.0"),
    ATTRIBUTION_TEMPLATE: ("conversions", "Conversions by client", "#,##0"),
}


def _highlight(ws: Worksheet, spec: SummarySpec, data_range) -> None:
    """Colours that read the table at a glance, per template."""
    red = dict(font=Font(color="9C0006"), fill=PatternFill("solid", fgColor="FFC7CE"))
    if spec.template == ROI_TEMPLATE:
        ws.conditional_formatting.add(data_range("roi"), ColorScaleRule(start_type="num", start_value=-0.5, start_color="F8696B", mid_type="num", mid_value=0, mid_color="FFFFFF", end_type="num", end_value=2, end_color="63BE7B"))
        ws.conditional_formatting.add(data_range("npv"), CellIsRule(operator="lessThan", formula=["0"], **red))
        first = data_range("churn_baseline").split(":")[0]
        ws.conditional_formatting.add(data_range("churn_post"), CellIsRule(operator="greaterThan", formula=[first], font=Font(color="9C0006")))
    elif spec.template == CUSTOMER_VALUE_TEMPLATE:
        # 3 and more is the usual target; below 1 a customer costs more than she returns
        ws.conditional_formatting.add(data_range("ltv_cac"), ColorScaleRule(start_type="num", start_value=1, start_color="F8696B", mid_type="num", mid_value=2, mid_color="FFFFFF", end_type="num", end_value=3, end_color="63BE7B"))


def build_portfolio(rows: list[dict], fx: dict[str, float] | None = None, report_currency: str = "USD", template: str = ROI_TEMPLATE) -> Workbook:
    """The portfolio of ``template``'s summary ``rows`` (see
    :mod:`cxroi_xl.batch.summary`), titled for that template, with
    per-currency subtotals and, given ``fx`` (units of ``report_currency``
    per unit of each currency), converted totals."""
    spec = summary_spec(template)
    report_currency = report_currency.upper()
    wb = Workbook()
    ws = wb.active
    ws.title = "Portfolio"
    title(ws, spec.title, spec.subtitle.format(clients=len(rows)))
    widths = _client_table(ws, rows, spec)
    n = max(len(rows), 1)
    letter = {c.name: get_column_letter(j) for j, c in enumerate(spec.columns, start=1)}

    def data_range(name: str) -> str:
        return f"{letter[name]}{HEADER_ROW + 1}:{letter[name]}{HEADER_ROW + n}"

    _highlight(ws, spec, data_range)
    for name, width in widths.items():
        ws.column_dimensions[letter[name]].width = width
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 3)

    charted, chart_title, axis_format = _CHARTS[spec.template]
    chart = BarChart()
    chart.type = "bar"
    chart.title = chart_title
    chart.y_axis.numFmt = axis_format
    charted_col = list(letter).index(charted) + 1
    chart.add_data(Reference(ws, min_col=charted_col, min_row=HEADER_ROW, max_row=HEADER_ROW + n), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=2, min_row=HEADER_ROW + 1, max_row=HEADER_ROW + n))
    chart.height = max(8, 0.5 * n + 3)
    chart.width = 18
    chart.legend = None
    chart.x_axis.tickLblPos = "low"  # client names stay readable beside negative bars
    ws.add_chart(chart, f"{get_column_letter(len(spec.columns) + 2)}{HEADER_ROW}")
    # as many pages wide as it takes to print at 70 % or more (never one page
    # shrunk to 40 %), the client's id and name repeated on every page, the
    # table's header too; the chart after the columns
    print_layout(ws, title_rows=f"{HEADER_ROW}:{HEADER_ROW}", title_cols="A:B")

    _write_totals(wb.create_sheet("Totals"), rows, fx, report_currency, spec)
    return wb


def _write_totals(ws: Worksheet, rows: list[dict], fx: dict[str, float] | None, report_currency: str, spec: SummarySpec) -> None:
    title(ws, "Totals by currency", spec.totals_note)
    by_currency = currency_totals(rows, spec.template)
    totals = by_currency.to_dict("records")
    next_row = _totals_table(ws, 4, "By currency", "Each currency's clients, in that currency.", _total_columns(spec), totals, lambda row: row["currency"])
    shown = [(row, row["currency"]) for row in totals]
    if fx is not None:
        converted, grand = convert_totals(by_currency, fx, report_currency, spec.template)
        converted_rows = converted.to_dict("records") + [dict(grand, currency=f"All in {report_currency}", _bold=True)]
        note = f"Converted with the rates in fx.csv: units of {report_currency} for one unit of each currency."
        if grand["missing"]:
            note += " No rate for " + ", ".join(grand["missing"]) + ": left out of the total."
        _totals_table(ws, next_row, f"In {report_currency}", note, _total_columns(spec, report_currency), converted_rows, lambda row: report_currency)
        shown += [(row, report_currency) for row in converted_rows]
    for j, (key, label, column) in enumerate(_total_columns(spec, report_currency if fx is not None else None), start=1):
        texts = [str(row.get(key) or "") if column is None else _shown(row.get(key), column, currency) for row, currency in shown]
        ws.column_dimensions[get_column_letter(j)].width = _width(label, texts)
    page_setup(ws)


def write_portfolio(rows: list[dict], path: Path, fx: dict[str, float] | None = None, report_currency: str = "USD", template: str = ROI_TEMPLATE) -> Path:
    return save_workbook(build_portfolio(rows, fx, report_currency, template), path)
