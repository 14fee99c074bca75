"""The holistic ROI in the main template: every benefit stream over the
horizon on the ROI sheet, the Proxies and Scenarios sheets and the data
check, recalculated by real LibreOffice and compared with the engine.

Oracles: the ROI sheet's native formulas (streams, risk adjustment,
projection, discounting) recalculated by LibreOffice against
:meth:`cxroi_xl.engine.tracker.TrackerInput.streams` (itself checked against an
independent pandas loop in tests/engine/test_tracker.py), rel 1e-9; the
Scenarios sheet's Monte Carlo and tornado against
:func:`cxroi_xl.engine.risk.monte_carlo_npv` and :func:`cxroi_xl.engine.risk.tornado`
called directly with the same seed (identical); the data check's count and
first address against the blank cells planted by hand.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import openpyxl
import pytest

from cxroi_xl.engine import risk
from cxroi_xl.engine.defaults import DEFAULT_SPREADS, MONTE_CARLO_SEED, MONTE_CARLO_TRIALS
from cxroi_xl.engine.tracker import STREAMS, month_start
from cxroi_xl.workbooks import build, holistic_sheets as hs, libreoffice, roi_template
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
    holed = build.build_client_workbook(holes, "cx_automation_roi", "values", out / "holes.xlsx")
    paths = libreoffice.recalculate_all([template, holed], out / "lo")
    return {"template": libreoffice.read_values(paths[0]), "holes": libreoffice.read_values(paths[1]), "holes_cached": openpyxl.load_workbook(holed, data_only=True)}


@pytest.fixture(scope="module")
def model():
    return example_input().streams()


def _layout(model) -> hs.HorizonLayout:
    return roi_template.horizon_layout(model.tracked_months, model.horizon_months)


def test_horizon_table_equals_the_engine_in_libreoffice(recalculated, model):
    roi = recalculated["template"]["ROI"]
    lay = _layout(model)
    assert lay.rows == model.horizon_months == 36
    monthly = model.monthly
    for name in ("service", "retention", "uplift", "proxies", "cost", "customers_saved", "customers_kept", "service_adjusted", "retention_adjusted",
                 "uplift_adjusted", "proxies_adjusted", "benefit", "cost_adjusted", "net", "discounted_net", "cumulative_net"):
        got = [roi[f"{lay.letter(name)}{lay.first + i}"] for i in range(lay.rows)]
        expected = monthly[name].to_numpy(float)
        scale = max(1.0, float(np.abs(expected).max()))
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9 * scale, err_msg=name)
    status = [roi[f"{lay.letter('status')}{lay.first + i}"] for i in range(lay.rows)]
    assert status == ["projected" if p else "tracked" for p in monthly["projected"]]
    assert {name: bool(np.abs(monthly[name]).sum() > 0) for name in STREAMS} == dict.fromkeys(STREAMS, True)  # the example shows every stream


def test_to_date_and_horizon_headline_equal_the_engine(recalculated, model):
    roi = recalculated["template"]["ROI"]
    for column, tei in (("D", model.to_date), ("E", model.horizon)):
        assert roi[f"{column}6"] == pytest.approx(tei.pv_benefits, rel=1e-9)
        assert roi[f"{column}7"] == pytest.approx(tei.pv_costs, rel=1e-9)
        assert roi[f"{column}8"] == pytest.approx(tei.npv, rel=1e-9)
        assert roi[f"{column}9"] == pytest.approx(tei.roi, rel=1e-9)
        assert roi[f"{column}10"] == pytest.approx(tei.payback, rel=1e-9)
    inputs = recalculated["template"]["Inputs"]
    assert inputs[f"B{HOLISTIC_CALC_ROW}"] == pytest.approx(model.baseline_churn, rel=1e-9)
    assert inputs[f"B{HOLISTIC_CALC_ROW + 1}"] == pytest.approx(model.baseline_arpu, rel=1e-9)
    assert inputs[f"B{HOLISTIC_CALC_ROW + 3}"] == pytest.approx(model.value_per_win, rel=1e-9)
    assert inputs["D20"] == pytest.approx(model.value_per_win, rel=1e-9)  # the default, beside the (blank) input


def test_scenarios_monte_carlo_and_tornado_equal_the_risk_engine(recalculated, model):
    sheet = recalculated["template"]["Scenarios"]
    streams, costs, _ = model.risk_inputs()
    low = [DEFAULT_SPREADS[s][0] for s in STREAMS]
    high = [DEFAULT_SPREADS[s][1] for s in STREAMS]
    result = risk.monte_carlo_npv(streams, costs, model.monthly_rate, low, high, *DEFAULT_SPREADS["cost"], MONTE_CARLO_TRIALS, MONTE_CARLO_SEED, hs.MC_BINS)
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
    tornado = risk.tornado(streams, costs, model.monthly_rate, low, high, *DEFAULT_SPREADS["cost"], [hs.STREAM_LABELS[s] for s in STREAMS])
    for i, row in enumerate(tornado.itertuples(index=False)):
        r = top + 1 + i
        assert sheet[f"G{r}"] == row.driver
        assert (sheet[f"H{r}"], sheet[f"I{r}"], sheet[f"J{r}"]) == pytest.approx((row.npv_low, row.npv_high, row.swing), rel=1e-12)
    swings = [sheet[f"J{top + 1 + i}"] for i in range(len(STREAMS) + 1)]
    assert swings == sorted(swings, reverse=True)
    # the deterministic risk-adjusted NPV beside them, and each driver's PV (LibreOffice's SUMPRODUCT)
    assert sheet["I7"] == pytest.approx(model.horizon.npv, rel=1e-9)
    unadjusted = model.stream_pv(adjusted=False)
    for i, name in enumerate(STREAMS):
        assert sheet[f"F{hs.SPREAD_ROW + i}"] == pytest.approx(unadjusted[name], rel=1e-9)


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
    model = data.streams()
    lay = _layout(model)
    charts = book["ROI"]._charts
    stacked, cumulative = charts[2], charts[3]
    projected = model.horizon_months - model.tracked_months
    assert all(len(series.dPt) == projected for series in stacked.series)  # projected months drawn lighter
    assert len(cumulative.series[0].dPt) == projected
    assert all(chart.x_axis.tickLblPos == "low" for chart in charts[1:])  # month labels at the bottom, not on the zero line
    roi = book["ROI"]
    assert roi.conditional_formatting  # the data check lights up when non-zero
    assert roi[f"{lay.letter('status')}{lay.first}"].value.startswith("=IF(")
    scenarios = book["Scenarios"]
    assert [scenarios[f"C{hs.SPREAD_ROW + i}"].value for i in range(5)] == [DEFAULT_SPREADS[s][0] for s in (*STREAMS, "cost")]
    assert [scenarios[f"E{hs.SPREAD_ROW + i}"].value for i in range(5)] == [DEFAULT_SPREADS[s][1] for s in (*STREAMS, "cost")]


def test_a_client_the_holistic_model_refuses_gets_the_interpreter_not_wrong_numbers(tmp_path):
    """No baseline customers: baseline churn is undefined, so the engine
    refuses the holistic model; the workbook still builds (all in memory,
    values from the interpreter) and the streams show #DIV/0!, not a number."""
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
    assert roi[f"{lay.letter('retention')}{lay.first + 1}"].value == "#DIV/0!"
    assert str(roi["E8"].value).startswith("#")  # an error, never a number
    assert isinstance(roi["C8"].value, float)  # the service-only headline still reports
