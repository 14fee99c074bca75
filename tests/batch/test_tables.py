"""`generate`'s input as real exports produce it: encodings, delimiters,
empty rows, .xlsx sheets and formula cells, control characters, reserved
ids. Each test reproduces a finding of the hardening review and then holds.

Oracle: the same data written as plain UTF-8 comma-separated CSV, run
through the same command; the numbers must agree to summary.csv's rounding (money to the cent, ROI to 4 decimals) and the
names must come back character for character.
"""
from __future__ import annotations

import csv

import openpyxl
import pandas as pd
import pytest

from cxroi_xl.cli import app
from tests.batch.test_run import independent_tei, read_summary, runner, subset

NAME = "Café Müller – “Œuvre” Straße"  # every character is in Windows-1252


def run(data, out, *extra):
    return runner.invoke(app, ["generate", str(data), "--out", str(out), "--mode", "live", "--jobs", "1", *extra])


def plain(tmp_path, client_ids):
    """The same clients as plain UTF-8, comma-separated CSV: the oracle's input."""
    folder = tmp_path / "plain"
    folder.mkdir()
    return subset(folder, client_ids)


def errors_of(out):
    with open(out / "errors.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "cp1252"])
def test_csv_in_the_encodings_exports_use(tmp_path, encoding):
    data = subset(tmp_path, ["rose-bakery", "ledgerly"])
    clients = pd.read_csv(data / "clients.csv", dtype=str, keep_default_na=False)
    clients.loc[clients["client_id"] == "ledgerly", "client_name"] = NAME
    (data / "clients.csv").write_bytes(clients.to_csv(index=False).encode(encoding))
    kpis = (data / "kpis.csv").read_text(encoding="utf-8")
    (data / "kpis.csv").write_bytes(kpis.encode(encoding))
    out = tmp_path / "out"
    result = run(data, out)
    assert result.exit_code == 0, result.output
    summary = read_summary(out)
    assert summary["ledgerly"]["client_name"] == NAME
    assert openpyxl.load_workbook(out / "ledgerly.xlsx")["Inputs"]["B4"].value == NAME
    expected = independent_tei(plain(tmp_path, ["ledgerly"]), "ledgerly")
    assert float(summary["ledgerly"]["npv"]) == pytest.approx(expected["npv"], abs=0.005)  # summary.csv rounds money to the cent


def test_an_encoding_we_cannot_read_is_refused_by_name(tmp_path):
    data = subset(tmp_path, ["rose-bakery"])
    clients = pd.read_csv(data / "clients.csv", dtype=str, keep_default_na=False)
    clients["client_name"] = "Пекарня Роза и партнёры, лучший хлеб в городе"
    (data / "clients.csv").write_bytes(clients.to_csv(index=False).encode("koi8_r"))
    out = tmp_path / "out"
    result = run(data, out)
    assert result.exit_code == 2
    text = result.output.replace("\n", " ")
    assert "clients.csv: cannot be read: the file" in text and "UTF-8" in text
    assert not out.exists()


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_separated_files(tmp_path, delimiter):
    data = subset(tmp_path, ["rose-bakery", "ledgerly"])
    for name in ("clients", "kpis", "costs", "surveys"):
        frame = pd.read_csv(data / f"{name}.csv", dtype=str, keep_default_na=False)
        frame.to_csv(data / f"{name}.csv", index=False, sep=delimiter)
    out = tmp_path / "out"
    result = run(data, out)
    assert result.exit_code == 0, result.output
    expected = independent_tei(plain(tmp_path, ["ledgerly"]), "ledgerly")
    assert float(read_summary(out)["ledgerly"]["roi"]) == pytest.approx(expected["roi"], abs=5e-5)  # summary.csv rounds rates to 4 decimals


def _with_decimal_commas(path, thousands: bool = False) -> None:
    """Rewrite a comma-separated table as Excel writes it where the decimal
    separator is a comma: ; between fields, 47,2 for 47.2 (and, with
    ``thousands``, 1.234,5 for 1234.5)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)

    def local(cell: str) -> str:
        try:
            number = float(cell)
        except ValueError:
            return cell  # ids, dates, text
        if "." not in cell:
            return cell  # whole numbers as they were
        whole, _, decimals = cell.partition(".")
        if thousands and abs(number) >= 1000:
            sign, digits = ("-", whole[1:]) if whole.startswith("-") else ("", whole)
            groups = [digits[max(i - 3, 0) : i] for i in range(len(digits), 0, -3)][::-1]
            whole = sign + ".".join(groups)
        return f"{whole},{decimals}"

    frame.map(local).to_csv(path, index=False, sep=";")


@pytest.mark.parametrize("thousands", [False, True])
def test_decimal_commas_in_semicolon_files(tmp_path, thousands):
    # Excel's CSV in Germany, France, Italy...: 19,94 and 32.925,96 (dots
    # grouping thousands) in kpis, costs and surveys, 0,1 in clients
    data = subset(tmp_path, ["rose-bakery", "ledgerly"])
    for name in ("clients", "kpis", "costs", "surveys"):
        _with_decimal_commas(data / f"{name}.csv", thousands)
    sample = (data / "kpis.csv").read_text(encoding="utf-8")
    assert ";" in sample and "," in sample and ("." in sample.split("\n", 2)[1]) == thousands
    out = tmp_path / "out"
    result = run(data, out)
    assert result.exit_code == 0, result.output
    expected = independent_tei(plain(tmp_path, ["rose-bakery", "ledgerly"]), "ledgerly")
    summary = read_summary(out)["ledgerly"]
    assert float(summary["npv"]) == pytest.approx(expected["npv"], abs=0.005)  # summary.csv rounds money to the cent
    assert float(summary["roi"]) == pytest.approx(expected["roi"], abs=5e-5)


def test_a_decimal_comma_is_read_only_in_semicolon_files(tmp_path):
    # in a comma or tab file "47,2" may be 47 thousand 2 hundred (1,234 in
    # English): refused, never guessed; in a semicolon file a number
    # without a comma keeps its decimal point
    data = subset(tmp_path, ["rose-bakery"])
    frame = pd.read_csv(data / "kpis.csv", dtype=str, keep_default_na=False)
    frame.loc[0, "agent_hours"] = "47,2"
    frame.to_csv(data / "kpis.csv", index=False, sep="\t")
    result = run(data, tmp_path / "out")
    assert result.exit_code == 1
    (problem,) = errors_of(tmp_path / "out")
    assert problem["column"] == "agent_hours" and "got '47,2'" in problem["message"]
    frame.loc[0, "agent_hours"] = "47.25"
    frame.to_csv(data / "kpis.csv", index=False, sep=";")
    result = run(data, tmp_path / "out2")
    assert result.exit_code == 0, result.output
    from cxroi_xl.batch.read import read_batch

    batch = read_batch(data)
    try:
        assert batch.tracker_input("rose-bakery").kpis["agent_hours"].iloc[0] == 47.25
    finally:
        batch.close()


def test_a_file_with_another_separator_says_so(tmp_path):
    data = subset(tmp_path, ["rose-bakery"])
    frame = pd.read_csv(data / "kpis.csv", dtype=str, keep_default_na=False)
    frame.to_csv(data / "kpis.csv", index=False, sep="|")
    result = run(data, tmp_path / "out")
    assert result.exit_code == 2
    assert "separated by something other than commas" in result.output.replace("\n", " ")


def test_fully_empty_rows_are_ignored_and_rows_keep_their_numbers(tmp_path):
    data = subset(tmp_path, ["rose-bakery", "ledgerly"])
    lines = (data / "kpis.csv").read_text(encoding="utf-8").splitlines()
    width = lines[0].count(",")
    empty = "," * width
    # an Excel-style empty row in the middle, a blank line, and trailing empties
    lines = lines[:5] + [empty, ""] + lines[5:] + [empty, empty, "  " + "," * width]
    (data / "kpis.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run(data, out)
    assert result.exit_code == 0, result.output
    assert set(read_summary(out)) == {"rose-bakery", "ledgerly"}
    # a bad cell after the empty rows is reported on its own line of the file
    lines[9] = lines[9].replace(lines[9].split(",")[2], "lots", 1)
    (data / "kpis.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run(data, tmp_path / "out2")
    assert result.exit_code == 1
    (problem,) = errors_of(tmp_path / "out2")
    assert problem["row"] == "10" and problem["column"] == "contacts" and "got 'lots'" in problem["message"]


def test_nul_inside_a_field_is_reported_not_truncated(tmp_path):
    data = subset(tmp_path, ["rose-bakery", "ledgerly"])
    kpis = pd.read_csv(data / "kpis.csv", dtype=str, keep_default_na=False)
    index = kpis.index[kpis["client_id"] == "ledgerly"][2]
    kpis.loc[index, "contacts"] = kpis.loc[index, "contacts"] + "\x00999"
    kpis.to_csv(data / "kpis.csv", index=False)
    out = tmp_path / "out"
    result = run(data, out)
    assert result.exit_code == 1, result.output
    assert not (out / "ledgerly.xlsx").exists() and (out / "rose-bakery.xlsx").exists()
    (problem,) = errors_of(out)
    assert (problem["client_id"], problem["file"], problem["row"], problem["column"]) == ("ledgerly", "kpis.csv", str(index + 2), "contacts")
    assert "U+0000 (NUL)" in problem["message"]


def test_control_character_in_a_name_is_reported_with_its_row(tmp_path):
    data = subset(tmp_path, ["rose-bakery", "ledgerly"])
    clients = pd.read_csv(data / "clients.csv", dtype=str, keep_default_na=False)
    clients.loc[1, "client_name"] = "Ledger\x00ly"
    clients.to_csv(data / "clients.csv", index=False)
    out = tmp_path / "out"
    result = run(data, out)
    assert result.exit_code == 1
    (problem,) = errors_of(out)
    assert (problem["file"], problem["row"], problem["column"]) == ("clients.csv", "3", "client_name")
    assert "U+0000 (NUL)" in problem["message"]


def _kpis_workbook(data, sheets):
    """kpis.xlsx with the given (title, hidden, frame or None) sheets."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, hidden, frame in sheets:
        ws = book.create_sheet(title)
        if hidden:
            ws.sheet_state = "hidden"
        if frame is None:
            ws.append(["old notes", "not the data"])
            continue
        ws.append(list(frame.columns))
        for row in frame.itertuples(index=False):
            ws.append([float(v) if c not in ("client_id", "month") else v for c, v in zip(frame.columns, row)])
    path = data / "kpis.xlsx"
    book.save(path)
    (data / "kpis.csv").unlink()
    return path


def test_xlsx_table_is_read_from_the_sheet_named_like_it(tmp_path):
    data = subset(tmp_path, ["rose-bakery"])
    kpis = pd.read_csv(data / "kpis.csv", dtype=str, keep_default_na=False)
    _kpis_workbook(data, [("Notes", True, None), ("Readme", False, None), ("KPIs", False, kpis)])
    out = tmp_path / "out"
    result = run(data, out)
    assert result.exit_code == 0, result.output
    expected = independent_tei(plain(tmp_path, ["rose-bakery"]), "rose-bakery")
    assert float(read_summary(out)["rose-bakery"]["npv"]) == pytest.approx(expected["npv"], abs=0.005)  # summary.csv rounds money to the cent


def test_xlsx_without_such_a_sheet_uses_the_first_visible_one_and_names_it(tmp_path):
    data = subset(tmp_path, ["rose-bakery"])
    kpis = pd.read_csv(data / "kpis.csv", dtype=str, keep_default_na=False)
    kpis.loc[3, "contacts"] = "-5"
    _kpis_workbook(data, [("Old", True, None), ("Data", False, kpis)])
    out = tmp_path / "out"
    result = run(data, out)
    assert result.exit_code == 1, result.output
    problem = errors_of(out)[0]
    assert problem["file"] == "kpis.xlsx, sheet 'Data'" and problem["row"] == "5" and problem["column"] == "contacts"


def test_xlsx_formula_cells_give_their_saved_values(tmp_path):
    """The input workbook is saved by LibreOffice, so its formula cells hold
    the values a spreadsheet computed; those are the values used."""
    from cxroi_xl.workbooks import libreoffice

    data = subset(tmp_path, ["rose-bakery"])
    kpis = pd.read_csv(data / "kpis.csv", dtype=str, keep_default_na=False)
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "kpis"
    ws.append(list(kpis.columns))
    revenue = list(kpis.columns).index("revenue")
    letter = openpyxl.utils.get_column_letter(revenue + 1)
    for r, row in enumerate(kpis.itertuples(index=False), start=2):
        cells = [v if c in ("client_id", "month") else float(v) for c, v in zip(kpis.columns, row)]
        cells[revenue] = f"={float(row[revenue]) / 2}*2"  # a formula whose value is the revenue
        ws.append(cells)
    written = tmp_path / "src" / "kpis.xlsx"
    written.parent.mkdir()
    book.save(written)
    (recalculated,) = libreoffice.recalculate_all([written], tmp_path / "lo")
    (data / "kpis.xlsx").write_bytes(recalculated.read_bytes())
    (data / "kpis.csv").unlink()
    saved = openpyxl.load_workbook(data / "kpis.xlsx")["kpis"][f"{letter}2"].value
    assert isinstance(saved, str) and saved.startswith("=")  # still a formula cell
    out = tmp_path / "out"
    result = run(data, out)
    assert result.exit_code == 0, result.output
    expected = independent_tei(plain(tmp_path, ["rose-bakery"]), "rose-bakery")
    assert float(read_summary(out)["rose-bakery"]["roi"]) == pytest.approx(expected["roi"], abs=5e-5)  # summary.csv rounds rates to 4 decimals


@pytest.mark.parametrize("client_id", ["CON", "nul", "Com1", "lpt9", "aux", "prn", "kpis", "Costs", "MANIFEST", "stale", "summary", "journeys"])
def test_reserved_and_colliding_ids_are_refused(tmp_path, client_id):
    data = subset(tmp_path, ["rose-bakery"])
    for name in ("clients", "kpis"):
        frame = pd.read_csv(data / f"{name}.csv", dtype=str, keep_default_na=False)
        copy = frame.copy()
        copy["client_id"] = client_id
        if name == "clients":
            copy["client_name"] = "Clashing"
        pd.concat([frame, copy]).to_csv(data / f"{name}.csv", index=False)
    out = tmp_path / "out"
    result = run(data, out)
    assert result.exit_code == 1, result.output
    problems = [p for p in errors_of(out) if p["client_id"] == client_id]
    assert problems and problems[0]["column"] == "client_id" and "reserve" in problems[0]["message"]
    assert (out / "rose-bakery.xlsx").exists()
    assert not [p for p in out.iterdir() if p.stem.lower() == client_id.lower() and p.suffix == ".xlsx"]


def test_client_values_are_the_records_fields(tmp_path):
    # read from the packed columns without a record per client: the same
    # values validation gives the records (case and spaces normalised, a
    # blank or absent field at its default)
    from benchmarks.mixed_portfolio import write_mixed_portfolio
    from cxroi_xl.batch.read import read_batch

    folder = write_mixed_portfolio(tmp_path / "data", 6, seed=2)
    clients = pd.read_csv(folder / "clients.csv")
    clients.loc[0, "currency"], clients.loc[1, "currency"], clients.loc[2, "currency"] = "eur", " gbp ", None
    clients.drop(columns=["horizon_months"]).to_csv(folder / "clients.csv", index=False)
    batch = read_batch(folder)
    try:
        ids = batch.valid_client_ids()
        assert len(ids) == 6
        for name in ("currency", "horizon_months", "discount_rate", "client_name"):
            assert batch.client_values(name, ids) == [getattr(batch.clients[i], name) for i in ids], name
        assert batch.client_values("currency", ids)[:3] == ["EUR", "GBP", "USD"]
    finally:
        batch.close()
