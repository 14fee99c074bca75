"""The bundled sample batch: current, seeded, and usable by every template."""
from __future__ import annotations

import filecmp

import pandas as pd

from cxroi_xl.batch.read import read_batch
from cxroi_xl.workbooks.sample_data import JOURNEY_CLIENTS, ORDER_CLIENTS, SAMPLE_CLIENTS, clients_with, write_sample_batch
from tests.conftest import ROOT

BUNDLED = ROOT / "examples" / "sample_clients"


def test_bundled_sample_batch_is_current(tmp_path):
    # examples/make_sample_clients.py regenerates it; the same seeds give the same files
    write_sample_batch(tmp_path)
    written = sorted(p.name for p in tmp_path.glob("*.csv"))
    assert {"clients.csv", "kpis.csv", "costs.csv", "surveys.csv", "transactions.csv", "journeys.csv"} <= set(written)
    for name in written:
        assert filecmp.cmp(tmp_path / name, BUNDLED / name, shallow=False), f"{name} is stale: run examples/make_sample_clients.py"


def test_orders_and_journeys_for_some_clients_validate():
    batch = read_batch(BUNDLED)
    assert batch.problems == []
    having = {name: {cid for cid in batch.valid_client_ids() if batch.stores[name].count(batch.codes[cid])} for name in ("transactions", "journeys")}
    assert having["transactions"] == set(ORDER_CLIENTS)
    assert having["journeys"] == set(JOURNEY_CLIENTS)
    ids = [client_id for client_id, *_ in SAMPLE_CLIENTS]
    assert set(ORDER_CLIENTS) <= set(ids) and set(JOURNEY_CLIENTS) <= set(ids)
    for client_id in ORDER_CLIENTS:
        data = batch.tracker_input(client_id)
        orders = data.transactions
        # orders fall in the client's tracked months; repeat buyers exist (BG/NBD needs them)
        months = pd.to_datetime(orders["date"]).dt.to_period("M")
        assert months.min() >= pd.Period(data.kpis["month"].min(), "M") and months.max() <= pd.Period(data.kpis["month"].max(), "M")
        assert (orders.groupby("customer_id").size() > 1).sum() >= 20
        assert (orders["amount"] > 0).all()
    for client_id in JOURNEY_CLIENTS:
        journeys = batch.tracker_input(client_id).journeys
        assert journeys["conversions"].sum() > 0 and journeys["nulls"].sum() > journeys["conversions"].sum()


def test_clients_with_keeps_only_clients_having_the_table(tmp_path):
    kept = clients_with(BUNDLED, "journeys", tmp_path)
    assert sorted(kept) == sorted(JOURNEY_CLIENTS)
    batch = read_batch(tmp_path)
    assert batch.problems == [] and sorted(batch.valid_client_ids()) == sorted(JOURNEY_CLIENTS)
    # the kept clients' rows are copied unchanged
    original = pd.read_csv(BUNDLED / "kpis.csv", dtype=str)
    copied = pd.read_csv(tmp_path / "kpis.csv", dtype=str)
    pd.testing.assert_frame_equal(copied.reset_index(drop=True), original[original.client_id.isin(JOURNEY_CLIENTS)].reset_index(drop=True))
