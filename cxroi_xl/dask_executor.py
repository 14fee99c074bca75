"""The Dask entry point as the README has always shown it
(``from cxroi_xl.dask_executor import TemplateBuild, generate_on_dask``); the
executor itself is :mod:`cxroi_xl.batch.dask_executor`. On top of the layers,
beside the command line.
"""
from .batch.dask_executor import TemplateBuild, generate_on_dask

__all__ = ["TemplateBuild", "generate_on_dask"]
