"""`cxroi-xl generate` on a mixed portfolio: every client its own shape.

A real consultant's clients went live at different times and differ in
months tracked, currency and optional tables; the portfolio is
:mod:`mixed_portfolio` (seeded: 9-36 tracked and 12-24 baseline months,
6 currencies with an fx.csv, about half with leads and won, about half with
proxies, one in five without surveys).

Speed, measured in the same run, interleaved round by round (medians
reported), processor time of the whole process tree and wall time, each
per workbook:
* naive: the openpyxl loop of ``bench_batch.py`` (load the shipped
  template, fill the client's rows into Baseline, Post-automation, Costs
  and Surveys, save), in this process, on a sample of the clients; its
  imports and the reading of the input are not counted, nor does it fill
  leads, proxies or the currency: a baseline in its own favour;
* floor: copying the shipped template once per client (``shutil.copyfile``):
  what writing that many files of that size costs at the least;
* cxroi-xl: the command line, ``cxroi-xl generate DATA --out OUT --mode
  values|live --jobs 1|2 --force``, as a child process: its start-up
  (imports), reading the input and the portfolio summary are counted, the
  pool's workers too (the operating system's account of the child and its
  waited-for descendants).
Printed: workbooks per second, processor ms per workbook, the ratio to the
naive loop (higher is better; target for values --jobs 1: 10x, stretch 20x)
and to the floor (how many copies of the template one workbook costs).

Memory: peak of all processes of `cxroi-xl generate --jobs 2` (parent and
pool workers summed, PSS and RSS, sampled from /proc as
``bench_batch_memory.py`` does) at two portfolio sizes, and their ratio
(target: at most 1.2).

    python benchmarks/bench_mixed_portfolio.py [--clients 500] [--memory-clients 500 5000] [--rounds 3] [--naive-sample 50] [--seed 0]
    python benchmarks/bench_mixed_portfolio.py --quick   # a few minutes: 60 clients timed, memory at 100 and 1000

Linux only (/proc for the memory, resource for the processor time).
"""
from __future__ import annotations

import argparse
import collections
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_batch import TEMPLATE, naive_build
from bench_batch_memory import peak_of_run
from mixed_portfolio import mixed_client, shape_of, write_mixed_portfolio

from cxroi_xl.batch.read import read_batch


