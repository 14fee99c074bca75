"""The holistic ROI in the main tracker: every benefit stream month by month
over the horizon (on the ROI sheet), the ``Proxies`` sheet, the
``Scenarios`` sheet (low / expected / high, Monte Carlo, tornado) and the
ROI sheet's data check.

The cells are native formulas over the workbook's Tables and add-in calls
(``CXTEI``, ``CXMONTECARLO``, ``CXTORNADO``), so the
workbook stays live when a user edits the data; their cached values come
from the engine (:func:`cxroi_xl.workbooks.roi_values.fill_roi_values`).
The model is :func:`cxroi_xl.engine.tracker.benefit_streams`.
"""
from __future__ import annotations

import functools
from copy import copy
from dataclasses import dataclass

from openpyxl.chart import BarChart, Reference
from openpyxl.chart.marker import DataPoint
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ..engine.defaults import DEFAULT_SPREADS, MONTE_CARLO_SEED, MONTE_CARLO_TRIALS
from ..excel.catalogue.measured import MONTH_COLUMNS
from ..engine.streams import STREAMS
from ..engine.tracker import KPI_COLUMNS
from .common import (
    BOX,
    FORMATS,
    HEADER_FILL,
    HEADER_FONT,
    INPUT_FILL,
    LABEL_FONT,
    NOTE_FONT,
    SECTION_FONT,
    TableSpec,
    array_formula,
    currency_format,
    header_cells,
    fit_headers,
    manual_pages,
    print_layout,
    put_text,
    set_widths,
    title,
    validation,
)

__all__ = ["HorizonLayout", "STREAM_LABELS", "PROXIES", "MC_BINS", "write_horizon", "write_proxies", "write_scenarios", "write_data_check"]

PROXIES = "Proxies"
MEASURED_MONTH_COLUMNS = tuple(name for name, _ in MONTH_COLUMNS)
# The measured model's arguments, as CXMEASURED and CXMEASUREDMONTHS take them.
MODEL_ARGUMENTS = (
    "Baseline[#All],PostAutomation[#All],GoLive,OneOffCosts[#All],Proxies[#All],DiscountRate,BenefitRisk,RetentionRisk,UpliftRisk,CostRisk,"
    "GrossMargin,HorizonMonths,Method,HalfLifeService,HalfLifeRetention,HalfLifeUplift,RampMonths,Controls[#All]"
)
# Where the ROI sheet's holistic block sits (its builder and its engine values share them).
HOLISTIC_INPUT_ROW = 17  # first row of the holistic inputs
HOLISTIC_CALC_ROW = 28  # first row of their calculated cells
SUMMARY_FIRST_ROW = 6  # the Summary sheet: CXMEASURED's header at row 5, its first figure here
HOLISTIC_HEADLINE_COLUMNS = (4, 5)  # D: all streams to date, E: over the horizon
STREAM_LABELS = {"service": "Service savings", "retention": "Retained margin", "uplift": "Revenue uplift", "proxies": "Proxies"}
MC_BINS = 20
ROI_CHART_HEIGHT, ROI_CHART_WIDTH = 8, 17  # cm: four to the ROI sheet's printed chart page
# Dark for tracked months, light for projected ones: one pair per stream.
_COLOURS = {"service": ("1F77B4", "AEC7E8"), "retention": ("2CA02C", "98DF8A"), "uplift": ("FF7F0E", "FFBB78"), "proxies": ("9467BD", "C5B0D5"), "net": ("1F3A5F", "A9BCD0")}
_WARN_FILL = PatternFill("solid", fgColor="F8CBAD")


