"""Fixtures for the browser tests: one Chromium for the session, Hub stores/nodes per test,
browser contexts whose pages are watched for uncaught exceptions and CSP violations."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))

import hubnode  # noqa: E402

EXPECT_TIMEOUT_MS = 10_000
CHROMIUM = os.environ.get("HUB_E2E_CHROMIUM") or "/usr/bin/chromium"
# Playwright launches Chromium with --disable-features=…,ThirdPartyStoragePartitioning,… (its
# chromiumSwitches.ts). Its contexts are off the record, so third-party cookies are blocked, and
# without partitioning a cross-site iframe (the chat widget on a customer's site) is then denied
# localStorage altogether, unlike in a real Chrome, where it gets storage partitioned by the top
# site. Chromium takes the last --disable-features switch, so this one replaces Playwright's list:
# the same features (playwright==1.65.2) minus ThirdPartyStoragePartitioning.
PLAYWRIGHT_DISABLED_FEATURES = [
    "AvoidUnnecessaryBeforeUnloadCheckSync", "DestroyProfileOnBrowserClose", "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable", "LensOverlay", "MediaRouter", "PaintHolding",
    "AvoidCorsURLLoaderRestartOnRedirect", "TcpPortRandomizationWin", "OptimizationHints",
    "NetworkTimeServiceQuerying", "AimEnabled", "PreconnectToSearch",
]
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-features=" + ",".join(PLAYWRIGHT_DISABLED_FEATURES),
    # A hall board speaks without anyone touching it (kiosk mode does the same in production).
    "--autoplay-policy=no-user-gesture-required",
]

# Reports every CSP violation to the console, so the watcher below sees it whatever the
# browser's own wording (init scripts are injected by the driver, not subject to the CSP).
CSP_REPORTER = """
document.addEventListener('securitypolicyviolation', (e) => {
  console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')
    + ' at ' + e.sourceFile + ':' + e.lineNumber);
});
"""

expect.set_options(timeout=EXPECT_TIMEOUT_MS)

# Tests that keep real time with the machine's CPU (live RTP media, speech recognition, SIP
# timers, a bot's promised notices across a restart): `tests/run.sh` runs them alone, after
# the rest has run two at a time (`-m "not alone"` with pytest-xdist, then `-m alone`).
ALONE = {"test_speech.py", "test_telephony.py", "test_trunks.py", "test_sip_torture.py", "test_telegram_faults.py"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in ALONE:
            item.add_marker(pytest.mark.alone)


@pytest.fixture(scope="session")
def hub_bin() -> Path:
    try:
        return hubnode.hub_binary()
    except hubnode.HubSetupError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(scope="session")
def browser(hub_bin) -> Browser:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set "
                    f"HUB_E2E_CHROMIUM)", pytrace=False)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


class PageProblems:
    """Everything the pages complained about during one test."""

    def __init__(self):
        self.uncaught: list[str] = []
        self.csp: list[str] = []
        self.console_errors: list[str] = []

    def attach(self, page: Page) -> None:
        def on_error(exc):
            self.uncaught.append(f"{page.url}: {exc}")

        def on_console(msg):
            if msg.type != "error":
                return
            line = f"{page.url}: {msg.text}"
            self.console_errors.append(line)
            text = msg.text.lower()
            if "content security policy" in text or "csp violation" in text:
                self.csp.append(line)

        page.on("pageerror", on_error)
        page.on("console", on_console)

    def check(self) -> None:
        problems = []
        if self.uncaught:
            problems.append("uncaught exceptions in pages:\n  " + "\n  ".join(self.uncaught))
        if self.csp:
            problems.append("CSP violations:\n  " + "\n  ".join(self.csp))
        if problems:
            other = [c for c in self.console_errors if c not in self.csp]
            if other:
                problems.append("other console errors:\n  " + "\n  ".join(other))
            pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def page_problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def new_context(browser: Browser, page_problems: PageProblems):
    """new_context(**options) -> BrowserContext, watched and closed after the test. Checks,
    after the test body, that no page threw an uncaught exception or violated the CSP."""
    contexts: list[BrowserContext] = []

    def make(**options) -> BrowserContext:
        options.setdefault("locale", "ru-RU")
        ctx = browser.new_context(**options)
        ctx.set_default_timeout(EXPECT_TIMEOUT_MS)
        ctx.add_init_script(CSP_REPORTER)
        ctx.on("page", page_problems.attach)
        contexts.append(ctx)
        return ctx

    yield make
    for ctx in contexts:
        try:
            ctx.close()
        except Exception:  # noqa: BLE001 - browser already gone
            pass
    page_problems.check()


@pytest.fixture
def hub_store(hub_bin):
    """hub_store(postgres=False, with_redis=False) -> hubnode.Store; nodes killed afterwards."""
    stores: list[hubnode.Store] = []

    def make(postgres: bool = False, with_redis: bool = False) -> hubnode.Store:
        try:
            s = hubnode.Store(postgres=postgres, with_redis=with_redis)
        except hubnode.HubSetupError as e:
            pytest.fail(str(e), pytrace=False)
        stores.append(s)
        return s

    yield make
    for s in stores:
        s.close()


@pytest.fixture
def hub(hub_store) -> hubnode.Node:
    """One node on the embedded SQLite store, demo seeded."""
    try:
        return hub_store().start()
    except hubnode.HubSetupError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture
def maildev():
    """maildev (npm): the capturing SMTP server the hub's mail leaves through."""
    import mailkit
    try:
        m = mailkit.Maildev()
    except hubnode.HubSetupError as e:
        pytest.fail(str(e), pytrace=False)
    yield m
    m.stop()
