#!/usr/bin/env bash
# Install what the tests need, check style and types, and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# The browser tests drive Debian's Chromium through Playwright (never `playwright install`).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "The browser tests need Chromium: sudo apt-get install chromium" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
bash scripts/install.sh test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
