"""The measured ROI in the main template: the Summary sheet, every benefit
stream over the horizon on the ROI sheet, the Proxies and Scenarios sheets
and the data check, recalculated by real LibreOffice and compared with the
engine.

Oracles: the ROI sheet's native formulas (risk adjustment, the scenario's
and the measured headline's sums, discounting, CXTEI's figures) and the
Inputs' flags and the CX metrics' churn verdict (INDEX/MATCH over the
Summary) recalculated by LibreOffice against the engine's
:class:`~cxroi_xl.engine.streams.MeasuredStreams` (its own oracles are in
tests/engine/test_streams.py), rel 1e-9; the Scenarios sheet's Monte Carlo
and tornado against :func:`cxroi_xl.engine.risk.monte_carlo_npv` and
:func:`cxroi_xl.engine.risk.tornado` called directly with the multiples the
sheet's own formulas give (identical); the data check's count and first
address against the blank cells planted by hand.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import openpyxl
import pytest

from cxroi_xl.engine import risk
from cxroi_xl.engine.defaults import DEFAULT_SPREADS, MONTE_CARLO_SEED, MONTE_CARLO_TRIALS
from cxroi_xl.engine.streams import COUNTED, IN_SCENARIO, MEASURED_STREAMS, STREAMS, measure
from cxroi_xl.engine.tracker import month_start, risk_adjusted
from cxroi_xl.excel.catalogue.measured import FIGURE_LABELS, figures
from cxroi_xl.workbooks import build, holistic_sheets as hs, libreoffice, roi_template
from cxroi_xl.workbooks.holistic_sheets import SUMMARY_FIRST_ROW
from cxroi_xl.workbooks.roi_template import HOLISTIC_CALC_ROW, example_input


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory):
    """The values-form main template and a client with blank cells, both
    recalculated by LibreOffice in one start."""
    out = tmp_path_factory.mktemp("holistic")
    template = out / "template.xlsx"
    template.write_bytes(build.template_bytes("cx_automation_roi", "values"))
    data = example_input()
    kpis = data.kpis.copy()
    before = (month_start(kpis["month"]) < month_start([data.go_live]).iloc[0]).to_numpy()
    baseline_rows, post_rows = np.flatnonzero(before), np.flatnonzero(~before)
    kpis.loc[baseline_rows[3], "new_customers"] = np.nan  # Baseline!J8 (4th data row)
    kpis.loc[post_rows[1], "revenue"] = np.nan  # 'Post-automation'!J6
    holes = dataclasses.replace(data, kpis=kpis)
    from cxroi_xl.calc.workbook import complete_values

    holed = build.build_client_workbook(holes, "cx_automation_roi", "values", out / "holes.xlsx", interpret=complete_values)
    paths = libreoffice.recalculate_all([template, holed], out / "lo")
    return {"template": libreoffice.read_values(paths[0]), "holes": libreoffice.read_values(paths[1]), "holes_cached": openpyxl.load_workbook(holed, data_only=True)}


@pytest.fixture(scope="module")
def model():
    return measure(example_input())


def _layout(model) -> hs.HorizonLayout:
    return roi_template.horizon_layout(model.tracked_months, model.horizon_months)


def _expected_columns(model) -> dict[str, np.ndarray]:
    """The horizon table's columns as the engine gives them: a stream outside
    the scenario at zero, each risk-adjusted by its own factor, the measured
    headline's benefits counting the demonstrated and adverse streams."""
    monthly = model.monthly
    raw = {s: monthly[s].to_numpy(float) * (1.0 if s == "proxies" or model.results[s].verdict in IN_SCENARIO else 0.0) for s in STREAMS}
    adjusted = {s: risk_adjusted(raw[s], model.risks[s]) for s in MEASURED_STREAMS}
    adjusted["proxies"] = monthly["proxies_adjusted"].to_numpy(float)
    benefit = sum(adjusted.values())
    cost = monthly["cost"].to_numpy(float)
    net = benefit - cost * (1 + model.risks["cost"])
    discounted = net / (1 + model.monthly_rate) ** monthly["period"].to_numpy(float)
    tracked = ~monthly["projected"].to_numpy(bool)
    counted = sum(adjusted[s] for s in MEASURED_STREAMS if model.results[s].verdict in COUNTED) + adjusted["proxies"]
    return {
        **raw,
        **{f"{s}_adjusted": adjusted[s] for s in STREAMS},
        "cost": cost,
        "benefit": benefit,
        "cost_adjusted": cost * (1 + model.risks["cost"]),
        "net": net,
        "discounted_net": discounted,
        "cumulative_net": np.cumsum(discounted),
        "benefit_to_date": np.where(tracked, counted, 0.0),
        "cost_to_date": np.where(tracked, cost, 0.0),
    }


