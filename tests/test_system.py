"""The tools the workbook tests rely on must be installed, not skipped."""
import shutil


def test_libreoffice_and_poppler_are_installed():
    assert shutil.which("soffice"), "LibreOffice missing: run `make test` (it installs it) or apt-get install libreoffice-calc"
    assert shutil.which("pdftoppm"), "pdftoppm missing: apt-get install poppler-utils"
