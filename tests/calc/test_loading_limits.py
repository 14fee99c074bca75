"""`cxroi-xl calc` bounds loading, not only evaluating: findings of the
second review, each reproduced here first.

* 10 million shared strings (a 25 MB file) took 90 s and 1.6 GB under
  ``--time-limit 5``;
* 2.4 million cell styles (a 6 MB file) reached 3.9 GB and ended in
  "XMLSyntaxError: unknown error".

Now the shared strings and style records are counted in the XML before
any parser sees it, every part's unpacked size is capped, and the parse
itself stops at the time limit. Each file runs through the real command in
a child process under a 3 GB address-space limit with a hang watchdog (a
guard, not a speed assertion), as tests/calc/test_limits.py does.
"""
from __future__ import annotations

import io
import os
import resource
import subprocess
import sys
import zipfile

import pytest
from openpyxl import Workbook

from tests.conftest import ROOT

ADDRESS_SPACE = 3 * 1024**3
WATCHDOG_SECONDS = 180


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def _with_part(path, part: str, make) -> None:
    book = Workbook()
    book.active["A1"] = "=CXPAYBACK({-100,30,40,50})"
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        names = source.namelist()
        for name in names:
            out.writestr(name, make(source.read(name)) if name == part else source.read(name))
        if part not in names:
            out.writestr(part, make(b""))


def _calc(source, tmp_path, *options):
    out = tmp_path / "out.xlsx"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "300"}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "cxroi_xl.cli", "calc", str(source), "-o", str(out), *options],
            capture_output=True, text=True, timeout=WATCHDOG_SECONDS, env=env, preexec_fn=_limit_memory,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"calc still running after {WATCHDOG_SECONDS} s: a hang")
    output = " ".join((done.stdout + done.stderr).split())
    assert "Traceback" not in output and "MemoryError" not in output and "XMLSyntaxError" not in output, output
    assert not out.exists()
    return done.returncode, output


def test_millions_of_distinct_shared_strings_are_refused_before_parsing(tmp_path):
    source = tmp_path / "strings.xlsx"
    _with_part(source, "xl/sharedStrings.xml", lambda _: b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + b"".join(b"<si><t>%x</t></si>" % (i * 2654435761 % 2**40) for i in range(1_200_000)) + b"</sst>")
    code, output = _calc(source, tmp_path, "--time-limit", "5")
    assert code == 2
    assert "part xl/sharedStrings.xml holds more than 1,000,000 shared strings" in output


def test_millions_of_cell_styles_are_refused_before_parsing(tmp_path):
    source = tmp_path / "styles.xlsx"
    xfs = b"".join(b'<xf numFmtId="%d" fontId="0" fillId="0" borderId="0" xfId="%d"/>' % (i % 50_000, i * 7919 % 100_003) for i in range(400_000))
    _with_part(source, "xl/styles.xml", lambda xml: xml.replace(b'<cellXfs count="1">', b'<cellXfs count="400001">' + xfs))
    assert source.stat().st_size < 10 * 1024**2
    code, output = _calc(source, tmp_path)
    assert code == 2
    assert "part xl/styles.xml holds more than 200,000 style records" in output


def test_one_oversized_part_is_refused_by_its_unpacked_size(tmp_path):
    source = tmp_path / "part.xlsx"
    _with_part(source, "xl/sharedStrings.xml", lambda _: b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>' + os.urandom(70 * 1024**2).hex().encode() + b"</t></si></sst>")
    code, output = _calc(source, tmp_path, "--max-mb", "200")
    assert code == 2
    assert "part xl/sharedStrings.xml unpacks to" in output and "over the 128.0 MB limit for one part" in output


def test_reading_stops_at_the_time_limit(tmp_path):
    # within every count, but slow to parse: the time limit covers reading it
    rows = b"".join(b'<row r="%d">' % r + b"".join(b'<c r="%s%d"><v>%d</v></c>' % (col, r, r) for col in (b"A", b"B", b"C", b"D")) + b"</row>" for r in range(2, 400_002))
    sheet = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1"><f>CXPAYBACK({-100,30,40,50})</f></c></row>' + rows + b"</sheetData></worksheet>"
    source = tmp_path / "slow.xlsx"
    _with_part(source, "xl/worksheets/sheet1.xml", lambda _: sheet)
    code, output = _calc(source, tmp_path, "--time-limit", "0.5")
    assert code == 2
    assert "reading the workbook took longer than the time limit (--time-limit)" in output
