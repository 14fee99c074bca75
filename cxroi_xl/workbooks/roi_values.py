"""The main tracker's cached values, computed by the engine.

Every formula :mod:`~cxroi_xl.workbooks.roi_template` writes has its value
here, from the frames the builder already holds: the table columns as numpy
vectors (one operation per column, not per cell), the add-in cells through
:func:`cxroi_xl.excel.dispatch.call` (the very code the add-in runs), and the few
native cells of the ROI and CX metrics sheets as the same arithmetic on
those results. The headless interpreter is not involved; the tests check a
sample of cells against it and against LibreOffice.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..excel.dispatch import ExcelError, call
from ..engine.tracker import ROIModel, TrackerInput, month_start
from .cache import Explained, FormulaValues

__all__ = ["fill_roi_values", "fill_holistic_values"]

BLANK = ""


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> list:
    """IF(denominator>0, numerator/denominator, "") per row."""
    with np.errstate(all="ignore"):
        ratio = numerator / np.where(denominator > 0, denominator, 1.0)
    return [float(r) if d > 0 else BLANK for r, d in zip(ratio.tolist(), denominator.tolist())]


def _kpi_calculated(frame: pd.DataFrame) -> dict[str, list]:
    col = {name: frame[name].to_numpy(float) for name in ("contacts", "automated_contacts", "first_contact_resolutions", "churned_customers", "active_customers", "agent_hours", "hourly_cost")}
    return {
        "automation_rate": _ratio(col["automated_contacts"], col["contacts"]),
        "fcr_rate": _ratio(col["first_contact_resolutions"], col["contacts"]),
        "churn_rate": _ratio(col["churned_customers"], col["active_customers"]),
        "cost_per_contact": _ratio(col["agent_hours"] * col["hourly_cost"], col["contacts"]),
    }


def _cumulative_by_period(period: np.ndarray, discounted: np.ndarray) -> np.ndarray:
    """SUMIFS(discounted, period, "<="&period) for every row at once."""
    order = np.argsort(period, kind="stable")
    sorted_period = period[order]
    running = np.cumsum(discounted[order])
    return running[np.searchsorted(sorted_period, period, side="right") - 1]


def _is_error(value: Any) -> bool:
    return isinstance(value, ExcelError)


def _num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _arith(function, *args: Any) -> Any:
    """A native formula's arithmetic: the first error among the inputs
    propagates, blanks count as 0, text gives #VALUE!."""
    for value in args:
        if _is_error(value):
            return value
    numbers = []
    for value in args:
        if _num(value):
            numbers.append(float(value))
        elif value is None:
            numbers.append(0.0)
        else:
            return ExcelError("#VALUE!", f"the text {value!r} where a number belongs")
    try:
        result = function(*numbers)
    except (ValueError, ZeroDivisionError, OverflowError):
        return ExcelError("#NUM!", "not a finite number")
    return result if math.isfinite(result) else ExcelError("#NUM!", "not a finite number")


def _index(table: Any, row: int, col: int) -> Any:
    """INDEX(table, row, col) of a spilled result (an error passes through)."""
    if _is_error(table):
        return table
    try:
        return table[row - 1][col - 1]
    except (IndexError, TypeError):
        return ExcelError("#REF!", "outside the result")


def _block(result: Any, rows: int, cols: int) -> list[list]:
    """A spilled result as the block its array formula covers (an error fills it)."""
    if not isinstance(result, list):
        return [[result] * cols for _ in range(rows)]
    return [[result[i][j] if i < len(result) and j < len(result[i]) else ExcelError("#N/A", "outside the result") for j in range(cols)] for i in range(rows)]


def _verdict(better: str, lower: Any, upper: Any) -> str:
    if not (_num(lower) and _num(upper)):
        return "not enough data"
    if lower > 0:
        return "improved" if better == "higher" else "worse"
    if upper < 0:
        return "worse" if better == "higher" else "improved"
    return "no clear change"