def test_horizon_table_equals_the_engine_in_libreoffice(recalculated, model):
    roi = recalculated["template"]["ROI"]
    lay = _layout(model)
    assert lay.rows == model.horizon_months == 36
    for name, expected in _expected_columns(model).items():
        got = [roi[f"{lay.letter(name)}{lay.first + i}"] for i in range(lay.rows)]
        scale = max(1.0, float(np.abs(expected).max()))
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9 * scale, err_msg=name)
    status = [roi[f"{lay.letter('status')}{lay.first + i}"] for i in range(lay.rows)]
    assert status == ["projected" if p else "tracked" for p in model.monthly["projected"]]


def test_measured_and_horizon_headline_equal_the_engine(recalculated, model):
    roi = recalculated["template"]["ROI"]
    for column, tei in (("D", model.to_date), ("E", model.horizon)):
        assert roi[f"{column}6"] == pytest.approx(tei.pv_benefits, rel=1e-9)
        assert roi[f"{column}7"] == pytest.approx(tei.pv_costs, rel=1e-9)
        assert roi[f"{column}8"] == pytest.approx(tei.npv, rel=1e-9)
        assert roi[f"{column}9"] == pytest.approx(tei.roi, rel=1e-9)
        assert roi[f"{column}10"] == pytest.approx(tei.payback, rel=1e-9, abs=1e-9)
    inputs = recalculated["template"]["Inputs"]
    assert inputs[f"B{HOLISTIC_CALC_ROW}"] == pytest.approx(model.baseline_churn, rel=1e-9)
    assert inputs[f"B{HOLISTIC_CALC_ROW + 1}"] == pytest.approx(model.baseline_arpu, rel=1e-9)
    assert inputs[f"B{HOLISTIC_CALC_ROW + 4}"] == model.horizon_months
    # the counted flags, LibreOffice's INDEX/MATCH over the Summary
    for i, s in enumerate(MEASURED_STREAMS):
        assert bool(inputs[f"B{HOLISTIC_CALC_ROW + 5 + i}"]) == (model.results[s].verdict in COUNTED), s


def test_summary_sheet_shows_the_engine_and_agrees_with_the_other_sheets(recalculated, model):
    summary = recalculated["template"]["Summary"]
    for i, (label, value) in enumerate(figures(model)):
        r = SUMMARY_FIRST_ROW + i
        assert summary[f"B{r}"] == label == FIGURE_LABELS[i]
        if isinstance(value, float):
            assert summary[f"C{r}"] == pytest.approx(value, rel=1e-9), label
        elif value is not None:
            assert summary[f"C{r}"] == value, label
    roi = recalculated["template"]["ROI"]
    assert summary[f"C{SUMMARY_FIRST_ROW}"] == pytest.approx(roi["D8"], rel=1e-9)  # the measured NPV, both sheets
    words = {"demonstrated": "improved", "adverse": "worse", "not demonstrated": "no clear change", "not estimable": "not enough data", "not corroborated": "not corroborated"}
    assert recalculated["template"]["CX metrics"]["H9"] == words[model.results["retention"].verdict]


def test_scenarios_monte_carlo_and_tornado_equal_the_risk_engine(recalculated, model):
    sheet = recalculated["template"]["Scenarios"]
    expected = _expected_columns(model)
    streams = np.column_stack([expected[s] for s in STREAMS])
    costs = expected["cost"]
    targets = {"service": 1 - model.risks["service"], "retention": 1 - model.risks["retention"], "uplift": 1 - model.risks["uplift"], "proxies": 1.0, "cost": 1 + model.risks["cost"]}
    scale = {name: targets[name] / ((DEFAULT_SPREADS[name][0] + 1 + DEFAULT_SPREADS[name][1]) / 3) for name in (*STREAMS, "cost")}
    for i, name in enumerate((*STREAMS, "cost")):  # the sheet's own formulas for the scales
        assert sheet[f"K{hs.SPREAD_ROW + i}"] == pytest.approx(scale[name], rel=1e-12)
    streams = streams * np.array([scale[s] for s in STREAMS])
    costs = costs * scale["cost"]
    low, high = [DEFAULT_SPREADS[s][0] for s in STREAMS], [DEFAULT_SPREADS[s][1] for s in STREAMS]
    used_cost = DEFAULT_SPREADS["cost"]
    result = risk.monte_carlo_npv(streams, costs, model.monthly_rate, low, high, *used_cost, MONTE_CARLO_TRIALS, MONTE_CARLO_SEED, hs.MC_BINS)
    top = hs.TABLE_ROW
    assert [sheet[f"B{top + 1 + i}"] for i in range(8)] == [label for label, _ in result.rows()]
    for i, (_, value) in enumerate(result.rows()):
        assert sheet[f"C{top + 1 + i}"] == pytest.approx(value, rel=1e-12)
    for k in range(hs.MC_BINS):
        r = top + 9 + k
        assert sheet[f"C{r}"] == pytest.approx(result.bin_edges[k], rel=1e-12)
        assert sheet[f"D{r}"] == pytest.approx(result.bin_edges[k + 1], rel=1e-12)
        assert sheet[f"E{r}"] == result.bin_counts[k]
    assert sum(sheet[f"E{top + 9 + k}"] for k in range(hs.MC_BINS)) == MONTE_CARLO_TRIALS
    tornado = risk.tornado(streams, costs, model.monthly_rate, low, high, *used_cost, [hs.STREAM_LABELS[s] for s in STREAMS])
    for i, row in enumerate(tornado.itertuples(index=False)):
        r = top + 1 + i
        assert sheet[f"G{r}"] == row.driver
        assert (sheet[f"H{r}"], sheet[f"I{r}"], sheet[f"J{r}"]) == pytest.approx((row.npv_low, row.npv_high, row.swing), rel=1e-12)
    # risk counted once: the Monte Carlo's mean is close to the scenario's risk-adjusted NPV beside it
    assert sheet["I7"] == pytest.approx(model.horizon.npv, rel=1e-9)
    discount = (1 + model.monthly_rate) ** -model.monthly["period"].to_numpy(float)
    for i, name in enumerate(STREAMS):
        assert sheet[f"F{hs.SPREAD_ROW + i}"] == pytest.approx(float(expected[name] @ discount), rel=1e-9, abs=1e-9)
    # risk counted once: the trials' mean is the scenario's risk-adjusted NPV, within 3 standard errors
    # (exact for streams without a negative month: a negative month is made worse by risk in the headline)
    if all((expected[s] >= 0).all() for s in STREAMS):
        assert abs(result.npv_mean - model.horizon.npv) <= 3 * float(np.std(result.npv)) / np.sqrt(MONTE_CARLO_TRIALS)


