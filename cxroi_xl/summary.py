"""The batch summary: one line per client in ``summary.csv`` and the
portfolio, its columns declared once, rounded once, and added up by currency.

Each :class:`SummaryColumn` says what a column is (name, the label people
read, unit, whether it may be added across clients). From that one list
come the CSV's columns and rounding, the portfolio's headers and number
formats, and which columns get per-currency subtotals.

Rounding (``summary.csv`` and the portfolio agree to it):

* money: to the currency's minor unit in ISO 4217 (2 for USD and EUR, 0 for
  JPY, 3 for BHD), read from the ``iso4217`` package; a code ISO 4217 gives
  no minor unit (XAU, or a code it does not list) keeps 2 decimals;
* rates (ROI, CSAT, churn): 4 decimals (0.1234 = 12.34 %);
* NPS points and payback months: 2 decimals;
* the probability that NPV > 0: 4 decimals.

The holistic columns (``pv_service`` ... ``p_npv_positive``) come from
:meth:`cxroi_xl.tracker.TrackerInput.streams` over the horizon (36 months
from go-live by default); the probability from
:meth:`~cxroi_xl.tracker.BenefitStreams.monte_carlo` of the unadjusted
streams at :data:`DEFAULT_SPREADS` (10,000 trials, seed 1). They are blank
when the engine cannot compute the holistic model for the client (no
baseline customers, ...), the service-only columns still filled.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import survey
from .input_files import InputError, TableFile
from .errors import CXError
from .tracker import STREAMS, TrackerInput, split_phases

__all__ = [
    "SummaryColumn",
    "COLUMNS",
    "SUMMARY_COLUMNS",
    "ADDITIVE_COLUMNS",
    "minor_unit",
    "round_money",
    "summary_values",
    "summary_row",
    "round_row",
    "currency_totals",
    "read_fx",
    "convert_totals",
    "DEFAULT_SPREADS",
    "MONTE_CARLO_TRIALS",
    "MONTE_CARLO_SEED",
]

RATE_DECIMALS = 4
POINT_DECIMALS = 2
DEFAULT_MINOR_UNIT = 2

# Low / high multipliers of each stream's expected size (triangular, mode 1)
# for the Monte Carlo risk, replacing the fixed risk factors. Service savings
# rest on counted contacts and hours: narrow. Retained margin depends on
# churn staying down and on the margin assumed: wide, skewed down. Revenue
# uplift on win rates of small counts: wider still. Proxies are estimates
# the user already discounts by a confidence: up to nothing at worst, never
# above the estimate. Costs overrun more often than they undershoot.
DEFAULT_SPREADS: dict[str, tuple[float, float]] = {
    "service": (0.9, 1.1),
    "retention": (0.6, 1.2),
    "uplift": (0.5, 1.2),
    "proxies": (0.5, 1.0),
    "cost": (0.95, 1.3),
}
MONTE_CARLO_TRIALS = 10_000
MONTE_CARLO_SEED = 1


@dataclass(frozen=True)
class SummaryColumn:
    """One column of the summary.

    ``unit`` is ``text``, ``money`` (in the client's currency), ``rate``
    (a fraction), ``probability`` (0..1), ``points`` (NPS, -100..100) or ``months``. ``additive``
    columns are summed into the per-currency subtotals.
    """

    name: str
    label: str
    unit: str
    help: str
    additive: bool = False

    def decimals(self, currency: str | None = None) -> int | None:
        """Decimals the value is rounded to (None: text)."""
        if self.unit == "money":
            return minor_unit(currency or "USD")
        if self.unit in ("rate", "probability"):
            return RATE_DECIMALS
        if self.unit in ("points", "months"):
            return POINT_DECIMALS
        return None

    def excel_format(self, currency: str | None = None) -> str:
        """The number format showing the rounded value whole."""
        if self.unit == "money":
            places = minor_unit(currency or "USD")
            return "#,##0" + ("." + "0" * places if places else "")
        if self.unit in ("rate", "probability"):
            return "0.00%"
        if self.unit == "points":
            return "+0.00;-0.00;0.00"
        if self.unit == "months":
            return "0.00"
        return "@"


COLUMNS: tuple[SummaryColumn, ...] = (
    SummaryColumn("client_id", "Client ID", "text", "the client's id in clients.csv"),
    SummaryColumn("client_name", "Client", "text", "the client's name"),
    SummaryColumn("currency", "Currency", "text", "ISO 4217 code of the client's amounts"),
    SummaryColumn("pv_benefits", "PV benefits", "money", "present value of the risk-adjusted benefits", additive=True),
    SummaryColumn("pv_costs", "PV costs", "money", "present value of the risk-adjusted costs", additive=True),
    SummaryColumn("npv", "NPV", "money", "PV benefits - PV costs", additive=True),
    SummaryColumn("roi", "ROI", "rate", "NPV / PV costs"),
    SummaryColumn("payback_months", "Payback (months)", "months", "months until the cumulative discounted net benefit reaches zero; blank if never"),
    SummaryColumn("nps_baseline", "NPS before", "points", "Net Promoter Score of the answers before go-live"),
    SummaryColumn("nps_post", "NPS after", "points", "Net Promoter Score from the go-live month on"),
    SummaryColumn("csat_baseline", "CSAT before", "rate", "share of 4-5 answers on the 5-point scale before go-live"),
    SummaryColumn("csat_post", "CSAT after", "rate", "share of 4-5 answers from the go-live month on"),
    SummaryColumn("churn_baseline", "Churn before (monthly)", "rate", "churned / active customers over the baseline months"),
    SummaryColumn("churn_post", "Churn after (monthly)", "rate", "churned / active customers over the post months"),
    SummaryColumn("pv_service", "PV service savings (horizon)", "money", "present value of the risk-adjusted service savings over the horizon", additive=True),
    SummaryColumn("pv_retention", "PV retained margin (horizon)", "money", "present value of the risk-adjusted margin of customers kept by lower churn, over the horizon", additive=True),
    SummaryColumn("pv_uplift", "PV revenue uplift (horizon)", "money", "present value of the risk-adjusted value of extra customers won, over the horizon (0 without leads and won)", additive=True),
    SummaryColumn("pv_proxies", "PV proxies (horizon)", "money", "present value of the financial proxies for intangibles, each times its confidence, over the horizon", additive=True),
    SummaryColumn("pv_costs_horizon", "PV costs (horizon)", "money", "present value of the risk-adjusted costs over the horizon", additive=True),
    SummaryColumn("npv_horizon", "NPV (horizon)", "money", "sum of the streams' PVs - PV costs, over the horizon", additive=True),
    SummaryColumn("roi_horizon", "ROI (horizon)", "rate", "NPV / PV costs over the horizon"),
    SummaryColumn("p_npv_positive", "P(NPV > 0)", "probability", "Monte Carlo probability that the horizon NPV is positive, streams and costs spread by the default low/high multipliers"),
)
SUMMARY_COLUMNS = tuple(column.name for column in COLUMNS)
ADDITIVE_COLUMNS = tuple(column.name for column in COLUMNS if column.additive)
_BY_NAME = {column.name: column for column in COLUMNS}


def minor_unit(currency: str) -> int:
    """Decimals of ``currency``'s minor unit in ISO 4217 (2 when it has none
    or the code is not listed).

    >>> minor_unit("USD"), minor_unit("JPY"), minor_unit("BHD")
    (2, 0, 3)
    """
    from iso4217 import Currency

    try:
        exponent = Currency(str(currency).upper()).exponent
    except ValueError:
        return DEFAULT_MINOR_UNIT
    return DEFAULT_MINOR_UNIT if exponent is None else int(exponent)


def _round(value, decimals: int | None):
    if decimals is None or value is None:
        return value
    value = float(value)
    if not math.isfinite(value):
        return None
    rounded = round(value, decimals)
    return int(rounded) if decimals == 0 else rounded


def round_money(value, currency: str):
    """``value`` rounded to ``currency``'s minor unit (an int for 0 decimals).

    >>> round_money(1234.5678, "USD"), round_money(1234.5678, "JPY"), round_money(1.23456, "BHD")
    (1234.57, 1235, 1.235)
    """
    return _round(value, minor_unit(currency))


def round_row(row: dict) -> dict:
    """A summary row with every number rounded as its column says."""
    currency = row.get("currency") or "USD"
    out = dict(row)
    for name, value in row.items():
        column = _BY_NAME.get(name)
        if column is not None:
            out[name] = _round(value, column.decimals(currency))
    return out


def _share(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else float(numerator) / float(denominator)


def _survey_metric(metric, scores: np.ndarray, *args) -> float | None:
    scores = scores[~np.isnan(scores)]
    if scores.size == 0:
        return None
    try:
        return float(metric(scores, *args))
    except CXError:
        return None


def summary_values(data: TrackerInput, model=None) -> dict:
    """The client's summary figures, unrounded.

    Churn is sum(churned) / sum(active) over the baseline or post months; NPS
    and CSAT (share of 4-5 on the 5-point scale) split the survey answers at
    the go-live month. ``model``: ``data.model()`` when the caller has it.
    """
    model = model if model is not None else data.model()
    baseline, post = split_phases(data.kpis, data.go_live)
    go_live_month = pd.Timestamp(data.go_live).to_period("M").to_timestamp()
    answered_on = pd.to_datetime(data.surveys["date"]) if len(data.surveys) else pd.Series([], dtype="datetime64[ns]")
    before = (answered_on < go_live_month).to_numpy()
    nps = data.surveys["nps"].to_numpy(float) if len(data.surveys) else np.array([])
    csat = data.surveys["csat"].to_numpy(float) if len(data.surveys) else np.array([])
    return {
        **_identity(data),
        "pv_benefits": model.tei.pv_benefits,
        "pv_costs": model.tei.pv_costs,
        "npv": model.tei.npv,
        "roi": model.tei.roi,
        "payback_months": model.tei.payback,
        "nps_baseline": _survey_metric(survey.nps, nps[before]),
        "nps_post": _survey_metric(survey.nps, nps[~before]),
        "csat_baseline": _survey_metric(survey.csat, csat[before], 5),
        "csat_post": _survey_metric(survey.csat, csat[~before], 5),
        "churn_baseline": _share(baseline["churned_customers"].sum(), baseline["active_customers"].sum()),
        "churn_post": _share(post["churned_customers"].sum(), post["active_customers"].sum()),
        **holistic_values(data),
    }


def _identity(data: TrackerInput) -> dict:
    return {"client_id": data.client_id, "client_name": data.client_name, "currency": data.currency}


HOLISTIC_COLUMNS = ("pv_service", "pv_retention", "pv_uplift", "pv_proxies", "pv_costs_horizon", "npv_horizon", "roi_horizon", "p_npv_positive")


_LAST_MODEL: list = []  # [(data, model)]: the last client's holistic model


def holistic_model(data: TrackerInput):
    """``data.streams()``, or None when the engine refuses the data.

    The batch asks for it twice per client (its summary line and its
    workbook); the last client's model is kept so it is computed once."""
    if _LAST_MODEL and _LAST_MODEL[0][0] is data:
        return _LAST_MODEL[0][1]
    try:
        model = data.streams()
    except CXError:
        model = None
    _LAST_MODEL[:] = [(data, model)]
    return model


