"""The headless calculation of a user's workbook (``cxroi-xl calc``): the
formula parser, the evaluator, the native function library, the limits on
time, cells and text, and the hardened opening of untrusted files.

May import :mod:`cxroi_xl.workbooks` (where it must), :mod:`cxroi_xl.excel`,
:mod:`cxroi_xl.engine` and :mod:`cxroi_xl.errors`.
"""
