"""``cxroi-xl excel install``: the classic Excel add-in on Windows.

xlwings' custom add-in route: a copy of xlwings' ``quickstart_addin.xlam``
in Excel's XLSTART folder, its config sheet pointing at ``udfs/`` and this
Python, and the functions imported into the add-in's own VBA project (what
its ``ImportPythonUDFsToAddin`` macro does, here through xlwings'
``import_udfs``). Every workbook then finds ``CXROI`` and the others in the
add-in, so templates and generated live workbooks need no VBA of their own.

Needs Windows, Excel, pywin32 and, in Excel's Trust Center, "Trust access to
the VBA project object model". Elsewhere :func:`install` raises
:class:`UnsupportedPlatform`; the command line reports it with exit code 2.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from . import udf_module

ADDIN_NAME = "cxroi.xlam"
# The quickstart add-in's VBA reads its settings from the sheet
# PROJECT_NAME & ".conf" (PROJECT_NAME = "myaddin"); "_myaddin.conf" is off.
_CONF_SHEET = "myaddin.conf"


class UnsupportedPlatform(RuntimeError):
    """Classic xlwings add-ins need Windows with Excel and pywin32."""


def check_platform() -> None:
    if not sys.platform.startswith("win"):
        raise UnsupportedPlatform(
            "the classic Excel add-in needs Windows with Excel and pywin32; on macOS and Excel on the web "
            "use xlwings Lite (`cxroi-xl lite`, see the README)"
        )
    try:
        import pywintypes  # noqa: F401
    except ImportError:
        raise UnsupportedPlatform("pywin32 is missing: pip install pywin32 (xlwings installs it on Windows)") from None


def install(global_location: bool = False) -> Path:
    """Install ``cxroi.xlam`` into Excel's startup folder; returns its path.

    Not verified on this project's Linux machines: only on Windows.
    """
    check_platform()
    import xlwings as xw
    import xlwings.udfs

    template = Path(xw.__file__).parent / "quickstart_addin.xlam"
    app = xw.apps.active if xw.apps else xw.App(visible=False)
    startup = Path(app.path) / "XLSTART" if global_location else Path(app.startup_path)
    startup.mkdir(parents=True, exist_ok=True)
    target = startup / ADDIN_NAME
    for book in app.books:  # an open copy would keep the file locked
        if book.name.lower() == ADDIN_NAME:
            book.close()
    shutil.copyfile(template, target)
    book = app.books.open(str(target))
    try:
        sheet = book.sheets["_myaddin.conf"]
        sheet.name = _CONF_SHEET
        settings = {"PYTHONPATH": str(udf_module.UDF_DIR), "UDF Modules": udf_module.UDF_PATH.stem, "Interpreter_Win": sys.executable}
        for row in range(1, 20):
            key = sheet.range((row, 1)).value
            if key in settings:
                sheet.range((row, 2)).value = settings[key]
        if str(udf_module.UDF_DIR) not in sys.path:
            sys.path.insert(0, str(udf_module.UDF_DIR))
        xlwings.udfs.import_udfs(udf_module.UDF_PATH.stem, book.api)
        book.save()
    finally:
        book.close()
    return target
