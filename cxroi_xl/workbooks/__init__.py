"""The workbooks: the three templates and every client's workbook (live or
values form), the engine-to-cell values, the shared-sheet frames, layout and
print settings, the portfolio, the summary's column declarations and the
bundled sample data.

May import :mod:`cxroi_xl.excel`, :mod:`cxroi_xl.engine` and
:mod:`cxroi_xl.errors`; never the interpreter of :mod:`cxroi_xl.calc`
(every value a builder writes comes from the engine).
"""
