"""Reading and validating a batch's client data (``cxroi-xl generate``).

A data folder holds ``clients``, ``kpis`` and optionally ``costs``,
``surveys``, ``transactions`` and ``journeys``, each as ``.csv`` or ``.xlsx``
(encodings, delimiters and sheets as real exports produce them: see
:mod:`cxroi_xl.batch.files`). Every problem is reported with the file, the
spreadsheet row (header = row 1), the column and what was expected; a client
with any bad row is skipped as a whole, never half-written and never
zero-filled. Problems that make the whole input unusable (a required file or
column missing, a file that cannot be read) raise :class:`InputError`.

The ``clients`` rows are checked column by column with rules derived from
a pydantic model, :class:`ClientRecord` (a row the rules cannot clear goes
through the model itself, for its messages), and kept as packed columns
(:class:`ClientTable`); the other tables, which can run to millions of
rows, are read in chunks and checked column by column with vectorised
pandas rules declared in :data:`TABLES`. A Python step is taken per
problem found, and per clients row the vectorised rules cannot clear (a
number written with spaces around it goes through the model), never per
client otherwise. Validated
rows go to an on-disk column store (:mod:`cxroi_xl.batch.store`) indexed by
client, and :meth:`BatchInput.tracker_input` materialises one client at a
time, so memory stays flat however many clients the batch holds.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .store import ClientColumns
from .files import CONTROL_CHARACTERS, MAX_INPUT_BYTES, InputError, TableFile, decimal_points, strip_text
from ..engine.streams import DEFAULT_HALF_LIVES
from ..engine.tracker import DEFAULT_RISKS, KPI_COLUMNS, TrackerInput
from ..engine.value import CustomerValueInput

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
    # The customer-value template's CAC: total acquisition spend over the
    # window of the client's transactions; blank = not given (no CAC).
    acquisition_spend: Optional[float] = Field(default=None, ge=0, allow_inf_nan=False)
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


def _words(text: pd.Series, blank: np.ndarray) -> pd.Series:
    """Cells as Python strings ("" for blanks) in an object column, so that
    pandas' string methods run Python's str and re on them (not another
    engine with other rules for \\s or case)."""
    cells = text.where(~blank, "")
    if pd.api.types.infer_dtype(cells, skipna=True) not in ("string", "empty"):
        return pd.Series([str(v) for v in cells], index=cells.index, dtype=object)
    return cells.astype(object)


def _arrow_pool():
    """The C allocator for the Arrow work of validation: Arrow's default
    allocator keeps what it freed and reserves a gigabyte of address space
    up front, which a batch of a million clients cannot spare under a
    memory limit."""
    import pyarrow as pa

    return pa.system_memory_pool()


def _numbers(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Numbers parsed from text cells (NaN where none), and which cells are
    blank (empty or spaces). pandas' parser takes spaces around a number
    itself, so only the cells it cannot read are stripped and tried again:
    the same numbers as stripping every cell first, at a fraction of the
    cost."""
    cells = values.astype(object)
    parsed = pd.to_numeric(cells, errors="coerce").astype(float)
    blank = cells.isna().to_numpy(copy=True)
    look = np.flatnonzero(parsed.isna().to_numpy() & ~blank)
    if len(look):
        stripped = strip_text(cells.iloc[look], keep_other=True)
        empty = (stripped.isna() | stripped.eq("")).to_numpy()
        blank[look[empty]] = True
        retry = look[~empty]
        if len(retry):
            parsed.iloc[retry] = pd.to_numeric(stripped[~empty], errors="coerce").astype(float).to_numpy()
    return parsed, blank


