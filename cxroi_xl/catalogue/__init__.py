"""Declarations of the Excel functions, one module per engine domain.

Each module exposes ``FUNCTIONS``, a sequence of
:class:`cxroi_xl.registry.ExcelFunction`; :mod:`cxroi_xl.registry` collects
them all. The small adapters here only reshape an engine result into the
table a cell spills; the numbers come from the engine.
"""
