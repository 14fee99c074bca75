"""summary.csv: its columns declared once, money rounded to the currency's
minor unit, rates to 4 decimals.

Oracles: the ISO 4217 list of minor units (USD 2, EUR 2, JPY 0, BHD 3, KWD
3, CLF 4; gold XAU has none), written out below; the client's rows read
with plain pandas in tests/batch/test_run.py (``independent_tei``), rounded
by hand here.
"""
from __future__ import annotations

import csv


import pandas as pd
import pytest
from typer.testing import CliRunner

from cxroi_xl.batch import run as batch
from cxroi_xl.cli import app
from cxroi_xl.workbooks.summary_columns import COLUMNS, SUMMARY_COLUMNS, minor_unit, round_money, round_row
from tests.batch.test_run import independent_tei, subset

runner = CliRunner()


@pytest.mark.parametrize("currency, places", [("USD", 2), ("EUR", 2), ("GBP", 2), ("JPY", 0), ("BHD", 3), ("KWD", 3), ("CLF", 4), ("XAU", 2), ("ZZZ", 2)])
def test_minor_units_follow_iso_4217(currency, places):
    # XAU (no minor unit) and a code ISO 4217 does not list keep 2 decimals
    assert minor_unit(currency) == places


def test_round_money_and_rows_by_hand():
    assert round_money(1234.5678, "USD") == 1234.57
    assert round_money(1234.5678, "JPY") == 1235 and isinstance(round_money(1234.5678, "JPY"), int)
    assert round_money(1.23456, "BHD") == 1.235 and round_money(-2.5e-4, "BHD") in (0.0, -0.0)
    row = {"client_id": "a", "client_name": "A", "currency": "JPY", "pv_benefits": 150_000.4, "pv_costs": 99_999.5, "npv": 50_000.9,
           "roi": 0.500014, "payback_months": 7.456, "nps_baseline": 12.345678, "nps_post": None, "csat_baseline": 0.812345,
           "csat_post": 0.9, "churn_baseline": 0.0234567, "churn_post": float("nan")}
    rounded = round_row(row)
    assert rounded["pv_benefits"] == 150_000 and rounded["pv_costs"] == 100_000 and rounded["npv"] == 50_001
    assert rounded["roi"] == 0.5 and rounded["csat_baseline"] == 0.8123 and rounded["churn_baseline"] == 0.0235
    assert rounded["payback_months"] == 7.46 and rounded["nps_baseline"] == 12.35
    assert rounded["nps_post"] is None and rounded["churn_post"] is None
    assert rounded["client_name"] == "A"


def test_columns_are_declared_once():
    assert batch.SUMMARY_COLUMNS is SUMMARY_COLUMNS
    assert [c.name for c in COLUMNS] == list(SUMMARY_COLUMNS)
    assert len({c.label for c in COLUMNS}) == len(COLUMNS)
    assert {c.name for c in COLUMNS if c.additive} == {"pv_benefits", "pv_costs", "npv", "pv_service", "pv_retention", "pv_uplift", "pv_proxies", "pv_costs_horizon", "npv_horizon"}


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def test_summary_csv_rounds_per_currency(tmp_path):
    data = subset(tmp_path, ["rose-bakery", "ledgerly"])
    clients = pd.read_csv(data / "clients.csv", dtype=str)
    clients["currency"] = clients["client_id"].map({"rose-bakery": "JPY", "ledgerly": "BHD"})
    clients.to_csv(data / "clients.csv", index=False)
    out = tmp_path / "out"
    result = runner.invoke(app, ["generate", str(data), "--out", str(out), "--jobs", "1", "--mode", "live"])
    assert result.exit_code == 0, result.output
    with open(out / "summary.csv", newline="", encoding="utf-8") as handle:
        summary = {row["client_id"]: row for row in csv.DictReader(handle)}
    assert list(next(iter(summary.values()))) == list(SUMMARY_COLUMNS)
    for client_id, currency, places in (("rose-bakery", "JPY", 0), ("ledgerly", "BHD", 3)):
        row = summary[client_id]
        assert row["currency"] == currency
        expected = independent_tei(data, client_id)  # the model re-derived with pandas
        for name in ("pv_benefits", "pv_costs", "npv"):
            assert _decimals(row[name]) <= places
            # rounded to the minor unit: within half of it of the exact value
            assert float(row[name]) == pytest.approx(expected[name], abs=0.5 * 10**-places * (1 + 1e-6))
        assert _decimals(row["roi"]) <= 4 and float(row["roi"]) == pytest.approx(expected["roi"], abs=0.5e-4 * (1 + 1e-6))
        for name in ("csat_baseline", "csat_post", "churn_baseline", "churn_post"):
            assert _decimals(row[name]) <= 4


# ---- the measured model's columns ---------------------------------------------
# The numbers' oracles are in tests/engine/test_streams.py; here: the summary
# shows exactly the engine's figures (unrounded, rel 1e-12), the horizon
# stream PVs are the discounted risk-adjusted monthly streams of the scenario
# (recomputed here from the monthly table), and the verdicts are words.


