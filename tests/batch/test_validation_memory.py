"""Validation memory does not grow per client: a finding of the second
review, reproduced here first.

* A dry run of 300k clients peaked at 1.39 GB, and a million one-row
  clients died of MemoryError in the months check (a per-group
  ``transform(lambda)``), about 3.9 KB per client in the parent before any
  build.

Now the clients table is checked column by column (rows the vectorised
rules cannot clear go through ClientRecord, for its messages) and kept as
packed columns; the checks over the other tables are numpy over the stored
columns, with a Python step only per problem found.

The resource case runs the real command in a child process under a 1 GB
address-space limit with a watchdog (a guard against hangs, not a speed
assertion), as tests/batch/test_reading_rules.py does. The other tests hold
the messages to what they were, and the records to what pydantic makes of
each row.
"""
from __future__ import annotations

import csv
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxroi_xl.batch import files as batch_files
from cxroi_xl.batch.read import read_batch
from cxroi_xl.batch.tables import ClientRecord, Problem, _fast_clients, _numbers, _PLAIN_NUMBER
from tests.conftest import ROOT

ADDRESS_SPACE = 1024**3
WATCHDOG_SECONDS = 300
KPI_HEADER = "client_id,month,contacts,automated_contacts,agent_hours,hourly_cost,first_contact_resolutions,active_customers,new_customers,churned_customers,revenue,automation_cost"
KPI_VALUES = "100,10,5.5,20,50,1000,10,5,1000.5,0"


def _million_clients(folder: Path, clients: int, without_baseline_every: int) -> int:
    """``clients`` one-row clients (one line of clients.csv each) with the
    fewest kpis a client can be valid with: a baseline month and its
    go-live month. Every ``without_baseline_every``-th client has its
    go-live month only. Returns how many clients lack a baseline."""
    folder.mkdir()
    ids = [f"c{i:07d}" for i in range(clients)]
    with open(folder / "clients.csv", "w", encoding="utf-8") as handle:
        handle.write("client_id,client_name,go_live\n")
        handle.write("".join(f"{cid},Client {cid},2024-01-01\n" for cid in ids))
    lacking = 0
    with open(folder / "kpis.csv", "w", encoding="utf-8") as handle:
        handle.write(KPI_HEADER + "\n")
        lines = []
        for i, cid in enumerate(ids):
            if i % without_baseline_every == without_baseline_every - 1:
                lacking += 1
            else:
                lines.append(f"{cid},2023-12,{KPI_VALUES}\n")
            lines.append(f"{cid},2024-01,{KPI_VALUES}\n")
        handle.write("".join(lines))
    return lacking


@pytest.mark.slow  # some 30 s: a million clients are written, then read
def test_a_million_one_row_clients_validate_within_a_gigabyte(tmp_path):
    clients = 1_000_000
    lacking = _million_clients(tmp_path / "data", clients, without_baseline_every=100)
    assert lacking == 10_000

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    # One BLAS thread: numpy's and scipy's BLAS each reserve about 32 MB per
    # core at import, which is no validation memory (validation does no
    # linear algebra) and would make the limit depend on the machine's cores.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "300", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "cxroi_xl.cli", "generate", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--dry-run"],
            capture_output=True, text=True, timeout=WATCHDOG_SECONDS, env=env, preexec_fn=limit,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the dry run still ran after {WATCHDOG_SECONDS} s: a hang (or memory exhausted)")
    output = done.stdout + done.stderr
    assert "Traceback" not in output and "MemoryError" not in output, output[-3000:]
    assert done.returncode == 1, output[-3000:]  # exit 1: some clients have problems
    assert f"dry run: {clients - lacking} clients valid, {lacking} with problems; nothing written" in done.stdout
    skipped = [line for line in done.stderr.splitlines() if line.startswith("skipping")]
    assert len(skipped) == lacking
    assert skipped[0] == "skipping c0000099: kpis.csv, column month: no baseline month before go-live 2024-01"
    assert not (tmp_path / "out").exists()


# -- the same problems as before ----------------------------------------------------------
FINE = {"contacts": "100", "automated_contacts": "10", "agent_hours": "5.5", "hourly_cost": "20", "first_contact_resolutions": "50", "active_customers": "1000", "new_customers": "10", "churned_customers": "5", "revenue": "1000.5", "automation_cost": "0"}


