"""Write the bundled sample batch: 25 fictional small businesses.

Seeded, so the files are the same on every run:

    python examples/make_sample_clients.py [OUT_DIR]

writes clients.csv (with each client's gross margin), kpis.csv, costs.csv,
surveys.csv, proxies.csv, transactions.csv, journeys.csv and fx.csv
(default: examples/sample_clients/ beside this script). The clients are
listed in cxroi_xl.workbooks.sample_data.SAMPLE_CLIENTS, their baseline
and post months and what sets each apart (no effect at all, trends
already under way before go-live, counts that do not add up) in
SAMPLE_SCENARIOS.
"""
from __future__ import annotations

import sys
from pathlib import Path

from cxroi_xl.workbooks.sample_data import write_sample_batch

if __name__ == "__main__":
    write_sample_batch(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "sample_clients")
