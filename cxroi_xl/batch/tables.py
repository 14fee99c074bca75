"""Reading and validating a batch's client data (``cxroi-xl generate``).

A data folder holds ``clients``, ``kpis`` and optionally ``costs``,
``surveys``, ``transactions`` and ``journeys``, each as ``.csv`` or ``.xlsx``
(encodings, delimiters and sheets as real exports produce them: see
:mod:`cxroi_xl.batch.files`). Every problem is reported with the file, the
spreadsheet row (header = row 1), the column and what was expected; a client
with any bad row is skipped as a whole, never half-written and never
zero-filled. Problems that make the whole input unusable (a required file or
column missing, a file that cannot be read) raise :class:`InputError`.

The ``clients`` rows are validated by a pydantic model; the other tables,
which can run to millions of rows, are read in chunks and checked column by
column with vectorised pandas rules declared in :data:`TABLES`. Validated
rows go to an on-disk column store (:mod:`cxroi_xl.batch.store`) indexed by
client, and :meth:`BatchInput.tracker_input` materialises one client at a
time, so memory stays flat however many clients the batch holds.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .store import ClientColumns
from .files import CONTROL_CHARACTERS, MAX_INPUT_BYTES, InputError, TableFile, decimal_points
from ..engine.streams import DEFAULT_HALF_LIVES
from ..engine.tracker import DEFAULT_RISKS, KPI_COLUMNS, TrackerInput

__all__ = ["InputError", "Problem", "BatchInput", "ClientRecord", "COST_CATEGORIES", "reserved_id_reason", "MAX_INPUT_BYTES"]

COST_CATEGORIES = ("license", "implementation", "training", "integration", "other")
REQUIRED_FILES = ("clients", "kpis")
OPTIONAL_FILES = ("costs", "surveys", "journeys", "transactions", "proxies", "controls")
# Files and folders a run reads or writes: a client's workbook may not share
# their name, whatever the case (Windows and macOS folders ignore case).
BATCH_NAMES = frozenset({"portfolio", "summary", "errors", "manifest", "stale", "fx"} | set(REQUIRED_FILES) | set(OPTIONAL_FILES))
# Device names Windows reserves in every folder, with or without extension.
WINDOWS_RESERVED = frozenset({"con", "prn", "aux", "nul"} | {f"{port}{i}" for port in ("com", "lpt") for i in range(1, 10)})
_CONTROL_CHARACTERS = CONTROL_CHARACTERS


def reserved_id_reason(client_id: str) -> str | None:
    """Why a client id cannot name a workbook, or None."""
    stem = client_id.split(".")[0].strip().lower()
    if stem in WINDOWS_RESERVED:
        return f"{client_id!r} is a device name Windows reserves; its workbook could not be opened there"
    if stem in BATCH_NAMES:
        return f"{client_id!r} is reserved for the batch's own files (names of input tables, summary, errors, portfolio, manifest, stale)"
    return None


def control_character_message(text: str) -> str:
    found = CONTROL_CHARACTERS.search(text)
    code = ord(found.group()) if found else 0
    name = " (NUL)" if code == 0 else ""
    return f"contains the control character U+{code:04X}{name}, which a workbook cannot hold; remove it"


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
    # The measured model's inputs (engine.streams); blank = the model's default.
    retention_risk: float = Field(default=DEFAULT_RISKS["retention"], ge=0, le=1)
    uplift_risk: float = Field(default=DEFAULT_RISKS["uplift"], ge=0, le=1)
    gross_margin: float = Field(default=0.5, ge=0, le=1)
    horizon_months: int = Field(default=36, ge=1, le=600)
    method: Literal["glm", "sts"] = Field(default="glm", description="glm or sts")
    half_life_service: Optional[float] = Field(default=None, gt=0, le=600, allow_inf_nan=False)
    half_life_retention: Optional[float] = Field(default=DEFAULT_HALF_LIVES["retention"], gt=0, le=600, allow_inf_nan=False)
    half_life_uplift: Optional[float] = Field(default=DEFAULT_HALF_LIVES["uplift"], gt=0, le=600, allow_inf_nan=False)
    ramp_months: int = Field(default=0, ge=0, le=120)
    # Gone since extra wins earn their margin inside the horizon: a value
    # given would silently mean nothing, so it is refused.
    value_per_win: Optional[float] = None

    @field_validator("value_per_win")
    @classmethod
    def _no_value_per_win(cls, value):
        if value is not None:
            raise ValueError("value_per_win is no longer used: an extra customer is valued by the margin it earns inside the horizon while it stays; remove the column")
        return value

    def holistic_inputs(self) -> dict:
        """The measured model's inputs as TrackerInput takes them."""
        return {
            **{name: getattr(self, name) for name in ("retention_risk", "uplift_risk", "gross_margin", "horizon_months", "method", "ramp_months")},
            "half_lives": {"service": self.half_life_service, "retention": self.half_life_retention, "uplift": self.half_life_uplift},
        }

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
    # Series the automation does not touch (an untreated region's churn, the
    # market's demand): regressors of every counterfactual fit, one value per
    # client, name and month.
    "controls": {"month": Rule("month"), "name": Rule("text"), "value": Rule("float")},
}


