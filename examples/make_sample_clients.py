"""Write the bundled sample batch: 25 fictional small businesses.

Seeded, so the files are the same on every run:

    python examples/make_sample_clients.py [OUT_DIR]

writes clients.csv, kpis.csv, costs.csv and surveys.csv (default:
examples/sample_clients/ beside this script). The clients are listed in
cxroi_xl.workbooks.sample_data.SAMPLE_CLIENTS.
"""
from __future__ import annotations

import sys
from pathlib import Path

from cxroi_xl.workbooks.sample_data import write_sample_batch

if __name__ == "__main__":
    write_sample_batch(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "sample_clients")