def _validate_column(values: pd.Series, rule: Rule) -> tuple[pd.Series, np.ndarray]:
    """Parsed values and a mask of invalid cells, vectorised."""
    if rule.kind in ("int", "float"):
        parsed, blank = _numbers(values)
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
        if rule.required:
            bad |= blank
        return parsed, bad
    text = strip_text(values, keep_other=True)
    blank = text.isna().to_numpy() | (text == "").to_numpy()
    if rule.kind in ("date", "month"):
        cells = _words(text, blank)
        if rule.kind == "month":
            # a date cell from an .xlsx arrives as YYYY-MM-DD: its month counts
            cells = cells.where(~cells.str.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").to_numpy(dtype=bool), cells.str[:7])
        pattern = r"[0-9]{4}-[0-9]{2}-[0-9]{2}" if rule.kind == "date" else r"[0-9]{4}-[0-9]{2}"
        shaped = cells.str.fullmatch(pattern).to_numpy(dtype=bool)
        fmt = "%Y-%m-%d" if rule.kind == "date" else "%Y-%m"
        parsed = pd.to_datetime(cells.where(~blank & shaped, None), format=fmt, errors="coerce")
        bad = ~blank & (~shaped | parsed.isna().to_numpy())
    elif rule.kind == "category":
        words = _words(text, blank).str.lower().to_numpy(dtype=object)
        parsed = pd.Series(np.where(blank, None, words), index=text.index, dtype=object)
        bad = ~blank & ~parsed.isin(rule.choices).to_numpy()
    elif rule.kind == "path":
        parsed = text
        # a channel left empty: at the start, at the end or between two >
        empty_channel = _words(text, blank).str.contains(r"(?:^|>)\s*(?:>|$)", regex=True)
        bad = ~blank & empty_channel.to_numpy(dtype=bool)
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
        clients = self.clients
        if isinstance(clients, ClientTable):  # vectorised: no record is built
            return clients.ids_where(clients.ok & ~clients.among(failed) if failed else clients.ok)
        return [cid for cid, record in clients.items() if record is not None and cid not in failed]

    def tracker_input(self, client_id: str) -> TrackerInput:
        """One client's rows, read from the store: the only copy in memory."""
        record = self.clients[client_id]
        code = self.codes[client_id]

        def rows(name: str, optional: bool = False) -> pd.DataFrame | None:
            store = self.stores.get(name)
            if store is None or (optional and store.count(code) == 0):
                return None if optional else _empty_table(name)
            return store.client_frame(code)

        return CustomerValueInput(
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
            acquisition_spend=record.acquisition_spend,
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

    def _client_codes(self, client_ids: list[str]) -> np.ndarray:
        return np.fromiter((self.codes[c] for c in client_ids), dtype=np.int64, count=len(client_ids))

    def client_values(self, field_name: str, client_ids: list[str]) -> list:
        """One field of the clients' records (``currency``, ...), for each
        of ``client_ids`` (valid clients), read from the packed column
        without building a record per client; the record's default where
        the column is absent or blank."""
        clients = self.clients
        if not isinstance(clients, ClientTable):
            return [getattr(clients[c], field_name) for c in client_ids]
        codes = self._client_codes(client_ids)
        rows = codes if clients.source is None else clients.source[codes]
        column = clients.columns.get(field_name)
        default = ClientRecord.model_fields[field_name].default
        if column is None:
            return [default] * len(client_ids)
        values = column.objects()[rows] if isinstance(column, _Texts) else np.asarray(column)[rows]
        return [default if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in values.tolist()]

    def in_shape_order(self, client_ids: list[str]) -> list[str]:
        """``client_ids`` grouped by the shape of the main template's shared
        sheets (months from go-live on, horizon: a frame serves every
        currency), the groups in the order of their first client, file
        order kept within a group.

        A process keeps the shared sheets of only a few shapes
        (:mod:`~cxroi_xl.workbooks.frames`); built one after another, the
        clients of a shape reuse its frame however many shapes a portfolio
        has. Which workbook a client gets does not depend on the order, only
        how fast it is built. Reads whole columns, no client's rows."""
        if len(client_ids) < 3 or "kpis" not in self.stores:
            return list(client_ids)
        codes = self._client_codes(client_ids)
        clients = self.clients
        if isinstance(clients, ClientTable):
            go_live = clients.go_live_months()
        else:
            go_live = np.array([-1 if r is None else r.go_live.year * 12 + r.go_live.month - 1 for r in clients.values()], dtype=np.int64)
        horizon = self.client_values("horizon_months", client_ids)
        kpis = self.stores["kpis"]
        row_codes = kpis.internal("_code").astype(np.int64)
        months = kpis.column("month").astype("datetime64[M]").astype(np.int64) + 1970 * 12
        known = row_codes >= 0
        post = known & (months >= np.where(known, go_live[np.maximum(row_codes, 0)], 0))
        tracked = np.bincount(row_codes[post], minlength=len(go_live))[codes]
        first: dict[tuple, int] = {}
        keys = [first.setdefault(key, i) for i, key in enumerate(zip(tracked.tolist(), horizon))]
        return [client_ids[i] for i in sorted(range(len(client_ids)), key=keys.__getitem__)]

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


def _control_problems(frame: pd.DataFrame, label: str, client_ids: pd.Series | None, batch: BatchInput, out: list | None = None) -> np.ndarray:
    """Report every cell holding a control character (NUL included) to
    ``out`` (the batch's problems by default); returns a cells mask (rows x
    columns) of them."""
    out = batch.problems if out is None else out
    mask = np.zeros(frame.shape, dtype=bool)
    for j, column in enumerate(frame.columns):
        values = frame[column]
        if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
            hit = values.str.contains(CONTROL_CHARACTERS.pattern, regex=True, na=False).to_numpy(dtype=bool)
        else:
            hit = np.array([isinstance(v, str) and CONTROL_CHARACTERS.search(v) is not None for v in values], dtype=bool)
        for i in np.flatnonzero(hit):
            owner = (client_ids.iat[i] if client_ids is not None else "") or "(blank)"
            out.append(Problem(owner, label, int(frame.index[i]), column, control_character_message(values.iat[i])))
        mask[:, j] = hit
    return mask


_CLIENT_NUMBERS = {name for name, field in ClientRecord.model_fields.items() if field.annotation in (float, int, Optional[float])}
_ID_CHARACTERS = re.compile(r"[^A-Za-z0-9_-]")
_ID_LENGTH = 64
_CHARACTER_NAMES = {" ": "a space", "\t": "a tab", "\u00a0": "a no-break space"}


def client_id_rule_broken(client_id: str) -> str:
    """Which rule of a client id ``client_id`` breaks, in words (ids name
    workbook files: at most 64 ASCII letters, digits, - and _).

    >>> client_id_rule_broken("café")
    "contains 'é' (character 4); ids use ASCII letters, digits, - and _ only"
    >>> client_id_rule_broken("x" * 70)
    'longer than 64 characters (70)'
    """
    reasons = []
    if len(client_id) > _ID_LENGTH:
        reasons.append(f"longer than {_ID_LENGTH} characters ({len(client_id)})")
    found = _ID_CHARACTERS.search(client_id)
    if found:
        character = found.group()
        shown = f"{character!r}" + (f" ({_CHARACTER_NAMES[character]})" if character in _CHARACTER_NAMES else "")
        reasons.append(f"contains {shown} (character {found.start() + 1}); ids use ASCII letters, digits, - and _ only")
    return ", and ".join(reasons) or "expected ASCII letters, digits, - and _ only"


# -- the clients table, column by column ---------------------------------------
# Every row of ``clients`` is checked with vectorised rules that accept only
# what ClientRecord certainly accepts, to the same value: plain numbers
# within the field's bounds, dates written YYYY-MM-DD, codes as written.
# A row any rule does not clear (spaces around a number, 36.0 for a whole
# number, any error) goes through ClientRecord itself, which gives its exact
# messages; so the messages are pydantic's and a million clean rows never
# make a million Python objects. The record of a valid row is built again
# from its stored values when asked for (ClientTable.__getitem__).
_PLAIN_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_WHOLE_NUMBER = r"[+-]?[0-9]+"
_PLAIN_NUMBER_CHARACTERS = 40  # longer texts go through pydantic


@dataclass(frozen=True)
class _ClientField:
    """How one ClientRecord field is checked and stored column-wise."""

    name: str
    kind: Literal["id", "name", "date", "currency", "choice", "number", "other"]
    required: bool
    whole: bool = False
    choices: tuple[str, ...] = ()
    low: float | None = None  # bounds from the field's metadata
    low_inclusive: bool = True
    high: float | None = None
    high_inclusive: bool = True
    max_length: int | None = None


def _client_fields() -> dict[str, _ClientField] | None:
    """The fast rules of each field, derived from ClientRecord; None when the
    model has a check the rules do not know (every row then goes through
    pydantic: slower, never wrong)."""
    import annotated_types
    import typing

    decorators = ClientRecord.__pydantic_decorators__
    if decorators.model_validators:
        return None
    known = {"_printable": "client_name", "_upper": "currency", "_iso_date": "go_live"}
    checked_by_validator = {name for validator in decorators.field_validators.values() for name in validator.info.fields}
    unknown_validators = {name for key, validator in decorators.field_validators.items() if key not in known for name in validator.info.fields}
    fields = {}
    for name, info in ClientRecord.model_fields.items():
        required = info.is_required()
        metadata = {type(m).__name__: m for m in info.metadata}
        if name in unknown_validators:
            fields[name] = _ClientField(name, "other", required)
        elif name == "client_id":
            fields[name] = _ClientField(name, "id", required)
        elif name == "client_name":
            fields[name] = _ClientField(name, "name", required, max_length=getattr(metadata.get("MaxLen"), "max_length", None))
        elif name == "go_live":
            fields[name] = _ClientField(name, "date", required)
        elif name == "currency":
            fields[name] = _ClientField(name, "currency", required)
        elif typing.get_origin(info.annotation) is Literal and all(isinstance(c, str) for c in typing.get_args(info.annotation)):
            fields[name] = _ClientField(name, "choice", required, choices=typing.get_args(info.annotation))
        elif name not in checked_by_validator and info.annotation in (float, int, Optional[float], Optional[int]):
            bounds = {}
            for m in info.metadata:
                if isinstance(m, annotated_types.Ge):
                    bounds.update(low=float(m.ge), low_inclusive=True)
                elif isinstance(m, annotated_types.Gt):
                    bounds.update(low=float(m.gt), low_inclusive=False)
                elif isinstance(m, annotated_types.Le):
                    bounds.update(high=float(m.le), high_inclusive=True)
                elif isinstance(m, annotated_types.Lt):
                    bounds.update(high=float(m.lt), high_inclusive=False)
            fields[name] = _ClientField(name, "number", required, whole=info.annotation in (int, Optional[int]), **bounds)
        else:
            fields[name] = _ClientField(name, "other", required)
    return fields


_CLIENT_FIELDS = _client_fields()


def _fast_clients(frame: pd.DataFrame, ids: np.ndarray, given: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Rows every fast rule clears, and the parsed value of each field
    present (NaN / NaT / None where blank)."""
    n = len(frame)
    cleared = np.ones(n, dtype=bool) if _CLIENT_FIELDS is not None else np.zeros(n, dtype=bool)
    parsed: dict[str, np.ndarray] = {}
    for name, rule in (_CLIENT_FIELDS or {}).items():
        if name not in frame.columns:
            if rule.required:
                cleared[:] = False
            continue
        raw = frame[name].astype(object)
        filled = given[name]
        # objects, so pandas' string methods run Python's own str and re
        # (what ClientRecord's validators use), never another engine's
        text = raw.where(filled, "")
        if pd.api.types.infer_dtype(text, skipna=True) != "string":
            is_text = np.array([isinstance(v, str) for v in text], dtype=bool)  # no reader gives other cells
            cleared &= ~filled | is_text
            text = text.where(is_text, "")
        if rule.required:
            cleared &= filled
        if rule.kind == "id":
            texts = pd.Series(ids, dtype=object)
            fits = (texts.str.len().to_numpy() <= _ID_LENGTH) & ~texts.str.contains(_ID_CHARACTERS.pattern, regex=True).to_numpy(dtype=bool)
            cleared &= fits
            parsed[name] = ids
        elif rule.kind == "name":
            # as written (pydantic strips, so a name with spaces around it goes through it)
            plain = ~text.str.contains(r"^\s|\s$", regex=True) & ~text.str.contains(CONTROL_CHARACTERS.pattern, regex=True)
            if rule.max_length is not None:
                plain &= text.str.len() <= rule.max_length
            cleared &= ~filled | plain.to_numpy(dtype=bool)
            parsed[name] = raw.where(filled, None).to_numpy(dtype=object)
        elif rule.kind == "date":
            shaped = text.str.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").to_numpy(dtype=bool)
            days = pd.to_datetime(text.where(shaped & filled, None), format="%Y-%m-%d", errors="coerce").to_numpy().astype("datetime64[D]")
            cleared &= ~filled | (shaped & ~np.isnat(days))
            parsed[name] = days
        elif rule.kind == "currency":
            code = text.str.strip().str.upper()  # what ClientRecord's validator does
            cleared &= ~filled | code.str.fullmatch(r"[A-Z]{3}").to_numpy(dtype=bool)
            parsed[name] = np.where(filled, code.to_numpy(dtype=object), None)
        elif rule.kind == "choice":
            cleared &= ~filled | text.isin(rule.choices).to_numpy(dtype=bool)
            parsed[name] = raw.where(filled, None).to_numpy(dtype=object)
        elif rule.kind == "number":
            shaped = text.str.fullmatch(_WHOLE_NUMBER if rule.whole else _PLAIN_NUMBER).to_numpy(dtype=bool) & (text.str.len() <= _PLAIN_NUMBER_CHARACTERS).to_numpy(dtype=bool)
            values = np.full(n, np.nan)
            values[shaped] = text[shaped].to_numpy(dtype=object).astype(float)  # Python's float(), as pydantic rounds
            with np.errstate(invalid="ignore"):
                fits = shaped & np.isfinite(values)
                if rule.low is not None:
                    fits &= values >= rule.low if rule.low_inclusive else values > rule.low
                if rule.high is not None:
                    fits &= values <= rule.high if rule.high_inclusive else values < rule.high
            cleared &= ~filled | fits
            parsed[name] = np.where(filled, values, np.nan)
        else:
            cleared &= ~filled
    # writable: the rows ClientRecord validates get its values written in
    return cleared, {name: values if values.flags.writeable else values.copy() for name, values in parsed.items()}


def _stored(rule: _ClientField | None, value):
    """A record's value as its column holds it."""
    if value is None:
        return None
    if rule is not None and rule.kind == "number":
        return float(value)
    if rule is not None and rule.kind == "date":
        return np.datetime64(value, "D")
    return value


class _Texts:
    """A column of text packed as UTF-8 bytes and end offsets: about a
    fifth of the memory of a Python string per cell. ``texts[i]`` is the
    text, or None where the cell was blank."""

    def __init__(self, data: bytes, ends: np.ndarray, given: np.ndarray):
        self.data, self.ends, self.given = data, ends, given

    @classmethod
    def pack(cls, cells: np.ndarray) -> _Texts:
        from .store import _utf8

        given = pd.Series(cells, dtype=object).notna().to_numpy()
        data, lengths = _utf8(cells)
        return cls(data, np.cumsum(lengths), given)

    @classmethod
    def join(cls, parts: list[_Texts]) -> _Texts:
        offsets = np.cumsum([0] + [len(p.data) for p in parts[:-1]])
        return cls(b"".join(p.data for p in parts), np.concatenate([p.ends + o for p, o in zip(parts, offsets)]), np.concatenate([p.given for p in parts]))

    def __len__(self) -> int:
        return len(self.ends)

    def objects(self) -> np.ndarray:
        """Every cell as a Python string (None where blank), made afresh and
        so packed densely in memory."""
        out = self.arrow().to_numpy(zero_copy_only=False)  # decoded by Arrow, not string by string in Python
        out[~self.given] = None
        return out

    def __getitem__(self, i: int) -> str | None:
        if not self.given[i]:
            return None
        return self.data[int(self.ends[i - 1]) if i > 0 else 0 : int(self.ends[i])].decode("utf-8")

    def arrow(self):
        """The cells as an Arrow string array over the same bytes."""
        import pyarrow as pa

        offsets = np.concatenate([[0], self.ends]).astype(np.int64)
        return pa.LargeStringArray.from_buffers(len(self), pa.py_buffer(offsets), pa.py_buffer(self.data))

    def take(self, keep: np.ndarray) -> _Texts:
        """The cells where ``keep`` is True."""
        import pyarrow.compute as pc

        chosen = pc.filter(self.arrow(), keep, memory_pool=_arrow_pool())
        offsets = np.frombuffer(chosen.buffers()[1], dtype=np.int64)[chosen.offset : chosen.offset + len(chosen) + 1]
        data = chosen.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]] if len(chosen) else b""
        return _Texts(data, offsets[1:] - offsets[0], self.given[keep])


class ClientTable(Mapping):
    """The ``clients`` rows as validated, one per client id in file order
    (duplicate ids left out): ``table[client_id]`` is the client's
    :class:`ClientRecord`, built from its stored values when asked for, or
    None when its row failed. Held as packed columns, not as Python objects
    per client: a million clients take well under a hundred megabytes.
    Other tables find their clients with Arrow's hash lookup over the
    packed ids; a lookup by one id builds an index on first use."""

    def __init__(self, ids: _Texts, rows: np.ndarray, ok: np.ndarray, columns: dict, other: dict[str, dict[int, object]] | None = None, source: np.ndarray | None = None):
        self.ids = ids  # ids[position] is the client's id
        self.rows = rows
        self.ok = ok
        # field -> values of every row of the file (duplicates included);
        # source: the file row of each client, None when they are the same
        self.columns = columns
        self.other = other or {}  # fields the fast rules do not know: file row -> value
        self.source = source
        self._arrow = ids.arrow()
        self._index: pd.Index | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self):
        return iter(self.ids.objects().tolist())

    def _lookup(self) -> pd.Index:
        if self._index is None:
            self._index = pd.Index(self.ids.objects(), dtype=object)
        return self._index

    def __contains__(self, client_id) -> bool:
        return isinstance(client_id, str) and client_id in self._lookup()

    def __getitem__(self, client_id: str) -> ClientRecord | None:
        return self.record(self.position(client_id))

    def position(self, client_id: str) -> int:
        if client_id not in self:
            raise KeyError(client_id)
        return int(self._lookup().get_loc(client_id))

    def positions(self, client_ids: pd.Series) -> np.ndarray:
        """Each id's position, -1 for an id not in the table (vectorised)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        pool = _arrow_pool()
        found = pc.index_in(pa.array(client_ids.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True, memory_pool=pool), value_set=self._arrow, memory_pool=pool)
        return np.nan_to_num(found.to_numpy(zero_copy_only=False).astype(float), nan=-1).astype(np.int64)

    def among(self, client_ids) -> np.ndarray:
        """A mask of the clients whose id is in ``client_ids`` (vectorised)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        pool = _arrow_pool()
        wanted = pa.array([c for c in client_ids if isinstance(c, str)], type=pa.large_string(), memory_pool=pool)
        return pc.is_in(self._arrow, value_set=wanted, memory_pool=pool).to_numpy(zero_copy_only=False)

    def ids_where(self, mask: np.ndarray) -> list[str]:
        return self.ids.objects()[mask].tolist()

    def record(self, position: int) -> ClientRecord | None:
        """The client's ClientRecord, validated again from its stored values
        (so exactly what validating its row gave), or None."""
        if not self.ok[position]:
            return None
        row = int(self.source[position]) if self.source is not None else position
        values = {}
        for name, column in self.columns.items():
            value = column[row]
            if value is None or (isinstance(value, float) and np.isnan(value)) or (isinstance(value, np.datetime64) and np.isnat(value)):
                continue
            rule = (_CLIENT_FIELDS or {}).get(name)
            if isinstance(value, np.datetime64):
                value = value.astype("datetime64[D]").item()
            elif isinstance(value, np.floating):
                value = float(value)
            if rule is not None and rule.kind == "number" and rule.whole:
                value = int(value)
            values[name] = value
        values["client_id"] = self.ids[position]
        for name, given in self.other.items():
            if row in given:
                values[name] = given[row]
        return ClientRecord.model_validate(values)

    def go_live_months(self) -> np.ndarray:
        """Each client's go-live as a month count (year * 12 + month - 1), -1
        where its row failed."""
        days = self.columns["go_live"]
        if self.source is not None:
            days = days[self.source]
        months = days.astype("datetime64[M]").astype(np.int64) + 1970 * 12
        return np.where(self.ok & ~np.isnat(days), months, -1)


