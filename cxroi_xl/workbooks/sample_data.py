"""Seeded, realistic fictional clients: the templates' example data, the
bundled sample batch and the benchmarks all come from here.

Every number is drawn from a ``numpy.random.Generator`` seeded by the
caller, so the same seed always gives the same client.

The clients behave as real small businesses do, so that the counterfactual
engine (:mod:`cxroi_xl.engine.counterfactual`) has something to tell apart:

* **churn is overdispersed**: each month's churn rate is itself drawn from a
  beta distribution around the client's rate, so the churned count varies
  about twice as much as a binomial count would (a bad delivery week, a
  price rise at a competitor);
* **customers are counted consistently**: active customers (at the end of
  the month) obey ``active[t] = active[t-1] + new[t] - churned[t]``, and new
  customers come from their own acquisition process (marketing, enquiries
  won), not from churn;
* **trends predate the automation** where asked: churn or handle time (hours
  per contact) may already be falling before go-live, contacts may be
  strongly seasonal (hours follow them), and a client may get no effect at
  all from the automation it pays for.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special

from ..engine.tracker import KPI_COLUMNS

__all__ = ["SampleClient", "synthetic_client", "synthetic_proxies", "SAMPLE_PROFILES", "SAMPLE_CLIENTS", "write_sample_batch"]


@dataclass(frozen=True)
class Profile:
    name: str
    contacts: tuple[int, int]  # monthly contacts, range
    handle_minutes: tuple[float, float]
    hourly_cost: tuple[float, float]
    customers: tuple[int, int]
    revenue_per_customer: tuple[float, float]
    licence: tuple[float, float]  # monthly automation cost
    implementation: tuple[float, float]  # one-off
    churn: tuple[float, float] = (0.015, 0.05)  # monthly churn rate before the automation
    gross_margin: float = 0.5  # typical fraction of revenue kept after the cost of sales


SAMPLE_PROFILES = {
    "bakery": Profile("bakery", (300, 700), (4, 7), (17, 21), (900, 2_000), (18, 30), (60, 150), (800, 2_500), churn=(0.02, 0.04), gross_margin=0.60),
    "ecommerce": Profile("ecommerce", (2_000, 9_000), (5, 9), (19, 26), (6_000, 30_000), (35, 80), (400, 1_500), (3_000, 12_000), churn=(0.03, 0.06), gross_margin=0.35),
    "saas": Profile("saas", (1_200, 4_000), (9, 16), (28, 45), (400, 2_500), (90, 400), (500, 2_000), (5_000, 20_000), churn=(0.01, 0.025), gross_margin=0.80),
    "clinic": Profile("clinic", (800, 2_500), (6, 10), (22, 30), (2_000, 6_000), (40, 90), (250, 800), (2_000, 8_000), churn=(0.01, 0.03), gross_margin=0.55),
    "agency": Profile("agency", (300, 1_200), (10, 18), (35, 60), (60, 300), (800, 3_000), (150, 600), (1_500, 6_000), churn=(0.01, 0.03), gross_margin=0.45),
    "hospitality": Profile("hospitality", (1_000, 5_000), (5, 8), (18, 24), (3_000, 15_000), (60, 150), (300, 1_200), (2_500, 9_000), churn=(0.04, 0.08), gross_margin=0.30),
}

GROSS_MARGIN_SPREAD = 0.04  # a client's margin lies within this of its profile's


@dataclass(frozen=True)
class SampleClient:
    """One fictional client's data in the batch input layout."""

    client_id: str
    client_name: str
    go_live: pd.Timestamp
    currency: str
    kpis: pd.DataFrame  # month (YYYY-MM) + KPI_COLUMNS
    costs: pd.DataFrame  # date, category, amount
    surveys: pd.DataFrame  # date, nps, csat, ces (blanks as NaN)
    proxies: pd.DataFrame | None = None  # name, monthly_value, first_month, last_month, confidence
    gross_margin: float = 0.5  # fraction of revenue kept after the cost of sales


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(*bounds))


def _ar1_noise(rng: np.random.Generator, n: int, sd: float, rho: float) -> np.ndarray:
    """Stationary AR(1) noise with marginal standard deviation ``sd``: a
    busy month's backlog spills into the next."""
    shocks = rng.normal(0.0, sd, n)
    noise = np.empty(n)
    noise[0] = shocks[0]
    for i in range(1, n):
        noise[i] = rho * noise[i - 1] + np.sqrt(1 - rho**2) * shocks[i]
    return noise