@pytest.mark.parametrize("client_id", ["rose-bakery", "northwind-shop"])
def test_summary_columns_are_the_measured_model(client_id):
    from cxroi_xl.batch.read import read_batch
    from cxroi_xl.batch.summary import summary_values
    from cxroi_xl.engine.defaults import default_monte_carlo
    from cxroi_xl.engine.streams import IN_SCENARIO, MEASURED_STREAMS, measure
    from tests.batch.test_run import SAMPLE

    data = read_batch(SAMPLE).tracker_input(client_id)
    row = summary_values(data)
    model = measure(data)
    tei = model.to_date
    for name, value in (("pv_benefits", tei.pv_benefits), ("pv_costs", tei.pv_costs), ("npv", tei.npv), ("roi", tei.roi), ("npv_horizon", model.horizon.npv), ("roi_horizon", model.horizon.roi)):
        assert row[name] == pytest.approx(value, rel=1e-12), name
    assert (row["npv_low"], row["npv_high"]) == pytest.approx(model.npv_interval[0.95], rel=1e-12)
    assert row["npv_low"] <= row["npv"] <= row["npv_high"]
    monthly = model.monthly
    discount = (1 + model.monthly_rate) ** -monthly["period"].to_numpy(float)
    for s in MEASURED_STREAMS:
        assert row[f"verdict_{s}"] == model.results[s].verdict
        included = model.results[s].verdict in IN_SCENARIO
        expected = float(monthly[f"{s}_adjusted"].to_numpy(float) @ discount) if included else 0.0
        assert row[f"pv_{s}"] == pytest.approx(expected, rel=1e-12, abs=1e-9), s
    assert 0 <= row["projected_share"] <= 1
    assert row["p_npv_positive"] == default_monte_carlo(model).probability_positive


def test_columns_blank_when_the_engine_refuses():
    import dataclasses

    from cxroi_xl.batch.read import read_batch
    from cxroi_xl.batch.summary import HEADLINE_COLUMNS, HOLISTIC_COLUMNS, summary_values
    from tests.batch.test_run import SAMPLE

    data = read_batch(SAMPLE).tracker_input("ledgerly")
    kpis = data.kpis.copy()
    kpis.loc[kpis["month"] < data.go_live, "active_customers"] = 0  # revenue per customer undefined
    row = summary_values(dataclasses.replace(data, kpis=kpis))
    assert all(row[name] is None for name in (*HEADLINE_COLUMNS, *HOLISTIC_COLUMNS))
    assert row["churn_post"] is not None and row["nps_post"] is not None  # what does not need the model still reports


# ---- each template's own summary ---------------------------------------------------
# Oracles: the column lists written out here; an attribution client's
# conversions, value and top channels worked out by hand below.


def test_each_template_has_its_own_columns():
    from cxroi_xl.engine.attribution import MODELS
    from cxroi_xl.workbooks.build import BUILDERS
    from cxroi_xl.workbooks.summary_columns import ATTRIBUTION_COLUMNS, CUSTOMER_VALUE_COLUMNS, IDENTITY_COLUMNS, SPECS, summary_spec

    assert set(SPECS) == set(BUILDERS)
    identity = {"client_id", "client_name", "currency"}
    assert [c.name for c in IDENTITY_COLUMNS] == ["client_id", "client_name", "currency"]
    roi, value, attribution = ({c.name for c in columns} - identity for columns in (COLUMNS, CUSTOMER_VALUE_COLUMNS, ATTRIBUTION_COLUMNS))
    assert value == {"customers", "cltv", "predicted_clv", "churn", "cac", "ltv_cac", "cac_payback_months", "verdict", "note"}
    assert attribution == {"conversions", "conversion_value", "note"} | {f"top_{m}" for m in MODELS}
    assert not roi & value and not roi & attribution  # no ROI column in the others' summaries, nor theirs in the ROI's
    assert [c.name for c in ATTRIBUTION_COLUMNS if c.name.startswith("top_")] == [f"top_{m}" for m in MODELS]  # the workbook's order
    for template, spec in SPECS.items():
        assert spec.template == template and summary_spec(template) is spec
        assert len({c.label for c in spec.columns}) == len(spec.columns)
        assert spec.ratio.numerator in spec.additive and spec.ratio.denominator in spec.additive
    assert summary_spec("cx_automation_roi").names == SUMMARY_COLUMNS
    with pytest.raises(ValueError, match="no summary for template 'bogus'"):
        summary_spec("bogus")


