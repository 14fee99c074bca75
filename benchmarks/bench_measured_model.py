"""What the measured ROI model costs `generate`: throughput now against a
baseline revision of this repository, measured in the same run.

The portfolio: the 25 bundled sample clients, each copied under new ids to
200 clients of mixed shapes (6-36 baseline and 3-24 tracked months, six
currencies, with and without leads and proxies). Both versions build it with
`cxroi-xl generate --mode values --jobs 1` into fresh folders; rounds are
interleaved and the medians compared. The baseline runs from a temporary git
worktree of ``--baseline`` (default: the commit before the measured model).

    python benchmarks/bench_measured_model.py [--clients 200] [--rounds 3] [--baseline REV]

Prints workbooks per second of each and the ratio (target: the current
version keeps at least 85% of the baseline's throughput).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "sample_clients"


def portfolio(out: Path, clients: int) -> Path:
    """The sample clients copied under new ids until there are ``clients``."""
    out.mkdir(parents=True)
    frames = {f.stem: pd.read_csv(f, dtype=str, keep_default_na=False) for f in SAMPLE.glob("*.csv")}
    ids = frames["clients"]["client_id"].tolist()
    copies = -(-clients // len(ids))
    for name, frame in frames.items():
        if "client_id" not in frame.columns:
            frame.to_csv(out / f"{name}.csv", index=False)
            continue
        parts = [frame.assign(client_id=frame["client_id"] + f"-{k}") for k in range(copies)]
        whole = pd.concat(parts, ignore_index=True)
        if name == "clients":
            whole = whole.iloc[:clients]
        whole.to_csv(out / f"{name}.csv", index=False)
    return out


def run(python_path: Path, data: Path, out: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(python_path)}
    code = "import sys; from cxroi_xl.command import main; sys.argv = ['cxroi-xl'] + sys.argv[1:]; main()"
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, "generate", str(data), "--out", str(out), "--mode", "values", "--jobs", "1"], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"generate failed ({python_path}):\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", default="139a558", help="git revision to compare with")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        baseline = scratch / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(baseline), args.baseline], check=True, capture_output=True)
        try:
            data = portfolio(scratch / "data", args.clients)
            times: dict[str, list[float]] = {"baseline": [], "current": []}
            for k in range(args.rounds):
                for name, path in (("baseline", baseline), ("current", ROOT)):
                    out = scratch / f"out-{name}-{k}"
                    times[name].append(run(path, data, out))
                    shutil.rmtree(out, ignore_errors=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)], capture_output=True)
    rate = {name: args.clients / statistics.median(t) for name, t in times.items()}
    print(f"{args.clients} mixed clients, --mode values --jobs 1, median of {args.rounds} interleaved rounds")
    for name in ("baseline", "current"):
        print(f"  {name:9} {rate[name]:6.2f} workbooks/s  ({', '.join(f'{t:.1f}' for t in times[name])} s)")
    print(f"  throughput kept: {rate['current'] / rate['baseline']:.2f} (target >= 0.85)")


if __name__ == "__main__":
    main()