@dataclass(frozen=True)
class HorizonLayout:
    """Where the ROI sheet's horizon table sits: its header row, its number
    of month rows and its columns (1-based), by name."""

    header_row: int
    rows: int
    # CXMEASUREDMONTHS spills the first columns (header row included); the
    # sheet's own formulas follow.
    columns: tuple[str, ...] = (
        *MEASURED_MONTH_COLUMNS,
        "service_adjusted", "retention_adjusted", "uplift_adjusted", "proxies_adjusted", "benefit", "cost_adjusted", "net", "discounted_net", "cumulative_net",
        "benefit_to_date", "cost_to_date",
    )
    first_col: int = 2

    @property
    def first(self) -> int:
        return self.header_row + 1

    @property
    def last(self) -> int:
        return self.header_row + max(self.rows, 1)

    def col(self, name: str) -> int:
        return self.first_col + self.columns.index(name)

    def letter(self, name: str) -> str:
        return get_column_letter(self.col(name))

    def range(self, name: str, last: int | None = None, sheet: str | None = None) -> str:
        letter = self.letter(name)
        ref = f"${letter}${self.first}:${letter}${self.last if last is None else last}"
        return f"'{sheet}'!{ref}" if sheet else ref

    def streams_range(self, sheet: str | None = None) -> str:
        """The unadjusted streams, one column each (CXMONTECARLO's block)."""
        ref = f"${self.letter('service')}${self.first}:${self.letter('proxies')}${self.last}"
        return f"'{sheet}'!{ref}" if sheet else ref


_LABELS = {
    **dict(MONTH_COLUMNS),
    "service_adjusted": "Service savings, risk-adjusted", "retention_adjusted": "Retained margin, risk-adjusted", "uplift_adjusted": "Revenue uplift, risk-adjusted",
    "proxies_adjusted": "Proxies x confidence", "benefit": "Benefits, risk-adjusted (scenario)", "cost_adjusted": "Cost, risk-adjusted", "net": "Net",
    "discounted_net": "Discounted net", "cumulative_net": "Cumulative discounted net",
    "benefit_to_date": "Benefits counted, tracked months", "cost_to_date": "Cost, tracked months",
}

def horizon_formula(lay: HorizonLayout) -> str:
    """CXMEASUREDMONTHS over the workbook's tables and inputs: the first
    columns of the horizon table, header row included."""
    return f"=CXMEASUREDMONTHS({MODEL_ARGUMENTS})"


def _horizon_formulas(lay: HorizonLayout, r: int) -> dict[str, str]:
    """The sheet's own formulas of horizon row ``r``, right of the spill."""
    c = {name: f"{lay.letter(name)}{r}" for name in lay.columns}
    month = c["month"]
    value, confidence = f"{PROXIES}[monthly_value]", f"{PROXIES}[confidence]"
    covered = f'({PROXIES}[first_month]<EDATE({month},1))*((({PROXIES}[last_month]="")+({PROXIES}[last_month]>={month}))>0)'

    def adjusted(x: str, risk: str) -> str:
        return f"=IF({x}>=0,{x}*(1-{risk}),{x}*(1+{risk}))"

    first_cum = f"${lay.letter('discounted_net')}${lay.first}"
    counted = "+".join(f"{flag}*{c[f'{s}_adjusted']}" for s, flag in (("service", "ServiceCounted"), ("retention", "RetentionCounted"), ("uplift", "UpliftCounted")))
    return {
        "service_adjusted": adjusted(c["service"], "BenefitRisk"),
        "retention_adjusted": adjusted(c["retention"], "RetentionRisk"),
        "uplift_adjusted": adjusted(c["uplift"], "UpliftRisk"),
        # a proxy's confidence is its risk adjustment; a negative proxy is made worse
        "proxies_adjusted": f"=SUMPRODUCT({value}*{covered}*(({value}>=0)*{confidence}+({value}<0)*(2-{confidence})))",
        "benefit": f"=SUM({c['service_adjusted']}:{c['proxies_adjusted']})",
        "cost_adjusted": f"={c['cost']}*(1+CostRisk)",
        "net": f"={c['benefit']}-{c['cost_adjusted']}",
        "discounted_net": f"={c['net']}/(1+MonthlyRate)^{c['period']}",
        "cumulative_net": f"=SUM({first_cum}:{c['discounted_net']})",
        # the measured headline: the streams whose effect is demonstrated or
        # adverse (the flags on the Inputs sheet) and the proxies, tracked months only
        "benefit_to_date": f'=IF({c["status"]}="tracked",{counted}+{c["proxies_adjusted"]},0)',
        "cost_to_date": f'=IF({c["status"]}="tracked",{c["cost"]},0)',
    }