def _check_columns(frame: pd.DataFrame, file: str, required: list[str]) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        hint = ""
        if len(frame.columns) == 1 and any(mark in str(frame.columns[0]) for mark in ";\t|"):
            hint = " (is it separated by something other than commas, semicolons or tabs?)"
        elif any(c.lstrip("\ufeff") != c for c in frame.columns):
            hint = " (the header starts with a byte-order mark in another encoding)"
        raise InputError(file, "missing column(s) " + ", ".join(missing) + hint)


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
    if rule.required:
        bad |= blank
    return parsed, bad


_STORED_KIND = {"int": "f8", "float": "f8", "date": "M8", "month": "M8", "category": "str", "text": "str", "path": "str"}


@dataclass
class BatchInput:
    """Validated input: client records in memory, the other tables in an
    on-disk column store indexed by client (see :mod:`cxroi_xl.batch.store`)."""

    data_dir: Path
    clients: dict[str, ClientRecord | None]
    problems: list[Problem] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # table -> name used in messages
    client_rows: dict[str, int] = field(default_factory=dict)
    codes: dict[str, int] = field(default_factory=dict)  # client id -> position in clients
    stores: dict[str, ClientColumns] = field(default_factory=dict)
    folder: Path | None = None
    _finalizer: object = field(default=None, repr=False)

    @property
    def failed(self) -> set[str]:
        return {p.client_id for p in self.problems}

    def valid_client_ids(self) -> list[str]:
        failed = self.failed
        return [cid for cid, record in self.clients.items() if record is not None and cid not in failed]

    def tracker_input(self, client_id: str) -> TrackerInput:
        """One client's rows, read from the store: the only copy in memory."""
        record = self.clients[client_id]
        code = self.codes[client_id]

        def rows(name: str, optional: bool = False) -> pd.DataFrame | None:
            store = self.stores.get(name)
            if store is None or (optional and store.count(code) == 0):
                return None if optional else _empty_table(name)
            return store.client_frame(code)

        return TrackerInput(
            client_id=record.client_id,
            client_name=record.client_name,
            go_live=pd.Timestamp(record.go_live),
            kpis=rows("kpis"),
            costs=rows("costs"),
            surveys=rows("surveys"),
            currency=record.currency,
            discount_rate=record.discount_rate,
            benefit_risk=record.benefit_risk,
            cost_risk=record.cost_risk,
            transactions=rows("transactions", optional=True),
            journeys=rows("journeys", optional=True),
            proxies=rows("proxies", optional=True),
            controls=rows("controls", optional=True),
            **record.holistic_inputs(),
        )

    def client_digest(self, client_id: str) -> str:
        """A fingerprint of exactly the input that builds this client's
        workbook: its clients row and its rows of every table, in order."""
        record = self.clients[client_id]
        code = self.codes[client_id]
        digest = hashlib.blake2b(digest_size=16)
        digest.update(json.dumps(record.model_dump(mode="json"), sort_keys=True).encode("utf-8"))
        for name in sorted(self.stores):
            store = self.stores[name]
            if store.count(code):
                digest.update(name.encode("utf-8"))
                digest.update(store.client_digest(code))
        return digest.hexdigest()

    def close(self) -> None:
        """Remove the on-disk store (also done when the object is collected)."""
        if self._finalizer is not None:
            self._finalizer()  # runs once: removes the folder, releases its lock
        elif self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def _empty_table(name: str) -> pd.DataFrame:
    columns = {}
    for column, rule in TABLES[name].items():
        kind = _STORED_KIND[rule.kind]
        columns[column] = pd.Series([], dtype={"f8": float, "M8": "datetime64[ns]", "str": object}[kind])
    return pd.DataFrame(columns)


