"""The batch summary's rows: one line per client in ``summary.csv`` and the
portfolio (its columns are declared in
:mod:`cxroi_xl.workbooks.summary_columns`), and the exchange rates of
``fx.csv``.

Every ROI figure comes from the client's measured model
(:func:`cxroi_xl.engine.streams.measure`): the headline (``pv_benefits`` ...
``payback_months``, ``npv_low``, ``npv_high``) counts the streams whose effect
is demonstrated or adverse over the tracked months; the horizon columns
(``pv_service`` ... ``roi_horizon``, ``projected_share``) are the horizon
scenario; ``p_npv_positive`` is the probability that the horizon NPV is
positive with every stream's effect drawn from its fit and the default
spreads (:data:`~cxroi_xl.engine.defaults.DEFAULT_SPREADS`, 10,000 trials,
seed 1). They are blank when the engine refuses the client's data for the
model (no baseline customers, ...); the survey and churn columns are still
filled.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..engine import survey
from ..engine.defaults import default_monte_carlo, holistic_model
from ..engine.streams import MEASURED_STREAMS, STREAMS
from ..engine.tracker import TrackerInput, split_phases
from ..errors import CXError
from ..workbooks.summary_columns import round_row, share
from .files import InputError, TableFile

__all__ = ["summary_values", "summary_row", "headline_values", "holistic_values", "read_fx", "HEADLINE_COLUMNS", "HOLISTIC_COLUMNS"]


def _survey_metric(metric, scores: np.ndarray, *args) -> float | None:
    scores = scores[~np.isnan(scores)]
    if scores.size == 0:
        return None
    try:
        return float(metric(scores, *args))
    except CXError:
        return None


def summary_values(data: TrackerInput, streams=None) -> dict:
    """The client's summary figures, unrounded.

    Churn is sum(churned) / sum(active) over the baseline or post months; NPS
    and CSAT (share of 4-5 on the 5-point scale) split the survey answers at
    the go-live month. ``streams``: the client's measured model when the
    caller has it.
    """
    streams = streams if streams is not None else holistic_model(data)
    baseline, post = split_phases(data.kpis, data.go_live)
    go_live_month = pd.Timestamp(data.go_live).to_period("M").to_timestamp()
    answered_on = pd.to_datetime(data.surveys["date"]) if len(data.surveys) else pd.Series([], dtype="datetime64[ns]")
    before = (answered_on < go_live_month).to_numpy()
    nps = data.surveys["nps"].to_numpy(float) if len(data.surveys) else np.array([])
    csat = data.surveys["csat"].to_numpy(float) if len(data.surveys) else np.array([])
    return {
        **_identity(data),
        **headline_values(streams),
        "nps_baseline": _survey_metric(survey.nps, nps[before]),
        "nps_post": _survey_metric(survey.nps, nps[~before]),
        "csat_baseline": _survey_metric(survey.csat, csat[before], 5),
        "csat_post": _survey_metric(survey.csat, csat[~before], 5),
        "churn_baseline": share(baseline["churned_customers"].sum(), baseline["active_customers"].sum()),
        "churn_post": share(post["churned_customers"].sum(), post["active_customers"].sum()),
        **holistic_values(data, streams),
    }


def _identity(data: TrackerInput) -> dict:
    return {"client_id": data.client_id, "client_name": data.client_name, "currency": data.currency}


HEADLINE_COLUMNS = ("pv_benefits", "pv_costs", "npv", "npv_low", "npv_high", "roi", "payback_months", *(f"verdict_{s}" for s in MEASURED_STREAMS))
HOLISTIC_COLUMNS = ("pv_service", "pv_retention", "pv_uplift", "pv_proxies", "pv_costs_horizon", "npv_horizon", "roi_horizon", "projected_share", "p_npv_positive")



def headline_values(streams) -> dict:
    """The measured-to-date columns: PV benefits and costs, NPV with its
    95% interval, ROI, payback and each measured stream's verdict."""
    if streams is None:
        return dict.fromkeys(HEADLINE_COLUMNS)
    tei = streams.to_date
    low, high = streams.npv_interval[0.95]
    return {
        "pv_benefits": tei.pv_benefits,
        "pv_costs": tei.pv_costs,
        "npv": tei.npv,
        "npv_low": low,
        "npv_high": high,
        "roi": tei.roi,
        "payback_months": tei.payback,
        **{f"verdict_{s}": streams.verdict(s) for s in MEASURED_STREAMS},
    }



