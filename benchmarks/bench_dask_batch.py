"""Batch generation on a Dask LocalCluster against the local executor, same cores.

From one Parquet dataset of N clients (24 months each, surveys, costs):
* local: ``generate`` with the process pool (``--jobs`` = workers), the
  input read whole in this process by the Parquet reader;
* dask 1 and dask 2 workers: ``generate_on_dask`` on a LocalCluster
  (processes, one thread each); the workers read their own clients.

Prints workbooks per second of each (cluster start-up excluded, stated
apart), the ratio dask(2) / local, the coordinating process's peak memory
growth, and the two figures that project throughput to larger clusters:
the per-workbook cost on one worker and the scheduler's overhead per task
(measured with empty tasks).

    python benchmarks/bench_dask_batch.py [--clients 300] [--mode values|live] [--partition 16] [--repeats 3]
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

from cxroi_xl.batch import run as batch, dask_executor, parquet as parquet_input
from cxroi_xl.workbooks.sample_data import SAMPLE_PROFILES, synthetic_client


def write_dataset(folder: Path, n: int) -> Path:
    """N clients from 24 distinct synthetic ones; kpis and surveys as
    folders of several files, sorted by client as an export would be."""
    kinds = [synthetic_client(seed=k, profile=list(SAMPLE_PROFILES)[k % len(SAMPLE_PROFILES)]) for k in range(24)]
    clients, kpis, costs, surveys = [], [], [], []
    for i in range(n):
        kind, client_id = kinds[i % len(kinds)], f"c{i:06d}"
        clients.append({"client_id": client_id, "client_name": f"Client {i}", "go_live": kind.go_live.date()})
        kpis.append(kind.kpis.assign(client_id=client_id))
        costs.append(kind.costs.assign(client_id=client_id))
        surveys.append(kind.surveys.assign(client_id=client_id))
    folder.mkdir(parents=True)
    pd.DataFrame(clients).to_parquet(folder / "clients.parquet", index=False)
    pd.concat(costs).to_parquet(folder / "costs.parquet", index=False)
    for name, frames in (("kpis", kpis), ("surveys", surveys)):
        (folder / name).mkdir()
        whole = pd.concat(frames, ignore_index=True)
        for number, positions in enumerate(np.array_split(np.arange(len(whole)), 8)):  # pandas 3: not the frame itself
            whole.iloc[positions].to_parquet(folder / name / f"part-{number}.parquet", index=False, row_group_size=10_000)
    return folder


class PeakMemory:
    """Peak resident memory of this process above its level at start."""

    def __enter__(self):
        self.me = psutil.Process()
        self.start = self.peak = self.me.memory_info().rss
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, self.me.memory_info().rss)
            time.sleep(0.05)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()
        self.growth_mb = (self.peak - self.start) / 2**20


def per_task_overhead(client, tasks: int = 2000) -> float:
    """Seconds of scheduling per task: empty tasks submitted and gathered."""
    started = time.perf_counter()
    futures = client.map(lambda i: i, range(tasks), pure=False)
    client.gather(futures)
    return (time.perf_counter() - started) / tasks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--mode", default="values")
    parser.add_argument("--partition", type=int, default=dask_executor.DEFAULT_PARTITION_SIZE)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs of local and dask(2); the median is printed")
    args = parser.parse_args()
    build = dask_executor.TemplateBuild(mode=args.mode)
    with tempfile.TemporaryDirectory() as tmp:
        data = write_dataset(Path(tmp) / "data", args.clients)
        rates: dict[str, list[float]] = {}
        memory: dict[str, float] = {}

        def timed(name: str, work) -> None:
            out = Path(tmp) / "out"
            with PeakMemory() as peak:
                started = time.perf_counter()
                built = work(out)
                seconds = time.perf_counter() - started
            rates.setdefault(name, []).append(built / seconds)
            memory[name] = max(memory.get(name, 0.0), peak.growth_mb)
            shutil.rmtree(out)  # every run builds every client

        def local(out: Path) -> int:
            return len(batch.generate(None, out, mode=args.mode, jobs=2, batch=parquet_input.read_parquet_batch(data)).built)

        def on(client):
            def dask(out: Path) -> int:
                run, _ = dask_executor.generate_on_dask(data, out, build, client=client, partition_size=args.partition)
                assert not run.failed, run.problems[:3]
                return len(run.built)

            return dask

        overhead = {}
        with dask_executor.cluster_client(None, n_workers=1, memory_limit="2GiB") as client:
            client.wait_for_workers(1)
            timed("dask, 1 worker(s)", on(client))
        start_up = time.perf_counter()
        with dask_executor.cluster_client(None, n_workers=2, memory_limit="2GiB") as client:
            client.wait_for_workers(2)
            print(f"cluster of 2 started in {time.perf_counter() - start_up:.1f} s (not counted)")
            overhead[2] = per_task_overhead(client)
            for _ in range(args.repeats):  # interleaved, so a busy spell hits both routes
                timed("local (2 processes)", local)
                timed("dask, 2 worker(s)", on(client))
    median = {name: float(np.median(values)) for name, values in rates.items()}
    print(f"{args.clients} clients, mode {args.mode}, {args.partition} clients per task, median of {args.repeats} interleaved runs (dask 1 worker: one run)")
    for name, rate in median.items():
        print(f"{name:22s} {rate:6.2f} workbooks/s   coordinating process grew {memory[name]:6.0f} MB at most")
    print(f"per-workbook cost on one worker: {1 / median['dask, 1 worker(s)']:.3f} s")
    print(f"scheduler overhead per task: {overhead[2] * 1000:.2f} ms (empty tasks; {overhead[2] / args.partition * 1000:.3f} ms per workbook)")
    print(f"ratio dask(2 workers) / local(2 processes) workbooks per second: {median['dask, 2 worker(s)'] / median['local (2 processes)']:.2f}")
    print(f"ratio dask 2 workers / 1 worker: {median['dask, 2 worker(s)'] / median['dask, 1 worker(s)']:.2f}")


if __name__ == "__main__":
    main()
