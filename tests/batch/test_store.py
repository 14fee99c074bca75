"""The per-client input store behind `generate`: each client's rows come
back exactly as validated, in file order, whether the file holds a client's
rows together or scattered.

Oracle: pandas' own boolean selection of the same rows from the frame that
was stored.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxroi_xl.batch.read import read_batch
from cxroi_xl.batch.store import ClientColumns
from cxroi_xl.cli import app
from tests.batch.test_run import read_summary, runner, subset


def _frame(n: int, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "amount": rng.normal(size=n).round(3),
            "date": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 400, n), unit="D"),
            "customer_id": [f"cust-é{i % 37}" * (i % 3 + 1) for i in range(n)],
        }
    )


@pytest.mark.parametrize("layout", ["grouped", "scattered"])
def test_each_client_gets_exactly_its_rows_in_file_order(tmp_path, layout):
    rng = np.random.default_rng(7)
    n, clients = 5_000, 40
    codes = np.sort(rng.integers(-1, clients, n)) if layout == "grouped" else rng.integers(-1, clients, n)
    frame = _frame(n, rng)
    frame.loc[rng.choice(n, 50), "amount"] = np.nan  # invalid cells
    store = ClientColumns(tmp_path, "transactions", {"amount": "f8", "date": "M8", "customer_id": "str"})
    for start in range(0, n, 1_200):  # several chunks, as a large file is read
        part = slice(start, start + 1_200)
        store.append(frame.iloc[part].reset_index(drop=True), codes[part], np.arange(n)[part] + 2)
    store.finish(clients + 5)  # five clients without rows
    for code in range(clients + 5):
        expected = frame[codes == code].reset_index(drop=True).astype({"date": "datetime64[ns]", "customer_id": object})  # the store keeps dates as nanoseconds, text as objects
        pd.testing.assert_frame_equal(store.client_frame(code), expected, check_dtype=True)
        assert store.client_rows(code).tolist() == (np.flatnonzero(codes == code) + 2).tolist()
    assert store.count(clients + 1) == 0 and len(store.client_frame(clients + 1)) == 0


def test_digest_follows_content_not_position(tmp_path):
    rng = np.random.default_rng(3)
    frame = _frame(10, rng)
    kinds = {"amount": "f8", "date": "M8", "customer_id": "str"}
    a = ClientColumns(tmp_path, "a", kinds)
    a.append(frame, np.array([0] * 5 + [1] * 5), np.arange(10) + 2)
    a.finish(2)
    b = ClientColumns(tmp_path, "a2", kinds)  # client 1's rows first, then client 0's
    b.append(pd.concat([frame.iloc[5:], frame.iloc[:5]]).reset_index(drop=True), np.array([1] * 5 + [0] * 5), np.arange(10) + 2)
    b.finish(2)
    assert a.client_digest(0) != a.client_digest(1)
    # same rows under another table name still differ: the table is part of the fingerprint
    assert a.client_digest(0) != b.client_digest(0)
    (tmp_path / "other").mkdir()
    c = ClientColumns(tmp_path / "other", "a", kinds)  # same table, same rows, another file order
    c.append(pd.concat([frame.iloc[5:], frame.iloc[:5]]).reset_index(drop=True), np.array([1] * 5 + [0] * 5), np.arange(10) + 2)
    c.finish(2)
    assert c.client_digest(0) == a.client_digest(0) and c.client_digest(1) == a.client_digest(1)


def test_scattered_input_builds_the_same_workbooks_as_grouped(tmp_path):
    grouped = subset(tmp_path, ["rose-bakery", "ledgerly", "harbor-hotel"])
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    for path in grouped.iterdir():
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if path.stem != "clients":
            frame = frame.sample(frac=1, random_state=1)  # rows of every client interleaved
        frame.to_csv(shuffled / path.name, index=False)
    batch_a, batch_b = read_batch(grouped), read_batch(shuffled)
    for client_id in batch_a.valid_client_ids():
        a, b = batch_a.tracker_input(client_id), batch_b.tracker_input(client_id)
        pd.testing.assert_frame_equal(a.kpis.sort_values("month").reset_index(drop=True), b.kpis.sort_values("month").reset_index(drop=True))
        pd.testing.assert_frame_equal(
            a.surveys.sort_values(list(a.surveys.columns)).reset_index(drop=True), b.surveys.sort_values(list(b.surveys.columns)).reset_index(drop=True)
        )
    results = {}
    for name, data in (("grouped", grouped), ("shuffled", shuffled)):
        out = tmp_path / f"out-{name}"
        assert runner.invoke(app, ["generate", str(data), "--out", str(out), "--mode", "live", "--jobs", "1"]).exit_code == 0
        results[name] = read_summary(out)
    for client_id, row in results["grouped"].items():
        for key, value in row.items():
            if key.startswith("verdict_"):
                assert results["shuffled"][client_id][key] == value, (client_id, key)
            elif key not in ("client_id", "client_name", "currency") and value:
                assert float(results["shuffled"][client_id][key]) == pytest.approx(float(value), rel=1e-12), (client_id, key)


def test_a_killed_runs_store_is_removed_and_a_live_ones_kept():
    """The store lives in the system's temporary folder; a run killed with
    -9 cannot remove it, so the next run does, but never a live run's."""
    import os
    import signal
    import subprocess
    import sys

    from tests.batch.test_run import SAMPLE

    live = read_batch(SAMPLE)
    child = subprocess.Popen(
        [sys.executable, "-c", f"import time; from cxroi_xl.batch.read import read_batch; b = read_batch({str(SAMPLE)!r}); print(b.folder, flush=True); time.sleep(120)"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        killed = child.stdout.readline().strip()
        assert killed and os.path.isdir(killed)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert os.path.isdir(killed)  # nothing could clean up after -9
    later = read_batch(SAMPLE)
    try:
        assert not os.path.exists(killed)
        assert live.folder.is_dir() and live.tracker_input("northwind-shop").kpis.shape[0] > 0
    finally:
        live.close()
        later.close()
    assert not live.folder.exists() and not later.folder.exists()