def _messy(folder: Path) -> Path:
    """A data folder breaking every rule of the clients and kpis checks once."""
    folder.mkdir()
    clients = [
        # client_id, client_name, go_live, currency, discount_rate, horizon_months, method, value_per_win
        ("ok1", "Okay One", "2024-01-01", "usd", "0.1", "36", "glm", ""),
        ("OK1", "Same id, other case", "2024-01-01", "", "", "", "", ""),
        ("", "No id", "2024-01-01", "", "", "", "", ""),
        ("con", "A device name", "2024-01-01", "", "", "", "", ""),
        ("bad-date", "Bad date", "July 2024", "", "", "", "", ""),
        ("bad-rate", "Bad rate", "2024-01-01", "", "1.5", "", "", ""),
        ("bad-cur", "Bad currency", "2024-01-01", "EURO", "", "", "", ""),
        ("bad-method", "Bad method", "2024-01-01", "", "", "", "GLM", ""),
        ("bad-horizon", "Bad horizon", "2024-01-01", "", "", "36.5", "", ""),
        ("no-rows", "No rows", "2024-01-01", "", "", "", "", ""),
        ("gap", "Gap", "2024-01-01", "", "", "", "", ""),
        ("dup-month", "Dup month", "2024-01-01", "", "", "", "", ""),
        ("blank-month", "Blank month", "2024-01-01", "", "", "", "", ""),
        ("no-base", "No baseline", "2024-01-01", "", "", "", "", ""),
        ("no-post", "No post", "2024-01-01", "", "", "", "", ""),
        ("over", "Part over whole", "2024-01-01", "", "", "", "", ""),
        ("zero-base", "Zero baseline", "2024-01-01", "", "", "", "", ""),
        ("leads-partial", "Leads partial", "2024-01-01", "", "", "", "", ""),
        ("won-over", "Won over", "2024-01-01", "", "", "", "", ""),
        ("proxy-back", "Proxy back", "2024-01-01", "", "", "", "", ""),
        ("bad-cell", "Bad cell", "2024-01-01", "", "", "", "", ""),
        ("vpw", "Value per win", "2024-01-01", "", "", "", "", "100"),
        ("two-bad", "", "2024-13-01", "", "-1", "", "", ""),
    ]
    pd.DataFrame(clients, columns=["client_id", "client_name", "go_live", "currency", "discount_rate", "horizon_months", "method", "value_per_win"]).to_csv(folder / "clients.csv", index=False)
    rows = []

    def kpi(client_id, month, **edit):
        rows.append({"client_id": client_id, "month": month, **FINE, "leads": "", "won": "", **edit})

    for client_id in ["ok1", "OK1", "con", "bad-date", "bad-rate", "bad-cur", "bad-method", "bad-horizon", "proxy-back", "vpw", "two-bad"]:
        kpi(client_id, "2023-12")
        kpi(client_id, "2024-01")
    for month in ("2023-12", "2024-01", "2024-03", "2024-05"):
        kpi("gap", month)
    for month in ("2023-12", "2024-01", "2024-01"):
        kpi("dup-month", month)
    kpi("blank-month", "2023-12")
    kpi("blank-month", "")
    kpi("no-base", "2024-01")
    kpi("no-base", "2024-02")
    kpi("no-post", "2023-11")
    kpi("no-post", "2023-12")
    kpi("over", "2023-12")
    kpi("over", "2024-01", automated_contacts="101")
    kpi("zero-base", "2023-12", contacts="0", automated_contacts="0", first_contact_resolutions="0")
    kpi("zero-base", "2024-01")
    kpi("leads-partial", "2023-12", leads="10", won="2")
    kpi("leads-partial", "2024-01")
    kpi("won-over", "2023-12", leads="10", won="2")
    kpi("won-over", "2024-01", leads="10", won="11")
    kpi("bad-cell", "2023-12", contacts="lots")
    kpi("bad-cell", "2024-01")
    kpi("ghost", "2023-12")
    kpi("ghost", "2024-01")
    kpi("ok1", "2024-02")  # ok1's rows scattered
    pd.DataFrame(rows).to_csv(folder / "kpis.csv", index=False)
    proxies = [
        ("ok1", "Goodwill", "10", "2024-01", "", "0.5"),
        ("bad-cell", "Bell\x07 proxy", "10", "2024-01", "", "0.5"),
        ("proxy-back", "Goodwill", "10", "2024-03", "2024-01", "0.5"),
    ]
    pd.DataFrame(proxies, columns=["client_id", "name", "monthly_value", "first_month", "last_month", "confidence"]).to_csv(folder / "proxies.csv", index=False)
    return folder