def _control_problems(frame: pd.DataFrame, label: str, client_ids: pd.Series | None, batch: BatchInput) -> np.ndarray:
    """Report every cell holding a control character (NUL included); returns
    a cells mask (rows x columns) of them."""
    mask = np.zeros(frame.shape, dtype=bool)
    for j, column in enumerate(frame.columns):
        values = frame[column]
        hit = values.map(lambda v: isinstance(v, str) and CONTROL_CHARACTERS.search(v) is not None).to_numpy(dtype=bool)
        for i in np.flatnonzero(hit):
            owner = (client_ids.iat[i] if client_ids is not None else "") or "(blank)"
            batch.problems.append(Problem(owner, label, int(frame.index[i]), column, control_character_message(values.iat[i])))
        mask[:, j] = hit
    return mask


_CLIENT_NUMBERS = {name for name, field in ClientRecord.model_fields.items() if field.annotation in (float, int, Optional[float])}


def _read_clients(table: TableFile, batch: BatchInput) -> None:
    frame = table.read()
    label = table.label
    _check_columns(frame, label, ["client_id", "client_name", "go_live"])
    if table.decimal_comma:
        for column in sorted(_CLIENT_NUMBERS.intersection(frame.columns)):
            table.note_number_style(column, frame[column])
            frame[column] = decimal_points(frame[column])
    seen: dict[str, int] = {}
    ids = frame["client_id"].map(lambda v: v.strip() if isinstance(v, str) else "")
    ids = pd.Series([cid or f"(row {row})" for cid, row in zip(ids, frame.index)], index=frame.index)
    control = _control_problems(frame, label, ids, batch) if (table.saw_control or table.path.suffix.lower() == ".xlsx") else None
    for index, row in enumerate(frame.to_dict("records")):
        sheet_row = int(frame.index[index])
        client_id = ids.iat[index]
        key = client_id.lower()
        if key in seen:
            batch.problems.append(Problem(client_id, label, sheet_row, "client_id", f"duplicate client_id (also on row {seen[key]}; ids differing only in case would share a file name)"))
            continue
        seen[key] = sheet_row
        if control is not None and control[index].any():
            batch.clients.setdefault(client_id, None)
            continue
        values = {k: v for k, v in row.items() if v is not None and str(v).strip() != ""}
        reason = reserved_id_reason(client_id)
        if reason:
            batch.problems.append(Problem(client_id, label, sheet_row, "client_id", reason))
            batch.clients.setdefault(client_id, None)
            continue
        try:
            record = ClientRecord.model_validate(values)
        except ValidationError as exc:
            for error in exc.errors():
                column = str(error["loc"][0]) if error["loc"] else ""
                message = error["msg"]
                if error["type"] == "string_pattern_mismatch":
                    message = {"client_id": "expected letters, digits, - and _ only", "currency": "expected a three-letter ISO code"}.get(column, message)
                batch.problems.append(Problem(client_id, label, sheet_row, column, message))
            batch.clients.setdefault(client_id, None)  # known, but failed
            continue
        batch.clients[client_id] = record
        batch.client_rows[client_id] = sheet_row
    batch.codes = {cid: i for i, cid in enumerate(batch.clients)}


