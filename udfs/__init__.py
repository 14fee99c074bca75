"""Folder of the xlwings UDF module: add it to xlwings' PYTHONPATH (see README)."""
