"""The add-in for xlwings Lite: ``main.py``, ``requirements.txt`` and how to use them.

xlwings Lite runs Python inside Excel (Windows, macOS, Excel on the web) on
Pyodide. A Lite workbook holds its code in one ``main.py`` and its packages
in ``requirements.txt``, both stored inside the workbook; Pyodide installs
pure-Python wheels from PyPI or from a URL, and numpy, pandas and scipy from
its own repository (unpinned: their versions come with Pyodide). Followed:
the xlwings Lite documentation (lite.xlwings.org: "Python Dependencies",
"Custom Functions", "Custom Scripts", "Limitations", "Roadmap") and xlwings
0.37.8's ``xlwings/pro/udfs_officejs.py``.

**The engine travels inside the workbook.** Lite keeps ``main.py`` in the
workbook ("Python code is stored inside the workbook"), but one file only:
several modules are on its roadmap ("Allow to use multiple Python
modules"), and its personal modules and imported files live on the user's
machine, not in the workbook. So, by default, ``main.py`` carries the part
of cxroi-xl the functions need (``cxroi_xl.errors``, ``engine``, ``excel``:
pure Python, about 150 kB zipped, 200 kB as text) as a base64 zip that it
writes to Pyodide's in-memory file system and imports with the standard
``zipimport`` (Pyodide loads its own standard library the same way). Then
``requirements.txt`` names only xlwings, numpy, pandas and scipy, and no
wheel has to be hosted. ``--wheel-url`` switches to the other route:
``main.py`` imports an installed cxroi-xl and the wheel is written beside it
to be hosted over HTTPS with CORS.

The wheel is built from the installed package's own files (any install:
editable, wheel or ``pip install .``), so nothing needs a source checkout.

``cxroi-xl lite`` writes ``main.py``, ``requirements.txt``,
``README-lite.md`` (the steps for that folder) and, with ``--wheel-url``,
the wheel. It refuses a non-empty folder it did not write (unless
``force``), and writes each file under a temporary name renamed into place,
so a symbolic link in the folder is replaced, never followed.

Caching: xlwings 0.37.8's ``func`` accepts ``cache=True`` ("Cache
custom-function results in the add-in", ``udfs_officejs.xlfunc``), but
``custom_functions_meta`` (same file), which builds what Excel registers,
never passes it on, so it is not used here; heavy functions are instead
kept out of the function wizard (``call_in_wizard``) on the classic route.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

import cxroi_xl

from . import registry
from .udf_module import render_function

__all__ = ["render_main", "render_requirements", "render_readme", "build_wheel", "engine_zip", "write", "check_folder", "LiteError", "MARKER"]

PACKAGE_DIR = Path(cxroi_xl.__file__).resolve().parent
MARKER = ".cxroi-lite.json"  # what `cxroi-xl lite` wrote into a folder
# The part of the package the functions need (the layers up to excel/).
_ENGINE_PARTS = ("__init__.py", "errors.py", "py.typed", "engine", "excel")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed: the same package gives the same bytes


class LiteError(Exception):
    """``cxroi-xl lite`` cannot do what was asked (the command exits 2)."""


def _package_files(parts: tuple[str, ...] | None = None) -> list[tuple[str, Path]]:
    """(name inside the archive, file) for the installed package's files."""
    if not (PACKAGE_DIR / "excel" / "dispatch.py").is_file():
        raise LiteError(f"the cxroi_xl package at {PACKAGE_DIR} is incomplete (no excel/dispatch.py)")
    roots = [PACKAGE_DIR / p for p in parts] if parts else [PACKAGE_DIR]
    files = []
    for root in roots:
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            rel = path.relative_to(PACKAGE_DIR)
            if "__pycache__" in rel.parts or path.suffix in (".pyc", ".pyo") or "classic_udfs" in rel.parts and parts:
                continue
            files.append(("cxroi_xl/" + rel.as_posix(), path))
    return files


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, _ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buffer.getvalue()


def engine_zip() -> bytes:
    """The part of the installed package the Excel functions need, zipped
    (deterministic: same files, same bytes)."""
    return _zip([(name, path.read_bytes()) for name, path in _package_files(_ENGINE_PARTS)])


_HEADER = '''"""cxroi-xl's Excel functions for xlwings Lite (paste as main.py).

GENERATED from the function registry by `cxroi-xl lite`; do not edit.
Every function hands its cells to cxroi_xl.excel.call ({source}),
which converts them as the registry declares, runs the engine and returns a
value or an Excel error value that xlwings turns into a real #VALUE!, #NUM!,
#DIV/0! or #N/A. The full help of each function is in the cxroi-xl README's
function reference.

Run the script bind_cx_formulas once in a workbook made from a cxroi-xl
template (or generated with --mode live): it re-enters the CX formulas so
Excel binds them to these functions.
"""
import re

import xlwings as xw
from xlwings import arg, func, script

'''

