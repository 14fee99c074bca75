"""Parquet input, second review: a list or struct column, bytes that are
not UTF-8 in a binary column and a corrupt second file in a table folder
ended in tracebacks; 4,000 one-row groups cost a read call each (92 s
against 2.5 s in one group). Each now ends in exit 2 naming the file and
the column, and row groups are read in batches (counted, not timed).
"""
from __future__ import annotations

import pytest

pa = pytest.importorskip("pyarrow")
import pyarrow.parquet as pq  # noqa: E402

from cxroi_xl.batch import parquet as parquet_input  # noqa: E402
from cxroi_xl.cli import app  # noqa: E402
from tests.batch.test_parquet import client_frames, write_parquet  # noqa: E402
from tests.batch.test_run import runner  # noqa: E402


def said(result) -> str:
    return " ".join(result.output.split())


def run(data, out):
    return runner.invoke(app, ["generate", str(data), "--out", str(out), "--jobs", "1", "--dry-run"])


@pytest.fixture
def data(tmp_path):
    return write_parquet(client_frames(4), tmp_path / "data")


def _replace_column(path, column: str, values) -> None:
    table = pq.read_table(path)
    table = table.set_column(table.schema.get_field_index(column), column, values)
    pq.write_table(table, path)


@pytest.mark.parametrize("kind", ["list", "struct"])
def test_a_nested_column_is_refused_by_name(data, tmp_path, kind):
    path = data / "costs.parquet"
    n = pq.read_metadata(path).num_rows
    values = pa.array([[1.0, 2.0]] * n) if kind == "list" else pa.array([{"a": 1.0}] * n)
    _replace_column(path, "amount", values)
    result = run(data, tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "costs.parquet: column amount holds" in said(result) and "(lists or records)" in said(result)


def test_bytes_that_are_not_utf8_are_refused_by_file_and_column(data, tmp_path):
    path = data / "costs.parquet"
    n = pq.read_metadata(path).num_rows
    _replace_column(path, "category", pa.array([b"license"] * (n - 1) + [b"\xff\xfe\x81"], pa.binary()))
    result = run(data, tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "costs.parquet: column category holds bytes that are not UTF-8 text" in said(result)


def test_a_corrupt_file_among_good_ones_is_refused_by_name(data, tmp_path):
    files = sorted((data / "kpis").glob("*.parquet"))
    assert len(files) > 1
    files[1].write_bytes(files[1].read_bytes()[: len(files[1].read_bytes()) // 2] + b"PAR1")
    result = run(data, tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"kpis/{files[1].name}" in said(result)


def test_row_groups_are_read_in_batches(tmp_path, monkeypatch):
    frames = client_frames(4)
    data = write_parquet(frames, tmp_path / "data", row_group_size=1)  # one row a group
    calls = []
    real = parquet_input._read_row_groups

    def counted(fragment, ids, columns, schema):
        calls.append(len(ids))
        return real(fragment, ids, columns, schema)

    monkeypatch.setattr(parquet_input, "_read_row_groups", counted)
    batch = parquet_input.read_parquet_batch(data)
    try:
        rows = len(frames["costs"]) + len(frames["kpis"])
        assert sum(calls) >= rows  # every group read, one row each
        assert len(calls) <= len(list(data.rglob("*.parquet")))  # but one call per file, not per group
        assert batch.tracker_input("c0001").kpis.shape[0] == len(frames["kpis"][frames["kpis"]["client_id"] == "c0001"])
    finally:
        batch.close()
