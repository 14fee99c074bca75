"""`generate` never loses input and never leaves stale results: the output
folder's rules, the manifest, stale/, our own temporary files, and workers
that end with their parent. Each test reproduces a finding of the hardening
review and then holds.

Oracle for "the right workbook was rebuilt": a fresh run of the same data
into an empty folder (nothing reused), whose summary the rerun must match
exactly, and the ROI model re-derived independently in tests/batch/test_run.py.
"""
from __future__ import annotations

import csv
import hashlib
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
from tests.batch.test_run import SAMPLE, independent_tei, read_summary, runner, subset

THREE = ["rose-bakery", "ledgerly", "harbor-hotel"]


def run(data, out, *extra):
    return runner.invoke(app, ["generate", str(data), "--out", str(out), "--mode", "live", "--jobs", "1", *extra])


def counts(result) -> str:
    return " ".join(result.output.split())


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}


def portfolio_ids(out: Path) -> set[str]:
    ws = openpyxl.load_workbook(out / "portfolio.xlsx")["Portfolio"]
    return {c.value for c in ws["A"][4:] if c.value}


def top_level_workbooks(out: Path) -> set[str]:
    return {p.stem for p in out.glob("*.xlsx")} - {"portfolio"}


def test_out_equal_to_the_data_folder_is_refused_and_input_untouched(tmp_path):
    """A client called like an input table (costs.xlsx) used to overwrite it."""
    data = subset(tmp_path, ["rose-bakery"])
    costs = pd.read_csv(data / "costs.csv", dtype=str, keep_default_na=False)
    costs.to_excel(data / "costs.xlsx", index=False)
    (data / "costs.csv").unlink()
    for name in ("clients", "kpis"):
        frame = pd.read_csv(data / f"{name}.csv", dtype=str, keep_default_na=False)
        clone = frame.copy()
        clone["client_id"] = "costs"
        pd.concat([frame, clone]).to_csv(data / f"{name}.csv", index=False)
    before = digests(data)
    result = run(data, data)
    assert result.exit_code == 2
    assert "holds the input table" in counts(result)
    assert digests(data) == before and sorted(p.name for p in data.iterdir()) == sorted(before)
    # a folder that holds the data folder is refused too
    assert run(data, tmp_path).exit_code == 2
    assert digests(data) == before


