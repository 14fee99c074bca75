"""Make the workbooks of an earlier release that tests/calc/test_migrate.py migrates.

The fixtures must come from the earlier release's own code, not from ours
imitating it: this script runs a checkout of that release (its
``cxroi_xl`` first on the path, with this interpreter; the 0.1 code runs on
the libraries the 0.2 test install has) to build the shipped templates and
one sample client's live workbook, then edits them with openpyxl as a user
would in Excel (typed values, a changed discount rate, an extra month row,
an extra cost, survey answer, order or journey). Every edit is listed in
``tests/data/README.md``.

    git worktree add --detach OLD_CHECKOUT 5794ccf      # the last 0.1 commit
    python scripts/make_migration_fixtures.py OLD_CHECKOUT measured --out tests/data
    git worktree remove OLD_CHECKOUT

Fixture sets (the three layouts the main template had while the version
number was 0.1.0):

* ``measured``: the last 0.1 commit (the parent of the one that set 0.2.0):
  ``v0_1_roi_template.xlsx`` (the shipped main template), ``v0_1_roi_client.xlsx``
  (a sample client, edited), ``v0_1_customer_value.xlsx`` and
  ``v0_1_attribution.xlsx`` (the shipped templates, edited);
* ``value_per_win``: the commit before the measured model (``b124a21^``),
  whose Inputs had "Value of an extra win": ``v0_1_value_per_win.xlsx``;
* ``first``: the 0.1 layout before the other benefit streams (``5a48eea``):
  ``v0_1_first_layout.xlsx``.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from copy import copy
from pathlib import Path

CLIENT = "rose-bakery"  # in every release's sample data, with proxies and leads/won


def _run_old_cli(checkout: Path, *args: str) -> None:
    """``cxroi-xl ARGS`` of the checkout, not of the installed package."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run([sys.executable, "-m", "cxroi_xl.cli", *args], cwd=checkout, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"cxroi-xl {' '.join(args)} failed in the checkout:\n{done.stdout}\n{done.stderr}")


# What `generate DATA --template cx_automation_roi --mode live` writes for one
# client, from the checkout's own batch reader and workbook builder. At the
# last 0.1 commit `generate` itself stops before the workbook (its summary
# line asks the service model for the measured one, fixed with 0.2.0), so
# the builder is called directly there.
_BUILD_ONE = """
import sys
from pathlib import Path
from cxroi_xl.batch.read import read_batch
from cxroi_xl.calc.workbook import complete_values
from cxroi_xl.workbooks.build import build_client_workbook
data, client, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
build_client_workbook(read_batch(data).tracker_input(client), "cx_automation_roi", "live", out, interpret=complete_values)
"""


