"""`cxroi-xl generate` start-up: the processor time a run spends before it
reads its input (interpreter start, then every import the command makes on
its way to the first read), against floors measured in the same run.

Each measurement is a child process, its processor time (user + system)
taken from the operating system when it ends (``os.wait4``):
* ``python -c pass``: the interpreter alone;
* ``python -c "import numpy, pandas"``: the floor of any run that reads a
  table (pandas 3 also imports pyarrow when it is installed);
* ``cxroi-xl generate DATA --out OUT``, stopped at its first read of DATA:
  an audit hook ends the child at the first file it opens (or folder it
  lists) inside DATA, so nothing is read or written.
The three are run in interleaved rounds and the medians compared. The
heavy libraries loaded by then are listed, and the slowest imports of one
`-X importtime` run (wall time, cumulative) point at what to make lazy.

    python benchmarks/bench_startup.py [--rounds 7] [--data DATA_DIR]

Target: under 1 s of processor time before the input is read. POSIX only
(``os.wait4``).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "sample_clients"
REACHED_INPUT = 97  # the exit code of a child stopped at its first read
# Libraries a generate run should load only when a client or an option needs them.
HEAVY = ("scipy.stats", "scipy.signal", "scipy.special", "scipy.optimize", "scipy.sparse", "statsmodels", "dask", "distributed", "openpyxl", "pyarrow")

# Runs the real command line; the audit hook sees every open and directory
# listing, and the first inside DATA ends the process before it reads a byte.
GENERATE_UNTIL_INPUT = """
import os, sys
data = sys.argv[1]
inside = data.rstrip(os.sep) + os.sep
heavy = {heavy!r}

def stop_at_input(event, args):
    if event not in ("open", "os.listdir", "os.scandir") or not args or not isinstance(args[0], (str, os.PathLike)):
        return
    path = os.fspath(args[0])
    if path == data or path.startswith(inside):
        loaded = [name for name in heavy if name in sys.modules]
        os.write(1, (", ".join(loaded) or "none of them").encode())
        os._exit({code})

sys.addaudithook(stop_at_input)
from cxroi_xl.command import main
sys.argv = ["cxroi-xl", "generate", data, "--out", sys.argv[2], "--jobs", "1"]
main()
""".format(heavy=HEAVY, code=REACHED_INPUT)


def processor_time(argv: list[str], expect: int = 0) -> tuple[float, str]:
    """User + system time of one child process and its output."""
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = child.stdout.read(), child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != expect:
        raise SystemExit(f"{argv[:3]} exited {child.returncode}, expected {expect}:\n{err.decode(errors='replace')[-2000:]}")
    return usage.ru_utime + usage.ru_stime, out.decode()


def slowest_imports(data: Path, out: Path, count: int = 5) -> list[tuple[float, str]]:
    """The ``count`` slowest top-level imports of one run (cumulative wall
    time from ``-X importtime``, seconds), the package's own modules left out."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", GENERATE_UNTIL_INPUT, str(data), str(out)], capture_output=True, text=True)
    if done.returncode != REACHED_INPUT:
        raise SystemExit(f"generate did not reach its input:\n{done.stderr[-2000:]}")
    entries = []  # (depth, name, cumulative seconds); a module's imports are listed before it
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            _, cumulative, name = line[len("import time:"):].split("|")
            entries.append((len(name) - len(name.lstrip(" ")), name.strip(), int(cumulative) / 1e6))
    found = []
    for i, (depth, name, seconds) in enumerate(entries):
        importer = next((other for d, other, _ in entries[i + 1 :] if d < depth), None)
        # a library the package (or the command's own code) imports itself
        if not name.startswith(("cxroi_xl", "encodings", "site")) and (importer is None or importer.startswith("cxroi_xl")):
            found.append((seconds, name))
    found.sort(reverse=True)
    return found[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--data", type=Path, default=SAMPLE, help="a data folder (default: the bundled sample clients)")
    args = parser.parse_args()
    data = args.data.resolve()
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "out"
        runs = {
            "python -c pass": ([sys.executable, "-c", "pass"], 0),
            "import numpy, pandas": ([sys.executable, "-c", "import numpy, pandas"], 0),
            "generate until its input": ([sys.executable, "-c", GENERATE_UNTIL_INPUT, str(data), str(out)], REACHED_INPUT),
        }
        times: dict[str, list[float]] = {name: [] for name in runs}
        loaded = ""
        for _ in range(args.rounds):  # interleaved: a burst of other work hits all three alike
            for name, (argv, expect) in runs.items():
                seconds, output = processor_time(argv, expect)
                times[name].append(seconds)
                loaded = output.strip() or loaded
        slowest = slowest_imports(data, out)
        if out.exists():
            raise SystemExit(f"generate wrote {out} before reading its input")
    median = {name: statistics.median(t) for name, t in times.items()}
    interpreter, floor, generate = median["python -c pass"], median["import numpy, pandas"], median["generate until its input"]
    print(f"processor time before the first read of the input (user + system, median of {args.rounds} interleaved rounds)")
    for name, seconds in median.items():
        print(f"  {name:26} {seconds:6.3f} s")
    print(f"  generate's imports beyond numpy and pandas: {generate - floor:.3f} s; ratio to the numpy + pandas floor {generate / floor:.2f}x")
    print(f"  target: under 1 s -> {generate:.3f} s ({'met' if generate < 1.0 else 'not met'})")
    print(f"  heavy libraries loaded by then: {loaded}")
    print("  slowest imports of one run (-X importtime, wall, cumulative): " + ", ".join(f"{name} {seconds:.3f} s" for seconds, name in slowest))


if __name__ == "__main__":
    main()
