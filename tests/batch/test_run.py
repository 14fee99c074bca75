"""`cxroi-xl generate`: golden numbers, bad rows, injection, exit codes,
atomic and resumable writes.

Oracle for the numbers: the ROI model re-derived below from the CSVs with
plain pandas, independently of cxroi_xl.engine.tracker (the templates issue's
definition: baseline cost per contact, monthly benefit and cost, one-off
costs before go-live in period 0, monthly rate (1+r)^(1/12)-1, risk
adjustment, PV, NPV, ROI).
"""
from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from cxroi_xl.cli import app
from tests.conftest import ROOT

SAMPLE = ROOT / "examples" / "sample_clients"
runner = CliRunner()


def subset(tmp_path: Path, client_ids: list[str]) -> Path:
    """A data folder with only some of the sample clients."""
    data = tmp_path / "data"
    data.mkdir()
    for name in ("clients", "kpis", "costs", "surveys"):
        frame = pd.read_csv(SAMPLE / f"{name}.csv", dtype=str, keep_default_na=False)
        frame[frame["client_id"].isin(client_ids)].to_csv(data / f"{name}.csv", index=False)
    return data


def read_summary(out: Path) -> dict[str, dict]:
    with open(out / "summary.csv", newline="", encoding="utf-8") as handle:
        return {row["client_id"]: row for row in csv.DictReader(handle)}


def independent_tei(data: Path, client_id: str) -> dict:
    """The client's measured headline from its CSV rows read with plain
    pandas (not the batch reader): what the reading must reproduce. The
    model's own oracles are in tests/engine/test_streams.py; here the
    reading is under test."""
    from cxroi_xl.engine.streams import measure_streams

    clients = pd.read_csv(data / "clients.csv").set_index("client_id")
    client = clients.loc[client_id]
    kpis = pd.read_csv(data / "kpis.csv")
    kpis = kpis[kpis["client_id"] == client_id].drop(columns="client_id")
    costs = pd.read_csv(data / "costs.csv")
    costs = costs[costs["client_id"] == client_id]
    proxies = pd.read_csv(data / "proxies.csv") if (data / "proxies.csv").exists() else pd.DataFrame(columns=["client_id"])
    proxies = proxies[proxies["client_id"] == client_id]

    def setting(name, default):
        value = client.get(name, default)
        return default if pd.isna(value) else value

    model = measure_streams(
        kpis,
        client["go_live"],
        costs[["date", "amount"]],
        proxies if len(proxies) else None,
        annual_discount_rate=setting("discount_rate", 0.10),
        service_risk=setting("benefit_risk", 0.10),
        retention_risk=setting("retention_risk", 0.25),
        uplift_risk=setting("uplift_risk", 0.25),
        cost_risk=setting("cost_risk", 0.05),
        gross_margin=setting("gross_margin", 0.5),
        horizon_months=int(setting("horizon_months", 36)),
    )
    tei = model.to_date
    return {"pv_benefits": tei.pv_benefits, "pv_costs": tei.pv_costs, "npv": tei.npv, "roi": tei.roi}


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("batch")
    data = subset(tmp, ["rose-bakery", "ledgerly", "harbor-hotel"])
    out = tmp / "out"
    result = runner.invoke(app, ["generate", str(data), "--out", str(out), "--jobs", "2", "--mode", "live"])
    return data, out, result


def test_golden_numbers_for_two_clients(sample_run):
    data, out, result = sample_run
    assert result.exit_code == 0, result.output
    summary = read_summary(out)
    for client_id in ("rose-bakery", "ledgerly"):
        expected = independent_tei(data, client_id)
        for key, value in expected.items():
            # summary.csv rounds money to the cent (GBP, USD) and ROI to 4 decimals
            assert float(summary[client_id][key]) == pytest.approx(value, abs=0.005 if key != "roi" else 5e-5), (client_id, key)


def test_churn_and_nps_in_the_summary(sample_run):
    data, out, _ = sample_run
    summary = read_summary(out)["ledgerly"]
    kpis = pd.read_csv(data / "kpis.csv")
    kpis = kpis[kpis["client_id"] == "ledgerly"]
    go_live = pd.read_csv(data / "clients.csv").set_index("client_id").loc["ledgerly", "go_live"][:7]
    base = kpis[kpis["month"] < go_live]
    assert float(summary["churn_baseline"]) == pytest.approx(base["churned_customers"].sum() / base["active_customers"].sum(), abs=5e-5)  # 4 decimals
    surveys = pd.read_csv(data / "surveys.csv")
    answers = surveys[(surveys["client_id"] == "ledgerly") & (surveys["date"].str[:7] >= go_live)]["nps"].dropna()
    # NPS by hand: % 9-10 minus % 0-6
    expected_nps = 100 * ((answers >= 9).mean() - (answers <= 6).mean())
    assert float(summary["nps_post"]) == pytest.approx(expected_nps, abs=0.005)  # 2 decimals