def _overdispersed(rng: np.random.Generator, trials: int, rate: float) -> int:
    """A count of ``trials`` with a beta-perturbed ``rate``: mean
    ``trials * rate``, variance twice the binomial's (beta-binomial with
    intra-class correlation 1 / (trials - 1))."""
    if trials <= 2:
        return int(rng.binomial(trials, rate))
    concentration = trials - 2.0  # 1 + (trials - 1) / (concentration + 1) = 2
    return int(rng.binomial(trials, rng.beta(rate * concentration, (1 - rate) * concentration)))


def synthetic_client(
    seed: int,
    profile: str = "ecommerce",
    client_id: str = "example",
    client_name: str = "Example Client Ltd",
    first_month: str = "2024-01",
    baseline_months: int = 12,
    post_months: int = 12,
    currency: str = "USD",
    surveys_per_month: int = 40,
    with_leads: bool = False,
    with_proxies: bool = False,
    effect: bool = True,
    automation_share: tuple[float, float] = (0.30, 0.60),
    churn_reduction: tuple[float, float] = (0.12, 0.30),
    handle_trend: float = 0.0,
    churn_trend: float = 0.0,
    season_amplitude: float = 0.15,
    counts_add_up: bool = True,
) -> SampleClient:
    """A fictional client whose automation goes live after ``baseline_months``.

    Contacts follow a seasonal pattern (``season_amplitude``) with noise;
    agent hours follow the contacts agents handle times the handle time,
    with autocorrelated noise. After go-live the share of contacts handled
    by automation ramps up over four months to ``automation_share`` (a
    range to draw from), agent hours fall with it, churn's odds fall by a
    fraction drawn from ``churn_reduction``, and satisfaction drifts a
    little (up for most clients, down for some).

    Customers: churned counts are overdispersed (about twice the binomial
    variance) around a rate drawn from the profile; new customers come from
    their own acquisition process (enquiries won plus other sign-ups,
    growing 0-1.5 % a month); active customers at each month's end obey
    ``active[t] = active[t-1] + new[t] - churned[t]`` exactly.

    Real businesses do not stand still before go-live: ``handle_trend`` is
    the change of the handle time (minutes per contact) each month over the
    whole period, as a fraction of its go-live level (e.g. -0.015: 1.5 % of
    it less every month, a knowledge base maturing), and ``churn_trend``
    the change of churn's log-odds each month. With ``effect=False`` the automation is paid for and answers
    some contacts, but agent hours, churn, the win rate, first-contact
    resolution and satisfaction all follow their baseline process. With
    ``counts_add_up=False`` the active customers after go-live follow the
    baseline's growth (as an export from another system might) instead of
    adding up from new and churned customers.

    ``with_leads`` adds monthly ``leads`` and ``won`` (the win rate rises a
    little after go-live; the customers won are among the new customers)
    and ``with_proxies`` estimates for intangibles (:func:`synthetic_proxies`);
    both draw from their own generators, so the other figures are the same
    with or without them. ``gross_margin`` is the profile's, give or take
    0.04.
    """
    rng = np.random.default_rng(seed)
    spec = SAMPLE_PROFILES[profile]
    n = baseline_months + post_months
    t = np.arange(n)
    months = pd.period_range(first_month, periods=n, freq="M")
    season = 1 + season_amplitude * np.sin(2 * np.pi * (months.month.to_numpy() - 3) / 12)
    contacts = np.round(_uniform(rng, spec.contacts) * season * rng.normal(1, 0.05, n)).astype(int)
    contacts = np.maximum(contacts, 50)
    ramp = np.clip((t - baseline_months + 1) / 4, 0, 1)
    automated = np.round(contacts * _uniform(rng, automation_share) * ramp).astype(int)
    worked = contacts - automated if effect else contacts  # without effect agents still handle every contact
    # minutes per contact at go-live, changing by handle_trend of that each month
    minutes = _uniform(rng, spec.handle_minutes) * np.maximum(1 + handle_trend * (t - baseline_months), 0.3)
    agent_hours = np.round(worked * minutes / 60 * (1 + _ar1_noise(rng, n, 0.03, 0.3)), 1)
    hourly_cost = np.round(_uniform(rng, spec.hourly_cost) * (1 + 0.002 * t), 2)
    effect_ramp = ramp if effect else np.zeros(n)
    fcr_rate = np.clip(_uniform(rng, (0.62, 0.78)) + 0.06 * effect_ramp * rng.choice([1, 1, 1, -0.5]) + rng.normal(0, 0.015, n), 0.3, 0.97)
    fcr = np.round(contacts * fcr_rate).astype(int)

    # customers: churn from its own (overdispersed) process, acquisition from another
    stock = int(round(_uniform(rng, spec.customers)))
    churn0 = _uniform(rng, spec.churn)
    reduction = _uniform(rng, churn_reduction) * effect_ramp
    churn_rate = special.expit(special.logit(churn0) + churn_trend * (t - baseline_months) + np.log1p(-reduction))
    growth = _uniform(rng, (0.0, 0.015))
    acquisition = stock * (churn0 + growth) * (1 + growth) ** t * (1 + (season - 1) / 2)
    enquiries = _leads_and_wins(seed, stock, season, effect_ramp)
    won = enquiries["won"]
    others = rng.poisson(np.maximum(acquisition - won, 0.3 * acquisition) * rng.gamma(150, 1 / 150, n))
    new = won + others
    active = np.empty(n, dtype=int)
    churned = np.empty(n, dtype=int)
    for i in range(n):
        churned[i] = _overdispersed(rng, stock, float(churn_rate[i]))
        stock = stock + int(new[i]) - churned[i]
        active[i] = stock
    if not counts_add_up and post_months:
        # the post months' count grows as the baseline's did, whatever churn did
        b = max(baseline_months, 2)
        monthly_growth = (active[b - 1] / active[0]) ** (1 / (b - 1))
        active[baseline_months:] = np.round(active[baseline_months - 1] * monthly_growth ** (t[baseline_months:] - baseline_months + 1)).astype(int)
    revenue = np.round(active * _uniform(rng, spec.revenue_per_customer) * season * rng.normal(1, 0.02, n), 2)
    licence = round(_uniform(rng, spec.licence), -1)
    automation_cost = np.where(t >= baseline_months, licence, 0.0)

    kpis = pd.DataFrame(
        {
            "month": months.strftime("%Y-%m"),
            "contacts": contacts,
            "automated_contacts": automated,
            "agent_hours": agent_hours,
            "hourly_cost": hourly_cost,
            "first_contact_resolutions": fcr,
            "active_customers": active,
            "new_customers": new,
            "churned_customers": churned,
            "revenue": revenue,
            "automation_cost": automation_cost,
        }
    )[["month", *KPI_COLUMNS]]

    go_live = months[baseline_months].to_timestamp()
    implementation = round(_uniform(rng, spec.implementation), -1)
    costs = pd.DataFrame(
        {
            "date": [go_live - pd.Timedelta(days=45), go_live - pd.Timedelta(days=10), go_live + pd.Timedelta(days=14), go_live + pd.DateOffset(months=6)],
            "category": ["implementation", "integration", "training", "other"],
            "amount": [implementation, round(implementation * 0.4, -1), round(implementation * 0.15, -1), round(implementation * 0.1, -1)],
        }
    )
    costs["date"] = costs["date"].dt.strftime("%Y-%m-%d")

    drift = rng.choice([0.6, 0.4, 0.25, -0.3]) if effect else 0.0
    rows = []
    for i, month in enumerate(months):
        lift = drift * ramp[i]
        count = int(rng.poisson(surveys_per_month))
        days = rng.integers(0, month.days_in_month, count)
        nps = np.clip(np.round(rng.normal(7.2 + lift, 2.0, count)), 0, 10)
        csat = np.clip(np.round(rng.normal(3.8 + lift / 2, 0.9, count)), 1, 5)
        ces = np.clip(np.round(rng.normal(3.4 - lift / 2, 1.2, count)), 1, 7)
        # Not every respondent answers every question.
        csat[rng.random(count) < 0.2] = np.nan
        ces[rng.random(count) < 0.35] = np.nan
        dates = month.to_timestamp() + pd.to_timedelta(days, unit="D")
        rows.append(pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "nps": nps, "csat": csat, "ces": ces}))
    surveys = pd.concat(rows, ignore_index=True).sort_values("date", kind="stable").reset_index(drop=True)
    if with_leads:
        kpis = kpis.assign(**enquiries)
    proxies = synthetic_proxies(seed, go_live, licence) if with_proxies else None
    margin = round(spec.gross_margin + float(np.random.default_rng([seed, 3]).uniform(-GROSS_MARGIN_SPREAD, GROSS_MARGIN_SPREAD)), 2)
    return SampleClient(client_id, client_name, go_live, currency, kpis, costs, surveys, proxies, margin)


