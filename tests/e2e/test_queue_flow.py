"""A ticket's way from the kiosk to the operator, the hall board and the visitor's phone."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

import hubnode
from hubnode import BRANCH, CONSULTATION, GROUP_INDIVIDUALS, WINDOW_1
from ui import (BOARD_VIEW, KIOSK_VIEW, PHONE_VIEW, board_row, board_sign_in, kiosk_sign_in,
                kiosk_take_ticket, operator_sign_in, operator_start_work, queue_count,
                screenshot, ws_live)


def public_id_from_qr(kiosk: Page) -> str:
    src = kiosk.get_by_test_id("ticket-qr").get_attribute("src") or ""
    m = re.fullmatch(r"/api/public/tickets/([A-Za-z0-9_-]+)/qr\.svg", src)
    assert m, f"unexpected QR image source {src!r}"
    return m.group(1)


def expect_board_shows_call(board: Page, number: str, window: str) -> None:
    row = board_row(board, number)
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("board-window")).to_have_text(window)
    banner = board.get_by_test_id("board-new-call")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(number)
    expect(banner).to_contain_text(window)


def test_kiosk_operator_board_sqlite(hub, new_context):
    board = new_context(**BOARD_VIEW).new_page()
    kiosk = new_context(**KIOSK_VIEW).new_page()
    operator = new_context(**PHONE_VIEW).new_page()

    # The hall board signs in with its device credentials and goes live.
    board_sign_in(board, hub, hubnode.BOARD)
    expect(board.locator("#empty")).to_be_visible()  # "Ожидаем первого вызова…"
    expect(board.get_by_test_id("board-row")).to_have_count(0)

    # The operator opens the console, is sent to sign in, and takes window 1.
    operator_sign_in(operator, hub, hubnode.OPERATOR1)
    operator_start_work(operator, WINDOW_1, hubnode.DEMO_SERVICES)
    expect(operator.get_by_test_id("message")).to_contain_text("окно 1")
    expect(queue_count(operator, CONSULTATION)).to_have_text("0")
    expect(operator.get_by_test_id("current-number")).to_have_text("")

    # A visitor takes a ticket at the kiosk: group "Частным лицам", then "Консультация".
    kiosk_sign_in(kiosk, hub, hubnode.KIOSK)
    group = kiosk.locator(f'[data-testid="service-button"][data-service-id="{GROUP_INDIVIDUALS}"]')
    expect(group).to_have_text(re.compile("Частным лицам"))
    expect(group).to_have_attribute("data-group", "1")
    group.tap()
    consultation = kiosk.locator(f'[data-testid="service-button"][data-service-id="{CONSULTATION}"]')
    expect(consultation).to_have_text("Консультация")
    kiosk_take_ticket(kiosk, None, CONSULTATION)
    expect(kiosk.get_by_test_id("ticket-number")).to_have_text("A001")
    expect(kiosk.get_by_test_id("ticket-ahead")).to_have_text("0")
    expect(kiosk.locator("#ticket-service")).to_have_text("Консультация")
    qr = kiosk.get_by_test_id("ticket-qr")
    expect(qr).to_be_visible()
    kiosk.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=ticket-qr]');"
        " return i && i.complete && i.naturalWidth > 0; }", timeout=10_000)
    public_id = public_id_from_qr(kiosk)
    screenshot(kiosk, "kiosk_ticket")

    # The console learns about the new visitor by itself (WebSocket), then calls them.
    expect(queue_count(operator, CONSULTATION)).to_have_text("1")
    operator.get_by_test_id("call-next").click()
    expect(operator.get_by_test_id("current-number")).to_have_text("A001")
    expect(operator.get_by_test_id("current-status")).to_have_attribute("data-status", "called")
    expect(queue_count(operator, CONSULTATION)).to_have_text("0")
    expect(operator.get_by_test_id("call-next")).to_be_disabled()
    expect(operator.get_by_test_id("finish")).to_be_enabled()
    screenshot(operator, "operator_console")

    # The board, never reloaded, shows the call and flashes the banner.
    expect_board_shows_call(board, "A001", "1")
    expect(board.locator("#empty")).to_be_hidden()
    screenshot(board, "board")

    # The visitor follows the QR code's link on their phone: go to window 1.
    phone = new_context(**PHONE_VIEW).new_page()
    phone.goto(hub.url(f"/t/{public_id}"))
    expect(phone.get_by_test_id("status-number")).to_have_text("A001")
    expect(phone.get_by_test_id("status-window")).to_have_text("1")
    expect(phone.get_by_test_id("status-window")).to_be_visible()
    expect(phone.get_by_test_id("status-text")).to_have_text("Ваша очередь!")
    ws_live(phone)

    # The operator serves and finishes; the phone page follows live.
    operator.get_by_test_id("start-service").click()
    expect(operator.get_by_test_id("current-status")).to_have_attribute("data-status", "serving")
    expect(phone.get_by_test_id("status-text")).to_have_text("Идёт обслуживание")
    operator.get_by_test_id("finish").click()
    expect(operator.get_by_test_id("message")).to_have_text("Талон A001 завершён.")
    expect(operator.get_by_test_id("current-number")).to_have_text("")
    expect(operator.get_by_test_id("current-status")).to_have_attribute("data-status", "")
    expect(operator.get_by_test_id("stats-served")).to_have_text("1")
    expect(operator.get_by_test_id("call-next")).to_be_enabled()
    expect(phone.get_by_test_id("status-text")).to_have_text("Обслуживание завершено. Спасибо за визит!")
    expect(phone.get_by_test_id("status-window")).to_have_text("")

    status, ticket = hub.api.request("GET", f"/api/public/tickets/{public_id}")
    assert status == 200 and ticket["status"] == "done", ticket
    assert ticket["branch_id"] == BRANCH
