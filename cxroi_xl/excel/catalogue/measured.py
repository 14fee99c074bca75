"""Counterfactuals and the measured ROI: CXCOUNTERFACTUAL, CXEFFECT,
CXMEASURED, CXMEASUREDMONTHS.

The adapters only turn cell blocks into the engine's inputs (a table's
columns by their header names) and the engine's results into spilled tables.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ...engine import counterfactual, defaults, streams
from ...engine.tracker import KPI_COLUMNS
from ...errors import InvalidInputError
from ..declarations import Arg, ExcelFunction
from . import metric_table

CATEGORY = "CX ROI"
_EPOCH = dt.datetime(1899, 12, 30)  # Excel's serial 0 (1900 date system)


# ---- CXCOUNTERFACTUAL, CXEFFECT -----------------------------------------------------------

def _fit(values, baseline_months, first_month, exposure, regressor, good):
    if good not in ("down", "up"):
        raise InvalidInputError('good must be "down" (churn, hours) or "up" (a win rate)')
    if not 1 <= first_month <= 12:
        raise InvalidInputError("first_month must be the calendar month of the first value, 1 to 12")
    if exposure is not None:
        if regressor is not None:
            raise InvalidInputError("give exposure (a rate) or regressor (an amount), not both")
        return counterfactual.rate_counterfactual(values, exposure, baseline_months, first_month, good=good)
    return counterfactual.linear_counterfactual(values, baseline_months, first_month, regressors=regressor, good=good)


def counterfactual_table(values, baseline_months, first_month, exposure, regressor, good):
    """Period | Actual | Expected | Lower | Upper, one row per month."""
    fit = _fit(values, baseline_months, first_month, exposure, regressor, good)
    if not fit.estimable:
        raise InvalidInputError(f"not estimable: {fit.reason}")
    period = np.arange(fit.n_total) - fit.n_baseline
    rows = [["Period", "Actual", "Expected", "Lower", "Upper"]]
    rows += [[int(p), float(a), float(e), float(lo), float(hi)] for p, a, e, lo, hi in zip(period, fit.actual, fit.expected, fit.lower, fit.upper)]
    return rows


def effect_table(values, baseline_months, first_month, exposure, regressor, good):
    """The effect summary's figures and its verdict."""
    fit = _fit(values, baseline_months, first_month, exposure, regressor, good)
    if not fit.estimable:
        return [["Metric", "Value"], ["Verdict", "not estimable"], ["Reason", fit.reason]]
    return metric_table(fit.rows(), "#NUM!", "undefined for these data")


_SERIES_ARGS = (
    Arg("values", "numbers", "The driver, one per month, baseline months first: event counts with exposure (churned customers), else amounts (agent hours).", "count or amount", blanks="keep"),
    Arg("baseline_months", "integer", "How many of the months come before go-live; the fit uses only these.", "months"),
    Arg("first_month", "integer", "Calendar month (1-12) of the first value: places the season.", "month 1..12"),
    Arg("exposure", "numbers", "For a rate: the denominators, one per month (customers at the month's start, leads). Blank: values are amounts.", "count", default=None, blanks="keep"),
    Arg("regressor", "numbers", "For an amount: a driver it follows, one per month (e.g. contacts for agent hours). Blank: no driver.", "count", default=None, blanks="keep"),
    Arg("good", "text", 'Which direction is good: "down" (churn, hours) or "up" (a win rate).', "", default="down"),
)
_FIT_DETAILS = (
    "Fitted on the baseline months only, then forecast: level and trend from 12 baseline months, an annual season from 18, "
    "month-of-year effects from 36; a rate by a quasi-binomial logit regression, an amount by least squares. "
    "The interval allows for the coefficients' uncertainty, the months' own noise and autocorrelated residuals."
)


# ---- CXMEASURED, CXMEASUREDMONTHS ---------------------------------------------------------

