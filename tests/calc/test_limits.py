"""`cxroi-xl calc` on hostile workbooks: small files that used to hang it,
exhaust its memory or abort it with a traceback.

Each attack file is built here (a few KB) and run through the real command
in a child process under a 3 GB address-space limit, with a generous hang
watchdog (a guard against hangs, not a performance assertion). Each must
end with its value, or an error with a reason in the offending cell, while
the witness cell beside it is computed and the workbook written.
"""
from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.formula import ArrayFormula

from cxroi_xl.calc import operands
from cxroi_xl.excel.wildcards import wildcard
from cxroi_xl.calc.limits import Budget
from cxroi_xl.calc.evaluator import Evaluator
from cxroi_xl.calc.workbook import to_values
from tests.conftest import ROOT

ADDRESS_SPACE = 3 * 1024**3
WATCHDOG_SECONDS = 180
WITNESS = "=CXPAYBACK({-100,30,40,50})"  # 2.6 (the README's worked example)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def _calc(book: Workbook, tmp_path, *options: str, prelude: str = "") -> tuple[subprocess.CompletedProcess, object]:
    """Save ``book`` and run ``cxroi-xl calc`` on it in a child process.
    ``prelude`` is Python run in the child before the command (to plant a defect)."""
    source, out = tmp_path / "attack.xlsx", tmp_path / "out.xlsx"
    book.save(source)
    assert source.stat().st_size < 20_000  # the attack is a small file
    script = textwrap.dedent(prelude) + textwrap.dedent(
        f"""
        import sys
        from cxroi_xl.cli import app
        sys.argv = ["cxroi-xl", "calc", {str(source)!r}, "-o", {str(out)!r}, *{list(options)!r}]
        app()
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "300"}
    try:
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=WATCHDOG_SECONDS, env=env, preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired:
        pytest.fail(f"calc still running after {WATCHDOG_SECONDS} s: a hang")
    output = done.stdout + done.stderr
    assert "Traceback" not in output and "MemoryError" not in output, output
    assert out.exists(), output
    return done, load_workbook(out)


def _book() -> Workbook:
    book = Workbook()
    sheet = book.active
    sheet.title = "Attack"
    sheet["A1"] = WITNESS
    return book


def _witness_computed(result) -> None:
    assert result["Attack"]["A1"].value == pytest.approx(2.6, abs=1e-12)


def test_array_formula_saved_over_a_million_rows_is_clipped_to_the_used_area(tmp_path):
    # Before: every cell of C1:Z1000000 was created and blanked (24 million cells).
    book = _book()
    sheet = book.active
    for row, (start, lost) in enumerate([(100, 5), (95, 10), (85, 0)], start=1):
        sheet.cell(row, 2, start)
        sheet.cell(row, 4 + 20, lost)  # X1:X3; the used area is A1:X3
    sheet["C1"] = ArrayFormula("C1:Z1000000", "=CXCHURN(B1:B3, X1:X3)")
    done, result = _calc(book, tmp_path)
    assert done.returncode == 0, done.stderr
    _witness_computed(result)
    # churn = lost / start, as the help says: 5/100, 10/95, 0/85
    assert [result["Attack"].cell(row, 3).value for row in (1, 2, 3)] == pytest.approx([0.05, 10 / 95, 0.0], abs=1e-12)
    assert result["Attack"].max_row == 3


def test_many_star_criterion_against_a_long_cell_is_instant(tmp_path):
    # Before: "*a" x 25 + "b" compiled to a backtracking regex that never ends on 40 a's.
    book = _book()
    sheet = book.active
    sheet["B1"] = "a" * 40
    sheet["B2"] = "a" * 39 + "b"
    criterion = "*a" * 25 + "*b"
    sheet["C1"] = f'=CXNPV(0, COUNTIF(B1:B2, "{criterion}"))'
    sheet["C2"] = f'=CXNPV(0, SUMIF(B1:B2, "{criterion}", D1:D2))'
    sheet["D1"], sheet["D2"] = 5, 7
    done, result = _calc(book, tmp_path)
    assert done.returncode == 0, done.stderr
    _witness_computed(result)
    assert result["Attack"]["C1"].value == 1  # only B2 ends in b
    assert result["Attack"]["C2"].value == 7


def test_dozens_of_million_cell_ranges_are_trimmed_and_shared(tmp_path):
    # Before: each range of exactly a million cells was read cell by cell,
    # for every formula: minutes for a few KB.
    book = _book()
    sheet = book.active
    for row in range(1, 6):
        sheet.cell(row, 2, row)  # B1:B5 = 1..5
    for i in range(40):
        sheet.cell(i + 1, 4, f"=CXNPV(0, SUM(B{1 + i % 2}:B{1_000_000 - i}))")
    done, result = _calc(book, tmp_path)
    assert done.returncode == 0, done.stderr
    _witness_computed(result)
    assert [result["Attack"].cell(i + 1, 4).value for i in range(40)] == [15 if i % 2 == 0 else 14 for i in range(40)]


def test_doubling_text_stops_at_excels_text_limit(tmp_path):
    # Before: 38 cells each doubling the last exhausted memory.
    book = _book()
    sheet = book.active
    sheet["B1"] = "x" * 1000
    for row in range(2, 40):
        sheet.cell(row, 2, f"=B{row - 1}&B{row - 1}")
    sheet["C1"] = "=CXNPV(0, LEN(B39))"
    sheet["C2"] = "=CXNPV(0, LEN(B6))"  # 32,000 characters: within the limit
    done, result = _calc(book, tmp_path)
    assert done.returncode == 1
    _witness_computed(result)
    assert result["Attack"]["C1"].value == "#VALUE!"
    assert "longer than 32,767 characters" in result["Attack"]["C1"].comment.text
    assert result["Attack"]["C2"].value == 32_000
    assert re.search(r"Attack!C1 #VALUE!: .*longer than 32,767 characters", done.stderr)


def test_ten_thousand_parentheses_give_that_cell_an_error(tmp_path):
    # Before: RecursionError in the parser, outside the per-cell guard: the
    # whole run aborted and nothing was written.
    book = _book()
    sheet = book.active
    sheet["B1"] = "=CXNPV(0, " + "(" * 10_000 + "1" + ")" * 10_000 + ")"
    sheet["B2"] = "=CXNPV(0, " + "ABS(" * 65 + "1" + ")" * 65 + ")"  # 66 nested functions, short text
    sheet["B3"] = "=CXNPV(0, " + "ABS(" * 62 + "1" + ")" * 62 + ")"  # 63: within Excel's 64
    done, result = _calc(book, tmp_path)
    assert done.returncode == 1
    _witness_computed(result)
    cells = result["Attack"]
    assert cells["B1"].value == "#VALUE!" and "over Excel's limit of 8,192" in cells["B1"].comment.text
    assert cells["B2"].value == "#VALUE!" and "functions nest more than 64 levels" in cells["B2"].comment.text
    assert cells["B3"].value == 1
    assert "Attack!B1 #VALUE!" in done.stderr and "Attack!B2 #VALUE!" in done.stderr


def test_a_cell_that_crashes_shows_one_line_not_a_traceback(tmp_path):
    # A defect inside a function (planted here) used to print a traceback per cell.
    prelude = """
        from cxroi_xl.excel import registry
        def broken(*args):
            raise RuntimeError("planted defect")
        object.__setattr__(registry.get("CXNPV"), "engine", broken)
        from cxroi_xl.calc import functions
        def crash(ev, context, *args):
            raise KeyError("planted in SUM")
        functions.NATIVE_FUNCTIONS["SUM"] = (1, None, crash)
    """
    book = _book()
    book.active["B1"] = "=CXNPV(0, 1)"
    book.active["B2"] = "=CXPAYBACK(SUM(1, 2))"
    done, result = _calc(book, tmp_path, prelude=prelude)
    assert done.returncode == 1
    _witness_computed(result)
    assert "Attack!B1 #VALUE!: unexpected error: RuntimeError: planted defect" in done.stderr
    assert "Attack!B2 #VALUE!: unexpected error: KeyError: 'planted in SUM'" in done.stderr


def test_calc_exits_1_and_lists_error_cells(tmp_path):
    book = _book()
    book.active["B1"] = "=CXPAYBACK({-100, 1})"  # never pays back: #N/A
    done, result = _calc(book, tmp_path)
    assert done.returncode == 1
    _witness_computed(result)
    assert "Attack!B1 #N/A: the cumulative cash flow never reaches zero" in done.stderr
    assert "1 cell(s) ended in an error" in done.stderr


def test_calc_exits_0_when_every_cell_has_a_value(tmp_path):
    done, result = _calc(_book(), tmp_path)
    assert done.returncode == 0, done.stderr
    _witness_computed(result)


# ---- the budget's caps, in process (small caps, so no large files) ---------


def _sheet_with_numbers(rows: int) -> Workbook:
    book = _book()
    for row in range(1, rows + 1):
        book.active.cell(row, 2, row)
    return book


def test_cells_per_formula_cap_gives_that_cell_an_error():
    book = _sheet_with_numbers(50)
    sheet = book.active
    sheet["C1"] = "=CXNPV(0, SUM(B1:B50))"
    sheet["C2"] = "=CXNPV(0, SUM(B1:B10))"
    replaced = {cell.cell: cell.value for cell in to_values(book, Budget(cells_per_formula=20))}
    assert replaced["C1"] == "#NUM!" and "reads more than 20 cells" in replaced["C1"].reason
    assert replaced["C2"] == 55 and replaced["A1"] == pytest.approx(2.6)


def test_cells_per_workbook_cap_stops_the_rest_with_a_reason():
    book = _sheet_with_numbers(50)
    sheet = book.active
    sheet["C1"] = "=CXNPV(0, SUM(B1:B30))"
    sheet["C2"] = "=CXNPV(0, SUM(B1:B30))"  # the same range: shared, not read again
    sheet["C3"] = "=CXNPV(0, SUM(B21:B50))"  # 30 more: over 50 in all
    replaced = {cell.cell: cell.value for cell in to_values(book, Budget(cells_per_workbook=50))}
    assert replaced["C1"] == replaced["C2"] == 465
    assert replaced["C3"] == "#NUM!" and "read or hold more than 50 cells in all" in replaced["C3"].reason


def test_time_limit_leaves_an_error_in_every_cell_not_computed():
    book = _sheet_with_numbers(5)
    book.active["C1"] = "=CXNPV(0, SUM(B1:B5))"
    replaced = to_values(book, Budget(seconds=0.0))
    assert {cell.cell for cell in replaced} == {"A1", "C1"}
    for cell in replaced:
        assert cell.value == "#VALUE!" and "time limit of 0 s ran out" in cell.value.reason


def test_text_budget_per_formula_stops_huge_array_text():
    book = _sheet_with_numbers(0)
    sheet = book.active
    sheet["B1"] = "y" * 30_000
    sheet["B1000"] = 1  # the used area: B1:B1000
    sheet["C1"] = ArrayFormula("C1:C1", '=CXNPV(0, SUM(LEN(B1:B1000&B1)))')
    replaced = {cell.cell: cell.value for cell in to_values(book, Budget(text_per_formula=1_000_000))}
    assert replaced["C1"] == "#VALUE!" and "more than 1,000,000 characters" in replaced["C1"].reason


def test_broadcasting_a_column_by_a_row_is_capped(monkeypatch):
    monkeypatch.setattr(operands, "MAX_ARRAY_CELLS", 100)  # where the broadcast reads it
    book = _sheet_with_numbers(20)
    sheet = book.active
    for col in range(3, 13):
        sheet.cell(1, col, col)
    sheet["N1"] = "=CXNPV(0, SUM(B1:B20*C1:L1))"
    replaced = {cell.cell: cell.value for cell in to_values(book)}
    assert replaced["N1"] == "#NUM!" and "20x10 array" in replaced["N1"].reason


def test_a_range_read_through_a_circle_is_not_shared():
    # B3's SUM reaches B3 itself (circular); C1 reads the same range later and
    # must see B3's own (circular) error, not a copy read from inside the circle.
    book = _sheet_with_numbers(2)
    sheet = book.active
    sheet["B3"] = "=SUM(B1:B3)"
    sheet["C1"] = "=CXNPV(0, SUM(B1:B3))"
    evaluator = Evaluator(book)
    assert evaluator.value("Attack", "B3") == "#REF!"
    assert evaluator.value("Attack", "C1") == "#REF!"


# ---- wildcards: the linear matcher agrees with Excel's rules ----------------


def _regex_oracle(pattern: str, text: str) -> bool:
    """Excel's * ? ~ as the (backtracking) regex the evaluator used before:
    correct, only slow on hostile patterns, so an oracle for short ones."""
    parts, escape = [], False
    for char in pattern:
        if escape:
            parts.append(re.escape(char))
            escape = False
        elif char == "~":
            escape = True
        elif char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.fullmatch("".join(parts), text, re.IGNORECASE | re.DOTALL) is not None


@given(st.text(alphabet="aAb*?~", max_size=8), st.text(alphabet="aAb*?~", max_size=10))
def test_wildcard_matches_as_the_regex_oracle(pattern, text):
    assert wildcard(pattern)(text) == _regex_oracle(pattern, text)


def test_array_results_kept_count_against_the_workbook_budget():
    # Each array formula's result is kept until the workbook is written; a few
    # hundred formulas each holding a million-cell result would exhaust memory.
    book = _sheet_with_numbers(30)
    sheet = book.active
    sheet["C1"] = ArrayFormula("C1:C30", "=CXCHURN(B1:B30*2, B1:B30)")  # 30 read, 30 held: 60
    sheet["D1"] = ArrayFormula("D1:D30", "=CXCHURN(B1:B30*4, B1:B30)")  # the read is shared; 30 more held: 90
    replaced = {cell.cell: cell.value for cell in to_values(book, Budget(cells_per_workbook=80))}
    assert replaced["C1"] == [[0.5]] * 30
    assert replaced["D1"] == "#NUM!" and "read or hold more than 80 cells" in replaced["D1"].reason


def test_deep_brackets_within_the_length_limit_are_refused_and_long_sums_computed():
    book = _book()
    sheet = book.active
    sheet["B1"] = "=CXNPV(0, " + "(" * 3_000 + "1" + ")" * 3_000 + ")"  # 6,000 characters, 3,000 levels
    sheet["B2"] = "=CXNPV(0, " + "-" * 3_000 + "1)"  # signs nest too
    sheet["B3"] = "=CXNPV(0, " + "+".join(["1"] * 3_000) + ")"  # long, but flat: 3,000
    replaced = {cell.cell: cell.value for cell in to_values(book)}
    assert replaced["B1"] == "#VALUE!" and "nest more than 128 levels" in replaced["B1"].reason
    assert replaced["B2"] == "#VALUE!" and "nest more than 128 levels" in replaced["B2"].reason
    assert replaced["B3"] == 3_000
    assert replaced["A1"] == pytest.approx(2.6)


def test_criteria_longer_than_excels_255_characters_are_refused():
    # A 255-character limit (Excel's) keeps each wildcard test small: a
    # 32,767-character cell against a long ?-pattern would take seconds per cell.
    book = _book()
    sheet = book.active
    sheet["B1"] = "a" * 32_767
    sheet["B2"] = "a?" * 128  # 256 characters
    sheet["B3"] = "a?" * 127 + "a"  # 255: allowed
    sheet["C1"] = "=CXNPV(0, COUNTIF(B1, B2))"
    sheet["C2"] = "=CXNPV(0, COUNTIF(B1, B3))"
    sheet["C3"] = "=CXNPV(0, IFERROR(MATCH(B2, B1, 0), 7))"
    replaced = {cell.cell: cell.value for cell in to_values(book)}
    assert replaced["C1"] == "#VALUE!" and "longer than 255 characters" in replaced["C1"].reason
    assert replaced["C2"] == 0  # 255 characters never match 32,767
    assert replaced["C3"] == 7
    assert replaced["A1"] == pytest.approx(2.6)