class _ClientView(Mapping):
    """A dict-like view of a :class:`ClientTable`: code of each id, or row
    of each valid client."""

    def __init__(self, table: ClientTable, what: Literal["code", "row"]):
        self.table, self.what = table, what

    def __len__(self) -> int:
        return len(self.table) if self.what == "code" else int(self.table.ok.sum())

    def __iter__(self):
        return iter(self.table.ids_where(np.ones(len(self.table), dtype=bool) if self.what == "code" else self.table.ok))

    def __getitem__(self, client_id: str) -> int:
        position = self.table.position(client_id)
        if self.what == "code":
            return position
        if not self.table.ok[position]:
            raise KeyError(client_id)
        return int(self.table.rows[position])


def _case_duplicates(ids: _Texts) -> tuple[np.ndarray, np.ndarray]:
    """Which ids repeat an earlier one when case is ignored (as Windows and
    macOS compare file names), and the position of the first of each.
    Vectorised in Arrow: lowered there (exactly Python's lower for ASCII;
    other ids are lowered by Python) and hashed."""
    import pyarrow as pa
    import pyarrow.compute as pc

    pool = _arrow_pool()
    arrow = ids.arrow()
    keys = pc.utf8_lower(arrow, memory_pool=pool)
    other = ~pc.string_is_ascii(arrow, memory_pool=pool).to_numpy(zero_copy_only=False)
    if other.any():
        lowered = pa.array([ids[i].lower() for i in np.flatnonzero(other)], type=pa.large_string(), memory_pool=pool)
        keys = pc.replace_with_mask(keys, pa.array(other, memory_pool=pool), lowered, memory_pool=pool)
    codes = pc.dictionary_encode(keys, memory_pool=pool).indices.to_numpy(zero_copy_only=False)
    _, first = np.unique(codes, return_index=True)
    first_of = first[codes]
    return first_of != np.arange(len(codes)), first_of


