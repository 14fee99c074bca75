"""The batch: input files (CSV, .xlsx, Parquet) and their validation, the
on-disk client store, the manifest of an output folder, the local and Dask
executors, and the summary rows of ``summary.csv``.

May import everything below it: :mod:`cxroi_xl.calc`,
:mod:`cxroi_xl.workbooks`, :mod:`cxroi_xl.excel`, :mod:`cxroi_xl.engine`,
:mod:`cxroi_xl.errors`.
"""