def _read_client_table(name: str, table: TableFile, batch: BatchInput) -> None:
    rules = TABLES[name]
    store = ClientColumns(batch.folder, name, {column: _STORED_KIND[rule.kind] for column, rule in rules.items()})
    required = ["client_id"] + [c for c, rule in rules.items() if rule.required or name == "surveys"]
    unknown: dict[str, list[int]] = {}  # client id -> [first row, rows]
    checked = False
    for chunk in table.chunks():
        if not checked:
            _check_columns(chunk, table.label, required)
            checked = True
        label = table.label
        client_ids = chunk["client_id"].map(lambda v: v.strip() if isinstance(v, str) else "")
        control = _control_problems(chunk, label, client_ids, batch) if (table.saw_control or table.path.suffix.lower() == ".xlsx") else None
        columns = list(chunk.columns)
        parsed = {}
        for column, rule in rules.items():
            if column not in chunk.columns:
                parsed[column] = pd.Series([None] * len(chunk), dtype=object)
                continue
            cells = chunk[column]
            if table.decimal_comma and rule.kind in ("int", "float"):
                table.note_number_style(column, cells)
                cells = decimal_points(cells)
            values, bad = _validate_column(cells, rule)
            if control is not None:
                bad &= ~control[:, columns.index(column)]
            for index in np.flatnonzero(bad):
                batch.problems.append(Problem(client_ids.iat[index] or "(blank)", label, int(chunk.index[index]), column, f"expected {rule.expected()}, got {_shown(chunk[column].iat[index])}"))
            parsed[column] = values.reset_index(drop=True)
        codes = client_ids.map(batch.codes).fillna(-1).to_numpy(dtype=np.int32)
        for index in np.flatnonzero(codes < 0):
            client_id = client_ids.iat[index]
            entry = unknown.setdefault(client_id, [int(chunk.index[index]), 0])
            entry[1] += 1
        store.append(pd.DataFrame(parsed), codes, chunk.index.to_numpy())
    store.finish(len(batch.codes))
    batch.stores[name] = store
    for client_id, (first_row, count) in unknown.items():
        more = f" (and {count - 1} more rows)" if count > 1 else ""
        batch.problems.append(Problem(client_id or "(blank)", table.label, first_row, "client_id", f"client_id not in clients{more}"))


def _shown(value) -> str:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return "a blank"
    text = str(value)
    return repr(text if len(text) <= 30 else text[:27] + "...")


