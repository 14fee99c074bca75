"""The main tracker, ``cx_automation_roi.xlsx``: baseline and post-automation
months, one-off costs, survey answers -> ROI and CX metrics.

The sheets compute the ROI model of :mod:`cxroi_xl.engine.tracker` with native Excel
formulas over Excel Tables (calculated columns extend when a user adds rows)
and call the add-in functions (``CXTEI``, ``CXROI``, ``CXNPS``, ...) for the
figures Excel cannot compute itself. ``build`` writes the workbook for any
client's data; with no data it writes the shipped template with an example
client.
"""
from __future__ import annotations

import functools
from copy import copy
from dataclasses import dataclass, replace

import jinja2
import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from .sample_data import synthetic_client
from ..engine.tracker import KPI_COLUMNS, TrackerInput, month_start
from .cache import FormulaValues
from .holistic_sheets import HOLISTIC_CALC_ROW, HOLISTIC_HEADLINE_COLUMNS, HOLISTIC_INPUT_ROW, MODEL_ARGUMENTS, SUMMARY_FIRST_ROW, ROI_CHART_HEIGHT, ROI_CHART_WIDTH, HorizonLayout, proxies_table, tei_formula, write_data_check, write_horizon, write_proxies, write_scenarios
from .roi_values import fill_roi_values
from .summaries import SummaryBlock, SummaryLine
from ..engine.streams import DEFAULT_HALF_LIVES
from .common import (
    BOX,
    StyledAlike,
    CALC_FILL,
    FORMATS,
    HEADER_FILL,
    HEADER_FONT,
    INPUT_FILL,
    LABEL_FONT,
    NOTE_FONT,
    BOLD_FONT,
    SECTION_FONT,
    VALUE_FONT,
    RowStream,
    TableSpec,
    currency_format,
    define_name,
    manual_pages,
    page_setup,
    print_layout,
    fit_headers,
    fit_column,
    wrapped_lines,
    readable_axes,
    array_formula,
    header_cells,
    put_text,
    set_widths,
    title,
    validation,
)

TEMPLATE_NAME = "cx_automation_roi"
COST_CATEGORIES = ("license", "implementation", "training", "integration", "other")
CURRENCIES = ("USD", "EUR", "GBP", "CAD", "AUD", "CHF", "JPY", "INR", "SEK", "NOK", "DKK", "NZD", "ZAR", "SGD", "BRL", "MXN", "PLN")

SHEET_PURPOSES = [
    ("Start here", "this page."),
    ("Summary", "one page to read first: the measured NPV and ROI to date with their intervals, each benefit stream's verdict, the horizon scenario with its projected share and P(NPV > 0), and the assumptions."),
    ("Inputs", "the client, the go-live month, the currency, the discount rate, each benefit stream's risk adjustment, the gross margin, the horizon, the counterfactual method and the half-lives of projected effects."),
    ("Baseline", "monthly service figures before automation."),
    ("Post-automation", "monthly figures from go-live on, with the month's benefit, cost and net benefit calculated."),
    ("Costs", "one-off costs of the automation."),
    ("Surveys", "customer survey answers (NPS, CSAT, CES)."),
    ("Proxies", "financial proxies for intangibles: an estimated value per month, the months it covers and your confidence."),
    ("Controls", "optional series the automation does not touch (an untreated region's churn, the market's demand): each enters every counterfactual fit."),
    ("ROI", "the return measured to date and the horizon scenario: every benefit stream (service savings, retained margin, revenue uplift, proxies) month by month against its counterfactual, each risk-adjusted by its own factor, PV of benefits and costs, NPV, ROI, payback, in tables and charts (projected months lighter), and a data check."),
    ("Scenarios", "how likely is this to pay back: low / expected / high per stream and for costs, a Monte Carlo table and NPV histogram, and a tornado chart."),
    ("CX metrics", "baseline against post-automation for NPS, CSAT, CES, first-contact resolution, churn, cost per contact and automation rate, with confidence intervals and a verdict."),
]

_ROW = "{T}[[#This Row],[%s]]"
HEADLINE_LABELS = ("PV benefits", "PV costs", "NPV", "ROI", "Payback (periods)")  # the rows of CXTEI's table


def _this(column: str) -> str:
    return _ROW % column


def _ratio(numerator: str, denominator: str) -> str:
    return f'IF({_this(denominator)}>0,{_this(numerator)}/{_this(denominator)},"")'


def _month_start(expr: str) -> str:
    return f"DATE(YEAR({expr}),MONTH({expr}),1)"


def _kpi_columns(currency: str) -> list[tuple[str, str, str | None]]:
    money0, money2 = currency_format(currency), currency_format(currency, 2)
    formats = {
        "contacts": FORMATS["int"],
        "automated_contacts": FORMATS["int"],
        "agent_hours": FORMATS["dec1"],
        "hourly_cost": money2,
        "first_contact_resolutions": FORMATS["int"],
        "active_customers": FORMATS["int"],
        "new_customers": FORMATS["int"],
        "churned_customers": FORMATS["int"],
        "revenue": money0,
        "automation_cost": money0,
    }
    columns: list[tuple[str, str, str | None]] = [("month", FORMATS["month"], None)]
    columns += [(name, formats[name], None) for name in KPI_COLUMNS]
    # optional: with them the revenue uplift is measured (blank: it is not estimable)
    columns += [(name, FORMATS["int"], None) for name in LEAD_COLUMNS]
    columns += [
        ("automation_rate", FORMATS["pct"], _ratio("automated_contacts", "contacts")),
        ("fcr_rate", FORMATS["pct"], _ratio("first_contact_resolutions", "contacts")),
        ("churn_rate", FORMATS["pct2"], _ratio("churned_customers", "active_customers")),
        ("cost_per_contact", money2, f'IF({_this("contacts")}>0,{_this("agent_hours")}*{_this("hourly_cost")}/{_this("contacts")},"")'),
    ]
    return columns


def _post_columns(currency: str) -> list[tuple[str, str, str | None]]:
    money0 = currency_format(currency)
    month = _month_start(_this("month"))
    one_offs_in_month = f'SUMIFS(OneOffCosts[amount],OneOffCosts[date],">="&{month},OneOffCosts[date],"<"&EDATE({month},1))'
    one_offs_before = 'SUMIFS(OneOffCosts[amount],OneOffCosts[date],"<"&GoLiveMonth)'
    return _kpi_columns(currency) + [
        ("period", FORMATS["int"], f'(YEAR({_this("month")})-YEAR(GoLive))*12+MONTH({_this("month")})-MONTH(GoLive)'),
        ("benefit", money0, f'{_this("contacts")}*BaselineCostPerContact-{_this("agent_hours")}*{_this("hourly_cost")}'),
        ("cost", money0, f'{_this("automation_cost")}+{one_offs_in_month}+IF({_this("period")}=0,{one_offs_before},0)'),
        ("net", money0, f'{_this("benefit")}*(1-BenefitRisk)-{_this("cost")}*(1+CostRisk)'),
        ("discounted_net", money0, f'{_this("net")}/(1+MonthlyRate)^{_this("period")}'),
        ("cumulative_net", money0, f'SUMIFS({{T}}[discounted_net],{{T}}[period],"<="&{_this("period")})'),
    ]


BASELINE = "Baseline"
POST = "PostAutomation"
COSTS = "OneOffCosts"
SURVEYS = "Surveys"
HEADER_ROW = 4


