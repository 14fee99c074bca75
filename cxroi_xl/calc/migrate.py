"""``cxroi-xl migrate``: a workbook made by an earlier release -> the current template.

A user's workbook holds two kinds of things worth keeping: the named input
cells (the yellow cells of the Inputs sheet) and the rows of the Excel
Tables (months, costs, survey answers, proxies, orders, journeys). Both are
found by name, never by position, so they are found wherever a release put
them: an input by its defined name (``DiscountRate``), a table by its
name (``PostAutomation``) and each value by its column's header.

:func:`migrate_file` opens the old workbook as untrusted
(:func:`~cxroi_xl.calc.safety.open_workbook`: size, zip-bomb and XML
limits), recognises the template and the layout it was made with
(:data:`TEMPLATES`), reads every input and table row, builds the current
template from them with the workbook builders (tables sized to the user's
rows, new inputs at their defaults) and writes the user's values into it
cell for cell. What has no place in the current template (an input that is
gone, such as the value of an extra win; a column, table, sheet or defined
name the user added; a typed value over a calculated cell; a formula that
points at cells that have moved) is refused, all of it in one
:class:`CannotMigrate` naming each item and how to proceed, unless the
user names it with ``drop`` to leave it out on purpose. Nothing is written
then; the old workbook is never written to.

Every formula of the new workbook gets its cached value from the engine
when the user's values are exactly what the builder wrote, otherwise
(text in a number column, rows out of order, an input the builder does not
take) from the headless calculation (:func:`~cxroi_xl.calc.workbook.complete_values`).
"""
from __future__ import annotations

import datetime as dt
import functools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from .. import __version__
from ..engine.tracker import KPI_COLUMNS, PROXY_COLUMNS, TrackerInput
from ..errors import CXError
from ..workbooks.cache import FormulaValues
from ..workbooks.common import CURRENCY_SYMBOLS, currency_format, put_text, workbook_bytes, write_atomic
from ..workbooks.values import finish
from .safety import Limits, WorkbookError, macro_parts, open_workbook
from .workbook import complete_values

__all__ = ["Layout", "TableRole", "TemplateSpec", "TEMPLATES", "Problem", "CannotMigrate", "MigrationReport", "recognise", "migrate_file"]


# ---------------------------------------------------------------------------
# What each template holds, release by release


@dataclass(frozen=True)
class TableRole:
    """An Excel Table of the current template: the columns a user types
    (every other column is calculated), and which hold dates or text.
    ``derived``: rebuilt from the other tables, never read."""

    name: str
    inputs: tuple[str, ...]
    dates: tuple[str, ...] = ()
    blank_dates: tuple[str, ...] = ()  # date columns that may be left blank
    derived: bool = False


@dataclass(frozen=True)
class Layout:
    """How one release laid a template out: the tables and defined names
    that tell it apart (all present in a workbook of it), its named inputs
    and calculated names, and its sheets."""

    version: str
    description: str
    tables: tuple[str, ...]
    inputs: tuple[str, ...]
    calculated: tuple[str, ...]
    sheets: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.version} ({self.description})"


@dataclass(frozen=True)
class TemplateSpec:
    name: str
    title: str
    key_tables: tuple[str, ...]  # all present: a workbook of this template
    tables: tuple[TableRole, ...]  # the current template's tables
    layouts: tuple[Layout, ...]  # newest first; layouts[0] is the current one
    # inputs that start as a formula of the template (the user may type over it)
    formula_defaults: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # inputs of earlier layouts that are gone: what replaces them
    gone: dict[str, str] = field(default_factory=dict)

    @property
    def current(self) -> Layout:
        return self.layouts[0]

    def table(self, name: str) -> TableRole | None:
        return next((t for t in self.tables if t.name == name), None)


_ROI_SHEETS_FIRST = ("Start here", "Inputs", "Baseline", "Post-automation", "Costs", "Surveys", "ROI", "CX metrics")
_ROI_SHEETS_HOLISTIC = ("Start here", "Inputs", "Baseline", "Post-automation", "Costs", "Surveys", "Proxies", "ROI", "Scenarios", "CX metrics")
_ROI_SHEETS_MEASURED = ("Start here", "Summary", *_ROI_SHEETS_HOLISTIC[1:])
_ROI_SHEETS = ("Start here", "Summary", "Inputs", "Baseline", "Post-automation", "Costs", "Surveys", "Proxies", "Controls", "ROI", "Scenarios", "CX metrics")
_ROI_INPUTS_FIRST = ("ClientName", "GoLive", "Currency", "DiscountRate", "BenefitRisk", "CostRisk")
_ROI_CALCULATED_FIRST = ("GoLiveMonth", "MonthlyRate", "BaselineCostPerContact")
_ROI_INPUTS = _ROI_INPUTS_FIRST + ("GrossMargin", "RetentionRisk", "UpliftRisk", "HorizonMonths", "Method", "HalfLifeService", "HalfLifeRetention", "HalfLifeUplift", "RampMonths")
_ROI_CALCULATED = _ROI_CALCULATED_FIRST + ("BaselineChurn", "BaselineARPU", "BaselineMonths", "TrackedMonths", "HorizonRows", "ServiceCounted", "RetentionCounted", "UpliftCounted", "SummaryLabels", "SummaryValues")
_ROI_TABLES_FIRST = ("Baseline", "PostAutomation", "OneOffCosts", "Surveys")
_KPI_INPUTS = ("month", *KPI_COLUMNS, "leads", "won")