def _check_months(batch: BatchInput) -> None:
    """Per client: months present, unique, consecutive from go-live on;
    parts within their wholes; a baseline with contacts. Vectorised over
    the whole table."""
    store = batch.stores["kpis"]
    label = batch.labels["kpis"]
    valid = {cid: record for cid, record in batch.clients.items() if record is not None}
    code_to_id = {batch.codes[cid]: cid for cid in valid}
    go_live = np.full(len(batch.codes), -1, dtype=np.int64)
    for cid, record in valid.items():
        go_live[batch.codes[cid]] = record.go_live.year * 12 + record.go_live.month - 1
    codes = store.internal("_code")
    keep = (codes >= 0) & (go_live[np.maximum(codes, 0)] >= 0)
    frame = pd.DataFrame({"code": codes, "row": store.internal("_row"), "month": store.column("month")})
    for column in ("contacts", "automated_contacts", "first_contact_resolutions", "active_customers", "churned_customers"):
        frame[column] = store.column(column)
    frame = frame[keep]
    for code in sorted(set(code_to_id) - set(np.unique(frame["code"]))):
        batch.problems.append(Problem(code_to_id[code], label, None, "client_id", "no monthly rows for this client"))
    # a month left blank or invalid is reported per cell already
    frame = frame[~frame.groupby("code")["month"].transform(lambda m: m.isna().any())]
    if frame.empty:
        return
    duplicated = frame.duplicated(["code", "month"], keep="first")
    for code, row in zip(frame.loc[duplicated, "code"], frame.loc[duplicated, "row"]):
        batch.problems.append(Problem(code_to_id[code], label, int(row), "month", "month appears twice for this client"))
    frame = frame[~frame["code"].isin(set(frame.loc[duplicated, "code"]))]
    month = frame["month"].to_numpy().astype("datetime64[M]").astype(np.int64) + 1970 * 12
    start = go_live[frame["code"].to_numpy()]
    frame = frame.assign(index=month, go=start, post=month >= start, pre=month < start, post_index=np.where(month >= start, month, np.iinfo(np.int64).max))
    per_client = frame.groupby("code").agg(baseline=("pre", "sum"), posts=("post", "sum"), last=("index", "max"), first_post=("post_index", "min"), go=("go", "first"))
    checked_codes = []
    for code, info in per_client.iterrows():
        client_id = code_to_id[code]
        go_text = f"{info['go'] // 12:04d}-{info['go'] % 12 + 1:02d}"
        if info["baseline"] == 0:
            batch.problems.append(Problem(client_id, label, None, "month", f"no baseline month before go-live {go_text}"))
        if info["posts"] == 0:
            batch.problems.append(Problem(client_id, label, None, "month", f"no month from go-live {go_text} on"))
            continue
        checked_codes.append(code)
        if info["first_post"] != info["go"] or info["last"] - info["go"] + 1 != info["posts"]:
            present = set(frame.loc[(frame["code"] == code) & frame["post"], "index"])
            missing = [m for m in range(int(info["go"]), int(info["last"]) + 1) if m not in present]
            shown = ", ".join(f"{m // 12:04d}-{m % 12 + 1:02d}" for m in missing[:3])
            batch.problems.append(Problem(client_id, label, None, "month", f"post-automation months must be consecutive from go-live; missing {shown}"))
    frame = frame[frame["code"].isin(checked_codes)]
    for part, whole in (("automated_contacts", "contacts"), ("first_contact_resolutions", "contacts"), ("churned_customers", "active_customers")):
        over = frame[part] > frame[whole]
        for code, row in zip(frame.loc[over, "code"], frame.loc[over, "row"]):
            batch.problems.append(Problem(code_to_id[code], label, int(row), part, f"{part} exceeds {whole}"))
    baseline = frame[~frame["post"]]
    contacts = baseline.groupby("code")["contacts"].sum()
    for code in contacts.index[contacts.to_numpy() == 0]:
        batch.problems.append(Problem(code_to_id[code], label, None, "contacts", "baseline months have no contacts, so there is no baseline cost per contact"))


def _check_journeys(batch: BatchInput) -> None:
    """A client whose journeys never converted has nothing to attribute."""
    store = batch.stores.get("journeys")
    if store is None:
        return
    frame = pd.DataFrame({"code": store.internal("_code"), "row": store.internal("_row"), "conversions": store.column("conversions")})
    frame = frame[frame["code"] >= 0]
    per_client = frame.groupby("code").agg(first=("row", "first"), total=("conversions", "sum"), blanks=("conversions", lambda c: int(c.isna().sum())))
    id_of = {code: cid for cid, code in batch.codes.items()}
    for code, info in per_client[(per_client["blanks"] == 0) & (per_client["total"] == 0)].iterrows():
        batch.problems.append(Problem(id_of[code], batch.labels["journeys"], int(info["first"]), "conversions", "no journey converted, so there is nothing to attribute"))


_STORE_PREFIX = "cxroi-input-"