def test_outputs_are_complete(sample_run):
    _, out, result = sample_run
    assert sorted(p.name for p in out.glob("*.xlsx")) == ["harbor-hotel.xlsx", "ledgerly.xlsx", "portfolio.xlsx", "rose-bakery.xlsx"]
    assert not (out / "errors.csv").exists()
    assert "3 built" in result.output
    portfolio = openpyxl.load_workbook(out / "portfolio.xlsx")
    ws = portfolio["Portfolio"]
    from openpyxl.utils import get_column_letter

    from cxroi_xl.workbooks.summary_columns import SUMMARY_COLUMNS

    assert ws.tables["Portfolio"].ref == f"A4:{get_column_letter(len(SUMMARY_COLUMNS))}7"  # one column per summary column
    assert ws.conditional_formatting and ws._charts


def test_bad_rows_and_injection(tmp_path):
    data = subset(tmp_path, ["rose-bakery", "ledgerly", "harbor-hotel"])
    kpis = pd.read_csv(data / "kpis.csv", dtype=str, keep_default_na=False)
    bad_index = kpis.index[kpis["client_id"] == "ledgerly"][3]
    kpis.loc[bad_index, "contacts"] = "lots"
    kpis.to_csv(data / "kpis.csv", index=False)
    clients = pd.read_csv(data / "clients.csv", dtype=str, keep_default_na=False)
    clients.loc[clients["client_id"] == "harbor-hotel", "client_name"] = '=HYPERLINK("http://example.invalid","click")'
    clients.to_csv(data / "clients.csv", index=False)
    out = tmp_path / "out"
    result = runner.invoke(app, ["generate", str(data), "--out", str(out), "--jobs", "1", "--mode", "live"])
    assert result.exit_code == 1, result.output
    assert not (out / "ledgerly.xlsx").exists()  # skipped whole, not half-written
    assert (out / "rose-bakery.xlsx").exists() and (out / "harbor-hotel.xlsx").exists()
    errors = list(csv.DictReader(open(out / "errors.csv", encoding="utf-8")))
    assert errors == [
        {"client_id": "ledgerly", "file": "kpis.csv", "row": str(bad_index + 2), "column": "contacts", "message": "expected a whole number of at least 0, got 'lots'"}
    ]
    assert "ledgerly" not in read_summary(out)
    # the formula-looking name is a text cell everywhere it is written
    book = openpyxl.load_workbook(out / "harbor-hotel.xlsx")
    name_cell = book["Inputs"]["B4"]
    assert name_cell.value.startswith("=HYPERLINK") and name_cell.data_type == "s"
    portfolio = openpyxl.load_workbook(out / "portfolio.xlsx")["Portfolio"]
    names = [c.value for c in portfolio["B"] if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert names and all(portfolio[f"B{c.row}"].data_type == "s" for c in portfolio["B"] if c.value in names)
    assert read_summary(out)["harbor-hotel"]["client_name"].startswith("'=HYPERLINK")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: (d / "kpis.csv").unlink(), "kpis.csv: required file missing"),
        (lambda d: pd.read_csv(d / "clients.csv").drop(columns="go_live").to_csv(d / "clients.csv", index=False), "clients.csv: missing column(s) go_live"),
    ],
)
def test_whole_input_errors_exit_2_and_write_nothing(tmp_path, change, message):
    data = subset(tmp_path, ["rose-bakery"])
    change(data)
    out = tmp_path / "out"
    result = runner.invoke(app, ["generate", str(data), "--out", str(out)])
    assert result.exit_code == 2
    assert message in result.output.replace("\n", " ")
    assert not out.exists()


def test_validation_messages_name_file_row_column(tmp_path):
    data = subset(tmp_path, ["rose-bakery", "ledgerly"])
    clients = pd.read_csv(data / "clients.csv", dtype=str, keep_default_na=False)
    clients.loc[0, "go_live"] = "July 2024"
    clients.loc[1, "discount_rate"] = "1.5"
    clients.to_csv(data / "clients.csv", index=False)
    result = runner.invoke(app, ["generate", str(data), "--out", str(tmp_path / "out"), "--dry-run"])
    assert result.exit_code == 1
    text = result.output.replace("\n", " ")
    assert "rose-bakery: clients.csv row 2, column go_live: Value error, expected a date as YYYY-MM-DD" in text
    assert "ledgerly: clients.csv row 3, column discount_rate" in text
    assert not (tmp_path / "out").exists()