_LAST_RISK: list = []  # [(model, bins, MonteCarloResult)]


def default_monte_carlo(streams, bins: int = 20):
    """:meth:`~cxroi_xl.tracker.BenefitStreams.monte_carlo` at
    :data:`DEFAULT_SPREADS` (the summary's P(NPV > 0) and the Scenarios
    sheet's table; the last model's result is kept, so it runs once)."""
    if _LAST_RISK and _LAST_RISK[0][0] is streams and _LAST_RISK[0][1] == bins:
        return _LAST_RISK[0][2]
    low = [DEFAULT_SPREADS[s][0] for s in STREAMS]
    high = [DEFAULT_SPREADS[s][1] for s in STREAMS]
    cost_low, cost_high = DEFAULT_SPREADS["cost"]
    from . import risk

    block, costs, _ = streams.risk_inputs()
    result = risk.monte_carlo_npv(block, costs, streams.monthly_rate, low, high, cost_low, cost_high, MONTE_CARLO_TRIALS, MONTE_CARLO_SEED, bins)
    _LAST_RISK[:] = [(streams, bins, result)]
    return result


def holistic_values(data: TrackerInput, streams=None) -> dict:
    """The holistic columns of the summary (see the module docstring): each
    stream's risk-adjusted PV, PV costs, NPV and ROI over the horizon, and
    P(NPV > 0) at :data:`DEFAULT_SPREADS`. All None when the engine refuses
    the client's data for the holistic model."""
    streams = streams if streams is not None else holistic_model(data)
    if streams is None:
        return dict.fromkeys(HOLISTIC_COLUMNS)
    monthly = streams.monthly
    discount = (1.0 + streams.monthly_rate) ** -monthly["period"].to_numpy(float)
    pv = {s: float(monthly[f"{s}_adjusted"].to_numpy(float) @ discount) for s in STREAMS}
    risk = default_monte_carlo(streams)
    tei = streams.horizon
    return {
        **{f"pv_{s}": pv[s] for s in STREAMS},
        "pv_costs_horizon": tei.pv_costs,
        "npv_horizon": tei.npv,
        "roi_horizon": tei.roi,
        "p_npv_positive": risk.probability_positive,
    }


