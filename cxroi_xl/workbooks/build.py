"""Build the shipped templates and per-client workbooks, live or values.

``live`` keeps the add-in formulas (``=CXTEI(...)``) for users with the
add-in, spilled results as dynamic arrays; ``values`` is derived from the
same build: each add-in formula replaced by its cached value, the formula
kept in the cell's note; native Excel formulas stay formulas either way.
Every formula cell is saved with its cached value
(:mod:`~cxroi_xl.workbooks.cache`), computed by the engine; for a client
whose data the engine refuses, by the ``interpret`` callable the caller
passes (the batch passes the headless calculation's).
"""
from __future__ import annotations

import contextlib
import gc
from pathlib import Path
from typing import Callable

from openpyxl import Workbook
from openpyxl.packaging.custom import StringProperty

from ..engine.tracker import TrackerInput
from . import roi_template
from .common import RowStream, workbook_bytes
from .values import finish

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


def finished_bytes(wb: Workbook, mode: str, stream: RowStream | None = None, interpret: Callable | None = None) -> bytes:
    wb = finish(wb, mode, interpret)
    return workbook_bytes(wb, stream, wb.formula_values)


def template_bytes(name: str, mode: str = "live") -> bytes:
    """The template ``name`` with its example data, as deterministic bytes."""
    return finished_bytes(BUILDERS[name](), mode)


def build_templates(out_dir: Path = TEMPLATE_DIR, mode: str = "live") -> list[Path]:
    """Write every template into ``out_dir``; byte-identical run to run."""
    from .common import write_atomic

    out_dir = Path(out_dir)
    return [write_atomic(out_dir / f"{name}.xlsx", template_bytes(name, mode)) for name in BUILDERS]


def build_client_workbook(data: TrackerInput, template: str, mode: str, out_path: Path, model=None, interpret: Callable | None = None) -> Path:
    """One client's workbook, written atomically.

    Workbooks of the main template take the fast route in both modes: the
    engine gives every formula's value, the data tables' rows go straight
    into the sheet XML (:class:`RowStream`) and the sheets every client of
    the same shape shares are built once per process
    (:mod:`~cxroi_xl.workbooks.frames`). When the engine refuses the
    client's data, the interpreter fills the values instead, which needs
    every cell in memory. ``model``: ``data.model()`` when the caller has it;
    ``interpret``: what fills the values the engine could not give (see
    :func:`~cxroi_xl.workbooks.values.finish`).
    """
    from .common import write_atomic
    from .frames import roi_workbook_bytes

    with _collected_once():
        model = roi_template.engine_model(data, model) if template == roi_template.TEMPLATE_NAME else None
        if model is not None:
            data_bytes = roi_workbook_bytes(data, mode, model, lambda wb: _label(wb, template, mode))
        else:
            data_bytes = finished_bytes(_label(BUILDERS[template](data), template, mode), mode, interpret=interpret)
        del model  # garbage now, for the collection on the way out
    return write_atomic(Path(out_path), data_bytes)


@contextlib.contextmanager
def _collected_once():
    """Python's cycle collector paused while a workbook is built, then run
    once over the objects made since (the youngest generation).

    A build makes some hundred thousand openpyxl objects, linked in cycles
    (cell -> sheet -> workbook -> sheet); left alone the collector would
    run a hundred times during one build, each pass also walking the
    objects that survived earlier ones. One pass at the end frees the
    build's garbage for a tenth of that work."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
            gc.collect(0)


def _label(wb: Workbook, template: str, mode: str) -> Workbook:
    """Record how the workbook was made in its document properties (read
    back by reruns of ``generate``)."""
    wb.custom_doc_props.append(StringProperty(name="cxroi-xl template", value=template))
    wb.custom_doc_props.append(StringProperty(name="cxroi-xl mode", value=mode))
    return wb
