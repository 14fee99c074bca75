"""Render the README's screenshots (docs/*.png) from the shipped templates.

Builds each template's values form (the numbers show without the add-in),
prints it to PDF with headless LibreOffice, finds the first printed page of
each wanted sheet (the page that starts with the sheet's title) and renders
it to PNG with poppler's pdftoppm, trimmed to the printed area. Run from the
repository root:

    python scripts/render_screenshots.py [--out docs] [--dpi 80]
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cxroi_xl.workbooks import build  # noqa: E402
from cxroi_xl.workbooks.libreoffice import _convert  # noqa: E402

# (template, sheet, file name in docs/)
SHOTS = [
    ("cx_automation_roi", "ROI", "roi-sheet.png"),
    ("cx_automation_roi", "CX metrics", "cx-metrics-sheet.png"),
    ("cx_automation_roi", "Post-automation", "post-automation-sheet.png"),
    ("customer_value", "CLTV", "customer-value-cltv-sheet.png"),
    ("attribution", "Attribution", "attribution-sheet.png"),
]


def _page_texts(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")


def _first_page(book, pages: list[str], sheet: str) -> int:
    """1-based number of the page that starts with ``sheet``'s title (A1)."""
    heading = book[sheet]["A1"].value
    for number, page in enumerate(pages, start=1):
        lines = [line.strip() for line in page.splitlines() if line.strip()]
        if lines and lines[0].startswith(heading):
            return number
    raise SystemExit(f"no printed page starts with the title of sheet {sheet!r} ({heading!r})")


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
        templates = sorted({template for template, _, _ in SHOTS})
        books, sources = {}, []
        for template in templates:
            books[template] = build.BUILDERS[template]()
            source = folder / f"{template}.xlsx"
            source.write_bytes(build.template_bytes(template, mode="values"))
            sources.append(source)
        pdfs = dict(zip(templates, _convert(sources, folder / "pdf", "pdf", 300)))
        texts = {template: _page_texts(pdf) for template, pdf in pdfs.items()}
        for template, sheet, name in SHOTS:
            page = _first_page(books[template], texts[template], sheet)
            prefix = folder / name.removesuffix(".png")
            subprocess.run(["pdftoppm", "-png", "-r", str(args.dpi), "-f", str(page), "-l", str(page), "-singlefile", str(pdfs[template]), str(prefix)], check=True)
            target = args.out / name
            shutil.move(f"{prefix}.png", target)
            _trim(target)
            print(f"wrote {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target} ({template}, sheet {sheet!r}, page {page})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
