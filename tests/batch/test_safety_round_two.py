"""`generate` never replaces what it did not write, stays consistent when
stopped, and sets a bad manifest aside: findings of the second review, each
reproduced here first.

* A user's own OUT/c002.xlsx (not in the manifest) was overwritten on the
  first run; a generated workbook the user edited was rebuilt over on the
  next ("1 built, 3 up to date"), the edits gone, nothing in stale/.
* Ctrl-C mid-run left summary.csv and portfolio.xlsx describing the old
  workbooks of the clients already rebuilt, and printed nothing.
* manifest.json with wrong types (``"clients": [1, 2]``; an entry that is a
  number, written back so every rerun crashed) or as a folder, and
  OUT/stale as a file, ended in tracebacks.

Oracle for "consistent": the manifest's record of each workbook (its
summary line, size and time as written) against the files in OUT and the
lines of summary.csv, and the bytes of every file the user made.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from cxroi_xl.cli import app
from tests.batch.test_run import SAMPLE, read_summary, runner, subset

THREE = ["rose-bakery", "ledgerly", "harbor-hotel"]


def run(data, out, *extra):
    return runner.invoke(app, ["generate", str(data), "--out", str(out), "--mode", "live", "--jobs", "1", *extra])


def said(result) -> str:
    return " ".join(result.output.split())


def stale_files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (out / "stale").iterdir()} if (out / "stale").is_dir() else {}


# -- never overwrite what the user made ------------------------------------------
def test_a_users_own_workbook_in_out_is_moved_to_stale_not_overwritten(tmp_path):
    data, out = subset(tmp_path, THREE), tmp_path / "out"
    out.mkdir()
    mine = b"PK my own workbook, not made by cxroi-xl"
    (out / "ledgerly.xlsx").write_bytes(mine)
    result = run(data, out)
    assert result.exit_code == 0, result.output
    assert "3 built" in said(result)
    assert "kept ledgerly.xlsx -> stale/ledgerly." in said(result) and "not written by cxroi-xl" in said(result)
    kept = stale_files(out)
    assert list(kept.values()) == [mine]
    [name] = kept
    assert name.startswith("ledgerly.") and name.endswith(".xlsx") and name != "ledgerly.xlsx"  # time-stamped
    openpyxl.load_workbook(out / "ledgerly.xlsx")  # ours now, in its place


def test_an_edited_workbook_is_moved_to_stale_before_it_is_rebuilt(tmp_path):
    data, out = subset(tmp_path, THREE), tmp_path / "out"
    assert run(data, out).exit_code == 0
    book = openpyxl.load_workbook(out / "ledgerly.xlsx")
    book.worksheets[0]["A1"] = "my notes"
    book.save(out / "ledgerly.xlsx")
    edited = (out / "ledgerly.xlsx").read_bytes()
    result = run(data, out)
    assert result.exit_code == 0
    assert "1 built, 2 up to date" in said(result)
    assert "kept ledgerly.xlsx -> stale/ledgerly." in said(result) and "changed since cxroi-xl wrote it" in said(result)
    assert list(stale_files(out).values()) == [edited]
    assert (out / "ledgerly.xlsx").read_bytes() != edited


def test_an_edit_keeping_size_and_time_is_still_noticed_before_a_rebuild(tmp_path):
    # the content hash, not the size and time, decides what is ours to replace
    data, out = subset(tmp_path, THREE), tmp_path / "out"
    assert run(data, out).exit_code == 0
    path = out / "ledgerly.xlsx"
    stat = path.stat()
    original = path.read_bytes()
    tampered = original[:-1] + bytes([original[-1] ^ 1])
    path.write_bytes(tampered)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    result = run(data, out, "--force")
    assert result.exit_code == 0
    assert list(stale_files(out).values()) == [tampered]


def test_users_own_summary_and_portfolio_are_kept(tmp_path):
    data, out = subset(tmp_path, THREE), tmp_path / "out"
    out.mkdir()
    (out / "summary.csv").write_text("my own summary\n")
    (out / "portfolio.xlsx").write_bytes(b"my portfolio")
    result = run(data, out)
    assert result.exit_code == 0
    assert sorted(stale_files(out).values()) == [b"my own summary\n", b"my portfolio"]
    assert set(read_summary(out)) == set(THREE)


def test_a_rerun_sets_nothing_aside(tmp_path):
    data, out = subset(tmp_path, THREE), tmp_path / "out"
    assert run(data, out).exit_code == 0
    result = run(data, out)
    assert "0 built, 3 up to date" in said(result) and "kept" not in said(result)
    result = run(data, out, "--force")
    assert "3 built" in said(result) and "kept" not in said(result)
    assert not (out / "stale").exists()


# -- a bad manifest is set aside, never written back -------------------------------
@pytest.mark.parametrize(
    "content",
    [
        '{"format": 1, "clients": [1, 2], "stale": {}}',
        '{"format": 1, "clients": {"ledgerly": 5}, "stale": {}}',
        '{"format": 1, "clients": {"../x": {"fingerprint": "a", "summary": {}, "workbook": null}}}',
        '{"format": 1, "clients": {}, "stale": []}',
        "[1, 2]",
        "not json",
        '{"format": 1, "clients": {"ledgerly": {"fingerprint": "a", "summary": {}, "workbook": {"size": "1", "mtime_ns": 2}}}}',
    ],
)
def test_a_malformed_manifest_is_set_aside_and_rebuilt(tmp_path, content):
    data, out = subset(tmp_path, THREE), tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text(content)
    result = run(data, out)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "manifest.json -> manifest." in said(result)
    [aside] = out.glob("manifest.*.invalid.json")
    assert aside.read_text() == content  # kept as it was
    saved = json.loads((out / "manifest.json").read_text())
    assert set(saved["clients"]) == set(THREE)
    again = run(data, out)
    assert again.exit_code == 0 and "0 built, 3 up to date" in said(again)


def test_a_manifest_that_is_a_folder_is_set_aside(tmp_path):
    data, out = subset(tmp_path, THREE), tmp_path / "out"
    (out / "manifest.json").mkdir(parents=True)
    (out / "manifest.json" / "inside.txt").write_text("mine")
    result = run(data, out)
    assert result.exit_code == 0, result.output
    [aside] = out.glob("manifest.*.invalid.json")
    assert (aside / "inside.txt").read_text() == "mine"
    assert (out / "manifest.json").is_file()


def test_a_journal_entry_that_is_not_a_record_is_not_taken_in(tmp_path):
    data, out = subset(tmp_path, THREE), tmp_path / "out"
    assert run(data, out).exit_code == 0
    dead = out / f".cxroi-run-999999-{'0' * 16}"
    dead.mkdir()
    (dead / "journal.jsonl").write_text('{"client_id": "ledgerly", "record": 5}\n')
    result = run(data, out)
    assert result.exit_code == 0 and "0 built, 3 up to date" in said(result), result.output


def test_stale_as_a_file_is_refused_by_name(tmp_path):
    data, out = subset(tmp_path, THREE), tmp_path / "out"
    out.mkdir()
    (out / "stale").write_text("mine")
    result = run(data, out)
    assert result.exit_code == 2
    assert "stale: is not a folder" in said(result) and "Traceback" not in result.output
    assert (out / "stale").read_text() == "mine"
    assert not list(out.glob("*.xlsx"))


# -- stopped runs stay consistent ------------------------------------------------------
WATCHDOG_SECONDS = 300


def _consistent(out: Path) -> dict[str, dict]:
    """summary.csv, the manifest and the workbooks in OUT agree exactly;
    returns the manifest's clients."""
    manifest = json.loads((out / "manifest.json").read_text())["clients"]
    books = {p.stem for p in out.glob("*.xlsx")} - {"portfolio"}
    assert set(manifest) == books
    for client_id, entry in manifest.items():
        stat = (out / f"{client_id}.xlsx").stat()
        assert entry["workbook"] == {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    summary = read_summary(out)
    assert set(summary) == books
    for client_id, row in summary.items():
        assert float(row["pv_costs"]) == pytest.approx(manifest[client_id]["summary"]["pv_costs"], abs=0.01)
    portfolio = openpyxl.load_workbook(out / "portfolio.xlsx", read_only=True)
    ids = {row[0] for sheet in portfolio.worksheets[:1] for row in sheet.iter_rows(values_only=True) if row and row[0] in books}
    assert ids == books
    return manifest


@pytest.mark.parametrize(("jobs", "how"), [("2", "ctrl-c"), ("1", "sigterm")])
def test_a_stopped_run_leaves_summary_portfolio_and_manifest_describing_out(tmp_path, jobs, how):
    client_ids = pd.read_csv(SAMPLE / "clients.csv")["client_id"].tolist()
    data, out = subset(tmp_path, client_ids), tmp_path / "out"
    assert runner.invoke(app, ["generate", str(data), "--out", str(out), "--jobs", "2"]).exit_code == 0
    before = read_summary(out)
    costs = pd.read_csv(data / "costs.csv", dtype=str, keep_default_na=False)
    costs["amount"] = (costs["amount"].astype(float) * 2).map(repr)  # every client's costs change
    costs.to_csv(data / "costs.csv", index=False)
    process = subprocess.Popen(
        [sys.executable, "-m", "cxroi_xl.cli", "generate", str(data), "--out", str(out), "--jobs", jobs],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    deadline = time.monotonic() + WATCHDOG_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        journals = list(out.glob(".cxroi-run-*/journal.jsonl"))
        if journals and len(journals[0].read_text().splitlines()) >= 3:
            break
        time.sleep(0.01)
    if how == "ctrl-c":
        os.killpg(process.pid, signal.SIGINT)  # as a terminal sends it: to the whole group
    else:
        process.send_signal(signal.SIGTERM)
    try:
        stdout, stderr = process.communicate(timeout=WATCHDOG_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail("the stopped run did not end")
    assert process.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr
    text = " ".join(stderr.split())
    assert f"stopped by {'SIGINT' if how == 'ctrl-c' else 'SIGTERM'}" in text and "rerun to continue" in text
    manifest = _consistent(out)
    summary = read_summary(out)
    rebuilt = {cid for cid in summary if float(summary[cid]["pv_costs"]) != pytest.approx(float(before[cid]["pv_costs"]), abs=0.01)}
    assert 3 <= len(rebuilt) < len(client_ids), "the signal should land mid-run"
    assert not list(out.glob(".cxroi-run-*"))
    assert set(manifest) == set(client_ids)  # nothing lost: the clients not rebuilt keep their old workbooks
    rerun = runner.invoke(app, ["generate", str(data), "--out", str(out), "--jobs", "2"])
    assert rerun.exit_code == 0
    assert f"{len(client_ids) - len(rebuilt)} built, {len(rebuilt)} up to date" in said(rerun)
    _consistent(out)
    fresh = runner.invoke(app, ["generate", str(data), "--out", str(tmp_path / "fresh"), "--jobs", "2"])
    assert fresh.exit_code == 0
    assert read_summary(out) == read_summary(tmp_path / "fresh")


# -- absurd exchange rates are refused ---------------------------------------------------
# Found by the second review: a rate of 1e308 in fx.csv blanked the
# converted totals (they overflowed) with exit 0. A rate is units of the
# reporting currency for one unit of the client's, so it is positive and
# finite, and no pair of currencies in use is 10^9 apart (an Iranian rial
# is about 10^-6 euro): a rate outside [1e-9, 1e9] is a typing slip.
@pytest.mark.parametrize("rate", ["1e308", "1e10", "1e-10", "0", "-1.27", "inf", "nan", "-inf"])
def test_an_absurd_exchange_rate_is_refused_with_file_row_and_column(tmp_path, rate):
    data, out = subset(tmp_path, THREE), tmp_path / "out"
    (data / "fx.csv").write_text(f"currency,rate\nEUR,1.08\nGBP,{rate}\nUSD,1\n", encoding="utf-8")
    result = run(data, out)
    assert result.exit_code == 2, result.output
    assert f"fx.csv: row 3, column rate: expected a positive number from 1e-09 to 1e+09 (units of USD per GBP), got '{rate}'" in said(result)
    assert not out.exists()


def test_plausible_exchange_rates_far_from_one_are_read(tmp_path):
    # the rial and the dollar as they stand: rates near the bounds still convert
    data, out = subset(tmp_path, THREE), tmp_path / "out"
    (data / "fx.csv").write_text("currency,rate\nGBP,800000\nUSD,1\n", encoding="utf-8")
    assert run(data, out).exit_code == 0