def _survey_columns() -> list[tuple[str, str, str | None]]:
    phase = (f'IF({_this("date")}="","",IF({_this("date")}<GoLiveMonth,"baseline","post"))')
    columns: list[tuple[str, str, str | None]] = [
        ("date", FORMATS["date"], None),
        ("nps", FORMATS["general"], None),
        ("csat", FORMATS["general"], None),
        ("ces", FORMATS["general"], None),
        ("phase", FORMATS["general"], phase),
    ]
    for question in ("nps", "csat", "ces"):
        for which in ("baseline", "post"):
            columns.append(
                (f"{question}_{which}", FORMATS["general"], f'IF(AND({_this("phase")}="{which}",ISNUMBER({_this(question)})),{_this(question)},"")')
            )
    return columns


# the phase ("baseline", "post") centred, so it never reads as part of the number beside it
SURVEY_ALIGNMENTS = {"phase": Alignment(horizontal="center")}


def example_input() -> TrackerInput:
    """The example client the shipped template is prefilled with."""
    sample = synthetic_client(seed=2024, profile="ecommerce", client_id="example", client_name="Example Client Ltd", with_leads=True, with_proxies=True)
    return TrackerInput(
        client_id=sample.client_id,
        client_name=sample.client_name,
        go_live=sample.go_live,
        kpis=sample.kpis,
        costs=sample.costs,
        surveys=sample.surveys,
        currency=sample.currency,
        proxies=sample.proxies,
    )


def start_here_markdown(client_name: str | None = None) -> str:
    """The 'Start here' text, shared with the README."""
    return _start_here_template().render(client_name=client_name, sheets=SHEET_PURPOSES)


@functools.lru_cache(maxsize=1)
def _start_here_template() -> jinja2.Template:
    # loaded once per process: a batch renders it for every client
    env = jinja2.Environment(loader=jinja2.PackageLoader("cxroi_xl", "workbooks"), autoescape=False, keep_trailing_newline=True)
    return env.get_template("start_here.md.j2")


def _write_start_here(ws: Worksheet, client_name: str) -> None:
    title(ws, "CX automation ROI tracker", f"Prepared for {client_name}" if client_name else "")
    if client_name:
        put_text(ws["A2"], f"Prepared for {client_name}")
    row = 4
    # one styled cell of each kind, its style copied to the others (setting
    # a Font or Alignment object per cell costs more than the text)
    styled: dict[str, object] = {}
    for line in start_here_markdown(client_name).splitlines():
        text = line.replace("**", "").replace("`", "")
        if not text.strip():
            row += 1 if row > 4 else 0
            continue
        cell = ws.cell(row, 1)
        if text.startswith("## "):
            cell.value = text[3:]
            if "heading" in styled:
                cell._style = copy(styled["heading"])
            else:
                cell.font = Font(name="Calibri", size=13, bold=True, color="1F3A5F")
                styled["heading"] = cell._style
        else:
            put_text(cell, text)
            if "text" in styled:
                cell._style = copy(styled["text"])
            else:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
                styled["text"] = cell._style
            # rough line count so wrapped paragraphs are not cut off
            ws.row_dimensions[row].height = 15 * wrapped_lines(text, START_HERE_WIDTH) + 2
        row += 1
    set_widths(ws, {"A": START_HERE_WIDTH})
    print_layout(ws)
    ws.page_setup.fitToHeight = 2  # a guide read in two pages, not four half-empty ones


START_HERE_WIDTH = 110


@dataclass(frozen=True)
class _InputRow:
    name: str
    label: str
    help: str
    number_format: str


def _named_cell(ws: Worksheet, row: int, name: str, label: str, help_text: str, number_format: str, fill, value, styles: StyledAlike, text: bool = False) -> None:
    """One row of the Inputs sheet: the label in A, the cell in B (an input
    or a formula; ``text``: written as text, whatever it starts with) named
    ``name`` for the other sheets' formulas, its help in C."""
    styles.style(ws.cell(row, 1, label), "label", font=LABEL_FONT)
    cell = ws.cell(row, 2)
    if text:
        put_text(cell, value)
    else:
        cell.value = value
    styles.style(cell, (number_format, fill is INPUT_FILL), number_format=number_format, fill=fill, border=BOX)
    styles.style(ws.cell(row, 3, help_text), "help", font=NOTE_FONT)
    define_name(ws.parent, name, ws.title, f"B{row}")


def _write_inputs(ws: Worksheet, data: TrackerInput) -> None:
    title(ws, "Inputs", "Yellow cells are yours to change; grey cells are calculated.")
    styles = StyledAlike()
    rows = [
        (_InputRow("ClientName", "Client name", "As it should appear on reports.", FORMATS["text"]), data.client_name),
        (_InputRow("GoLive", "Go-live month", "Months from this one on count as post-automation.", FORMATS["month"]), data.go_live.to_pydatetime()),
        (_InputRow("Currency", "Currency", "ISO code of the amounts (USD, EUR, GBP...).", FORMATS["text"]), data.currency),
        (_InputRow("DiscountRate", "Annual discount rate", "Cost of capital used to discount future amounts; 10% is common.", FORMATS["pct"]), data.discount_rate),
        (_InputRow("BenefitRisk", "Benefit risk (service savings)", "Share by which service savings are reduced for uncertainty.", FORMATS["pct"]), data.benefit_risk),
        (_InputRow("CostRisk", "Cost risk", "Share by which costs are raised for uncertainty.", FORMATS["pct"]), data.cost_risk),
    ]
    for i, (spec, value) in enumerate(rows):
        _named_cell(ws, 4 + i, spec.name, spec.label, spec.help, spec.number_format, INPUT_FILL, value, styles, text=spec.name in ("ClientName", "Currency"))

    derived = [
        ("GoLiveMonth", "First day of the go-live month", "=DATE(YEAR(GoLive),MONTH(GoLive),1)", FORMATS["date"], "Period 0 starts here."),
        ("MonthlyRate", "Monthly discount rate", "=(1+DiscountRate)^(1/12)-1", "0.000%", "(1 + annual rate)^(1/12) - 1."),
        (
            "BaselineCostPerContact",
            "Baseline cost per contact",
            f"=SUMPRODUCT({BASELINE}[agent_hours],{BASELINE}[hourly_cost])/SUM({BASELINE}[contacts])",
            currency_format(data.currency, 2),
            "Agent cost per contact before automation.",
        ),
    ]
    ws.cell(11, 1, "Calculated").font = SECTION_FONT
    for i, (name, label, formula, fmt, help_text) in enumerate(derived):
        _named_cell(ws, 12 + i, name, label, help_text, fmt, CALC_FILL, formula, styles)

    _write_holistic_inputs(ws, data, styles)
    ws.add_data_validation(validation("list", formula1='"' + ",".join(CURRENCIES) + '"', cells="B6", prompt="ISO currency code", allow_blank=False))
    ws.add_data_validation(validation("date", operator="greaterThan", formula1="36526", cells="B5", prompt="Any day of the go-live month"))
    ws.add_data_validation(validation("decimal", operator="between", formula1="0", formula2="1", cells="B7 B8", prompt="A percentage between 0% and 100%"))
    ws.add_data_validation(validation("decimal", operator="between", formula1="0", formula2="5", cells="B9", prompt="A percentage, 0% or more"))
    set_widths(ws, {"A": 33, "B": 22, "C": 70, "D": 16})  # A: the longest label, "Half-life, retained margin (months)"
    ws.freeze_panes = "A4"
    page_setup(ws)