def tei_formula(lay: HorizonLayout, to_date: bool = False) -> str:
    """CXTEI of the risk-adjusted benefits and the costs (risk added by
    CXTEI) over the tracked months or the whole horizon."""
    if to_date:
        benefits, costs = lay.range("benefit_to_date"), lay.range("cost_to_date")
    else:
        benefits, costs = lay.range("benefit"), lay.range("cost")
    return f"CXTEI({benefits},{costs},MonthlyRate,0,CostRisk)"


def write_horizon(ws: Worksheet, lay: HorizonLayout, tracked: int, currency: str, chart_anchors: tuple[str, str]) -> None:
    """The horizon table (one row per month from go-live, ``lay.rows`` rows):
    CXMEASUREDMONTHS's spill, then the risk adjustment, the scenario's net
    and the measured headline's columns, and two charts, projected months
    drawn lighter, at ``chart_anchors`` (on the ROI sheet's printed chart
    page, beside the tracked months' two)."""
    money0 = currency_format(currency)
    ws.cell(lay.header_row - 2, lay.first_col, "Every benefit stream over the horizon").font = SECTION_FONT
    ws.cell(lay.header_row - 1, lay.first_col, (
        "Each driver against its counterfactual (what the baseline's level, trend and season predict); after the last tracked month each stream's "
        "average effect carries on with its half-life (Inputs). The scenario's benefits count every stream with an estimate; the measured headline only those demonstrated or adverse."
    )).font = NOTE_FONT
    spilled = len(MEASURED_MONTH_COLUMNS)
    last_spilled = get_column_letter(lay.first_col + spilled - 1)
    array_formula(ws, f"{get_column_letter(lay.first_col)}{lay.header_row}:{last_spilled}{lay.last}", horizon_formula(lay))
    native = lay.columns[spilled:]
    header_cells(ws, lay.header_row, lay.first_col + spilled, [_LABELS[name] for name in native])
    for j in range(spilled):  # the spill's own header, styled as the others
        cell = ws.cell(lay.header_row, lay.first_col + j)
        cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.row_dimensions[lay.header_row].height = 45
    formats = {
        "month": FORMATS["month"], "period": FORMATS["int"], "status": FORMATS["general"], "hours_expected": FORMATS["dec1"],
        "churn_expected": FORMATS["pct2"], "win_rate_expected": FORMATS["pct2"],
        "customers_saved": FORMATS["dec1"], "customers_kept": FORMATS["dec1"], "extra_wins": FORMATS["dec1"], "wins_kept": FORMATS["dec1"],
    }
    # Style the first row cell by cell, then copy its style arrays (setting
    # formats per cell costs more than writing the formulas).
    prototypes = {}
    for name in lay.columns:
        cell = ws.cell(lay.first, lay.col(name))
        cell.number_format = formats.get(name, money0)
        prototypes[name] = cell._style
    for i in range(lay.rows):
        r = lay.first + i
        for name, formula in _horizon_formulas(lay, r).items():
            ws.cell(r, lay.col(name), formula)
        if i:
            for name in lay.columns:
                ws.cell(r, lay.col(name))._style = copy(prototypes[name])
    categories = Reference(ws, min_col=lay.col("month"), min_row=lay.first, max_row=lay.last)
    streams = BarChart()
    streams.type, streams.grouping, streams.overlap = "col", "stacked", 100
    streams.title = "Risk-adjusted benefit by stream (lighter: projected)"
    for name in STREAMS:
        col = lay.col(f"{name}_adjusted")
        streams.add_data(Reference(ws, min_col=col, min_row=lay.header_row, max_row=lay.last), titles_from_data=True)
        _shade(streams.series[-1], name, tracked, lay.rows)
    _finish_chart(streams, categories, currency)
    ws.add_chart(streams, chart_anchors[0])

    cumulative = BarChart()
    cumulative.type = "col"
    cumulative.title = "Cumulative discounted net over the horizon (lighter: projected)"
    cumulative.add_data(Reference(ws, min_col=lay.col("cumulative_net"), min_row=lay.header_row, max_row=lay.last), titles_from_data=True)
    _shade(cumulative.series[0], "net", tracked, lay.rows)
    cumulative.legend = None
    _finish_chart(cumulative, categories, currency)
    ws.add_chart(cumulative, chart_anchors[1])


