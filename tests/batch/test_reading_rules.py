"""One reading rule per file, or a refusal: findings of the second review,
each reproduced here first.

* In one semicolon costs.csv, "77.000" read as 77 while "1.250,50" read as
  1250.5: PV costs fell from 94,965 to 12,246, exit 0, no message.
* A tab-separated header over comma-separated rows in surveys.csv built
  every client with NPS and CSAT blank and reported 144 bogus ids such as
  "c000,2023-01-05,0,1,1".
* A column named twice in the header was read from one of them, silently.
* A CSV with a NUL-filled tail (a crashed export; ``truncate -s 100M``) ran
  115 s into a MemoryError traceback.
* The 512 MB cap on a CSV said nothing about the way round it (Parquet).

The resource case runs the real command in a child process under an
address-space limit, with a generous watchdog (a guard against hangs, not
a speed assertion), as tests/calc/test_limits.py does.
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys

import openpyxl
import pandas as pd
import pytest

from cxroi_xl.cli import app
from tests.batch.test_run import runner, subset
from tests.conftest import ROOT

ADDRESS_SPACE = 3 * 1024**3
WATCHDOG_SECONDS = 180


def run(data, out, *extra):
    return runner.invoke(app, ["generate", str(data), "--out", str(out), "--mode", "live", "--jobs", "1", *extra])


def said(result) -> str:
    return " ".join(result.output.split())


def _semicolon(data, name: str, edit=None) -> None:
    """The table as Excel writes it where the decimal separator is a comma
    (thousands grouped by dots), then ``edit``."""
    frame = pd.read_csv(data / f"{name}.csv", dtype=str, keep_default_na=False)
    for column in frame.columns:
        if column != "client_id" and frame[column].str.fullmatch(r"-?\d+\.\d+").any():
            frame[column] = frame[column].map(lambda v: f"{float(v):,.2f}".replace(",", "_").replace(".", ",").replace("_", ".") if v else v)
    if edit:
        edit(frame)
    frame.to_csv(data / f"{name}.csv", index=False, sep=";")


def test_a_semicolon_file_mixing_decimal_points_and_commas_is_refused_with_both_readings(tmp_path):
    data = subset(tmp_path, ["rose-bakery", "ledgerly"])

    def mixed(frame):
        frame.loc[0, "amount"] = "1.250,50"  # decimal comma, thousands dot
        frame.loc[2, "amount"] = "77.000"  # 77 or 77000?

    _semicolon(data, "costs", mixed)
    result = run(data, tmp_path / "out")
    assert result.exit_code == 2, result.output
    text = said(result)
    assert "costs.csv: row 4, column amount: '77.000' is written with a decimal point" in text
    assert "row 2, column amount has a decimal comma ('1.250,50')" in text
    assert "77.000 with a decimal point, 77000 with the thousands dots" in text
    assert not (tmp_path / "out").exists()


def test_styles_mixed_across_columns_of_one_file_are_refused_too(tmp_path):
    data = subset(tmp_path, ["rose-bakery"])

    def mixed(frame):
        frame.loc[0, "agent_hours"] = "47,5"
        frame.loc[1, "hourly_cost"] = "31.5"

    _semicolon(data, "kpis", mixed)
    result = run(data, tmp_path / "out")
    assert result.exit_code == 2
    assert "kpis.csv: row 3, column hourly_cost: '31.5' is written with a decimal point" in said(result)
    assert "in the decimal-comma style it is no number at all" in said(result)


def test_one_style_per_file_is_read_as_before(tmp_path):
    # decimal commas throughout (with thousands dots) in one file, decimal points in another
    data = subset(tmp_path, ["rose-bakery", "ledgerly"])
    _semicolon(data, "costs")
    assert "." in (data / "costs.csv").read_text() and "," in (data / "costs.csv").read_text()
    frame = pd.read_csv(data / "kpis.csv", dtype=str, keep_default_na=False)
    frame.to_csv(data / "kpis.csv", index=False, sep=";")  # decimal points only
    result = run(data, tmp_path / "out")
    assert result.exit_code == 0, result.output
    (tmp_path / "plain").mkdir()
    plain = subset(tmp_path / "plain", ["rose-bakery", "ledgerly"])
    assert run(plain, tmp_path / "plain_out").exit_code == 0
    assert (tmp_path / "out" / "summary.csv").read_text() == (tmp_path / "plain_out" / "summary.csv").read_text()


@pytest.mark.parametrize(("header", "rows"), [("\t", ","), (",", "\t"), (";", ","), ("\t", ";")])
def test_a_header_and_rows_with_different_delimiters_are_refused_whole(tmp_path, header, rows):
    data = subset(tmp_path, ["rose-bakery", "ledgerly"])
    lines = (data / "surveys.csv").read_text(encoding="utf-8").splitlines()
    lines = [lines[0].replace(",", header)] + [line.replace(",", rows) for line in lines[1:]]
    (data / "surveys.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run(data, tmp_path / "out")
    assert result.exit_code == 2, result.output
    names = {",": "comma", ";": "semicolon", "\t": "tab"}
    assert f"surveys.csv: the header is separated by {names[header]}s but row 2 by {names[rows]}s" in said(result)
    assert "client_id not in clients" not in result.output
    assert not (tmp_path / "out").exists()


def test_a_short_row_without_another_delimiter_is_still_read(tmp_path):
    # a row with trailing fields left out is not a delimiter mismatch
    data = subset(tmp_path, ["rose-bakery"])
    with open(data / "surveys.csv", "a", encoding="utf-8") as handle:
        handle.write("rose-bakery,2023-02-01,9\n")
    assert run(data, tmp_path / "out").exit_code == 0


def test_a_column_named_twice_is_refused(tmp_path):
    data = subset(tmp_path, ["rose-bakery"])
    frame = pd.read_csv(data / "costs.csv", dtype=str, keep_default_na=False)
    frame["amount "] = frame["amount"]
    frame.to_csv(data / "costs.csv", index=False)
    result = run(data, tmp_path / "out")
    assert result.exit_code == 2
    assert "costs.csv: the column 'amount' appears twice in the header (columns 4 and 5); keep one" in said(result)


def test_a_column_named_twice_in_an_xlsx_table_is_refused(tmp_path):
    data = subset(tmp_path, ["rose-bakery"])
    frame = pd.read_csv(data / "costs.csv", dtype=str, keep_default_na=False)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "costs"
    sheet.append([*frame.columns, "amount"])
    for row in frame.itertuples(index=False):
        sheet.append([*row, "1"])
    book.save(data / "costs.xlsx")
    (data / "costs.csv").unlink()
    result = run(data, tmp_path / "out")
    assert result.exit_code == 2 and "appears twice in the header" in said(result)


def test_the_csv_size_cap_points_to_parquet(tmp_path, monkeypatch):
    from cxroi_xl.batch import files

    data = subset(tmp_path, ["rose-bakery"])
    monkeypatch.setattr(files, "MAX_INPUT_BYTES", 1000)
    result = run(data, tmp_path / "out")
    assert result.exit_code == 2
    assert "over the 0 MB limit of a CSV file; give a table this large as Parquet (kpis.parquet" in said(result) or "give a table this large as Parquet" in said(result)


def _generate_limited(data, out) -> subprocess.CompletedProcess:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "300"}
    try:
        return subprocess.run(
            [sys.executable, "-m", "cxroi_xl.cli", "generate", str(data), "--out", str(out), "--dry-run"],
            capture_output=True, text=True, timeout=WATCHDOG_SECONDS, env=env, preexec_fn=limit,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"generate still running after {WATCHDOG_SECONDS} s: a hang")


def test_a_nul_filled_tail_is_refused_naming_its_offset(tmp_path):
    data = subset(tmp_path, ["rose-bakery", "ledgerly"])
    path = data / "kpis.csv"
    size = path.stat().st_size
    os.truncate(path, 100 * 1024 * 1024)  # what a crashed export leaves: the rest zero-filled
    done = _generate_limited(data, tmp_path / "out")
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 2, output
    assert "Traceback" not in output and "MemoryError" not in output
    assert f"kpis.csv: from byte {size:,} on, the file holds NUL bytes where text belongs" in output


def test_a_binary_tail_after_the_first_megabyte_is_refused_naming_its_offset(tmp_path):
    data = subset(tmp_path, ["rose-bakery"])
    path = data / "surveys.csv"
    with open(path, "a", encoding="utf-8") as handle:
        for day in range(40_000):  # beyond the sample the encoding is detected from
            handle.write(f"rose-bakery,2023-{1 + day % 12:02d}-{1 + day % 28:02d},9,5,6\n")
    size = path.stat().st_size
    with open(path, "ab") as handle:
        handle.write(bytes([0xFF, 0xFE, 0x81, 0x00, 0xC3]) * 1000)
    done = _generate_limited(data, tmp_path / "out")
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 2, output
    assert f"surveys.csv: from byte {size:,} on, the file is not text in utf-8" in output


# -- messages that name the rule broken, text a cell can hold ----------------------------
# Found by the second review: an id over 64 characters and an id with "é"
# were both told "letters, digits, - and _ only"; a 40,000-character proxy
# name was cut to 32,767 (all a cell holds) without a word.
def errors_of(out):
    import csv

    with open(out / "errors.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _with_client(data, client_id: str) -> None:
    """ledgerly's rows again under another id."""
    for name in ("clients", "kpis", "costs", "surveys"):
        frame = pd.read_csv(data / f"{name}.csv", dtype=str, keep_default_na=False)
        copy = frame[frame["client_id"] == "ledgerly"].copy()
        copy["client_id"] = client_id
        pd.concat([frame, copy]).to_csv(data / f"{name}.csv", index=False)


