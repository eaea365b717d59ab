"""What a person does on Hub's pages, in Playwright terms (data-testid contract of web/pages)."""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

from playwright.sync_api import Page, expect

from hubnode import BRANCH, DEMO_SERVICES, Node

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"

# Viewports of the devices the pages are made for.
KIOSK_VIEW = {"viewport": {"width": 1080, "height": 1920}, "has_touch": True}
PHONE_VIEW = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
              "device_scale_factor": 2}
BOARD_VIEW = {"viewport": {"width": 1920, "height": 1080}}
DESKTOP_VIEW = {"viewport": {"width": 1366, "height": 900}}


def screenshot(page: Page, name: str) -> None:
    """Saves tests/e2e/screenshots/<name>.png, only when HUB_E2E_SCREENSHOTS is set."""
    if not os.environ.get("HUB_E2E_SCREENSHOTS"):
        return
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def ws_live(page: Page) -> None:
    expect(page.get_by_test_id("ws-status")).to_have_attribute("data-state", "live")


def device_sign_in(page: Page, node: Node, path: str, creds: tuple[str, str]) -> None:
    """Opens /kiosk or /board and signs the device in through the page's own form."""
    page.goto(node.url(path))
    login = page.get_by_test_id("device-login")
    expect(login).to_be_visible()
    login.fill(creds[0])
    page.get_by_test_id("device-secret").fill(creds[1])
    page.get_by_test_id("device-submit").click()
    expect(login).to_be_hidden()


def board_sign_in(page: Page, node: Node, creds: tuple[str, str]) -> None:
    device_sign_in(page, node, "/board", creds)
    ws_live(page)


def kiosk_sign_in(page: Page, node: Node, creds: tuple[str, str]) -> None:
    device_sign_in(page, node, "/kiosk", creds)
    expect(page.get_by_test_id("service-button").first).to_be_visible()


def kiosk_take_ticket(page: Page, group_id: int | None, service_id: int) -> None:
    """Taps through the kiosk menu: the group (if any), then the service."""
    if group_id is not None:
        page.locator(f'[data-testid="service-button"][data-service-id="{group_id}"][data-group="1"]').tap()
        expect(page.get_by_test_id("menu-back")).to_be_visible()
    page.locator(f'[data-testid="service-button"][data-service-id="{service_id}"]').tap()
    expect(page.get_by_test_id("ticket-number")).to_be_visible()


def operator_sign_in(page: Page, node: Node, creds: tuple[str, str]) -> None:
    """Opens /operator while signed out: the console sends the person to /login and back."""
    page.goto(node.url("/operator"))
    expect(page).to_have_url(re.compile(r"/login\?next=%2Foperator$"))
    page.get_by_test_id("login-input").fill(creds[0])
    page.get_by_test_id("password-input").fill(creds[1])
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(node.url("/operator"))
    expect(page.get_by_test_id("branch-select")).to_have_value(str(BRANCH))
    ws_live(page)


def operator_start_work(page: Page, window: int, services: list[int]) -> None:
    branch = page.get_by_test_id("branch-select")
    # Choosing a branch reloads the workplace form (windows, services) asynchronously and resets
    # it, so pick one only when it is not the current one, and wait for the reload.
    if branch.input_value() != str(BRANCH):
        branch.select_option(str(BRANCH))
    expect(page.get_by_test_id("service-checkbox")).to_have_count(len(DEMO_SERVICES))
    expect(page.get_by_test_id("window-select").locator("option")).to_have_count(3)
    page.get_by_test_id("window-select").select_option(str(window))
    for box in page.get_by_test_id("service-checkbox").all():
        box.set_checked(int(box.get_attribute("value")) in services)
    page.get_by_test_id("start-work").click()
    msg = page.get_by_test_id("message")
    expect(msg).to_have_attribute("data-kind", "ok")
    expect(page.get_by_test_id("call-next")).to_be_enabled()


def queue_count(page: Page, service_id: int):
    return page.locator(f'[data-testid="queue-count"][data-service-id="{service_id}"]')


def board_row(page: Page, number: str):
    return page.get_by_test_id("board-row").filter(
        has=page.get_by_test_id("board-number").get_by_text(number, exact=True))


def wait_for(what: str, check, timeout: float = 30.0):
    """Polls `check` until it returns something true, and returns it: waits for a state, never
    for a fixed time."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, what
        time.sleep(0.1)