def _write_holistic_inputs(ws: Worksheet, data: TrackerInput, styles: StyledAlike) -> None:
    """The inputs of the measured model (the other streams, the horizon,
    the counterfactual method, the projection's half-lives and ramp-up) and
    what is derived: baseline churn and revenue per customer, the months,
    and whether each stream counts in the measured headline."""
    ws.cell(HOLISTIC_INPUT_ROW - 1, 1, "Every benefit stream, measured against its counterfactual").font = SECTION_FONT
    half_lives = {**DEFAULT_HALF_LIVES, **(data.half_lives or {})}
    rows = [
        ("GrossMargin", "Gross margin", "Share of revenue kept as margin; values a retained or extra customer's revenue.", FORMATS["pct"], data.gross_margin),
        ("RetentionRisk", "Retention risk", "Share by which the retained margin is reduced for uncertainty.", FORMATS["pct"], data.retention_risk),
        ("UpliftRisk", "Uplift risk", "Share by which the revenue uplift is reduced for uncertainty.", FORMATS["pct"], data.uplift_risk),
        ("HorizonMonths", "Horizon (months)", "Months from go-live of the horizon scenario; 36 is common.", FORMATS["int"], data.horizon_months),
        ("Method", "Counterfactual method", "glm: regression on the baseline (level, trend, season); sts: structural time series (36 baseline months or more).", FORMATS["text"], data.method),
        ("HalfLifeService", "Half-life, service savings (months)", "Blank: no decay while the automation runs and is paid for.", FORMATS["int"], half_lives["service"]),
        ("HalfLifeRetention", "Half-life, retained margin (months)", "After the last tracked month the customers saved per month halve every so many months.", FORMATS["int"], half_lives["retention"]),
        ("HalfLifeUplift", "Half-life, revenue uplift (months)", "The same for the extra wins per month.", FORMATS["int"], half_lives["uplift"]),
        ("RampMonths", "Ramp-up (months)", "Months from go-live until a projected effect has its full size; 0: at once.", FORMATS["int"], data.ramp_months),
    ]
    for i, (name, label, help_text, fmt, value) in enumerate(rows):
        _named_cell(ws, HOLISTIC_INPUT_ROW + i, name, label, help_text, fmt, INPUT_FILL, value, styles, text=name == "Method")
    start_of_month = f"(SUM({BASELINE}[active_customers])-SUM({BASELINE}[new_customers])+SUM({BASELINE}[churned_customers]))"
    derived = [
        ("BaselineChurn", "Baseline churn (monthly)", f"=SUM({BASELINE}[churned_customers])/{start_of_month}", FORMATS["pct2"], "Churned / customers at the month's start over the baseline months."),
        ("BaselineARPU", "Baseline revenue per customer", f"=SUM({BASELINE}[revenue])/SUM({BASELINE}[active_customers])", currency_format(data.currency, 2), "Revenue / active customers per month."),
        ("BaselineMonths", "Baseline months", f"=COUNT({BASELINE}[month])", FORMATS["int"], "Months before go-live: effects need 12 (or a control series)."),
        ("TrackedMonths", "Tracked months", f"=COUNT({POST}[month])", FORMATS["int"], "Post-automation months with data: nothing is projected with fewer than 6."),
        ("HorizonRows", "Months reported", "=IF(TrackedMonths>=6,MAX(HorizonMonths,TrackedMonths),TrackedMonths)", FORMATS["int"], "The horizon, or the tracked months when there are more or fewer than 6."),
        ("ServiceCounted", "Service savings counted", '=OR(INDEX(SummaryValues,MATCH("Service savings: verdict",SummaryLabels,0))="demonstrated",INDEX(SummaryValues,MATCH("Service savings: verdict",SummaryLabels,0))="adverse")', FORMATS["general"], "In the measured headline: its effect is demonstrated or adverse (Summary)."),
        ("RetentionCounted", "Retained margin counted", '=OR(INDEX(SummaryValues,MATCH("Retained margin: verdict",SummaryLabels,0))="demonstrated",INDEX(SummaryValues,MATCH("Retained margin: verdict",SummaryLabels,0))="adverse")', FORMATS["general"], "The same for the retained margin."),
        ("UpliftCounted", "Revenue uplift counted", '=OR(INDEX(SummaryValues,MATCH("Revenue uplift: verdict",SummaryLabels,0))="demonstrated",INDEX(SummaryValues,MATCH("Revenue uplift: verdict",SummaryLabels,0))="adverse")', FORMATS["general"], "The same for the revenue uplift."),
    ]
    ws.cell(HOLISTIC_CALC_ROW - 1, 1, "Calculated").font = SECTION_FONT
    for i, (name, label, formula, fmt, help_text) in enumerate(derived):
        _named_cell(ws, HOLISTIC_CALC_ROW + i, name, label, help_text, fmt, CALC_FILL, formula, styles)
    first = HOLISTIC_INPUT_ROW
    ws.add_data_validation(validation("decimal", operator="between", formula1="0", formula2="1", cells=f"B{first}:B{first + 2}", prompt="A percentage between 0% and 100%"))
    ws.add_data_validation(validation("whole", operator="between", formula1="1", formula2="600", cells=f"B{first + 3}", prompt="Months, 1 to 600"))
    ws.add_data_validation(validation("list", formula1='"glm,sts"', cells=f"B{first + 4}", prompt="glm or sts", allow_blank=False))
    ws.add_data_validation(validation("decimal", operator="between", formula1="0", formula2="600", cells=f"B{first + 5}:B{first + 7}", prompt="Months, or blank for no decay"))
    ws.add_data_validation(validation("whole", operator="between", formula1="0", formula2="120", cells=f"B{first + 8}", prompt="Months, 0 to 120"))


SUMMARY_WIDTH = 74  # columns B and C together, in characters


