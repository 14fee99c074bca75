"""Predictive CLV: CXBGNBDFIT, CXBGNBD, CXPALIVE, CXGGFIT, CXCLV.

Every function fits its model(s) on the customers it is given, so a sheet
needs no hidden state: one row per customer in each range.
"""
from __future__ import annotations

import numpy as np

from ...engine import btyd
from ...errors import InvalidInputError
from ..declarations import Arg, ExcelFunction

CATEGORY = "CX predictive CLV"

# A row blank in every customer range that keeps blanks (frequency, recency,
# T) is no customer, so whole columns can be selected; it gets a blank
# result. A row blank in only some of them is refused (#VALUE!): a blank T
# read as 0 would silently make a customer brand new.
_FREQUENCY = Arg("frequency", "numbers", "Repeat purchases per customer: purchases after the first, same-day purchases counted once. One row per customer.", "count", blanks="keep")
_RECENCY = Arg("recency", "numbers", "Time from each customer's first to last purchase; 0 when frequency is 0.", "time unit, e.g. weeks", blanks="keep")
_T = Arg("T", "numbers", "Time from each customer's first purchase to the end of observation (>= recency).", "time unit, e.g. weeks", blanks="keep")
_MONETARY = Arg("monetary_value", "numbers", "Mean value of each customer's repeat purchases; ignored where frequency is 0 (blank there counts as 0).", "currency")


def _customers(keyed: tuple[np.ndarray, ...], others: tuple[np.ndarray, ...] = ()):
    """``(rows, keyed, others)``: the rows holding a customer (not blank in
    every ``keyed`` range) and each range restricted to those rows."""
    if len({len(column) for column in keyed + others}) > 1:
        raise InvalidInputError("need one value per customer in every range (the ranges have different lengths)")
    rows = ~np.logical_and.reduce([np.isnan(column) for column in keyed])
    return rows, [column[rows] for column in keyed], [column[rows] for column in others]


