"""Builds on a Dask LocalCluster (2 worker processes, 1 thread each) equal the local route's.

Oracles: the local executor (``batch.generate`` on the same Parquet input,
read whole in one process) for workbook bytes, ``summary.csv`` and the
problems; ``summary_row`` on the locally read input for the stub builds.
Exact equality throughout (same inputs, same code, so the same floats).
Most tests use a stub build that writes a real (small) file and returns the
real summary row, to keep CPU low; one test builds real workbooks.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

import distributed  # noqa: F401  (the [dask] extra is part of the test install: missing fails, never skips)
import pyarrow  # noqa: F401
import cloudpickle  # noqa: E402

from cxroi_xl.batch import run as batch, dask_executor, parquet as parquet_input  # noqa: E402
from cxroi_xl.workbooks.common import write_atomic  # noqa: E402

from .test_parquet import client_frames, inject_bad_rows, write_parquet  # noqa: E402

# the workers import this module's stub builds by value, not by name
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def stub_build(data, out_path: Path) -> dict:
    """A real file per client (its monthly rows), the real summary row."""
    write_atomic(out_path, data.kpis.to_csv(index=False).encode())
    return batch.summary_row(data)


def slow_stub_build(data, out_path: Path) -> dict:
    time.sleep(0.05)
    return stub_build(data, out_path)


def dying_build(data, out_path: Path) -> dict:
    """Kills the worker process that builds c0005, every time."""
    if data.client_id == "c0005":
        os._exit(1)
    return stub_build(data, out_path)


@pytest.fixture(scope="module")
def client():
    with dask_executor.cluster_client(None, n_workers=2, memory_limit="768MiB") as client:
        client.wait_for_workers(2, timeout=120)
        yield client


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """A few hundred clients with bad rows; kpis over 4 files, surveys hive-partitioned."""
    frames = inject_bad_rows(client_frames(240))["frames"]
    return write_parquet(frames, tmp_path_factory.mktemp("data") / "parquet")


@pytest.fixture(scope="module")
def local(dataset):
    return parquet_input.read_parquet_batch(dataset)


def test_real_workbooks_and_summary_equal_the_local_executor(client, tmp_path):
    data = write_parquet(client_frames(12), tmp_path / "data")
    expected = batch.generate(None, tmp_path / "local", mode="live", jobs=1, batch=parquet_input.read_parquet_batch(data))
    run, order = dask_executor.generate_on_dask(data, tmp_path / "dask", dask_executor.TemplateBuild(mode="live"), client=client, partition_size=5)
    assert sorted(run.built) == sorted(expected.built) and len(run.built) == 12 and not run.failed and not run.problems
    for name in [f"{c}.xlsx" for c in expected.built] + ["summary.csv"]:
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    assert manifest_view(tmp_path / "dask") == manifest_view(tmp_path / "local")
    assert sorted(p.name for p in (tmp_path / "dask").iterdir()) == sorted(p.name for p in (tmp_path / "local").iterdir())
    # one manifest for both routes: the local executor finds the cluster's workbooks up to date
    again = batch.generate(None, tmp_path / "dask", mode="live", jobs=1, batch=parquet_input.read_parquet_batch(data))
    assert not again.built and len(again.skipped) == 12


def manifest_view(out: Path) -> dict:
    """The manifest without build times and file stamps (which differ by run)."""
    import json

    saved = json.loads((out / "manifest.json").read_text())
    return {cid: (entry["fingerprint"], entry["summary"]) for cid, entry in saved["clients"].items()} | {"stale": sorted(saved["stale"])}


def test_manifest_rules_hold_on_the_cluster(client, tmp_path):
    """Oracle: the local executor's manifest rules (tests/batch/test_manifest.py),
    run on the same inputs: a rerun builds nothing; a changed client alone
    is rebuilt; a client that now fails or left has its workbook moved to
    stale/; --force rebuilds all; a dry run writes nothing."""
    frames = client_frames(10)
    data = write_parquet(frames, tmp_path / "data")
    out = tmp_path / "out"

    def run_dask(**options):
        return dask_executor.generate_on_dask(data, out, stub_build, client=client, partition_size=3, **options)[0]

    first = run_dask()
    assert len(first.built) == 10 and not first.skipped
    summary = (out / "summary.csv").read_bytes()
    again = run_dask()
    assert not again.built and sorted(again.skipped) == sorted(first.built)
    assert (out / "summary.csv").read_bytes() == summary  # up-to-date rows from the manifest
    # one client's numbers change, one client now fails, one leaves the clients table
    frames = {name: frame.copy() for name, frame in frames.items()}
    frames["kpis"].loc[frames["kpis"].index[frames["kpis"]["client_id"] == "c0002"][0], "revenue"] += 1.0
    frames["kpis"].loc[frames["kpis"].index[frames["kpis"]["client_id"] == "c0004"][0], "contacts"] = -1
    frames["clients"] = frames["clients"][frames["clients"]["client_id"] != "c0006"]
    frames["kpis"] = frames["kpis"][frames["kpis"]["client_id"] != "c0006"]
    for name in ("costs", "surveys"):
        frames[name] = frames[name][frames[name]["client_id"] != "c0006"]
    for child in sorted(data.rglob("*"), reverse=True):
        child.unlink() if child.is_file() else child.rmdir()
    write_parquet(frames, data)
    third = run_dask()
    assert third.built == ["c0002"] and third.failed == ["c0004"] and sorted(third.stale) == ["c0004", "c0006"]
    assert sorted(p.name for p in (out / "stale").iterdir()) == ["c0004.xlsx", "c0006.xlsx"]
    assert any(p.client_id == "c0004" and p.message.startswith("previous workbook moved to stale/c0004.xlsx") for p in third.problems)
    # (fingerprints equal to the local executor's: the real-workbook test above)
    assert sorted(json.loads((out / "manifest.json").read_text())["clients"]) == sorted(f"c{i:04d}" for i in range(10) if i not in (4, 6))
    forced = run_dask(force=True)
    assert len(forced.built) == 8 and not forced.skipped
    listing = sorted(p.name for p in out.iterdir())
    dry = dask_executor.generate_on_dask(data, tmp_path / "dry", stub_build, client=client, dry_run=True)[0]
    assert sorted(dry.skipped) == sorted(forced.built) and dry.failed == ["c0004"] and not (tmp_path / "dry").exists()
    assert sorted(p.name for p in out.iterdir()) == listing


def test_bad_rows_are_reported_and_skipped_as_locally(client, dataset, local, tmp_path):
    # an fsspec URL as output: upload to a temporary key, then move
    out = tmp_path / "out"
    run, order = dask_executor.generate_on_dask(dataset, "file://" + str(out), stub_build, client=client, partition_size=8)
    assert [c for c in order if c in local.clients] == list(local.clients)
    assert sorted(run.built) == sorted(local.valid_client_ids()) and len(run.built) > 200
    assert run.failed == sorted(local.failed)
    key = lambda p: (p.client_id, p.file, p.row or 0, p.column, p.message)  # noqa: E731
    assert sorted(run.problems, key=key) == sorted(local.problems, key=key)
    for client_id in run.built:
        assert run.rows[client_id] == batch.summary_row(local.tracker_input(client_id))
    # no temporaries left, no failed client written; no manifest at a URL
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{c}.xlsx" for c in run.built] + ["errors.csv", "portfolio.xlsx", "summary.csv"])


def test_a_killed_worker_costs_nothing_after_the_retry(client, dataset, local, tmp_path):
    killed = []

    def kill_a_busy_worker(client_id: str, status: str) -> None:
        if killed:
            return
        busy = [address for address, tasks in client.processing().items() if tasks]
        if busy:
            pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    ids = local.valid_client_ids()[:96]
    location = parquet_input.open_location(dataset)
    run = dask_executor.run_on_dask(client, location, parquet_input.partition_clients(ids, 4), slow_stub_build, tmp_path, on_progress=kill_a_busy_worker)
    assert killed
    assert sorted(run.built) == sorted(ids) and not run.failed and not run.problems
    # every workbook whole; a worker killed mid-write may leave its hidden
    # temporary file (generate has the workers write into the run's private
    # folder, removed when the run ends)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == sorted(f"{c}.xlsx" for c in ids)
    assert all(p.name.endswith(".tmp") for p in tmp_path.iterdir() if p.name.startswith("."))
    client.wait_for_workers(2, timeout=120)  # the nanny restarts the killed worker


def test_a_worker_dying_twice_fails_only_its_partition(client, dataset, local, tmp_path):
    ids = local.valid_client_ids()[:16]
    assert "c0005" in ids
    location = parquet_input.open_location(dataset)
    partitions = parquet_input.partition_clients(ids, 4)
    run = dask_executor.run_on_dask(client, location, partitions, dying_build, tmp_path)
    lost = next(p for p in partitions if "c0005" in p)
    assert run.failed == sorted(lost)
    assert sorted(run.built) == sorted(set(ids) - set(lost))
    assert {p.message for p in run.problems} == {"a worker died while building this client, twice; rerun to build it"}
    assert [p.client_id for p in run.problems] == lost
    client.wait_for_workers(2, timeout=120)


def test_generate_command_with_the_dask_executor(tmp_path):
    """The command line end to end: a LocalCluster started by the command,
    the same summary.csv and errors.csv as the local executor on the same data."""
    from typer.testing import CliRunner

    from cxroi_xl.cli import app, _url_or_path

    frames = inject_bad_rows(client_frames(32))["frames"]
    data = write_parquet(frames, tmp_path / "data")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["generate", str(data), "--out", str(out), "--mode", "live", "--executor", "dask"])
    assert result.exit_code == 1, result.output
    local = batch.generate(None, tmp_path / "local", mode="live", jobs=1, batch=parquet_input.read_parquet_batch(data))
    assert (out / "summary.csv").read_bytes() == (tmp_path / "local" / "summary.csv").read_bytes()
    lines = lambda path: sorted(path.read_text().splitlines())  # noqa: E731  (row order: by task there, by table here)
    assert lines(out / "errors.csv") == lines(tmp_path / "local" / "errors.csv")
    assert (out / "portfolio.xlsx").exists() and sorted(p.name for p in out.glob("c*.xlsx")) == sorted(f"{c}.xlsx" for c in local.built)
    assert _url_or_path(Path("s3://bucket/x")) == "s3://bucket/x" and _url_or_path(Path("/data/x")) == "/data/x"
    bad = CliRunner().invoke(app, ["generate", str(tmp_path / "nowhere"), "--out", str(out), "--executor", "dask"])
    assert bad.exit_code == 2 and "not a folder" in bad.output


def test_ctrl_c_cancels_the_pending_tasks(client, dataset, local, tmp_path):
    def interrupt(client_id: str, status: str) -> None:
        raise KeyboardInterrupt

    ids = local.valid_client_ids()[:64]
    location = parquet_input.open_location(dataset)
    with pytest.raises(KeyboardInterrupt):
        dask_executor.run_on_dask(client, location, parquet_input.partition_clients(ids, 4), slow_stub_build, tmp_path, on_progress=interrupt)
    deadline = time.monotonic() + 30
    while any(client.processing().values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(client.processing().values())  # nothing left running on the cluster
    # a task cancelled mid-write (Dask cannot stop a running thread) finishes
    # its rename or removes its temporary file: none may stay behind
    while list(tmp_path.glob(".*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(list(tmp_path.glob("*.xlsx"))) < len(ids)  # stopped early
    assert not list(tmp_path.glob(".*.tmp"))  # and no half-written file
