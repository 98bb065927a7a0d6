#!/usr/bin/env bash
# Installs the Debian packages Minsheng needs that a fresh machine may lack.
#   scripts/system-deps.sh run    what `make run` needs (venv, CJK font and Pango for the PDFs)
#   scripts/system-deps.sh test   plus what the tests need (Chromium for the browser tests,
#                                 poppler-utils to render PDF pages)
# Uses sudo when not root. Without either it says what is missing and goes on: the pages and
# the API work without them; PDFs then fail with a clear message naming the missing font.
set -uo pipefail
what="${1:-run}"
packages=(python3-venv fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 make)
if [ "$what" = "test" ]; then
  packages+=(chromium poppler-utils postgresql-client redis-tools)
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "WARNING: cannot install ${missing[*]} (not root, no sudo). Install them with apt-get." >&2
  exit 0
fi
"${sudo[@]}" apt-get update -q && \
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" \
  || { echo "WARNING: apt-get could not install ${missing[*]}" >&2; exit 0; }
