#!/usr/bin/env bash
# Quick start: install the assistant and serve it on http://localhost:5005 (embedded defaults).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/pcpatrol-bot serve "$@"
