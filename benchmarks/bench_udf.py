"""UDF latency: one cell call through xlwings' dispatcher, as Excel feels it.

CXROI on 24 periods (cheap) and CXNPS on 500 answers (range-heavy) go
through ``xlwings.server.custom_functions_call`` (the Office.js / Lite /
Server path: argument conversion, decorator checks, result conversion),
against trivial UDFs with the same argument shapes that return 0, measured
in the same run as medians of interleaved runs. The ratio says what our
Excel layer and engine add on top of xlwings' own cost per call.

Also measured, because xlwings dominates: xlwings 0.37.x probes for Pyodide
with an ``import pyodide`` for every cell it reads (``xlwings.utils.is_jsnull``)
and every argument (``js_to_none``). Outside Pyodide (xlwings Server, these
tests) the import fails each time and costs a search of ``sys.path``; inside
xlwings Lite the module is there and the probe is cheap. Probes are counted
with a profiler hook, not by patching xlwings.
"""
from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import types
from pathlib import Path

os.environ["XLWINGS_ON_SERVER"] = "true"
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")  # xlwings' dispatcher outside Pyodide; for measuring only

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "udfs")]

import numpy as np  # noqa: E402
import xlwings as xw  # noqa: E402
import xlwings.server  # noqa: E402
from xlwings import utils as xlwings_utils  # noqa: E402
from xlwings.pro import udfs_officejs  # noqa: E402

import cxroi_udfs  # noqa: E402
from cxroi_xl.excel import call  # noqa: E402

ROUNDS = 15
CALLS_PER_ROUND = 5


def _trivial_module() -> types.ModuleType:
    """UDFs with CXROI's and CXNPS's argument declarations that do nothing."""
    module = types.ModuleType("trivial_udfs")

    @xw.func
    @xw.arg("benefits", ndim=2, err_to_str=True)
    @xw.arg("costs", ndim=2, err_to_str=True)
    @xw.arg("discount_rate", ndim=2, err_to_str=True)
    @xw.arg("benefit_risk", ndim=2, err_to_str=True)
    @xw.arg("cost_risk", ndim=2, err_to_str=True)
    def TRIVIALROI(benefits, costs, discount_rate=None, benefit_risk=None, cost_risk=None):  # noqa: N802 - Excel name
        return 0.0

    @xw.func
    @xw.arg("scores", ndim=2, err_to_str=True)
    def TRIVIALNPS(scores):  # noqa: N802 - Excel name
        return 0.0

    module.TRIVIALROI, module.TRIVIALNPS = TRIVIALROI, TRIVIALNPS
    return module


def _payload(name: str, args: list) -> dict:
    return {
        "func_name": name, "args": args, "caller_address": "Sheet1!A1", "formula_name": name, "version": xw.__version__,
        "client": "Office.js", "runtime": "1.4", "culture_info_name": "en-US", "date_format": "yyyy-mm-dd",
    }


def _dispatch(module, payload) -> object:
    return asyncio.run(xlwings.server.custom_functions_call(payload, module))


def interleaved_medians(cases: dict, rounds: int = ROUNDS, calls: int = CALLS_PER_ROUND) -> dict:
    """Median seconds per call of each case, the cases taking turns every round."""
    times: dict = {name: [] for name in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            times[name].append((time.perf_counter() - start) / calls)
    return {name: statistics.median(values) for name, values in times.items()}


def probes_per_call(module, payload) -> int:
    """How often one dispatch runs xlwings' pyodide probes (is_jsnull per
    cell, js_to_none per argument)."""
    count = 0
    targets = {xlwings_utils.is_jsnull.__code__, udfs_officejs.js_to_none.__code__}

    def profiler(frame, event, arg):
        nonlocal count
        if event == "call" and frame.f_code in targets:
            count += 1

    sys.setprofile(profiler)
    try:
        _dispatch(module, payload)
    finally:
        sys.setprofile(None)
    return count


def main() -> None:
    rng = np.random.default_rng(7)
    benefits = [[float(v)] for v in rng.uniform(0, 1000, 24)]
    costs = [[float(v)] for v in rng.uniform(0, 800, 24)]
    scores = [[float(v)] for v in rng.integers(0, 11, 500)]
    roi_args = [benefits, costs, [[0.008]], [[0.1]], [[0.05]]]
    trivial = _trivial_module()
    roi, roi_trivial = _payload("CXROI", roi_args), _payload("TRIVIALROI", roi_args)
    nps, nps_trivial = _payload("CXNPS", [scores]), _payload("TRIVIALNPS", [scores])
    one_cell = _payload("TRIVIALNPS", [[[5.0]]])
    # the answers are real, not errors
    assert isinstance(_dispatch(cxroi_udfs, roi)[0][0], float) and isinstance(_dispatch(cxroi_udfs, nps)[0][0], float)

    def probe():
        xlwings_utils.is_jsnull(1.0)

    medians = interleaved_medians({
        "CXROI via dispatcher": lambda: _dispatch(cxroi_udfs, roi),
        "trivial (CXROI's arguments)": lambda: _dispatch(trivial, roi_trivial),
        "CXROI, our layer only": lambda: call("CXROI", *roi_args),
        "CXNPS via dispatcher": lambda: _dispatch(cxroi_udfs, nps),
        "trivial (CXNPS's argument)": lambda: _dispatch(trivial, nps_trivial),
        "trivial (one cell)": lambda: _dispatch(trivial, one_cell),
        "CXNPS, our layer only": lambda: call("CXNPS", scores),
        "one pyodide probe": probe,
    })
    for name, seconds in medians.items():
        print(f"{name:<30} {seconds * 1e6:10.1f} us per call")
    probes_roi, probes_nps = probes_per_call(cxroi_udfs, roi), probes_per_call(cxroi_udfs, nps)
    probe_us = medians["one pyodide probe"] * 1e6
    print()
    for label, ours, trivial_name, layer, probes in (
        ("CXROI (24 periods)", "CXROI via dispatcher", "trivial (CXROI's arguments)", "CXROI, our layer only", probes_roi),
        ("CXNPS (500 answers)", "CXNPS via dispatcher", "trivial (CXNPS's argument)", "CXNPS, our layer only", probes_nps),
    ):
        total = medians[ours]
        print(
            f"{label}: {medians[ours] / medians[trivial_name]:.2f}x a trivial UDF with the same arguments; "
            f"our layer + engine {medians[layer] / total:.0%} of the call; "
            f"xlwings' pyodide probe {probes} x {probe_us:.1f} us = {probes * probe_us / (total * 1e6):.0%} of the call"
        )
    per_cell = (medians["trivial (CXNPS's argument)"] - medians["trivial (one cell)"]) / (len(scores) - 1) * 1e6
    print(f"xlwings reads a cell in {per_cell:.1f} us; its pyodide probe alone takes {probe_us:.1f} us ({probe_us / per_cell:.0%} of that)")
    print("In xlwings Lite (Pyodide) that import succeeds and is cached: the probe's cost is specific to running outside Pyodide. Not patched here.")


if __name__ == "__main__":
    main()
