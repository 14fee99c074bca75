"""Headless LibreOffice: the one real spreadsheet application we can run.

Used by the tests and the template checks to open a workbook in a real
spreadsheet program, recalculate every formula and read back what a user
would see, or to render it to PNG.

Every run gets its own fresh user profile (so runs can go in parallel and no
setting leaks in from a developer's desktop), and that profile forces
LibreOffice to recalculate OOXML files on load
(``/org.openoffice.Office.Calc/Formula/Load/OOXMLRecalcMode`` = 0, "always").
Without it LibreOffice may show the values cached in the file instead of
recalculating them. A run that exceeds its timeout has its whole process
group killed (``soffice`` starts a child ``soffice.bin``) and raises
:class:`LibreOfficeError`.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterable, Sequence

__all__ = ["LibreOfficeError", "recalculate", "recalculate_all", "read_values", "render_png", "soffice"]

# 0 = always recalculate, 1 = never, 2 = ask (which headless means never).
_PROFILE_SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""


class LibreOfficeError(RuntimeError):
    """LibreOffice is missing, failed, or did not finish in time."""


def soffice() -> str:
    """The ``soffice`` executable, or a clear error saying how to install it."""
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if not found:
        raise LibreOfficeError("LibreOffice is not installed (apt-get install libreoffice-calc)")
    return found


def _run(command: Sequence[str], timeout: float, what: str) -> subprocess.CompletedProcess:
    """Run ``command`` in its own process group; kill the whole group on timeout."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:  # it finished between the timeout and the kill
            pass
        process.communicate()
        raise LibreOfficeError(f"{what} did not finish within {timeout:g} s and was stopped") from None
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def _convert(sources: Sequence[Path], out_dir: Path, target: str, timeout: float) -> list[Path]:
    """``soffice --convert-to target`` for several files in one start-up."""
    sources = [Path(s).resolve() for s in sources]
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    extension = target.split(":", 1)[0]
    outputs = [out_dir / f"{s.stem}.{extension}" for s in sources]
    for source, output in zip(sources, outputs):
        if not source.is_file():
            raise LibreOfficeError(f"{source}: no such file")
        if output == source:
            raise LibreOfficeError(f"{source}: converting into its own folder would overwrite it; choose another out_dir")
    if len({o.name for o in outputs}) != len(outputs):
        raise LibreOfficeError("two input files have the same name; convert them in separate calls")
    for output in outputs:  # a stale file must not pass for a fresh result
        output.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="cxroi-lo-profile-") as profile:
        settings = Path(profile) / "user" / "registrymodifications.xcu"
        settings.parent.mkdir(parents=True)
        settings.write_text(_PROFILE_SETTINGS, encoding="utf-8")
        command = [
            soffice(),
            "--headless",
            "--norestore",
            "--nolockcheck",
            f"-env:UserInstallation={Path(profile).as_uri()}",
            "--convert-to",
            target,
            "--outdir",
            str(out_dir),
            *map(str, sources),
        ]
        names = ", ".join(s.name for s in sources)
        result = _run(command, timeout, f"LibreOffice converting {names}")
    missing = [o for o in outputs if not o.is_file()]
    if missing:
        detail = (result.stderr or result.stdout).decode(errors="replace").strip().splitlines()
        reason = detail[-1] if detail else f"exit code {result.returncode}"
        raise LibreOfficeError(f"LibreOffice did not convert {', '.join(m.stem for m in missing)} to {extension}: {reason}")
    return outputs


def recalculate_all(xlsx_paths: Iterable[str | os.PathLike], out_dir: str | os.PathLike, timeout: float = 120) -> list[Path]:
    """Open each workbook in LibreOffice, recalculate everything, save as .xlsx.

    One LibreOffice start-up handles all files (each start costs seconds).
    Returns the recalculated copies, ``out_dir/<name>.xlsx``, in input order.
    """
    return _convert(list(map(Path, xlsx_paths)), Path(out_dir), "xlsx:Calc MS Excel 2007 XML", timeout)


def recalculate(xlsx_path: str | os.PathLike, out_dir: str | os.PathLike, timeout: float = 120) -> Path:
    """Recalculate one workbook in LibreOffice; see :func:`recalculate_all`."""
    return recalculate_all([xlsx_path], out_dir, timeout)[0]


def read_values(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """``{sheet: {"B2": value}}`` of every non-empty cell as last calculated.

    Error cells come back as :class:`cxroi_xl.excel.error_values.ExcelError`, so that
    ``isinstance`` tells an error from text that happens to read ``#N/A``.
    """
    from openpyxl import load_workbook

    from ..excel.dispatch import ExcelError

    workbook = load_workbook(path, data_only=True)
    try:
        values: dict[str, dict[str, Any]] = {}
        for sheet in workbook.worksheets:
            cells = values.setdefault(sheet.title, {})
            for row in sheet.iter_rows():
                for cell in row:
                    if cell.value is None:
                        continue
                    cells[cell.coordinate] = ExcelError(cell.value) if cell.data_type == "e" else cell.value
        return values
    finally:
        workbook.close()


def render_png(xlsx_path: str | os.PathLike, out_dir: str | os.PathLike, timeout: float = 120, dpi: int = 60) -> list[Path]:
    """Print the workbook to PDF in LibreOffice, then each page to a PNG.

    Returns the page images ``out_dir/<name>-<page>.png`` in page order.
    """
    out_dir = Path(out_dir)
    pdf = _convert([Path(xlsx_path)], out_dir, "pdf", timeout)[0]
    pdftoppm = shutil.which("pdftoppm")
    if not pdftoppm:
        raise LibreOfficeError("pdftoppm is not installed (apt-get install poppler-utils)")
    prefix = out_dir / pdf.stem
    for old in out_dir.glob(f"{pdf.stem}-*.png"):
        old.unlink()
    result = _run([pdftoppm, "-png", "-r", str(dpi), str(pdf), str(prefix)], timeout, f"pdftoppm rendering {pdf.name}")
    if result.returncode != 0:
        raise LibreOfficeError(f"pdftoppm failed on {pdf.name}: {result.stderr.decode(errors='replace').strip()}")
    pages = sorted(out_dir.glob(f"{pdf.stem}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    if not pages:
        raise LibreOfficeError(f"pdftoppm produced no page for {pdf.name}")
    return pages