def fill_roi_values(
    values: FormulaValues,
    data: TrackerInput,
    model: ROIModel,
    baseline: pd.DataFrame,
    post: pd.DataFrame,
    layout: dict[str, Any],
) -> None:
    """Register the value of every formula of the main tracker.

    Columns go to the add-in functions as one row (``[values]``), the 2-D
    shape xlwings sends, which :func:`cxroi_xl.excel.dispatch.call` takes as is.

    ``layout`` gives where the builder put things: the tables
    (``TableSpec``), the header row and the CX metrics rows."""
    header_row = layout["header_row"]
    first = header_row + 1
    go_live_month = month_start([data.go_live]).iloc[0].to_pydatetime()

    # Inputs: the derived cells
    values.set("Inputs", "B12", go_live_month)
    values.set("Inputs", "B13", model.monthly_rate)
    values.set("Inputs", "B14", model.baseline_cost_per_contact)

    # Baseline and Post-automation calculated columns
    baseline_table, post_table = layout["baseline"], layout["post"]
    base_calc = _kpi_calculated(baseline)
    post_calc = _kpi_calculated(post)
    monthly = model.monthly
    period = monthly["period"].to_numpy()
    discounted = monthly["discounted_net"].to_numpy(float)
    post_calc.update(
        period=period.tolist(),
        benefit=monthly["benefit"].tolist(),
        cost=monthly["cost"].tolist(),
        net=monthly["net"].tolist(),
        discounted_net=discounted.tolist(),
        cumulative_net=_cumulative_by_period(period, discounted).tolist(),
    )
    for sheet, table, calculated, n in (("Baseline", baseline_table, base_calc, len(baseline)), ("Post-automation", post_table, post_calc, len(post))):
        for name, column in calculated.items():
            col = table.first_col + [c[0] for c in table.columns].index(name)
            values.set_column(sheet, first, col, column if n else [BLANK])

    # Surveys: phase and the per-phase answer columns
    surveys_table = layout["surveys"]
    surveys = data.surveys
    phases: list = []
    per_phase: dict[str, list] = {}
    if len(surveys):
        dates = pd.to_datetime(surveys["date"])
        before = (dates < pd.Timestamp(go_live_month)).to_numpy()
        known = dates.notna().to_numpy()
        phases = [("baseline" if b else "post") if k else BLANK for b, k in zip(before, known)]
        for question in ("nps", "csat", "ces"):
            answers = surveys[question].to_numpy(float)
            answered = ~np.isnan(answers)
            for which, in_phase in (("baseline", known & before), ("post", known & ~before)):
                keep = in_phase & answered
                per_phase[f"{question}_{which}"] = [_number(a) if k else BLANK for a, k in zip(answers.tolist(), keep)]
    else:
        phases = [BLANK]
        per_phase = {f"{q}_{w}": [BLANK] for q in ("nps", "csat", "ces") for w in ("baseline", "post")}
    names = [c[0] for c in surveys_table.columns]
    values.set_column("Surveys", first, surveys_table.first_col + names.index("phase"), phases)
    for name, column in per_phase.items():
        values.set_column("Surveys", first, surveys_table.first_col + names.index(name), column)

    # The printed summaries beside the raw-data tables, over the columns as written
    blocks = layout.get("summaries") or {}
    for sheet, frame, calculated in (("Baseline", baseline, base_calc), ("Post-automation", post, post_calc)):
        if sheet in blocks:
            columns: dict[str, list] = {name: frame[name].tolist() for name in frame.columns if name != "month"}
            columns["month"] = [None if pd.isna(m) else m.to_pydatetime() for m in month_start(frame["month"])] if len(frame) else []
            blocks[sheet].fill(values, sheet, {**columns, **calculated})
    if "Surveys" in blocks:
        answers = {question: surveys[question].tolist() for question in ("nps", "csat", "ces") if question in surveys.columns}
        dates = [None if pd.isna(d) else d.to_pydatetime() for d in pd.to_datetime(surveys["date"])] if len(surveys) else []
        blocks["Surveys"].fill(values, "Surveys", {**answers, "date": dates, "phase": phases})

    # ROI sheet
    rate, benefit_risk, cost_risk = model.monthly_rate, data.benefit_risk, data.cost_risk
    benefits, costs, net = post_calc["benefit"], post_calc["cost"], post_calc["net"]
    tei = call("CXTEI", [benefits], [costs], rate, benefit_risk, cost_risk)
    for k in range(5):
        figure = _index(tei, k + 2, 2)
        values.set_at("ROI", 6 + k, 3, Explained("not reached", figure.reason) if k == 4 and _is_error(figure) and figure == "#N/A" else figure)
    values.set("ROI", "C13", call("CXROI", [benefits], [costs], rate, benefit_risk, cost_risk))
    values.set("ROI", "C14", call("CXNPV", rate, [net]))
    payback = call("CXPAYBACK", [net], rate)
    values.set("ROI", "C15", Explained("not reached", payback.reason) if _is_error(payback) and payback == "#N/A" else payback)
    values.set("ROI", "C16", call("CXIRR", [net]))
    values.set("ROI", "C17", float(np.sum(discounted)) if len(post) else 0)
    months = [m.to_pydatetime() for m in pd.DatetimeIndex(post["month"])] if len(post) else []
    by_month = {"month": months, "period": post_calc["period"], "benefit": benefits, "cost": costs, "net": net, "cumulative_net": post_calc["cumulative_net"]}
    for j, column in enumerate(("month", "period", "benefit", "cost", "net", "cumulative_net")):
        values.set_column("ROI", 23, 2 + j, by_month[column])

    _fill_cx_metrics(values, base_calc, baseline, post_calc, post, per_phase, layout["cx_labels"])
    if layout.get("streams") is not None:
        fill_holistic_values(values, data, layout["streams"], baseline, post, layout)
        # churn's verdict is the retention stream's (the counterfactual's)
        words = {"demonstrated": "improved", "adverse": "worse", "not demonstrated": "no clear change", "not estimable": "not enough data", "not corroborated": "not corroborated"}
        values.set_at("CX metrics", 9, 8, words[layout["streams"].verdict("retention")])