def _write_summary(ws: Worksheet, currency: str) -> None:
    """One page a finance reviewer reads first: CXMEASURED's figures, each
    labelled with what it counts, and how to read them."""
    from ..engine.counterfactual import SUFFICIENCY_RULE as FIGURE_RULE_TEXT
    from ..excel.catalogue.measured import FIGURE_FORMATS, FIGURE_LABELS

    title(ws, "Summary: what the automation returned", "Measured: effects against the baseline's counterfactual, with intervals. Projected: the horizon scenario. Assumed: your inputs.")
    ws.cell(4, 2, "The measured model (CXMEASURED)").font = SECTION_FONT
    last = SUMMARY_FIRST_ROW + len(FIGURE_LABELS) - 1
    array_formula(ws, f"B{SUMMARY_FIRST_ROW - 1}:C{last}", f"=CXMEASURED({MODEL_ARGUMENTS})")
    for c in (2, 3):
        ws.cell(SUMMARY_FIRST_ROW - 1, c).font = HEADER_FONT
        ws.cell(SUMMARY_FIRST_ROW - 1, c).fill = HEADER_FILL
    money = currency_format(currency)
    formats = {"money": money, "pct": FORMATS["pct"], "months": FORMATS["dec1"], "count": FORMATS["int"], "text": FORMATS["general"]}
    styles = StyledAlike()
    for i, kind in enumerate(FIGURE_FORMATS):
        # numbers to the right, clear of the labels; words from the left, wrapped
        alignment = Alignment(horizontal="left", wrap_text=True, vertical="top") if kind == "text" else Alignment(horizontal="right", vertical="top")
        styles.style(ws.cell(SUMMARY_FIRST_ROW + i, 3), kind, number_format=formats[kind], alignment=alignment)
        styles.style(ws.cell(SUMMARY_FIRST_ROW + i, 2), "label", font=LABEL_FONT)
    define_name(ws.parent, "SummaryLabels", ws.title, f"$B${SUMMARY_FIRST_ROW}:$B${last}")
    define_name(ws.parent, "SummaryValues", ws.title, f"$C${SUMMARY_FIRST_ROW}:$C${last}")
    notes = [
        "How to read it",
        "Measured to date counts only the streams whose effect is demonstrated (the whole 95% interval on the good side) or adverse (on the bad side, with its sign), plus the proxies you estimated (assumed).",
        "A stream 'not demonstrated' may be real or noise: the data cannot tell. 'Not estimable': too few baseline months (12 are needed). 'Not corroborated': the customer counts do not show the customers the lower churn claims.",
        "The horizon is a scenario: measured effects carried past the tracked months with the half-lives on the Inputs sheet. Its projected share says how much of it is projection.",
        "P(horizon NPV > 0) draws every stream's effect from its fit (the data's uncertainty), then your risk spreads (Scenarios sheet).",
    ]
    below = last + 2
    ws.cell(below, 2, notes[0]).font = SECTION_FONT
    for i, text in enumerate(notes[1:]):
        r = below + 1 + i
        cell = ws.cell(r, 2, text)
        cell.font = NOTE_FONT
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.merge_cells(start_row=r, start_column=2, end_row=r, end_column=3)
        ws.row_dimensions[r].height = 13 * wrapped_lines(text, SUMMARY_WIDTH, size=9) + 3
    rule = SUMMARY_FIRST_ROW + FIGURE_LABELS.index("Data rule")
    ws.row_dimensions[rule].height = 13 * wrapped_lines(FIGURE_RULE_TEXT, 36) + 3
    ws.cell(rule, 2).alignment = Alignment(vertical="top")  # beside the first line of the rule
    ws.merge_cells("A2:C2")  # the subtitle wraps within the page
    ws["A2"].alignment = Alignment(wrap_text=True, vertical="top")
    ws.row_dimensions[2].height = 30
    set_widths(ws, {"A": 2, "B": 38, "C": 36})  # portrait: the page a reviewer reads first
    ws.freeze_panes = "A4"
    page_setup(ws, one_page=True)  # the page a reviewer reads first
    ws.page_setup.orientation = "portrait"
    ws.print_area = f"A1:C{below + len(notes) - 1}"


LEAD_COLUMNS = ("leads", "won")


def _kpi_rows(frame: pd.DataFrame) -> list[list]:
    months = pd.to_datetime(frame["month"]).to_numpy().astype("datetime64[M]").astype("datetime64[us]").tolist()
    columns = [_numbers(frame[name].to_numpy(dtype=float)) for name in KPI_COLUMNS]
    columns += [_numbers(frame[name].to_numpy(dtype=float)) if name in frame.columns else [None] * len(frame) for name in LEAD_COLUMNS]
    return [[month, *row] for month, row in zip(months, zip(*columns))]


def _number(value: float):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return int(value) if float(value).is_integer() else float(value)


def _numbers(values: np.ndarray) -> list:
    """:func:`_number` of a whole column: whole numbers as int, NaN as None."""
    return [None if v != v else int(v) if v.is_integer() else v for v in np.asarray(values, dtype=float).tolist()]


def _datetimes(values) -> list:
    return pd.to_datetime(pd.Series(values)).to_numpy().astype("datetime64[us]").tolist() if len(values) else []


def _kpi_summary_lines(currency: str, post: bool) -> tuple[SummaryLine, ...]:
    money0, money2 = currency_format(currency), currency_format(currency, 2)
    lines = [
        SummaryLine("Months", "COUNT", "month"),
        SummaryLine("First month", "MIN", "month", FORMATS["month"]),
        SummaryLine("Last month", "MAX", "month", FORMATS["month"]),
        SummaryLine("Contacts", "SUM", "contacts"),
        SummaryLine("Contacts handled by automation", "SUM", "automated_contacts"),
        SummaryLine("Agent hours", "SUM", "agent_hours", FORMATS["dec1"]),
        SummaryLine("Hourly cost, monthly average", "AVERAGE", "hourly_cost", money2),
        SummaryLine("First-contact resolutions", "SUM", "first_contact_resolutions"),
        SummaryLine("Active customers, monthly average", "AVERAGE", "active_customers"),
        SummaryLine("New customers", "SUM", "new_customers"),
        SummaryLine("Churned customers", "SUM", "churned_customers"),
        SummaryLine("Revenue", "SUM", "revenue", money0),
        SummaryLine("Automation cost", "SUM", "automation_cost", money0),
        SummaryLine("Leads", "SUM", "leads"),
        SummaryLine("Won", "SUM", "won"),
        SummaryLine("Automation rate, monthly average", "AVERAGE", "automation_rate", FORMATS["pct"]),
        SummaryLine("First-contact resolution, monthly average", "AVERAGE", "fcr_rate", FORMATS["pct"]),
        SummaryLine("Churn rate, monthly average", "AVERAGE", "churn_rate", FORMATS["pct2"]),
        SummaryLine("Cost per contact, monthly average", "AVERAGE", "cost_per_contact", money2),
    ]
    if post:
        lines += [
            SummaryLine("Service benefit (before/after)", "SUM", "benefit", money0),
            SummaryLine("Cost", "SUM", "cost", money0),
            SummaryLine("Net, risk-adjusted", "SUM", "net", money0),
        ]
    return tuple(lines)


def summary_blocks(currency: str) -> dict[str, SummaryBlock]:
    """The printed summary of each raw-data sheet, by sheet title (beside
    its table, one column apart)."""
    kpi_width, post_width = len(_kpi_columns(currency)), len(_post_columns(currency))
    return {
        "Baseline": SummaryBlock(BASELINE, "Baseline: before automation", _kpi_summary_lines(currency, post=False), kpi_width + 2),
        "Post-automation": SummaryBlock(POST, "Post-automation: from go-live on", _kpi_summary_lines(currency, post=True), post_width + 2),
        "Surveys": SummaryBlock(SURVEYS, "Survey answers", (
            SummaryLine("Answers", "COUNT", "date"),
            SummaryLine("First answer", "MIN", "date", FORMATS["date"]),
            SummaryLine("Last answer", "MAX", "date", FORMATS["date"]),
            SummaryLine("Answers before go-live", "COUNTIF", "phase", criterion="baseline"),
            SummaryLine("Answers from go-live on", "COUNTIF", "phase", criterion="post"),
            SummaryLine("NPS answers (0-10)", "COUNT", "nps"),
            SummaryLine("NPS answer, average", "AVERAGE", "nps", FORMATS["dec2"]),
            SummaryLine("CSAT answers (1-5)", "COUNT", "csat"),
            SummaryLine("CSAT answer, average", "AVERAGE", "csat", FORMATS["dec2"]),
            SummaryLine("CES answers (1-7)", "COUNT", "ces"),
            SummaryLine("CES answer, average", "AVERAGE", "ces", FORMATS["dec2"]),
        ), len(_survey_columns()) + 2),
    }