def _as_month(value, where: str) -> pd.Timestamp:
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        stamp = pd.Timestamp(value)
    elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and 0 < float(value) < 2958466:
        stamp = pd.Timestamp(_EPOCH + dt.timedelta(days=int(float(value))))
    elif isinstance(value, str):
        try:
            stamp = pd.Timestamp(value.strip()[:10])
        except (ValueError, OverflowError):
            raise InvalidInputError(f"{where}: {value!r} is not a month (use a date cell or YYYY-MM)") from None
    else:
        raise InvalidInputError(f"{where}: a month is missing")
    if pd.isna(stamp):
        raise InvalidInputError(f"{where}: {value!r} is not a month (use a date cell or YYYY-MM)")
    return stamp.to_period("M").to_timestamp()


def _numbers(frame: pd.DataFrame, column: str, table: str, blank_ok: bool = False) -> np.ndarray:
    out = np.empty(len(frame))
    for i, value in enumerate(frame[column]):
        if value is None or (isinstance(value, str) and not value.strip()):
            if blank_ok:
                out[i] = np.nan
                continue
            raise InvalidInputError(f"{table}[{column}] row {i + 1}: blank")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise InvalidInputError(f"{table}[{column}] row {i + 1}: {value!r} where a number belongs")
        out[i] = float(value)
    if not np.all(np.isfinite(out[~np.isnan(out)])):
        raise InvalidInputError(f"{table}[{column}]: numbers must be finite")
    return out