def summary_row(data: TrackerInput, model=None) -> dict:
    """The client's line of ``summary.csv`` (and of the portfolio), rounded
    as the module docstring says."""
    return round_row(summary_values(data, model))


# ---- totals by currency and conversion -----------------------------------------

TOTAL_COLUMNS = ("currency", "clients", *ADDITIVE_COLUMNS, "roi")


def currency_totals(rows: list[dict]) -> pd.DataFrame:
    """Per currency: number of clients, the sums of the additive columns
    (PV benefits, PV costs, NPV) and ROI = NPV / PV costs of those sums.

    The sums add the rounded client figures (so a subtotal equals the sum of
    the figures shown above it) and are rounded to the currency's minor
    unit; ROI, payback, NPS, CSAT and churn are never added up.
    """
    frame = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    if frame.empty:
        return pd.DataFrame(columns=list(TOTAL_COLUMNS))
    money = frame[list(ADDITIVE_COLUMNS)].apply(pd.to_numeric, errors="coerce")
    grouped = money.groupby(frame["currency"].astype(str), sort=True)
    totals = grouped.sum(min_count=1)
    totals.insert(0, "clients", grouped.size())
    totals = totals.reset_index(names="currency")
    for name in ADDITIVE_COLUMNS:
        totals[name] = [round_money(value, currency) for value, currency in zip(totals[name], totals["currency"])]
    totals["roi"] = [_round(_share(npv, costs), RATE_DECIMALS) if costs else None for npv, costs in zip(totals["npv"], totals["pv_costs"])]
    return totals[list(TOTAL_COLUMNS)].astype(object).where(totals.notna(), None)