def _write_kpi_sheet(ws: Worksheet, table: TableSpec, frame: pd.DataFrame, heading: str, note: str, stream: RowStream | None, block: SummaryBlock) -> int:
    title(ws, heading, note)
    n = table.write(ws, _kpi_rows(frame), stream=stream)
    ws.add_data_validation(validation("whole", operator="greaterThanOrEqual", formula1="0", cells=" ".join(table.data_range(c, n) for c in ("contacts", "automated_contacts", "first_contact_resolutions", "active_customers", "new_customers", "churned_customers", *LEAD_COLUMNS)), prompt="A whole number, 0 or more (leads and won: in every month or in none)"))
    ws.add_data_validation(validation("decimal", operator="greaterThanOrEqual", formula1="0", cells=" ".join(table.data_range(c, n) for c in ("agent_hours", "hourly_cost", "revenue", "automation_cost")), prompt="A number, 0 or more"))
    widths = {table.col_letter("month"): 11}
    for name, _, _ in table.columns[1:]:
        widths[table.col_letter(name)] = 12
    for name in KPI_COLUMNS:  # wide enough for the largest amount, with its currency symbol
        largest = float(frame[name].abs().max()) if len(frame) else 0.0
        widths[table.col_letter(name)] = max(widths[table.col_letter(name)], len(f"{largest:,.2f}") + 6)
    set_widths(ws, widths)
    fit_headers(ws, [HEADER_ROW])  # snake_case table names on one line, never broken mid-word
    ws.row_dimensions[HEADER_ROW].height = 20
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 2)
    block.write(ws)
    return n


def _write_costs(ws: Worksheet, table: TableSpec, costs: pd.DataFrame, stream: RowStream | None) -> None:
    title(ws, "One-off costs", "Licence, implementation, training, integration... Costs dated before go-live count in the go-live month.")
    dates = _datetimes(costs["date"]) if len(costs) else []
    rows = [[d, c, a] for d, c, a in zip(dates, costs.get("category", []), _numbers(costs.get("amount", [])))]
    n = table.write(ws, rows, text_columns=("category",), stream=stream)
    ws.add_data_validation(validation("list", formula1='"' + ",".join(COST_CATEGORIES) + '"', cells=table.data_range("category", n + 20), prompt="One of: " + ", ".join(COST_CATEGORIES)))
    ws.add_data_validation(validation("date", operator="greaterThan", formula1="36526", cells=table.data_range("date", n + 20), prompt="The date of the cost"))
    set_widths(ws, {"A": 14, "B": 18, "C": 16})
    fit_headers(ws, [HEADER_ROW])
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 1)
    print_layout(ws, title_rows=f"{HEADER_ROW}:{HEADER_ROW}")


def _write_surveys(ws: Worksheet, table: TableSpec, surveys: pd.DataFrame, stream: RowStream | None, block: SummaryBlock) -> None:
    title(ws, "Survey answers", "One row per answer; leave a blank where a question was not answered. Grey columns are calculated.")
    dates = _datetimes(surveys["date"]) if len(surveys) else []
    rows = [list(r) for r in zip(dates, *(_numbers(surveys.get(q, [])) for q in ("nps", "csat", "ces")))]
    table.alignments.update(SURVEY_ALIGNMENTS)
    n = table.write(ws, rows, stream=stream)
    for column, low, high in (("nps", 0, 10), ("csat", 1, 5), ("ces", 1, 7)):
        ws.add_data_validation(validation("whole", operator="between", formula1=str(low), formula2=str(high), cells=table.data_range(column, n + 200), prompt=f"A whole number from {low} to {high}, or blank"))
    widths = {table.col_letter(name): 9 for name, _, _ in table.columns}
    widths[table.col_letter("date")] = 12
    widths[table.col_letter("phase")] = 12  # centred, clear of the numbers beside it
    set_widths(ws, widths)
    fit_headers(ws, [HEADER_ROW])
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 1)
    block.write(ws)


def horizon_layout(post_rows: int, horizon_rows: int) -> HorizonLayout:
    """Where the ROI sheet's horizon table goes: below the tracked months."""
    return HorizonLayout(header_row=max(22 + max(post_rows, 1) + 4, 40), rows=horizon_rows)  # below the tracked months' chart


DATA_CHECK_ROW = 19


CHART_COLUMNS = ("I", "N")  # the ROI sheet's chart page: two charts across
MONTHS_HEADER_ROW = 22  # the ROI sheet's month-by-month table: its header, then one row per tracked month
MONTHS_COLUMNS = (2, 7)  # its first and last columns (B:G)
ROI_PAGES = ((1, 8), (9, 18))  # printed: the figures and the months (A:H), then the four charts (I:R)


def roi_printed_rows(post_rows: int) -> int:
    """The last printed row of the ROI sheet: the tracked months or the
    charts beside them (a chart of 8 cm spans about 15 rows), whichever ends lower."""
    return max(MONTHS_HEADER_ROW + max(post_rows, 1), MONTHS_HEADER_ROW - 1 + 16)