def _number(value: float) -> Any:
    return int(value) if float(value).is_integer() else float(value)


def _fill_cx_metrics(values: FormulaValues, base_calc: dict, baseline: pd.DataFrame, post_calc: dict, post: pd.DataFrame, per_phase: dict, labels: dict[int, str]) -> None:
    sheet = "CX metrics"

    def numbers(column: Sequence) -> list[float]:
        return [v for v in column if _num(v)]

    def put(row: int, col: int, value: Any) -> None:
        values.set_at(sheet, row, col, value)

    def put_block(row: int, col: int, result: Any, width: int) -> list:
        block = _block(result, 1, width)[0]
        for j, value in enumerate(block):
            put(row, col + j, value)
        return block

    nps_b, nps_p = per_phase.get("nps_baseline", [BLANK]), per_phase.get("nps_post", [BLANK])
    csat_b, csat_p = per_phase.get("csat_baseline", [BLANK]), per_phase.get("csat_post", [BLANK])
    ces_b, ces_p = per_phase.get("ces_baseline", [BLANK]), per_phase.get("ces_post", [BLANK])
    better = {5: "higher", 6: "higher", 7: "lower", 8: "higher", 9: "lower", 10: "lower", 11: "higher"}
    cells: dict[int, tuple] = {}

    # NPS
    k, l = put_block(5, 11, call("CXNPSCI", [nps_b]), 2)
    n, o = put_block(5, 14, call("CXNPSCI", [nps_p]), 2)
    base, post_value = call("CXNPS", [nps_b]), call("CXNPS", [nps_p])
    change = _arith(lambda a, b: b - a, base, post_value)
    # Newcombe's combination of the two (asymmetric) score intervals, as the sheet's formulas
    lower = _arith(lambda e, d_, n_, l_, c_: e - math.sqrt((d_ - n_) ** 2 + (l_ - c_) ** 2), change, post_value, n, l, base)
    upper = _arith(lambda e, o_, d_, c_, k_: e + math.sqrt((o_ - d_) ** 2 + (c_ - k_) ** 2), change, o, post_value, base, k)
    cells[5] = (base, post_value, change, lower, upper)

    # Shares: Wilson interval of each, Newcombe's interval of the difference
    def kpi_sum(frame: pd.DataFrame, column: str) -> float:
        return float(np.nansum(frame[column].to_numpy(float))) if len(frame) else 0

    shares = {
        6: (lambda: (sum(1 for v in csat_b if _num(v) and v >= 4), len(numbers(csat_b))), lambda: (sum(1 for v in csat_p if _num(v) and v >= 4), len(numbers(csat_p)))),
        8: (lambda: (kpi_sum(baseline, "first_contact_resolutions"), kpi_sum(baseline, "contacts")), lambda: (kpi_sum(post, "first_contact_resolutions"), kpi_sum(post, "contacts"))),
        9: (lambda: (kpi_sum(baseline, "churned_customers"), kpi_sum(baseline, "active_customers")), lambda: (kpi_sum(post, "churned_customers"), kpi_sum(post, "active_customers"))),
        11: (lambda: (kpi_sum(baseline, "automated_contacts"), kpi_sum(baseline, "contacts")), lambda: (kpi_sum(post, "automated_contacts"), kpi_sum(post, "contacts"))),
    }
    for row, (base_args, post_args) in shares.items():
        k, l, m = put_block(row, 11, call("CXRATE", *base_args()), 3)
        n, o, p = put_block(row, 14, call("CXRATE", *post_args()), 3)
        if row == 6:
            base, post_value = call("CXCSAT", [csat_b], 5), call("CXCSAT", [csat_p], 5)
        else:
            base, post_value = k, n
        change = _arith(lambda a, b: b - a, base, post_value)
        lower = _arith(lambda e, n_, o_, m_, k_: e - math.sqrt((n_ - o_) ** 2 + (m_ - k_) ** 2), change, n, o, m, k)
        upper = _arith(lambda e, p_, n_, k_, l_: e + math.sqrt((p_ - n_) ** 2 + (k_ - l_) ** 2), change, p, n, k, l)
        cells[row] = (base, post_value, change, lower, upper)

    # Means: Welch's interval of the difference (CXUPLIFT)
    ces_uplift = call("CXUPLIFT", [ces_b], [ces_p])
    base, post_value = call("CXCES", [ces_b]), call("CXCES", [ces_p])
    cells[7] = (base, post_value, _arith(lambda a, b: b - a, base, post_value), _index(ces_uplift, 6, 2), _index(ces_uplift, 7, 2))
    cost_uplift = call("CXUPLIFT", [base_calc["cost_per_contact"] if len(baseline) else [BLANK]], [post_calc["cost_per_contact"] if len(post) else [BLANK]])
    base, post_value = _index(cost_uplift, 2, 2), _index(cost_uplift, 3, 2)
    cells[10] = (base, post_value, _arith(lambda a, b: b - a, base, post_value), _index(cost_uplift, 6, 2), _index(cost_uplift, 7, 2))

    for row, (base, post_value, change, lower, upper) in cells.items():
        for col, value in zip(range(3, 8), (base, post_value, change, lower, upper)):
            put(row, col, value)
        put(row, 8, _verdict(better[row], lower, upper))

    for i, row in enumerate((6, 8, 9, 11)):
        r = 16 + i
        put(r, 1, labels[row])
        put(r, 2, cells[row][0] if cells[row][0] is not None else 0)
        put(r, 3, cells[row][1] if cells[row][1] is not None else 0)