def _build_with_old_builder(checkout: Path, data: Path, client: str, out: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run([sys.executable, "-c", _BUILD_ONE, str(data), client, str(out)], cwd=checkout, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the checkout's builder failed:\n{done.stderr}")


def _one_client(sample: Path, client: str, folder: Path) -> Path:
    """The checkout's sample data, cut down to one client."""
    folder.mkdir(parents=True)
    for source in sorted(sample.glob("*.csv")):
        with source.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        if rows and rows[0] and rows[0][0] == "client_id":
            rows = [rows[0]] + [row for row in rows[1:] if row and row[0] == client]
            if len(rows) == 1 and source.stem not in ("clients", "kpis"):
                continue  # an optional table the client has no rows in
        with (folder / source.name).open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle, lineterminator="\n").writerows(rows)
    return folder


def _named(book, name: str):
    """The cell a workbook-level defined name points to, or None."""
    defined = book.defined_names.get(name)
    if defined is None:
        return None
    (sheet, ref), = list(defined.destinations)
    return book[sheet][ref.replace("$", "")]


def _table(book, name: str):
    for sheet in book.worksheets:
        if name in sheet.tables:
            return sheet, sheet.tables[name]
    raise KeyError(name)


def _append_row(book, name: str, values: dict) -> None:
    """Type a row below an Excel Table, as a user does: the table grows by
    one row, its calculated columns fill in (Excel copies the column's
    formula) and the row takes the style of the one above."""
    from openpyxl.utils.cell import get_column_letter, range_boundaries

    sheet, table = _table(book, name)
    min_col, min_row, max_col, max_row = range_boundaries(table.ref)
    new = max_row + 1
    for j, column in enumerate(table.tableColumns):
        above = sheet.cell(max_row, min_col + j)
        cell = sheet.cell(new, min_col + j)
        cell._style = copy(above._style)
        if column.name in values:
            cell.value = values[column.name]
        elif isinstance(above.value, str) and above.value.startswith("="):
            cell.value = above.value  # structured references to [#This Row]: the same text in every row
    unknown = set(values) - {c.name for c in table.tableColumns}
    if unknown:
        raise KeyError(f"{name} has no column {unknown}")
    table.ref = f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{new}"
    if table.autoFilter is not None:
        table.autoFilter.ref = table.ref


def _row(book, name: str, index: int) -> dict:
    """Data row ``index`` (0 = first, -1 = last) of a table, by column name."""
    from openpyxl.utils.cell import range_boundaries

    sheet, table = _table(book, name)
    min_col, min_row, _, max_row = range_boundaries(table.ref)
    rows = list(range(min_row + 1, max_row + 1))
    r = rows[index]
    return {column.name: sheet.cell(r, min_col + j) for j, column in enumerate(table.tableColumns)}


def _next_month(value: dt.datetime) -> dt.datetime:
    return dt.datetime(value.year + value.month // 12, value.month % 12 + 1, 1)


def _edit_roi_client(path: Path) -> None:
    from openpyxl import load_workbook

    book = load_workbook(path)
    _named(book, "DiscountRate").value = 0.09  # was the client's 8 %
    _named(book, "CostRisk").value = 0.08
    optional = {"GrossMargin": 0.58, "HorizonMonths": 48, "HalfLifeService": 36, "RampMonths": 2, "ValuePerWin": 1500}
    for name, value in optional.items():
        cell = _named(book, name)
        if cell is not None:
            cell.value = value
    # a corrected baseline figure
    contacts = _row(book, "Baseline", 2)["contacts"]
    contacts.value = contacts.value + 12
    # the month after the last tracked one, typed in below the table
    last = {name: cell.value for name, cell in _row(book, "PostAutomation", -1).items()}
    extra = {
        "month": _next_month(last["month"]),
        "contacts": round(last["contacts"] * 1.03),
        "automated_contacts": round(last["automated_contacts"] * 1.05),
        "agent_hours": round(last["agent_hours"] * 0.98, 1),
        "hourly_cost": last["hourly_cost"],
        "first_contact_resolutions": round(last["first_contact_resolutions"] * 1.03),
        "active_customers": last["active_customers"] + 9,
        "new_customers": last["new_customers"],
        "churned_customers": last["new_customers"] - 9,
        "revenue": round(last["revenue"] * 1.01, 2),
        "automation_cost": last["automation_cost"],
    }
    if "leads" in last:
        extra.update(leads=last["leads"] + 5, won=last["won"] + 2)
    _append_row(book, "PostAutomation", extra)
    go_live = _named(book, "GoLive").value
    _append_row(book, "OneOffCosts", {"date": dt.datetime(go_live.year, go_live.month, 1) + dt.timedelta(days=100), "category": "other", "amount": 320})
    _append_row(book, "Surveys", {"date": extra["month"] + dt.timedelta(days=9), "nps": 9, "csat": 4, "ces": 2})
    if any("Proxies" in sheet.tables for sheet in book.worksheets):
        _row(book, "Proxies", 0)["confidence"].value = 0.6
    book.save(path)


def _edit_customer_value(path: Path) -> None:
    from openpyxl import load_workbook

    book = load_workbook(path)
    _named(book, "GrossMargin").value = 0.55
    _named(book, "MonthlyChurn").value = 0.021  # typed over the formula it starts with, as its help invites
    _named(book, "AcquisitionSpend").value = 250000
    _named(book, "HorizonMonths").value = 24
    last = _row(book, "Transactions", -1)
    _append_row(book, "Transactions", {"customer_id": "C-9001", "date": last["date"].value + dt.timedelta(days=1), "amount": 42.5})
    month = {name: cell.value for name, cell in _row(book, "CustomerMonths", -1).items()}
    end = month["start_customers"] + month["new_customers"] - month["churned_customers"]
    _append_row(book, "CustomerMonths", {"month": _next_month(month["month"]), "start_customers": end, "new_customers": month["new_customers"] + 4, "churned_customers": month["churned_customers"], "revenue": round(month["revenue"] * 1.02, 2)})
    book.save(path)


def _edit_attribution(path: Path) -> None:
    from openpyxl import load_workbook

    book = load_workbook(path)
    _named(book, "HalfLife").value = 2
    _append_row(book, "Journeys", {"path": "social > chatbot > email > search", "conversions": 7, "value": 812.4, "nulls": 95})
    book.save(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="a checkout of the earlier release (git worktree add --detach DIR COMMIT)")
    parser.add_argument("fixture_set", choices=("measured", "value_per_win", "first"))
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "tests" / "data")
    args = parser.parse_args(argv)
    checkout = args.checkout.resolve()
    with tempfile.TemporaryDirectory(prefix="cxroi-fixtures-") as scratch:
        scratch = Path(scratch)
        data = _one_client(checkout / "examples" / "sample_clients", CLIENT, scratch / "data")
        client = scratch / "client.xlsx"
        if args.fixture_set == "measured":
            _build_with_old_builder(checkout, data, CLIENT, client)
        else:
            _run_old_cli(checkout, "generate", str(data), "--out", str(scratch / "clients"), "--template", "cx_automation_roi", "--mode", "live", "--jobs", "1", "--force")
            shutil.copyfile(scratch / "clients" / f"{CLIENT}.xlsx", client)
        _edit_roi_client(client)
        outputs = {"measured": "v0_1_roi_client.xlsx", "value_per_win": "v0_1_value_per_win.xlsx", "first": "v0_1_first_layout.xlsx"}
        args.out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(client, args.out / outputs[args.fixture_set])
        written = [outputs[args.fixture_set]]
        if args.fixture_set == "measured":
            _run_old_cli(checkout, "templates", "build", "--out", str(scratch / "templates"), "--mode", "live")
            shutil.copyfile(scratch / "templates" / "cx_automation_roi.xlsx", args.out / "v0_1_roi_template.xlsx")
            for name, edit in (("customer_value", _edit_customer_value), ("attribution", _edit_attribution)):
                target = args.out / f"v0_1_{name}.xlsx"
                shutil.copyfile(scratch / "templates" / f"{name}.xlsx", target)
                edit(target)
                written.append(target.name)
            written.append("v0_1_roi_template.xlsx")
    for name in written:
        print(f"wrote {args.out / name}")


if __name__ == "__main__":
    main()