def _read_clients(table: TableFile, batch: BatchInput) -> None:
    """Validate ``clients`` chunk by chunk into a :class:`ClientTable`:
    vectorised rules for the rows they clear, ClientRecord for the others
    (its messages), duplicate ids found over the whole file at the end."""
    label = table.label
    chunks: list[dict] = []
    control_problems: list[Problem] = []
    columns: list[str] = []
    for frame in table.chunks():
        if not chunks:
            _check_columns(frame, label, ["client_id", "client_name", "go_live"])
            columns = list(frame.columns)
        if table.decimal_comma:
            for column in sorted(_CLIENT_NUMBERS.intersection(frame.columns)):
                table.note_number_style(column, frame[column])
                frame[column] = decimal_points(frame[column])
        rows = frame.index.to_numpy(dtype=np.int64)
        ids = strip_text(frame["client_id"], other="").to_numpy(dtype=object, copy=True)
        for i in np.flatnonzero(ids == ""):
            ids[i] = f"(row {rows[i]})"
        control = _control_problems(frame, label, pd.Series(ids, index=frame.index, dtype=object), batch, out=control_problems) if (table.saw_control or table.path.suffix.lower() == ".xlsx") else None
        skipped = control.any(axis=1) if control is not None else np.zeros(len(frame), dtype=bool)
        given = {c: strip_text(frame[c], other="").ne("").to_numpy(dtype=bool) for c in frame.columns if c in ClientRecord.model_fields}
        cleared, parsed = _fast_clients(frame, ids, given)
        stems = pd.Series(ids, dtype=object).str.split(".", n=1).str[0].str.strip().str.lower()
        reserved = stems.isin(WINDOWS_RESERVED | BATCH_NAMES).to_numpy(dtype=bool) & ~skipped
        ok = cleared & ~skipped & ~reserved
        other: dict[str, dict[int, object]] = {}
        problems: list[tuple[int, Problem]] = []
        for i in np.flatnonzero(reserved):
            problems.append((i, Problem(ids[i], label, int(rows[i]), "client_id", reserved_id_reason(ids[i]))))
        slow = np.flatnonzero(~cleared & ~skipped & ~reserved)
        for i, row in zip(slow, frame.iloc[slow].to_dict("records")):
            values = {k: v for k, v in row.items() if v is not None and str(v).strip() != ""}
            try:
                record = ClientRecord.model_validate(values)
            except ValidationError as exc:
                for error in exc.errors():
                    column = str(error["loc"][0]) if error["loc"] else ""
                    message = error["msg"]
                    if error["type"] == "string_pattern_mismatch":
                        message = {"client_id": client_id_rule_broken(ids[i]), "currency": "expected a three-letter ISO code"}.get(column, message)
                    problems.append((i, Problem(ids[i], label, int(rows[i]), column, message)))
                continue
            ok[i] = True
            for name in values:
                if name not in ClientRecord.model_fields or name == "client_id":
                    continue
                if name in parsed:
                    parsed[name][i] = _stored((_CLIENT_FIELDS or {}).get(name), getattr(record, name))
                else:
                    other.setdefault(name, {})[i] = getattr(record, name)
        problems.sort(key=lambda item: item[0])  # row order, each row's problems as found
        parsed.pop("client_id", None)
        for name, values in parsed.items():
            if values.dtype == object:
                kind = _CLIENT_FIELDS[name].kind if _CLIENT_FIELDS else "other"
                if kind in ("currency", "choice"):
                    # a few codes repeat: one object per distinct code
                    codes, uniques = pd.factorize(pd.Series(values, dtype=object))
                    distinct = np.empty(len(uniques) + 1, dtype=object)
                    distinct[:-1] = list(uniques)  # the last, None, for the blanks (code -1)
                    parsed[name] = distinct[codes]
                else:
                    parsed[name] = _Texts.pack(values)
        # the ids packed too: once the chunk's cells are freed, nothing of
        # them stays scattered in memory (a surviving string per row would
        # keep most of the memory its row took)
        chunks.append({"ids": _Texts.pack(ids), "rows": rows, "ok": ok, "parsed": parsed, "other": other, "problems": problems})
        del frame, ids, given, cleared, parsed, control, stems
    # duplicate ids, whatever their case (they would share a file name): the first row keeps the id
    all_ids = _Texts.join([c["ids"] for c in chunks])
    all_rows = np.concatenate([c["rows"] for c in chunks]).astype(np.int32)
    duplicate, first_of = _case_duplicates(all_ids)
    row_problems: list[Problem] = []
    offset = 0
    for chunk in chunks:
        for i, problem in chunk["problems"]:
            if not duplicate[offset + i]:
                row_problems.append(problem)
        for i in np.flatnonzero(duplicate[offset : offset + len(chunk["ids"])]):
            first_row = int(all_rows[first_of[offset + i]])
            row_problems.append(Problem(chunk["ids"][i], label, int(chunk["rows"][i]), "client_id", f"duplicate client_id (also on row {first_row}; ids differing only in case would share a file name)"))
        offset += len(chunk["ids"])
    row_problems.sort(key=lambda problem: problem.row)  # stable: a row's problems stay in their order
    order = {name: position for position, name in enumerate(columns)}
    control_problems.sort(key=lambda problem: (order.get(problem.column, len(order)), problem.row))
    batch.problems.extend(control_problems)
    batch.problems.extend(row_problems)
    # every field's values over the whole file (duplicates included: ClientTable.source skips them)
    values_of = {}
    for name in chunks[0]["parsed"]:
        parts = [c["parsed"][name] for c in chunks]
        values_of[name] = _Texts.join(parts) if isinstance(parts[0], _Texts) else np.concatenate(parts)
    if "go_live" not in values_of:
        values_of["go_live"] = np.full(len(all_ids), np.datetime64("NaT"), dtype="datetime64[D]")
    other_of: dict[str, dict[int, object]] = {}
    offset = 0
    for chunk in chunks:
        for name, values in chunk["other"].items():
            other_of.setdefault(name, {}).update({offset + i: value for i, value in values.items()})
        offset += len(chunk["ids"])
    keep = ~duplicate
    source = np.flatnonzero(keep) if duplicate.any() else None
    ok_all = np.concatenate([c["ok"] for c in chunks])
    del chunks
    clients = ClientTable(all_ids if source is None else all_ids.take(keep), all_rows[keep], ok_all[keep], values_of, other_of, source)
    batch.clients = clients
    batch.client_rows = _ClientView(clients, "row")
    batch.codes = _ClientView(clients, "code")


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
        client_ids = strip_text(chunk["client_id"], other="")
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
            if rule.kind in ("text", "path"):
                long = _longer_than_a_cell(values)
                for index in np.flatnonzero(long):
                    batch.problems.append(Problem(client_ids.iat[index] or "(blank)", label, int(chunk.index[index]), column, f"is {long[index]:,} characters long; a cell holds at most {CELL_CHARACTERS:,}: shorten it"))
            parsed[column] = values.reset_index(drop=True)
        codes = batch.clients.positions(client_ids).astype(np.int32)
        strangers = np.flatnonzero(codes < 0)
        if len(strangers):
            # one entry per unknown id (each a problem), counted without a step per row
            found = pd.Series(chunk.index.to_numpy()[strangers]).groupby(client_ids.to_numpy(dtype=object)[strangers], sort=False).agg(["first", "size"])
            for client_id, first_row, count in zip(found.index, found["first"], found["size"]):
                entry = unknown.setdefault(client_id, [int(first_row), 0])
                entry[1] += int(count)
        store.append(pd.DataFrame(parsed), codes, chunk.index.to_numpy())
    store.finish(len(batch.codes))
    batch.stores[name] = store
    for client_id, (first_row, count) in unknown.items():
        more = f" (and {count - 1} more rows)" if count > 1 else ""
        batch.problems.append(Problem(client_id or "(blank)", table.label, first_row, "client_id", f"client_id not in clients{more}"))


