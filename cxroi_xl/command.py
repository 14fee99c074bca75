"""The ``cxroi-xl`` console script.

The command line lives in the ``[cli]`` extra (typer, rich, openpyxl...);
``pip install cxroi-xl`` alone installs the engine and the Excel functions.
Without the extra, the command says what to install instead of a traceback.
"""
from __future__ import annotations

import sys


def main() -> None:
    try:
        from .cli import app
    except ModuleNotFoundError as exc:
        sys.exit(f'cxroi-xl: the command line needs the [cli] extra ({exc.name} is missing): pip install "cxroi-xl[cli]"')
    app()
