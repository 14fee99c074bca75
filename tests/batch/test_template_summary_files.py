"""`cxroi-xl generate --template customer_value` and `--template attribution`
write their own summary.csv and portfolio.xlsx: the template's columns only,
the template's portfolio title, and the clients' figures as derived by hand
in tests/batch/test_customer_value_batch.py and tests/batch/test_summary.py.
"""
from __future__ import annotations

import csv

import openpyxl
import pytest
from typer.testing import CliRunner

from cxroi_xl.cli import app
from cxroi_xl.workbooks.summary_columns import SUMMARY_COLUMNS, summary_spec
from tests.batch.test_customer_value_batch import CLIENTS, HAND, write_data
from tests.batch.test_summary import JOURNEYS

runner = CliRunner()


def _summary(out):
    with open(out / "summary.csv", newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return reader.fieldnames, {row["client_id"]: row for row in reader}


def test_customer_value_batch_writes_its_own_summary_and_portfolio(tmp_path):
    data = write_data(tmp_path / "data")
    out = tmp_path / "out"
    result = runner.invoke(app, ["generate", str(data), "--out", str(out), "--template", "customer_value", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    columns, rows = _summary(out)
    assert tuple(columns) == summary_spec("customer_value").names
    assert not set(columns) & (set(SUMMARY_COLUMNS) - {"client_id", "client_name", "currency"})
    for client_id, hand in HAND.items():
        row = rows[client_id]
        assert int(row["customers"]) == hand["customers"]
        for name in ("cac", "ltv_cac", "cac_payback_months"):
            assert float(row[name]) == pytest.approx(hand[name], abs=0.005 * (1 + 1e-9)), (client_id, name)
        assert row["verdict"] == hand["verdict"]
    portfolio = openpyxl.load_workbook(out / "portfolio.xlsx")["Portfolio"]
    assert portfolio["A1"].value == "Portfolio: customer value by client"
    # a rerun rebuilds nothing and writes the same lines from the manifest
    again = runner.invoke(app, ["generate", str(data), "--out", str(out), "--template", "customer_value", "--jobs", "1"])
    assert again.exit_code == 0, again.output
    assert _summary(out) == (columns, rows)


def test_attribution_batch_writes_its_own_summary_and_portfolio(tmp_path):
    data = write_data(tmp_path / "data", CLIENTS[:1])
    JOURNEYS.to_csv(data / "journeys.csv", index=False)
    out = tmp_path / "out"
    result = runner.invoke(app, ["generate", str(data), "--out", str(out), "--template", "attribution", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    columns, rows = _summary(out)
    assert tuple(columns) == summary_spec("attribution").names
    assert rows["alpha"]["top_first"] == "search" and rows["alpha"]["top_markov"] == "email" and rows["alpha"]["conversions"] == "4"
    assert openpyxl.load_workbook(out / "portfolio.xlsx")["Portfolio"]["A1"].value == "Portfolio: channel attribution by client"
