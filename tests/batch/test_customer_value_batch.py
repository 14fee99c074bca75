"""The customer-value batch: ``acquisition_spend`` read from ``clients``, and
the CAC, LTV:CAC and months to earn the CAC back it gives, in the generated
workbook (both modes), in the client's summary line and in LibreOffice's
recalculation of the workbook.

Oracle: two clients worked out by hand below, from the small tables this
file writes. Unrounded figures (the engine's, the workbook's cached values,
LibreOffice's recalculation) agree with the hand values to 1e-9 relative;
the summary's rounded figures to half their last decimal.

Alpha (USD): kpis 2024-01..2024-04, 100 customers at the start of each
month, 5 lost each month, revenue 5,000 a month; gross margin 0.6; discount
rate 12 % a year; acquisition spend 600.
* Orders: a 2024-01-05 and 2024-02-10, b 2024-01-20, c 2024-03-01 and
  2024-03-15, d 2024-04-30. The window is the orders' own, 2024-01-05 (first
  order) to 2024-04-30 (last). First orders: a 01-05, b 01-20, c 03-01,
  d 04-30: all four inside it (a and c ordered twice, counted once):
  4 customers acquired.
* CAC = 600 / 4 = 150.
* ARPU = 20,000 / 400 = 50; churn c = 20 / 400 = 0.05; margin m = 50 x 0.6 = 30;
  monthly rate d = 1.12^(1/12) - 1 = 0.0094887929...
* CLTV (discounted, whole lifetime) = m (1+d) / (d+c) = 509.0818336...;
  LTV:CAC = 509.08... / 150 = 3.3938789 ("healthy: 3 or more").
* Payback n = ln(1 - CAC (d+c) / (m (1+d))) / ln((1-c)/(1+d)) = 5.7470149...

Beta (EUR): kpis 2024-01..2024-03, 200 customers at each start, 2, 4 and 6
lost, revenue 8,000 a month; gross margin 0.5; discount rate 0; spend 1,500.
* Orders: x 01-02, 02-02, 03-02; y 02-14; z 01-31, 03-31. Window 01-02 to
  03-31; first orders x 01-02, y 02-14, z 01-31: 3 customers acquired.
* CAC = 1,500 / 3 = 500. ARPU = 24,000 / 600 = 40, churn = 12 / 600 = 0.02,
  m = 20, d = 0: CLTV = m / c = 1,000; LTV:CAC = 2 ("positive, below the
  usual 3x target"); n = ln(1 - 500 x 0.02 / 20) / ln(0.98) = ln 0.5 / ln 0.98
  = 34.3096185...

Too few customers for the BG/NBD fit: the predicted CLV is blank and the
note says why (its error is tested in tests/workbooks/test_value_template.py).
"""
from __future__ import annotations

import math
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from cxroi_xl.batch.read import read_batch
from cxroi_xl.batch.summary import customer_value_values, summary_row
from cxroi_xl.workbooks import build, libreoffice
from cxroi_xl.workbooks.summary_columns import CUSTOMER_VALUE_COLUMNS
from cxroi_xl.workbooks.value_values import ASK_FOR_SPEND, NO_SPEND

RELATIVE = 1e-9
TEMPLATE = "customer_value"

ALPHA_RATE = 1.12 ** (1 / 12) - 1
HAND = {
    "alpha": {
        "customers": 4,
        "cac": 600 / 4,
        "cltv": 30 * (1 + ALPHA_RATE) / (ALPHA_RATE + 0.05),
        "ltv_cac": 30 * (1 + ALPHA_RATE) / (ALPHA_RATE + 0.05) / 150,
        "cac_payback_months": math.log(1 - 150 * (ALPHA_RATE + 0.05) / (30 * (1 + ALPHA_RATE))) / math.log(0.95 / (1 + ALPHA_RATE)),
        "churn": 0.05,
        "verdict": "healthy: 3 or more",
    },
    "beta": {
        "customers": 3,
        "cac": 500.0,
        "cltv": 1000.0,
        "ltv_cac": 2.0,
        "cac_payback_months": math.log(0.5) / math.log(0.98),
        "churn": 0.02,
        "verdict": "positive, below the usual 3x target",
    },
}
# the closed forms above, evaluated once by hand, as a check on their typing
assert math.isclose(HAND["alpha"]["cltv"], 509.0818336378, rel_tol=1e-11)
assert math.isclose(HAND["alpha"]["cac_payback_months"], 5.7470149261, rel_tol=1e-10)
assert math.isclose(HAND["beta"]["cac_payback_months"], 34.3096184915, rel_tol=1e-10)