@pytest.mark.parametrize(
    ("client_id", "message"),
    [
        ("x" * 70, "longer than 64 characters (70)"),
        ("café-1", "contains 'é' (character 4); ids use ASCII letters, digits, - and _ only"),
        ("two words", "contains ' ' (a space) (character 4); ids use ASCII letters, digits, - and _ only"),
        ("é" * 65, "longer than 64 characters (65), and contains 'é' (character 1); ids use ASCII letters, digits, - and _ only"),
    ],
)
def test_an_id_message_names_the_rule_it_breaks(tmp_path, client_id, message):
    data = subset(tmp_path, ["rose-bakery", "ledgerly"])
    _with_client(data, client_id)
    out = tmp_path / "out"
    result = run(data, out)
    assert result.exit_code == 1, result.output
    [problem] = [p for p in errors_of(out) if p["client_id"] == client_id]
    assert (problem["file"], problem["row"], problem["column"], problem["message"]) == ("clients.csv", "4", "client_id", message)
    assert (out / "ledgerly.xlsx").exists()  # the others are built


@pytest.mark.parametrize(
    ("table", "column", "text"),
    [
        ("proxies", "name", "Goodwill " + "x" * 39_991),  # 40,000 characters
        ("proxies", "name", "😀" * 16_384),  # 16,384 characters, 32,768 UTF-16 units as Excel counts them
        ("journeys", "path", ">".join(["email"] * 7_000)),
    ],
)
def test_text_longer_than_a_cell_holds_is_refused_with_row_and_column(tmp_path, table, column, text):
    from cxroi_xl.workbooks.sample_data import write_sample_orders_and_journeys

    data = subset(tmp_path, ["rose-bakery", "pixel-agency"])
    if table == "proxies":
        rows = [["rose-bakery", "Brand", "100", "2025-01", "", "0.5"], ["pixel-agency", text, "100", "2025-01", "", "0.5"]]
        pd.DataFrame(rows, columns=["client_id", "name", "monthly_value", "first_month", "last_month", "confidence"]).to_csv(data / "proxies.csv", index=False)
        row = 3
    else:
        write_sample_orders_and_journeys(data)
        for name in ("journeys", "transactions"):
            frame = pd.read_csv(data / f"{name}.csv", dtype=str, keep_default_na=False)
            frame[frame["client_id"].isin(["rose-bakery", "pixel-agency"])].to_csv(data / f"{name}.csv", index=False)
        journeys = pd.read_csv(data / "journeys.csv", dtype=str, keep_default_na=False)
        row = int(journeys.index[journeys["client_id"] == "pixel-agency"][0]) + 2
        journeys.loc[row - 2, "path"] = text
        journeys.to_csv(data / "journeys.csv", index=False)
    out = tmp_path / "out"
    result = run(data, out)
    assert result.exit_code == 1, result.output
    units = len(text.encode("utf-16-le")) // 2
    [problem] = [p for p in errors_of(out) if p["client_id"] == "pixel-agency"]
    assert (problem["file"], problem["row"], problem["column"]) == (f"{table}.csv", str(row), column)
    assert problem["message"] == f"is {units:,} characters long; a cell holds at most 32,767: shorten it"
    assert not (out / "pixel-agency.xlsx").exists() and (out / "rose-bakery.xlsx").exists()


