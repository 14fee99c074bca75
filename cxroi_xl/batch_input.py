"""Reading and validating a batch's client data (``cxroi-xl generate``).

A data folder holds ``clients``, ``kpis`` and optionally ``costs`` and
``surveys``, each as ``.csv`` or ``.xlsx``. Every problem is reported with the
file, the spreadsheet row (header = row 1), the column and what was expected;
a client with any bad row is skipped as a whole, never half-written and
never zero-filled. Problems that make the whole input unusable (a required
file or column missing, a file that cannot be read) raise
:class:`InputError`.

The ``clients`` rows are validated by a pydantic model; the monthly and
survey tables, which can run to millions of rows, are checked column by
column with vectorised pandas rules declared in :data:`TABLES`.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Literal, Optional

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .tracker import DEFAULT_RISKS, KPI_COLUMNS, TrackerInput, month_start

__all__ = ["InputError", "Problem", "BatchInput", "read_batch", "ClientRecord", "COST_CATEGORIES"]

COST_CATEGORIES = ("license", "implementation", "training", "integration", "other")
MAX_INPUT_BYTES = 512 * 1024 * 1024
# Output files of the batch itself; a client may not be called like them.
RESERVED_IDS = frozenset({"portfolio", "summary", "errors"})
# Characters XML 1.0, and so an .xlsx, cannot hold.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class InputError(Exception):
    """The input as a whole cannot be used (exit code 2)."""

    def __init__(self, file: str, message: str):
        super().__init__(f"{file}: {message}")
        self.file = file
        self.message = message


@dataclass(frozen=True)
class Problem:
    """One reason a client is skipped."""

    client_id: str
    file: str
    row: int | None  # spreadsheet row number, header = 1
    column: str
    message: str

    def as_row(self) -> dict:
        return {"client_id": self.client_id, "file": self.file, "row": "" if self.row is None else self.row, "column": self.column, "message": self.message}


class ClientRecord(BaseModel):
    """One row of ``clients``."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    client_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="letters, digits, - and _ only")
    client_name: str = Field(min_length=1, max_length=200)
    go_live: dt.date
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$", description="a three-letter ISO code")
    discount_rate: float = Field(default=0.10, ge=0, le=1)
    benefit_risk: float = Field(default=0.10, ge=0, le=1)
    cost_risk: float = Field(default=0.05, ge=0, le=5)
    # Holistic ROI inputs (tracker.benefit_streams); blank = the model's default.
    retention_risk: float = Field(default=DEFAULT_RISKS["retention"], ge=0, le=1)
    uplift_risk: float = Field(default=DEFAULT_RISKS["uplift"], ge=0, le=1)
    gross_margin: float = Field(default=0.5, ge=0, le=1)
    value_per_win: Optional[float] = Field(default=None, ge=0, allow_inf_nan=False)
    horizon_months: int = Field(default=36, ge=1, le=600)

    def holistic_inputs(self) -> dict:
        """The holistic model's inputs as TrackerInput takes them."""
        return {name: getattr(self, name) for name in ("retention_risk", "uplift_risk", "gross_margin", "value_per_win", "horizon_months")}

    @field_validator("client_name")
    @classmethod
    def _printable(cls, value: str) -> str:
        if _CONTROL_CHARACTERS.search(value):
            raise ValueError("contains control characters, which a workbook cannot hold")
        return value

    @field_validator("currency", mode="before")
    @classmethod
    def _upper(cls, value):
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("go_live", mode="before")
    @classmethod
    def _iso_date(cls, value):
        if isinstance(value, (dt.datetime, pd.Timestamp)):
            return value.date()
        if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            raise ValueError("expected a date as YYYY-MM-DD")
        return value


@dataclass(frozen=True)
class Rule:
    """What one column of a data table must hold."""

    kind: Literal["int", "float", "date", "month", "category", "text", "path"]
    required: bool = True
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()

    def expected(self) -> str:
        what = {
            "int": "a whole number",
            "float": "a number",
            "date": "a date as YYYY-MM-DD",
            "month": "a month as YYYY-MM",
            "category": "one of " + ", ".join(self.choices),
            "text": "text",
            "path": "channels separated by > (none empty)",
        }[self.kind]
        if self.low is not None and self.high is not None:
            what += f" from {self.low:g} to {self.high:g}"
        elif self.low is not None:
            what += f" of at least {self.low:g}"
        return what + ("" if self.required else " or blank")


