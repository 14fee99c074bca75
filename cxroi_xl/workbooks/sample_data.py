"""Seeded, realistic fictional clients: the templates' example data, the
bundled sample batch and the benchmarks all come from here.

Every number is drawn from a ``numpy.random.Generator`` seeded by the
caller, so the same seed always gives the same client.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

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


SAMPLE_PROFILES = {
    "bakery": Profile("bakery", (300, 700), (4, 7), (17, 21), (900, 2_000), (18, 30), (60, 150), (800, 2_500)),
    "ecommerce": Profile("ecommerce", (2_000, 9_000), (5, 9), (19, 26), (6_000, 30_000), (35, 80), (400, 1_500), (3_000, 12_000)),
    "saas": Profile("saas", (1_200, 4_000), (9, 16), (28, 45), (400, 2_500), (90, 400), (500, 2_000), (5_000, 20_000)),
    "clinic": Profile("clinic", (800, 2_500), (6, 10), (22, 30), (2_000, 6_000), (40, 90), (250, 800), (2_000, 8_000)),
    "agency": Profile("agency", (300, 1_200), (10, 18), (35, 60), (60, 300), (800, 3_000), (150, 600), (1_500, 6_000)),
    "hospitality": Profile("hospitality", (1_000, 5_000), (5, 8), (18, 24), (3_000, 15_000), (60, 150), (300, 1_200), (2_500, 9_000)),
}


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


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(*bounds))


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
) -> SampleClient:
    """A fictional client whose automation goes live after ``baseline_months``.

    Contacts follow a seasonal pattern with noise; after go-live the share
    handled by automation ramps up to 30-60 %, agent hours fall with it, and
    satisfaction drifts a little (up for most clients, down for some).
    ``with_leads`` adds monthly ``leads`` and ``won`` (the win rate rises a
    little after go-live) and ``with_proxies`` estimates for intangibles
    (:func:`synthetic_proxies`); both draw from their own generators, so the
    other figures are the same with or without them.
    """
    rng = np.random.default_rng(seed)
    spec = SAMPLE_PROFILES[profile]
    n = baseline_months + post_months
    months = pd.period_range(first_month, periods=n, freq="M")
    season = 1 + 0.15 * np.sin(2 * np.pi * (months.month.to_numpy() - 3) / 12)
    contacts = np.round(_uniform(rng, spec.contacts) * season * rng.normal(1, 0.05, n)).astype(int)
    contacts = np.maximum(contacts, 50)
    ramp = np.clip((np.arange(n) - baseline_months + 1) / 4, 0, 1)
    automation_share = _uniform(rng, (0.30, 0.60)) * ramp
    automated = np.round(contacts * automation_share).astype(int)
    minutes = _uniform(rng, spec.handle_minutes)
    agent_hours = np.round((contacts - automated) * minutes / 60 * rng.normal(1, 0.03, n), 1)
    hourly_cost = np.round(_uniform(rng, spec.hourly_cost) * (1 + 0.002 * np.arange(n)), 2)
    fcr_rate = np.clip(_uniform(rng, (0.62, 0.78)) + 0.06 * ramp * rng.choice([1, 1, 1, -0.5]) + rng.normal(0, 0.015, n), 0.3, 0.97)
    fcr = np.round(contacts * fcr_rate).astype(int)
    active0 = _uniform(rng, spec.customers)
    churn = np.clip(_uniform(rng, (0.015, 0.05)) - 0.006 * ramp + rng.normal(0, 0.002, n), 0.002, 0.2)
    growth = _uniform(rng, (0.0, 0.02))
    active = np.round(active0 * (1 + growth) ** np.arange(n)).astype(int)
    churned = np.round(active * churn).astype(int)
    new = np.maximum(np.round(active * (churn + growth) + rng.normal(0, 3, n)), 0).astype(int)
    revenue = np.round(active * _uniform(rng, spec.revenue_per_customer) * season, 2)
    licence = round(_uniform(rng, spec.licence), -1)
    automation_cost = np.where(np.arange(n) >= baseline_months, licence, 0.0)

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

    drift = rng.choice([0.6, 0.4, 0.25, -0.3])
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
        kpis = kpis.assign(**_leads_and_wins(seed, active, season, ramp))
    proxies = synthetic_proxies(seed, go_live, licence) if with_proxies else None
    return SampleClient(client_id, client_name, go_live, currency, kpis, costs, surveys, proxies)


def _leads_and_wins(seed: int, active: np.ndarray, season: np.ndarray, ramp: np.ndarray) -> dict[str, np.ndarray]:
    """Monthly enquiries from prospects and how many became customers: about
    3-10 % of the customer base enquires each month, 15-35 % of them buy,
    and quicker answers after go-live lift that by 0.5-2 points."""
    rng = np.random.default_rng([seed, 1])  # its own stream: the other figures do not move
    n = active.size
    leads = np.maximum(np.round(active[0] * rng.uniform(0.03, 0.10) * season * rng.normal(1, 0.06, n)), 5).astype(int)
    win_rate = rng.uniform(0.15, 0.35) + rng.uniform(0.005, 0.02) * ramp
    return {"leads": leads, "won": rng.binomial(leads, win_rate)}


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


def write_sample_batch(out_dir: Path) -> Path:
    """Write the bundled sample batch: clients, kpis, costs, surveys and
    proxies CSVs (every other client has leads and won, two in three have
    proxies), transactions and journeys for some clients, and fx rates."""
    out_dir = Path(out_dir)
    clients, kpis, costs, surveys, proxies = [], [], [], [], []
    for i, (client_id, name, profile, currency) in enumerate(SAMPLE_CLIENTS):
        client = synthetic_client(seed=1000 + i, profile=profile, client_id=client_id, client_name=name, currency=currency, first_month="2023-07" if i % 3 == 0 else "2024-01", surveys_per_month=25 + (i % 5) * 10, with_leads=i % 2 == 0, with_proxies=i % 3 != 1)
        clients.append({
            "client_id": client_id,
            "client_name": name,
            "go_live": client.go_live.strftime("%Y-%m-%d"),
            "currency": currency,
            "discount_rate": [0.08, 0.10, 0.12][i % 3],
            "benefit_risk": [0.10, 0.15, 0.05][i % 3],
            "cost_risk": 0.05,
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
    write_sample_orders_and_journeys(out_dir)
    write_sample_fx(out_dir)
    return out_dir


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

    Orders span the client's 24 tracked months (customers acquired during
    the first 12). Seeded per client, like :func:`write_sample_batch`.
    """
    orders, journeys = [], []
    for i, (client_id, _name, _profile, _currency) in enumerate(SAMPLE_CLIENTS):
        first_day = "2023-07-01" if i % 3 == 0 else "2024-01-01"  # the client's first KPI month
        rng = np.random.default_rng(5000 + i)
        if client_id in ORDER_CLIENTS:
            frame = synthetic_transactions(seed=2000 + i, n_customers=int(rng.integers(150, 400)), first_day=first_day, acquisition_months=12, observation_months=24)
            orders.append(frame.assign(client_id=client_id, date=frame["date"].dt.strftime("%Y-%m-%d")))
        if client_id in JOURNEY_CLIENTS:
            journeys.append(synthetic_journeys(seed=3000 + i, n_journeys=int(rng.integers(1_500, 6_000))).assign(client_id=client_id))
    order_columns = ["client_id", "customer_id", "date", "amount"]
    journey_columns = ["client_id", "path", "conversions", "value", "nulls"]
    transactions = pd.concat(orders, ignore_index=True)[order_columns]
    paths = pd.concat(journeys, ignore_index=True)[journey_columns].astype({"conversions": int, "nulls": int})
    return transactions, paths


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


__all__ += ["SAMPLE_FX_USD", "write_sample_fx", "ORDER_CLIENTS", "JOURNEY_CLIENTS", "sample_orders_and_journeys", "write_sample_orders_and_journeys", "clients_with"]