def _new_store_folder() -> tuple[Path, int | None]:
    """A private temporary folder for the input store, locked for as long
    as this process uses it. Stores left by runs that were killed (their
    lock is free) are removed first; nothing else is touched."""
    folder = Path(tempfile.mkdtemp(prefix=_STORE_PREFIX))
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no cleanup of killed runs' stores
        return folder, None
    # locked under another name, then renamed: another run never sees a
    # ".lock" that is not yet held (it would take the store for a dead one)
    lock = os.open(folder / ".lock.new", os.O_CREAT | os.O_RDWR, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    os.rename(folder / ".lock.new", folder / ".lock")
    for other in folder.parent.glob(_STORE_PREFIX + "*"):
        if other == folder or not (other / ".lock").is_file():
            continue
        try:
            fd = os.open(other / ".lock", os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a live run's store
        finally:
            os.close(fd)
        shutil.rmtree(other, ignore_errors=True)
    return folder, lock


def _remove_store(folder: Path, lock: int | None) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    if lock is not None:
        os.close(lock)


def _check_leads_and_proxies(batch: BatchInput) -> None:
    """leads and won in every month of a client or in none, won <= leads;
    a proxy's last month not before its first. Vectorised over the tables."""
    id_of = {code: cid for cid, code in batch.codes.items()}
    store = batch.stores["kpis"]
    label = batch.labels["kpis"]
    frame = pd.DataFrame({"code": store.internal("_code"), "row": store.internal("_row"), "leads": store.column("leads"), "won": store.column("won")})
    frame = frame[frame["code"] >= 0]
    has_leads, has_won = frame["leads"].notna(), frame["won"].notna()
    complete = has_leads & has_won
    per_client = pd.DataFrame({"code": frame["code"], "complete": complete, "some": has_leads | has_won}).groupby("code").agg(every=("complete", "all"), some=("some", "any"))
    partial = frame["code"].isin(per_client.index[per_client["some"] & ~per_client["every"]])
    for code, row, leads_given in zip(frame.loc[partial & ~complete, "code"], frame.loc[partial & ~complete, "row"], has_leads[partial & ~complete]):
        batch.problems.append(Problem(id_of[code], label, int(row), "won" if leads_given else "leads", "leads and won must be given in every month of a client or in none"))
    over = ~partial & complete & (frame["won"] > frame["leads"])
    for code, row in zip(frame.loc[over, "code"], frame.loc[over, "row"]):
        batch.problems.append(Problem(id_of[code], label, int(row), "won", "won exceeds leads"))
    proxies = batch.stores.get("proxies")
    if proxies is not None:
        frame = pd.DataFrame({"code": proxies.internal("_code"), "row": proxies.internal("_row"), "first": proxies.column("first_month"), "last": proxies.column("last_month")})
        backwards = (frame["code"] >= 0) & (frame["last"] < frame["first"])  # a blank (NaT) compares False
        for code, row in zip(frame.loc[backwards, "code"], frame.loc[backwards, "row"]):
            batch.problems.append(Problem(id_of[code], batch.labels["proxies"], int(row), "last_month", "last_month is before first_month"))


def read_tables(batch: BatchInput, tables: dict) -> None:
    """Validate ``tables`` (name -> a source of text chunks: a
    :class:`~cxroi_xl.batch.files.TableFile` or a Parquet table) into
    ``batch``. A source with a ``finish(batch)`` method is called last (the
    Parquet tables put each problem at its file and record there)."""
    clients = tables["clients"]
    _read_clients(clients, batch)
    batch.labels["clients"] = clients.label
    if not batch.clients:
        raise InputError(clients.label, "holds no clients")
    for name in ("kpis", "costs", "surveys", "transactions", "journeys", "proxies", "controls"):
        if name in tables:
            _read_client_table(name, tables[name], batch)
            batch.labels[name] = tables[name].label
    _check_months(batch)
    _check_journeys(batch)
    _check_leads_and_proxies(batch)
    for table in tables.values():
        if hasattr(table, "finish"):
            table.finish(batch)
