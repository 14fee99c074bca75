"""Declarations of the Excel functions, one module per engine domain.

Each module exposes ``FUNCTIONS``, a sequence of
:class:`cxroi_xl.excel.registry.ExcelFunction`; :mod:`cxroi_xl.excel.registry` collects
them all. The small adapters here only reshape an engine result into the
table a cell spills; the numbers come from the engine.
"""


def metric_table(rows, missing_code: str, missing_reason: str) -> list[list]:
    """``(label, value)`` pairs as a spilled ``Metric | Value`` table; a
    figure the engine leaves undefined (``None``) shows ``missing_code``
    with ``missing_reason`` (the label is put in front of it)."""
    from ..error_values import ExcelError  # an undefined figure's cell

    table = [["Metric", "Value"]]
    for label, value in rows:
        table.append([label, ExcelError(missing_code, f"{label}: {missing_reason}") if value is None else value])
    return table