def test_an_edit_restored_to_its_old_mtime_rebuilds_exactly_that_client(tmp_path):
    data = subset(tmp_path, THREE)
    out = tmp_path / "out"
    assert run(data, out).exit_code == 0
    kpis_path = data / "kpis.csv"
    stat = kpis_path.stat()
    kpis = pd.read_csv(kpis_path, dtype=str, keep_default_na=False)
    post = kpis.index[(kpis["client_id"] == "ledgerly")][-1]
    kpis.loc[post, "agent_hours"] = str(float(kpis.loc[post, "agent_hours"]) / 2)
    kpis.to_csv(kpis_path, index=False)
    os.utime(kpis_path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as cp -p or a backup restore does
    untouched = {cid: (out / f"{cid}.xlsx").stat().st_mtime_ns for cid in ("rose-bakery", "harbor-hotel")}
    result = run(data, out)
    assert result.exit_code == 0, result.output
    assert "1 built, 2 up to date" in counts(result)
    assert {cid: (out / f"{cid}.xlsx").stat().st_mtime_ns for cid in untouched} == untouched
    expected = independent_tei(data, "ledgerly")
    assert float(read_summary(out)["ledgerly"]["npv"]) == pytest.approx(expected["npv"], abs=0.005)  # summary.csv rounds money to the cent
    fresh = tmp_path / "fresh"
    assert run(data, fresh).exit_code == 0
    assert read_summary(out) == read_summary(fresh)


def test_deleting_an_optional_table_rebuilds_the_clients_it_fed(tmp_path):
    data = subset(tmp_path, THREE)
    out = tmp_path / "out"
    assert run(data, out).exit_code == 0
    (data / "costs.csv").unlink()
    result = run(data, out)
    assert result.exit_code == 0 and "3 built, 0 up to date" in counts(result)
    fresh = tmp_path / "fresh"
    assert run(data, fresh).exit_code == 0
    assert read_summary(out) == read_summary(fresh)


def test_a_client_turned_invalid_has_its_workbook_moved_to_stale(tmp_path):
    data = subset(tmp_path, THREE)
    out = tmp_path / "out"
    assert run(data, out).exit_code == 0
    old = (out / "ledgerly.xlsx").read_bytes()
    kpis = pd.read_csv(data / "kpis.csv", dtype=str, keep_default_na=False)
    first = kpis.index[kpis["client_id"] == "ledgerly"][0]
    original = kpis.loc[first, "contacts"]
    kpis.loc[first, "contacts"] = "lots"
    kpis.to_csv(data / "kpis.csv", index=False)
    result = run(data, out)
    assert result.exit_code == 1
    assert "0 built, 2 up to date, 1 failed" in counts(result)
    assert not (out / "ledgerly.xlsx").exists()
    assert (out / "stale" / "ledgerly.xlsx").read_bytes() == old  # moved, never deleted
    errors = list(csv.DictReader(open(out / "errors.csv", encoding="utf-8")))
    assert any(e["client_id"] == "ledgerly" and "got 'lots'" in e["message"] for e in errors)
    assert any(e["client_id"] == "ledgerly" and "moved to stale/ledgerly.xlsx" in e["message"] for e in errors)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert "ledgerly" not in manifest["clients"] and "got 'lots'" in manifest["stale"]["ledgerly"]["reason"]
    assert set(read_summary(out)) == top_level_workbooks(out) == portfolio_ids(out) == {"rose-bakery", "harbor-hotel"}
    # fixed again: rebuilt, and a second failure keeps the earlier stale copy
    kpis.loc[first, "contacts"] = original
    kpis.to_csv(data / "kpis.csv", index=False)
    assert "1 built, 2 up to date" in counts(run(data, out))
    kpis.loc[first, "contacts"] = "many"
    kpis.to_csv(data / "kpis.csv", index=False)
    run(data, out)
    assert len(list((out / "stale").glob("ledgerly*.xlsx"))) == 2


def test_a_client_removed_from_clients_leaves_the_summary_and_the_top_level(tmp_path):
    data = subset(tmp_path, THREE)
    out = tmp_path / "out"
    assert run(data, out).exit_code == 0
    clients = pd.read_csv(data / "clients.csv", dtype=str, keep_default_na=False)
    clients[clients["client_id"] != "harbor-hotel"].to_csv(data / "clients.csv", index=False)
    for name in ("kpis", "costs", "surveys"):
        frame = pd.read_csv(data / f"{name}.csv", dtype=str, keep_default_na=False)
        frame[frame["client_id"] != "harbor-hotel"].to_csv(data / f"{name}.csv", index=False)
    result = run(data, out)
    assert result.exit_code == 0 and "0 built, 2 up to date" in counts(result)
    assert (out / "stale" / "harbor-hotel.xlsx").exists()
    assert set(read_summary(out)) == top_level_workbooks(out) == portfolio_ids(out) == {"rose-bakery", "ledgerly"}


def test_a_replaced_workbook_is_rebuilt(tmp_path):
    data = subset(tmp_path, ["rose-bakery"])
    out = tmp_path / "out"
    assert run(data, out).exit_code == 0
    (out / "rose-bakery.xlsx").write_bytes(b"not ours any more")
    assert "1 built, 0 up to date" in counts(run(data, out))
    assert openpyxl.load_workbook(out / "rose-bakery.xlsx")


def test_only_our_own_temporary_files_are_removed(tmp_path):
    data = subset(tmp_path, ["rose-bakery"])
    out = tmp_path / "out"
    out.mkdir()
    theirs = [out / ".notes.xlsx.tmp", out / ".rose-bakery.xlsx.abc123.tmp", out / ".cxroi-run-notes"]
    for path in theirs:
        path.write_text("a user's file")
    dead_run = out / ".cxroi-run-999999999-0123456789abcdef"  # a killed run's folder
    dead_run.mkdir()
    (dead_run / ".rose-bakery.xlsx.x1y2.tmp").write_bytes(b"half a workbook")
    result = run(data, out)
    assert result.exit_code == 0, result.output
    assert all(path.read_text() == "a user's file" for path in theirs)
    assert not dead_run.exists()
    assert sorted(p.name for p in out.glob(".*")) == sorted(p.name for p in theirs)


def test_a_second_run_into_the_same_folder_waits_its_turn(tmp_path):
    from cxroi_xl.batch.run import _OutputFolder

    data = subset(tmp_path, ["rose-bakery"])
    out = tmp_path / "out"
    holder = _OutputFolder(out)
    try:
        result = run(data, out)
        assert result.exit_code == 2 and "another cxroi-xl generate is writing to this folder" in counts(result)
        assert holder.run_dir.exists()  # the live run's folder is left alone
    finally:
        holder.close()
    assert run(data, out).exit_code == 0


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_no_orphan_workers_after_the_parent_is_killed(tmp_path):
    client_ids = pd.read_csv(SAMPLE / "clients.csv")["client_id"].tolist()[:12]
    data = subset(tmp_path, client_ids)
    out = tmp_path / "out"
    parent = subprocess.Popen([sys.executable, "-m", "cxroi_xl.cli", "generate", str(data), "--out", str(out), "--jobs", "2", "--mode", "live"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and parent.poll() is None:
            # the pool's workers (spawn also starts a resource tracker)
            workers = _children(parent.pid)
            if len(workers) >= 2 and any(out.glob("*.xlsx")):
                break
            time.sleep(0.05)
        assert parent.poll() is None and len(workers) >= 2, "the kill should land while workers run"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
            time.sleep(0.1)
        assert not [pid for pid in workers if _alive(pid)], "workers outlived their parent by 10 s"
    finally:
        if parent.poll() is None:
            parent.kill()
        for pid in workers:  # never leave an orphan behind, even when failing
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    # and the next run finishes the batch, keeping what the killed one built
    rerun = runner.invoke(app, ["generate", str(data), "--out", str(out), "--jobs", "2", "--mode", "live"])
    assert rerun.exit_code == 0, rerun.output
    assert set(read_summary(out)) == set(client_ids) == top_level_workbooks(out)
    assert not list(out.glob(".cxroi-run-*"))