def read_fx(data_dir: Path, report_currency: str = "USD") -> dict[str, float] | None:
    """Exchange rates from ``fx.csv`` (or ``fx.xlsx``) in ``data_dir``, or
    None when there is none.

    Columns ``currency`` (ISO code) and ``rate``: units of the reporting
    currency for one unit of ``currency``; one row per currency. The
    reporting currency itself has rate 1 (given or not). Any problem raises
    :class:`~cxroi_xl.batch_input.InputError` naming the file, row and
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


def convert_totals(totals: pd.DataFrame, rates: dict[str, float], report_currency: str = "USD") -> tuple[pd.DataFrame, dict]:
    """Each currency's subtotals in the reporting currency, and their sum.

    Returns (per-currency frame with ``rate`` and the converted additive
    columns, the grand total row). Converted amounts are rounded to the
    reporting currency's minor unit; a currency without a rate is reported
    in ``missing`` of the grand total and left out of it.
    """
    report_currency = report_currency.upper()
    rate_of = [rates.get(currency) for currency in totals["currency"]]
    converted = pd.DataFrame({"currency": totals["currency"].tolist(), "clients": totals["clients"].tolist()}, dtype=object)
    for name in ADDITIVE_COLUMNS:
        converted[name] = [None if rate is None or value is None else round_money(value * rate, report_currency) for value, rate in zip(totals[name], rate_of)]
    converted["roi"] = totals["roi"].tolist()  # a ratio of two amounts in one currency: the rate cancels
    converted["rate"] = rate_of
    known = [i for i, rate in enumerate(rate_of) if rate is not None]
    grand = {"currency": report_currency, "clients": int(sum(converted["clients"][i] for i in known))}
    for name in ADDITIVE_COLUMNS:
        grand[name] = round_money(sum(converted[name][i] for i in known if converted[name][i] is not None), report_currency)
    grand["roi"] = _round(_share(grand["npv"], grand["pv_costs"]), RATE_DECIMALS) if grand["pv_costs"] else None
    grand["missing"] = [currency for currency, rate in zip(converted["currency"], rate_of) if rate is None]
    return converted.astype(object).where(converted.notna(), None), grand
