"""Touchpoint aggregation through Dask equals the in-memory pandas route.

Oracle: ``journeys_from_touches`` on the whole log in pandas (itself checked
against hand-built journeys in test_attribution.py), with equal paths merged
by a pandas group-by. Values are multiples of 0.25 and counts whole numbers,
so every sum is exact in binary floating point and the comparison is exact
(no tolerance); attribution results on both are compared to 1e-10 relative (the Markov
solve sums transition counts in another order).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dask.dataframe as dd  # the [dask] extra is part of the test install: missing fails, never skips
import pyarrow  # noqa: F401

import dask  # noqa: E402

from cxroi_xl.engine import attribution  # noqa: E402
from cxroi_xl.errors import InvalidInputError  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    # the test machine's cores are shared: no thread pool for these small frames
    with dask.config.set(scheduler="synchronous"):
        yield


def touch_log(n_journeys: int = 3000, seed: int = 7) -> pd.DataFrame:
    """Journeys of 1-6 touches over 6 channels, rows shuffled, times with ties
    (whole days from a small range), conversions and value repeated on every
    row of some journeys and on one row only of others, some blanks."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 7, n_journeys)
    journey = np.repeat(np.arange(n_journeys) * 13 + 5, lengths)
    n = journey.size
    channels = np.array(["search", "email", "chat", "Social", " display", "referral"], dtype=object)
    converted_journey = rng.random(n_journeys) < 0.3
    value_journey = np.where(converted_journey, rng.integers(1, 400, n_journeys) * 0.25, 0.0)
    per_row = np.repeat(np.arange(n_journeys), lengths)
    # every journey states its conversion on its first row at least, so a
    # journey's value never sits on a journey counted as not converted
    on_every_row = (rng.random(n) < 0.5) | (np.arange(n) == np.repeat(np.cumsum(lengths) - lengths, lengths))
    log = pd.DataFrame(
        {
            "journey_id": journey,
            "channel": channels[rng.integers(0, len(channels), n)],
            "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 4, n), unit="D"),
            "converted": np.where(on_every_row | (rng.random(n) < 0.5), converted_journey[per_row].astype(float), np.nan),
            "revenue": np.where(on_every_row, value_journey[per_row], np.where(rng.random(n) < 0.5, value_journey[per_row], 0.0)),
        }
    )
    return log.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def pandas_paths(log: pd.DataFrame, **columns) -> pd.DataFrame:
    frame = attribution.journeys_from_touches(log, **columns).to_frame()
    return frame.groupby("path").sum().sort_index()


def dask_paths(touches, **columns) -> pd.DataFrame:
    return attribution.journeys_from_touches(touches, **columns).to_frame().set_index("path").sort_index()


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return touch_log()


def test_parquet_dataset_of_several_files_equals_pandas(log, tmp_path):
    folder = tmp_path / "touches"
    folder.mkdir()
    # journeys straddle the files: the shuffle has to bring them together
    # positions, not the frame: under pandas 3 array_split of a DataFrame gives ndarrays
    for number, positions in enumerate(np.array_split(np.arange(len(log)), 4)):
        log.iloc[positions].to_parquet(folder / f"part-{number}.parquet", index=False)
    expected = pandas_paths(log, value_col="revenue")
    got = dask_paths(folder, value_col="revenue")
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert len(got) < log["journey_id"].nunique()  # journeys really were merged into distinct paths
    # the models run on the aggregated paths as on the in-memory journeys
    in_memory = attribution.journeys_from_touches(log, value_col="revenue")
    aggregated = attribution.journeys_from_touches(str(folder), value_col="revenue")
    for model in ("linear", "position", "markov", "shapley"):
        a = attribution.attribute(in_memory, model)
        b = attribution.attribute(aggregated, model)
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-10)


def test_dask_dataframe_equals_pandas(log):
    expected = pandas_paths(log, value_col="revenue")
    pd.testing.assert_frame_equal(dask_paths(dd.from_pandas(log, npartitions=5), value_col="revenue"), expected, check_exact=True)
    # row order breaks ties of equal times, as the stable sort does in memory
    no_time = {"time_col": None, "value_col": None}
    pd.testing.assert_frame_equal(dask_paths(dd.from_pandas(log, npartitions=3), **no_time), pandas_paths(log, **no_time), check_exact=True)


def test_docstring_example():
    log = pd.DataFrame(
        {
            "journey_id": [7, 7, 8, 7, 9],
            "channel": ["email", "chat", "search", "search", "search"],
            "timestamp": pd.to_datetime(["2024-01-02", "2024-01-05", "2024-01-01", "2024-01-01", "2024-01-03"]),
            "converted": [0, 1, 0, 0, 1],
        }
    )
    frame = attribution.aggregate_touches_dask(dd.from_pandas(log, npartitions=2)).to_frame()
    assert frame["path"].tolist() == ["search", "search > email > chat"]
    assert frame["conversions"].tolist() == [1.0, 1.0]
    assert frame["nulls"].tolist() == [1.0, 0.0]


def test_bad_touches_are_refused(log):
    with pytest.raises(InvalidInputError, match="no column named 'revenue'"):
        attribution.journeys_from_touches(dd.from_pandas(log.drop(columns="revenue"), npartitions=2), value_col="revenue")
    bad = log.copy()
    bad.loc[3, "converted"] = -1
    with pytest.raises(InvalidInputError, match="negative"):
        attribution.journeys_from_touches(dd.from_pandas(bad, npartitions=2))
    bad = log.copy()
    bad.loc[5, "channel"] = "a > b"
    with pytest.raises(InvalidInputError, match="separator"):
        attribution.journeys_from_touches(dd.from_pandas(bad, npartitions=2))
    with pytest.raises(InvalidInputError, match="pandas or Dask"):
        attribution.journeys_from_touches([1, 2, 3])