def _require(frame: pd.DataFrame, columns, table: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidInputError(f"{table} needs the column(s) " + ", ".join(missing))


def _kpis(baseline: pd.DataFrame, post: pd.DataFrame) -> pd.DataFrame:
    frames = []
    optional = [c for c in ("leads", "won") if c in baseline.columns and c in post.columns]
    for frame, table in ((baseline, "baseline"), (post, "post")):
        _require(frame, ("month", *KPI_COLUMNS), table)
        out = {"month": [_as_month(v, f"{table}[month] row {i + 1}") for i, v in enumerate(frame["month"])]}
        for column in (*KPI_COLUMNS, *optional):
            out[column] = _numbers(frame, column, table, blank_ok=column in optional)
        frames.append(pd.DataFrame(out))
    kpis = pd.concat(frames, ignore_index=True)
    if optional and kpis[list(optional)].isna().all().all():
        kpis = kpis.drop(columns=list(optional))
    return kpis


def _costs(frame) -> pd.DataFrame | None:
    if frame is None or len(frame) == 0:
        return None
    _require(frame, ("date", "amount"), "costs")
    return pd.DataFrame({"date": [_as_month(v, f"costs[date] row {i + 1}") for i, v in enumerate(frame["date"])], "amount": _numbers(frame, "amount", "costs")})


def _proxies(frame) -> pd.DataFrame | None:
    if frame is None or len(frame) == 0:
        return None
    _require(frame, ("monthly_value", "first_month", "confidence"), "proxies")
    last = frame["last_month"] if "last_month" in frame.columns else [None] * len(frame)
    return pd.DataFrame(
        {
            "monthly_value": _numbers(frame, "monthly_value", "proxies"),
            "first_month": [_as_month(v, f"proxies[first_month] row {i + 1}") for i, v in enumerate(frame["first_month"])],
            "last_month": [None if v is None or v == "" else _as_month(v, f"proxies[last_month] row {i + 1}") for i, v in enumerate(last)],
            "confidence": _numbers(frame, "confidence", "proxies"),
        }
    )


def _half_life(value):
    return None if value is None or value == 0 else float(value)


def _controls(frame) -> pd.DataFrame | None:
    if frame is None or len(frame) == 0:
        return None
    _require(frame, ("month", "name", "value"), "controls")
    names = []
    for i, name in enumerate(frame["name"]):
        if not isinstance(name, str) or not name.strip():
            raise InvalidInputError(f"controls[name] row {i + 1}: a control needs a name")
        names.append(name.strip())
    return pd.DataFrame({"month": [_as_month(v, f"controls[month] row {i + 1}") for i, v in enumerate(frame["month"])], "name": names, "value": _numbers(frame, "value", "controls")})


def measured_model(baseline, post, go_live, costs, proxies, discount_rate, service_risk, retention_risk, uplift_risk, cost_risk, gross_margin, horizon_months, method, half_life_service, half_life_retention, half_life_uplift, ramp_months, controls=None):
    """The engine's measured model of the workbook's tables and inputs."""
    if len(go_live) != 1 or np.isnat(go_live[0]):
        raise InvalidInputError("go_live: expected one date")
    go_live_month = pd.Timestamp(go_live[0]).to_period("M").to_timestamp()
    return streams.measure_streams(
        _kpis(baseline, post),
        go_live_month,
        _costs(costs),
        _proxies(proxies),
        annual_discount_rate=discount_rate,
        service_risk=service_risk,
        retention_risk=retention_risk,
        uplift_risk=uplift_risk,
        cost_risk=cost_risk,
        gross_margin=gross_margin,
        horizon_months=horizon_months,
        method=(method or "glm").lower(),
        half_lives={"service": _half_life(half_life_service), "retention": _half_life(half_life_retention), "uplift": _half_life(half_life_uplift)},
        ramp_months=ramp_months,
        controls=_controls(controls),
    )


STREAM_LABELS = {"service": "Service savings", "retention": "Retained margin", "uplift": "Revenue uplift"}


def _figure_spec() -> list[tuple[str, str]]:
    """(label, kind) of CXMEASURED's rows in report order; kind is how a
    sheet formats the value: money, pct, months, count or text."""
    spec = [("Measured NPV (to date)", "money"), ("Measured ROI (to date)", "pct"), ("PV benefits (measured)", "money"), ("PV costs (to date)", "money"), ("Payback (months)", "months")]
    for confidence in ("80%", "95%"):
        spec += [(f"NPV low ({confidence})", "money"), (f"NPV high ({confidence})", "money"), (f"ROI low ({confidence})", "pct"), (f"ROI high ({confidence})", "pct")]
    for s in streams.MEASURED_STREAMS:
        label = STREAM_LABELS[s]
        spec += [(f"{label}: verdict", "text"), (f"{label}: why", "text"), (f"{label}: PV to date", "money"), (f"{label}: PV low (95%)", "money"), (f"{label}: PV high (95%)", "money"), (f"{label}: PV over the horizon", "money")]
    spec += [
        ("Proxies (assumed): PV to date", "money"),
        ("Horizon NPV (scenario)", "money"),
        ("Horizon ROI (scenario)", "pct"),
        ("Horizon PV benefits", "money"),
        ("Horizon PV costs", "money"),
        ("Projected share of horizon benefits", "pct"),
        ("P(horizon NPV > 0)", "pct"),
        ("Gross margin", "pct"),
        ("Revenue per customer (baseline, monthly)", "money"),
        ("Baseline churn (monthly)", "pct"),
        ("Service risk", "pct"),
        ("Retention risk", "pct"),
        ("Uplift risk", "pct"),
        ("Cost risk", "pct"),
        ("Half-life, service savings (months)", "months"),
        ("Half-life, retained margin (months)", "months"),
        ("Half-life, revenue uplift (months)", "months"),
        ("Ramp-up (months)", "count"),
        ("Baseline months", "count"),
        ("Tracked months", "count"),
        ("Horizon months", "count"),
        ("Method", "text"),
        ("Effects estimable", "text"),
        ("Projected past the tracked months", "text"),
        ("Data rule", "text"),
    ]
    return spec


FIGURE_LABELS = tuple(label for label, _ in _figure_spec())
FIGURE_FORMATS = tuple(kind for _, kind in _figure_spec())


def figures(model: streams.MeasuredStreams) -> list[tuple[str, object]]:
    """CXMEASURED's rows, in the order of :data:`FIGURE_LABELS` (the Summary
    sheet reads them by label)."""
    tei, horizon = model.to_date, model.horizon
    values: list[object] = [tei.npv, tei.roi, tei.pv_benefits, tei.pv_costs, tei.payback]
    for confidence in (0.8, 0.95):
        values += [*model.npv_interval[confidence], *model.roi_interval(confidence)]
    for s in streams.MEASURED_STREAMS:
        result = model.results[s]
        values += [
            result.verdict,
            result.reason or "the whole 95% interval lies on the good side",
            result.pv_to_date,
            None if np.isnan(result.pv_low) else result.pv_low,
            None if np.isnan(result.pv_high) else result.pv_high,
            result.pv_horizon,
        ]

    def half_life(stream: str):
        value = model.half_lives[stream]
        return value if value is not None else "none"

    values += [
        model.stream_pv("to_date")["proxies"],
        horizon.npv,
        horizon.roi,
        horizon.pv_benefits,
        horizon.pv_costs,
        model.projected_share,
        defaults.default_monte_carlo(model).probability_positive,
        model.gross_margin,
        model.baseline_arpu,
        model.baseline_churn,
        model.risks["service"],
        model.risks["retention"],
        model.risks["uplift"],
        model.risks["cost"],
        half_life("service"),
        half_life("retention"),
        half_life("uplift"),
        model.ramp_months,
        model.baseline_months,
        model.tracked_months,
        model.horizon_months,
        {"glm": "regression (level, trend, season)", "sts": "structural time series"}[model.method],
        "yes" if model.sufficiency.estimable else "no",
        "yes" if model.horizon_months > model.tracked_months else "no",
        model.sufficiency.rule,
    ]
    return list(zip(FIGURE_LABELS, values, strict=True))


def figure_rows(model: streams.MeasuredStreams) -> list[list]:
    """CXMEASURED's spilled table of ``model``."""
    table = [["Figure", "Value"]]
    for label, value in figures(model):
        if value is None:  # words, not an error value: the figure is known not to exist
            value = "not reached" if label.startswith("Payback") else "n/a"
        table.append([label, value])
    return table


def measured_table(*args):
    """CXMEASURED: Figure | Value."""
    return figure_rows(measured_model(*args))


MONTH_COLUMNS = (
    ("month", "Month"),
    ("period", "Period"),
    ("status", "Tracked or projected"),
    ("hours_expected", "Agent hours expected"),
    ("churn_expected", "Churn expected"),
    ("win_rate_expected", "Win rate expected"),
    ("customers_saved", "Customers saved"),
    ("customers_kept", "Customers kept"),
    ("extra_wins", "Extra wins"),
    ("wins_kept", "Extra customers staying"),
    ("service", "Service savings"),
    ("retention", "Retained margin"),
    ("uplift", "Revenue uplift"),
    ("proxies", "Proxies"),
    ("cost", "Cost"),
)


def month_rows(model: streams.MeasuredStreams) -> list[list]:
    """CXMEASUREDMONTHS's spilled table of ``model``: a stream outside the
    horizon scenario (not estimable, not corroborated) shows zeros."""
    monthly = model.monthly
    table = [[label for _, label in MONTH_COLUMNS]]
    outside = {s for s in streams.MEASURED_STREAMS if not model.results[s].in_scenario}
    columns = {}
    for name, _ in MONTH_COLUMNS:
        if name == "month":
            columns[name] = [m.to_pydatetime() for m in pd.DatetimeIndex(monthly["month"])]
        elif name == "status":
            columns[name] = ["projected" if p else "tracked" for p in monthly["projected"].tolist()]
        elif name in outside:
            columns[name] = [0.0] * len(monthly)
        else:
            columns[name] = [None if np.isnan(v) else float(v) for v in monthly[name].to_numpy(float).tolist()]
    table += [list(row) for row in zip(*columns.values())]
    return table


def months_table(*args):
    """CXMEASUREDMONTHS: one row per month of the horizon."""
    return month_rows(measured_model(*args))


def _table_arg(name: str, what: str, optional: bool = False) -> Arg:
    blank = " Blank: none." if optional else ""
    return Arg(name, "table", f"{what}, with its header row (a whole Excel Table: Name[#All]).{blank}", "table", **({"default": None} if optional else {}))


_MODEL_ARGS = (
    _table_arg("baseline", "The months before go-live: month and the tracker's KPI columns, leads and won optional"),
    _table_arg("post", "The months from go-live on, same columns"),
    Arg("go_live", "dates", "Any day of the go-live month (a date cell).", "date"),
    _table_arg("costs", "One-off costs: date and amount", optional=True),
    _table_arg("proxies", "Proxies: monthly_value, first_month, last_month, confidence", optional=True),
    Arg("discount_rate", "number", "Annual discount rate, e.g. 0.1.", "fraction per year", default=0.10),
    Arg("service_risk", "number", "Risk factor of the service savings.", "fraction 0..1", default=0.10),
    Arg("retention_risk", "number", "Risk factor of the retained margin.", "fraction 0..1", default=0.25),
    Arg("uplift_risk", "number", "Risk factor of the revenue uplift.", "fraction 0..1", default=0.25),
    Arg("cost_risk", "number", "Share by which costs are raised.", "fraction >= 0", default=0.05),
    Arg("gross_margin", "number", "Gross margin on revenue.", "fraction 0..1", default=0.5),
    Arg("horizon_months", "integer", "Months from go-live of the horizon scenario.", "months", default=36),
    Arg("method", "text", '"glm" (regression) or "sts" (structural time series, 36 baseline months or more).', "", default="glm"),
    Arg("half_life_service", "number", "Half-life of the projected service savings; 0 or blank: no decay.", "months", default=None),
    Arg("half_life_retention", "number", "Half-life of the projected customers saved; 0: no decay.", "months", default=24.0),
    Arg("half_life_uplift", "number", "Half-life of the projected extra wins; 0: no decay.", "months", default=24.0),
    Arg("ramp_months", "integer", "Months from go-live until a projected effect has its full size.", "months", default=0),
    _table_arg("controls", "Series the automation does not touch (an untreated region's churn): month, name, value, in every month", optional=True),
)
_MODEL_DETAILS = (
    "Each driver (agent hours for the month's contacts, churn, win rate) is compared with the forecast of a fit to the baseline months alone; "
    "streams whose effect is demonstrated or adverse count in the measured NPV, the others are shown with their interval. "
    "The horizon scenario carries the measured effects past the tracked months with the half-lives given."
)

FUNCTIONS = [
    ExcelFunction(
        name="CXCOUNTERFACTUAL",
        summary="What a monthly driver would have done without the automation: the baseline's fit and forecast with a 95% prediction interval.",
        args=_SERIES_ARGS,
        returns="table",
        engine=counterfactual_table,
        category=CATEGORY,
        result="A table Period | Actual | Expected | Lower | Upper, one row per month (period 0 = go-live).",
        details=_FIT_DETAILS + " #VALUE! when the baseline is too short (under 12 months) or the data malformed.",
        example="=CXCOUNTERFACTUAL(B2:B31, 18, 1, C2:C31)",
        call_in_wizard=False,
    ),
    ExcelFunction(
        name="CXEFFECT",
        summary="The automation's effect on a monthly driver against its counterfactual: average, interval, p-value and a verdict.",
        args=_SERIES_ARGS,
        returns="table",
        engine=effect_table,
        category=CATEGORY,
        result='A table Metric | Value: average and cumulative effect, relative effect, 95% interval, one-sided p-value and the verdict ("demonstrated", "adverse", "not demonstrated", "not estimable").',
        details=_FIT_DETAILS,
        example="=CXEFFECT(B2:B31, 18, 1, C2:C31)",
        call_in_wizard=False,
    ),
    ExcelFunction(
        name="CXMEASURED",
        summary="The measured ROI: NPV and ROI to date from demonstrated effects with intervals, each stream's verdict, the horizon scenario and P(NPV > 0).",
        args=_MODEL_ARGS,
        returns="table",
        engine=measured_table,
        category=CATEGORY,
        result="A table Figure | Value (the Summary sheet's figures and assumptions).",
        details=_MODEL_DETAILS,
        example="=CXMEASURED(Baseline[#All], PostAutomation[#All], GoLive, OneOffCosts[#All], Proxies[#All], DiscountRate)",
        call_in_wizard=False,
    ),
    ExcelFunction(
        name="CXMEASUREDMONTHS",
        summary="The measured ROI month by month over the horizon: each driver's counterfactual, customers saved and kept, every stream and the cost.",
        args=_MODEL_ARGS,
        returns="table",
        engine=months_table,
        category=CATEGORY,
        result="A table with a row per month from go-live: " + ", ".join(label for _, label in MONTH_COLUMNS) + ".",
        details=_MODEL_DETAILS,
        example="=CXMEASUREDMONTHS(Baseline[#All], PostAutomation[#All], GoLive, OneOffCosts[#All], Proxies[#All], DiscountRate)",
        call_in_wizard=False,
    ),
]