def _per_customer(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One result per input row: the customers' values, blank elsewhere."""
    out = np.full(len(rows), None, dtype=object)
    out[rows] = values
    return out


def _parameter_table(model: btyd.BetaGeo | btyd.GammaGamma, with_log_likelihood: bool) -> list[list]:
    rows = [["Parameter", "Value"]] + [[name, value] for name, value in model.params_.items()]
    if with_log_likelihood:
        rows.append(["Log-likelihood", model.log_likelihood_])
    return rows


def bgnbd_fit_table(frequency, recency, T):
    """CXBGNBDFIT's table: r, alpha, a, b, log-likelihood."""
    _, customers, _ = _customers((frequency, recency, T))
    return _parameter_table(btyd.BetaGeo().fit(*customers), with_log_likelihood=True)


def expected_purchases(frequency, recency, T, horizon):
    rows, customers, _ = _customers((frequency, recency, T))
    model = btyd.BetaGeo().fit(*customers)
    return _per_customer(model.conditional_expected_purchases(horizon, *customers), rows)


def probability_alive(frequency, recency, T):
    rows, customers, _ = _customers((frequency, recency, T))
    return _per_customer(btyd.BetaGeo().fit(*customers).probability_alive(*customers), rows)


def gamma_gamma_fit_table(frequency, monetary_value):
    """CXGGFIT's table: p, q, gamma."""
    _, (frequency,), (monetary_value,) = _customers((frequency,), (monetary_value,))
    return _parameter_table(btyd.GammaGamma().fit(frequency, monetary_value), with_log_likelihood=False)


def lifetime_value(frequency, recency, T, monetary_value, months, monthly_discount_rate, days_per_time_unit):
    rows, customers, (monetary_value,) = _customers((frequency, recency, T), (monetary_value,))
    purchases = btyd.BetaGeo().fit(*customers)
    spend = btyd.GammaGamma().fit(customers[0], monetary_value)
    clv = btyd.customer_lifetime_value(purchases, spend, *customers, monetary_value, months, monthly_discount_rate, days_per_time_unit)
    return _per_customer(clv, rows)


_BAD_INPUT = "Recency > T, negative values, frequency 0 with recency > 0, text, or a row blank in only some ranges give #VALUE!; rows blank in all of them are skipped (blank result); no customers #DIV/0!; data that do not determine the model (e.g. nobody bought twice) #NUM!."

FUNCTIONS = [
    ExcelFunction(
        name="CXBGNBDFIT",
        call_in_wizard=False,  # cost grows with the data: not on every keystroke in the wizard
        summary="Fits the BG/NBD purchase model (Fader, Hardie & Lee 2005) by maximum likelihood.",
        args=(_FREQUENCY, _RECENCY, _T),
        returns="table",
        engine=bgnbd_fit_table,
        category=CATEGORY,
        result="A 6x2 table (Parameter | Value) with rows r, alpha, a, b, Log-likelihood.",
        details=(
            "While alive a customer buys at rate lambda ~ Gamma(r, alpha) per time unit; after each purchase she drops out with probability p ~ Beta(a, b). "
            "alpha is in the time unit of recency and T. " + _BAD_INPUT
        ),
        example="=CXBGNBDFIT(B2:B2358, C2:C2358, D2:D2358)",
    ),
    ExcelFunction(
        name="CXBGNBD",
        call_in_wizard=False,  # cost grows with the data: not on every keystroke in the wizard
        summary="Expected purchases of each customer in the next horizon time units (BG/NBD).",
        args=(_FREQUENCY, _RECENCY, _T, Arg("horizon", "number", "How far ahead to count purchases, in the time unit of recency and T.", "time unit", default=1.0)),
        returns="column",
        engine=expected_purchases,
        category=CATEGORY,
        result="One expected number of purchases per customer, spilled down a column.",
        details=(
            "Fits BG/NBD as CXBGNBDFIT, then E[Y(t) | x, t_x, T] = (a+b+x-1)/(a-1) x [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))] "
            "/ [1 + (x>0) a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)] (Fader, Hardie & Lee 2005, eq. 10). " + _BAD_INPUT
        ),
        example="=CXBGNBD(B2:B2358, C2:C2358, D2:D2358, 39)",
    ),
    ExcelFunction(
        name="CXPALIVE",
        call_in_wizard=False,  # cost grows with the data: not on every keystroke in the wizard
        summary="Probability that each customer is still active (BG/NBD P(alive)).",
        args=(_FREQUENCY, _RECENCY, _T),
        returns="column",
        engine=probability_alive,
        category=CATEGORY,
        result="One probability (0..1) per customer, spilled down a column.",
        details=(
            "Fits BG/NBD as CXBGNBDFIT, then P(alive) = 1 / [1 + (x>0) a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)]; "
            "a customer without repeat purchases is alive with probability 1. " + _BAD_INPUT
        ),
        example="=CXPALIVE(B2:B2358, C2:C2358, D2:D2358)",
    ),
    ExcelFunction(
        name="CXGGFIT",
        call_in_wizard=False,  # cost grows with the data: not on every keystroke in the wizard
        summary="Fits the Gamma-Gamma spend model (Fader, Hardie & Lee 2005, RFM and CLV) by maximum likelihood.",
        args=(_FREQUENCY, _MONETARY),
        returns="table",
        engine=gamma_gamma_fit_table,
        category=CATEGORY,
        result="A 4x2 table (Parameter | Value) with rows p, q, gamma.",
        details=(
            "Fitted on the customers with frequency > 0: each purchase is worth z ~ Gamma(p, nu), nu ~ Gamma(q, gamma) across customers; "
            "a customer's expected value per purchase is p(gamma + x m)/(p x + q - 1). monetary_value must be positive where frequency > 0; "
            "no customer with repeat purchases gives #DIV/0!."
        ),
        example="=CXGGFIT(B2:B2358, E2:E2358)",
    ),
    ExcelFunction(
        name="CXCLV",
        call_in_wizard=False,  # cost grows with the data: not on every keystroke in the wizard
        summary="Predicted lifetime value of each customer over the next months: BG/NBD purchases x Gamma-Gamma spend, discounted monthly.",
        args=(
            _FREQUENCY,
            _RECENCY,
            _T,
            _MONETARY,
            Arg("months", "integer", "Horizon in months.", "months", default=12),
            Arg("monthly_discount_rate", "number", "Discount rate per month; a month's purchases are discounted from its end.", "fraction per month", default=0.01),
            Arg("days_per_time_unit", "number", "Days in the time unit of recency and T: 7 for weeks, 1 for days.", "days", default=7.0),
        ),
        returns="column",
        engine=lifetime_value,
        category=CATEGORY,
        result="One discounted value per customer in the currency of monetary_value, spilled down a column.",
        details=(
            "CLV = z* x sum_{k=1..months} (E[Y(k tau)] - E[Y((k-1) tau)]) / (1 + monthly_discount_rate)^k, with tau = (365.25/12)/days_per_time_unit "
            "(an average month in the data's time unit), E[Y(t)] the BG/NBD expectation of CXBGNBD and z* = p(gamma + x m)/(p x + q - 1) the "
            "Gamma-Gamma expected value per purchase of CXGGFIT, both models fitted on the given customers. " + _BAD_INPUT
        ),
        example="=CXCLV(B2:B2358, C2:C2358, D2:D2358, E2:E2358, 12, 0.01, 7)",
    ),
]