_IMPORT_INSTALLED = """from cxroi_xl.excel import call

"""

_IMPORT_EMBEDDED = '''_engine = []


def call(name, *args):
    """cxroi_xl.excel.call, from the engine carried at the end of this file."""
    if not _engine:
        import base64
        import hashlib
        import os
        import sys
        import tempfile

        data = base64.b64decode("".join(_CXROI_ENGINE))
        if hashlib.sha256(data).hexdigest() != _CXROI_ENGINE_SHA256:
            raise RuntimeError("the cxroi-xl engine at the end of main.py is damaged: paste main.py again")
        path = os.path.join(tempfile.gettempdir(), f"cxroi_xl-{{_CXROI_ENGINE_SHA256[:16]}}.zip")
        if not os.path.exists(path):
            with open(path + ".part", "wb") as f:
                f.write(data)
            os.replace(path + ".part", path)
        if path not in sys.path:
            sys.path.insert(0, path)  # zipimport, as Pyodide imports its own standard library
        from cxroi_xl.excel import call as engine_call

        _engine.append(engine_call)
    return _engine[0](name, *args)


'''

_ENGINE_DATA = '''

# ---- the cxroi-xl engine ({version}: errors, engine, excel), a zip in base64 ----
_CXROI_ENGINE_SHA256 = "{digest}"
_CXROI_ENGINE = (
{lines}
)
'''

_SCRIPT = '''

# Excel keeps a custom function that was not loaded when the workbook was
# saved as _xldudf_NAME (or shows #NAME?) and does not rebind it by itself.
_CX_NAMES = {names}
_CX_CALL = re.compile(r"(?<![A-Za-z0-9_.])(?:_xldudf_)?(CX[A-Za-z]+)(?=\\s*\\()", re.IGNORECASE)


def rebind_formula(formula):
    """The formula with every CX function call spelled as these functions are
    registered; ``None`` if it calls none of them."""
    if not isinstance(formula, str) or not formula.startswith("="):
        return None
    found = False

    def plain(match):
        nonlocal found
        name = match.group(1).upper()
        if name not in _CX_NAMES:
            return match.group(0)
        found = True
        return name

    rebound = _CX_CALL.sub(plain, formula)
    return rebound if found else None


@script
async def bind_cx_formulas(book: xw.Book):
    """Re-enter every CX formula of this workbook so that Excel binds it to the functions of main.py."""
    count = 0
    for sheet in book.sheets:
        used = sheet.used_range
        formulas = await used.options(ndim=2).get_formula()
        for i, row in enumerate(formulas):
            for j, formula in enumerate(row):
                rebound = rebind_formula(formula)
                if rebound is not None:
                    sheet.range((used.row + i, used.column + j)).formula = rebound
                    count += 1
    print(f"cxroi-xl: re-entered {{count}} CX formula(s)")
'''


def render_main(help_url: str | None = None, embed: bool = True) -> str:
    """Source of Lite's ``main.py``.

    ``help_url``, if given, is shown as "more help" in Excel's function
    dialog; ``{name}`` in it is replaced by the function's name. ``embed``:
    the engine travels inside the file (else it is imported from an
    installed cxroi-xl, the hosted wheel).
    """
    functions = registry.functions()
    blocks = []
    for fn in functions.values():
        options = f"help_url={help_url.replace('{name}', fn.name)!r}" if help_url else ""
        blocks.append(render_function(fn, prefix="", func_options=options))
    source = "carried at the end of this file" if embed else "from the cxroi-xl wheel named in requirements.txt"
    text = _HEADER.format(source=source) + (_IMPORT_EMBEDDED.format() if embed else _IMPORT_INSTALLED)
    text += "\n\n".join(blocks) + _SCRIPT.format(names=repr(sorted(functions)))
    if embed:
        data = engine_zip()
        encoded = base64.b64encode(data).decode("ascii")
        lines = "\n".join(f'    "{encoded[i:i + 76]}"' for i in range(0, len(encoded), 76))
        text += _ENGINE_DATA.format(version=cxroi_xl.__version__, digest=hashlib.sha256(data).hexdigest(), lines=lines)
    return text


def _xlwings_version() -> str:
    try:
        return metadata.version("xlwings")
    except Exception:  # noqa: BLE001 - no xlwings here: Lite brings its own
        return ""