def _leads_and_wins(seed: int, customers: float, season: np.ndarray, ramp: np.ndarray) -> dict[str, np.ndarray]:
    """Monthly enquiries from prospects and how many became customers: about
    3-10 % of the starting customer base enquires each month, 15-35 % of
    them buy (overdispersed: twice the binomial variance), and quicker
    answers after go-live lift that by 1-4 points (``ramp`` 0 before
    go-live, 1 once the automation is in full use)."""
    rng = np.random.default_rng([seed, 1])  # its own stream: the other figures do not move
    n = ramp.size
    leads = np.maximum(np.round(customers * rng.uniform(0.03, 0.10) * season * rng.normal(1, 0.06, n)), 5).astype(int)
    win_rate = rng.uniform(0.15, 0.35) + rng.uniform(0.01, 0.04) * ramp
    won = np.array([_overdispersed(rng, int(k), float(p)) for k, p in zip(leads, win_rate)], dtype=int)
    return {"leads": leads, "won": won}


def synthetic_proxies(seed: int, go_live: pd.Timestamp, licence: float) -> pd.DataFrame:
    """Estimated monthly value of what the automation improves but no KPI
    counts: lower agent turnover (from three months after go-live, open
    ended), fewer escalations to the owner (two years) and, for some
    clients, a better brand; each with the confidence a consultant would
    give it.

    Examples
    --------
    >>> synthetic_proxies(5, pd.Timestamp("2025-01-01"), 500.0).columns.tolist()
    ['name', 'monthly_value', 'first_month', 'last_month', 'confidence']
    """
    rng = np.random.default_rng([seed, 2])
    month = go_live.to_period("M")
    rows = [
        ("Lower agent turnover", round(licence * rng.uniform(0.3, 0.8), -1), month + 3, None, 0.5),
        ("Fewer escalations to the owner", round(licence * rng.uniform(0.2, 0.5), -1), month, month + 23, 0.7),
    ]
    if rng.random() < 0.5:
        rows.append(("Brand and word of mouth", round(licence * rng.uniform(0.2, 0.6), -1), month + 6, month + 35, 0.3))
    return pd.DataFrame(
        {
            "name": [r[0] for r in rows],
            "monthly_value": [r[1] for r in rows],
            "first_month": [r[2].strftime("%Y-%m") for r in rows],
            "last_month": [None if r[3] is None else r[3].strftime("%Y-%m") for r in rows],
            "confidence": [r[4] for r in rows],
        }
    )


