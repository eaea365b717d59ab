#!/usr/bin/env bash
# Runs every test of the hub: unit tests, the end-to-end suite against real hub processes
# (SQLite, PostgreSQL, two nodes over PostgreSQL + Redis), and the browser suite in headless
# Chromium, with the Telegram tests against a Bot API server (tests/e2e/botapi.py) and the npm
# emulator telegram-test-api. Installs what the browser suite needs when it is missing.
#
# PostgreSQL and Redis: HUB_TEST_POSTGRES_URL (an admin URL; each test creates its own
# database) and HUB_TEST_REDIS_URL, defaulting to the local servers.
set -euo pipefail
cd "$(dirname "$0")/.."

export HUB_TEST_POSTGRES_URL="${HUB_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export HUB_TEST_REDIS_URL="${HUB_TEST_REDIS_URL:-redis://127.0.0.1:6379}"

if ! command -v chromium >/dev/null 2>&1; then
    echo "== installing Debian's chromium for the browser tests"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
if ! python3 -c "import playwright, pytest" >/dev/null 2>&1; then
    echo "== installing the browser tests' Python packages"
    python3 -m pip install -q -r tests/e2e/requirements.txt
fi

if [ ! -d tests/e2e/tg-emulator/node_modules/telegram-test-api ]; then
    echo "== installing the Telegram Bot API emulator (npm telegram-test-api)"
    npm ci --prefix tests/e2e/tg-emulator --no-audit --no-fund --loglevel=error
fi

echo "== unit and end-to-end tests (cargo test)"
cargo test --workspace

echo "== browser tests (headless Chromium)"
HUB_BIN="$PWD/target/debug/hub" python3 -m pytest tests/e2e -q