def _core_requirements() -> list[str]:
    """The names of cxroi-xl's own dependencies (no extras) besides xlwings:
    numpy, pandas, scipy and what else the engine declares."""
    try:
        requires = metadata.requires("cxroi-xl") or []
    except metadata.PackageNotFoundError:
        requires = []
    names = [re.split(r"[ ;<>=!~\[]", r, maxsplit=1)[0] for r in requires if "extra" not in r]
    names = [n for n in names if n and n.lower() != "xlwings"]
    return names or ["numpy", "pandas", "scipy"]


def render_requirements(wheel_url: str | None) -> str:
    """``requirements.txt`` for Lite: xlwings at the version tested here,
    then the engine's other dependencies unpinned (numpy, pandas, scipy...:
    Pyodide brings its own builds, whose versions come with it), then the
    URL of our wheel when the engine is not inside ``main.py``."""
    xlwings = _xlwings_version()
    lines = [f"xlwings=={xlwings}" if xlwings else "xlwings", *_core_requirements()] + ([wheel_url] if wheel_url else [])
    return "\n".join(lines) + "\n"


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")


def _metadata_text() -> tuple[str, str]:
    """METADATA and entry_points.txt for the wheel, from the installed
    distribution's metadata (a wheel's dist-info or a checkout's egg-info
    alike: ``requires`` reads both), without the long description."""
    try:
        dist = metadata.distribution("cxroi-xl")
    except metadata.PackageNotFoundError:
        raise LiteError("cxroi-xl is not installed (no package metadata): install it with pip first") from None
    meta = dist.metadata
    lines = ["Metadata-Version: 2.1", f"Name: {meta['Name']}", f"Version: {meta['Version']}"]
    for field in ("Summary", "License", "Requires-Python"):
        if meta.get(field):
            lines.append(f"{field}: {meta[field]}")
    requires = dist.requires or []
    extras = sorted({m.group(1) for r in requires if (m := re.search(r"""extra\s*==\s*["']([^"']+)["']""", r))})
    lines += [f"Provides-Extra: {extra}" for extra in extras]
    lines += [f"Requires-Dist: {r}" for r in requires]
    return "\n".join(lines) + "\n", dist.read_text("entry_points.txt") or ""


def build_wheel(out: Path) -> Path:
    """Build cxroi-xl's wheel (pure Python, ``py3-none-any``) into ``out``
    from the installed package's own files and metadata: it works from an
    editable install, a wheel or ``pip install .`` alike. Deterministic."""
    version = cxroi_xl.__version__
    dist_info = f"cxroi_xl-{version}.dist-info"
    meta, entry_points = _metadata_text()
    if f"Version: {version}" not in meta:
        raise LiteError(f"the installed metadata does not describe cxroi-xl {version}: reinstall cxroi-xl")
    entries = [(name, path.read_bytes()) for name, path in _package_files()]
    entries.append((f"{dist_info}/METADATA", meta.encode("utf-8")))
    entries.append((f"{dist_info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: cxroi-xl lite\nRoot-Is-Purelib: true\nTag: py3-none-any\n"))
    if entry_points:
        entries.append((f"{dist_info}/entry_points.txt", entry_points.encode("utf-8")))
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in entries) + f"{dist_info}/RECORD,,\n"
    entries.append((f"{dist_info}/RECORD", record.encode("utf-8")))
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"cxroi_xl-{version}-py3-none-any.whl"
    _write_bytes(target, _zip(entries))
    return target


def _write_bytes(path: Path, data: bytes) -> Path:
    """Whole file or nothing: a temporary file in the same folder renamed
    into place. A symbolic link at ``path`` is replaced, never followed."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(data)
        os.chmod(temp, 0o644)  # mkstemp's files are private; these are to share
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def _write_text(path: Path, text: str) -> Path:
    return _write_bytes(path, text.replace("\r\n", "\n").encode("utf-8"))


_README = """# cxroi-xl for xlwings Lite

This folder holds the cxroi-xl functions (CXROI, CXNPV, CXPAYBACK, ...) for
Excel through the free **xlwings Lite** add-in (Excel on Windows, Mac and the
web; Microsoft 365 or Office 2021 and later). Nothing needs to be installed
on the computer that opens the workbook.

## Once per workbook

1. In Excel: **Home > Add-ins**, search for **xlwings**, click **Add**. An
   **xlwings Lite** button appears at the right end of the Home tab; click it
   to open the xlwings Lite pane.
{host_step}2. In the pane, open the **requirements.txt** tab, delete what is there and
   paste the whole of `requirements.txt` from this folder. Installation starts
   by itself (watch the Output window). If xlwings Lite had other versions
   installed before, use the pane's menu **Restart**.
3. Open the **main.py** tab, delete what is there and paste the whole of
   `main.py` from this folder{main_note}.
