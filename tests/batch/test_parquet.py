"""Parquet input: the same validated batch as the CSV input of the same data.

Oracle: ``batch_input.read_batch`` on CSV files written from the very same
frames (that reader is itself tested against hand-written files in
test_batch.py). Parsed tables must be equal exactly; every problem must be
the same (client, column, message), with the Parquet file and record
number in place of the CSV row, checked by hand for the injected cells.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fsspec  # noqa: F401  (the [dask] extra is part of the test install: missing fails, never skips)
import pyarrow as pa
import pyarrow.parquet as pq  # noqa: E402

from cxroi_xl.batch import parquet as parquet_input  # noqa: E402
from cxroi_xl.batch.tables import InputError
from cxroi_xl.batch.read import read_batch  # noqa: E402
from cxroi_xl.workbooks.sample_data import SAMPLE_PROFILES, synthetic_client  # noqa: E402

KPI_FILES = 4


def client_frames(n_clients: int, seed: int = 11) -> dict[str, pd.DataFrame]:
    """``n_clients`` small clients (6 baseline and 6 post months, a few
    survey answers a month): 12 distinct synthetic clients under many ids,
    sorted by client_id as an export would be."""
    kinds = [synthetic_client(seed + k, profile=list(SAMPLE_PROFILES)[k % len(SAMPLE_PROFILES)], baseline_months=6, post_months=6, surveys_per_month=3) for k in range(12)]
    clients, kpis, costs, surveys = [], [], [], []
    for i in range(n_clients):
        client_id, kind = f"c{i:04d}", kinds[i % len(kinds)]
        clients.append({"client_id": client_id, "client_name": f"Client {i}", "go_live": kind.go_live.date(), "currency": ["USD", "EUR", "GBP"][i % 3], "discount_rate": 0.1, "benefit_risk": [0.1, 0.05][i % 2], "cost_risk": 0.05})
        kpis.append(kind.kpis.assign(client_id=client_id))
        costs.append(kind.costs.assign(client_id=client_id))
        surveys.append(kind.surveys.assign(client_id=client_id))

    def first(frames: list[pd.DataFrame]) -> pd.DataFrame:
        frame = pd.concat(frames, ignore_index=True)
        return frame[["client_id"] + [c for c in frame.columns if c != "client_id"]]

    return {"clients": pd.DataFrame(clients), "kpis": first(kpis), "costs": first(costs), "surveys": first(surveys)}


def write_csv(frames: dict[str, pd.DataFrame], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame = frame.copy()
        for column in ("nps", "csat", "ces"):
            if column in frame:
                frame[column] = frame[column].astype("Int64")
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def write_parquet(frames: dict[str, pd.DataFrame], folder: Path, row_group_size: int = 200) -> Path:
    """clients and costs as single files; kpis as a folder of several files
    (no partition keys); surveys hive-partitioned by a region key; typed
    columns (integers, floats with NaN blanks, dates, timestamps)."""
    folder.mkdir(parents=True, exist_ok=True)
    frames["clients"].to_parquet(folder / "clients.parquet", index=False)
    frames["costs"].to_parquet(folder / "costs.parquet", index=False, row_group_size=row_group_size)
    (folder / "kpis").mkdir()
    # positions, not the frame: under pandas 3 array_split of a DataFrame gives ndarrays
    for number, positions in enumerate(np.array_split(np.arange(len(frames["kpis"])), KPI_FILES)):
        part = frames["kpis"].iloc[positions]
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False), folder / "kpis" / f"part-{number}.parquet", row_group_size=row_group_size)
    surveys = frames["surveys"].assign(date=pd.to_datetime(frames["surveys"]["date"]))
    region = np.where(surveys["client_id"].str[-1].isin(list("01234")), "eu", "us")
    for key in ("eu", "us"):
        (folder / "surveys" / f"region={key}").mkdir(parents=True)
        surveys[region == key].to_parquet(folder / "surveys" / f"region={key}" / "part-0.parquet", index=False, row_group_size=row_group_size)
    return folder


def kpi_file_and_record(frames: dict[str, pd.DataFrame], index: int) -> tuple[str, int]:
    """Where the kpis row at ``index`` of the whole frame lands in the folder."""
    sizes = [len(part) for part in np.array_split(np.arange(len(frames["kpis"])), KPI_FILES)]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    number = int(np.searchsorted(starts, index, side="right") - 1)
    return f"kpis/part-{number}.parquet", int(index - starts[number] + 1)


def inject_bad_rows(frames: dict[str, pd.DataFrame]) -> dict[str, object]:
    """A bad cell in three clients, an unknown client and a duplicate id."""
    frames = {name: frame.copy() for name, frame in frames.items()}
    kpis = frames["kpis"]
    bad_kpi = int(kpis.index[kpis["client_id"] == "c0007"][3])
    kpis.loc[bad_kpi, "contacts"] = -5
    surveys = frames["surveys"]
    surveys.loc[surveys.index[surveys["client_id"] == "c0012"][0], "nps"] = 11.0
    costs = frames["costs"]
    costs["category"] = costs["category"].astype(object)
    costs.loc[costs.index[costs["client_id"] == "c0020"][0], "category"] = "bribe"
    frames["kpis"] = pd.concat([kpis, kpis[kpis["client_id"] == "c0001"].head(2).assign(client_id="ghost")], ignore_index=True)
    frames["clients"] = pd.concat([frames["clients"], frames["clients"].iloc[[30]].assign(client_id="C0030", client_name="clash")], ignore_index=True)
    return {"frames": frames, "bad_kpi": bad_kpi}


def problem_keys(problems) -> list[tuple]:
    """Problems without their place; a duplicate's message names the other
    row, a CSV line (header = 1) there and a record number (first = 1) here."""
    import re

    return sorted((p.client_id, p.column, re.sub(r"also on row \d+", "also on row N", p.message)) for p in problems)


TABLE_NAMES = ("kpis", "costs", "surveys", "transactions", "journeys", "proxies")


def client_tables(batch, client_id: str) -> dict[str, pd.DataFrame]:
    """One client's validated rows of every table, as the store gives them."""
    data = batch.tracker_input(client_id)
    return {name: getattr(data, name) for name in TABLE_NAMES if getattr(data, name) is not None}