def holistic_values(data: TrackerInput, streams=None) -> dict:
    """The horizon columns of the summary (see the module docstring): each
    stream's risk-adjusted PV over the horizon scenario, PV costs, NPV, ROI,
    the projected share and P(NPV > 0). All None when the engine refuses the
    client's data."""
    streams = streams if streams is not None else holistic_model(data)
    if streams is None:
        return dict.fromkeys(HOLISTIC_COLUMNS)
    pv = streams.stream_pv("horizon")
    risk = default_monte_carlo(streams)
    tei = streams.horizon
    return {
        **{f"pv_{s}": pv[s] for s in STREAMS},
        "pv_costs_horizon": tei.pv_costs,
        "npv_horizon": tei.npv,
        "roi_horizon": tei.roi,
        "projected_share": streams.projected_share,
        "p_npv_positive": risk.probability_positive,
    }



def summary_row(data: TrackerInput, streams=None) -> dict:
    """The client's line of ``summary.csv`` (and of the portfolio), rounded
    as the module docstring says."""
    return round_row(summary_values(data, streams))


# ---- totals by currency and conversion -----------------------------------------


def read_fx(data_dir: Path, report_currency: str = "USD") -> dict[str, float] | None:
    """Exchange rates from ``fx.csv`` (or ``fx.xlsx``) in ``data_dir``, or
    None when there is none.

    Columns ``currency`` (ISO code) and ``rate``: units of the reporting
    currency for one unit of ``currency``; one row per currency. The
    reporting currency itself has rate 1 (given or not). Any problem raises
    :class:`~cxroi_xl.batch.tables.InputError` naming the file, row and
    column.
    """
    candidates = [Path(data_dir) / f"fx{suffix}" for suffix in (".csv", ".xlsx")]
    path = next((p for p in candidates if p.exists()), None)
    if path is None:
        return None
    frame = TableFile(path, "fx").read()  # indexed by the file's row numbers (header = 1)
    missing = [c for c in ("currency", "rate") if c not in frame.columns]
    if missing:
        raise InputError(path.name, "missing column(s) " + ", ".join(missing))
    rates: dict[str, float] = {}
    first_row: dict[str, int] = {}
    for row, currency, rate in zip(frame.index, frame["currency"], frame["rate"]):
        row = int(row)
        if currency is None and rate is None:
            continue
        code = str(currency or "").strip().upper()
        if len(code) != 3 or not code.isalpha() or not code.isascii():
            raise InputError(path.name, f"row {row}, column currency: expected a three-letter ISO code, got {currency!r}")
        if code in rates:
            raise InputError(path.name, f"row {row}, column currency: {code} already has a rate (row {first_row[code]}); give one rate per currency")
        try:
            value = float(str(rate).strip())
        except ValueError:
            raise InputError(path.name, f"row {row}, column rate: expected a number, got {rate!r}") from None
        if not math.isfinite(value) or value <= 0:
            raise InputError(path.name, f"row {row}, column rate: expected a positive number (units of {report_currency} per {code}), got {rate!r}")
        if code == report_currency.upper() and value != 1:
            raise InputError(path.name, f"row {row}, column rate: {code} is the reporting currency, so its rate is 1, not {rate}")
        rates[code] = value
        first_row[code] = row
    rates.setdefault(report_currency.upper(), 1.0)
    return rates