def test_data_check_counts_and_points_at_the_first_blank(recalculated):
    template = recalculated["template"]["ROI"]
    assert template["C19"] == 0 and template["D19"] == "none"
    holes, cached = recalculated["holes"]["ROI"], recalculated["holes_cached"]["ROI"]
    # planted: Baseline new_customers of the 4th month, Post-automation revenue of the 2nd
    base_col = roi_template.TableSpec(roi_template.BASELINE, roi_template._kpi_columns("USD"), 4).col_letter("new_customers")
    assert holes["C19"] == 2 == cached["C19"].value
    assert holes["D19"] == f"first: 'Baseline'!{base_col}8" == cached["D19"].value


def test_structure_proxies_sheet_and_charts():
    book = roi_template.build()
    proxies = book["Proxies"]
    assert [c.value for c in proxies[4]][:5] == ["name", "monthly_value", "first_month", "last_month", "confidence"]
    data = example_input()
    assert proxies.max_row >= 4 + len(data.proxies)
    model = measure(data)
    lay = _layout(model)
    charts = book["ROI"]._charts
    stacked, cumulative = charts[2], charts[3]
    projected = model.horizon_months - model.tracked_months
    assert all(len(series.dPt) == projected for series in stacked.series)  # projected months drawn lighter
    assert len(cumulative.series[0].dPt) == projected
    assert all(chart.x_axis.tickLblPos == "low" for chart in charts[1:])  # month labels at the bottom, not on the zero line
    roi = book["ROI"]
    assert roi.conditional_formatting  # the data check lights up when non-zero
    assert roi[f"{lay.letter('month')}{lay.header_row}"].value.text.startswith("=CXMEASUREDMONTHS(")  # the table starts with Month
    assert book.sheetnames[:2] == ["Start here", "Summary"]
    scenarios = book["Scenarios"]
    assert [scenarios[f"C{hs.SPREAD_ROW + i}"].value for i in range(5)] == [DEFAULT_SPREADS[s][0] for s in (*STREAMS, "cost")]
    assert [scenarios[f"E{hs.SPREAD_ROW + i}"].value for i in range(5)] == [DEFAULT_SPREADS[s][1] for s in (*STREAMS, "cost")]


def test_a_client_the_holistic_model_refuses_gets_the_interpreter_not_wrong_numbers(tmp_path):
    """No baseline customers: revenue per customer is undefined, so the
    engine refuses the measured model; the workbook still builds (all in
    memory, values from the interpreter) and the streams show an error, not a
    number."""
    data = example_input()
    kpis = data.kpis.copy()
    before = (month_start(kpis["month"]) < month_start([data.go_live]).iloc[0]).to_numpy()
    kpis.loc[before, "active_customers"] = 0
    refused = dataclasses.replace(data, kpis=kpis)
    assert roi_template.engine_model(refused) is None
    from cxroi_xl.calc.workbook import complete_values
    from cxroi_xl.workbooks.cache import MissingValueError

    with pytest.raises(MissingValueError):  # the builder never guesses: the values come from the evaluator the caller passes
        build.build_client_workbook(refused, "cx_automation_roi", "values", tmp_path / "unfilled.xlsx")
    path = build.build_client_workbook(refused, "cx_automation_roi", "values", tmp_path / "refused.xlsx", interpret=complete_values)
    roi = openpyxl.load_workbook(path, data_only=True)["ROI"]
    lay = roi_template.horizon_layout(len(kpis) - int(before.sum()), 36)
    assert str(roi[f"{lay.letter('month')}{lay.header_row}"].value).startswith("#")  # CXMEASUREDMONTHS refused: its error, once
    assert str(roi["E8"].value).startswith("#")  # an error, never a number
    assert isinstance(roi["C8"].value, float)  # the service-only headline still reports
