#!/usr/bin/env bash
# The tests recalculate workbooks in real LibreOffice and render pages with
# pdftoppm, and measure CJK text with a CJK font. Install them from Debian's
# packages when they are missing; fail loudly when that is not possible (the
# tests must not skip them).
set -euo pipefail
missing=()
command -v soffice >/dev/null 2>&1 || missing+=(libreoffice-calc)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
# a CJK font: LibreOffice prints CJK client names with it (not as boxes)
{ command -v fc-list >/dev/null 2>&1 && fc-list :lang=ja | grep -q . ; } || missing+=(fonts-noto-cjk)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing ${missing[*]} (needed by the tests)"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "error: ${missing[*]} missing and no root or sudo to install them" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
command -v soffice >/dev/null && command -v pdftoppm >/dev/null && fc-list :lang=ja | grep -q .