# The bundled sample batch: fictional small businesses, one profile each.
SAMPLE_CLIENTS = [
    ("rose-bakery", "Rose & Crumb Bakery", "bakery", "GBP"),
    ("northwind-shop", "Northwind Outdoor Shop", "ecommerce", "USD"),
    ("ledgerly", "Ledgerly (SaaS bookkeeping)", "saas", "USD"),
    ("smile-dental", "Smile Street Dental", "clinic", "USD"),
    ("pixel-agency", "Pixel & Pine Agency", "agency", "EUR"),
    ("harbor-hotel", "Harbor View Hotel", "hospitality", "USD"),
    ("bean-there", "Bean There Coffee Roasters", "ecommerce", "USD"),
    ("petpal", "PetPal Supplies", "ecommerce", "CAD"),
    ("fitfuel", "FitFuel Nutrition", "ecommerce", "AUD"),
    ("cloudnest", "CloudNest Hosting", "saas", "EUR"),
    ("tinytots", "Tiny Tots Toys", "ecommerce", "GBP"),
    ("greenleaf-vet", "Greenleaf Veterinary", "clinic", "GBP"),
    ("urban-bikes", "Urban Bikes Repair", "bakery", "EUR"),
    ("shiftly", "Shiftly Rostering", "saas", "USD"),
    ("casa-tapas", "Casa Tapas Restaurant", "hospitality", "EUR"),
    ("brightpath", "BrightPath Tutoring", "agency", "USD"),
    ("velvet-boutique", "Velvet Boutique", "ecommerce", "USD"),
    ("medcare-physio", "MedCare Physio", "clinic", "AUD"),
    ("quickfix-it", "QuickFix IT Support", "agency", "USD"),
    ("sunny-stays", "Sunny Stays B&B", "hospitality", "GBP"),
    ("formflow", "FormFlow Forms", "saas", "USD"),
    ("artisan-cheese", "Artisan Cheese Co.", "bakery", "CHF"),
    ("gearhub", "GearHub Electronics", "ecommerce", "EUR"),
    ("homely-hvac", "Homely Heating & Air", "agency", "USD"),
    ("bookworm", "Bookworm Corner", "bakery", "USD"),
]