CLIENTS = [
    {"client_id": "alpha", "client_name": "Alpha Shop", "go_live": "2024-03-01", "currency": "USD", "discount_rate": "0.12", "gross_margin": "0.6", "acquisition_spend": "600"},
    {"client_id": "beta", "client_name": "Beta Café", "go_live": "2024-02-01", "currency": "EUR", "discount_rate": "0", "gross_margin": "0.5", "acquisition_spend": "1500"},
]
ORDERS = [
    ("alpha", "a", "2024-01-05", 20.0), ("alpha", "a", "2024-02-10", 35.0), ("alpha", "b", "2024-01-20", 15.0),
    ("alpha", "c", "2024-03-01", 40.0), ("alpha", "c", "2024-03-15", 10.0), ("alpha", "d", "2024-04-30", 25.0),
    ("beta", "x", "2024-01-02", 12.0), ("beta", "x", "2024-02-02", 12.0), ("beta", "x", "2024-03-02", 12.0),
    ("beta", "y", "2024-02-14", 30.0), ("beta", "z", "2024-01-31", 8.0), ("beta", "z", "2024-03-31", 9.5),
]


def _kpis() -> pd.DataFrame:
    rows = []
    for client_id, months, go_live, churned, revenue, active in (
        ("alpha", ["2024-01", "2024-02", "2024-03", "2024-04"], "2024-03", [5, 5, 5, 5], 5000, 100),
        ("beta", ["2024-01", "2024-02", "2024-03"], "2024-02", [2, 4, 6], 8000, 200),
    ):
        for month, lost in zip(months, churned):
            post = month >= go_live
            rows.append({
                "client_id": client_id, "month": month, "contacts": 1000, "automated_contacts": 300 if post else 0,
                "agent_hours": 100, "hourly_cost": 20, "first_contact_resolutions": 700, "active_customers": active,
                "new_customers": 5, "churned_customers": lost, "revenue": revenue, "automation_cost": 500 if post else 0,
            })
    return pd.DataFrame(rows)