def _children_cpu() -> float:
    """Processor time of the finished, waited-for child processes (and
    their own waited-for descendants) of this process."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _generate(data: Path, out: Path, mode: str, jobs: int) -> tuple[float, float]:
    """(wall seconds, processor seconds) of one `cxroi-xl generate` run."""
    command = [sys.executable, "-m", "cxroi_xl.cli", "generate", str(data), "--out", str(out), "--mode", mode, "--jobs", str(jobs), "--force"]
    start, start_cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall, cpu = time.perf_counter() - start, _children_cpu() - start_cpu
    if done.returncode != 0:
        raise SystemExit(f"generate failed ({done.returncode}): {done.stderr[-2000:]}")
    return wall, cpu


def speed(work: Path, n: int, rounds: int, naive_sample: int, seed: int) -> None:
    data = write_mixed_portfolio(work / "data", n, seed)
    shapes = collections.Counter(shape_of(mixed_client(i, seed)) for i in range(n))
    batch = read_batch(data)
    try:
        ids = batch.valid_client_ids()
        assert len(ids) == n, batch.problems[:3]
        sample = ids[:: max(1, n // naive_sample)][:naive_sample]
        sample_inputs = [batch.tracker_input(client_id) for client_id in sample]
    finally:
        batch.close()
    print(
        f"{n} mixed clients: {len(shapes)} distinct shapes (currency, tracked months, horizon, leads, proxies, surveys), "
        f"{sum(1 for c in shapes.values() if c == 1)} seen once; template {TEMPLATE.stat().st_size / 1024:.0f} KiB; {rounds} interleaved rounds",
        flush=True,
    )
    runs = [("values", 1), ("live", 1), ("values", 2), ("live", 2)]
    labels = ["naive", "floor"] + [f"{mode} --jobs {jobs}" for mode, jobs in runs]
    walls: dict[str, list[float]] = {label: [] for label in labels}  # seconds per workbook
    cpus: dict[str, list[float]] = {label: [] for label in labels}
    for _ in range(rounds):
        out = work / "naive"
        out.mkdir(exist_ok=True)
        start, start_cpu = time.perf_counter(), _own_cpu()
        for data_input in sample_inputs:
            naive_build(data_input, out / f"{data_input.client_id}.xlsx")
        walls["naive"].append((time.perf_counter() - start) / len(sample_inputs))
        cpus["naive"].append((_own_cpu() - start_cpu) / len(sample_inputs))
        shutil.rmtree(out)

        out = work / "floor"
        out.mkdir()
        start, start_cpu = time.perf_counter(), _own_cpu()
        for client_id in ids:
            shutil.copyfile(TEMPLATE, out / f"{client_id}.xlsx")
        walls["floor"].append((time.perf_counter() - start) / n)
        cpus["floor"].append((_own_cpu() - start_cpu) / n)
        shutil.rmtree(out)

        for mode, jobs in runs:
            label = f"{mode} --jobs {jobs}"
            out = work / f"out-{mode}-{jobs}"
            wall, cpu = _generate(data, out, mode, jobs)
            walls[label].append(wall / n)
            cpus[label].append(cpu / n)
            shutil.rmtree(out)
    wall = {label: statistics.median(values) for label, values in walls.items()}
    cpu = {label: statistics.median(values) for label, values in cpus.items()}
    print(f"{'':<34}{'workbooks/s':>12}{'ms CPU/wb':>11}{'CPU vs naive':>14}{'wall vs naive':>15}{'CPU / floor':>13}")
    for label in labels:
        name = {"naive": f"naive openpyxl loop ({len(sample_inputs)}/round)", "floor": "file-copy floor"}.get(label, f"generate --mode {label}")
        print(
            f"{name:<34}{1 / wall[label]:12.1f}{1000 * cpu[label]:11.2f}{cpu['naive'] / cpu[label]:13.2f}x"
            f"{wall['naive'] / wall[label]:14.2f}x{cpu[label] / cpu['floor']:12.0f}x",
            flush=True,
        )
    shutil.rmtree(data, ignore_errors=True)


def memory(work: Path, sizes: list[int], seed: int, jobs: int, mode: str) -> None:
    peaks = {}
    for n in sizes:
        data = write_mixed_portfolio(work / f"data{n}", n, seed)
        size = sum(p.stat().st_size for p in data.iterdir()) / 2**20
        command = [sys.executable, "-m", "cxroi_xl.cli", "generate", str(data), "--out", str(work / f"out{n}"), "--jobs", str(jobs), "--mode", mode]
        pss, rss, seconds, processes = peak_of_run(command)
        peaks[n] = (pss, rss)
        print(f"memory, {n:>5} mixed clients ({size:5.0f} MiB of CSV), generate --mode {mode} --jobs {jobs}: peak PSS {pss:6.0f} MiB, peak RSS {rss:6.0f} MiB, summed over up to {processes} processes, {seconds:5.0f} s", flush=True)
        shutil.rmtree(work / f"out{n}", ignore_errors=True)
        shutil.rmtree(data, ignore_errors=True)
    small, large = sizes
    print(f"memory ratio {large} / {small} clients: PSS {peaks[large][0] / peaks[small][0]:.2f}, RSS {peaks[large][1] / peaks[small][1]:.2f} (target: at most 1.20)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, help="clients of the timed portfolio (default 500; --quick 60)")
    parser.add_argument("--memory-clients", type=int, nargs=2, help="the two portfolio sizes whose peak memory is compared (default 500 5000; --quick 100 1000)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are reported")
    parser.add_argument("--naive-sample", type=int, help="clients the naive loop builds a round (default 50; --quick 15)")
    parser.add_argument("--seed", type=int, default=0, help="the portfolio's seed")
    parser.add_argument("--memory-jobs", type=int, default=2)
    parser.add_argument("--memory-mode", default="values")
    parser.add_argument("--quick", action="store_true", help="small sizes: runs in a few minutes on two cores")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    clients = args.clients or (60 if args.quick else 500)
    sizes = args.memory_clients or ([100, 1000] if args.quick else [500, 5000])
    naive_sample = min(args.naive_sample or (15 if args.quick else 50), clients)
    if not args.skip_memory and not os.path.exists("/proc/self/smaps_rollup"):
        raise SystemExit("the memory part needs Linux /proc (or pass --skip-memory)")
    work = Path(tempfile.mkdtemp(prefix="cxroi-bench-mixed-"))
    try:
        if not args.skip_speed:
            speed(work, clients, args.rounds, naive_sample, args.seed)
        if not args.skip_memory:
            memory(work, sizes, args.seed, args.memory_jobs, args.memory_mode)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
