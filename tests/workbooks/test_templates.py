"""Every shipped template: formulas the add-in knows, byte-identical
rebuilds, and the main template recalculated in real LibreOffice."""
from __future__ import annotations

import numpy as np
import openpyxl
import pytest
from openpyxl.worksheet.formula import ArrayFormula
from PIL import Image

from cxroi_xl.excel import registry
from cxroi_xl.engine import survey
from cxroi_xl.workbooks import build, libreoffice
from cxroi_xl.calc.functions import SUPPORTED_NATIVE_FUNCTIONS
from cxroi_xl.calc.parser import function_calls
from cxroi_xl.workbooks.roi_template import example_input
from tests.workbooks.package_compare import assert_same_build

TEMPLATES = sorted(build.BUILDERS)


def _formulas(book):
    for ws in book:
        for row in ws.iter_rows():
            for cell in row:
                value = cell.value
                text = value.text if isinstance(value, ArrayFormula) else value
                if isinstance(text, str) and text.startswith("="):
                    yield ws.title, cell.coordinate, text


def test_all_three_templates_are_registered():
    assert TEMPLATES == ["attribution", "customer_value", "cx_automation_roi"]


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_formula_calls_known_functions_with_valid_arguments(name):
    known = registry.functions()
    seen_addin = set()
    for sheet, coord, text in _formulas(build.BUILDERS[name]()):
        for function, n_args in function_calls(text):
            if function in known:
                fn = known[function]
                assert fn.min_args <= n_args <= fn.max_args, f"{sheet}!{coord}: {function} with {n_args} arguments"
                seen_addin.add(function)
            else:
                assert function in SUPPORTED_NATIVE_FUNCTIONS, f"{sheet}!{coord}: unknown function {function}"
    assert seen_addin, "a template without add-in functions"


@pytest.mark.parametrize("name", TEMPLATES)
def test_shipped_template_is_a_fresh_build(name):
    shipped = (build.TEMPLATE_DIR / f"{name}.xlsx").read_bytes()
    assert_same_build(shipped, build.template_bytes(name))


@pytest.fixture(scope="module")
def recalculated_main(tmp_path_factory):
    """The values-mode main template, recalculated by LibreOffice."""
    out = tmp_path_factory.mktemp("values")
    path = out / "cx_automation_roi.xlsx"
    path.write_bytes(build.template_bytes("cx_automation_roi", "values"))
    recalculated = libreoffice.recalculate(path, out / "lo")
    return path, libreoffice.read_values(recalculated)


def test_values_template_shows_no_error_in_libreoffice(recalculated_main):
    _, values = recalculated_main
    errors = [(sheet, coord, v) for sheet, cells in values.items() for coord, v in cells.items() if isinstance(v, str) and v.startswith("#")]
    assert errors == []


def test_headline_numbers_equal_the_engine(recalculated_main):
    """LibreOffice's recalculation of the sheet's own formulas (benefit,
    cost, risk-adjusted discounted net) must agree with the engine's model
    to 1e-9 relative, and the add-in values written by the values mode
    with the engine too."""
    _, values = recalculated_main
    model = example_input().model()
    roi = values["ROI"]
    assert roi["B5"] == "Metric" and roi["B9"] == "ROI"
    assert roi["C6"] == pytest.approx(model.tei.pv_benefits, rel=1e-9)
    assert roi["C7"] == pytest.approx(model.tei.pv_costs, rel=1e-9)
    assert roi["C8"] == pytest.approx(model.tei.npv, rel=1e-9)
    assert roi["C9"] == pytest.approx(model.tei.roi, rel=1e-9)
    assert roi["C10"] == pytest.approx(model.tei.payback, rel=1e-9)
    assert roi["C13"] == pytest.approx(model.tei.roi, rel=1e-9)  # CXROI
    assert roi["C14"] == pytest.approx(model.tei.npv, rel=1e-9)  # CXNPV of the net column
    assert roi["C15"] == pytest.approx(model.tei.payback, rel=1e-9)  # CXPAYBACK
    assert roi["C17"] == pytest.approx(model.tei.npv, rel=1e-9)  # LibreOffice's own SUM of discounted net
    post = values["Post-automation"]
    from cxroi_xl.workbooks import roi_template

    benefit_col = roi_template.TableSpec(roi_template.POST, roi_template._post_columns("USD"), roi_template.HEADER_ROW).col_letter("benefit")
    for i, benefit in enumerate(model.monthly["benefit"]):
        assert post[f"{benefit_col}{5 + i}"] == pytest.approx(benefit, rel=1e-9)
    data = example_input()
    before = (data.surveys["date"] < data.go_live.strftime("%Y-%m-%d")).to_numpy()
    nps = data.surveys["nps"].to_numpy(float)
    metrics = values["CX metrics"]
    assert metrics["A5"] == "NPS (points)"
    assert metrics["C5"] == pytest.approx(survey.nps(nps[before]), rel=1e-9)
    assert metrics["E5"] == pytest.approx(survey.nps(nps[~before]) - survey.nps(nps[before]), rel=1e-9)


def test_values_mode_keeps_the_formula_in_a_note(recalculated_main):
    path, _ = recalculated_main
    ws = openpyxl.load_workbook(path)["ROI"]
    assert ws["C13"].comment is not None and "=CXROI(" in ws["C13"].comment.text
    assert ws["C17"].value == "=SUM(PostAutomation[discounted_net])"  # native formulas stay formulas


def test_main_template_renders_to_a_page_that_is_not_blank(tmp_path):
    path = tmp_path / "cx_automation_roi.xlsx"
    path.write_bytes(build.template_bytes("cx_automation_roi", "values"))
    pages = libreoffice.render_png(path, tmp_path)
    assert len(pages) >= 5
    ink = [np.asarray(Image.open(p).convert("L")) for p in pages]
    assert all((page < 200).mean() > 0.005 for page in ink), "a blank page"
