"""The command line imports only what a command uses.

Each case runs in a fresh child interpreter (a module imported by this test
session would be in ``sys.modules`` already) and reports which of the heavy
libraries it loaded. Not timed: benchmarks/bench_startup.py measures the
processor time.

* importing :mod:`cxroi_xl.cli` and ``cxroi-xl --help`` / ``generate --help``:
  no statsmodels, scipy.signal, Dask, distributed or pyarrow (pyarrow comes
  with pandas 3, which these do not need);
* ``cxroi-xl eval CXNPV ...`` and ``generate --dry-run``, which read tables
  with pandas: no statsmodels, scipy.signal, scipy.stats, Dask or distributed
  (statsmodels only for the structural time-series model, Dask only with
  ``--executor dask``).
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

NEVER_FOR_HELP = ("statsmodels", "scipy.signal", "dask", "distributed", "pyarrow")
NEVER_FOR_EVAL_OR_DRY_RUN = ("statsmodels", "scipy.signal", "scipy.stats", "dask", "distributed")

# The child runs the console script's own entry point with the given
# arguments (or only imports cxroi_xl.cli), then writes what it loaded.
CHILD = """
import json, sys
watched, arguments, report = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
try:
    if arguments is None:
        import cxroi_xl.cli
    else:
        from cxroi_xl.command import main
        sys.argv = ["cxroi-xl", *arguments]
        main()
except SystemExit as exc:
    if exc.code not in (0, None):
        raise
with open(report, "w", encoding="utf-8") as handle:
    json.dump([name for name in watched if name in sys.modules], handle)
"""


def loaded_by(tmp_path, arguments, watched) -> list[str]:
    report = tmp_path / "loaded.json"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(list(watched)), json.dumps(arguments), str(report)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(report.read_text(encoding="utf-8"))


@pytest.mark.parametrize("arguments", [None, ["--help"], ["generate", "--help"], ["eval", "--help"]], ids=["import", "help", "generate-help", "eval-help"])
def test_help_loads_no_heavy_library(tmp_path, arguments):
    assert loaded_by(tmp_path, arguments, NEVER_FOR_HELP) == []


def test_eval_of_a_finance_function_loads_no_statistics_library(tmp_path):
    assert loaded_by(tmp_path, ["eval", "CXNPV", "0.08", "-40000,8000,9200"], NEVER_FOR_EVAL_OR_DRY_RUN) == []


def test_generate_dry_run_loads_no_statistics_library(tmp_path):
    arguments = ["generate", str(ROOT / "examples" / "sample_clients"), "--out", str(tmp_path / "out"), "--dry-run"]
    assert loaded_by(tmp_path, arguments, NEVER_FOR_EVAL_OR_DRY_RUN) == []
    assert not (tmp_path / "out").exists()


def test_the_watch_sees_a_library_that_is_loaded(tmp_path):
    # the check itself: a command that does fit a structural model loads statsmodels
    child = CHILD.replace("import cxroi_xl.cli", "import cxroi_xl.engine.counterfactual as cf, numpy as np; cf.sts_counterfactual(np.arange(48.0) % 7 + 10, 36, 1)")
    report = tmp_path / "loaded.json"
    done = subprocess.run([sys.executable, "-c", child, json.dumps(["statsmodels"]), "null", str(report)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(report.read_text(encoding="utf-8")) == ["statsmodels"]
