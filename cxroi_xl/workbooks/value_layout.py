"""The customer-value template's layout constants and how a data value is
written into a cell: shared by the template builder and its engine values.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

DAYS_PER_WEEK = 7  # recency and T are in weeks, the unit of the BG/NBD literature
HEADER_ROW = 4
SURVIVAL_TIMES = (3, 6, 12)  # months at which the Survival sheet reads the curve
VALUE_CURVE_MONTHS = 60  # the CLTV sheet's value-over-time table


def cell_value(value: Any) -> Any:
    """A data value as a user would type it: dates as datetime, whole
    numbers as int, NaN as a blank; numpy scalars as plain Python values."""
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).to_pydatetime()
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return None if np.isnan(number) else (int(number) if number.is_integer() else number)
    return value
