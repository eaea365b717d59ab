"""Text from users and the store is shown as text, never run; pages stay within their CSP."""
from __future__ import annotations

import sqlite3

from playwright.sync_api import Page, expect

import hubnode
from hubnode import BUSINESSES, CONSULTATION, GROUP_INDIVIDUALS, WINDOW_1
from ui import (DESKTOP_VIEW, KIOSK_VIEW, kiosk_sign_in, operator_sign_in, operator_start_work,
                queue_count)

SERVICE_NAME = "<img src=x onerror=window.__xss=1>"
FINISH_COMMENT = "<script>window.__xss=2</script>"
TRANSFER_COMMENT = "<img src=x onerror=window.__xss=3><b>bold?</b>"


def no_script_ran(page: Page) -> None:
    assert page.evaluate("() => typeof window.__xss") == "undefined", \
        f"injected code ran on {page.url}: window.__xss = {page.evaluate('() => window.__xss')!r}"


def test_user_text_is_escaped(hub, new_context):
    # Rename service 2 behind the hub's back, straight in its SQLite file.
    with sqlite3.connect(hub.store.sqlite_path, timeout=10) as db:
        changed = db.execute("UPDATE services SET name_ru = ?, name_en = ? WHERE id = ?",
                             (SERVICE_NAME, SERVICE_NAME, CONSULTATION)).rowcount
    assert changed == 1

    # The kiosk menu shows the name literally inside the group, and nothing runs.
    kiosk = new_context(**KIOSK_VIEW).new_page()
    kiosk_sign_in(kiosk, hub, hubnode.KIOSK)
    kiosk.locator(f'[data-testid="service-button"][data-service-id="{GROUP_INDIVIDUALS}"]').tap()
    button = kiosk.locator(f'[data-testid="service-button"][data-service-id="{CONSULTATION}"]')
    expect(button).to_have_text(SERVICE_NAME)
    expect(button.locator("img")).to_have_count(0)
    expect(kiosk.locator("#menu img")).to_have_count(0)
    button.tap()
    expect(kiosk.get_by_test_id("ticket-number")).to_have_text("A001")
    expect(kiosk.locator("#ticket-service")).to_have_text(SERVICE_NAME)
    no_script_ran(kiosk)

    # The operator console lists the service by the same literal name.
    operator = new_context(**DESKTOP_VIEW).new_page()
    operator_sign_in(operator, hub, hubnode.OPERATOR1)
    expect(operator.locator(f'[data-svc-name="{CONSULTATION}"]')).to_have_text(SERVICE_NAME)
    operator_start_work(operator, WINDOW_1, hubnode.DEMO_SERVICES)
    expect(queue_count(operator, CONSULTATION)).to_have_text("1")
    operator.get_by_test_id("call-next").click()
    expect(operator.get_by_test_id("current-number")).to_have_text("A001")
    expect(operator.locator("#current-service")).to_have_text(SERVICE_NAME)

    # A transfer comment is shown to the next operator as plain text.
    operator.get_by_test_id("transfer-open").click()
    operator.get_by_test_id("transfer-service").select_option(str(BUSINESSES))
    operator.locator("#transfer-comment").fill(TRANSFER_COMMENT)
    operator.get_by_test_id("transfer").click()
    expect(operator.get_by_test_id("message")).to_have_attribute("data-kind", "ok")
    expect(operator.get_by_test_id("current-number")).to_have_text("")
    expect(queue_count(operator, BUSINESSES)).to_have_text("1")
    operator.get_by_test_id("call-next").click()
    expect(operator.get_by_test_id("current-status")).to_have_attribute("data-status", "called")
    comment = operator.locator("#current-comment")
    expect(comment).to_be_visible()
    expect(comment).to_have_text(TRANSFER_COMMENT)
    expect(comment.locator("img, b")).to_have_count(0)
    no_script_ran(operator)

    # A finishing comment with a script tag is stored and shown nowhere as markup.
    number = operator.get_by_test_id("current-number").inner_text()
    operator.get_by_test_id("finish-comment").fill(FINISH_COMMENT)
    operator.get_by_test_id("finish").click()
    expect(operator.get_by_test_id("message")).to_have_text(f"Талон {number} завершён.")
    expect(operator.get_by_test_id("current-number")).to_have_text("")
    expect(operator.get_by_test_id("stats-served")).to_have_text("1")
    no_script_ran(operator)
    no_script_ran(kiosk)
    assert operator.locator("script:not([src])").count() == 0
    # (The new_context fixture then fails the test on any CSP violation or uncaught error.)


def test_sign_in_before_the_script_runs(hub, new_context):
    """The sign-in form works, and keeps the password out of the URL, even when the browser submits
    it itself: a click before the page's script has loaded (or with scripts off)."""
    page = new_context(java_script_enabled=False).new_page()
    login, password = hubnode.OPERATOR1
    page.goto(hub.url("/login?next=%2Fsupervisor"))
    page.locator("#login").fill(login)
    page.locator("#password").fill("not-the-password")
    page.locator("button[type=submit]").click()
    expect(page).to_have_url(hub.url("/login?next=%2Fsupervisor&failed=bad_credentials"))
    page.locator("#login").fill(login)
    page.locator("#password").fill(password)
    page.locator("button[type=submit]").click()
    expect(page).to_have_url(hub.url("/supervisor"))
    assert any(c["name"] == "hub_session" and c["httpOnly"] for c in page.context.cookies()), \
        "the form's sign-in leaves the session cookie"

    # With the script, the reason the server sent back is shown.
    page = new_context().new_page()
    page.goto(hub.url("/login?next=%2Foperator&failed=bad_credentials"))
    expect(page.get_by_test_id("message")).to_have_text("Неверный логин или пароль")