# ---- the holistic model: Inputs, the ROI sheet's horizon, data check, Scenarios ----


def _not_reached(figure: Any) -> Any:
    return Explained("not reached", figure.reason) if _is_error(figure) and figure == "#N/A" else figure


def fill_holistic_values(values: FormulaValues, data: TrackerInput, streams, baseline: pd.DataFrame, post: pd.DataFrame, layout: dict[str, Any]) -> None:
    """Register the values of the measured model's cells (the Summary sheet,
    the Inputs' calculated cells, the ROI sheet's horizon table and
    headline, the data check, the Scenarios sheet) from the engine's
    :class:`~cxroi_xl.engine.streams.MeasuredStreams`."""
    from ..engine.defaults import DEFAULT_SPREADS, MONTE_CARLO_SEED, MONTE_CARLO_TRIALS
    from ..engine.streams import COUNTED, MEASURED_STREAMS, STREAMS
    from ..engine.tracker import risk_adjusted
    from ..excel.catalogue.measured import figure_rows, month_rows
    from . import holistic_sheets as hs

    lay: hs.HorizonLayout = layout["horizon"]
    rows = lay.rows

    # Summary: CXMEASURED's table
    values.set_block("Summary", hs.SUMMARY_FIRST_ROW - 1, 2, figure_rows(streams))

    # Inputs: the calculated cells of the measured model
    counted = {s: streams.verdict(s) in COUNTED for s in MEASURED_STREAMS}
    derived = (streams.baseline_churn, streams.baseline_arpu, streams.baseline_months, streams.tracked_months, streams.horizon_months, counted["service"], counted["retention"], counted["uplift"])
    for i, value in enumerate(derived):
        values.set_at("Inputs", hs.HOLISTIC_CALC_ROW + i, 2, value)

    # ROI: the horizon table, CXMEASUREDMONTHS's spill and the sheet's own columns
    spill = month_rows(streams)
    values.set_block("ROI", lay.header_row, lay.first_col, spill[: rows + 1])
    spilled = {name: [row[j] for row in spill[1 : rows + 1]] for j, name in enumerate(hs.MEASURED_MONTH_COLUMNS)}
    raw = {s: np.asarray(spilled[s], float) for s in STREAMS}
    risk_of = {"service": data.benefit_risk, "retention": streams.risks["retention"], "uplift": streams.risks["uplift"]}
    adjusted = {s: risk_adjusted(raw[s], risk_of[s]) for s in MEASURED_STREAMS}
    adjusted["proxies"] = streams.monthly["proxies_adjusted"].to_numpy(float)[:rows]
    benefit = sum(adjusted[s] for s in STREAMS)
    cost = np.asarray(spilled["cost"], float)
    cost_adjusted = cost * (1.0 + streams.risks["cost"])
    net = benefit - cost_adjusted
    period = np.asarray(spilled["period"], float)
    discounted = net / (1.0 + streams.monthly_rate) ** period
    tracked = np.array([status == "tracked" for status in spilled["status"]])
    counted_benefit = sum(adjusted[s] * counted[s] for s in MEASURED_STREAMS) + adjusted["proxies"]
    columns = {
        **{f"{s}_adjusted": adjusted[s] for s in STREAMS},
        "benefit": benefit,
        "cost_adjusted": cost_adjusted,
        "net": net,
        "discounted_net": discounted,
        "cumulative_net": np.cumsum(discounted),
        "benefit_to_date": np.where(tracked, counted_benefit, 0.0),
        "cost_to_date": np.where(tracked, cost, 0.0),
    }
    for name, column in columns.items():  # cells, not set_column: these columns also hold the tracked months' table above
        values.set_block("ROI", lay.first, lay.col(name), [[float(v)] for v in column])

    # ROI: the measured headline and the horizon scenario
    for column, (b, k) in zip(hs.HOLISTIC_HEADLINE_COLUMNS, ((columns["benefit_to_date"], columns["cost_to_date"]), (benefit, cost))):
        tei = call("CXTEI", [b.tolist()], [k.tolist()], streams.monthly_rate, 0, streams.risks["cost"])
        for k_ in range(5):
            figure = _index(tei, k_ + 2, 2)
            values.set_at("ROI", 6 + k_, column, _not_reached(figure) if k_ == 4 else figure)

    _fill_data_check(values, baseline, post, layout)

    # Scenarios: each stream's PV before risk, the multiples used, CXMONTECARLO and CXTORNADO
    discount = (1.0 + streams.monthly_rate) ** -period
    for i, flow in enumerate([*(raw[s] for s in STREAMS), cost]):
        values.set_at("Scenarios", hs.SPREAD_ROW + i, 6, float(flow @ discount))
    targets = [*(1.0 - risk_of[s] for s in MEASURED_STREAMS), 1.0, 1.0 + streams.risks["cost"]]
    scale = []
    for i, (name, target) in enumerate(zip([*STREAMS, "cost"], targets)):
        low, high = DEFAULT_SPREADS[name]
        scale.append(target / ((low + 1.0 + high) / 3.0))
        values.set_at("Scenarios", hs.SPREAD_ROW + i, 11, scale[-1])
    block = (np.column_stack([raw[s] for s in STREAMS]) * np.array(scale[:-1])).tolist()
    costs = [[c * scale[-1]] for c in cost.tolist()]
    low = [[DEFAULT_SPREADS[s][0]] for s in STREAMS]
    high = [[DEFAULT_SPREADS[s][1]] for s in STREAMS]
    cost_low, cost_high = DEFAULT_SPREADS["cost"]
    mc = call("CXMONTECARLO", block, costs, streams.monthly_rate, low, high, cost_low, cost_high, MONTE_CARLO_TRIALS, MONTE_CARLO_SEED, hs.MC_BINS)
    values.set_block("Scenarios", hs.TABLE_ROW, 2, _block(mc, hs.MC_ROWS, 4))
    names = [[hs.STREAM_LABELS[s]] for s in STREAMS]
    tornado = call("CXTORNADO", block, costs, streams.monthly_rate, low, high, cost_low, cost_high, names)
    values.set_block("Scenarios", hs.TABLE_ROW, 7, _block(tornado, hs.TORNADO_ROWS, 4))
    values.set_at("Scenarios", 7, 9, values.get("ROI", 8, hs.HOLISTIC_HEADLINE_COLUMNS[1]))
    values.set_at("Scenarios", 8, 9, _index(mc, 5, 2))
    values.set_at("Scenarios", 9, 9, _index(mc, 6, 2))
    pv = [values.get("Scenarios", hs.SPREAD_ROW + i, 6) for i in range(len(scale))]
    expected = float(np.dot(pv[:-1], scale[:-1]) - pv[-1] * scale[-1])
    values.set_at("Scenarios", hs.EXPECTED_NPV_ROW, 9, expected)
    rows = _block(tornado, hs.TORNADO_ROWS, 4)[1:]
    values.set_block("Scenarios", hs.TABLE_ROW + 1, hs.TORNADO_DELTA_COL, [[_arith(lambda a: a - expected, row[k]) for k in (1, 2)] for row in rows])