_KPI_RULES = {name: Rule("int", low=0) for name in KPI_COLUMNS}
_KPI_RULES.update({"agent_hours": Rule("float", low=0), "hourly_cost": Rule("float", low=0), "revenue": Rule("float", low=0), "automation_cost": Rule("float", low=0)})
# Optional, for the revenue-uplift stream: a client gives both in every month or in none.
_KPI_RULES.update({"leads": Rule("int", False, low=0), "won": Rule("int", False, low=0)})

TABLES: dict[str, dict[str, Rule]] = {
    "kpis": {"month": Rule("month"), **_KPI_RULES},
    "costs": {"date": Rule("date"), "category": Rule("category", choices=COST_CATEGORIES), "amount": Rule("float", low=0)},
    "surveys": {"date": Rule("date"), "nps": Rule("int", False, 0, 10), "csat": Rule("int", False, 1, 5), "ces": Rule("int", False, 1, 7)},
    "transactions": {"customer_id": Rule("text"), "date": Rule("date"), "amount": Rule("float", low=0)},
    "journeys": {"path": Rule("path"), "conversions": Rule("float", low=0), "value": Rule("float", False, low=0), "nulls": Rule("float", False, low=0)},
    # Financial proxies for intangibles (holistic ROI); a blank last_month runs to the horizon's end.
    "proxies": {"name": Rule("text"), "monthly_value": Rule("float"), "first_month": Rule("month"), "last_month": Rule("month", False), "confidence": Rule("float", low=0, high=1)},
}
REQUIRED_FILES = ("clients", "kpis")
OPTIONAL_FILES = ("costs", "surveys", "journeys", "transactions", "proxies")


def find_table(data_dir: Path, name: str) -> Path | None:
    """``name.csv`` or ``name.xlsx`` in the folder (both present is an error)."""
    found = [data_dir / f"{name}{ext}" for ext in (".csv", ".xlsx") if (data_dir / f"{name}{ext}").is_file()]
    if len(found) > 1:
        raise InputError(found[0].name, f"both {name}.csv and {name}.xlsx exist; keep one")
    return found[0] if found else None