def _write_roi(ws: Worksheet, post_rows: int, currency: str, horizon: HorizonLayout | None = None, tracked: int = 0, tables: dict | None = None) -> None:
    money0 = currency_format(currency)
    title(ws, "Return on investment", "Risk-adjusted and discounted monthly from the go-live month (period 0). See 'Start here' for the model.")
    ws.cell(4, 2, "Service savings before/after (CXTEI)").font = SECTION_FONT
    benefits, costs = f"{POST}[benefit]", f"{POST}[cost]"
    # One cell per figure of CXTEI's table, so that only the payback can say
    # "not reached", and only for the engine's #N/A (never pays back); any
    # other error, from bad data, shows as itself. No IFERROR.
    tei = f"CXTEI({benefits},{costs},MonthlyRate,BenefitRisk,CostRisk)"
    ws.cell(5, 2, "Metric")
    ws.cell(5, 3, "Value")
    for k, label in enumerate(HEADLINE_LABELS):
        ws.cell(6 + k, 2, label)
        figure = f"INDEX({tei},{k + 2},2)"
        ws.cell(6 + k, 3, f'=IF(ISNA({figure}),"not reached",{figure})' if label.startswith("Payback") else f"={figure}")
    for r, fmt in zip(range(6, 11), [money0, money0, money0, FORMATS["pct"], FORMATS["periods"]]):
        ws.cell(r, 3).number_format = fmt
        ws.cell(r, 3).font = VALUE_FONT
        ws.cell(r, 2).font = LABEL_FONT
    for c in (2, 3):
        ws.cell(5, c).font = HEADER_FONT
        ws.cell(5, c).fill = HEADER_FILL
    if horizon is not None:
        # The measured headline (tracked months, counted streams) and the
        # horizon scenario.
        ws.cell(4, 4, "Measured and scenario (CXTEI)").font = SECTION_FONT
        header_cells(ws, 5, 4, ["Measured to date", "Horizon scenario"])
        for col, tei in zip(HOLISTIC_HEADLINE_COLUMNS, (tei_formula(horizon, to_date=True), tei_formula(horizon))):
            for k, label in enumerate(HEADLINE_LABELS):
                figure = f"INDEX({tei},{k + 2},2)"
                cell = ws.cell(6 + k, col, f'=IF(ISNA({figure}),"not reached",{figure})' if label.startswith("Payback") else f"={figure}")
                cell.number_format = [money0, money0, money0, FORMATS["pct"], FORMATS["periods"]][k]
                cell.font = VALUE_FONT
        ws.cell(11, 4, "C: before/after, no counterfactual. D: demonstrated streams. E: scenario.").font = NOTE_FONT  # fits the first printed page

    ws.cell(12, 2, "Before/after service savings, one function each").font = SECTION_FONT
    singles = [
        ("ROI (CXROI)", f"=CXROI({benefits},{costs},MonthlyRate,BenefitRisk,CostRisk)", FORMATS["pct"]),
        ("NPV of the risk-adjusted net (CXNPV)", f"=CXNPV(MonthlyRate,{POST}[net])", money0),
        # #N/A is the engine's "never pays back"; any other error shows as itself
        ("Payback in months (CXPAYBACK)", f'=IF(ISNA(CXPAYBACK({POST}[net],MonthlyRate)),"not reached",CXPAYBACK({POST}[net],MonthlyRate))', FORMATS["periods"]),
        ("IRR per month (CXIRR)", f"=CXIRR({POST}[net])", FORMATS["pct2"]),
        ("Check: NPV from native formulas", f"=SUM({POST}[discounted_net])", money0),
    ]
    for i, (label, formula, fmt) in enumerate(singles):
        r = 13 + i
        ws.cell(r, 2, label).font = LABEL_FONT
        cell = ws.cell(r, 3, formula)
        cell.number_format = fmt
    ws.cell(18, 2, "The check equals NPV above when the add-in and the sheet's own formulas agree.").font = NOTE_FONT
    if tables is not None:
        write_data_check(ws, DATA_CHECK_ROW, tables)

    first = MONTHS_HEADER_ROW
    ws.cell(first - 1, 2, "Month by month").font = SECTION_FONT
    labels = ["Month", "Period", "Benefit", "Cost", "Risk-adjusted net", "Cumulative discounted net"]
    columns = ["month", "period", "benefit", "cost", "net", "cumulative_net"]
    formats = [FORMATS["month"], FORMATS["int"], money0, money0, money0, money0]
    header_cells(ws, first, MONTHS_COLUMNS[0], labels)
    ws.row_dimensions[first].height = 30
    for i in range(post_rows):
        for j, (column, fmt) in enumerate(zip(columns, formats)):
            cell = ws.cell(first + 1 + i, MONTHS_COLUMNS[0] + j, f"=INDEX({POST}[{column}],{i + 1})")
            cell.number_format = fmt
    last = first + max(post_rows, 1)

    bars = BarChart()
    bars.type = "col"
    bars.grouping = "clustered"
    bars.title = "Monthly benefit and cost"
    bars.y_axis.title = currency
    bars.y_axis.numFmt = "#,##0"
    bars.add_data(Reference(ws, min_col=4, max_col=5, min_row=first, max_row=last), titles_from_data=True)
    bars.set_categories(Reference(ws, min_col=2, min_row=first + 1, max_row=last))
    bars.x_axis.number_format = "mmm yy"
    bars.x_axis.tickLblPos = "low"
    bars.height, bars.width = ROI_CHART_HEIGHT, ROI_CHART_WIDTH
    ws.add_chart(bars, f"{CHART_COLUMNS[0]}4")

    line = LineChart()
    line.title = "Cumulative discounted net benefit (payback where it crosses zero)"
    line.y_axis.title = currency
    line.y_axis.numFmt = "#,##0"
    line.add_data(Reference(ws, min_col=7, min_row=first, max_row=last), titles_from_data=True)
    line.set_categories(Reference(ws, min_col=2, min_row=first + 1, max_row=last))
    line.x_axis.number_format = "mmm yy"
    line.x_axis.tickLblPos = "low"  # month labels at the bottom, not on the zero line
    line.height, line.width = ROI_CHART_HEIGHT, ROI_CHART_WIDTH
    ws.add_chart(line, f"{CHART_COLUMNS[0]}{first - 1}")

    if horizon is not None:
        write_horizon(ws, horizon, tracked, currency, (f"{CHART_COLUMNS[1]}4", f"{CHART_COLUMNS[1]}{first - 1}"))
    set_widths(ws, {"A": 2, "B": 38, "C": 18, "D": 16, "E": 16, "F": 18, "G": 24, "H": 16})
    for col in range(9, 22):
        ws.column_dimensions[get_column_letter(col)].width = 15
    ws.freeze_panes = "A4"
    # Two printed pages (ROI_PAGES). The horizon table, row by row, stays
    # on screen (Start here says how to print it); so do the data check's
    # working columns.
    manual_pages(ws, ROI_PAGES, roi_printed_rows(post_rows), landscape=True)


# The share metrics' rows of the CX metrics sheet (charted, and named in the
# values' reasons).
SHARE_METRIC_LABELS = {6: "CSAT (share 4-5 of 5)", 8: "First-contact resolution", 9: "Churn rate (monthly)", 11: "Automation rate"}