def assert_same_batch(a, b, ids=None) -> None:
    """Same client records, same rows of every table, same input fingerprint."""
    if ids is None:
        assert set(a.clients) == set(b.clients)
        assert a.valid_client_ids() == b.valid_client_ids()
    for client_id in ids or a.clients:
        assert a.clients[client_id] == b.clients[client_id]
    for client_id in ids or a.valid_client_ids():
        left, right = client_tables(a, client_id), client_tables(b, client_id)
        assert set(left) == set(right)
        for name, frame in left.items():
            pd.testing.assert_frame_equal(frame, right[name], check_exact=True, obj=f"{name} of {client_id}")
        assert a.client_digest(client_id) == b.client_digest(client_id)


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return client_frames(60)


def test_parquet_batch_equals_csv_batch(frames, tmp_path):
    csv = read_batch(write_csv(frames, tmp_path / "csv"))
    parquet = parquet_input.read_parquet_batch(write_parquet(frames, tmp_path / "parquet"))
    assert not csv.problems and not parquet.problems
    assert_same_batch(csv, parquet)
    for client_id in ("c0000", "c0031"):  # the engine sees the same client
        pd.testing.assert_frame_equal(csv.tracker_input(client_id).kpis, parquet.tracker_input(client_id).kpis, check_exact=True)


