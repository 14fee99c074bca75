"""The UDF module against the registry, and every function through xlwings'
dispatcher with Excel-shaped junk."""
from __future__ import annotations

import datetime as dt
import inspect
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxroi_xl.excel import registry, udf_module
from cxroi_xl.excel.dispatch import EXCEL_ERRORS
from cxroi_xl.excel import ExcelError, call
from tests.excel_dispatch import excel_error


def test_udf_module_is_generated_from_the_registry(excel):
    assert udf_module.UDF_PATH.read_text(encoding="utf-8") == udf_module.render(), "run `cxroi-xl udfs generate`"
    declared = registry.functions()
    exported = {name for name, obj in vars(excel.module).items() if hasattr(obj, "__xlfunc__")}
    assert exported == set(declared)
    for name, fn in declared.items():
        udf = getattr(excel.module, name)
        info = udf.__xlfunc__
        assert [a["name"] for a in info["args"]] == [a.name for a in fn.args]
        assert [a["doc"] for a in info["args"]] == [a.describe() for a in fn.args]
        assert all(len(a["doc"]) <= 255 for a in info["args"]), "Excel's wizard cuts help at 255 characters"
        assert info["ret"]["doc"] == fn.summary
        params = inspect.signature(udf).parameters
        assert [p.default is inspect.Parameter.empty for p in params.values()] == [not a.optional for a in fn.args]


def test_every_function_documented():
    for fn in registry.functions().values():
        assert fn.summary and fn.example.startswith(f"={fn.name}(")
        for arg in fn.args:
            assert arg.help, f"{fn.name}.{arg.name} has no help"


# ---- the ROI family as Excel calls it ------------------------------------


def test_cxnpv_microsoft_example_through_dispatch(excel):
    # Microsoft NPV example 2: =NPV(8%,B5:B9)+B4 = 1,922.06
    assert excel("CXNPV", 0.08, [-40000, 8000, 9200, 10000, 12000, 14500]) == pytest.approx(1922.06, abs=0.005)
    # the same flows as a row
    assert excel("CXNPV", 0.08, [[-40000, 8000, 9200, 10000, 12000, 14500]]) == pytest.approx(1922.06, abs=0.005)


def test_cxnpv_with_dates_is_xnpv(excel):
    # Microsoft XNPV example: 2,086.65; dates arrive from Office.js as serials
    dates = [dt.date(2008, 1, 1), dt.date(2008, 3, 1), dt.date(2008, 10, 30), dt.date(2009, 2, 15), dt.date(2009, 4, 1)]
    assert excel("CXNPV", 0.09, [-10000, 2750, 4250, 3250, 2750], dates) == pytest.approx(2086.647602, abs=5e-7)
    # Microsoft XIRR example: 0.373362535
    assert excel("CXIRR", [-10000, 2750, 4250, 3250, 2750], dates) == pytest.approx(0.373362535, abs=2e-9)


def test_cxirr_microsoft_examples_through_dispatch(excel):
    flows = [-70000, 12000, 15000, 18000, 21000, 26000]
    assert excel("CXIRR", flows) == pytest.approx(0.087, abs=5e-4)
    assert excel("CXIRR", flows[:3], None, -0.1) == pytest.approx(-0.444, abs=5e-4)


def test_single_cell_is_an_amount_at_period_zero(excel):
    assert excel("CXNPV", 0.1, 500) == 500
    assert excel("CXROI", 120, 100) == pytest.approx(0.2, abs=1e-15)


def test_blanks_count_as_zero(excel):
    # 0, blank(=0), 60, 60 vs 100: ROI = (120-100)/100
    assert excel("CXROI", [None, None, 60, 60], [100, None, 0, 0]) == pytest.approx(0.2, abs=1e-15)


def test_cxpayback_through_dispatch(excel):
    assert excel("CXPAYBACK", [-100, 30, 40, 50]) == pytest.approx(2.6, abs=1e-15)
    assert excel("CXPAYBACK", [-100, 10, 10]) == "#N/A"


def test_cxtei_spills_a_labelled_table(excel):
    table = excel("CXTEI", [0, 600, 600], [500, 100, 100], 0.10, 0.10, 0.05)
    assert [row[0] for row in table] == ["Metric", "PV benefits", "PV costs", "NPV", "ROI", "Payback (periods)"]
    pv_b = 540 / 1.1 + 540 / 1.21  # hand-derived, see test_finance.test_tei_hand_derived
    pv_c = 525 + 105 / 1.1 + 105 / 1.21
    assert table[1][1] == pytest.approx(pv_b, rel=1e-12)
    assert table[4][1] == pytest.approx((pv_b - pv_c) / pv_c, rel=1e-12)
    never = excel("CXTEI", [0, 1], [100, 0])
    assert never[5] == ["Payback (periods)", "#N/A"]


def test_cxtei_default_rate_is_ten_percent(excel):
    table = excel("CXTEI", [0, 110], [50, 0])
    assert table[1][1] == pytest.approx(100.0, rel=1e-12)