# Each CX metric row: label, better when, formulas for baseline, post and the
# interval of the change, and how the interval is computed.
def _write_cx_metrics(ws: Worksheet) -> None:
    title(ws, "CX metrics: before and after automation", "95% confidence intervals of the change; 'improved' or 'worse' only when the whole interval lies on one side of zero.")
    labels = ["Metric", "Better when", "Baseline", "Post-automation", "Change", "CI lower", "CI upper", "Verdict", "How the interval is computed"]
    header_cells(ws, 4, 1, labels)
    header_cells(ws, 4, 11, ["Baseline rate / NPS low", "Baseline low / NPS high", "Baseline high", "Post rate / NPS low", "Post low / NPS high", "Post high"])
    ws.cell(3, 11, "Working: intervals behind the table").font = NOTE_FONT

    def rate_args(successes: str, trials: str) -> str:
        return f"SUM({successes}),SUM({trials})"

    rows = []
    # NPS: difference of two independent multinomial estimates, z-interval.
    r = 5
    rows.append(("NPS (points)", "higher", f"=CXNPS({SURVEYS}[nps_baseline])", f"=CXNPS({SURVEYS}[nps_post])", None, None, "Score interval of each NPS (CXNPSCI), combined by Newcombe's method (each side from its own distances)", "points"))
    array_formula(ws, f"K{r}:L{r}", f"=CXNPSCI({SURVEYS}[nps_baseline])")
    array_formula(ws, f"N{r}:O{r}", f"=CXNPSCI({SURVEYS}[nps_post])")
    # The score intervals are asymmetric, so each side of the change d = post
    # - baseline takes its own distances (Newcombe 1998; Zou & Donner 2008):
    # lower = d - sqrt((post - post low)^2 + (base high - base)^2),
    # upper = d + sqrt((post high - post)^2 + (base - base low)^2).
    nps_ci = (f"=E{r}-SQRT((D{r}-N{r})^2+(L{r}-C{r})^2)", f"=E{r}+SQRT((O{r}-D{r})^2+(C{r}-K{r})^2)")

    # Shares with Wilson intervals, the difference by Newcombe's hybrid score
    # method (Newcombe 1998, method 10).
    def newcombe(row: int) -> tuple[str, str]:
        return (f"=E{row}-SQRT((N{row}-O{row})^2+(M{row}-K{row})^2)", f"=E{row}+SQRT((P{row}-N{row})^2+(K{row}-L{row})^2)")

    share_rows = [
        (6, SHARE_METRIC_LABELS[6], "higher", f'COUNTIF({SURVEYS}[csat_baseline],">=4"),COUNT({SURVEYS}[csat_baseline])', f'COUNTIF({SURVEYS}[csat_post],">=4"),COUNT({SURVEYS}[csat_post])', f"=CXCSAT({SURVEYS}[csat_baseline],5)", f"=CXCSAT({SURVEYS}[csat_post],5)"),
        (8, SHARE_METRIC_LABELS[8], "higher", rate_args(f"{BASELINE}[first_contact_resolutions]", f"{BASELINE}[contacts]"), rate_args(f"{POST}[first_contact_resolutions]", f"{POST}[contacts]"), "=K8", "=N8"),
        (9, SHARE_METRIC_LABELS[9], "lower", rate_args(f"{BASELINE}[churned_customers]", f"{BASELINE}[active_customers]"), rate_args(f"{POST}[churned_customers]", f"{POST}[active_customers]"), "=K9", "=N9"),
        (11, SHARE_METRIC_LABELS[11], "higher", rate_args(f"{BASELINE}[automated_contacts]", f"{BASELINE}[contacts]"), rate_args(f"{POST}[automated_contacts]", f"{POST}[contacts]"), "=K11", "=N11"),
    ]
    share_method = "Wilson interval of each share (CXRATE), Newcombe's score interval of the difference"
    churn_method = "Before/after as above; the verdict is the counterfactual's (churn against the baseline's level, trend and season: Summary)"
    cells: dict[int, tuple] = {5: rows[0][:4] + nps_ci + (rows[0][6], "points")}
    for row, label, better, base_args, post_args, base_formula, post_formula in share_rows:
        array_formula(ws, f"K{row}:M{row}", f"=CXRATE({base_args})")
        array_formula(ws, f"N{row}:P{row}", f"=CXRATE({post_args})")
        cells[row] = (label, better, base_formula, post_formula) + newcombe(row) + (churn_method if row == CHURN_ROW else share_method, "share")

    # Means: Welch's interval of the difference (CXUPLIFT).
    def uplift(row: int, label: str, better: str, baseline: str, post: str, kind: str, base_formula: str | None = None, post_formula: str | None = None):
        call = f"CXUPLIFT({baseline},{post})"
        cells[row] = (
            label,
            better,
            base_formula or f"=INDEX({call},2,2)",
            post_formula or f"=INDEX({call},3,2)",
            f"=INDEX({call},6,2)",
            f"=INDEX({call},7,2)",
            "Welch's t interval of the difference of means (CXUPLIFT)",
            kind,
        )

    uplift(7, "CES (mean effort, 1-7)", "lower", f"{SURVEYS}[ces_baseline]", f"{SURVEYS}[ces_post]", "score", f"=CXCES({SURVEYS}[ces_baseline])", f"=CXCES({SURVEYS}[ces_post])")
    uplift(10, "Cost per contact (monthly)", "lower", f"{BASELINE}[cost_per_contact]", f"{POST}[cost_per_contact]", "money")

    for row in sorted(cells):
        label, better, base, post, lower, upper, method, kind = cells[row]
        ws.cell(row, 1, label).font = LABEL_FONT
        ws.cell(row, 2, better)
        # No IFERROR: too few answers shows #DIV/0!, bad data its own error
        # (the reason is in the note of the values form); the verdict says
        # "not enough data" for either.
        ws.cell(row, 3, base)
        ws.cell(row, 4, post)
        ws.cell(row, 5, f"=D{row}-C{row}")
        ws.cell(row, 6, lower)
        ws.cell(row, 7, upper)
        if row == CHURN_ROW:  # the retention stream's verdict, so the two sheets never disagree
            ws.cell(row, 8, '=INDEX({"improved","worse","no clear change","not enough data","not corroborated"},MATCH(INDEX(SummaryValues,MATCH("Retained margin: verdict",SummaryLabels,0)),{"demonstrated","adverse","not demonstrated","not estimable","not corroborated"},0))')
        else:
            ws.cell(row, 8, f'=IF(OR(NOT(ISNUMBER(F{row})),NOT(ISNUMBER(G{row}))),"not enough data",IF(F{row}>0,IF(B{row}="higher","improved","worse"),IF(G{row}<0,IF(B{row}="higher","worse","improved"),"no clear change")))')
        ws.cell(row, 9, method).font = NOTE_FONT
        fmt = {"points": FORMATS["points"], "share": FORMATS["pct"], "score": FORMATS["dec2"], "money": FORMATS["dec2"]}[kind]
        for col in range(3, 8):
            ws.cell(row, col).number_format = fmt
        for col in range(11, 17):
            ws.cell(row, col).number_format = FORMATS["points"] if kind == "points" else FORMATS["pct"]
        ws.cell(row, 8).font = BOLD_FONT

    chart = BarChart()
    chart.type = "bar"
    chart.grouping = "clustered"
    chart.title = "Shares before and after automation"
    chart.x_axis.title = None
    chart.y_axis.numFmt = "0%"
    chart.y_axis.title = "Share of contacts or customers (%)"
    # Baseline and post of the share metrics (rows 6, 8, 9, 11) from the
    # working columns, one series each.
    chart_first = 14
    ws.cell(chart_first, 1, "Share metrics for the chart").font = NOTE_FONT
    header_cells(ws, chart_first + 1, 1, ["Metric", "Baseline", "Post-automation"])
    ws.row_dimensions[chart_first + 1].height = 30
    for i, row in enumerate((6, 8, 9, 11)):
        r = chart_first + 2 + i
        ws.cell(r, 1, f"=A{row}")
        ws.cell(r, 2, f"=C{row}").number_format = FORMATS["pct"]
        ws.cell(r, 3, f"=D{row}").number_format = FORMATS["pct"]
    chart.add_data(Reference(ws, min_col=2, max_col=3, min_row=chart_first + 1, max_row=chart_first + 5), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=chart_first + 2, max_row=chart_first + 5))
    chart.height, chart.width = 8, 16
    chart.legend.position = "b"  # at the right it squeezes the bars and is cut off
    readable_axes(chart)
    ws.add_chart(chart, f"D{chart_first}")

    set_widths(ws, {"A": 24, "B": 11, "C": 10, "D": 10, "E": 10, "F": 10, "G": 10, "H": 12, "I": METHOD_WIDTH, "J": 3, "K": 13, "L": 13, "M": 13, "N": 13, "O": 13, "P": 13})
    fit_column(ws, "A", [cells[row][0] for row in cells], bold=True)
    fit_column(ws, "H", VERDICTS, bold=True)
    for row in cells:
        # the verdict is text beside a right-aligned number: indent it, and
        # wrap the method at words in a column of its own
        for col in range(1, 8):
            ws.cell(row, col).alignment = Alignment(vertical="center")
        ws.cell(row, 8).alignment = Alignment(horizontal="left", indent=1, vertical="center")
        ws.cell(row, 9).alignment = Alignment(wrap_text=True, vertical="center")
        lines = wrapped_lines(cells[row][6], METHOD_WIDTH, size=10)
        ws.row_dimensions[row].height = max(15, 13 * lines + 3)
    fit_headers(ws, [4, chart_first + 1])
    ws.freeze_panes = "B5"
    ws.print_area = f"A1:I{chart_first + 18}"  # the working columns stay on screen only
    print_layout(ws, title_rows="4:4", last_col=9)


METHOD_WIDTH = 40
VERDICTS = ("improved", "worse", "no clear change", "not enough data", "not corroborated")
CHURN_ROW = 9


# The sheets whose content depends on the client only through their values
# and a few shape figures (SharedShape): a batch builds them once per shape
# and process and reuses them (frames.py).
SHARED_SHEETS = ("ROI", "Scenarios", "CX metrics")


@dataclass(frozen=True)
class SharedShape:
    """What the shared sheets are built from, besides the values of their
    cells: two clients of equal shape get the same shared sheets but for
    their cells' values."""

    currency: str
    post_rows: int
    horizon: HorizonLayout
    tracked: int


