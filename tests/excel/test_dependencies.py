"""The declared dependency floors are what the code needs.

xlwings: main.py for Lite imports ``script`` and its bind_cx_formulas awaits
``Range.get_formula``. Both first appear in xlwings 0.37.0 (0.36.17's wheel
has ``script`` but no ``Range.get_formula``; 0.33.0 has neither), so the floor
is 0.37.0: with an older xlwings these imports fail here, not in a user's
workbook.
"""
from __future__ import annotations

import inspect
import re
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _requirement(name: str) -> str:
    """The requirement string pyproject.toml declares for ``name`` (read as
    text: Python 3.10 has no tomllib)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (found,) = re.findall(rf'^\s*"({name}\b[^"]*)",', text, re.M | re.I)
    return found


def _release(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def test_xlwings_floor_has_script_and_range_get_formula():
    from xlwings import Range, script  # noqa: F401 - the import is the test

    assert inspect.iscoroutinefunction(Range.get_formula)
    assert _requirement("xlwings") == "xlwings>=0.37.0"
    assert _release(version("xlwings")) >= (0, 37, 0)


def test_the_installed_versions_satisfy_the_declared_bounds():
    for name, installed in (("openpyxl", version("openpyxl")), ("filelock", version("filelock")), ("psutil", version("psutil"))):
        bounds = dict(re.findall(r"(>=|<)([\d.]+)", _requirement(name)))
        assert _release(installed) >= _release(bounds[">="]), name
        assert _release(installed) < _release(bounds["<"]), name