def test_bad_rows_are_reported_as_for_csv(frames, tmp_path):
    bad = inject_bad_rows(frames)
    csv = read_batch(write_csv(bad["frames"], tmp_path / "csv"))
    parquet = parquet_input.read_parquet_batch(write_parquet(bad["frames"], tmp_path / "parquet"))
    assert problem_keys(parquet.problems) == problem_keys(csv.problems)
    assert {"c0007", "c0012", "c0020", "ghost", "C0030"} <= {p.client_id for p in parquet.problems}
    assert parquet.valid_client_ids() == csv.valid_client_ids()
    assert_same_batch(csv, parquet)
    # file and record by hand: the bad kpis cell, the clash on the clients file
    file, record = kpi_file_and_record(bad["frames"], bad["bad_kpi"])
    contacts = [p for p in parquet.problems if p.client_id == "c0007" and p.column == "contacts"]
    assert [(p.file, p.row, p.column) for p in contacts] == [(file, record, "contacts")]
    assert contacts[0].message == "expected a whole number of at least 0, got '-5'"
    # a later per-client check (automated contacts above contacts) names the file too
    over = next(p for p in parquet.problems if p.client_id == "c0007" and p.column == "automated_contacts")
    assert (over.file, over.row) == (file, record)
    clash = next(p for p in parquet.problems if p.client_id == "C0030")
    assert (clash.file, clash.row) == ("clients.parquet", 61) and "also on row 31" in clash.message
    ghost = next(p for p in parquet.problems if p.client_id == "ghost")
    assert ghost.file == f"kpis/part-{KPI_FILES - 1}.parquet" and ghost.message == "client_id not in clients (and 1 more rows)"


def test_reading_a_set_of_clients_reads_only_theirs(frames, tmp_path):
    folder = write_parquet(frames, tmp_path / "parquet", row_group_size=24)
    location = parquet_input.open_location(folder)
    ids = parquet_input.client_ids(location)
    assert ids == frames["clients"]["client_id"].tolist()
    whole = parquet_input.read_clients(location, ids)
    part = parquet_input.read_clients(location, ["c0003", "c0040"])
    assert sorted(part.clients) == ["c0003", "c0040"]
    assert all(store.length == 2 * 12 for name, store in part.stores.items() if name == "kpis")  # their rows only
    assert_same_batch(part, whole, ids=["c0003", "c0040"])
    # row groups of 24 rows sorted by client: a client's 12 months sit in at
    # most two of the 4 files' row groups, the rest are skipped unread
    import pyarrow.dataset as ds

    dataset = parquet_input._dataset(location.url, "kpis", location.opened)
    groups = [g for f in dataset.get_fragments() for g in f.split_by_row_group(filter=ds.field("client_id").isin(["c0003"]))]
    assert 1 <= len(groups) <= 2 < sum(f.metadata.num_row_groups for f in dataset.get_fragments())


def test_partitions_keep_case_clashing_ids_together():
    groups = parquet_input.partition_clients(["a1", "b2", "A1", "c3", "d4"], 2)
    assert groups == [["a1", "A1"], ["b2", "c3"], ["d4"]]
    with pytest.raises(ValueError):
        parquet_input.partition_clients(["a"], 0)


def test_hive_partitioned_by_client_id(frames, tmp_path):
    folder = write_parquet(frames, tmp_path / "parquet")
    kpis = pd.concat([pd.read_parquet(p) for p in sorted((folder / "kpis").glob("*.parquet"))], ignore_index=True)
    for child in (folder / "kpis").iterdir():
        child.unlink()
    (folder / "kpis").rmdir()
    pq.write_to_dataset(pa.Table.from_pandas(kpis, preserve_index=False), folder / "kpis", partition_cols=["client_id"])
    batch = parquet_input.read_clients(folder, ["c0005", "c0017"])
    reference = read_batch(write_csv(frames, tmp_path / "csv"))
    assert not batch.problems
    assert_same_batch(batch, reference, ids=["c0005", "c0017"])


