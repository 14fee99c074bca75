"""Text widths for any script: a full-width (CJK) client name is measured as
wide as it prints.

Two oracles, as in test_layout.py: the advance widths of the fonts this
machine draws with (``fc-match``: the CJK font fontconfig picks for
Japanese, Chinese and Korean, read by Pillow), and the words of the PDF
LibreOffice prints (``pdftotext -bbox``). Without a CJK font LibreOffice
would print boxes: .ci/run and scripts/ensure-system-deps.sh install
fonts-noto-cjk.
"""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from openpyxl import Workbook

from cxroi_xl.workbooks.common import fit_column, text_width
from cxroi_xl.workbooks.libreoffice import _convert

PX_PER_PT = 96 / 72
NAMES = [
    "株式会社さくらベーカリー東京本店",  # Japanese: kanji and katakana
    "北京晨光咖啡馆有限公司",  # Chinese
    "서울커피로스터스",  # Korean hangul
    "ＡＢＣ商事（株）",  # full-width Latin letters and brackets
    "Café Ñandú Zürich",  # accented Latin: as wide as the base letters
]


def _font_file(pattern: str) -> str:
    fc_match = shutil.which("fc-match")
    if not fc_match:
        pytest.fail("fc-match (fontconfig) is needed to find the fonts LibreOffice uses")
    return subprocess.run([fc_match, "-f", "%{file}", pattern], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def fonts():
    from PIL import ImageFont

    cjk = {lang: _font_file(f":lang={lang}") for lang in ("ja", "zh-cn", "ko")}
    for lang, path in cjk.items():
        family = subprocess.run(["fc-query", "-f", "%{family}\n", path], capture_output=True, text=True).stdout
        assert "CJK" in family or "Gothic" in family or "Hei" in family, f"no CJK font for {lang} (got {path}): install fonts-noto-cjk"
    return {
        "latin": ImageFont.truetype(_font_file("Calibri"), 2048),
        "cjk": ImageFont.truetype(cjk["ja"], 2048),
    }


def _digits(font, latin, text: str) -> float:
    """``text``'s printed width in digits of the default font."""
    return font.getlength(text) / latin.getlength("0")


def test_wide_characters_are_measured_at_least_as_wide_as_the_cjk_font_draws_them(fonts):
    for text in NAMES[:4]:
        assert text_width(text) >= _digits(fonts["cjk"], fonts["latin"], text) - 1e-9, text
        # and not wildly wider: a column that fits is not a column twice too wide
        assert text_width(text) <= 1.1 * _digits(fonts["cjk"], fonts["latin"], text), text


def test_accented_latin_is_as_wide_as_its_letters(fonts):
    assert text_width("Café Ñandú Zürich") == text_width("Cafe Nandu Zurich")
    assert abs(text_width("Café Ñandú Zürich") - _digits(fonts["latin"], fonts["latin"], "Café Ñandú Zürich")) < 0.3
    assert text_width("e\u0301") == text_width("e")  # a combining accent takes no room


_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')


def test_a_cjk_client_name_prints_whole_in_its_column(tmp_path):
    """Each name in a column sized by fit_column, a marker in the cell to
    its right: LibreOffice prints the name in one piece, ending before the
    marker begins (a cell whose neighbour holds text is cut at its edge)."""
    wb = Workbook()
    ws = wb.active
    for row, name in enumerate(NAMES, start=1):
        ws.cell(row, 1, name)
        ws.cell(row, 2, f"M{row}")
    fit_column(ws, "A", NAMES)
    ws.column_dimensions["B"].width = 6
    path = tmp_path / "names.xlsx"
    wb.save(path)
    (pdf,) = _convert([path], tmp_path / "pdf", "pdf", 300)
    xhtml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    words = [(float(a), float(c), text) for a, _, c, _, text in _WORD.findall(xhtml)]
    for row, name in enumerate(NAMES, start=1):
        pieces = name.split(" ")
        printed = [w for w in words if w[2] in pieces]
        assert [w[2] for w in printed] == pieces, f"{name!r} printed as {[w[2] for w in words]}"
        (marker,) = [w for w in words if w[2] == f"M{row}"]
        assert printed[-1][1] <= marker[0], f"{name!r} runs into the next column"
