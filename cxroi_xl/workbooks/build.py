"""Build the shipped templates and per-client workbooks, live or values.

``live`` keeps the add-in formulas (``=CXTEI(...)``) for users with the
add-in; ``values`` replaces each add-in formula by its value, computed by the
same headless evaluator that ``cxroi-xl calc`` uses, with the formula kept in
the cell's note; native Excel formulas stay formulas either way.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from openpyxl import Workbook
from openpyxl.packaging.custom import StringProperty

from ..tracker import TrackerInput
from . import roi_template
from .common import RowStream, save_workbook, workbook_bytes

TEMPLATE_DIR = Path(__file__).resolve().parent.parent.parent / "workbook_templates"

# name -> builder(data or None) -> live Workbook. The customer-value and
# attribution templates register here too.
BUILDERS: dict[str, Callable[..., Workbook]] = {roi_template.TEMPLATE_NAME: roi_template.build}


def _register_optional_builders() -> None:
    for module_name in ("value_template", "attribution_template"):
        try:
            module = __import__(f"{__package__}.{module_name}", fromlist=["build", "TEMPLATE_NAME"])
        except ImportError:
            continue
        BUILDERS.setdefault(module.TEMPLATE_NAME, module.build)


_register_optional_builders()


def finish(wb: Workbook, mode: str) -> Workbook:
    """Apply the mode to a freshly built live workbook."""
    if mode == "values":
        from .values import to_values

        to_values(wb)
    elif mode != "live":
        raise ValueError("mode must be 'live' or 'values'")
    return wb


def template_bytes(name: str, mode: str = "live") -> bytes:
    """The template ``name`` with its example data, as deterministic bytes."""
    return workbook_bytes(finish(BUILDERS[name](), mode))


def build_templates(out_dir: Path = TEMPLATE_DIR, mode: str = "live") -> list[Path]:
    """Write every template into ``out_dir``; byte-identical run to run."""
    from .common import write_atomic

    out_dir = Path(out_dir)
    return [write_atomic(out_dir / f"{name}.xlsx", template_bytes(name, mode)) for name in BUILDERS]


def build_client_workbook(data: TrackerInput, template: str, mode: str, out_path: Path) -> Path:
    """One client's workbook, written atomically.

    Live workbooks of the main template take the fast route: the data
    tables' rows go straight into the sheet XML (:class:`RowStream`). The
    values mode needs every cell in memory for the evaluator.
    """
    if mode == "live" and template == roi_template.TEMPLATE_NAME:
        stream = RowStream()
        return save_workbook(_label(roi_template.build(data, stream), template, mode), out_path, stream)
    return save_workbook(_label(finish(BUILDERS[template](data), mode), template, mode), out_path)


def _label(wb: Workbook, template: str, mode: str) -> Workbook:
    """Record how the workbook was made in its document properties (read
    back by reruns of ``generate``)."""
    wb.custom_doc_props.append(StringProperty(name="cxroi-xl template", value=template))
    wb.custom_doc_props.append(StringProperty(name="cxroi-xl mode", value=mode))
    return wb
