#!/usr/bin/env bash
# Create .venv (once) and install the assistant into it; extra arguments name pip extras.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
extras=${1:-}
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet --editable ".${extras:+[$extras]}"