def test_cxsavings_broadcasts_and_spills(excel):
    assert excel("CXSAVINGS", [1000, 1200], 0.3, 5.0, 0.5) == [[1350.0], [1620.0]]
    assert excel("CXSAVINGS", [[1000, 1200]], [[0.3, 0.5]], 2) == [[600.0, 1200.0]]


@pytest.mark.parametrize(
    "call, expected",
    [
        (("CXNPV", "ten", [1, 2]), "#VALUE!"),
        (("CXROI", [1, 2, 3], [1, 2]), "#VALUE!"),
        (("CXROI", [1, 2], [0, 0]), "#DIV/0!"),
        (("CXNPV", -1, [1, 2]), "#NUM!"),
        (("CXIRR", [1, 2, 3]), "#NUM!"),
        (("CXPAYBACK", [-1, 0]), "#N/A"),
        (("CXNPV", 0.1, [1, True]), "#VALUE!"),
        (("CXNPV", 0.1, [[1, 2], [3, 4]]), "#VALUE!"),
        (("CXNPV", 0.1, [1, "abc"]), "#VALUE!"),
        (("CXSAVINGS", [1, 2, 3], [0.1, 0.2], 5), "#VALUE!"),
        (("CXNPV", 0.1, [1, 2], [dt.date(2020, 1, 1)]), "#VALUE!"),
    ],
)
def test_bad_input_gives_the_expected_error(excel, call, expected):
    assert excel(*call) == expected


def test_error_cells_propagate(excel):
    assert excel.raw("CXNPV", [[0.1]], [[1], [excel_error("#N/A")]]) == [["#N/A"]]
    assert excel.raw("CXNPV", [[excel_error("#DIV/0!")]], [[1]]) == [["#DIV/0!"]]


def test_reason_is_one_line():
    from cxroi_xl.excel import call

    error = call("CXROI", [[1], [2], [3]], [[1], [2]])
    assert error == "#VALUE!" and "same length" in error.reason and "\n" not in error.reason


# ---- junk over the whole registry -----------------------------------------

_scalars = st.one_of(
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(10**12), 10**12),
    st.sampled_from([0.0, 1.0, -1.0, 0.5, 1e308, -1e308, 5e-324, 2.0, 10.0]),
    st.text(max_size=12),
    st.sampled_from(["", "abc", "#N/A", "linear", "markov", "M", "1.5", "=1+1", "search > email"]),
    st.booleans(),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 1, 1)).map(lambda d: float((d - dt.date(1899, 12, 30)).days)),
    st.builds(lambda: {"type": "Error", "basicValue": "#N/A", "errorType": "NotAvailable"}),
)


@st.composite
def _excel_argument(draw):
    shape = draw(st.sampled_from(["omitted", "cell", "column", "row", "block"]))
    if shape == "omitted":
        return None
    if shape == "cell":
        return [[draw(_scalars)]]
    n = draw(st.integers(1, 6))
    if shape == "column":
        return [[draw(_scalars)] for _ in range(n)]
    if shape == "row":
        return [[draw(_scalars) for _ in range(n)]]
    m = draw(st.integers(2, 3))
    return [[draw(_scalars) for _ in range(m)] for _ in range(n)]


def _is_cell_value(value) -> bool:
    if isinstance(value, bool) or isinstance(value, str):
        return True
    if isinstance(value, (int, float)):
        return math.isfinite(value)
    return False


@pytest.mark.parametrize("name", list(registry.functions()))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_junk_gives_a_value_or_an_excel_error(excel, name, data):
    fn = registry.get(name)
    n_args = data.draw(st.integers(fn.min_args, fn.max_args))
    args = [data.draw(_excel_argument()) for _ in range(n_args)]
    result = excel.raw(name, *args)
    assert isinstance(result, list) and result and all(isinstance(row, list) for row in result)
    direct = call(name, *args)
    assert not (isinstance(direct, ExcelError) and direct.reason.startswith("unexpected error")), direct.reason
    for row in result:
        for value in row:
            assert _is_cell_value(value), f"{name}{tuple(args)} gave {value!r}"
            if isinstance(value, str) and value.startswith("#"):
                assert value in EXCEL_ERRORS or not value.endswith(("!", "?", "/A"))


def test_registry_refuses_help_the_wizard_would_cut():
    # Excel's MacroOptions takes at most 255 characters per description
    fn = registry.get("CXCAC")
    with pytest.raises(ValueError, match="summary must be one line"):
        registry.ExcelFunction(name="CXLONG", summary="x" * 256, args=fn.args, returns="scalar", engine=fn.engine, category="CX", example="=CXLONG(1, 2)")
    with pytest.raises(ValueError, match="summary must be one line"):
        registry.ExcelFunction(name="CXTWO", summary="one\ntwo", args=fn.args, returns="scalar", engine=fn.engine, category="CX", example="=CXTWO(1, 2)")
    long_help = registry.Arg("spend", "number", "y" * 250, unit="currency")  # 250 + " [currency]" > 255
    with pytest.raises(ValueError, match="help of spend"):
        registry.ExcelFunction(name="CXHELP", summary="ok", args=(long_help,), returns="scalar", engine=fn.engine, category="CX", example="=CXHELP(1)")