def _shade(series, name: str, tracked: int, rows: int) -> None:
    series.graphicalProperties = GraphicalProperties(solidFill=_COLOURS[name][0])
    series.dPt = [_light_point(name, i) for i in range(tracked, rows)]


@functools.lru_cache(maxsize=1024)
def _light_point(name: str, idx: int) -> DataPoint:
    """The data point of projected month ``idx`` of a stream, lighter; made
    once per process (clients of every shape share them: only read when a
    file is written). One entry is about 1 KiB, so the cache holds at most
    about 1 MiB however many shapes a batch has."""
    return DataPoint(idx=idx, spPr=GraphicalProperties(solidFill=_COLOURS[name][1]))


def _finish_chart(chart: BarChart, categories: Reference, currency: str) -> None:
    chart.set_categories(categories)
    chart.y_axis.title = currency
    chart.y_axis.numFmt = "#,##0"
    chart.x_axis.number_format = "mmm yy"
    chart.x_axis.tickLblPos = "low"  # month labels at the bottom, not on the zero line
    chart.height, chart.width = ROI_CHART_HEIGHT, ROI_CHART_WIDTH


# ---- data check ------------------------------------------------------------


def data_check_columns() -> list[tuple[str, str, str]]:
    """(sheet, table, column) of every number column the check covers."""
    return [(sheet, table, column) for sheet, table in (("Baseline", "Baseline"), ("Post-automation", "PostAutomation")) for column in KPI_COLUMNS]


DATA_CHECK_COL = 28  # AB: the working columns, off the printed page
BIG_ROW = 1_000_000


def write_data_check(ws: Worksheet, row: int, tables: dict[str, TableSpec]) -> None:
    """"Data check" at ``row``: how many cells of the number columns of
    Baseline and Post-automation hold text or nothing, and the first of
    them (column by column), highlighted when any; the working per column
    sits in columns AB:AG."""
    left = DATA_CHECK_COL
    header_cells(ws, 3, left, ["Table", "Column", "Text or blank", "First row", "First cell", "First so far"])
    ws.cell(2, left, "Working: the data check, column by column").font = NOTE_FONT
    for i, (sheet, table, column) in enumerate(data_check_columns()):
        r = 4 + i
        ref = f"{table}[{column}]"
        letter = tables[table].col_letter(column)
        ws.cell(r, left, table)
        ws.cell(r, left + 1, column)
        count, first, cell = (get_column_letter(left + k) + str(r) for k in (2, 3, 4))
        ws.cell(r, left + 2, f"=SUMPRODUCT(--ISTEXT({ref}))+COUNTBLANK({ref})")
        ws.cell(r, left + 3, f'=IF({count}>0,{BIG_ROW}-SUMPRODUCT(MAX(((ISTEXT({ref})+ISBLANK({ref}))>0)*({BIG_ROW}-ROW({ref})))),"")')
        ws.cell(r, left + 4, f"=IF({count}>0,\"'{sheet}'!{letter}\"&{first},\"\")")
        before = f"{get_column_letter(left + 5)}{r - 1}"
        ws.cell(r, left + 5, f"={cell}" if i == 0 else f'=IF({before}<>"",{before},{cell})')
    last = 4 + len(data_check_columns()) - 1
    counts = f"{get_column_letter(left + 2)}4:{get_column_letter(left + 2)}{last}"
    ws.cell(row, 2, "Data check: text or blank number cells").font = LABEL_FONT  # fits column B, printed too
    ws.cell(row, 3, f"=SUM({counts})").number_format = FORMATS["int"]
    ws.cell(row, 4, f'=IF(C{row}>0,"first: "&{get_column_letter(left + 5)}{last},"none")')
    ws.conditional_formatting.add(f"C{row}:D{row}", FormulaRule(formula=[f"$C${row}<>0"], fill=_WARN_FILL, font=Font(bold=True, color="9C0006")))


# ---- the Proxies sheet ---------------------------------------------------------

