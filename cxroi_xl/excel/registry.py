"""The one catalogue of Excel functions.

Each Excel function is declared once, as an :class:`ExcelFunction`, in a module
of :mod:`cxroi_xl.excel.catalogue` (one module per engine domain). Everything else
is derived from these declarations:

* the xlwings module ``udfs/cxroi_udfs.py`` (``cxroi-xl udfs generate``; a
  test fails when the file and the registry disagree),
* the argument coercion and error handling of every cell call
  (:func:`cxroi_xl.excel.dispatch.call`),
* ``cxroi-xl functions`` and the README's function reference,
* the headless evaluator used by ``cxroi-xl calc`` and the templates,
* the registry-wide tests that throw Excel-shaped junk at every function.

Adding a function is one declaration plus its engine code and tests.
"""
from __future__ import annotations

import importlib
import pkgutil

from .declarations import REQUIRED, WIZARD_LIMIT, Arg, ExcelFunction

__all__ = ["Arg", "ExcelFunction", "REQUIRED", "functions", "get", "WIZARD_LIMIT"]

_FUNCTIONS: dict[str, ExcelFunction] | None = None
# The order users meet the domains in (function list, README, wizard).
_DOMAIN_ORDER = ("finance", "survey", "impact", "value", "btyd", "attribution")


def _load() -> dict[str, ExcelFunction]:
    from . import catalogue

    found: dict[str, ExcelFunction] = {}
    def reading_order(info) -> tuple[int, str]:
        order = _DOMAIN_ORDER.index(info.name) if info.name in _DOMAIN_ORDER else len(_DOMAIN_ORDER)
        return order, info.name

    for info in sorted(pkgutil.iter_modules(catalogue.__path__), key=reading_order):
        module = importlib.import_module(f"{catalogue.__name__}.{info.name}")
        for fn in getattr(module, "FUNCTIONS", ()):
            if fn.name in found:
                raise RuntimeError(f"Excel function {fn.name} is declared twice")
            object.__setattr__(fn, "domain", info.name)
            found[fn.name] = fn
    return found


def functions() -> dict[str, ExcelFunction]:
    """Every declared Excel function by name, in catalogue order."""
    global _FUNCTIONS
    if _FUNCTIONS is None:
        _FUNCTIONS = _load()
    return _FUNCTIONS


def get(name: str) -> ExcelFunction:
    """The declaration of ``name`` (case-insensitive); ``KeyError`` if unknown."""
    return functions()[name.upper()]