# The messages each rule gives, in the order the checks report them, as the
# reader reported them before it was vectorised (clients rows in row order;
# then each table's cells; then the months, leads and proxies checks). Rows:
# clients.csv has the header on row 1 and one client a row; kpis.csv rows
# counted from the list above (ok1's two rows are 2-3, OK1's 4-5, ...).
VPW = "Value error, value_per_win is no longer used: an extra customer is valued by the margin it earns inside the horizon while it stays; remove the column"
EXPECTED = [
    ("OK1", "clients.csv", 3, "client_id", "duplicate client_id (also on row 2; ids differing only in case would share a file name)"),
    ("(row 4)", "clients.csv", 4, "client_id", "Field required"),
    ("con", "clients.csv", 5, "client_id", "'con' is a device name Windows reserves; its workbook could not be opened there"),
    ("bad-date", "clients.csv", 6, "go_live", "Value error, expected a date as YYYY-MM-DD"),
    ("bad-rate", "clients.csv", 7, "discount_rate", "Input should be less than or equal to 1"),
    ("bad-cur", "clients.csv", 8, "currency", "expected a three-letter ISO code"),
    ("bad-method", "clients.csv", 9, "method", "Input should be 'glm' or 'sts'"),
    ("bad-horizon", "clients.csv", 10, "horizon_months", "Input should be a valid integer, unable to parse string as an integer"),
    ("vpw", "clients.csv", 23, "value_per_win", VPW),
    ("two-bad", "clients.csv", 24, "client_name", "Field required"),
    ("two-bad", "clients.csv", 24, "go_live", "Input should be a valid date or datetime, month value is outside expected range of 1-12"),
    ("two-bad", "clients.csv", 24, "discount_rate", "Input should be greater than or equal to 0"),
    ("blank-month", "kpis.csv", 32, "month", "expected a month as YYYY-MM, got a blank"),
    ("bad-cell", "kpis.csv", 45, "contacts", "expected a whole number of at least 0, got 'lots'"),
    ("OK1", "kpis.csv", 4, "client_id", "client_id not in clients (and 1 more rows)"),
    ("ghost", "kpis.csv", 47, "client_id", "client_id not in clients (and 1 more rows)"),
    ("bad-cell", "proxies.csv", 3, "name", "contains the control character U+0007, which a workbook cannot hold; remove it"),
    ("no-rows", "kpis.csv", None, "client_id", "no monthly rows for this client"),
    ("dup-month", "kpis.csv", 30, "month", "month appears twice for this client"),
    ("gap", "kpis.csv", None, "month", "post-automation months must be consecutive from go-live; missing 2024-02, 2024-04"),
    ("no-base", "kpis.csv", None, "month", "no baseline month before go-live 2024-01"),
    ("no-post", "kpis.csv", None, "month", "no month from go-live 2024-01 on"),
    ("over", "kpis.csv", 38, "automated_contacts", "automated_contacts exceeds contacts"),
    ("zero-base", "kpis.csv", None, "contacts", "baseline months have no contacts, so there is no baseline cost per contact"),
    # its one baseline month's contacts is not a number, so it sums to none
    ("bad-cell", "kpis.csv", None, "contacts", "baseline months have no contacts, so there is no baseline cost per contact"),
    ("leads-partial", "kpis.csv", 42, "leads", "leads and won must be given in every month of a client or in none"),
    ("won-over", "kpis.csv", 44, "won", "won exceeds leads"),
    ("proxy-back", "proxies.csv", 4, "last_month", "last_month is before first_month"),
]


def test_the_same_problems_are_reported_as_before(tmp_path):
    batch = read_batch(_messy(tmp_path / "data"))
    assert batch.problems == [Problem(*problem) for problem in EXPECTED]
    assert batch.valid_client_ids() == ["ok1"]
    # failed rows are known (None), duplicates are not
    assert [cid for cid in batch.clients if batch.clients[cid] is None] == ["(row 4)", "con", "bad-date", "bad-rate", "bad-cur", "bad-method", "bad-horizon", "vpw", "two-bad"]
    assert "OK1" not in batch.clients and len(batch.clients) == 22
    assert dict(batch.client_rows)["ok1"] == 2 and batch.codes["ok1"] == 0 and batch.codes["two-bad"] == 21
    frame = batch.stores["kpis"].client_frame(batch.codes["ok1"])
    assert frame["month"].dt.strftime("%Y-%m").tolist() == ["2023-12", "2024-01", "2024-02"]


def test_chunk_boundaries_change_nothing(tmp_path, monkeypatch):
    # a duplicate id, a reserved id and months of one client fall in different chunks
    data = _messy(tmp_path / "data")
    reading = batch_files.TableFile.chunks
    monkeypatch.setattr(batch_files.TableFile, "chunks", lambda self, rows=3: reading(self, rows))
    batch = read_batch(data)
    assert batch.problems == [Problem(*problem) for problem in EXPECTED]