PROXY_COLUMNS_SPEC = [("name", FORMATS["text"], None), ("monthly_value", "money", None), ("first_month", FORMATS["month"], None), ("last_month", FORMATS["month"], None), ("confidence", FORMATS["pct"], None)]


def proxies_table(currency: str, header_row: int) -> TableSpec:
    columns = [(n, currency_format(currency) if f == "money" else f, formula) for n, f, formula in PROXY_COLUMNS_SPEC]
    return TableSpec(PROXIES, columns, header_row)


def write_proxies(ws: Worksheet, table: TableSpec, rows: list[list]) -> None:
    title(ws, "Financial proxies for intangibles", "What you can only estimate (lower agent turnover, fewer escalations, brand): a value per month, the months it covers and your confidence in it.")
    n = table.write(ws, rows, text_columns=("name",))
    ws.cell(table.header_row + max(n, 1) + 2, 1, "A blank last month runs to the end of the horizon. The benefit counted is value x confidence (a negative value, an intangible cost, x (2 - confidence)).").font = NOTE_FONT
    ws.add_data_validation(validation("decimal", operator="between", formula1="0", formula2="1", cells=table.data_range("confidence", n + 20), prompt="Your confidence, 0% to 100%"))
    ws.add_data_validation(validation("date", operator="greaterThan", formula1="36526", cells=" ".join(table.data_range(c, n + 20) for c in ("first_month", "last_month")), prompt="Any day of the month"))
    set_widths(ws, {"A": 34, "B": 16, "C": 14, "D": 14, "E": 13})
    fit_headers(ws, [table.header_row])  # snake_case table names on one line, never broken mid-word
    ws.freeze_panes = ws.cell(table.header_row + 1, 1)
    print_layout(ws, title_rows=f"{table.header_row}:{table.header_row}")


# ---- the Scenarios sheet -----------------------------------------------------------

SPREAD_ROW = 5  # streams in rows 5-8, costs in row 9
TABLE_ROW = 13  # the spilled tables' header row
MC_ROWS = 1 + 8 + MC_BINS
TORNADO_ROWS = 1 + len(STREAMS) + 1
TORNADO_CHART_ROW = TABLE_ROW + TORNADO_ROWS + 19  # below the histogram
EXPECTED_NPV_ROW = 10  # the tornado's centre, under P(NPV > 0)
TORNADO_DELTA_COL = 13  # M:N, the tornado chart's data (right of the Scale column)


