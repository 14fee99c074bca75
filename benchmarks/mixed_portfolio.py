"""A seeded mixed portfolio: clients like a real consultant's, not one shape.

Each client is drawn from its own generator (seeded by the portfolio's seed
and the client's position), so client ``i`` is the same whatever the size of
the portfolio:

* 9 to 36 tracked months after go-live, 12 to 24 baseline months before it;
* the last month of data anywhere in a year, so clients go live in
  different months;
* one of 6 currencies (``fx.csv`` converts them to US dollars);
* about half with ``leads`` and ``won``, about half with proxies, one in
  five without any survey answers;
* a horizon of 36 months for most, 48 or 60 for some; discount rate,
  benefit risk, seasonality and survey volume vary too.

The benchmarks (``bench_mixed_portfolio.py``) and the worker memory test
use it; :func:`write_mixed_portfolio` writes it as a batch input folder.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cxroi_xl.engine.tracker import TrackerInput
from cxroi_xl.workbooks.sample_data import SAMPLE_FX_USD, SAMPLE_PROFILES, SampleClient, synthetic_client

CURRENCIES = tuple(sorted(SAMPLE_FX_USD))  # AUD CAD CHF EUR GBP USD
LAST_MONTH = pd.Period("2025-12", "M")  # the latest month any client's data reach


@dataclass(frozen=True)
class MixedClient:
    """One client of the portfolio: its data and its row of ``clients.csv``."""

    sample: SampleClient
    discount_rate: float
    benefit_risk: float
    horizon_months: int
    baseline_months: int
    tracked_months: int

    def tracker_input(self) -> TrackerInput:
        """The client as a batch worker receives it (the same fields as
        ``clients.csv`` gives)."""
        s = self.sample
        return TrackerInput(
            client_id=s.client_id, client_name=s.client_name, go_live=s.go_live, kpis=s.kpis, costs=s.costs, surveys=s.surveys,
            currency=s.currency, discount_rate=self.discount_rate, benefit_risk=self.benefit_risk, proxies=s.proxies,
            gross_margin=s.gross_margin, horizon_months=self.horizon_months,
        )

    def record(self) -> dict:
        s = self.sample
        return {
            "client_id": s.client_id, "client_name": s.client_name, "go_live": s.go_live.strftime("%Y-%m-%d"), "currency": s.currency,
            "discount_rate": self.discount_rate, "benefit_risk": self.benefit_risk, "cost_risk": 0.05, "gross_margin": s.gross_margin,
            "horizon_months": self.horizon_months,
        }


def mixed_client(i: int, seed: int = 0) -> MixedClient:
    """The ``i``-th client of the portfolio seeded ``seed``."""
    rng = np.random.default_rng([seed, i])
    profile = list(SAMPLE_PROFILES)[int(rng.integers(len(SAMPLE_PROFILES)))]
    baseline = int(rng.integers(12, 25))
    tracked = int(rng.integers(9, 37))
    last = LAST_MONTH - int(rng.integers(0, 12))
    first = (last - (baseline + tracked - 1)).strftime("%Y-%m")
    with_surveys = rng.random() >= 0.2
    with_leads = bool(rng.random() < 0.5)
    with_proxies = bool(rng.random() < 0.5)
    horizon = int(rng.choice([36, 36, 36, 48, 60]))
    sample = synthetic_client(
        seed=int(rng.integers(2**31)), profile=profile, client_id=f"m{i:05d}", client_name=f"Mixed client {i}", first_month=first,
        baseline_months=baseline, post_months=tracked, currency=CURRENCIES[int(rng.integers(len(CURRENCIES)))],
        surveys_per_month=int(rng.integers(10, 41)), with_leads=with_leads, with_proxies=with_proxies,
        season_amplitude=float(rng.uniform(0.05, 0.35)), handle_trend=float(rng.choice([0.0, 0.0, -0.01])),
    )
    if not with_surveys:
        sample = dataclasses.replace(sample, surveys=sample.surveys.iloc[:0])
    return MixedClient(sample, float(rng.choice([0.08, 0.10, 0.12])), float(rng.choice([0.05, 0.10, 0.15])), horizon, baseline, tracked)


def shape_of(client: MixedClient) -> tuple:
    """What the workbook's layout depends on: currency, months tracked,
    horizon, leads, proxies and surveys present."""
    s = client.sample
    return (s.currency, client.tracked_months, client.horizon_months, "leads" in s.kpis, s.proxies is not None, len(s.surveys) > 0)


def write_mixed_portfolio(folder: Path, n: int, seed: int = 0) -> Path:
    """Write ``n`` mixed clients as a batch input folder: clients, kpis,
    costs, surveys and proxies CSVs and fx.csv. Written in blocks of 500
    clients, so large portfolios do not need their tables in memory."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = ("clients", "kpis", "costs", "surveys", "proxies")
    for start in range(0, n, 500):
        clients = [mixed_client(i, seed) for i in range(start, min(n, start + 500))]
        tables = {
            "clients": pd.DataFrame([c.record() for c in clients]),
            "kpis": _first(pd.concat([c.sample.kpis.assign(client_id=c.sample.client_id) for c in clients])),
            "costs": _first(pd.concat([c.sample.costs.assign(client_id=c.sample.client_id) for c in clients])),
            "surveys": _first(pd.concat([c.sample.surveys.assign(client_id=c.sample.client_id) for c in clients])),
            "proxies": _first(pd.concat([c.sample.proxies.assign(client_id=c.sample.client_id) for c in clients if c.sample.proxies is not None]
                                        or [pd.DataFrame(columns=["name", "monthly_value", "first_month", "last_month", "confidence", "client_id"])])),
        }
        for column in ("leads", "won"):  # blank for the clients without them
            if column not in tables["kpis"]:
                tables["kpis"][column] = np.nan
            tables["kpis"][column] = tables["kpis"][column].astype("Int64")
        tables["kpis"] = tables["kpis"][["client_id", "month", *[c for c in tables["kpis"] if c not in ("client_id", "month")]]]
        for column in ("nps", "csat", "ces"):  # whole answers, blanks blank
            tables["surveys"][column] = tables["surveys"][column].astype("Int64")
        for name in names:
            tables[name].to_csv(folder / f"{name}.csv", mode="w" if start == 0 else "a", header=start == 0, index=False)
    pd.DataFrame({"currency": list(SAMPLE_FX_USD), "rate": list(SAMPLE_FX_USD.values())}).to_csv(folder / "fx.csv", index=False)
    return folder


def _first(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[["client_id"] + [c for c in frame.columns if c != "client_id"]]
