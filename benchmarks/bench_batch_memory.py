"""Peak memory of `cxroi-xl generate`, all processes summed, at two batch sizes.

The target (flat memory): the peak at 10,000 clients is within 20% of the
peak at 1,000 clients, because the input is read in chunks into an on-disk
store and each worker gets one client's rows at a time.

Each size runs `generate` as a child process tree (parent + worker pool);
a sampler reads /proc every 50 ms and sums, over the parent and all its
descendants, the proportional set size (PSS: shared library pages divided
among the processes sharing them) and the resident set size (RSS: shared
pages counted once per process). Both peaks are printed with their ratio.

The data: 24 months per client and 40 survey answers a month, as the
bundled sample generator makes them (960 survey rows per client, so 9.6
million at 10,000 clients); 50 distinct synthetic clients are repeated under
new ids to write large inputs quickly.

    python benchmarks/bench_batch_memory.py [--clients 1000 10000] [--jobs 2] [--mode values] [--surveys-per-month 40]

Linux only (/proc).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd

from cxroi_xl.workbooks.sample_data import SAMPLE_PROFILES, synthetic_client

DISTINCT = 50


def write_clients(folder: Path, n: int, surveys_per_month: int = 40) -> Path:
    profiles = list(SAMPLE_PROFILES)
    base = [synthetic_client(seed=i, profile=profiles[i % len(profiles)], client_id=f"s{i}", surveys_per_month=surveys_per_month) for i in range(DISTINCT)]
    folder.mkdir(parents=True, exist_ok=True)
    ids = [f"c{i:05d}" for i in range(n)]
    pd.DataFrame(
        {"client_id": ids, "client_name": [f"Client {i}" for i in range(n)], "go_live": [base[i % DISTINCT].go_live.strftime("%Y-%m-%d") for i in range(n)]}
    ).to_csv(folder / "clients.csv", index=False)
    for table in ("kpis", "costs", "surveys"):
        path = folder / f"{table}.csv"
        header = True
        for start in range(0, n, 500):  # written in blocks: the writer must not be what runs out of memory
            frames = [getattr(base[i % DISTINCT], table).assign(client_id=ids[i]) for i in range(start, min(n, start + 500))]
            block = pd.concat(frames)
            block = block[["client_id"] + [c for c in block.columns if c != "client_id"]]
            if "month" in block:
                block["month"] = pd.to_datetime(block["month"]).dt.strftime("%Y-%m")
            for column in ("date",):
                if column in block:
                    block[column] = pd.to_datetime(block[column]).dt.strftime("%Y-%m-%d")
            block.to_csv(path, mode="w" if header else "a", header=header, index=False)
            header = False
    return folder


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _memory_kib(pid: int) -> tuple[int, int]:
    pss = rss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1])
    except OSError:
        pass
    return pss, rss


def peak_of_run(command: list[str]) -> tuple[float, float, float, int]:
    """(peak PSS MiB, peak RSS MiB, seconds, most processes seen) of a command's process tree."""
    peak = [0, 0, 0]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            pids = _tree(process.pid)
            totals = [sum(values) for values in zip(*(_memory_kib(pid) for pid in pids))] or [0, 0]
            peak[0] = max(peak[0], totals[0])
            peak[1] = max(peak[1], totals[1])
            peak[2] = max(peak[2], len(pids))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        _, stderr = process.communicate()
    finally:
        if process.poll() is None:  # interrupted: its workers follow it
            process.kill()
            process.wait()
        done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"generate failed ({process.returncode}): {stderr[-2000:]}")
    return peak[0] / 1024, peak[1] / 1024, time.perf_counter() - started, peak[2]


def main() -> None:
    if not os.path.exists("/proc/self/smaps_rollup"):
        raise SystemExit("needs Linux /proc")
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, nargs=2, default=[1000, 10000])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--mode", default="values")
    parser.add_argument("--surveys-per-month", type=int, default=40, help="survey answers per client and month (fewer = faster workbooks, smaller input)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cxroi-bench-memory-"))
    try:
        peaks = {}
        for n in args.clients:
            data = write_clients(work / f"data{n}", n, args.surveys_per_month)
            size = sum(p.stat().st_size for p in data.iterdir()) / 2**20
            command = [sys.executable, "-m", "cxroi_xl.cli", "generate", str(data), "--out", str(work / f"out{n}"), "--jobs", str(args.jobs), "--mode", args.mode]
            pss, rss, seconds, processes = peak_of_run(command)
            peaks[n] = (pss, rss)
            print(f"{n:>6} clients ({size:6.0f} MiB of CSV): peak PSS {pss:7.0f} MiB, peak RSS {rss:7.0f} MiB, summed over up to {processes} processes, {seconds:6.0f} s", flush=True)
            shutil.rmtree(work / f"out{n}", ignore_errors=True)
            shutil.rmtree(data, ignore_errors=True)
        small, large = args.clients
        print(f"ratio {large} / {small} clients: PSS {peaks[large][0] / peaks[small][0]:.2f}, RSS {peaks[large][1] / peaks[small][1]:.2f} (target: at most 1.20)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