def write_scenarios(ws: Worksheet, lay: HorizonLayout, currency: str, horizon_npv_cell: str) -> None:
    money0 = currency_format(currency)
    title(ws, "Scenarios: how likely is this to pay back?", "Your low and high multiples of each stream of the horizon scenario and of the costs (the data's own uncertainty is in the Summary's P(NPV > 0)).")  # fits the first printed page
    ws.merge_cells("A2:F2")  # wrapped within the first printed page
    ws["A2"].alignment = Alignment(wrap_text=True, vertical="top")
    ws.row_dimensions[2].height = 30
    header_cells(ws, 4, 2, ["Driver", "Low", "Expected", "High", "PV over the horizon, before risk"])
    ws.row_dimensions[4].height = 30
    rate_pow = f"(1+MonthlyRate)^{lay.range('period', sheet='ROI')}"
    drivers = [(STREAM_LABELS[s], DEFAULT_SPREADS[s], f"=SUMPRODUCT({lay.range(s, sheet='ROI')}/{rate_pow})") for s in STREAMS]
    drivers.append(("Costs", DEFAULT_SPREADS["cost"], f"=SUMPRODUCT({lay.range('cost', sheet='ROI')}/{rate_pow})"))
    for i, (label, (low, high), pv) in enumerate(drivers):
        r = SPREAD_ROW + i
        put_text(ws.cell(r, 2), label)
        ws.cell(r, 2).font = LABEL_FONT
        for col, value in ((3, low), (5, high)):
            cell = ws.cell(r, col, value)
            cell.fill, cell.border, cell.number_format = INPUT_FILL, BOX, "0.00"
        ws.cell(r, 4, 1).number_format = "0.00"
        ws.cell(r, 6, pv).number_format = money0
    last = SPREAD_ROW + len(STREAMS) - 1
    cost_row = last + 1
    ws.add_data_validation(validation("decimal", operator="between", formula1="0", formula2="1", cells=f"C{SPREAD_ROW}:C{cost_row}", prompt="The low multiple, 0 to 1 (1: no downside)"))
    ws.add_data_validation(validation("decimal", operator="greaterThanOrEqual", formula1="1", cells=f"E{SPREAD_ROW}:E{cost_row}", prompt="The high multiple, 1 or more"))
    # two lines, each within the first printed page's columns
    ws.cell(cost_row + 1, 2, "Defaults: service 0.9-1.1 (counted contacts and hours), retention 0.6-1.2,").font = NOTE_FONT
    ws.cell(cost_row + 2, 2, "uplift 0.5-1.2, proxies 0.5-1.0 (estimates), costs 0.95-1.3 (overruns).").font = NOTE_FONT
    # Each stream is scaled so that its spread's mean is the stream's risk
    # factor (1 - risk; costs 1 + risk): risk is counted once
    header_cells(ws, 4, 11, ["Scale"])
    risks = {"service": "(1-BenefitRisk)", "retention": "(1-RetentionRisk)", "uplift": "(1-UpliftRisk)", "proxies": "1"}
    for i, target in enumerate([*(risks[s] for s in STREAMS), "(1+CostRisk)"]):
        r = SPREAD_ROW + i
        ws.cell(r, 11, f"={target}/((C{r}+D{r}+E{r})/3)").number_format = "0.000"
    ws.cell(cost_row + 3, 2, "Each stream is scaled (K) so its spread's mean is its risk factor: risk is counted once.").font = NOTE_FONT

    for r, label, value in ((4, "Trials", MONTE_CARLO_TRIALS), (5, "Seed", MONTE_CARLO_SEED)):
        ws.cell(r, 8, label).font = LABEL_FONT
        cell = ws.cell(r, 9, value)
        cell.fill, cell.border, cell.number_format = INPUT_FILL, BOX, FORMATS["int"]
    ws.cell(7, 8, "Horizon NPV (scenario, risk-adjusted)").font = LABEL_FONT
    ws.cell(7, 9, f"={horizon_npv_cell}").number_format = money0
    ws.cell(8, 8, "Mean NPV (Monte Carlo)").font = LABEL_FONT
    ws.cell(8, 9, f"=C{TABLE_ROW + 4}").number_format = money0
    ws.cell(9, 8, "P(NPV > 0)").font = LABEL_FONT
    ws.cell(9, 9, f"=C{TABLE_ROW + 5}").number_format = FORMATS["pct"]
    # the tornado's centre: every driver at 1 (each stream at its scale K)
    ws.cell(EXPECTED_NPV_ROW, 8, "Expected NPV (every driver at 1)").font = LABEL_FONT
    ws.cell(EXPECTED_NPV_ROW, 9, f"=SUMPRODUCT(F{SPREAD_ROW}:F{last},K{SPREAD_ROW}:K{last})-F{cost_row}*K{cost_row}").number_format = money0

    streams = f"{lay.streams_range('ROI')}*TRANSPOSE(K{SPREAD_ROW}:K{last})"
    costs = f"{lay.range('cost', sheet='ROI')}*K{cost_row}"
    spreads = f"C{SPREAD_ROW}:C{last},E{SPREAD_ROW}:E{last},C{cost_row},E{cost_row}"
    ws.cell(TABLE_ROW - 1, 2, "Monte Carlo (CXMONTECARLO)").font = SECTION_FONT
    array_formula(ws, f"B{TABLE_ROW}:E{TABLE_ROW + MC_ROWS - 1}", f"=CXMONTECARLO({streams},{costs},MonthlyRate,{spreads},$I$4,$I$5,{MC_BINS})")
    for i in range(1, MC_ROWS):
        r = TABLE_ROW + i
        if i <= 8:
            ws.cell(r, 3).number_format = FORMATS["pct"] if i >= 5 else money0
        else:
            ws.cell(r, 3).number_format = money0
            ws.cell(r, 4).number_format = money0
            ws.cell(r, 5).number_format = FORMATS["int"]
    ws.cell(TABLE_ROW - 1, 7, "Tornado (CXTORNADO): NPV with one driver at its low and its high").font = SECTION_FONT
    array_formula(ws, f"G{TABLE_ROW}:J{TABLE_ROW + TORNADO_ROWS - 1}", f"=CXTORNADO({streams},{costs},MonthlyRate,{spreads},B{SPREAD_ROW}:B{last})")
    for r in range(TABLE_ROW + 1, TABLE_ROW + TORNADO_ROWS):
        for col in (8, 9, 10):
            ws.cell(r, col).number_format = money0
    # the bars start at the expected NPV: each driver's low and high as a
    # change from it (working columns, on screen only)
    header_cells(ws, TABLE_ROW, TORNADO_DELTA_COL, ["Low - expected", "High - expected"])
    for r in range(TABLE_ROW + 1, TABLE_ROW + TORNADO_ROWS):
        for k, source in enumerate(("H", "I")):
            ws.cell(r, TORNADO_DELTA_COL + k, f"={source}{r}-$I${EXPECTED_NPV_ROW}").number_format = money0

    histogram = BarChart()
    histogram.type, histogram.gapWidth = "col", 10
    histogram.title = "NPV over the horizon: trials per bin"
    first_bin, last_bin = TABLE_ROW + 9, TABLE_ROW + MC_ROWS - 1
    histogram.add_data(Reference(ws, min_col=5, min_row=first_bin, max_row=last_bin), titles_from_data=False)
    histogram.set_categories(Reference(ws, min_col=4, min_row=first_bin, max_row=last_bin))
    histogram.legend = None
    histogram.x_axis.title = f"NPV up to ({currency})"
    histogram.x_axis.number_format = "#,##0"
    histogram.x_axis.tickLblPos = "low"
    histogram.y_axis.title = "Trials"
    histogram.height, histogram.width = 8, 16
    ws.add_chart(histogram, f"G{TABLE_ROW + TORNADO_ROWS + 2}")

    tornado = BarChart()
    tornado.type, tornado.grouping, tornado.overlap = "bar", "clustered", 100
    tornado.title = "Tornado: change in NPV from the expected, each driver at its low and high"
    tornado.add_data(Reference(ws, min_col=TORNADO_DELTA_COL, max_col=TORNADO_DELTA_COL + 1, min_row=TABLE_ROW, max_row=TABLE_ROW + TORNADO_ROWS - 1), titles_from_data=True)
    tornado.set_categories(Reference(ws, min_col=7, min_row=TABLE_ROW + 1, max_row=TABLE_ROW + TORNADO_ROWS - 1))
    tornado.series[0].graphicalProperties = GraphicalProperties(solidFill="C0504D")  # low: red
    tornado.series[1].graphicalProperties = GraphicalProperties(solidFill="4F81BD")  # high: blue
    tornado.y_axis.numFmt = "#,##0"
    tornado.y_axis.title = f"Change in NPV ({currency})"
    tornado.x_axis.scaling.orientation = "maxMin"  # the largest swing on top
    tornado.x_axis.tickLblPos = "low"  # driver names at the left edge, clear of the bars
    tornado.height, tornado.width = 8, 16
    ws.add_chart(tornado, f"G{TORNADO_CHART_ROW}")

    set_widths(ws, {"A": 2, "B": 20, "C": 14, "D": 14, "E": 12, "F": 18, "G": 18, "H": 34, "I": 14, "J": 14, "K": 11})
    header_rows = sorted({cell.row for row in ws.iter_rows() for cell in row if cell.fill is not None and cell.fill.fgColor is not None and cell.fill.fgColor.rgb == HEADER_FILL.fgColor.rgb})
    fit_headers(ws, header_rows)  # one-word headers on one line, never broken mid-word
    ws.freeze_panes = "A4"
    # two portrait pages: the spreads and the Monte Carlo table (A:F), then
    # the headline, the tornado and the two charts (G:K)
    manual_pages(ws, [(1, 6), (7, 11)], max(TABLE_ROW + MC_ROWS - 1, TORNADO_CHART_ROW + 16), landscape=False)
