"""The columns of the batch summary (``summary.csv`` and the portfolio),
declared once, rounded once, and added up by currency.

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
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

__all__ = ["SummaryColumn", "COLUMNS", "SUMMARY_COLUMNS", "ADDITIVE_COLUMNS", "TOTAL_COLUMNS", "minor_unit", "round_money", "round_row", "share", "currency_totals", "convert_totals"]

RATE_DECIMALS = 4

POINT_DECIMALS = 2

DEFAULT_MINOR_UNIT = 2


@dataclass(frozen=True)
class SummaryColumn:
    """One column of the summary.

    ``unit`` is ``text``, ``verdict`` (a stream's verdict, text), ``money``
    (in the client's currency), ``rate`` (a fraction), ``probability`` (0..1),
    ``points`` (NPS, -100..100) or ``months``. ``additive``
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
    SummaryColumn("pv_benefits", "PV benefits (measured)", "money", "present value of the risk-adjusted benefits of the tracked months: the streams whose effect is demonstrated or adverse, and the proxies", additive=True),
    SummaryColumn("pv_costs", "PV costs", "money", "present value of the risk-adjusted costs of the tracked months", additive=True),
    SummaryColumn("npv", "NPV (measured)", "money", "PV benefits - PV costs, measured to date", additive=True),
    SummaryColumn("npv_low", "NPV low (95%)", "money", "lower end of the 95% interval of the measured NPV (the counted effects drawn from their fits)"),
    SummaryColumn("npv_high", "NPV high (95%)", "money", "upper end of that interval"),
    SummaryColumn("roi", "ROI (measured)", "rate", "NPV / PV costs, measured to date"),
    SummaryColumn("payback_months", "Payback (months)", "months", "months until the cumulative discounted measured net benefit reaches zero; blank if never within the tracked months"),
    SummaryColumn("verdict_service", "Service savings", "verdict", "demonstrated, adverse, not demonstrated or not estimable: the effect on agent hours against the baseline's counterfactual"),
    SummaryColumn("verdict_retention", "Retained margin", "verdict", "the same for churn, or not corroborated when the customer counts do not show the customers kept"),
    SummaryColumn("verdict_uplift", "Revenue uplift", "verdict", "the same for the win rate (not estimable without leads and won)"),
    SummaryColumn("nps_baseline", "NPS before", "points", "Net Promoter Score of the answers before go-live"),
    SummaryColumn("nps_post", "NPS after", "points", "Net Promoter Score from the go-live month on"),
    SummaryColumn("csat_baseline", "CSAT before", "rate", "share of 4-5 answers on the 5-point scale before go-live"),
    SummaryColumn("csat_post", "CSAT after", "rate", "share of 4-5 answers from the go-live month on"),
    SummaryColumn("churn_baseline", "Churn before (monthly)", "rate", "churned / active customers over the baseline months"),
    SummaryColumn("churn_post", "Churn after (monthly)", "rate", "churned / active customers over the post months"),
    SummaryColumn("pv_service", "PV service savings (horizon)", "money", "present value of the risk-adjusted service savings in the horizon scenario (0 when not estimable)", additive=True),
    SummaryColumn("pv_retention", "PV retained margin (horizon)", "money", "the same for the margin of customers kept by lower churn (0 when not estimable or not corroborated)", additive=True),
    SummaryColumn("pv_uplift", "PV revenue uplift (horizon)", "money", "the same for the margin of extra customers won while they stay, inside the horizon (0 without leads and won)", additive=True),
    SummaryColumn("pv_proxies", "PV proxies (horizon)", "money", "present value of the financial proxies for intangibles, each times its confidence, over the horizon", additive=True),
    SummaryColumn("pv_costs_horizon", "PV costs (horizon)", "money", "present value of the risk-adjusted costs over the horizon", additive=True),
    SummaryColumn("npv_horizon", "NPV (horizon scenario)", "money", "sum of the streams' PVs - PV costs in the horizon scenario (measured effects carried past the tracked months with their decay)", additive=True),
    SummaryColumn("roi_horizon", "ROI (horizon scenario)", "rate", "NPV / PV costs over the horizon"),
    SummaryColumn("projected_share", "Projected share", "probability", "share of the horizon scenario's PV benefits that falls in projected months (0..1)"),
    SummaryColumn("p_npv_positive", "P(NPV > 0)", "probability", "probability that the horizon NPV is positive, every stream's effect drawn from its fit and the default low/high spreads applied"),
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

def share(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else float(numerator) / float(denominator)


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
    totals["roi"] = [_round(share(npv, costs), RATE_DECIMALS) if costs else None for npv, costs in zip(totals["npv"], totals["pv_costs"])]
    return totals[list(TOTAL_COLUMNS)].astype(object).where(totals.notna(), None)

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
    grand["roi"] = _round(share(grand["npv"], grand["pv_costs"]), RATE_DECIMALS) if grand["pv_costs"] else None
    grand["missing"] = [currency for currency, rate in zip(converted["currency"], rate_of) if rate is None]
    return converted.astype(object).where(converted.notna(), None), grand
