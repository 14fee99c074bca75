"""summary.csv: its columns declared once, money rounded to the currency's
minor unit, rates to 4 decimals.

Oracles: the ISO 4217 list of minor units (USD 2, EUR 2, JPY 0, BHD 3, KWD
3, CLF 4; gold XAU has none), written out below; the ROI model re-derived
with plain pandas in tests/batch/test_run.py (``independent_tei``), rounded by
hand here.
"""
from __future__ import annotations

import csv
import math

import numpy as np

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


# ---- the holistic columns ------------------------------------------------------
# Oracle: tests/engine/test_tracker.py's ``loop_model`` (the formulas
# month by month in plain pandas and Python floats) for the PVs, NPV and ROI
# over the horizon, rel 1e-9 on the unrounded figures; for P(NPV > 0) a plain
# per-trial Monte Carlo with numpy's own triangular sampler (another generator,
# so within three standard errors), and the exact answer 1 when even the
# worst corner (every stream at its low, costs at their high) pays back.


def _stream_pvs(frame: pd.DataFrame, risks: dict) -> dict:
    def adjust(x, risk):
        return x * (1 - risk) if x >= 0 else x * (1 + risk)

    d = frame["discount"]
    return {
        "pv_service": sum(adjust(x, risks["service"]) * f for x, f in zip(frame["service"], d)),
        "pv_retention": sum(adjust(x, 0.25) * f for x, f in zip(frame["retention"], d)),
        "pv_uplift": sum(adjust(x, 0.25) * f for x, f in zip(frame["uplift"], d)),
        "pv_proxies": sum(x * f for x, f in zip(frame["proxies_adjusted"], d)),
    }


def _plain_monte_carlo(model, trials: int = 20_000) -> tuple[float, float]:
    """P(NPV > 0) and its standard error, one trial at a time."""
    from cxroi_xl.engine.defaults import DEFAULT_SPREADS
    from cxroi_xl.engine.tracker import STREAMS

    d = (1 + model.monthly_rate) ** -model.monthly["period"].to_numpy(float)
    pv = {s: float((model.monthly[s] * d).sum()) for s in STREAMS}
    pv_cost = float((model.monthly["cost"] * d).sum())
    rng = np.random.default_rng(12345)
    positive = 0
    for _ in range(trials):
        npv = sum(pv[s] * (rng.triangular(DEFAULT_SPREADS[s][0], 1, DEFAULT_SPREADS[s][1]) if DEFAULT_SPREADS[s][0] < DEFAULT_SPREADS[s][1] else 1.0) for s in STREAMS)
        npv -= pv_cost * rng.triangular(DEFAULT_SPREADS["cost"][0], 1, DEFAULT_SPREADS["cost"][1])
        positive += npv > 0
    p = positive / trials
    return p, math.sqrt(max(p * (1 - p), 1.0 / trials) / trials)


@pytest.mark.parametrize("client_id", ["rose-bakery", "northwind-shop"])  # leads, won and proxies; neither
def test_holistic_columns_against_an_independent_loop(client_id):
    from cxroi_xl.batch.read import read_batch
    from cxroi_xl.batch.summary import summary_values
    from tests.engine.test_tracker import SAMPLE, loop_model

    clients = pd.read_csv(SAMPLE / "clients.csv").set_index("client_id")
    kpis, costs, proxies = (pd.read_csv(SAMPLE / f"{name}.csv") for name in ("kpis", "costs", "proxies"))
    client = clients.loc[client_id]
    expected = loop_model(client, kpis[kpis["client_id"] == client_id], costs[costs["client_id"] == client_id], proxies[proxies["client_id"] == client_id])
    data = read_batch(SAMPLE).tracker_input(client_id)
    row = summary_values(data)
    pvs = _stream_pvs(expected["frame"], {"service": client["benefit_risk"]})
    for name, value in pvs.items():
        assert row[name] == pytest.approx(value, rel=1e-9, abs=1e-9), name
    pv_b, pv_c, npv, roi = expected["horizon"]
    assert sum(pvs.values()) == pytest.approx(pv_b, rel=1e-9)
    assert row["pv_costs_horizon"] == pytest.approx(pv_c, rel=1e-9)
    assert row["npv_horizon"] == pytest.approx(npv, rel=1e-9)
    assert row["roi_horizon"] == pytest.approx(roi, rel=1e-9)
    if client_id == "rose-bakery":
        assert row["pv_uplift"] != 0 and row["pv_proxies"] != 0  # every stream shows
    p, se = _plain_monte_carlo(data.streams())
    assert abs(row["p_npv_positive"] - p) <= 3 * se + 1e-4
    rounded = round_row(row)
    assert rounded["p_npv_positive"] == round(row["p_npv_positive"], 4)


def test_worst_corner_positive_means_probability_one():
    from cxroi_xl.batch.read import read_batch
    from cxroi_xl.engine.defaults import DEFAULT_SPREADS
    from cxroi_xl.batch.summary import summary_values
    from cxroi_xl.engine.tracker import STREAMS
    from tests.engine.test_tracker import SAMPLE

    data = read_batch(SAMPLE).tracker_input("northwind-shop")
    model = data.streams()
    d = (1 + model.monthly_rate) ** -model.monthly["period"].to_numpy(float)
    worst = sum(DEFAULT_SPREADS[s][0] * float((model.monthly[s] * d).sum()) for s in STREAMS) - DEFAULT_SPREADS["cost"][1] * float((model.monthly["cost"] * d).sum())
    assert worst > 0  # so every trial has NPV > 0
    assert summary_values(data)["p_npv_positive"] == 1.0


def test_holistic_columns_blank_when_the_engine_refuses(monkeypatch):
    from cxroi_xl.batch.read import read_batch
    from cxroi_xl.batch.summary import HOLISTIC_COLUMNS, summary_values
    from tests.engine.test_tracker import SAMPLE

    data = read_batch(SAMPLE).tracker_input("ledgerly")
    kpis = data.kpis.copy()
    kpis.loc[kpis["month"] < data.go_live, "active_customers"] = 0  # baseline churn undefined
    import dataclasses

    row = summary_values(dataclasses.replace(data, kpis=kpis))
    assert all(row[name] is None for name in HOLISTIC_COLUMNS)
    assert row["npv"] is not None  # the service model still reports
