"""Boards stay live across nodes (PostgreSQL + Redis) and across a crash of the node."""
from __future__ import annotations

from playwright.sync_api import expect

import hubnode
from hubnode import BUSINESSES, CONSULTATION, GROUP_INDIVIDUALS, PAYMENTS, WINDOW_1, WINDOW_2
from ui import (BOARD_VIEW, DESKTOP_VIEW, KIOSK_VIEW, board_row, board_sign_in, kiosk_sign_in,
                kiosk_take_ticket, operator_sign_in, operator_start_work, queue_count, ws_live)


def test_two_nodes_postgres_redis(hub_store, new_context):
    store = hub_store(postgres=True, with_redis=True)
    node_a = store.start()  # seeds the demo
    node_b = store.start()

    board = new_context(**BOARD_VIEW).new_page()
    board_sign_in(board, node_b, hubnode.BOARD)
    expect(board.get_by_test_id("board-row")).to_have_count(0)

    operator = new_context(**DESKTOP_VIEW).new_page()
    operator_sign_in(operator, node_a, hubnode.OPERATOR1)
    operator_start_work(operator, WINDOW_1, [CONSULTATION, PAYMENTS])

    kiosk = new_context(**KIOSK_VIEW).new_page()
    kiosk_sign_in(kiosk, node_a, hubnode.KIOSK)
    kiosk_take_ticket(kiosk, GROUP_INDIVIDUALS, PAYMENTS)
    expect(kiosk.get_by_test_id("ticket-number")).to_have_text("B001")
    expect(kiosk.get_by_test_id("ticket-ahead")).to_have_text("0")

    expect(queue_count(operator, PAYMENTS)).to_have_text("1")
    operator.get_by_test_id("call-next").click()
    expect(operator.get_by_test_id("current-number")).to_have_text("B001")

    # Node B learns of node A's call over Redis and pushes it to its board.
    row = board_row(board, "B001")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("board-window")).to_have_text("1")
    banner = board.get_by_test_id("board-new-call")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("B001")

    # And the other way round: a call made through node B shows on a board of node A.
    board_a = new_context(**BOARD_VIEW).new_page()
    board_sign_in(board_a, node_a, hubnode.BOARD)
    expect(board_row(board_a, "B001")).to_have_count(1)
    kiosk_token = node_b.api.kiosk()
    node_b.api.issue(kiosk_token, BUSINESSES)
    op2 = node_b.api.operator_at(hubnode.OPERATOR2, WINDOW_2, [BUSINESSES])
    called = node_b.api.call_next(op2)
    assert called and called["number"] == "C001", called
    for page in (board_a, board):
        row = board_row(page, "C001")
        expect(row).to_have_count(1)
        expect(row.get_by_test_id("board-window")).to_have_text("2")
        expect(page.get_by_test_id("board-new-call")).to_contain_text("C001")
    # Newest first.
    expect(board.get_by_test_id("board-number")).to_have_text(["C001", "B001"])


def test_board_survives_restart(hub, new_context):
    api = hub.api
    kiosk = api.kiosk()
    first = api.issue(kiosk, CONSULTATION)["ticket"]
    op = api.operator_at(hubnode.OPERATOR1, WINDOW_1)
    called = api.call_next(op)
    assert called["id"] == first["id"] and called["number"] == "A001", called

    board = new_context(**BOARD_VIEW).new_page()
    board_sign_in(board, hub, hubnode.BOARD)
    row = board_row(board, "A001")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("board-window")).to_have_text("1")
    status = board.get_by_test_id("ws-status")

    hub.kill()
    expect(status).to_have_attribute("data-state", "reconnecting")
    hub.start()  # same port, same data directory

    # The page, not reloaded, reconnects by itself and gets a fresh snapshot.
    expect(status).to_have_attribute("data-state", "live")
    expect(board.get_by_test_id("device-login")).to_be_hidden()
    expect(board.get_by_test_id("board-row")).to_have_count(1)
    expect(board_row(board, "A001").get_by_test_id("board-window")).to_have_text("1")

    # A call made after the restart (with the sessions from before it) arrives live.
    api.issue(kiosk, CONSULTATION)
    api.act(op, called["id"], "finish")
    second = api.call_next(op)
    assert second and second["number"] == "A002", second
    row = board_row(board, "A002")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("board-window")).to_have_text("1")
    expect(board.get_by_test_id("board-new-call")).to_contain_text("A002")
    expect(board.get_by_test_id("board-number").first).to_have_text("A002")