def _fill_data_check(values: FormulaValues, baseline: pd.DataFrame, post: pd.DataFrame, layout: dict[str, Any]) -> None:
    """The data check's working columns and headline: blank (NaN) cells of
    the number columns (text never reaches the engine's frames)."""
    from . import holistic_sheets as hs

    header_row, left = layout["header_row"], hs.DATA_CHECK_COL
    frames = {"Baseline": baseline, "PostAutomation": post}
    specs = {"Baseline": layout["baseline"], "PostAutomation": layout["post"]}
    total, so_far = 0, ""
    for i, (sheet, table, column) in enumerate(hs.data_check_columns()):
        r = 4 + i
        frame = frames[table]
        missing = np.isnan(frame[column].to_numpy(float)) if len(frame) else np.array([True])  # an empty table has one blank row
        count = int(missing.sum())
        first_row = header_row + 1 + int(np.argmax(missing)) if count else BLANK
        address = f"'{sheet}'!{specs[table].col_letter(column)}{first_row}" if count else BLANK
        so_far = so_far or address
        total += count
        for k, value in enumerate((count, first_row, address, so_far)):
            values.set_at("ROI", r, left + 2 + k, value)
    row = layout["data_check_row"]
    values.set_at("ROI", row, 3, total)
    values.set_at("ROI", row, 4, f"first: {so_far}" if total else "none")