# How long each sample client has tracked before and after go-live, and
# what sets it apart; every client's data end in SAMPLE_LAST_MONTH. Baselines
# run from 6 to 36 months and post periods from 3 to 24, as a consultant's
# portfolio does: some clients kept two or three years of history, some
# started measuring only months before go-live.
SAMPLE_LAST_MONTH = "2025-12"
SAMPLE_SCENARIOS: dict[str, dict] = {
    "rose-bakery": dict(baseline_months=18, post_months=12),
    # churn falls after go-live, but the active customers exported from the
    # shop system just keep the baseline's growth: the counts do not add up
    "northwind-shop": dict(baseline_months=24, post_months=12, churn_reduction=(0.40, 0.50), counts_add_up=False),
    "ledgerly": dict(baseline_months=24, post_months=12),
    # handle time already fell 1.5 % a month before go-live (a maturing
    # knowledge base) and the bot answers little: a naive before/after
    # saving is mostly that trend
    "smile-dental": dict(baseline_months=24, post_months=18, handle_trend=-0.015, automation_share=(0.06, 0.10)),
    "pixel-agency": dict(baseline_months=9, post_months=6),  # too short a baseline for a counterfactual
    "harbor-hotel": dict(baseline_months=36, post_months=18, season_amplitude=0.35),  # seasonal contacts, hours follow
    "bean-there": dict(baseline_months=12, post_months=12),
    "petpal": dict(baseline_months=15, post_months=9),
    "fitfuel": dict(baseline_months=30, post_months=6),
    # churn already falling before go-live (annual plans, better onboarding)
    "cloudnest": dict(baseline_months=24, post_months=12, churn_trend=-0.025, churn_reduction=(0.0, 0.05)),
    "tinytots": dict(baseline_months=14, post_months=3, season_amplitude=0.30),
    "greenleaf-vet": dict(baseline_months=20, post_months=10),
    "urban-bikes": dict(baseline_months=12, post_months=24, season_amplitude=0.30),
    "shiftly": dict(baseline_months=36, post_months=24),
    "casa-tapas": dict(baseline_months=30, post_months=12, season_amplitude=0.35),
    "brightpath": dict(baseline_months=18, post_months=8, handle_trend=-0.008),
    # pays for the automation, gets nothing: hours, churn and win rate follow the baseline
    "velvet-boutique": dict(baseline_months=24, post_months=12, effect=False, automation_share=(0.08, 0.12)),
    "medcare-physio": dict(baseline_months=16, post_months=5),
    "quickfix-it": dict(baseline_months=13, post_months=11),
    "sunny-stays": dict(baseline_months=36, post_months=12, season_amplitude=0.40),
    "formflow": dict(baseline_months=6, post_months=12),  # started measuring just before go-live
    "artisan-cheese": dict(baseline_months=27, post_months=15),
    "gearhub": dict(baseline_months=21, post_months=12, churn_trend=-0.01),
    "homely-hvac": dict(baseline_months=12, post_months=3, season_amplitude=0.30),
    "bookworm": dict(baseline_months=33, post_months=20),
}
NO_EFFECT_CLIENT = "velvet-boutique"
NOT_CORROBORATED_CLIENT = "northwind-shop"
FALLING_HANDLE_TIME_CLIENT = "smile-dental"
FALLING_CHURN_CLIENT = "cloudnest"


def sample_first_month(client_id: str) -> str:
    """The first KPI month (YYYY-MM) of a sample client."""
    scenario = SAMPLE_SCENARIOS[client_id]
    months = scenario["baseline_months"] + scenario["post_months"]
    return (pd.Period(SAMPLE_LAST_MONTH, "M") - (months - 1)).strftime("%Y-%m")


def sample_client(i: int) -> SampleClient:
    """The ``i``-th client of :data:`SAMPLE_CLIENTS` as the sample batch holds
    it (every other client has leads and won, two in three have proxies)."""
    client_id, name, profile, currency = SAMPLE_CLIENTS[i]
    return synthetic_client(
        seed=1000 + i, profile=profile, client_id=client_id, client_name=name, currency=currency,
        first_month=sample_first_month(client_id), surveys_per_month=25 + (i % 5) * 10,
        with_leads=i % 2 == 0, with_proxies=i % 3 != 1, **SAMPLE_SCENARIOS[client_id],
    )


