"""The folder classic xlwings puts on its PYTHONPATH (``cxroi-xl udfs path``):
it holds the generated ``cxroi_udfs`` module, imported by xlwings as a
top-level module from here."""