def build(data: TrackerInput | None = None, stream: RowStream | None = None, values: FormulaValues | None = None, model=None) -> Workbook:
    """The live workbook (add-in formulas in the cells) for ``data``, or the
    shipped template with the example client when ``data`` is None.

    With a ``stream``, the data tables' rows after the first are left to
    :class:`~cxroi_xl.workbooks.common.RowStream` (save with
    ``workbook_bytes(wb, stream)``): the fast route for batches.

    Every formula's value is computed by the engine
    (:func:`~cxroi_xl.workbooks.roi_values.fill_roi_values`) into
    ``values`` (a fresh :class:`FormulaValues` when not given), attached to
    the workbook as ``wb.formula_values``. When the engine refuses the data
    (no baseline contacts, ...) the values are left for the interpreter
    and a ``stream`` must not be used; :func:`engine_model` tells."""
    wb, shape = build_client_sheets(data, stream, values, model)
    build_shared_sheets(wb, shape)
    return wb


def build_client_sheets(data: TrackerInput | None = None, stream: RowStream | None = None, values: FormulaValues | None = None, model=None, currency: str | None = None, computed: FormulaValues | None = None) -> tuple[Workbook, SharedShape]:
    """The first part of :func:`build`: every sheet but the shared ones
    (left empty, in their places), and the values of every formula, the
    shared sheets' included. Returns the shape the shared sheets need.
    ``currency``: the one the sheets show, instead of the client's (the
    frames' placeholder currency, :mod:`~cxroi_xl.workbooks.frames`); no
    value depends on it, so ``computed``, the values of a build of the same
    client and model in another currency, are copied, not computed again."""
    data = data or example_input()
    currency = currency or data.currency
    from ..engine.tracker import split_phases

    baseline, post = split_phases(data.kpis, data.go_live)
    values = values if values is not None else FormulaValues()
    wb = Workbook()
    start = wb.active
    start.title = "Start here"
    sheets = {name: wb.create_sheet(name) for name, _ in SHEET_PURPOSES[1:]}
    streams = engine_streams(data)
    tracked = len(post)
    projected = max(int(data.horizon_months), tracked) if tracked >= 6 else tracked
    horizon = horizon_layout(len(post), streams.horizon_months if streams is not None else projected)
    _write_start_here(start, data.client_name)
    _write_inputs(sheets["Inputs"], data if currency == data.currency else replace(data, currency=currency))
    blocks = summary_blocks(currency)
    baseline_spec, post_spec = TableSpec(BASELINE, _kpi_columns(currency), HEADER_ROW), TableSpec(POST, _post_columns(currency), HEADER_ROW)
    _write_kpi_sheet(sheets["Baseline"], baseline_spec, baseline, "Baseline: before automation", "One row per month before go-live.", stream, blocks["Baseline"])
    post_rows = _write_kpi_sheet(sheets["Post-automation"], post_spec, post, "Post-automation: from go-live on", "One row per month from the go-live month on, in order. Grey columns are calculated.", stream, blocks["Post-automation"])
    _write_costs(sheets["Costs"], TableSpec(COSTS, [("date", FORMATS["date"], None), ("category", FORMATS["text"], None), ("amount", currency_format(currency), None)], HEADER_ROW), data.costs, stream)
    surveys_spec = TableSpec(SURVEYS, _survey_columns(), HEADER_ROW)
    _write_surveys(sheets["Surveys"], surveys_spec, data.surveys, stream, blocks["Surveys"])
    proxy_spec = proxies_table(currency, HEADER_ROW)
    write_proxies(sheets["Proxies"], proxy_spec, _proxy_rows(data.proxies))
    _write_controls(sheets["Controls"], TableSpec(CONTROLS, [("month", FORMATS["month"], None), ("name", FORMATS["text"], None), ("value", FORMATS["dec2"], None)], HEADER_ROW), data.controls)
    _write_summary(sheets["Summary"], currency)
    wb.active = sheets["Summary"]
    shape = SharedShape(currency, post_rows, horizon, tracked)
    model = model if model is not None else engine_model(data)
    if computed is not None:
        values = computed.copy()
    elif model is not None:
        layout = {
            "header_row": HEADER_ROW,
            "baseline": baseline_spec,
            "post": post_spec,
            "surveys": surveys_spec,
            "cx_labels": SHARE_METRIC_LABELS,
            "horizon": horizon,
            "streams": streams,
            "proxies": proxy_spec,
            "data_check_row": DATA_CHECK_ROW,
            "summaries": blocks,
        }
        fill_roi_values(values, data, model, baseline, post, layout)
    wb.formula_values = values
    return wb, shape


def build_shared_sheets(wb: Workbook, shape: SharedShape) -> None:
    """The second part of :func:`build`: the ROI, Scenarios and CX metrics
    sheets, into the places :func:`build_client_sheets` left for them."""
    tables = {BASELINE: TableSpec(BASELINE, _kpi_columns(shape.currency), HEADER_ROW), POST: TableSpec(POST, _post_columns(shape.currency), HEADER_ROW)}
    _write_roi(wb["ROI"], shape.post_rows, shape.currency, shape.horizon, shape.tracked, tables)
    write_scenarios(wb["Scenarios"], shape.horizon, shape.currency, "'ROI'!$E$8")
    _write_cx_metrics(wb["CX metrics"])


CONTROLS = "Controls"


def _write_controls(ws: Worksheet, table: TableSpec, controls: pd.DataFrame | None) -> None:
    title(ws, "Control series (optional)", "Series the automation does not touch, one value per name in every baseline and tracked month: each enters every counterfactual fit.")
    rows = [] if controls is None or len(controls) == 0 else [[m, n, _number(v)] for m, n, v in zip(_datetimes(month_start(controls["month"])), controls["name"], controls["value"])]
    n = table.write(ws, rows, text_columns=("name",))
    ws.cell(table.header_row + max(n, 1) + 2, 1, "With a control series, effects are estimable from a baseline shorter than 12 months. Leave the table empty when you have none.").font = NOTE_FONT
    set_widths(ws, {"A": 12, "B": 28, "C": 14})
    fit_headers(ws, [table.header_row])
    ws.freeze_panes = ws.cell(table.header_row + 1, 1)
    print_layout(ws, title_rows=f"{table.header_row}:{table.header_row}")


def _proxy_rows(proxies: pd.DataFrame | None) -> list[list]:
    if proxies is None or len(proxies) == 0:
        return []
    first = _datetimes(month_start(proxies["first_month"]))
    last_given = proxies["last_month"] if "last_month" in proxies.columns else pd.Series([None] * len(proxies))
    last = [None if pd.isna(v) else d for v, d in zip(last_given, _datetimes(month_start(last_given.fillna(proxies["first_month"]))))]
    return [[n, _number(v), f, l, _number(c)] for n, v, f, l, c in zip(proxies["name"], proxies["monthly_value"], first, last, proxies["confidence"])]


def engine_streams(data: TrackerInput):
    """The client's holistic model, or None when the engine refuses the data."""
    from ..engine.defaults import holistic_model

    return holistic_model(data)


def engine_model(data: TrackerInput, model=None):
    """The client's ROI model (``model`` when given), or None when the
    engine refuses the data (for the service model or the holistic one:
    then every value comes from the interpreter, which needs every cell in
    memory, so no stream)."""
    from ..errors import CXError

    try:
        model = model if model is not None else data.model()
    except CXError:
        return None
    return model if engine_streams(data) is not None else None