# What one cell of a workbook holds (Excel's limit, counted in UTF-16 units
# as Excel counts them): longer text would be cut when written.
CELL_CHARACTERS = 32_767


def _longer_than_a_cell(values: pd.Series) -> np.ndarray:
    """Each text cell's length as Excel counts it where it exceeds
    :data:`CELL_CHARACTERS`, 0 elsewhere. Only cells over half the limit in
    characters (a character is one or two UTF-16 units) are measured one
    by one."""
    lengths = pd.to_numeric(values.astype(object).str.len(), errors="coerce").fillna(0).to_numpy()
    found = np.zeros(len(values), dtype=np.int64)
    for i in np.flatnonzero(lengths > CELL_CHARACTERS // 2):
        units = len(values.iat[i].encode("utf-16-le", "surrogatepass")) // 2
        if units > CELL_CHARACTERS:
            found[i] = units
    return found


def _shown(value) -> str:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return "a blank"
    text = str(value)
    return repr(text if len(text) <= 30 else text[:27] + "...")


def _repeated(key: np.ndarray) -> np.ndarray:
    """Which entries repeat an earlier one (the first of each value is not
    marked), as pandas' ``duplicated(keep="first")``, by sorting: an array
    of 64-bit keys, where a hash table of millions would cost several times
    the memory."""
    if len(key) < 2:
        return np.zeros(len(key), dtype=bool)
    repeated = np.zeros(len(key), dtype=bool)
    if np.all(key[1:] >= key[:-1]):  # the usual file: each client's months in order
        repeated[1:] = key[1:] == key[:-1]
        return repeated
    order = np.argsort(key, kind="stable")  # equal keys keep their file order
    ranked = key[order]
    repeated[order[1:][ranked[1:] == ranked[:-1]]] = True
    return repeated


def _check_months(batch: BatchInput) -> None:
    """Per client: months present, unique, consecutive from go-live on;
    parts within their wholes; a baseline with contacts. Vectorised over
    the whole table (numpy over the stored columns, 32-bit where it fits;
    a Python step only per problem found)."""
    store = batch.stores["kpis"]
    label = batch.labels["kpis"]
    clients = batch.clients
    ids = clients.ids
    go = clients.go_live_months()
    n = len(ids)
    codes = store.internal("_code")
    mask = codes >= 0
    mask[mask] = go[codes[mask]] >= 0
    code = codes[mask]
    del codes
    has_rows = np.zeros(n, dtype=bool)
    has_rows[code] = True
    for c in np.flatnonzero((go >= 0) & ~has_rows):
        batch.problems.append(Problem(ids[c], label, None, "client_id", "no monthly rows for this client"))
    # a month left blank or invalid is reported per cell already: the client is not checked further
    months = store.column("month")[mask]
    undated = np.zeros(n, dtype=bool)
    undated[code[np.isnat(months)]] = True
    if undated.any():
        kept = ~undated[code]
        mask[mask] = kept
        code, months = code[kept], months[kept]
    if len(code) == 0:
        return
    month = (months.astype("datetime64[M]").astype(np.int64) + 1970 * 12).astype(np.int32)
    del months
    rows = store.internal("_row")[mask]
    # (client, month) as one number: months span under 2**16 within datetime64[ns]
    duplicated = _repeated(code.astype(np.int64) * 65536 + (month - month.min()))
    for i in np.flatnonzero(duplicated):
        batch.problems.append(Problem(ids[code[i]], label, int(rows[i]), "month", "month appears twice for this client"))
    if duplicated.any():
        twice = np.zeros(n, dtype=bool)
        twice[code[duplicated]] = True
        kept = ~twice[code]
        mask[mask] = kept
        code, month, rows = code[kept], month[kept], rows[kept]
    post = month >= go[code]
    present = np.bincount(code, minlength=n) > 0
    baseline = np.bincount(code[~post], minlength=n)
    posts = np.bincount(code[post], minlength=n)
    last = np.full(n, np.iinfo(np.int64).min)
    np.maximum.at(last, code, month)
    first_post = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_post, code[post], month[post])
    checked = present & (posts > 0)
    gap = checked & ((first_post != go) | (last - go + 1 != posts))
    if gap.any():
        # the post months of the clients with a gap, grouped by client
        mine = gap[code] & post
        order = np.argsort(code[mine], kind="stable")
        gap_codes, gap_months = code[mine][order], month[mine][order]
    for c in np.flatnonzero(present & ((baseline == 0) | (posts == 0) | gap)):
        go_text = f"{go[c] // 12:04d}-{go[c] % 12 + 1:02d}"
        if baseline[c] == 0:
            batch.problems.append(Problem(ids[c], label, None, "month", f"no baseline month before go-live {go_text}"))
        if posts[c] == 0:
            batch.problems.append(Problem(ids[c], label, None, "month", f"no month from go-live {go_text} on"))
            continue
        if gap[c]:
            lo, hi = np.searchsorted(gap_codes, c, side="left"), np.searchsorted(gap_codes, c, side="right")
            seen = set(gap_months[lo:hi].tolist())
            missing = [m for m in range(int(go[c]), int(last[c]) + 1) if m not in seen]
            shown = ", ".join(f"{m // 12:04d}-{m % 12 + 1:02d}" for m in missing[:3])
            batch.problems.append(Problem(ids[c], label, None, "month", f"post-automation months must be consecutive from go-live; missing {shown}"))
    within = checked[code]
    for part, whole in (("automated_contacts", "contacts"), ("first_contact_resolutions", "contacts"), ("churned_customers", "active_customers")):
        with np.errstate(invalid="ignore"):
            over = within & (store.column(part)[mask] > store.column(whole)[mask])  # a blank (NaN) compares False
        for i in np.flatnonzero(over):
            batch.problems.append(Problem(ids[code[i]], label, int(rows[i]), part, f"{part} exceeds {whole}"))
    before = within & ~post
    contacts = np.nan_to_num(store.column("contacts")[mask][before])  # a blank counts 0, as pandas' sum skips it
    months_before = np.bincount(code[before], minlength=n)
    contacts_before = np.bincount(code[before], weights=contacts, minlength=n)
    for c in np.flatnonzero((months_before > 0) & (contacts_before == 0)):
        batch.problems.append(Problem(ids[c], label, None, "contacts", "baseline months have no contacts, so there is no baseline cost per contact"))