def test_text_of_exactly_a_cell_is_read_whole(tmp_path):
    data = subset(tmp_path, ["ledgerly"])
    name = "Goodwill " + "x" * (32_767 - 9)
    pd.DataFrame([["ledgerly", name, "100", "2025-01", "", "0.5"]], columns=["client_id", "name", "monthly_value", "first_month", "last_month", "confidence"]).to_csv(data / "proxies.csv", index=False)
    from cxroi_xl.batch.read import read_batch

    batch = read_batch(data)
    assert batch.problems == []
    assert batch.tracker_input("ledgerly").proxies["name"].tolist() == [name]


def test_a_control_character_in_one_row_leaves_the_blank_cells_of_others_blank(tmp_path):
    # found while vectorising: once a file held a control character, its
    # blank cells were read as NaN, which every other client's blank
    # optional cell then failed on ("Input should be less than or equal to 1")
    data = subset(tmp_path, ["rose-bakery", "ledgerly"])
    clients = pd.read_csv(data / "clients.csv", dtype=str, keep_default_na=False)
    clients.loc[clients["client_id"] == "ledgerly", "client_name"] = "Ledgerly\x01"
    clients.loc[clients["client_id"] == "rose-bakery", "discount_rate"] = ""  # blank: the default, 0.10
    clients.to_csv(data / "clients.csv", index=False)
    out = tmp_path / "out"
    result = run(data, out)
    assert result.exit_code == 1, result.output
    assert [(p["client_id"], p["column"]) for p in errors_of(out)] == [("ledgerly", "client_name")]
    assert errors_of(out)[0]["message"] == "contains the control character U+0001, which a workbook cannot hold; remove it"
    from cxroi_xl.batch.read import read_batch

    assert read_batch(data).clients["rose-bakery"].discount_rate == 0.10
