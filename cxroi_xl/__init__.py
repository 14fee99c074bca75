"""cxroi-xl: measure what customer-experience automation returns.

The package is layered; each layer imports only those above it in this list:

* :mod:`cxroi_xl.errors`: the engine's input errors, importable by all;
* :mod:`cxroi_xl.engine`: the metrics, plain Python on numpy/pandas/scipy/statsmodels;
* :mod:`cxroi_xl.excel`: the Excel functions' registry, conversion, Lite and the Windows add-in;
* :mod:`cxroi_xl.workbooks`: templates, client workbooks, portfolio;
* :mod:`cxroi_xl.calc`: the headless calculation of a user's workbook;
* :mod:`cxroi_xl.batch`: batch input, the output folder, local and Dask executors;
* :mod:`cxroi_xl.cli`: the ``cxroi-xl`` command.
"""
__version__ = "0.2.0"