def _check_journeys(batch: BatchInput) -> None:
    """A client whose journeys never converted has nothing to attribute."""
    store = batch.stores.get("journeys")
    if store is None:
        return
    ids = batch.clients.ids
    codes = store.internal("_code").astype(np.int64)
    known = codes >= 0
    code, rows, conversions = codes[known], store.internal("_row")[known], store.column("conversions")[known]
    if len(code) == 0:
        return
    n = len(ids)
    clients, first = np.unique(code, return_index=True)  # each client's first row, in file order
    blanks = np.bincount(code, weights=np.isnan(conversions), minlength=n)
    total = np.bincount(code, weights=np.nan_to_num(conversions), minlength=n)
    for c, i in zip(clients, first):
        if blanks[c] == 0 and total[c] == 0:
            batch.problems.append(Problem(ids[c], batch.labels["journeys"], int(rows[i]), "conversions", "no journey converted, so there is nothing to attribute"))


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
    ids = batch.clients.ids
    n = len(ids)
    store = batch.stores["kpis"]
    label = batch.labels["kpis"]
    codes = store.internal("_code").astype(np.int64)
    known = codes >= 0
    code, rows = codes[known], store.internal("_row")[known]
    leads, won = store.column("leads")[known], store.column("won")[known]
    has_leads, has_won = ~np.isnan(leads), ~np.isnan(won)
    complete = has_leads & has_won
    months = np.bincount(code, minlength=n)
    every = np.bincount(code, weights=complete, minlength=n) == months
    some = np.bincount(code, weights=has_leads | has_won, minlength=n) > 0
    partial = (some & ~every)[code]
    for i in np.flatnonzero(partial & ~complete):
        batch.problems.append(Problem(ids[code[i]], label, int(rows[i]), "won" if has_leads[i] else "leads", "leads and won must be given in every month of a client or in none"))
    with np.errstate(invalid="ignore"):
        over = ~partial & complete & (won > leads)
    for i in np.flatnonzero(over):
        batch.problems.append(Problem(ids[code[i]], label, int(rows[i]), "won", "won exceeds leads"))
    proxies = batch.stores.get("proxies")
    if proxies is not None:
        codes = proxies.internal("_code")
        with np.errstate(invalid="ignore"):
            backwards = (codes >= 0) & (proxies.column("last_month") < proxies.column("first_month"))  # a blank (NaT) compares False
        rows = proxies.internal("_row")
        for i in np.flatnonzero(backwards):
            batch.problems.append(Problem(ids[codes[i]], batch.labels["proxies"], int(rows[i]), "last_month", "last_month is before first_month"))


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