def write_sample_batch(out_dir: Path) -> Path:
    """Write the bundled sample batch: clients (with each client's gross
    margin and, for the clients with orders, their acquisition spend), kpis,
    costs, surveys and proxies CSVs (every other client has leads and won,
    two in three have proxies), transactions and journeys for some clients,
    and fx rates."""
    out_dir = Path(out_dir)
    transactions, journeys = sample_orders_and_journeys()
    spend = sample_acquisition_spend(transactions)
    clients, kpis, costs, surveys, proxies = [], [], [], [], []
    for i, (client_id, name, profile, currency) in enumerate(SAMPLE_CLIENTS):
        client = sample_client(i)
        clients.append({
            "client_id": client_id,
            "client_name": name,
            "go_live": client.go_live.strftime("%Y-%m-%d"),
            "currency": currency,
            "discount_rate": [0.08, 0.10, 0.12][i % 3],
            "benefit_risk": [0.10, 0.15, 0.05][i % 3],
            "cost_risk": 0.05,
            "gross_margin": client.gross_margin,
            "acquisition_spend": spend.get(client_id),  # blank for clients without orders
        })
        kpis.append(client.kpis.assign(client_id=client_id))
        if client.proxies is not None:
            proxies.append(client.proxies.assign(client_id=client_id))
        costs.append(client.costs.assign(client_id=client_id))
        surveys.append(client.surveys.assign(client_id=client_id))
    out_dir.mkdir(parents=True, exist_ok=True)

    def first(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[["client_id"] + [c for c in frame.columns if c != "client_id"]]

    pd.DataFrame(clients).to_csv(out_dir / "clients.csv", index=False)
    monthly = first(pd.concat(kpis))
    monthly[["leads", "won"]] = monthly[["leads", "won"]].astype("Int64")  # blank for clients without them
    monthly.to_csv(out_dir / "kpis.csv", index=False)
    first(pd.concat(proxies)).to_csv(out_dir / "proxies.csv", index=False)
    first(pd.concat(costs)).to_csv(out_dir / "costs.csv", index=False)
    # Whole-number answers written without a decimal point; blanks stay blank.
    answers = first(pd.concat(surveys))
    for column in ("nps", "csat", "ces"):
        answers[column] = answers[column].astype("Int64")
    answers.to_csv(out_dir / "surveys.csv", index=False)
    transactions.to_csv(out_dir / "transactions.csv", index=False)
    journeys.to_csv(out_dir / "journeys.csv", index=False)
    write_sample_fx(out_dir)
    return out_dir


__all__ += ["SAMPLE_SCENARIOS", "SAMPLE_LAST_MONTH", "NO_EFFECT_CLIENT", "NOT_CORROBORATED_CLIENT", "FALLING_HANDLE_TIME_CLIENT", "FALLING_CHURN_CLIENT", "sample_first_month", "sample_client"]


# --------------------------------------------------------------------------
# Orders and journeys for the customer-value and attribution templates


def synthetic_transactions(
    seed: int,
    n_customers: int = 250,
    first_day: str = "2024-01-01",
    acquisition_months: int = 12,
    observation_months: int = 18,
    max_purchases: int = 40,
) -> pd.DataFrame:
    """Fictional orders of a small online shop: ``customer_id, date, amount``.

    Customers arrive at random during the first ``acquisition_months`` and
    then buy as the BG/NBD and Gamma-Gamma models assume (Fader, Hardie & Lee
    2005): while alive a customer orders at a weekly rate
    lambda ~ Gamma(0.9, 1/6) (about one order every seven weeks), and after
    each order drops out with probability p ~ Beta(0.8, 3.5); her orders are
    worth Gamma(6, nu) with nu ~ Gamma(4, 1/20) (about 40 on average).
    Orders after ``observation_months`` are not observed. Rows are sorted by
    date, then customer, so the same seed gives the same table.

    Examples
    --------
    >>> orders = synthetic_transactions(seed=7, n_customers=20)
    >>> orders.columns.tolist(), orders["customer_id"].nunique()
    (['customer_id', 'date', 'amount'], 20)
    >>> orders.equals(synthetic_transactions(seed=7, n_customers=20))
    True
    """
    rng = np.random.default_rng(seed)
    start = pd.Timestamp(first_day)
    acquisition_days = (start + pd.DateOffset(months=acquisition_months) - start).days
    observed_days = (start + pd.DateOffset(months=observation_months) - start).days
    first_order = np.sort(rng.integers(0, acquisition_days, n_customers))
    rate_per_day = rng.gamma(0.9, 1 / 6, n_customers) / 7
    dropout = rng.beta(0.8, 3.5, n_customers)
    # Orders 0..G-1 happen, G ~ Geometric(p): she leaves right after order G-1.
    orders_while_alive = np.minimum(rng.geometric(np.maximum(dropout, 1e-12)), max_purchases)
    gaps = rng.exponential(1.0, (n_customers, max_purchases)) / rate_per_day[:, None]
    gaps[:, 0] = 0.0
    day = first_order[:, None] + np.floor(np.cumsum(gaps, axis=1))
    placed = (np.arange(max_purchases)[None, :] < orders_while_alive[:, None]) & (day < observed_days)
    spend_scale = rng.gamma(4.0, 1 / 20, n_customers)  # nu of each customer
    amount = rng.gamma(6.0, 1.0, (n_customers, max_purchases)) / spend_scale[:, None]
    customer, _ = np.nonzero(placed)
    orders = pd.DataFrame(
        {
            "customer_id": np.char.add("C", np.char.zfill((customer + 1).astype(str), 4)),
            "date": start + pd.to_timedelta(day[placed], unit="D"),
            "amount": np.round(amount[placed], 2),
        }
    )
    return orders.sort_values(["date", "customer_id"], kind="stable").reset_index(drop=True)


JOURNEY_CHANNELS = ("search", "social", "email", "chatbot", "referral")


def synthetic_journeys(seed: int, n_journeys: int = 6_000, max_touches: int = 4) -> pd.DataFrame:
    """Fictional customer journeys, aggregated as attribution tools expect:
    ``path, conversions, value, nulls``, one row per distinct path.

    Journeys start mostly with search or social and later touches are
    mostly email, the chatbot or referrals; each has 1..``max_touches``
    touches. The chance to convert grows with the touches and with the
    channels met (the chatbot and referrals help most); a conversion is
    worth about 90. Rows are sorted by the number of journeys, most first,
    then by path.

    Examples
    --------
    >>> journeys = synthetic_journeys(seed=3, n_journeys=500)
    >>> journeys.columns.tolist()
    ['path', 'conversions', 'value', 'nulls']
    >>> int(journeys["conversions"].sum() + journeys["nulls"].sum())
    500
    """
    rng = np.random.default_rng(seed)
    k = len(JOURNEY_CHANNELS)
    opening = np.array([0.45, 0.32, 0.08, 0.05, 0.10])
    follow_up = np.array([0.16, 0.10, 0.30, 0.26, 0.18])
    lift = np.array([0.03, 0.02, 0.05, 0.09, 0.08])  # conversion probability each channel adds
    lengths = np.minimum(1 + rng.poisson(0.9, n_journeys), max_touches)
    touches = np.where(
        np.arange(max_touches)[None, :] == 0,
        rng.choice(k, (n_journeys, max_touches), p=opening),
        rng.choice(k, (n_journeys, max_touches), p=follow_up),
    )
    present = np.arange(max_touches)[None, :] < lengths[:, None]
    met = np.zeros((n_journeys, k), dtype=bool)
    np.put_along_axis(met, np.where(present, touches, 0), True, axis=1)
    met[:, 0] &= (present & (touches == 0)).any(axis=1)  # channel 0 was only marked by padding
    probability = np.clip(0.02 + 0.015 * lengths + met @ lift, 0, 0.9)
    converted = rng.random(n_journeys) < probability
    value = np.where(converted, np.round(rng.lognormal(np.log(80), 0.5, n_journeys), 2), 0.0)
    # One integer per path (base k+1 digits, 0 = no touch) to group without strings.
    digits = np.where(present, touches + 1, 0)
    code = digits @ (k + 1) ** np.arange(max_touches)[::-1]
    codes, path_of_journey = np.unique(code, return_inverse=True)
    conversions = np.bincount(path_of_journey, weights=converted, minlength=codes.size)
    nulls = np.bincount(path_of_journey, weights=~converted, minlength=codes.size)
    values = np.bincount(path_of_journey, weights=value, minlength=codes.size)
    first_journey = np.unique(path_of_journey, return_index=True)[1]
    paths = [" > ".join(JOURNEY_CHANNELS[c] for c in row[:n]) for row, n in zip(touches[first_journey], lengths[first_journey])]
    journeys = pd.DataFrame({"path": paths, "conversions": conversions, "value": np.round(values, 2), "nulls": nulls})
    busiest_first = journeys.assign(journeys=-(conversions + nulls)).sort_values(["journeys", "path"], kind="stable")
    return busiest_first.drop(columns="journeys").reset_index(drop=True)


__all__ += ["synthetic_transactions", "synthetic_journeys", "JOURNEY_CHANNELS"]


# --------------------------------------------------------------------------
# The sample batch's orders and journeys: for the customer-value and
# attribution templates. Only some clients have them, as in real life (a
# clinic has no web shop); the others are built with the ROI template only.

# The sample clients with an order history / with tracked journeys.
ORDER_CLIENTS = ("northwind-shop", "ledgerly", "harbor-hotel", "bean-there", "fitfuel", "cloudnest")
JOURNEY_CLIENTS = ("northwind-shop", "pixel-agency", "petpal", "shiftly", "quickfix-it", "gearhub")


def sample_orders_and_journeys() -> tuple[pd.DataFrame, pd.DataFrame]:
    """``transactions`` (client_id, customer_id, date, amount) and ``journeys``
    (client_id, path, conversions, value, nulls) of the bundled sample batch.

    Orders span the client's tracked months (customers acquired during the
    first 12). Seeded per client, like :func:`write_sample_batch`.
    """
    orders, journeys = [], []
    for i, (client_id, _name, _profile, _currency) in enumerate(SAMPLE_CLIENTS):
        first_day = sample_first_month(client_id) + "-01"  # the client's first KPI month
        scenario = SAMPLE_SCENARIOS[client_id]
        tracked = scenario["baseline_months"] + scenario["post_months"]
        rng = np.random.default_rng(5000 + i)
        if client_id in ORDER_CLIENTS:
            frame = synthetic_transactions(seed=2000 + i, n_customers=int(rng.integers(150, 400)), first_day=first_day, acquisition_months=min(12, tracked), observation_months=tracked)
            orders.append(frame.assign(client_id=client_id, date=frame["date"].dt.strftime("%Y-%m-%d")))
        if client_id in JOURNEY_CLIENTS:
            journeys.append(synthetic_journeys(seed=3000 + i, n_journeys=int(rng.integers(1_500, 6_000))).assign(client_id=client_id))
    order_columns = ["client_id", "customer_id", "date", "amount"]
    journey_columns = ["client_id", "path", "conversions", "value", "nulls"]
    transactions = pd.concat(orders, ignore_index=True)[order_columns]
    paths = pd.concat(journeys, ignore_index=True)[journey_columns].astype({"conversions": int, "nulls": int})
    return transactions, paths


def sample_acquisition_spend(transactions: pd.DataFrame) -> dict[str, float]:
    """Each sample client with orders: its acquisition spend over its
    orders' window (first to last order), in its currency. The customers in
    its ``transactions`` times a cost per customer of 1.5 to 6 months of its
    profile's revenue per customer, rounded to hundreds; drawn from each
    client's own generator, so no other figure moves.

    Examples
    --------
    >>> orders = pd.DataFrame({"client_id": ["ledgerly"] * 3, "customer_id": ["a", "a", "b"]})
    >>> spend = sample_acquisition_spend(orders)["ledgerly"]
    >>> 2 * 245 * 1.5 <= spend <= 2 * 245 * 6  # 2 customers, revenue 90..400 a month
    True
    """
    customers = transactions.groupby("client_id")["customer_id"].nunique()
    spend = {}
    for i, (client_id, _name, profile, _currency) in enumerate(SAMPLE_CLIENTS):
        if client_id in customers.index:
            rng = np.random.default_rng([1000 + i, 4])  # the client's seed, a stream of its own
            monthly_revenue = float(np.mean(SAMPLE_PROFILES[profile].revenue_per_customer))
            spend[client_id] = float(round(int(customers[client_id]) * monthly_revenue * rng.uniform(1.5, 6.0), -2))
    return spend


def write_sample_orders_and_journeys(out_dir: Path) -> Path:
    """Write ``transactions.csv`` and ``journeys.csv`` of the sample batch."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    transactions, journeys = sample_orders_and_journeys()
    transactions.to_csv(out_dir / "transactions.csv", index=False)
    journeys.to_csv(out_dir / "journeys.csv", index=False)
    return out_dir


def clients_with(data_dir: Path, table: str, out_dir: Path) -> list[str]:
    """Copy the batch in ``data_dir`` to ``out_dir``, keeping only the clients
    that have rows in ``table`` (e.g. ``transactions``); every CSV with a
    ``client_id`` column is filtered, other files are copied as they are.
    Returns the clients kept."""
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    keep = set(pd.read_csv(data_dir / f"{table}.csv", usecols=["client_id"], dtype=str)["client_id"])
    out_dir.mkdir(parents=True, exist_ok=True)
    kept: list[str] = []
    for path in sorted(data_dir.glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "client_id" in frame.columns:
            frame = frame[frame["client_id"].isin(keep)]
            if path.stem == "clients":
                kept = frame["client_id"].tolist()
        frame.to_csv(out_dir / path.name, index=False)
    return kept


# Illustrative exchange rates for the sample batch's portfolio (US dollars
# per unit, rounded; not market data): fx.csv converts the per-currency
# totals into one reporting currency.
SAMPLE_FX_USD = {"AUD": 0.65, "CAD": 0.72, "CHF": 1.12, "EUR": 1.08, "GBP": 1.27, "USD": 1.0}


def write_sample_fx(out_dir: Path) -> Path:
    """Write ``fx.csv`` (currency, rate: USD per unit) of the sample batch."""
    path = Path(out_dir) / "fx.csv"
    pd.DataFrame({"currency": list(SAMPLE_FX_USD), "rate": list(SAMPLE_FX_USD.values())}).to_csv(path, index=False)
    return path


__all__ += ["SAMPLE_FX_USD", "write_sample_fx", "ORDER_CLIENTS", "JOURNEY_CLIENTS", "sample_orders_and_journeys", "sample_acquisition_spend", "write_sample_orders_and_journeys", "clients_with"]
