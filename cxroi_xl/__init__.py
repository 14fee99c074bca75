"""cxroi-xl: measure what customer-experience automation returns.

The engine (``finance``, ``survey``, ``impact``, ``value``, ``btyd``,
``attribution``) is plain Python on numpy/pandas/scipy; ``registry`` declares
the Excel functions; ``excel`` converts cells; ``workbooks`` builds the
templates and client workbooks; ``cli`` is the ``cxroi-xl`` command.
"""
__version__ = "0.1.0"
