"""The LibreOffice harness: forced recalculation, values read back, PNG
rendering, timeouts, and parallel runs with their own profiles."""
from __future__ import annotations

import os
import re
import subprocess
import threading
import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from PIL import Image

from cxroi_xl.excel import ExcelError
from cxroi_xl.workbooks import libreoffice
from cxroi_xl.workbooks.libreoffice import LibreOfficeError


def _book(path: Path, factor: int = 3) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "Post-automation"
    sheet["A1"], sheet["B1"], sheet["C1"] = 2, f"=A1*{factor}", "=1/0"
    sheet["A3"] = "Monthly benefit vs cost"
    for row in range(4, 30):
        sheet.cell(row, 1, f"month {row - 3}")
        sheet.cell(row, 2, 1000 + 37 * row)
    book.save(path)
    return path


def _with_stale_cache(source: Path, target: Path) -> Path:
    """Write 999 as B1's cached value, as a file saved by another program
    would carry it; only a real recalculation gives A1*3 = 6."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            data = old.read(name)
            if name == "xl/worksheets/sheet1.xml":
                data, found = re.subn(rb"(<f>A1\*3</f>)<v\s*(?:/>|></v>)", rb"\1<v>999</v>", data)
                assert found == 1
            new.writestr(name, data)
    return target


def test_recalculate_forces_a_full_recalculation(tmp_path):
    stale = _with_stale_cache(_book(tmp_path / "fresh.xlsx"), tmp_path / "stale.xlsx")
    other = _book(tmp_path / "other.xlsx", factor=5)
    first, second = libreoffice.recalculate_all([stale, other], tmp_path / "out")  # one start for both
    values = libreoffice.read_values(first)
    assert values["Post-automation"]["B1"] == 6  # not the cached 999: OOXMLRecalcMode = always
    assert libreoffice.read_values(second)["Post-automation"]["B1"] == 10
    error = values["Post-automation"]["C1"]
    assert isinstance(error, ExcelError) and error == "#DIV/0!"
    assert values["Post-automation"]["A4"] == "month 1"


def test_render_png_gives_non_blank_pages(tmp_path):
    pages = libreoffice.render_png(_book(tmp_path / "book.xlsx"), tmp_path / "png")
    assert pages and all(p.suffix == ".png" for p in pages)
    with Image.open(pages[0]) as image:
        grey = image.convert("L")
        dark = sum(grey.histogram()[:128])  # pixels darker than mid-grey: the printed text
        assert grey.width > 300 and dark > 200, f"page looks blank ({dark} dark pixels)"


def _alive_in_group(group: int) -> list[int]:
    """Processes of a process group that still run (zombies excluded)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgrp = fields[0], int(fields[2])
        if pgrp == group and state != "Z":
            alive.append(int(stat.parent.name))
    return alive


def test_timeout_kills_the_whole_process_group(tmp_path, monkeypatch):
    started = []
    real_popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        process = real_popen(*args, **kwargs)
        started.append(process.pid)
        return process

    monkeypatch.setattr(subprocess, "Popen", recording_popen)
    with pytest.raises(LibreOfficeError, match="did not finish within 0.3 s"):
        libreoffice.recalculate(_book(tmp_path / "slow.xlsx"), tmp_path / "out", timeout=0.3)
    group = started[0]  # start_new_session: the group id is the leader's pid
    deadline = time.monotonic() + 10
    while _alive_in_group(group) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive_in_group(group)


def test_parallel_runs_use_their_own_profiles(tmp_path):
    results: dict[int, object] = {}

    def run(factor: int) -> None:
        try:
            path = _book(tmp_path / f"book{factor}.xlsx", factor)
            out = libreoffice.recalculate(path, tmp_path / f"out{factor}")
            results[factor] = libreoffice.read_values(out)["Post-automation"]["B1"]
        except Exception as exc:  # reported below
            results[factor] = exc

    threads = [threading.Thread(target=run, args=(factor,)) for factor in (4, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {4: 8, 7: 14}


def test_clear_errors(tmp_path, monkeypatch):
    book = _book(tmp_path / "book.xlsx")
    with pytest.raises(LibreOfficeError, match="would overwrite it"):
        libreoffice.recalculate(book, tmp_path)
    with pytest.raises(LibreOfficeError, match="no such file"):
        libreoffice.recalculate(tmp_path / "absent.xlsx", tmp_path / "out")
    monkeypatch.setattr(libreoffice.shutil, "which", lambda name: None)
    with pytest.raises(LibreOfficeError, match="LibreOffice is not installed"):
        libreoffice.recalculate(book, tmp_path / "out")
    assert not os.path.exists(tmp_path / "out" / "book.xlsx")
