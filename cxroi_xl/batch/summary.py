"""The batch summary's rows: one line per client in ``summary.csv`` and the
portfolio (each template's columns are declared in
:mod:`cxroi_xl.workbooks.summary_columns`), and the exchange rates of
``fx.csv``. Each template sums its own workbook up: :func:`summary_row`
with the template's name.

Customer value (:func:`customer_value_values`): the figures the client's
workbook shows, taken from the very values its cells are given
(:func:`cxroi_xl.workbooks.value_template.figures`): customers, discounted
CLTV, predicted CLV of all customers over 12 months, monthly churn, CAC,
LTV:CAC, months to earn the CAC back and the verdict on LTV:CAC. A figure
the workbook shows as words or an error is blank here, and ``note`` says
why. Attribution (:func:`attribution_values`): conversions, conversion
value and the channel each model credits with the most conversions, from
the same model tables as the workbook's.

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
from ..excel.error_values import ExcelError
from ..workbooks.value_values import VERDICTS
from ..workbooks.summary_columns import ATTRIBUTION_TEMPLATE, CUSTOMER_VALUE_TEMPLATE, ROI_TEMPLATE, round_row, share, summary_spec
from .files import InputError, TableFile

__all__ = ["summary_values", "summary_row", "headline_values", "holistic_values", "customer_value_values", "attribution_values", "read_fx", "HEADLINE_COLUMNS", "HOLISTIC_COLUMNS"]


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



def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _number(value, what: str, notes: list[str]) -> float | None:
    """A figure as the summary holds it: the number, or None with a note
    saying what the workbook shows instead (its words or its error and
    the engine's reason)."""
    if _is_number(value):
        return float(value)
    reason = getattr(value, "reason", "")
    notes.append(f"{what}: {value}" + (f" ({reason})" if reason else ""))
    return None


def customer_value_values(data: TrackerInput) -> dict:
    """The client's customer-value figures, unrounded: exactly the values of
    the workbook's cells (Inputs, CLTV, Predictive CLV totals), which the
    engine computes once (:func:`cxroi_xl.workbooks.value_template.figures`).
    Raises :class:`~cxroi_xl.errors.InvalidInputError` without transactions,
    as the workbook does."""
    from ..workbooks import value_template

    figures = value_template.figures(data)
    notes: list[str] = []
    if figures.acquisition_spend is None:
        notes.append("CAC, LTV:CAC and CAC payback: no acquisition_spend in clients")
        cac = ltv_cac = payback = None
    else:
        cac = _number(figures.cac, "CAC", notes)
        ltv_cac = _number(figures.ltv_cac, "LTV:CAC", notes) if cac is not None else None
        payback = _number(figures.cac_payback_months, "CAC payback", notes) if cac is not None else None
    verdict = figures.verdict if figures.verdict in VERDICTS else None  # words of the verdict, never an error or a request for the spend
    return {
        **_identity(data),
        "customers": figures.customers,
        "cltv": _number(figures.cltv, "CLTV", notes),
        "predicted_clv": _number(figures.predicted_total, "predicted CLV", notes),
        "churn": _number(figures.monthly_churn, "churn", notes),
        "cac": cac,
        "ltv_cac": ltv_cac,
        "cac_payback_months": payback,
        "verdict": verdict,
        "note": "; ".join(notes) or None,
    }


def attribution_values(data: TrackerInput) -> dict:
    """The client's attribution figures: conversions and their value (the
    Journeys sheet's totals) and each model's top channel, from the model
    tables the workbook shows
    (:func:`cxroi_xl.workbooks.attribution_template.figures`). Raises
    :class:`~cxroi_xl.errors.InvalidInputError` without journeys, as the
    workbook does."""
    from ..workbooks import attribution_template

    figures = attribution_template.figures(data)
    notes: list[str] = []
    row = {
        **_identity(data),
        "conversions": _number(figures["conversions"], "conversions", notes),
        "conversion_value": _number(figures["conversion_value"], "conversion value", notes),
    }
    for model, top in figures["top_channels"].items():
        if isinstance(top, ExcelError):
            row[f"top_{model}"] = None
            notes.append(f"{attribution_template.MODEL_LABELS[model]}: {top}" + (f" ({top.reason})" if top.reason else ""))
        else:
            row[f"top_{model}"] = top
    row["note"] = "; ".join(notes) or None
    return row


_VALUES = {CUSTOMER_VALUE_TEMPLATE: customer_value_values, ATTRIBUTION_TEMPLATE: attribution_values}


def summary_row(data: TrackerInput, streams=None, template: str = ROI_TEMPLATE) -> dict:
    """The client's line of ``template``'s ``summary.csv`` (and of its
    portfolio), rounded as :mod:`~cxroi_xl.workbooks.summary_columns` says.
    ``streams``: the client's measured model (the ROI template) when the
    caller has it."""
    spec = summary_spec(template)
    values = summary_values(data, streams) if template == ROI_TEMPLATE else _VALUES[template](data)
    return round_row({name: values.get(name) for name in spec.names}, template)


# ---- totals by currency and conversion -----------------------------------------


_RATE_BOUNDS = (1e-9, 1e9)  # an exchange rate's plausible range (read_fx)


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
        # No two currencies in use are 10^9 apart (an Iranian rial is about
        # 10^-6 euro): a rate beyond that is a slip (1e308 overflowed the
        # converted totals to nothing), as are 0, negatives, inf and NaN.
        if not (_RATE_BOUNDS[0] <= value <= _RATE_BOUNDS[1]):
            raise InputError(path.name, f"row {row}, column rate: expected a positive number from {_RATE_BOUNDS[0]:g} to {_RATE_BOUNDS[1]:g} (units of {report_currency} per {code}), got {rate!r}")
        if code == report_currency.upper() and value != 1:
            raise InputError(path.name, f"row {row}, column rate: {code} is the reporting currency, so its rate is 1, not {rate}")
        rates[code] = value
        first_row[code] = row
    rates.setdefault(report_currency.upper(), 1.0)
    return rates