ROI = TemplateSpec(
    name="cx_automation_roi",
    title="the main ROI tracker",
    key_tables=("Baseline", "PostAutomation"),
    tables=(
        TableRole("Baseline", _KPI_INPUTS, dates=("month",)),
        TableRole("PostAutomation", _KPI_INPUTS, dates=("month",)),
        TableRole("OneOffCosts", ("date", "category", "amount"), dates=("date",)),
        TableRole("Surveys", ("date", "nps", "csat", "ces"), dates=("date",)),
        TableRole("Proxies", PROXY_COLUMNS, dates=("first_month", "last_month"), blank_dates=("last_month",)),
        TableRole("Controls", ("month", "name", "value"), dates=("month",)),
    ),
    layouts=(
        Layout("0.2", "current: Summary sheet, measured model, Controls sheet", _ROI_TABLES_FIRST + ("Proxies", "Controls"), _ROI_INPUTS, _ROI_CALCULATED, _ROI_SHEETS),
        Layout("0.1", "measured model, before the Controls sheet", _ROI_TABLES_FIRST + ("Proxies",), _ROI_INPUTS, _ROI_CALCULATED, _ROI_SHEETS_MEASURED),
        Layout(
            "0.1",
            "every benefit stream, with the value of an extra win",
            _ROI_TABLES_FIRST + ("Proxies",),
            _ROI_INPUTS_FIRST + ("GrossMargin", "RetentionRisk", "UpliftRisk", "ValuePerWin", "HorizonMonths"),
            _ROI_CALCULATED_FIRST + ("BaselineChurn", "BaselineARPU", "DefaultValuePerWin", "ValuePerWinUsed", "TrackedMonths", "HorizonRows"),
            _ROI_SHEETS_HOLISTIC,
        ),
        Layout("0.1", "service savings only", _ROI_TABLES_FIRST, _ROI_INPUTS_FIRST, _ROI_CALCULATED_FIRST, _ROI_SHEETS_FIRST),
    ),
    gone={
        "ValuePerWin": (
            "the value of an extra win is gone since 0.2: an extra customer is now valued by the margin it earns "
            "(GrossMargin x its revenue) while it stays, inside HorizonMonths, its effect fading with HalfLifeUplift; "
            "no input takes a value per win any more"
        ),
    },
)

_VALUE_INPUTS = ("ClientName", "Currency", "ARPU", "GrossMargin", "MonthlyChurn", "DiscountRate", "HorizonMonths", "AcquisitionSpend", "NewCustomers", "PredictionMonths")
CUSTOMER_VALUE = TemplateSpec(
    name="customer_value",
    title="the customer-value workbook",
    key_tables=("Transactions", "CustomerMonths"),
    tables=(
        TableRole("Transactions", ("customer_id", "date", "amount"), dates=("date",)),
        TableRole("Customers", (), derived=True),  # summarised from Transactions by the builder
        TableRole("CustomerMonths", ("month", "start_customers", "new_customers", "churned_customers", "revenue"), dates=("month",)),
    ),
    layouts=(Layout("0.1 or 0.2", "unchanged since 0.1", ("Transactions", "Customers", "CustomerMonths"), _VALUE_INPUTS, ("MonthlyRate", "PredictionWeeks"), ("Start here", "Inputs", "Transactions", "Customers", "CLTV", "Churn", "Cohorts", "Survival", "Predictive CLV")),),
    formula_defaults={
        "ARPU": ("=SUM(CustomerMonths[revenue])/SUM(CustomerMonths[start_customers])",),
        "MonthlyChurn": ("=SUM(CustomerMonths[churned_customers])/SUM(CustomerMonths[start_customers])",),
        # 0.1 counted the Churn sheet's new customers; 0.2 counts the customers of Transactions
        "NewCustomers": ("=SUM(CustomerMonths[new_customers])", "=ROWS(Customers[customer_id])"),
    },
)

ATTRIBUTION = TemplateSpec(
    name="attribution",
    title="the attribution workbook",
    key_tables=("Journeys",),
    tables=(TableRole("Journeys", ("path", "conversions", "value", "nulls")),),
    layouts=(Layout("0.1 or 0.2", "unchanged since 0.1", ("Journeys",), ("HalfLife",), (), ("Start here", "Journeys", "Attribution")),),
)

TEMPLATES: dict[str, TemplateSpec] = {spec.name: spec for spec in (ROI, CUSTOMER_VALUE, ATTRIBUTION)}

# the builders' TrackerInput fields behind the main template's inputs
_ROI_FIELDS = {
    "ClientName": "client_name",
    "GoLive": "go_live",
    "Currency": "currency",
    "DiscountRate": "discount_rate",
    "BenefitRisk": "benefit_risk",
    "CostRisk": "cost_risk",
    "GrossMargin": "gross_margin",
    "RetentionRisk": "retention_risk",
    "UpliftRisk": "uplift_risk",
    "HorizonMonths": "horizon_months",
    "Method": "method",
    "RampMonths": "ramp_months",
}
_HALF_LIVES = {"HalfLifeService": "service", "HalfLifeRetention": "retention", "HalfLifeUplift": "uplift"}

# Custom document properties: those `generate` writes, and the version this command adds
TEMPLATE_PROPERTY, MODE_PROPERTY, VERSION_PROPERTY = "cxroi-xl template", "cxroi-xl mode", "cxroi-xl version"


# ---------------------------------------------------------------------------
# Problems and the report