def test_read_batch_takes_a_folder_of_parquet_tables(frames, tmp_path):
    """The local reader on Parquet: the same batch as on CSV, fingerprints included."""
    reference = read_batch(write_csv(frames, tmp_path / "csv"))
    batch = read_batch(write_parquet(frames, tmp_path / "parquet"))
    assert not batch.problems and batch.labels["kpis"] == "kpis/"
    assert_same_batch(reference, batch)
    (tmp_path / "parquet" / "costs.csv").write_text("client_id\n")
    with pytest.raises(InputError, match="both costs.csv and costs.parquet exist"):
        read_batch(tmp_path / "parquet")


def test_whole_input_problems(frames, tmp_path):
    folder = write_parquet(frames, tmp_path / "parquet")
    (folder / "costs.parquet").rename(folder / "costs")  # a file named like a folder is still read
    with pytest.raises(InputError, match="not a folder"):
        parquet_input.open_location(tmp_path / "nowhere")
    frames["clients"].drop(columns="go_live").to_parquet(folder / "clients.parquet", index=False)
    with pytest.raises(InputError, match="missing column.*go_live"):
        parquet_input.open_location(folder)
    (folder / "clients.parquet").unlink()
    with pytest.raises(InputError, match="required table missing"):
        parquet_input.open_location(folder)
    (folder / "clients").mkdir()
    frames["clients"].to_parquet(folder / "clients" / "a.parquet", index=False)
    (folder / "clients.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputError, match="keep one"):
        parquet_input.open_location(folder)
    (folder / "clients").rename(tmp_path / "spare")
    with pytest.raises(InputError, match="cannot be read as Parquet"):
        parquet_input.open_location(folder)


def test_padded_ids_are_named_not_lost(frames, tmp_path):
    frames = {name: frame.copy() for name, frame in frames.items()}
    frames["kpis"].loc[5, "client_id"] = " c0000"
    folder = write_parquet(frames, tmp_path / "parquet")
    batch = parquet_input.read_parquet_batch(folder)
    padded = [p for p in batch.problems if "spaces" in p.message]
    assert [(p.client_id, p.file, p.row) for p in padded] == [("c0000", "kpis/part-0.parquet", 6)]
    assert "c0000" not in batch.valid_client_ids()


def test_a_control_character_in_a_parquet_cell_is_named(frames, tmp_path):
    # the same message the CSV reader gives (test_validation_memory.py)
    frames = {name: frame.copy() for name, frame in frames.items()}
    frames["costs"]["category"] = frames["costs"]["category"].astype(object)
    frames["costs"].loc[3, "category"] = "licence\x07"
    client = frames["costs"].loc[3, "client_id"]
    batch = parquet_input.read_parquet_batch(write_parquet(frames, tmp_path / "parquet"))
    found = [p for p in batch.problems if "control character" in p.message]
    assert [(p.client_id, p.file, p.row, p.message) for p in found] == [(client, "costs.parquet", 4, "contains the control character U+0007, which a workbook cannot hold; remove it")]


def test_id_and_control_checks_of_a_chunk():
    cells = pd.Series([" a ", None, "b", "\tc", "d\x01"], dtype=object)
    assert parquet_input._stripped(cells).tolist() == ["a", "", "b", "c", "d\x01"]
    assert parquet_input._has_control_character(cells)  # U+0001
    assert not parquet_input._has_control_character(pd.Series(["a\tb", None, "c\r\nd"], dtype=object))  # tab, CR, LF are allowed
    assert not parquet_input._has_control_character(pd.Series([None, None], dtype=object))
    assert parquet_input._stripped(pd.Series([None, None], dtype=object)).tolist() == ["", ""]


def test_typed_cells_become_what_a_csv_holds():
    column = pa.array([1.5, float("nan"), None, 2.0])
    assert parquet_input._as_text(column).tolist() == ["1.5", None, None, "2"]
    assert parquet_input._as_text(pa.array([dt.date(2024, 3, 1), None])).tolist() == ["2024-03-01", None]
    assert parquet_input._as_text(pa.array(["x", ""])).tolist() == ["x", None]
