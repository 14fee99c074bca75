"""Touchpoint aggregation (touches -> distinct paths with conversions, value,
nulls) from a Parquet dataset: through Dask on a LocalCluster against
pandas reading the same dataset whole, in the same run.

Each route runs in a fresh process so its peak memory is its own. Peak
memory is the largest resident set summed over the process and its
children (the cluster's workers), sampled every 50 ms. Both routes must give
the same paths (checked). The ratio printed is pandas time / Dask time;
the point of the Dask route is the memory column: it stays bounded by the
workers' limits as the log grows, where pandas holds the whole log.

    python benchmarks/bench_dask_attribution.py [TOUCHES] [--workers N]

TOUCHES defaults to 10,000,000 (journeys of 1 to 12 touches over 12 channels).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROWS_PER_FILE = 500_000


def make_dataset(folder: Path, touches: int, seed: int = 3) -> None:
    """Journeys split over several files, rows of a journey not adjacent."""
    rng = np.random.default_rng(seed)
    channels = np.array([f"channel {i:02d}" for i in range(12)], dtype=object)
    popularity = rng.dirichlet(np.full(12, 2.0))
    written, journey_base = 0, 0
    number = 0
    while written < touches:
        n = min(ROWS_PER_FILE, touches - written)
        lengths = np.minimum(rng.geometric(0.3, n // 3 + 1), 12)
        lengths = lengths[np.cumsum(lengths) <= n]
        lengths = np.append(lengths, n - lengths.sum()) if lengths.sum() < n else lengths
        journey = np.repeat(np.arange(len(lengths)) + journey_base, lengths)
        journey_base += len(lengths)
        converted = rng.random(len(lengths)) < 0.05 + 0.03 * lengths
        frame = pd.DataFrame(
            {
                "journey_id": journey,
                "channel": rng.choice(channels, n, p=popularity),
                "timestamp": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 90 * 86400, n), unit="s"),
                "converted": np.repeat(converted, lengths).astype(np.int8),
                "revenue": np.repeat(np.where(converted, np.round(rng.gamma(2.0, 60.0, len(lengths)) * 4) / 4, 0.0), lengths),
            }
        )
        frame.sample(frac=1.0, random_state=number).to_parquet(folder / f"part-{number:04d}.parquet", index=False, row_group_size=100_000)
        written += n
        number += 1


def run_route(route: str, folder: str, workers: int) -> dict:
    """In this (fresh) process: aggregate and report time and the paths' digest."""
    from cxroi_xl.engine import attribution

    started = time.perf_counter()
    if route == "pandas":
        journeys = attribution.journeys_from_touches(pd.read_parquet(folder), value_col="revenue")
        frame = journeys.to_frame().groupby("path").sum()
    else:
        import logging

        from dask.distributed import Client, LocalCluster

        logging.getLogger("distributed.shuffle").setLevel(logging.ERROR)  # start/stop notices of each shuffle

        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit="2GiB", dashboard_address=None) as cluster, Client(cluster):
            started = time.perf_counter()
            frame = attribution.journeys_from_touches(folder, value_col="revenue").to_frame().set_index("path")
    seconds = time.perf_counter() - started
    frame = frame.sort_index()
    return {"seconds": seconds, "paths": len(frame), "conversions": float(frame["conversions"].sum()), "value": float(frame["value"].sum()), "nulls": float(frame["nulls"].sum()), "digest": int(pd.util.hash_pandas_object(frame.reset_index()).sum() % 2**61)}


def measured(route: str, folder: str, workers: int) -> dict:
    import psutil

    process = subprocess.Popen([sys.executable, __file__, "--route", route, folder, "--workers", str(workers)], stdout=subprocess.PIPE, text=True)
    peak = 0
    watched = psutil.Process(process.pid)

    def sample() -> None:
        nonlocal peak
        while process.poll() is None:
            try:
                tree = [watched] + watched.children(recursive=True)
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = process.communicate()
    sampler.join()
    if process.returncode:
        raise SystemExit(f"{route} route failed")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_mb"] = peak / 2**20
    return result


def main() -> None:
    args = sys.argv[1:]
    workers = int(args[args.index("--workers") + 1]) if "--workers" in args else 2
    if "--route" in args:
        route, folder = args[args.index("--route") + 1], args[args.index("--route") + 2]
        print(json.dumps(run_route(route, folder, workers)))
        return
    numbers = [a for a in args if a.isdigit() and (not "--workers" in args or args.index(a) != args.index("--workers") + 1)]
    touches = int(numbers[0]) if numbers else 10_000_000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "touches"
        folder.mkdir()
        started = time.perf_counter()
        make_dataset(folder, touches)
        size = sum(f.stat().st_size for f in folder.iterdir()) / 2**20
        print(f"{touches:,} touches in {len(list(folder.iterdir()))} Parquet files ({size:.0f} MB), made in {time.perf_counter() - started:.0f} s")
        results = {route: measured(route, str(folder), workers) for route in ("pandas", "dask")}
    pandas, dask = results["pandas"], results["dask"]
    for route, r in results.items():
        print(f"{route:6s}: {r['seconds']:7.2f} s, peak memory {r['peak_mb']:7.0f} MB, {r['paths']:,} distinct paths")
    same = all(pandas[k] == dask[k] for k in ("paths", "conversions", "value", "nulls", "digest"))
    print(f"same paths, conversions, values and nulls: {same}")
    print(f"ratio pandas time / dask time ({workers} workers): {pandas['seconds'] / dask['seconds']:.2f}")
    print(f"ratio dask peak memory / pandas peak memory: {dask['peak_mb'] / pandas['peak_mb']:.2f}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
