"""Batch input for the holistic model: optional leads/won, the proxies table
and the new client inputs are read, and bad rows are reported with file,
row and column while the other clients go on."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cxroi_xl.batch.read import read_batch
from cxroi_xl.engine.streams import measure
from tests.conftest import ROOT

SAMPLE = ROOT / "examples" / "sample_clients"
TWO = ["rose-bakery", "ledgerly"]  # both have leads and won and proxies


def data_folder(tmp_path: Path, edit=None) -> Path:
    """Two sample clients; ``edit(name, frame)`` may change a table."""
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("clients", "kpis", "costs", "proxies"):
        frame = pd.read_csv(SAMPLE / f"{name}.csv", dtype=str, keep_default_na=False)
        frame = frame[frame["client_id"].isin(TWO)].reset_index(drop=True)
        if edit is not None:
            frame = edit(name, frame)
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def problems(batch) -> list[tuple]:
    return [(p.client_id, p.file, p.row, p.column) for p in batch.problems]


def test_sample_batch_reads_leads_proxies_and_inputs():
    batch = read_batch(SAMPLE)
    assert not batch.problems
    ledgerly = batch.tracker_input("ledgerly")
    assert ledgerly.kpis[["leads", "won"]].notna().all().all()
    assert ledgerly.proxies is not None and set(ledgerly.proxies.columns) >= {"name", "monthly_value", "first_month", "last_month", "confidence"}
    assert ledgerly.proxies["monthly_value"].dtype == float
    northwind = batch.tracker_input("northwind-shop")  # no leads, no proxies
    assert northwind.kpis[["leads", "won"]].isna().all().all() and northwind.proxies is None
    assert not measure(northwind).has_uplift


def test_holistic_client_inputs_reach_the_model(tmp_path):
    def inputs(name, frame):
        if name == "clients":
            frame = frame.assign(gross_margin=["0.6", ""], horizon_months=["24", ""], uplift_risk=["0.4", ""], half_life_retention=["12", ""], ramp_months=["3", ""])
        return frame

    batch = read_batch(data_folder(tmp_path, inputs))
    assert not batch.problems
    rose, ledgerly = batch.tracker_input("rose-bakery"), batch.tracker_input("ledgerly")
    assert (rose.gross_margin, rose.horizon_months, rose.uplift_risk, rose.half_lives["retention"], rose.ramp_months) == (0.6, 24, 0.4, 12.0, 3)
    assert (ledgerly.horizon_months, ledgerly.uplift_risk, ledgerly.half_lives["retention"], ledgerly.ramp_months) == (36, 0.25, 24.0, 0)
    model = measure(rose)
    assert model.horizon_months == 24 and model.half_lives["retention"] == 12.0 and model.ramp_months == 3 and model.risks["uplift"] == 0.4


def test_a_partial_leads_column_fails_only_that_client(tmp_path):
    def blank_one(name, frame):
        if name == "kpis":
            frame.loc[3, "won"] = ""  # rose-bakery's fourth month
        return frame

    batch = read_batch(data_folder(tmp_path, blank_one))
    assert problems(batch) == [("rose-bakery", "kpis.csv", 5, "won")]
    assert "every month of a client or in none" in batch.problems[0].message
    assert batch.valid_client_ids() == ["ledgerly"]


def test_won_above_leads_and_bad_proxies_are_reported(tmp_path):
    def spoil(name, frame):
        if name == "kpis":
            frame.loc[2, "won"] = str(int(frame.loc[2, "leads"]) + 1)
        if name == "proxies":
            ledgerly = frame.index[frame["client_id"] == "ledgerly"]
            frame.loc[ledgerly[0], "confidence"] = "1.5"
            frame.loc[ledgerly[1], "last_month"] = "2020-01"
        return frame

    folder = data_folder(tmp_path, spoil)
    proxies = pd.read_csv(folder / "proxies.csv")
    ledgerly_rows = [int(i) + 2 for i in proxies.index[proxies["client_id"] == "ledgerly"][:2]]
    batch = read_batch(folder)
    found = problems(batch)
    assert ("rose-bakery", "kpis.csv", 4, "won") in found
    assert ("ledgerly", "proxies.csv", ledgerly_rows[0], "confidence") in found
    assert ("ledgerly", "proxies.csv", ledgerly_rows[1], "last_month") in found
    assert batch.valid_client_ids() == []


@pytest.mark.parametrize("column, value", [("gross_margin", "1.5"), ("horizon_months", "0"), ("retention_risk", "-0.1"), ("value_per_win", "250"), ("method", "arima"), ("half_life_uplift", "-3")])
def test_bad_holistic_client_inputs_are_reported(tmp_path, column, value):
    def spoil(name, frame):
        if name == "clients":
            frame[column] = ["", value]
        return frame

    batch = read_batch(data_folder(tmp_path, spoil))
    assert problems(batch) == [("ledgerly", "clients.csv", 3, column)]
    assert batch.valid_client_ids() == ["rose-bakery"]
    assert batch.tracker_input("rose-bakery").horizon_months == 36  # blank: the default