def read_table(path: Path) -> pd.DataFrame:
    """All cells as text (None for blanks), so validation sees what the user wrote."""
    if path.stat().st_size > MAX_INPUT_BYTES:
        raise InputError(path.name, f"larger than {MAX_INPUT_BYTES // 2**20} MB")
    try:
        if path.suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[], encoding="utf-8-sig")
        else:
            from .workbooks.safety import WorkbookError, open_workbook

            try:
                frame = _sheet_as_text(open_workbook(path))
            except WorkbookError as exc:
                raise InputError(path.name, exc.message) from None
    except InputError:
        raise
    except Exception as exc:  # any reader failure is a whole-input problem
        raise InputError(path.name, f"cannot be read: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.replace({"": None}).astype(object).where(frame.notna(), None)


def _sheet_as_text(workbook) -> pd.DataFrame:
    ws = workbook.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        return pd.DataFrame()
    records = []
    for row in rows:
        records.append(["" if v is None else (v.strftime("%Y-%m-%d") if isinstance(v, (dt.date, dt.datetime)) else str(v)) for v in row])
    return pd.DataFrame(records, columns=[str(h) if h is not None else "" for h in header])


def _check_columns(frame: pd.DataFrame, file: str, required: list[str]) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(file, "missing column(s) " + ", ".join(missing))


def _validate_column(values: pd.Series, rule: Rule) -> tuple[pd.Series, np.ndarray]:
    """Parsed values and a mask of invalid cells, vectorised."""
    text = values.astype(object).where(values.notna(), None).map(lambda v: v.strip() if isinstance(v, str) else v)
    blank = text.isna().to_numpy() | (text == "").to_numpy()
    if rule.kind in ("int", "float"):
        parsed = pd.to_numeric(text.where(~blank, None), errors="coerce")
        bad = ~blank & parsed.isna().to_numpy()
        number = parsed.to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            if rule.kind == "int":
                bad |= ~blank & ~np.isnan(number) & (number != np.round(number))
            if rule.low is not None:
                bad |= ~blank & (number < rule.low)
            if rule.high is not None:
                bad |= ~blank & (number > rule.high)
            bad |= ~blank & np.isinf(number)
    elif rule.kind in ("date", "month"):
        if rule.kind == "month":
            # a date cell from an .xlsx arrives as YYYY-MM-DD: its month counts
            text = text.where(~text.astype(str).str.match(r"^\d{4}-\d{2}-\d{2}$"), text.astype(str).str[:7])
        pattern = r"^\d{4}-\d{2}-\d{2}$" if rule.kind == "date" else r"^\d{4}-\d{2}$"
        shaped = text.where(~blank, "").astype(str).str.match(pattern).to_numpy()
        fmt = "%Y-%m-%d" if rule.kind == "date" else "%Y-%m"
        parsed = pd.to_datetime(text.where(~blank & shaped, None), format=fmt, errors="coerce")
        bad = ~blank & (~shaped | parsed.isna().to_numpy())
    elif rule.kind == "category":
        parsed = text.where(~blank, None).map(lambda v: v.lower() if isinstance(v, str) else v)
        bad = ~blank & ~parsed.isin(rule.choices).to_numpy()
    elif rule.kind == "path":
        parsed = text
        channels = text.where(~blank, "").astype(str).str.split(">")
        bad = ~blank & channels.map(lambda parts: any(not part.strip() for part in parts)).to_numpy(dtype=bool)
    else:
        parsed, bad = text, np.zeros(len(text), dtype=bool)
    if rule.kind in ("text", "path", "category"):
        bad |= ~blank & text.where(~blank, "").astype(str).str.contains(_CONTROL_CHARACTERS).to_numpy(dtype=bool)
    if rule.required:
        bad |= blank
    return parsed, bad


@dataclass
class BatchInput:
    """Validated input, grouped by client."""

    data_dir: Path
    clients: dict[str, ClientRecord]
    tables: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    client_rows: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> set[str]:
        return {p.client_id for p in self.problems}

    def valid_client_ids(self) -> list[str]:
        failed = self.failed
        return [cid for cid in self.clients if cid not in failed]

    def tracker_input(self, client_id: str) -> TrackerInput:
        record = self.clients[client_id]
        no_dates = pd.Series([], dtype="datetime64[ns]")
        no_numbers = pd.Series([], dtype=float)
        empty = {
            "costs": pd.DataFrame({"date": no_dates, "category": pd.Series([], dtype=object), "amount": no_numbers}),
            "surveys": pd.DataFrame({"date": no_dates, "nps": no_numbers, "csat": no_numbers, "ces": no_numbers}),
        }
        return TrackerInput(
            client_id=record.client_id,
            client_name=record.client_name,
            go_live=pd.Timestamp(record.go_live),
            kpis=self.tables["kpis"][client_id],
            costs=self.tables.get("costs", {}).get(client_id, empty["costs"]),
            surveys=self.tables.get("surveys", {}).get(client_id, empty["surveys"]),
            currency=record.currency,
            discount_rate=record.discount_rate,
            benefit_risk=record.benefit_risk,
            cost_risk=record.cost_risk,
            transactions=self.tables.get("transactions", {}).get(client_id),
            journeys=self.tables.get("journeys", {}).get(client_id),
            proxies=self.tables.get("proxies", {}).get(client_id),
            **record.holistic_inputs(),
        )

    def input_mtime(self) -> float:
        return max(path.stat().st_mtime for path in self.files.values())


def _read_clients(path: Path, batch: BatchInput) -> None:
    frame = read_table(path)
    _check_columns(frame, path.name, ["client_id", "client_name", "go_live"])
    seen: dict[str, int] = {}
    for index, row in enumerate(frame.to_dict("records")):
        sheet_row = index + 2
        values = {k: v for k, v in row.items() if v is not None and str(v).strip() != ""}
        client_id = str(values.get("client_id", "")).strip() or f"(row {sheet_row})"
        key = client_id.lower()
        if key in seen:
            batch.problems.append(Problem(client_id, path.name, sheet_row, "client_id", f"duplicate client_id (also on row {seen[key]}; ids differing only in case would share a file name)"))
            continue
        seen[key] = sheet_row
        if key in RESERVED_IDS:
            batch.problems.append(Problem(client_id, path.name, sheet_row, "client_id", f"{client_id!r} is reserved for the batch's own files"))
            continue
        try:
            record = ClientRecord.model_validate(values)
        except ValidationError as exc:
            for error in exc.errors():
                column = str(error["loc"][0]) if error["loc"] else ""
                message = error["msg"]
                if error["type"] == "string_pattern_mismatch":
                    message = {"client_id": "expected letters, digits, - and _ only", "currency": "expected a three-letter ISO code"}.get(column, message)
                batch.problems.append(Problem(client_id, path.name, sheet_row, column, message))
            batch.clients.setdefault(client_id, None)  # known, but failed
            continue
        batch.clients[client_id] = record
        batch.client_rows[client_id] = sheet_row


def _read_client_table(name: str, path: Path, batch: BatchInput) -> None:
    rules = TABLES[name]
    frame = read_table(path)
    required = ["client_id"] + [c for c, rule in rules.items() if rule.required or name == "surveys"]
    _check_columns(frame, path.name, required)
    client_ids = frame["client_id"].map(lambda v: v.strip() if isinstance(v, str) else "")
    parsed = {"client_id": client_ids}
    bad_any = np.zeros(len(frame), dtype=bool)
    for column, rule in rules.items():
        if column not in frame.columns:
            parsed[column] = pd.Series([None] * len(frame), dtype=object)
            continue
        values, bad = _validate_column(frame[column], rule)
        parsed[column] = values
        for index in np.flatnonzero(bad):
            batch.problems.append(Problem(client_ids.iat[index] or "(blank)", path.name, int(index) + 2, column, f"expected {rule.expected()}, got {_shown(frame[column].iat[index])}"))
        bad_any |= bad
    unknown = ~client_ids.isin([cid for cid in batch.clients]).to_numpy()
    if unknown.any():
        rows_of_unknown = pd.Series(np.flatnonzero(unknown) + 2).groupby(client_ids[unknown].to_numpy(), sort=False)
        for client_id, rows in rows_of_unknown:
            more = f" (and {len(rows) - 1} more rows)" if len(rows) > 1 else ""
            batch.problems.append(Problem(client_id or "(blank)", path.name, int(rows.iloc[0]), "client_id", f"client_id not in clients{more}"))
    table = pd.DataFrame(parsed)
    table["_row"] = np.arange(len(frame)) + 2
    keep = ~unknown
    grouped = {cid: group.drop(columns="client_id") for cid, group in table[keep].groupby("client_id", sort=False)}
    batch.tables[name] = grouped


def _shown(value) -> str:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return "a blank"
    text = str(value)
    return repr(text if len(text) <= 30 else text[:27] + "...")


def _check_months(batch: BatchInput, kpi_file: str) -> None:
    """Per client: months present, unique, consecutive from go-live on."""
    kpis = batch.tables.get("kpis", {})
    for client_id, record in batch.clients.items():
        if record is None:
            continue
        frame = kpis.get(client_id)
        if frame is None or frame.empty:
            batch.problems.append(Problem(client_id, kpi_file, None, "client_id", "no monthly rows for this client"))
            continue
        months = frame["month"]
        if months.isna().any():
            continue  # already reported per cell
        duplicated = months.duplicated(keep="first")
        for row in frame.loc[duplicated, "_row"]:
            batch.problems.append(Problem(client_id, kpi_file, int(row), "month", "month appears twice for this client"))
        if duplicated.any():
            continue
        go_live = month_start([record.go_live]).iloc[0]
        post = months[months >= go_live].sort_values()
        if (months < go_live).sum() == 0:
            batch.problems.append(Problem(client_id, kpi_file, None, "month", f"no baseline month before go-live {go_live:%Y-%m}"))
        if post.empty:
            batch.problems.append(Problem(client_id, kpi_file, None, "month", f"no month from go-live {go_live:%Y-%m} on"))
            continue
        expected = pd.date_range(go_live, periods=len(post), freq="MS")
        if post.iloc[0] != go_live or not (post.to_numpy() == expected.to_numpy()).all():
            missing = sorted(set(pd.date_range(go_live, post.iloc[-1], freq="MS")) - set(post))
            shown = ", ".join(f"{m:%Y-%m}" for m in missing[:3])
            batch.problems.append(Problem(client_id, kpi_file, None, "month", f"post-automation months must be consecutive from go-live; missing {shown}"))
        for part, whole in (("automated_contacts", "contacts"), ("first_contact_resolutions", "contacts"), ("churned_customers", "active_customers")):
            over = frame[part].astype(float) > frame[whole].astype(float)
            for row in frame.loc[over, "_row"]:
                batch.problems.append(Problem(client_id, kpi_file, int(row), part, f"{part} exceeds {whole}"))
        baseline_contacts = frame.loc[months < go_live, "contacts"].astype(float).sum()
        if (months < go_live).any() and baseline_contacts == 0:
            batch.problems.append(Problem(client_id, kpi_file, None, "contacts", "baseline months have no contacts, so there is no baseline cost per contact"))


def _check_journeys(batch: BatchInput) -> None:
    """A client whose journeys never converted has nothing to attribute."""
    if "journeys" not in batch.files:
        return
    for client_id, frame in batch.tables.get("journeys", {}).items():
        conversions = pd.to_numeric(frame["conversions"], errors="coerce")
        if conversions.notna().all() and conversions.sum() == 0:
            batch.problems.append(Problem(client_id, batch.files["journeys"].name, int(frame["_row"].iloc[0]), "conversions", "no journey converted, so there is nothing to attribute"))


def _check_leads_and_proxies(batch: BatchInput) -> None:
    """leads and won in every month of a client or in none, won <= leads;
    a proxy's last month not before its first."""
    kpi_file = batch.files["kpis"].name
    for client_id, frame in batch.tables.get("kpis", {}).items():
        given = frame[["leads", "won"]].notna().to_numpy()
        if given.any() and not given.all():
            for row, has in zip(frame["_row"], given):
                if not has.all():
                    column = "leads" if not has[0] else "won"
                    batch.problems.append(Problem(client_id, kpi_file, int(row), column, "leads and won must be given in every month of a client or in none"))
            continue
        if given.all():
            over = frame["won"].astype(float) > frame["leads"].astype(float)
            for row in frame.loc[over, "_row"]:
                batch.problems.append(Problem(client_id, kpi_file, int(row), "won", "won exceeds leads"))
    if "proxies" in batch.files:
        for client_id, frame in batch.tables.get("proxies", {}).items():
            backwards = pd.to_datetime(frame["last_month"]) < pd.to_datetime(frame["first_month"])  # NaT compares False
            for row in frame.loc[backwards, "_row"]:
                batch.problems.append(Problem(client_id, batch.files["proxies"].name, int(row), "last_month", "last_month is before first_month"))


def read_batch(data_dir: Path) -> BatchInput:
    """Read and validate a data folder. Raises :class:`InputError` for
    whole-input problems; everything else is in ``problems``."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError(str(data_dir), "not a folder")
    batch = BatchInput(data_dir=data_dir, clients={})
    for name in REQUIRED_FILES:
        if find_table(data_dir, name) is None:
            raise InputError(f"{name}.csv", f"required file missing in {data_dir} ({name}.csv or {name}.xlsx)")
    for name in REQUIRED_FILES + OPTIONAL_FILES:
        path = find_table(data_dir, name)
        if path is not None:
            batch.files[name] = path
    _read_clients(batch.files["clients"], batch)
    if not batch.clients:
        raise InputError(batch.files["clients"].name, "holds no clients")
    for name in ("kpis", "costs", "surveys", "transactions", "journeys", "proxies"):
        if name in batch.files:
            _read_client_table(name, batch.files[name], batch)
    _check_months(batch, batch.files["kpis"].name)
    _check_journeys(batch)
    _check_leads_and_proxies(batch)
    # Tidy the per-client tables into the engine's shapes.
    for name, by_client in batch.tables.items():
        for client_id, frame in by_client.items():
            frame = frame.drop(columns="_row")
            if name == "kpis":
                frame[list(KPI_COLUMNS) + ["leads", "won"]] = frame[list(KPI_COLUMNS) + ["leads", "won"]].astype(float)
            elif name == "surveys":
                frame[["nps", "csat", "ces"]] = frame[["nps", "csat", "ces"]].astype(float)
            elif name in ("costs", "transactions"):
                frame["amount"] = frame["amount"].astype(float)
            elif name == "proxies":
                frame[["monthly_value", "confidence"]] = frame[["monthly_value", "confidence"]].astype(float)
            elif name == "journeys":
                frame[["conversions", "value", "nulls"]] = frame[["conversions", "value", "nulls"]].astype(float)
            by_client[client_id] = frame.reset_index(drop=True)
    return batch