# -- the records are what pydantic makes of each row ------------------------------------------
def test_each_record_is_what_client_record_makes_of_its_row(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    header = ["client_id", "client_name", "go_live", "currency", "discount_rate", "horizon_months", "method", "half_life_service", "ramp_months", "gross_margin", "comment"]
    rows = [
        ["plain", "Plain Co", "2024-01-01", "USD", "0.1", "36", "glm", "", "", "", ""],
        ["spaced", "  Spaced Co ", "2024-02-01", " eur ", " 0.08 ", " 24 ", "sts", " 12.5 ", "3", ".5", "ignored"],
        ["odd-forms", "Odd Forms", "2023-12-31", "gbp", "+.5", "36.0", "", "1e1", "+0", "5e-1", ""],
        ["defaults", "Défaults & Cø", "2024-03-01", "", "", "", "", "", "", "", ""],
        ["minus-zero", "Minus zero", "2024-01-01", "CHF", "-0", "600", "", "600", "120", "1", ""],
        ["old-date", "Old", "1600-01-01", "", "", "", "", "", "", "", ""],
    ]
    with open(folder / "clients.csv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header] + rows)
    with open(folder / "kpis.csv", "w", encoding="utf-8") as handle:
        handle.write(KPI_HEADER + "\n" + "".join(f"{row[0]},2024-01,{KPI_VALUES}\n" for row in rows))
    batch = read_batch(folder)
    for row in rows:
        # the oracle: ClientRecord on the row's non-blank cells, read with the csv module
        expected = ClientRecord.model_validate({k: v for k, v in zip(header, row) if v.strip()})
        assert batch.clients[row[0]] == expected, row[0]
    assert batch.clients["spaced"].client_name == "Spaced Co" and batch.clients["odd-forms"].horizon_months == 36


_CELLS = {
    "discount_rate": st.one_of(st.from_regex(_PLAIN_NUMBER, fullmatch=True), st.text(max_size=6)),
    "horizon_months": st.one_of(st.from_regex(r"[+-]?[0-9]{1,4}", fullmatch=True), st.text(max_size=6)),
    "go_live": st.one_of(st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True), st.dates().map(str), st.text(max_size=11)),
    "currency": st.one_of(st.sampled_from(["usd", " Eur", "GBP ", "ǆab", "ﬀa", "ABCD"]), st.text(max_size=4)),
    "method": st.one_of(st.sampled_from(["glm", "sts", " glm", "GLM"]), st.text(max_size=4)),
    "client_name": st.text(min_size=1, max_size=8),
}


_VALID = {"discount_rate": "0.1", "horizon_months": "36", "go_live": "2024-01-01", "currency": "USD", "method": "glm", "client_name": "A"}


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(sorted(_CELLS)), st.data())
def test_the_fast_rules_clear_only_what_client_record_accepts_as_it_does(field, data):
    cells = {**_VALID, field: data.draw(_CELLS[field])}  # one field at a time, the others valid
    frame = pd.DataFrame([{"client_id": "a", **cells}], dtype=object)
    given_cells = {c: np.array([isinstance(v, str) and v.strip() != ""]) for c, v in frame.iloc[0].items()}
    cleared, parsed = _fast_clients(frame, np.array(["a"], dtype=object), given_cells)
    if not cleared[0]:
        return  # the row goes through ClientRecord itself
    record = ClientRecord.model_validate({k: v for k, v in frame.iloc[0].items() if v.strip()})
    for name, values in parsed.items():
        value = values[0]
        if isinstance(value, float) and np.isnan(value) or value is None or (isinstance(value, np.datetime64) and np.isnat(value)):
            continue
        if isinstance(value, np.datetime64):
            value = value.astype("datetime64[D]").item()
        assert value == getattr(record, name), name


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.from_regex(_PLAIN_NUMBER, fullmatch=True), st.sampled_from([" 12", "1_000", "  ", "\u00a012", "inf", "nan", "0x10", "1e400", ""]), st.text(max_size=5)), max_size=20))
def test_numbers_are_read_as_stripping_every_cell_first_would(cells):
    values = pd.Series([c if c != "" else None for c in cells], dtype=object)
    parsed, blank = _numbers(values)
    # the oracle: what the reader did before, every cell stripped first, then pandas
    stripped = values.map(lambda v: v.strip() if isinstance(v, str) else v)
    expected_blank = (stripped.isna() | stripped.eq("")).to_numpy()
    expected = pd.to_numeric(stripped.where(~expected_blank, None), errors="coerce").astype(float)
    assert blank.tolist() == expected_blank.tolist()
    np.testing.assert_array_equal(parsed.to_numpy(), expected.to_numpy())
