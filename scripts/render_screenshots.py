"""Render the README's screenshots (docs/*.png) from the shipped templates.

Builds each template's values form (the numbers show without the add-in),
prints it to PDF with headless LibreOffice, finds the wanted printed page of
each sheet (by the sheet's name in the page's footer) and renders it to PNG
with poppler's pdftoppm, trimmed to the printed area. Run from the
repository root:

    python scripts/render_screenshots.py [--out docs] [--dpi 80]
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cxroi_xl.workbooks import build  # noqa: E402
from cxroi_xl.workbooks.libreoffice import _convert  # noqa: E402

# (template, sheet, which of the sheet's printed pages (1 = its first), file name in docs/)
SHOTS = [
    ("cx_automation_roi", "Summary", 1, "summary-sheet.png"),
    ("cx_automation_roi", "ROI", 1, "roi-sheet.png"),
    ("cx_automation_roi", "ROI", 2, "roi-charts.png"),
    ("cx_automation_roi", "Scenarios", 2, "scenarios-tornado.png"),
    ("cx_automation_roi", "CX metrics", 1, "cx-metrics-sheet.png"),
    ("cx_automation_roi", "Post-automation", 1, "post-automation-sheet.png"),
    ("customer_value", "CLTV", 1, "customer-value-cltv-sheet.png"),
    ("attribution", "Attribution", 1, "attribution-sheet.png"),
]
_FOOTER = re.compile(r"^\s*(\S.*?)\s{2,}page \d+ of \d+\s*$")


def _page_texts(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")


def _page_of(pages: list[str], sheet: str, nth: int) -> int:
    """1-based number of the ``nth`` printed page of ``sheet`` (its footer names it)."""
    found = 0
    for number, page in enumerate(pages, start=1):
        lines = [line for line in page.splitlines() if line.strip()]
        match = _FOOTER.match(lines[-1]) if lines else None
        if match and match.group(1) == sheet:
            found += 1
            if found == nth:
                return number
    raise SystemExit(f"sheet {sheet!r} prints {found} page(s), not {nth}")


def _trim(png: Path, margin: int = 12) -> None:
    from PIL import Image, ImageChops

    image = Image.open(png).convert("RGB")
    background = Image.new("RGB", image.size, (255, 255, 255))
    box = ImageChops.difference(image, background).getbbox()
    if box:
        left, top, right, bottom = box
        image.crop((max(left - margin, 0), max(top - margin, 0), min(right + margin, image.width), min(bottom + margin, image.height))).save(png, optimize=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--dpi", type=int, default=80)
    args = parser.parse_args(argv)
    if not shutil.which("pdftoppm"):
        raise SystemExit("pdftoppm is not installed (apt-get install poppler-utils)")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cxroi-shots-") as tmp:
        folder = Path(tmp)
        templates = sorted({template for template, _, _, _ in SHOTS})
        sources = []
        for template in templates:
            source = folder / f"{template}.xlsx"
            source.write_bytes(build.template_bytes(template, mode="values"))
            sources.append(source)
        pdfs = dict(zip(templates, _convert(sources, folder / "pdf", "pdf", 300)))
        texts = {template: _page_texts(pdf) for template, pdf in pdfs.items()}
        for template, sheet, nth, name in SHOTS:
            page = _page_of(texts[template], sheet, nth)
            prefix = folder / name.removesuffix(".png")
            subprocess.run(["pdftoppm", "-png", "-r", str(args.dpi), "-f", str(page), "-l", str(page), "-singlefile", str(pdfs[template]), str(prefix)], check=True)
            target = args.out / name
            shutil.move(f"{prefix}.png", target)
            _trim(target)
            print(f"wrote {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target} ({template}, sheet {sheet!r}, page {page})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