def test_rounding_of_the_other_templates_by_hand():
    value = {"client_id": "a", "currency": "JPY", "customers": 250.0, "cltv": 1234.5678, "predicted_clv": 99.5, "churn": 0.0345678,
             "cac": 150.4, "ltv_cac": 3.39387889, "cac_payback_months": 5.747014, "verdict": "healthy: 3 or more", "note": None}
    rounded = round_row(value, "customer_value")
    assert rounded["customers"] == 250 and isinstance(rounded["customers"], int)
    assert rounded["cltv"] == 1235 and rounded["predicted_clv"] == 100 and rounded["cac"] == 150  # yen: no minor unit
    assert rounded["churn"] == 0.0346 and rounded["ltv_cac"] == 3.39 and rounded["cac_payback_months"] == 5.75
    attribution = round_row({"client_id": "b", "currency": "BHD", "conversions": 12.5, "conversion_value": 1.23456, "top_first": "=cmd"}, "attribution")
    assert attribution["conversions"] == 12.5 and attribution["conversion_value"] == 1.235 and attribution["top_first"] == "=cmd"


def test_top_channel_by_hand():
    from cxroi_xl.excel import ExcelError
    from cxroi_xl.workbooks.attribution_values import top_channel

    header = ["Channel", "Conversions", "Value", "Share"]
    assert top_channel([header, ["chat", 1.0, 10.0, 0.25], ["email", 3.0, 30.0, 0.75]]) == "email"
    # a tie to 12 significant digits names both, in the table's order
    assert top_channel([header, ["a", 2.0, 0.0, 0.5], ["b", 2.0 * (1 + 1e-14), 0.0, 0.5]]) == "a / b"
    error = ExcelError("#DIV/0!", "no conversions to attribute")
    assert top_channel(error) is error


JOURNEYS = pd.DataFrame(
    {
        "client_id": ["alpha"] * 3,
        "path": ["search > email", "email", "social > search > chatbot"],
        "conversions": [2, 1, 1],
        "value": [200.0, 50.0, 80.0],
        "nulls": [1, 3, 2],
    }
)


def test_attribution_summary_by_hand(tmp_path):
    """Conversions 2 + 1 + 1 = 4 worth 200 + 50 + 80 = 330. Credit by model:
    first touch: search 2, email 1, social 1 -> search. Last touch: email 3,
    chatbot 1 -> email. Linear: email 1 + 1 = 2, search 1 + 1/3, social and
    chatbot 1/3 -> email. Position: email 1/2 x 2 + 1 = 2, search 1 + 0.2 ->
    email. Time decay (half-life 1): search > email weighs 1/3, 2/3 (x 2),
    the three-touch path 1/7, 2/7, 4/7: email 4/3 + 1 -> email. Shapley:
    email 1 + 1 = 2, search 1 + 1/3 -> email. Markov (weights conversions +
    nulls: 3, 4 and 3 journeys): P(conv) from start 0.4; removing search,
    email, social, chatbot leaves 6/35, 0.1, 2/7, 0.3, removal effects 4/7,
    3/4, 2/7, 1/4 (sum 13/7), so email gets 3/4 / (13/7) x 4 = 21/13 of the
    4 conversions, search 16/13 -> email."""
    from cxroi_xl.batch.read import read_batch
    from cxroi_xl.batch.summary import attribution_values, summary_row
    from cxroi_xl.engine.attribution import attribute
    from cxroi_xl.workbooks.summary_columns import ATTRIBUTION_COLUMNS
    from tests.batch.test_customer_value_batch import CLIENTS, write_data

    data_dir = write_data(tmp_path / "data", CLIENTS[:1])
    JOURNEYS.to_csv(data_dir / "journeys.csv", index=False)
    batch = read_batch(data_dir)
    try:
        assert batch.problems == []
        data = batch.tracker_input("alpha")
        values = attribution_values(data)
        row = summary_row(data, template="attribution")
    finally:
        batch.close()
    assert list(row) == [c.name for c in ATTRIBUTION_COLUMNS]
    assert values["conversions"] == 4 and values["conversion_value"] == pytest.approx(330.0, rel=1e-15)
    expected = {"first": "search", "last": "email", "linear": "email", "position": "email", "time_decay": "email", "markov": "email", "shapley": "email"}
    assert {name[4:]: row[name] for name in row if name.startswith("top_")} == expected
    assert row["note"] is None and row["conversions"] == 4 and row["conversion_value"] == 330.0
    # the hand-derived Markov credit the top channel rests on
    markov = attribute(JOURNEYS, "markov", null_col="nulls").set_index("channel")["conversions"]
    assert markov["email"] == pytest.approx(21 / 13, rel=1e-12) and markov["search"] == pytest.approx(16 / 13, rel=1e-12)


def test_the_roi_summary_stays_the_default():
    from cxroi_xl.batch.read import read_batch
    from cxroi_xl.batch.summary import summary_row
    from tests.batch.test_run import SAMPLE

    batch = read_batch(SAMPLE)
    try:
        data = batch.tracker_input("rose-bakery")
        assert summary_row(data) == summary_row(data, template="cx_automation_roi")
        assert list(summary_row(data)) == list(SUMMARY_COLUMNS)
    finally:
        batch.close()