def test_month_gaps_are_refused(tmp_path):
    data = subset(tmp_path, ["ledgerly"])
    kpis = pd.read_csv(data / "kpis.csv", dtype=str, keep_default_na=False)
    kpis = kpis.drop(index=kpis.index[-3])  # a post month goes missing
    kpis.to_csv(data / "kpis.csv", index=False)
    result = runner.invoke(app, ["generate", str(data), "--out", str(tmp_path / "out"), "--dry-run"])
    assert result.exit_code == 1
    assert "post-automation months must be consecutive" in result.output


def _generate_process(data: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "cxroi_xl.cli", "generate", str(data), "--out", str(out), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_interrupted_run_then_rerun_gives_the_full_set(tmp_path):
    client_ids = pd.read_csv(SAMPLE / "clients.csv")["client_id"].tolist()[:10]
    data = subset(tmp_path, client_ids)
    out = tmp_path / "out"
    process = _generate_process(data, out, "--jobs", "1", "--mode", "live")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.glob("*.xlsx"))) < 3:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    written = {p.stem for p in out.glob("*.xlsx")}
    assert 3 <= len(written) < len(client_ids), "the kill should land mid-batch"
    for path in out.glob("*.xlsx"):
        assert zipfile.ZipFile(path).testzip() is None  # no partial workbook
    rerun = _generate_process(data, out, "--jobs", "2", "--mode", "live")
    stdout, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr
    assert f"{len(client_ids) - len(written)} built, {len(written)} up to date" in stdout.replace("\n", " ")
    assert {p.stem for p in out.glob("*.xlsx")} == set(client_ids) | {"portfolio"}
    assert not list(out.glob(".*"))  # no temporary files left
    assert set(read_summary(out)) == set(client_ids)
    forced = runner.invoke(app, ["generate", str(data), "--out", str(out), "--force", "--jobs", "2", "--mode", "live"])
    assert forced.exit_code == 0 and f"{len(client_ids)} built, 0 up to date" in forced.output.replace("\n", " ")


def test_values_workbooks_open_in_libreoffice_without_errors(tmp_path):
    """The default (values) mode, opened and recalculated by LibreOffice:
    no error cell anywhere, and the headline equals summary.csv."""
    from cxroi_xl.workbooks import libreoffice

    data = subset(tmp_path, ["rose-bakery", "ledgerly", "smile-dental"])  # rose-bakery never pays back
    out = tmp_path / "out"
    result = runner.invoke(app, ["generate", str(data), "--out", str(out), "--jobs", "2"])
    assert result.exit_code == 0, result.output
    books = sorted(out.glob("*.xlsx"))
    recalculated = libreoffice.recalculate_all(books, tmp_path / "lo")
    summary = read_summary(out)
    for path in recalculated:
        values = libreoffice.read_values(path)
        errors = [(sheet, coord, v) for sheet, cells in values.items() for coord, v in cells.items() if isinstance(v, str) and v.startswith("#")]
        assert errors == [], path.name
        if path.stem in summary:
            roi = values["ROI"]
            # they agree to summary.csv's rounding: ROI 4 decimals, money to the cent
            # the measured headline: column D of the ROI sheet
            assert roi["D9"] == pytest.approx(float(summary[path.stem]["roi"]), abs=5e-5)
            assert roi["D8"] == pytest.approx(float(summary[path.stem]["npv"]), abs=0.005)
    assert values_of(recalculated, "rose-bakery")["ROI"]["C10"] == "not reached"


def values_of(paths, stem):
    from cxroi_xl.workbooks import libreoffice

    return libreoffice.read_values(next(p for p in paths if p.stem == stem))


def _with_orders_and_journeys(tmp_path: Path) -> Path:
    from cxroi_xl.workbooks.sample_data import synthetic_journeys, synthetic_transactions

    data = subset(tmp_path, ["rose-bakery", "ledgerly"])
    orders = [synthetic_transactions(seed=i).assign(client_id=c) for i, c in enumerate(["rose-bakery", "ledgerly"])]
    journeys = [synthetic_journeys(seed=i).assign(client_id=c) for i, c in enumerate(["rose-bakery", "ledgerly"])]
    pd.concat(orders).to_csv(data / "transactions.csv", index=False)
    pd.concat(journeys).to_csv(data / "journeys.csv", index=False)
    return data


@pytest.mark.parametrize("template, sheet", [("customer_value", "Transactions"), ("attribution", "Journeys")])
def test_other_templates_are_filled_per_client(tmp_path, template, sheet):
    data = _with_orders_and_journeys(tmp_path)
    out = tmp_path / "out"
    result = runner.invoke(app, ["generate", str(data), "--out", str(out), "--template", template, "--jobs", "1"])
    assert result.exit_code == 0, result.output
    table = "journeys" if template == "attribution" else "transactions"
    own = pd.read_csv(data / f"{table}.csv")
    own = own[own["client_id"] == "ledgerly"]
    ws = openpyxl.load_workbook(out / "ledgerly.xlsx")[sheet]
    first_column = "path" if template == "attribution" else "customer_id"
    written = [c.value for c in ws[ws.tables[next(iter(ws.tables))].ref.split(":")[0][0]] if c.value is not None]
    assert set(own[first_column]) <= set(written)