def write_data(folder: Path, clients: list[dict] = CLIENTS) -> Path:
    """clients, kpis and transactions of ``clients`` (all: alpha and beta) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = [c["client_id"] for c in clients]
    pd.DataFrame(clients).to_csv(folder / "clients.csv", index=False)
    kpis = _kpis()
    kpis[kpis["client_id"].isin(ids)].to_csv(folder / "kpis.csv", index=False)
    orders = pd.DataFrame(ORDERS, columns=["client_id", "customer_id", "date", "amount"])
    orders[orders["client_id"].isin(ids)].to_csv(folder / "transactions.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    found = read_batch(write_data(tmp_path_factory.mktemp("cv") / "data"))
    assert found.problems == []
    yield found
    found.close()


@pytest.mark.parametrize("client_id", ["alpha", "beta"])
def test_cac_ltv_cac_and_payback_equal_the_hand_derivation(batch, client_id):
    hand = HAND[client_id]
    data = batch.tracker_input(client_id)
    assert data.acquisition_spend == {"alpha": 600.0, "beta": 1500.0}[client_id]
    values = customer_value_values(data)
    assert values["customers"] == hand["customers"]
    for name in ("cac", "cltv", "ltv_cac", "cac_payback_months", "churn"):
        assert values[name] == pytest.approx(hand[name], rel=RELATIVE), name
    assert values["verdict"] == hand["verdict"]
    assert values["predicted_clv"] is None and "predicted CLV: #NUM!" in values["note"]
    # summary.csv's line: rounded to the currency's cents, ratios and months to 2 decimals, churn to 4
    row = summary_row(data, template=TEMPLATE)
    assert list(row) == [c.name for c in CUSTOMER_VALUE_COLUMNS]
    for name, half_unit in (("cac", 0.005), ("cltv", 0.005), ("ltv_cac", 0.005), ("cac_payback_months", 0.005), ("churn", 0.00005)):
        assert row[name] == pytest.approx(hand[name], abs=half_unit * (1 + 1e-9)), name
    assert row["customers"] == hand["customers"] and isinstance(row["customers"], int)


@pytest.mark.parametrize("mode", ["values", "live"])
@pytest.mark.parametrize("client_id", ["alpha", "beta"])
def test_the_generated_workbook_holds_the_same_numbers(batch, tmp_path, client_id, mode):
    """No #VALUE!: the spend is in the Inputs sheet, the CAC cells hold
    numbers in both modes, and they are the very values the summary reports
    (computed once by the engine)."""
    hand = HAND[client_id]
    data = batch.tracker_input(client_id)
    path = build.build_client_workbook(data, TEMPLATE, mode, tmp_path / f"{client_id}.xlsx")
    cached = openpyxl.load_workbook(path, data_only=True)
    inputs, cltv = cached["Inputs"], cached["CLTV"]
    assert inputs["B11"].value == data.acquisition_spend and inputs["B12"].value == hand["customers"]
    for coordinate, name in (("C7", "cltv"), ("C11", "cac"), ("C12", "ltv_cac"), ("C13", "cac_payback_months")):
        assert cltv[coordinate].data_type == "n" and cltv[coordinate].value == pytest.approx(hand[name], rel=RELATIVE), coordinate
    assert cltv["C14"].value == hand["verdict"]
    values = customer_value_values(data)  # the same numbers, as the file stores them (15 significant digits and more)
    assert [cltv[c].value for c in ("C11", "C12", "C13")] == pytest.approx([values["cac"], values["ltv_cac"], values["cac_payback_months"]], rel=1e-15)
    if mode == "live":
        formula = openpyxl.load_workbook(path)["CLTV"]["C11"].value
        assert "CXCAC(AcquisitionSpend,NewCustomers)" in getattr(formula, "text", formula)  # a one-cell dynamic array, or a plain formula


def test_a_blank_spend_is_not_given_and_said_so(tmp_path):
    clients = [dict(CLIENTS[0], acquisition_spend=""), CLIENTS[1]]
    found = read_batch(write_data(tmp_path / "data", clients))
    try:
        assert found.problems == []
        data = found.tracker_input("alpha")
        assert data.acquisition_spend is None
        row = summary_row(data, template=TEMPLATE)
        assert row["cac"] is row["ltv_cac"] is row["cac_payback_months"] is row["verdict"] is None
        assert "no acquisition_spend in clients" in row["note"]
        assert row["cltv"] == pytest.approx(HAND["alpha"]["cltv"], abs=0.005 * (1 + 1e-9))  # what needs no spend is still reported
        for mode in ("values", "live"):
            cached = openpyxl.load_workbook(build.build_client_workbook(data, TEMPLATE, mode, tmp_path / f"alpha-{mode}.xlsx"), data_only=True)
            cells = cached["CLTV"]
            assert [(cells[c].data_type, cells[c].value) for c in ("C11", "C12", "C13")] == [("s", NO_SPEND)] * 3, mode
            assert cells["C14"].value == ASK_FOR_SPEND
            assert cached["Inputs"]["B11"].value is None
    finally:
        found.close()


@pytest.mark.parametrize(
    "given, message",
    [
        ("-600", "greater than or equal to 0"),
        ("six hundred", "valid number"),
        ("inf", "finite number"),
    ],
)
def test_a_bad_spend_is_refused_with_file_row_and_column(tmp_path, given, message):
    clients = [dict(CLIENTS[0], acquisition_spend=given), CLIENTS[1]]
    found = read_batch(write_data(tmp_path / "data", clients))
    try:
        problems = [(p.client_id, p.file, p.row, p.column) for p in found.problems]
        assert problems == [("alpha", "clients.csv", 2, "acquisition_spend")]
        assert message in found.problems[0].message
        assert found.valid_client_ids() == ["beta"]  # the other client is still built
    finally:
        found.close()


# --------------------------------------------------------------------------
# Recalculated by LibreOffice


def test_libreoffice_recalculation_shows_the_engines_cac_numbers(batch, tmp_path):
    """The values form (LibreOffice has no add-in: CXCAC and CXLTVCAC are
    values there, the native formulas are recalculated): the customers
    acquired (ROWS over the Customers table), the monthly margin, the months
    to earn the CAC back and the verdict as LibreOffice computes them equal
    the hand derivation and the engine; without a spend the payback cell
    repeats the CAC cell's words."""
    import dataclasses

    paths = []
    for client_id in ("alpha", "beta"):
        data = batch.tracker_input(client_id)
        paths.append(build.build_client_workbook(data, TEMPLATE, "values", tmp_path / f"{client_id}.xlsx"))
    no_spend = dataclasses.replace(batch.tracker_input("alpha"), acquisition_spend=None)
    paths.append(build.build_client_workbook(no_spend, TEMPLATE, "values", tmp_path / "alpha-no-spend.xlsx"))
    recalculated = [libreoffice.read_values(path) for path in libreoffice.recalculate_all(paths, tmp_path / "out")]
    for client_id, cells in zip(("alpha", "beta"), recalculated):
        hand = HAND[client_id]
        engine = customer_value_values(batch.tracker_input(client_id))
        assert cells["Inputs"]["B12"] == hand["customers"]
        assert cells["CLTV"]["C5"] == pytest.approx({"alpha": 30.0, "beta": 20.0}[client_id], rel=RELATIVE)  # ARPU x gross margin
        assert cells["CLTV"]["C11"] == pytest.approx(hand["cac"], rel=RELATIVE)
        assert cells["Inputs"]["B11"] / cells["Inputs"]["B12"] == pytest.approx(engine["cac"], rel=RELATIVE)
        assert cells["CLTV"]["C13"] == pytest.approx(hand["cac_payback_months"], rel=RELATIVE)
        assert cells["CLTV"]["C13"] == pytest.approx(engine["cac_payback_months"], rel=RELATIVE)
        assert cells["CLTV"]["C14"] == hand["verdict"]
    without = recalculated[2]["CLTV"]
    assert without["C11"] == without["C12"] == without["C13"] == NO_SPEND
    assert without["C14"] == ASK_FOR_SPEND
