#!/usr/bin/env bash
# Install what the tests need, check style and types, and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian packages the tests use: Chromium for the browser tests (driven through Playwright,
# never `playwright install`), redis-server for the several-instances tests, and npm for
# axe-core.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "The tests need: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
bash scripts/install.sh test
# axe-core for the browser tests' accessibility checks, from npm into a local cache: the
# tests inject it into the page themselves (no CDN).
npm install --silent --no-save --no-audit --no-fund --prefix .cache/axe axe-core@4.14.1
# rasa-webchat's published bundle, for the socket.io channel's browser test: the package
# alone (npm pack), without the build tools it lists as dependencies.
if [ ! -f .cache/webchat/package/lib/index.js ]; then
  mkdir -p .cache/webchat
  (cd .cache/webchat && npm pack --silent rasa-webchat@1.0.1 >/dev/null && tar xzf rasa-webchat-1.0.1.tgz)
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# Tests use the Redis server at PCPATROL_TEST_REDIS_URL when it is set, else start their own.
.venv/bin/python -m pytest "$@"