4. Type `=CXROI(` in a cell: the function and its help appear like Excel's own.
5. Save the workbook. xlwings Lite keeps `main.py` and `requirements.txt`
   inside it, so anyone with the xlwings Lite add-in can open and recalculate it.

## A cxroi-xl template or a workbook made by `cxroi-xl generate --mode live`

Do steps 1 to 3 in that workbook, then run the script **bind_cx_formulas**
(the run button at the top of the xlwings Lite pane, or F5). It re-enters
every CX formula of the workbook so that Excel connects it to these
functions (cells that showed `#NAME?` or `_xldudf_CXROI` recalculate). Save
the workbook.

## Good to know

* A function that cannot answer shows a real Excel error (`#VALUE!`, `#NUM!`,
  `#DIV/0!`, `#N/A`), so `ISNA`, `ISERROR` and `IFERROR` work on it. Text that
  is exactly an error's name (a cell holding the text `#N/A`) counts as that
  error when a function reads it.
* After upgrading cxroi-xl, run `cxroi-xl lite` again and paste the new
  files (steps 2 and 3).
* Written by cxroi-xl {version} for xlwings {xlwings}.
"""

_HOST_STEP = """
   **Before step 2, host the wheel.** Put `{wheel}` from this folder on a
   web server that answers over HTTPS and sends the header
   `Access-Control-Allow-Origin: *` (xlwings Lite downloads it from inside
   Excel, which browsers allow only with that header): a static website, or
   an object-storage bucket (Amazon S3, Azure Blob Storage, Google Cloud
   Storage) with CORS switched on. Its address must be exactly the last line
   of `requirements.txt`: `{url}`.

"""


def render_readme(wheel: Path | None, url: str | None) -> str:
    if wheel is not None and url is not None:
        host_step = _HOST_STEP.format(wheel=wheel.name, url=url)
        main_note = ""
    else:
        host_step = ""
        main_note = " (it is long: it carries the cxroi-xl engine itself, so no other file has to be put anywhere)"
    return _README.format(host_step=host_step, main_note=main_note, version=cxroi_xl.__version__, xlwings=_xlwings_version() or "(any)")


def _ours(out: Path) -> set[str]:
    """Names `cxroi-xl lite` wrote into ``out`` last time (its marker), or
    an empty set."""
    try:
        return set(json.loads((out / MARKER).read_text(encoding="utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return set()


def check_folder(out: Path, force: bool = False) -> None:
    """Refuse a folder that holds anything `cxroi-xl lite` did not write
    there (unless ``force``). Raises :class:`LiteError` naming what is there."""
    if out.is_symlink() and not out.is_dir():
        raise LiteError(f"{out} is a symbolic link to no folder")
    if out.exists() and not out.is_dir():
        raise LiteError(f"{out} is a file, not a folder")
    if not out.exists() or force:
        return
    ours = _ours(out) | {MARKER}
    foreign = sorted(p.name for p in out.iterdir() if p.name not in ours or p.is_symlink())
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise LiteError(f"{out} is not empty and was not written by cxroi-xl lite (it holds {shown}); choose an empty folder or pass --force")


def write(out: Path, wheel_url: str | None = None, help_url: str | None = None, force: bool = False) -> dict[str, Path]:
    """Write ``main.py``, ``requirements.txt``, ``README-lite.md`` and, with
    ``wheel_url``, the wheel into ``out``.

    Without ``wheel_url`` the engine travels inside ``main.py``. With it,
    ``requirements.txt`` names the wheel at that URL (``https://`` only: Lite
    runs in a browser; a URL ending in ``/`` gets the wheel's file name).
    """
    if wheel_url and not wheel_url.lower().startswith("https://"):
        raise LiteError(f"--wheel-url must start with https:// (xlwings Lite downloads from a browser): {wheel_url}")
    check_folder(out, force)
    out.mkdir(parents=True, exist_ok=True)
    previous = _ours(out)
    written: dict[str, Path] = {}
    url = None
    if wheel_url:
        wheel = build_wheel(out)
        url = wheel_url
        if url.endswith("/"):
            url += wheel.name
        written["wheel"] = wheel
    written["main"] = _write_text(out / "main.py", render_main(help_url, embed=not wheel_url))
    written["requirements"] = _write_text(out / "requirements.txt", render_requirements(url))
    written["readme"] = _write_text(out / "README-lite.md", render_readme(written.get("wheel"), url))
    names = sorted(p.name for p in written.values())
    for stale in previous - set(names) - {MARKER}:  # e.g. the wheel of an earlier run
        path = out / stale
        if path.is_file() and not path.is_symlink() and stale.endswith(".whl"):
            path.unlink()
    _write_text(out / MARKER, json.dumps({"files": names}, indent=1) + "\n")
    return written