class Problem(NamedTuple):
    """One thing the migration cannot carry over: where it is, why, and the
    ``--drop`` key that leaves it out on purpose (None: fix the old workbook)."""

    where: str
    reason: str
    key: str | None

    def __str__(self) -> str:
        hint = f" (to migrate without it: --drop {_quoted(self.key)})" if self.key else ""
        return f"{self.where}: {self.reason}{hint}"


def _quoted(key: str) -> str:
    return f'"{key}"' if any(c in key for c in " []'&") else key


class CannotMigrate(WorkbookError):
    """The workbook holds what the current template has no place for;
    ``problems`` lists each. Nothing was written."""

    def __init__(self, path: str | os.PathLike, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(path, f"cannot be migrated without losing what it holds; nothing written:\n{lines}")


@dataclass
class MigrationReport:
    """What ``cxroi-xl migrate`` did."""

    source: Path
    output: Path
    template: str
    layout: str
    mode: str
    tables: list[tuple[str, int]] = field(default_factory=list)  # (table, rows copied)
    inputs: list[str] = field(default_factory=list)  # named inputs copied
    defaults: list[str] = field(default_factory=list)  # inputs, columns, tables the old workbook lacks: the template's defaults
    dropped: list[str] = field(default_factory=list)  # left out on purpose (--drop)
    notes: list[str] = field(default_factory=list)
    recalculated: bool = False  # values from the headless calculation, not the engine


# ---------------------------------------------------------------------------
# Reading cells


class Typed(NamedTuple):
    """A cell as the user left it. ``kind``: "value" (number, date, bool),
    "text", "formula", "error" or "blank"."""

    kind: str
    value: Any

    @property
    def blank(self) -> bool:
        return self.kind == "blank"


_BLANK = Typed("blank", None)


def _typed(cell: Any) -> Typed:
    from openpyxl.worksheet.formula import ArrayFormula

    if cell is None:
        return _BLANK
    value = cell.value
    if value is None or (isinstance(value, str) and value == ""):
        return _BLANK
    if isinstance(value, ArrayFormula):
        return Typed("formula", value.text)
    if cell.data_type == "f":
        return Typed("formula", value)
    if cell.data_type == "e":
        return Typed("error", value)
    if isinstance(value, str):
        return Typed("blank", None) if not value.strip() else Typed("text", value)
    return Typed("value", value)


def _write(cell: Any, typed: Typed) -> None:
    """Put a user's value into a cell as the user had it: text stays text
    even when it starts with "=", a formula stays a formula."""
    if typed.kind == "text":
        put_text(cell, typed.value)
    elif typed.kind == "blank":
        cell.value = None
    else:
        cell.value = typed.value
        if typed.kind == "error":
            cell.data_type = "e"


def _same(written: Typed, user: Typed) -> bool:
    """The builder wrote what the user has (1 and 1.0 alike; a date and
    the same datetime alike)."""
    if written.kind != user.kind:
        return written.blank and user.blank
    a, b = written.value, user.value
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        return a == b
    if isinstance(a, (dt.date, dt.datetime)) and isinstance(b, (dt.date, dt.datetime)):
        return pd.Timestamp(a) == pd.Timestamp(b)
    return a == b


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _references_cells(formula: str) -> bool:
    """Whether a formula refers to anything (a cell, range, name or table):
    one that refers to nothing means the same in any workbook."""
    from openpyxl.formula.tokenizer import Token, Tokenizer, TokenizerError

    try:
        tokens = Tokenizer(formula).items
    except (TokenizerError, IndexError):
        return True
    return any(t.type == Token.OPERAND and t.subtype == Token.RANGE for t in tokens)


def _shown(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d") if value.time() == dt.time(0) else value.isoformat(sep=" ")
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _single_cell(book: Any, name: str) -> tuple[Any, str] | None:
    """The cell a workbook-level defined name points to, with its address
    (Sheet!B4), or None when it is not one cell of a sheet."""
    defined = book.defined_names.get(name)
    if defined is None:
        return None
    try:
        destinations = list(defined.destinations)
    except Exception:
        return None
    if len(destinations) != 1:
        return None
    sheet, ref = destinations[0]
    ref = ref.replace("$", "")
    if sheet not in book.sheetnames or ":" in ref:
        return None
    try:
        return book[sheet][ref], f"{sheet}!{ref}"
    except (ValueError, KeyError):
        return None


@dataclass
class _Table:
    """One Excel Table of the old workbook: its sheet, columns (header
    order) and data rows (cells)."""

    sheet: str
    name: str
    columns: list[str]
    rows: list[tuple[int, list[Any]]]  # (sheet row, cells in column order)


def _tables(book: Any) -> dict[str, _Table]:
    from openpyxl.utils.cell import range_boundaries

    found = {}
    for sheet in book.worksheets:
        for table in sheet.tables.values():
            min_col, min_row, max_col, max_row = range_boundaries(table.ref)
            header = 1 if table.headerRowCount is None else int(table.headerRowCount)
            last = max_row - int(table.totalsRowCount or 0)
            columns = [c.name for c in table.tableColumns] or [str(sheet.cell(min_row, c).value) for c in range(min_col, max_col + 1)]
            rows = [(r, [sheet._cells.get((r, c)) for c in range(min_col, max_col + 1)]) for r in range(min_row + header, last + 1)]
            found[table.displayName or table.name] = _Table(sheet.title, table.displayName or table.name, columns, rows)
    return found


def _custom_property(book: Any, name: str) -> str | None:
    props = getattr(book, "custom_doc_props", None)
    for prop in getattr(props, "props", []) or []:
        if prop.name == name:
            return str(prop.value)
    return None


# ---------------------------------------------------------------------------
# Recognising the workbook


def _version_key(text: str) -> tuple[int, ...]:
    """'0.2.0' -> (0, 2, 0); the digits of each dotted part, so '0.3.0rc1' -> (0, 3, 0)."""
    import re

    return tuple(int(re.match(r"\d*", part).group() or 0) for part in text.strip().split("."))


def recognise(book: Any, path: str | os.PathLike) -> tuple[TemplateSpec, Layout]:
    """The template and layout a workbook was made with, from its Excel
    Tables and defined names (and the template ``generate`` records in the
    document properties, which must agree). Raises :class:`WorkbookError`
    for a workbook no cxroi-xl template made."""
    tables = set(_tables(book))
    names = set(book.defined_names.keys())
    kinds = [spec for spec in TEMPLATES.values() if set(spec.key_tables) <= tables]
    recorded = _custom_property(book, TEMPLATE_PROPERTY)
    if not kinds:
        wanted = "; ".join(f"{' and '.join(spec.key_tables)} ({spec.name})" for spec in TEMPLATES.values())
        partial = sorted(tables & {t for spec in TEMPLATES.values() for t in spec.key_tables})
        found = f" (it has {', '.join(partial)} but not the rest)" if partial else ""
        raise WorkbookError(path, f"is not a workbook of a cxroi-xl template{found}: migrate upgrades workbooks made from a template of an earlier release, which hold the Excel Tables {wanted}")
    if len(kinds) > 1:
        raise WorkbookError(path, f"holds the tables of several templates ({', '.join(spec.name for spec in kinds)}): migrate one template's workbook at a time")
    spec = kinds[0]
    made_by = _custom_property(book, VERSION_PROPERTY)  # written by migrate since 0.2
    if made_by is not None and _version_key(made_by) > _version_key(__version__):
        raise WorkbookError(path, f"was made by cxroi-xl {made_by}, newer than this {__version__}: upgrade cxroi-xl to read it")
    if recorded is not None and recorded != spec.name:
        raise WorkbookError(path, f"says it was made from the template {recorded!r} (its document properties) but holds the tables of {spec.name}: not a workbook migrate can read safely")
    for layout in spec.layouts:
        if set(layout.tables) <= tables and set(layout.inputs) | set(layout.calculated) <= names:
            return spec, layout
    missing = sorted(set(spec.layouts[-1].inputs) - names)
    raise WorkbookError(path, f"holds the tables of {spec.name} but not the named inputs of any release ({', '.join(missing) or 'its inputs'} missing): a layout migrate does not know")


# ---------------------------------------------------------------------------
# Reading the user's inputs and rows


@dataclass
class _Read:
    """Everything read from the old workbook."""

    spec: TemplateSpec
    layout: Layout
    inputs: dict[str, Typed] = field(default_factory=dict)  # copied into the new template
    defaults: list[str] = field(default_factory=list)
    rows: dict[str, list[dict[str, Typed]]] = field(default_factory=dict)  # table -> rows by column
    sheet_rows: dict[str, list[int]] = field(default_factory=dict)  # table -> the old sheet row of each
    problems: list[Problem] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def refuse(self, problem: Problem, drop: set[str], what_if_dropped: str) -> bool:
        """Record ``problem``, or, when the user dropped its key, what is
        left out instead. True when dropped."""
        if problem.key is not None and problem.key in drop:
            self.dropped.append(f"{problem.key}: {what_if_dropped}")
            return True
        self.problems.append(problem)
        return False


def _read_inputs(book: Any, read: _Read, drop: set[str]) -> None:
    spec, layout = read.spec, read.layout
    current = set(spec.current.inputs)
    for name in layout.inputs:
        found = _single_cell(book, name)
        if found is None:
            read.problems.append(Problem(f"defined name {name}", "does not point to one cell of a sheet, so its input cannot be read", None))
            continue
        cell, where = found
        typed = _typed(cell)
        if name in spec.gone:
            if typed.blank:
                read.notes.append(f"{name} ({where}) was blank; {spec.gone[name]}")
            else:
                read.refuse(Problem(f"{where} {name} = {_shown(typed.value)}", spec.gone[name], name), drop, f"{_shown(typed.value)} not carried over ({spec.gone[name].split(':')[0]})")
            continue
        if name not in current:  # a layout input the current template lacks and nobody said why: a defect here
            raise AssertionError(f"{name}: an input of the {layout.label} layout without a place in the current template")
        if typed.kind == "formula":
            if typed.value.replace(" ", "") in spec.formula_defaults.get(name, ()):
                read.defaults.append(f"{name} (the template's formula, which the old workbook kept)")
                continue
            if _references_cells(typed.value):
                read.refuse(
                    Problem(f"{where} {name}", f"holds your formula {typed.value}, which refers to cells, and cells have moved in the current template; type its value instead", name),
                    drop,
                    "left at the current template's default",
                )
                continue
        read.inputs[name] = typed
    for name in spec.current.inputs:
        if name not in layout.inputs:
            read.defaults.append(name)
    # calculated cells the user typed over: the new template calculates them
    for name in layout.calculated:
        found = _single_cell(book, name)
        if found is None:
            continue  # a range (the Summary's labels and values) or gone: the template writes it
        cell, where = found
        typed = _typed(cell)
        if typed.kind in ("value", "text"):
            read.refuse(
                Problem(f"{where} {name} = {_shown(typed.value)}", "is calculated by the template, but the old workbook holds a typed value there; the current template calculates it again", name),
                drop,
                f"{_shown(typed.value)} not carried over; calculated by the template",
            )


def _read_tables(book: Any, read: _Read, drop: set[str]) -> None:
    spec = read.spec
    tables = _tables(book)
    known = {t for layout in spec.layouts for t in layout.tables}
    for name, table in tables.items():
        if name not in known:
            read.refuse(Problem(f"table {name} (sheet '{table.sheet}')", f"is not a table of {spec.title}, so the current template has no place for its {len(table.rows)} row(s)", f"table:{name}"), drop, "not carried over")
    for role in spec.tables:
        table = tables.get(role.name)
        if table is None:
            read.defaults.append(f"{role.name} (a table the old workbook lacks: empty)")
            continue
        if role.derived:
            read.notes.append(f"{role.name}: rebuilt from the other tables by the current template, not copied")
            continue
        # Excel matches a table's column names whatever their case
        by_name = {c.lower(): c for c in table.columns}
        inputs = [c for c in role.inputs if c.lower() in by_name]
        new_columns = [c for c in role.inputs if c.lower() not in by_name]
        if new_columns:
            read.defaults.append(f"{role.name}[{', '.join(new_columns)}] (columns the old table lacks: blank)")
        typed_columns = {c.lower() for c in role.inputs}
        calculated = [c for c in table.columns if c.lower() not in typed_columns]
        current_columns = {c.lower() for c in _current_columns(spec, role.name)}
        unknown = [c for c in calculated if c.lower() not in current_columns]
        for column in unknown:
            read.refuse(Problem(f"{role.name}[{column}] (sheet '{table.sheet}')", "the current template's table has no column of that name", f"{role.name}[{column}]"), drop, "column not carried over")
        # typed values over a calculated column: the template computes them again
        for column in (c for c in calculated if c not in unknown):
            j = table.columns.index(column)
            typed_over = [(r, _typed(cells[j])) for r, cells in table.rows if _typed(cells[j]).kind in ("value", "text")]
            if typed_over:
                cells = ", ".join(f"row {r}" for r, _ in typed_over[:5]) + (f" and {len(typed_over) - 5} more" if len(typed_over) > 5 else "")
                read.refuse(
                    Problem(f"{role.name}[{column}] (sheet '{table.sheet}', {cells})", "a calculated column, but the old workbook holds typed values there; the current template calculates them again", f"{role.name}[{column}]"),
                    drop,
                    f"{len(typed_over)} typed value(s) not carried over; calculated by the template",
                )
        rows, sheet_rows, blank_rows = [], [], 0
        positions = {c: table.columns.index(by_name[c.lower()]) for c in inputs}
        for r, cells in table.rows:
            row = {c: _typed(cells[j]) for c, j in positions.items()}
            if all(v.blank for v in row.values()):
                blank_rows += 1
                continue
            for column, typed in row.items():
                if typed.kind == "formula" and _references_cells(typed.value):
                    key = f"{role.name}[{column}]"
                    if not read.refuse(Problem(f"{table.sheet}!{_column_letter(table, by_name[column.lower()], book)}{r} ({key})", f"holds your formula {typed.value}, which refers to cells, and cells have moved in the current template; type its value instead", key), drop, "formulas that refer to cells left blank"):
                        continue
                    row[column] = _BLANK
            rows.append(row)
            sheet_rows.append(r)
        if blank_rows:
            read.notes.append(f"{role.name}: {blank_rows} empty row(s) not copied")
        read.rows[role.name] = rows
        read.sheet_rows[role.name] = sheet_rows


def _column_letter(table: _Table, column: str, book: Any) -> str:
    from openpyxl.utils.cell import get_column_letter, range_boundaries

    sheet = book[table.sheet]
    ref = next(t.ref for t in sheet.tables.values() if (t.displayName or t.name) == table.name)
    return get_column_letter(range_boundaries(ref)[0] + table.columns.index(column))


def _current_columns(spec: TemplateSpec, table: str) -> tuple[str, ...]:
    """Every column of a current template's table, calculated ones included."""
    return _all_current_columns()[spec.name].get(table, ())


@functools.lru_cache(maxsize=1)
def _all_current_columns() -> dict[str, dict[str, tuple[str, ...]]]:
    from ..workbooks import roi_template, value_template
    from ..workbooks.holistic_sheets import PROXY_COLUMNS_SPEC

    return {
        "cx_automation_roi": {
            "Baseline": tuple(c[0] for c in roi_template._kpi_columns("USD")),
            "PostAutomation": tuple(c[0] for c in roi_template._post_columns("USD")),
            "OneOffCosts": ("date", "category", "amount"),
            "Surveys": tuple(c[0] for c in roi_template._survey_columns()),
            "Proxies": tuple(c[0] for c in PROXY_COLUMNS_SPEC),
            "Controls": ("month", "name", "value"),
        },
        "customer_value": {
            "Transactions": ("customer_id", "date", "amount"),
            "Customers": tuple(c[0] for c in value_template.CUSTOMER_COLUMNS),
            "CustomerMonths": ("month", "start_customers", "new_customers", "churned_customers", "revenue", "end_customers"),
        },
        "attribution": {"Journeys": ("path", "conversions", "value", "nulls")},
    }


def _read_rest(book: Any, read: _Read, drop: set[str], source: Path) -> None:
    """Sheets and defined names the user added, and macros: no place for them."""
    spec = read.spec
    known_sheets = {s for layout in spec.layouts for s in layout.sheets}
    for title in book.sheetnames:
        if title not in known_sheets:
            read.refuse(Problem(f"sheet '{title}'", f"is not a sheet of {spec.title}: migrate carries over the template's inputs and tables, not sheets of your own; copy it into the new workbook by hand", f"sheet:{title}"), drop, "not carried over")
    known_names = {n for layout in spec.layouts for n in layout.inputs + layout.calculated} | set(spec.gone)
    for name in book.defined_names.keys():
        if name in known_names or name.lower().startswith("_xl"):
            continue
        read.refuse(Problem(f"defined name {name}", "is not a name of the template; the cells it points to may have moved in the current template", f"name:{name}"), drop, "not carried over")
    macros = macro_parts(source)
    if macros:
        read.refuse(Problem("macros", f"the workbook holds macros ({macros[0]}); the new workbook is a plain .xlsx built from the template", "macros"), drop, "not carried over")


# ---------------------------------------------------------------------------
# Frames for the builders


def _number(typed: Typed | None, default: float = float("nan")) -> float:
    return float(typed.value) if typed is not None and typed.kind == "value" and _is_number(typed.value) else default


def _date(typed: Typed | None) -> pd.Timestamp | None:
    """A date typed as a date, or as text a date parser reads; else None."""
    if typed is None or typed.blank:
        return None
    value = typed.value
    if typed.kind == "value" and isinstance(value, (dt.date, dt.datetime)):
        return pd.Timestamp(value)
    if typed.kind == "text":
        try:
            parsed = pd.to_datetime(value.strip())
        except (ValueError, TypeError, OverflowError):
            return None
        return None if pd.isna(parsed) else parsed
    return None


def _text(typed: Typed | None) -> Any:
    if typed is None or typed.blank:
        return None
    return typed.value if typed.kind == "text" else str(typed.value)


def _check_dates(read: _Read) -> None:
    """Date columns must hold dates: the builder places rows by them."""
    for role in read.spec.tables:
        for i, row in enumerate(read.rows.get(role.name, [])):
            for column in role.dates:
                typed = row.get(column)
                if typed is None or (typed.blank and column in role.blank_dates):
                    continue
                if _date(typed) is None:
                    found = "blank" if typed.blank else repr(_shown(typed.value))
                    read.problems.append(Problem(f"{role.name} row {read.sheet_rows[role.name][i]}, {column}", f"is {found}, not a date; the current template needs a date there: correct it in the old workbook", None))


def _frame(rows: list[dict[str, Typed]], columns: dict[str, str]) -> pd.DataFrame:
    """A builder's frame: ``columns`` maps each column to "number", "date" or "text"."""
    data: dict[str, list] = {}
    for column, kind in columns.items():
        if kind == "number":
            data[column] = [_number(row.get(column)) for row in rows]
        elif kind == "date":
            data[column] = [_date(row.get(column)) or pd.NaT for row in rows]
        else:
            data[column] = [_text(row.get(column)) for row in rows]
    frame = pd.DataFrame(data, columns=list(columns))
    for column, kind in columns.items():
        if kind == "date":
            frame[column] = pd.to_datetime(frame[column])
        elif kind == "number":
            frame[column] = frame[column].astype(float)
    return frame


def _roi_data(read: _Read, client_id: str) -> TrackerInput:
    from ..engine.streams import DEFAULT_HALF_LIVES

    fields: dict[str, Any] = {}
    defaults = TrackerInput.__dataclass_fields__
    for name, attribute in _ROI_FIELDS.items():
        typed = read.inputs.get(name)
        default = defaults[attribute].default if attribute in defaults else None
        if attribute in ("client_name", "currency", "method"):
            value = _text(typed) if typed is not None and typed.kind in ("text", "value") else None
            fields[attribute] = value if value is not None else ({"client_name": "", "currency": "USD", "method": "glm"}[attribute])
        elif attribute == "go_live":
            fields[attribute] = _date(typed)
        elif attribute in ("horizon_months", "ramp_months"):
            number = _number(typed, float(default))
            fields[attribute] = int(number) if float(number).is_integer() else number
        else:
            fields[attribute] = _number(typed, float(default))
    half_lives = {}
    for name, stream in _HALF_LIVES.items():
        typed = read.inputs.get(name)
        half_lives[stream] = (None if typed.blank else _number(typed, DEFAULT_HALF_LIVES[stream])) if typed is not None else DEFAULT_HALF_LIVES[stream]
    kpi_columns = {"month": "date", **{c: "number" for c in KPI_COLUMNS}}
    rows = read.rows.get("Baseline", []) + read.rows.get("PostAutomation", [])
    if any(c in row for row in rows for c in ("leads", "won")):
        kpi_columns.update(leads="number", won="number")
    kpis = _frame(rows, kpi_columns)
    proxies = _frame(read.rows.get("Proxies", []), {"name": "text", "monthly_value": "number", "first_month": "date", "last_month": "date", "confidence": "number"})
    controls = _frame(read.rows.get("Controls", []), {"month": "date", "name": "text", "value": "number"})
    return TrackerInput(
        client_id=client_id,
        kpis=kpis,
        costs=_frame(read.rows.get("OneOffCosts", []), {"date": "date", "category": "text", "amount": "number"}),
        surveys=_frame(read.rows.get("Surveys", []), {"date": "date", "nps": "number", "csat": "number", "ces": "number"}),
        proxies=proxies if len(proxies) else None,
        controls=controls if len(controls) else None,
        half_lives=half_lives,
        **fields,
    )


def _check_phases(read: _Read, go_live: pd.Timestamp | None) -> None:
    """The builder splits the months at the go-live month: every Baseline
    row before it, every Post-automation row from it on, as the tables had them."""
    if go_live is None:
        typed = read.inputs.get("GoLive")
        shown = "blank" if typed is None or typed.blank else repr(_shown(typed.value))
        read.problems.append(Problem("GoLive (Inputs)", f"is {shown}, not a date; the current template splits the months at the go-live month: correct it in the old workbook", None))
        return
    start = pd.Timestamp(go_live.year, go_live.month, 1)
    for table, before in (("Baseline", True), ("PostAutomation", False)):
        for i, row in enumerate(read.rows.get(table, [])):
            month = _date(row.get("month"))
            if month is None:
                continue  # reported by _check_dates
            if (month < start) != before:
                side = "on or after" if before else "before"
                other = "Post-automation" if before else "Baseline"
                read.problems.append(
                    Problem(
                        f"{table} row {read.sheet_rows[table][i]} (month {month:%Y-%m})",
                        f"is {side} the go-live month {start:%Y-%m}; the current template splits the months at go-live, so this row belongs on the {other} sheet: move it or correct GoLive in the old workbook",
                        None,
                    )
                )


def _value_data(read: _Read, client_id: str) -> TrackerInput:
    months = _frame(read.rows.get("CustomerMonths", []), {"month": "date", "start_customers": "number", "new_customers": "number", "churned_customers": "number", "revenue": "number"})
    kpis = months.rename(columns={"start_customers": "active_customers"})
    transactions = _frame(read.rows.get("Transactions", []), {"customer_id": "text", "date": "date", "amount": "number"})
    empty = pd.DataFrame({"date": pd.Series([], dtype="datetime64[ns]")})
    rate = _number(read.inputs.get("DiscountRate"), 0.10)
    return TrackerInput(client_id=client_id, client_name=_text(read.inputs.get("ClientName")) or "", go_live=pd.Timestamp("2000-01-01"), kpis=kpis, costs=empty, surveys=empty, currency=_text(read.inputs.get("Currency")) or "USD", discount_rate=rate, transactions=transactions)


def _attribution_data(read: _Read, client_id: str, client_name: str, currency: str) -> TrackerInput:
    journeys = _frame(read.rows.get("Journeys", []), {"path": "text", "conversions": "number", "value": "number", "nulls": "number"})
    empty = pd.DataFrame({"date": pd.Series([], dtype="datetime64[ns]")})
    return TrackerInput(client_id=client_id, client_name=client_name, go_live=pd.Timestamp("2000-01-01"), kpis=empty, costs=empty, surveys=empty, currency=currency, journeys=journeys)


def _client_name_from_guide(book: Any) -> str:
    """'Start here'!A2 reads "Prepared for NAME" in every template."""
    if "Start here" in book.sheetnames:
        text = book["Start here"]["A2"].value
        if isinstance(text, str) and text.startswith("Prepared for "):
            return text[len("Prepared for "):]
    return ""


def _currency_from_formats(book: Any, table: _Table | None, column: str) -> str | None:
    """The currency whose number format an amount column carries."""
    from ..workbooks.roi_template import CURRENCIES

    if table is None or column not in table.columns:
        return None
    j = table.columns.index(column)
    formats = {cells[j].number_format for _, cells in table.rows[:50] if cells[j] is not None}
    for code in dict.fromkeys((*CURRENCY_SYMBOLS, *CURRENCIES)):
        if any(currency_format(code, d) in formats for d in (0, 2)):
            return code
    return None


# ---------------------------------------------------------------------------
# Writing the user's values into the new template


def _put_inputs(wb: Any, read: _Read) -> bool:
    """Each copied input into its named cell; True when any differs from
    what the builder wrote (so the engine's values no longer hold)."""
    changed = False
    for name, typed in read.inputs.items():
        found = _single_cell(wb, name)
        if found is None:
            raise AssertionError(f"the current template has no one-cell name {name}")
        cell, _ = found
        if not _same(_typed(cell), typed):
            changed = True
        _write(cell, typed)
    return changed


def _put_rows(wb: Any, read: _Read) -> bool:
    """Each copied row into its table, column by column, in the user's
    order; the builder sized every table to the user's rows."""
    from openpyxl.utils.cell import range_boundaries

    changed = False
    tables = {(t.displayName or t.name): (ws, t) for ws in wb.worksheets for t in ws.tables.values()}
    for name, rows in read.rows.items():
        ws, table = tables[name]
        min_col, min_row, _, max_row = range_boundaries(table.ref)
        columns = [c.name for c in table.tableColumns]
        calculated = {c.name for c in table.tableColumns if c.calculatedColumnFormula is not None}
        have = max_row - min_row
        if rows and have != len(rows):
            raise AssertionError(f"table {name}: the builder wrote {have} rows for the user's {len(rows)}")
        for i, row in enumerate(rows):
            for column, typed in row.items():
                if column in calculated:
                    raise AssertionError(f"{name}[{column}] is calculated in the current template")
                cell = ws.cell(min_row + 1 + i, min_col + columns.index(column))
                if not _same(_typed(cell), typed):
                    changed = True
                _write(cell, typed)
    return changed


def _verify(wb: Any, read: _Read) -> None:
    """Read back every copied value: a defect here must never reach a file."""
    from openpyxl.utils.cell import range_boundaries

    for name, typed in read.inputs.items():
        cell, where = _single_cell(wb, name)
        if not _same(_typed(cell), typed):
            raise AssertionError(f"{where} ({name}) holds {cell.value!r}, not the user's {typed.value!r}")
    tables = {(t.displayName or t.name): (ws, t) for ws in wb.worksheets for t in ws.tables.values()}
    for name, rows in read.rows.items():
        ws, table = tables[name]
        min_col, min_row, _, _ = range_boundaries(table.ref)
        columns = [c.name for c in table.tableColumns]
        for i, row in enumerate(rows):
            for column, typed in row.items():
                cell = ws.cell(min_row + 1 + i, min_col + columns.index(column))
                if not _same(_typed(cell), typed):
                    raise AssertionError(f"{name} row {i + 1}, {column}: {cell.value!r}, not the user's {typed.value!r}")


def _build(read: _Read, book: Any, source: Path) -> Any:
    """The current template built for the user's data (live, with the
    engine's values where it accepts the data)."""
    from ..workbooks import attribution_template, roi_template, value_template

    client_id = source.stem
    name = read.spec.name
    if name == ROI.name:
        data = _roi_data(read, client_id)
        return roi_template.build(data)
    if name == CUSTOMER_VALUE.name:
        return value_template.build(_value_data(read, client_id))
    tables = _tables(book)
    currency = _currency_from_formats(book, tables.get("Journeys"), "value")
    if currency is None:
        currency = "USD"
        read.notes.append("currency: not recognised from the Journeys' value format; USD")
    client_name = _client_name_from_guide(book)
    read.notes.append(f"client name {client_name!r} and currency {currency} read from the Start here sheet and the value column's format")
    return attribution_template.build(_attribution_data(read, client_id, client_name, currency))


def refuse_own_input(source: Path, output: Path) -> None:
    """migrate never writes over the old workbook: the output may not be
    it, a symbolic link to it or another hard link of it."""
    same = output.resolve() == source.resolve()
    if not same:
        try:
            same = os.path.samefile(source, output)
        except OSError:  # the output does not exist yet: not the input
            same = False
    if same:
        raise WorkbookError(output, f"is the old workbook {source} itself (or a link to it); migrate never writes over the workbook it reads: choose another -o")


def migrate_file(
    source: str | os.PathLike,
    output: str | os.PathLike,
    mode: str = "live",
    drop: tuple[str, ...] | list[str] = (),
    limits: Limits = Limits(),
) -> MigrationReport:
    """``cxroi-xl migrate``: the user's inputs and table rows of ``source``
    in the current template, written to ``output`` (``mode`` "live" or
    "values", as ``cxroi-xl generate`` writes them).

    ``drop``: the keys of :class:`Problem` items to leave out on purpose.
    Raises :class:`WorkbookError` for an unreadable or unknown workbook or
    an output that is the input, :class:`CannotMigrate` listing everything
    it cannot carry over. The output is written to a temporary file beside
    it and renamed into place: complete or untouched.
    """
    from openpyxl.packaging.custom import StringProperty

    source, output = Path(source), Path(output)
    if mode not in ("live", "values"):
        raise ValueError("mode must be 'live' or 'values'")
    refuse_own_input(source, output)
    if output.suffix.lower() != ".xlsx":
        raise WorkbookError(output, "the new workbook must be an .xlsx (the templates hold no macros): choose -o NAME.xlsx")
    book = open_workbook(source, limits)  # size, zip-bomb and XML checks first
    spec, layout = recognise(book, source)
    drop_keys = set(drop)
    read = _Read(spec, layout)
    _read_rest(book, read, drop_keys, source)
    _read_inputs(book, read, drop_keys)
    _read_tables(book, read, drop_keys)
    _check_dates(read)
    if spec is ROI:
        _check_phases(read, _date(read.inputs.get("GoLive")))
    if spec is CUSTOMER_VALUE and not read.rows.get("Transactions"):
        read.problems.append(Problem("table Transactions", "has no orders; the current customer-value workbook is built from them: add them in the old workbook first", None))
    if spec is ATTRIBUTION and not read.rows.get("Journeys"):
        read.problems.append(Problem("table Journeys", "has no journeys; the current attribution workbook is built from them: add them in the old workbook first", None))
    if read.problems:
        raise CannotMigrate(source, read.problems)
    used = {item.split(":", 1)[0] for item in read.dropped}
    for key in sorted(drop_keys - used):
        read.notes.append(f"--drop {key}: nothing of that name in this workbook")
    folder = output.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"the folder {folder} does not exist")

    try:
        wb = _build(read, book, source)
    except CXError as exc:
        raise WorkbookError(source, f"the current template cannot be built from its data: {exc}") from None
    changed = _put_inputs(wb, read)
    changed = _put_rows(wb, read) or changed
    _verify(wb, read)
    recalculated = changed or not getattr(wb, "formula_values", None)
    if changed:
        # the engine's values were computed from what the builder wrote, not
        # from the user's values: every formula is calculated afresh
        wb.formula_values = FormulaValues()
    wb = finish(wb, mode, complete_values)
    recalculated = recalculated or bool(getattr(wb, "interpreted_formulas", 0))
    for prop_name, value in ((TEMPLATE_PROPERTY, spec.name), (MODE_PROPERTY, mode), (VERSION_PROPERTY, __version__)):
        wb.custom_doc_props.append(StringProperty(name=prop_name, value=value))
    data = workbook_bytes(wb, None, wb.formula_values)
    write_atomic(output, data)  # a temporary file in the same folder, then a rename
    report = MigrationReport(source, output, spec.name, layout.label, mode, recalculated=recalculated)
    report.tables = [(name, len(rows)) for name, rows in read.rows.items()]
    report.inputs = list(read.inputs)
    report.defaults, report.dropped, report.notes = read.defaults, read.dropped, read.notes
    return report
