#!/usr/bin/env bash
# Quick start: install the assistant and chat with it in the terminal (embedded defaults).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/pcpatrol-bot chat "$@"