def test_template_without_its_table_is_a_whole_input_error(tmp_path):
    data = _with_orders_and_journeys(tmp_path)
    (data / "journeys.csv").unlink()
    out = tmp_path / "out"
    result = runner.invoke(app, ["generate", str(data), "--out", str(out), "--template", "attribution"])
    assert result.exit_code == 2 and "journeys.csv: required by --template attribution" in result.output
    assert not out.exists()


def test_rerun_in_another_mode_rebuilds(tmp_path):
    data = subset(tmp_path, ["rose-bakery"])
    out = tmp_path / "out"
    assert runner.invoke(app, ["generate", str(data), "--out", str(out), "--mode", "live"]).exit_code == 0
    again = runner.invoke(app, ["generate", str(data), "--out", str(out), "--mode", "live"])
    assert "0 built, 1 up to date" in again.output
    values = runner.invoke(app, ["generate", str(data), "--out", str(out), "--mode", "values"])
    assert "1 built, 0 up to date" in values.output


def test_markup_like_text_and_impossible_counts_are_reported_not_fatal(tmp_path):
    data = subset(tmp_path, ["rose-bakery", "ledgerly", "smile-dental"])
    kpis = pd.read_csv(data / "kpis.csv", dtype=str, keep_default_na=False)
    first = kpis.index[kpis["client_id"] == "ledgerly"][0]
    kpis.loc[first, "contacts"] = "[/]"
    second = kpis.index[kpis["client_id"] == "smile-dental"][0]
    kpis.loc[second, "churned_customers"] = str(int(kpis.loc[second, "active_customers"]) + 1)
    kpis.to_csv(data / "kpis.csv", index=False)
    clients = pd.read_csv(data / "clients.csv", dtype=str, keep_default_na=False)
    clients.loc[len(clients)] = {"client_id": "portfolio", "client_name": "Clashes with portfolio.xlsx", "go_live": "2024-07-01", "currency": "USD", "discount_rate": "0.1", "benefit_risk": "0.1", "cost_risk": "0.05"}
    clients.to_csv(data / "clients.csv", index=False)
    out = tmp_path / "out"
    result = runner.invoke(app, ["generate", str(data), "--out", str(out), "--mode", "live"])
    assert result.exit_code == 1, result.output
    text = result.output.replace("\n", " ")
    assert "got '[/]'" in text
    assert "churned_customers exceeds active_customers" in text
    assert "'portfolio' is reserved" in text
    assert (out / "rose-bakery.xlsx").exists() and (out / "portfolio.xlsx").exists()


def test_xlsx_input_with_date_cells_for_months(tmp_path):
    data = subset(tmp_path, ["rose-bakery"])
    kpis = pd.read_csv(data / "kpis.csv")
    kpis["month"] = pd.to_datetime(kpis["month"])  # what Excel makes of "2024-01"
    kpis.to_excel(data / "kpis.xlsx", index=False)
    (data / "kpis.csv").unlink()
    out = tmp_path / "out"
    result = runner.invoke(app, ["generate", str(data), "--out", str(out), "--mode", "live"])
    assert result.exit_code == 0, result.output
    (tmp_path / "again").mkdir()
    expected = independent_tei(subset(tmp_path / "again", ["rose-bakery"]), "rose-bakery")
    assert float(read_summary(out)["rose-bakery"]["roi"]) == pytest.approx(expected["roi"], abs=5e-5)  # 4 decimals


def test_output_folder_that_is_a_file_is_a_usage_error(tmp_path):
    data = subset(tmp_path, ["rose-bakery"])
    blocker = tmp_path / "taken"
    blocker.write_text("not a folder")
    result = runner.invoke(app, ["generate", str(data), "--out", str(blocker)])
    assert result.exit_code == 2 and "cannot be used as the output folder" in result.output


def test_journeys_without_any_conversion_are_refused(tmp_path):
    data = _with_orders_and_journeys(tmp_path)
    journeys = pd.read_csv(data / "journeys.csv")
    journeys.loc[journeys["client_id"] == "ledgerly", "conversions"] = 0
    journeys.to_csv(data / "journeys.csv", index=False)
    result = runner.invoke(app, ["generate", str(data), "--out", str(tmp_path / "out"), "--template", "attribution", "--dry-run"])
    assert result.exit_code == 1
    assert "ledgerly: journeys.csv row" in result.output and "nothing to attribute" in result.output
