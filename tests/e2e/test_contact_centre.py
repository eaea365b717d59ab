"""The contact centre around the web chat: the supervisor's live view with manual assignment and
take-over, an operator's transfer with a note, attachments both ways through the pages, the
operator console on a phone, a visitor whose network drops, the supervisor's view of the
branches' electronic queues, and canned responses managed by a supervisor and by an operator.

Reuses the customer's site (another origin, see test_webchat.py) and its helpers."""
from __future__ import annotations

import re
import struct
import zlib
from collections import Counter

from playwright.sync_api import BrowserContext, FrameLocator, Page, expect

import hubnode
from hubnode import BRANCH, BUSINESSES, CONSULTATION, DEMO_SERVICES, PAYMENTS, WINDOW_1
from test_webchat import (ANNA, CHAT_QUEUE, HELLO, IVAN, WIDGET_KEY, conv_items,
                          operator_takes_chats, shop, widget_frame)  # noqa: F401 - shop is a fixture
from ui import DESKTOP_VIEW, PHONE_VIEW, operator_sign_in, ws_live


# ---------------------------------------------------------------------------------------------
# helpers

def user_sign_in(page: Page, node: hubnode.Node, path: str, creds: tuple[str, str]) -> None:
    """Opens a signed-in page (/supervisor) while signed out: /login?next=… and back."""
    page.goto(node.url(path))
    expect(page).to_have_url(re.compile(r"/login\?next=" + re.escape(path.replace("/", "%2F")) + "$"))
    page.get_by_test_id("login-input").fill(creds[0])
    page.get_by_test_id("password-input").fill(creds[1])
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(node.url(path))
    ws_live(page)


def open_chat(ctx: BrowserContext, shop_url: str) -> tuple[Page, FrameLocator]:
    """The visitor opens the customer's site and the chat; the widget is live."""
    visitor = ctx.new_page()
    visitor.goto(shop_url)
    visitor.get_by_test_id("chat-launcher").click()
    chat = visitor.frame_locator('[data-testid="chat-frame"]')
    expect(chat.get_by_test_id("ws-status")).to_have_attribute("data-state", "live")
    return visitor, chat


def visitor_says(chat: FrameLocator, text: str, total_sent: int) -> None:
    chat.get_by_test_id("chat-input").fill(text)
    chat.get_by_test_id("chat-input").press("Enter")
    expect(chat.locator('[data-testid="chat-message"][data-author="visitor"][data-state="sent"]')) \
        .to_have_count(total_sent)


def conv_item(page: Page, conv_id: int | str):
    return page.locator(f'[data-testid="conv-item"][data-conversation-id="{conv_id}"]')


def accept_offer(page: Page) -> int:
    """The operator accepts the one offer in the list; returns the conversation's id."""
    offer = conv_items(page, "offer")
    expect(offer).to_have_count(1)
    conv_id = int(offer.get_attribute("data-conversation-id"))
    offer.get_by_test_id("conv-accept").click()
    expect(conv_item(page, conv_id)).to_have_attribute("data-kind", "mine")
    expect(page.get_by_test_id("conv-status")).to_have_attribute("data-status", "open")
    return conv_id


def mmss(text: str) -> int:
    m = re.fullmatch(r"(\d+):(\d\d)", text.strip())
    assert m, f"not mm:ss: {text!r}"
    return int(m.group(1)) * 60 + int(m.group(2))


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    """A real (tiny, red) PNG image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def chat_service_id(api: hubnode.Api, token: str) -> int:
    return next(q["service_id"] for q in api.ok("GET", "/api/chat-queues", token) if q["name"] == CHAT_QUEUE)


# ---------------------------------------------------------------------------------------------
# 1. supervisor

def test_supervisor_assigns_and_takes_over(hub, shop, new_context):
    """Nobody takes chats: the supervisor sees the visitor waiting (longest wait growing),
    assigns the conversation to Иван, who gets it open without accepting; then takes it over."""
    api = hub.api
    sup_token = api.login(*hubnode.SUPERVISOR)
    me = api.ok("GET", "/api/me", sup_token)
    chat_service = chat_service_id(api, sup_token)
    ivan_id = {o["name"]: o["user_id"] for o in api.ok("GET", "/api/operators", sup_token)}[IVAN]

    # Иван is signed in but does not take chats (nobody is available).
    ivan = new_context(**DESKTOP_VIEW).new_page()
    operator_sign_in(ivan, hub, hubnode.OPERATOR2)
    expect(ivan.locator("#conv")).to_be_visible()
    expect(ivan.get_by_test_id("chat-presence")).not_to_have_attribute("data-status", "available")

    sup = new_context(**DESKTOP_VIEW).new_page()
    user_sign_in(sup, hub, "/supervisor", hubnode.SUPERVISOR)
    queue = sup.locator(f'[data-testid="sup-queue"][data-service-id="{chat_service}"]')
    expect(queue.get_by_test_id("sup-queue-waiting")).to_have_text("0")
    ivan_row = sup.locator(f'[data-testid="sup-operator"][data-user-id="{ivan_id}"]')
    expect(ivan_row.get_by_test_id("sup-operator-load")).to_have_text(re.compile(r"^0/\d+$"))

    # A visitor writes; nobody is available, so the conversation waits in the queue.
    _, chat = open_chat(new_context(**DESKTOP_VIEW), shop.url("/"))
    expect(chat.get_by_test_id("chat-offline-form")).to_be_visible()
    visitor_says(chat, "Есть кто-нибудь?", 1)
    expect(chat.get_by_test_id("chat-operator")).to_have_attribute("data-status", "queued")

    # The supervisor's queue row: 1 waiting, the longest wait ticking up.
    expect(queue.get_by_test_id("sup-queue-waiting")).to_have_text("1")
    longest = queue.get_by_test_id("sup-queue-longest")
    expect(longest).to_have_text(re.compile(r"^\d+:\d\d$"))
    first = longest.inner_text()
    expect(longest).not_to_have_text(first)
    assert mmss(longest.inner_text()) > mmss(first), (first, longest.inner_text())
    row = sup.get_by_test_id("sup-conversation")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-status", "queued")
    expect(row).to_have_attribute("data-channel", "webchat")
    conv_id = int(row.get_attribute("data-conversation-id"))
    # Иван sees it only in the queue.
    expect(conv_item(ivan, conv_id)).to_have_attribute("data-kind", "queued")

    # The supervisor assigns it to Иван.
    row.get_by_test_id("sup-assign-operator").select_option(str(ivan_id))
    row.get_by_test_id("sup-assign").click()
    expect(sup.get_by_test_id("message")).to_have_attribute("data-kind", "ok")
    expect(sup.get_by_test_id("message")).to_contain_text(IVAN)
    expect(queue.get_by_test_id("sup-queue-waiting")).to_have_text("0")
    expect(row).to_have_attribute("data-status", "open")
    expect(row).to_contain_text(IVAN)
    expect(ivan_row.get_by_test_id("sup-operator-load")).to_have_text(re.compile(r"^1/\d+$"))

    # Иван's console: his, open, without any accept; he can answer.
    item = conv_item(ivan, conv_id)
    expect(item).to_have_attribute("data-kind", "mine")
    expect(item).to_have_attribute("data-status", "open")
    expect(item.get_by_test_id("conv-accept")).to_have_count(0)
    expect(conv_items(ivan, "offer")).to_have_count(0)
    item.click()
    expect(ivan.get_by_test_id("conv-status")).to_have_attribute("data-status", "open")
    expect(ivan.get_by_test_id("reply-input")).to_be_enabled()
    expect(chat.get_by_test_id("chat-operator")).to_contain_text(IVAN)

    # Take over: the conversation is the supervisor's now.
    take = row.get_by_test_id("sup-take-over")
    expect(take).to_be_enabled()
    take.click()
    expect(sup.get_by_test_id("message")).to_have_attribute("data-kind", "ok")
    expect(row).to_contain_text(me["name"])
    expect(row.get_by_test_id("sup-take-over")).to_be_disabled()
    expect(ivan_row.get_by_test_id("sup-operator-load")).to_have_text(re.compile(r"^0/\d+$"))
    expect(conv_item(ivan, conv_id)).to_have_count(0)
    expect(ivan.get_by_test_id("reply-input")).to_be_hidden()
    expect(chat.get_by_test_id("chat-operator")).to_contain_text(me["name"])

    d = api.ok("GET", f"/api/conversations/{conv_id}", sup_token)
    assert d["conversation"]["status"] == "open", d["conversation"]
    assert d["conversation"]["assignee_id"] == me["user_id"], d["conversation"]
    kinds = [ev["kind"] for ev in d["timeline"]]
    assert kinds.count("assigned") == 2, kinds


# ---------------------------------------------------------------------------------------------
# 2. transfer

TRANSFER_NOTE = "Вопрос по возврату — это к тебе"
IVAN_ANSWER = "Здравствуйте, я помогу с возвратом."


def test_transfer_with_note(hub, shop, new_context):
    """Анна holds a chat and transfers it to Иван with a note: it leaves her list, appears in his,
    he sees the note, and the visitor's thread goes on with Иван."""
    anna = new_context(**DESKTOP_VIEW).new_page()
    operator_sign_in(anna, hub, hubnode.OPERATOR1)
    operator_takes_chats(anna)
    ivan = new_context(**DESKTOP_VIEW).new_page()
    operator_sign_in(ivan, hub, hubnode.OPERATOR2)
    operator_takes_chats(ivan)

    _, chat = open_chat(new_context(**DESKTOP_VIEW), shop.url("/"))
    visitor_says(chat, "Хочу вернуть товар", 1)
    conv_id = accept_offer(anna)
    expect(chat.get_by_test_id("chat-operator")).to_contain_text(ANNA)

    # Анна transfers it to Иван with a note.
    ivan_id = int(ivan.evaluate("() => fetch('/api/me').then((r) => r.json()).then((m) => m.user_id)"))
    target = anna.get_by_test_id("conv-transfer-operator")
    transfer = anna.get_by_test_id("conv-transfer")
    expect(target.locator(f'option[value="{ivan_id}"]')).to_have_count(1)
    expect(transfer).to_be_disabled()
    target.select_option(str(ivan_id))
    expect(anna.get_by_test_id("conv-transfer-service")).to_have_value("")
    anna.get_by_test_id("conv-transfer-note").fill(TRANSFER_NOTE)
    expect(transfer).to_be_enabled()
    transfer.click()
    expect(anna.get_by_test_id("message")).to_have_attribute("data-kind", "ok")
    expect(conv_item(anna, conv_id)).to_have_count(0)
    expect(anna.get_by_test_id("reply-input")).to_be_hidden()

    # Иван has it, open, without accepting; the thread shows the transfer and its note.
    item = conv_item(ivan, conv_id)
    expect(item).to_have_attribute("data-kind", "mine")
    expect(item).to_have_attribute("data-status", "open")
    item.click()
    thread = ivan.get_by_test_id("conv-thread")
    event = thread.locator('[data-testid="conv-event"][data-kind="transferred"]')
    expect(event).to_have_count(1)
    expect(event).to_contain_text(TRANSFER_NOTE)
    expect(thread.locator('[data-testid="conv-message"][data-author="visitor"]')).to_have_count(1)

    # The visitor's thread goes on with Иван.
    expect(chat.get_by_test_id("chat-operator")).to_contain_text(IVAN)
    reply = ivan.get_by_test_id("reply-input")
    reply.fill(IVAN_ANSWER)
    reply.press("Enter")
    expect(thread.locator('[data-testid="conv-message"][data-author="operator"][data-state="sent"]')).to_have_count(1)
    answer = chat.locator('[data-testid="chat-message"][data-author="operator"]')
    expect(answer).to_have_count(1)
    expect(answer.locator(".chat-body")).to_have_text(IVAN_ANSWER)
    expect(answer.locator(".chat-who")).to_have_text(IVAN)
    visitor_says(chat, "Спасибо!", 2)
    expect(thread.locator('[data-testid="conv-message"][data-author="visitor"]')).to_have_count(2)
    # The transfer's note is for colleagues only.
    expect(chat.locator("#thread")).not_to_contain_text(TRANSFER_NOTE)

    d = hub.api.ok("GET", f"/api/conversations/{conv_id}", hub.api.login(*hubnode.SUPERVISOR))
    assert d["conversation"]["assignee_id"] == ivan_id, d["conversation"]
    assert [m["operator_name"] for m in d["messages"] if m["author"] == "operator"] == [IVAN], d["messages"]


# ---------------------------------------------------------------------------------------------
# 3. attachments

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def test_attachments_both_ways(hub, shop, new_context):
    """The visitor sends a PNG (the operator sees a thumbnail and downloads it); forbidden and
    oversized files are refused in the widget and nothing is sent; the operator sends a PDF."""
    anna_ctx = new_context(**DESKTOP_VIEW)
    anna = anna_ctx.new_page()
    operator_sign_in(anna, hub, hubnode.OPERATOR1)
    operator_takes_chats(anna)

    visitor_ctx = new_context(**DESKTOP_VIEW)
    visitor, chat = open_chat(visitor_ctx, shop.url("/"))
    visitor_says(chat, "Пришлю фото товара", 1)
    conv_id = accept_offer(anna)
    thread = anna.get_by_test_id("conv-thread")
    uploads: list[str] = []
    visitor_ctx.on("request", lambda r: uploads.append(r.url) if "/api/chat/attachments" in r.url
                   and r.method == "POST" else None)

    # The visitor attaches a PNG: it shows in both threads.
    png = png_bytes()
    chat.get_by_test_id("chat-attach").set_input_files(
        {"name": "photo.png", "mimeType": "image/png", "buffer": png})
    mine = chat.locator('[data-testid="chat-message"][data-author="visitor"][data-state="sent"]')
    expect(mine).to_have_count(2)
    expect(mine.nth(1).get_by_test_id("attachment")).to_have_count(1)
    assert len(uploads) == 1, uploads
    from_visitor = thread.locator('[data-testid="conv-message"][data-author="visitor"]')
    expect(from_visitor).to_have_count(2)
    att = from_visitor.nth(1).get_by_test_id("attachment")
    expect(att).to_have_count(1)
    expect(att).to_contain_text("photo.png")
    thumb = att.locator("img")
    expect(thumb).to_have_count(1)
    expect(thumb).to_have_js_property("complete", True)
    assert thumb.evaluate("(i) => i.naturalWidth") == 2, "the thumbnail did not load"
    href = att.get_attribute("href")
    assert href and href.startswith("/api/attachments/"), href
    res = anna_ctx.request.get(hub.url(href))
    assert res.status == 200, (res.status, res.text())
    assert res.headers["content-type"] == "image/png", res.headers
    assert res.body() == png

    # Forbidden files are refused in the widget, with a clear line, and nothing is sent.
    line = chat.get_by_test_id("message")
    attach = chat.get_by_test_id("chat-attach")
    attach.set_input_files({"name": "x.exe", "mimeType": "application/x-msdownload",
                            "buffer": b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 120})
    expect(line).to_have_attribute("data-kind", "error")
    expect(line).to_contain_text("x.exe")
    expect(line).to_contain_text("PNG")
    attach.set_input_files({"name": "big.png", "mimeType": "image/png",
                            "buffer": png + b"\x00" * (6 * 1024 * 1024)})
    expect(line).to_have_attribute("data-kind", "error")
    expect(line).to_contain_text("big.png")
    expect(line).to_contain_text("5 MB")
    assert len(uploads) == 1, f"a refused file was uploaded: {uploads}"
    # An executable renamed photo2.png passes the page's check but not the server's (by content).
    with visitor.expect_response(lambda r: "/api/chat/attachments" in r.url
                                 and r.request.method == "POST") as refused:
        attach.set_input_files({"name": "photo2.png", "mimeType": "image/png",
                                "buffer": b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 120})
    assert refused.value.status in (400, 415), (refused.value.status, refused.value.text())
    expect(line).to_have_attribute("data-kind", "error")
    expect(line).not_to_contain_text("photo2.png")  # the server's words, not the page's
    expect(line).to_contain_text("PNG, JPEG")
    assert len(uploads) == 2, uploads
    # Nothing was sent: the next text is the visitor's third message on both sides.
    visitor_says(chat, "Фото выше", 3)
    expect(chat.locator('[data-testid="chat-message"][data-author="visitor"]')).to_have_count(3)
    expect(from_visitor).to_have_count(3)
    expect(from_visitor.nth(2).locator(".conv-body")).to_have_text("Фото выше")
    expect(thread.get_by_test_id("attachment")).to_have_count(1)

    # The operator attaches a PDF: the visitor sees it as a link (no thumbnail) and can open it.
    anna.get_by_test_id("reply-attach").set_input_files(
        {"name": "invoice.pdf", "mimeType": "application/pdf", "buffer": PDF})
    sent = thread.locator('[data-testid="conv-message"][data-author="operator"][data-state="sent"]')
    expect(sent).to_have_count(1)
    expect(sent.get_by_test_id("attachment")).to_contain_text("invoice.pdf")
    answer = chat.locator('[data-testid="chat-message"][data-author="operator"]')
    expect(answer).to_have_count(1)
    link = answer.get_by_test_id("attachment")
    expect(link).to_have_count(1)
    expect(link).to_contain_text("invoice.pdf")
    expect(link.locator("img")).to_have_count(0)
    expect(answer.locator(".chat-body")).to_have_count(0)  # the file's name is not repeated
    href = link.get_attribute("href")
    assert href and re.fullmatch(r"/api/chat/attachments/\d+\?token=.+", href), href
    res = visitor_ctx.request.get(hub.url(href))
    assert res.status == 200, (res.status, res.text())
    assert res.headers["content-type"] == "application/pdf", res.headers
    assert res.headers["content-disposition"].startswith("attachment"), res.headers
    assert res.body() == PDF
    # The visitor's link is the visitor's only: without the token it is refused.
    assert visitor_ctx.request.get(hub.url(href.split("?")[0])).status in (401, 403, 404)

    d = hub.api.ok("GET", f"/api/conversations/{conv_id}", hub.api.login(*hubnode.SUPERVISOR))
    atts = [(m["author"], a["name"], a["mime"]) for m in d["messages"] for a in m["attachments"]]
    assert atts == [("visitor", "photo.png", "image/png"), ("operator", "invoice.pdf", "application/pdf")], atts


# ---------------------------------------------------------------------------------------------
# 4. phone-sized console

def test_phone_console_list_thread_card(hub, shop, new_context):
    """On a 390×844 phone the console shows one pane at a time: list → thread → card → back,
    and the operator answers from there."""
    op = new_context(**PHONE_VIEW).new_page()
    operator_sign_in(op, hub, hubnode.OPERATOR1)
    operator_takes_chats(op)
    layout = op.locator("#conv-layout")
    expect(layout).to_have_attribute("data-view", "list")

    _, chat = open_chat(new_context(**DESKTOP_VIEW), shop.url("/"))
    visitor_says(chat, "Пишу с телефона?", 1)

    offer = conv_items(op, "offer")
    expect(offer).to_have_count(1)
    conv_id = int(offer.get_attribute("data-conversation-id"))
    offer.get_by_test_id("conv-accept").tap()

    # Accepting opens the thread, alone on the screen.
    thread = op.get_by_test_id("conv-thread")
    lst = op.get_by_test_id("conv-list")
    card = op.get_by_test_id("contact-card")
    expect(layout).to_have_attribute("data-view", "thread")
    expect(thread).to_be_visible()
    expect(lst).to_be_hidden()
    expect(card).to_be_hidden()
    expect(thread.locator('[data-testid="conv-message"][data-author="visitor"]')).to_have_count(1)

    # Back to the list, then the conversation again.
    op.get_by_test_id("conv-back").tap()
    expect(layout).to_have_attribute("data-view", "list")
    expect(lst).to_be_visible()
    expect(thread).to_be_hidden()
    item = conv_item(op, conv_id)
    expect(item).to_have_attribute("data-kind", "mine")
    item.tap()
    expect(layout).to_have_attribute("data-view", "thread")
    expect(thread).to_be_visible()
    expect(lst).to_be_hidden()

    # The contact card, and back to the thread.
    op.get_by_test_id("conv-show-card").tap()
    expect(layout).to_have_attribute("data-view", "card")
    expect(card).to_be_visible()
    expect(card.get_by_test_id("contact-name")).not_to_be_empty()
    expect(thread).to_be_hidden()
    expect(lst).to_be_hidden()
    op.get_by_test_id("contact-back").tap()
    expect(layout).to_have_attribute("data-view", "thread")
    expect(thread).to_be_visible()
    expect(card).to_be_hidden()

    # Every pane fits the phone's width.
    assert op.evaluate("() => document.documentElement.scrollWidth") <= 390, "the page scrolls sideways"

    # The reply, typed and sent with the button.
    reply = op.get_by_test_id("reply-input")
    expect(reply).to_be_visible()
    reply.tap()
    reply.fill("Да, всё видно. Чем помочь?")
    op.get_by_test_id("reply-send").tap()
    expect(reply).to_have_value("")
    expect(thread.locator('[data-testid="conv-message"][data-author="operator"][data-state="sent"]')).to_have_count(1)
    answer = chat.locator('[data-testid="chat-message"][data-author="operator"]')
    expect(answer).to_have_count(1)
    expect(answer.locator(".chat-body")).to_have_text("Да, всё видно. Чем помочь?")
    expect(answer.locator(".chat-who")).to_have_text(ANNA)


# ---------------------------------------------------------------------------------------------
# 5. the visitor's network drops

FIRST_LINE = "Где мой заказ?"
WHILE_OFFLINE = "Это сообщение набрано без сети"
ANSWER_MEANWHILE = "Пока вас не было: заказ уже в пути."
AS_IT_DROPS = "Пишу, а связь опять пропадает"
AFTER_IT = "И ещё одно, снова без сети"


def test_visitor_network_drop_delivers_once(hub, shop, new_context):
    """An open chat; the visitor's browser goes offline: the widget says at once that it is not
    connected, and what the visitor writes waits (pending) while Анна answers. Back on line the
    widget reconnects by itself and catches up. Then again with a message on its way just as the
    network drops. Every message arrives exactly once on both sides."""
    anna = new_context(**DESKTOP_VIEW).new_page()
    operator_sign_in(anna, hub, hubnode.OPERATOR1)
    operator_takes_chats(anna)

    visitor_ctx = new_context(**DESKTOP_VIEW)
    visitor, chat = open_chat(visitor_ctx, shop.url("/"))
    visitor_says(chat, FIRST_LINE, 1)
    conv_id = accept_offer(anna)
    thread = anna.get_by_test_id("conv-thread")
    from_visitor = thread.locator('[data-testid="conv-message"][data-author="visitor"]')
    expect(from_visitor).to_have_count(1)
    status = chat.get_by_test_id("ws-status")
    box = chat.get_by_test_id("chat-input")
    mine = chat.locator('[data-testid="chat-message"][data-author="visitor"]')
    mine_sent = chat.locator('[data-testid="chat-message"][data-author="visitor"][data-state="sent"]')
    answers = chat.locator('[data-testid="chat-message"][data-author="operator"]')

    # The network drops while all is quiet: the widget does not pretend to be connected.
    visitor_ctx.set_offline(True)
    expect(status).not_to_have_attribute("data-state", "live")
    box.fill(WHILE_OFFLINE)
    box.press("Enter")
    expect(box).to_have_value("")
    waiting = mine.filter(has_text=WHILE_OFFLINE)
    expect(waiting).to_have_count(1)
    expect(waiting).to_have_attribute("data-state", "pending")

    # Анна answers meanwhile; neither side gets the other's new line yet.
    reply = anna.get_by_test_id("reply-input")
    reply.fill(ANSWER_MEANWHILE)
    reply.press("Enter")
    expect(thread.locator('[data-testid="conv-message"][data-author="operator"][data-state="sent"]')).to_have_count(1)
    visitor.wait_for_timeout(1500)  # reconnection attempts fail meanwhile
    expect(answers).to_have_count(0)
    expect(waiting).to_have_attribute("data-state", "pending")
    expect(from_visitor.filter(has_text=WHILE_OFFLINE)).to_have_count(0)
    expect(status).not_to_have_attribute("data-state", "live")

    # Back on line: the widget reconnects by itself and catches up both ways.
    visitor_ctx.set_offline(False)
    expect(status).to_have_attribute("data-state", "live")
    expect(mine_sent).to_have_count(2)
    expect(answers).to_have_count(1)
    expect(answers.locator(".chat-body")).to_have_text(ANSWER_MEANWHILE)
    expect(from_visitor).to_have_count(2)

    # Again, with a message on its way just as the network drops (it may or may not have left,
    # and its acknowledgement may be lost): it is sent again after reconnecting, stored once.
    box.fill(AS_IT_DROPS)
    box.press("Enter")
    visitor_ctx.set_offline(True)
    expect(status).not_to_have_attribute("data-state", "live")
    box.fill(AFTER_IT)
    box.press("Enter")
    expect(mine.filter(has_text=AFTER_IT)).to_have_attribute("data-state", "pending")
    visitor.wait_for_timeout(1000)
    visitor_ctx.set_offline(False)
    expect(status).to_have_attribute("data-state", "live")
    expect(mine_sent).to_have_count(4)
    expect(from_visitor).to_have_count(4)

    # Nothing comes twice, not even a little later.
    visitor.wait_for_timeout(1500)
    for text in (FIRST_LINE, WHILE_OFFLINE, AS_IT_DROPS, AFTER_IT):
        expect(mine.filter(has_text=text)).to_have_count(1)
        expect(from_visitor.filter(has_text=text)).to_have_count(1)
    expect(mine).to_have_count(4)
    expect(answers).to_have_count(1)
    expect(from_visitor).to_have_count(4)
    expect(thread.locator('[data-testid="conv-message"][data-author="operator"]')).to_have_count(1)
    assert widget_frame(visitor).evaluate(f"() => localStorage.getItem('hub.chat.outbox.{WIDGET_KEY}')") is None, \
        "acknowledged messages are still in the widget's outbox"

    d = hub.api.ok("GET", f"/api/conversations/{conv_id}", hub.api.login(*hubnode.SUPERVISOR))
    said = Counter((m["author"], m["body"]) for m in d["messages"] if m["author"] != "system")
    assert said == Counter({("visitor", FIRST_LINE): 1, ("visitor", WHILE_OFFLINE): 1, ("visitor", AS_IT_DROPS): 1,
                            ("visitor", AFTER_IT): 1, ("operator", ANSWER_MEANWHILE): 1}), said
    client_ids = [m["client_id"] for m in d["messages"] if m["author"] == "visitor"]
    assert len(set(client_ids)) == 4 and None not in client_ids, client_ids


# ---------------------------------------------------------------------------------------------
# 6. the supervisor's view of visits (electronic queue)

def visit_row(page: Page, service_id: int):
    return page.locator(f'[data-testid="sup-visit-queue"][data-service-id="{service_id}"]')


def test_supervisor_sees_visit_queues(hub, new_context):
    """The supervisor's "Visits" section: a ticket from the kiosk shows as 1 waiting in its
    service's row, live; an operator at a window serves it, and today's figures follow."""
    api = hub.api
    sup = new_context(**DESKTOP_VIEW).new_page()
    user_sign_in(sup, hub, "/supervisor", hubnode.SUPERVISOR)

    expect(sup.get_by_test_id("sup-visit-queue")).to_have_count(len(DEMO_SERVICES))
    row = visit_row(sup, CONSULTATION)
    expect(row).to_contain_text("Консультация")
    expect(row).to_have_attribute("data-branch-id", str(BRANCH))
    for service in DEMO_SERVICES:
        expect(visit_row(sup, service).get_by_test_id("sup-visit-waiting")).to_have_text("0")
    expect(row.get_by_test_id("sup-visit-operators")).to_have_text("0")
    stats = sup.locator(f'[data-testid="sup-visit-stats"][data-branch-id="{BRANCH}"]')
    expect(stats.get_by_test_id("sup-visit-served")).to_have_text("0")
    expect(stats.get_by_test_id("sup-visit-waiting-today")).to_have_text("0")
    # The chat queue is not a visit service.
    chat_service = chat_service_id(api, api.login(*hubnode.SUPERVISOR))
    expect(visit_row(sup, chat_service)).to_have_count(0)

    # A visitor takes a ticket at the kiosk: the page, never reloaded, shows them waiting.
    ticket = api.issue(api.kiosk(), CONSULTATION)["ticket"]
    expect(row.get_by_test_id("sup-visit-waiting")).to_have_text("1")
    expect(stats.get_by_test_id("sup-visit-waiting-today")).to_have_text("1")
    for service in (PAYMENTS, BUSINESSES):
        expect(visit_row(sup, service).get_by_test_id("sup-visit-waiting")).to_have_text("0")

    # Анна takes window 1 for consultations: one operator serves the queue.
    op = api.operator_at(hubnode.OPERATOR1, WINDOW_1, [CONSULTATION])
    expect(row.get_by_test_id("sup-visit-operators")).to_have_text("1")
    expect(visit_row(sup, BUSINESSES).get_by_test_id("sup-visit-operators")).to_have_text("0")

    # She calls, serves and finishes the ticket: nobody waits, one served today.
    called = api.call_next(op)
    assert called and called["id"] == ticket["id"], called
    expect(row.get_by_test_id("sup-visit-waiting")).to_have_text("0")
    api.act(op, ticket["id"], "start")
    api.act(op, ticket["id"], "finish")
    expect(stats.get_by_test_id("sup-visit-served")).to_have_text("1")
    expect(stats.get_by_test_id("sup-visit-waiting-today")).to_have_text("0")
    expect(stats.get_by_test_id("sup-visit-no-show")).to_have_text("0")
    expect(stats.get_by_test_id("sup-visit-avg-wait")).to_have_text(re.compile(r"^\d+:\d\d$"))
    expect(stats.get_by_test_id("sup-visit-avg-service")).to_have_text(re.compile(r"^\d+:\d\d$"))


# ---------------------------------------------------------------------------------------------
# 7. canned responses

PROMO = "Скидка 10% по промокоду HUB10 до конца месяца."
MY_SIGNATURE = "С уважением, Анна — служба поддержки."
DEMO_CANNED = 3  # hello, wait, thanks


def test_canned_responses_managed(hub, shop, new_context):
    """The supervisor adds the organisation's /promo (refusals in the message line); Анна gets it
    as a suggestion and sends it; the supervisor deletes it and, after a reload, Анна has it no more.
    Анна adds her own from the picker, uses it and deletes it."""
    api = hub.api
    sup_token = api.login(*hubnode.SUPERVISOR)
    # The supervisor's own personal response is not one of the organisation's.
    api.ok("POST", "/api/canned", sup_token,
           {"shortcut": "supnote", "title": "Моё", "body": "Личный шаблон", "personal": True}, want=201)

    sup = new_context(**DESKTOP_VIEW).new_page()
    user_sign_in(sup, hub, "/supervisor", hubnode.SUPERVISOR)
    rows = sup.get_by_test_id("sup-canned")
    expect(rows).to_have_count(DEMO_CANNED)
    expect(sup.locator('[data-testid="sup-canned"][data-shortcut="hello"]')).to_contain_text(HELLO)
    expect(sup.locator('[data-testid="sup-canned"][data-shortcut="supnote"]')).to_have_count(0)

    # Refused: a shortcut with a space (by the page), a taken one (by the server).
    line = sup.get_by_test_id("message")
    shortcut = sup.get_by_test_id("sup-canned-shortcut")
    add = sup.get_by_test_id("sup-canned-add")
    shortcut.fill("два слова")
    sup.get_by_test_id("sup-canned-body").fill(PROMO)
    add.click()
    expect(line).to_have_attribute("data-kind", "error")
    shortcut.fill("/hello")
    with sup.expect_response(lambda r: r.url.endswith("/api/canned") and r.request.method == "POST") as taken:
        add.click()
    assert taken.value.status == 409, taken.value.status
    expect(line).to_have_attribute("data-kind", "error")
    expect(line).to_contain_text("/hello")
    expect(rows).to_have_count(DEMO_CANNED)

    # Added.
    shortcut.fill("/promo")
    sup.get_by_test_id("sup-canned-title").fill("Акция")
    add.click()
    expect(line).to_have_attribute("data-kind", "ok")
    promo_row = sup.locator('[data-testid="sup-canned"][data-shortcut="promo"]')
    expect(promo_row).to_have_count(1)
    expect(promo_row).to_contain_text(PROMO)
    expect(promo_row).to_contain_text("Акция")
    expect(rows).to_have_count(DEMO_CANNED + 1)
    expect(shortcut).to_have_value("")
    promo = [c for c in api.ok("GET", "/api/canned", sup_token) if c["shortcut"] == "promo"]
    assert len(promo) == 1 and promo[0]["personal"] is False and promo[0]["body"] == PROMO, promo

    # Анна, in a chat, types /promo: the suggestion puts its text in the reply box.
    anna = new_context(**DESKTOP_VIEW).new_page()
    operator_sign_in(anna, hub, hubnode.OPERATOR1)
    operator_takes_chats(anna)
    _, chat = open_chat(new_context(**DESKTOP_VIEW), shop.url("/"))
    visitor_says(chat, "Есть ли скидки?", 1)
    conv_id = accept_offer(anna)
    reply = anna.get_by_test_id("reply-input")
    reply.click()
    reply.press_sequentially("/promo")
    expect(anna.locator('[data-testid="canned-suggestion"][data-shortcut="promo"]')).to_be_visible()
    reply.press("Tab")
    expect(reply).to_have_value(PROMO)
    reply.press("Enter")
    answers = chat.locator('[data-testid="chat-message"][data-author="operator"]')
    expect(answers).to_have_count(1)
    expect(answers.locator(".chat-body")).to_have_text(PROMO)

    # The supervisor deletes it; Анна's console, reloaded, no longer suggests it.
    promo_row.get_by_test_id("sup-canned-delete").click()
    expect(line).to_have_attribute("data-kind", "ok")
    expect(promo_row).to_have_count(0)
    expect(rows).to_have_count(DEMO_CANNED)
    assert "promo" not in {c["shortcut"] for c in api.ok("GET", "/api/canned", sup_token)}
    anna.reload()
    ws_live(anna)
    conv_item(anna, conv_id).click()
    expect(reply).to_be_visible()
    reply.click()
    reply.press_sequentially("/hel")  # (the list is loaded: /hello is offered)
    expect(anna.locator('[data-testid="canned-suggestion"][data-shortcut="hello"]')).to_be_visible()
    reply.fill("")
    reply.press_sequentially("/pro")
    expect(anna.get_by_test_id("canned-suggestion")).to_have_count(0)
    reply.fill("")

    # Анна adds her own from the picker; only her own rows can be deleted there.
    anna.get_by_test_id("reply-canned").click()
    expect(anna.locator('[data-testid="canned-pick"][data-shortcut="hello"]')).to_be_visible()
    expect(anna.get_by_test_id("canned-delete")).to_have_count(0)
    anna.get_by_test_id("canned-new-shortcut").fill("sig")
    anna.get_by_test_id("canned-new-title").fill("Подпись")
    anna.get_by_test_id("canned-new-body").fill(MY_SIGNATURE)
    anna.get_by_test_id("canned-new-add").click()
    anna_line = anna.get_by_test_id("message")
    expect(anna_line).to_have_attribute("data-kind", "ok")
    expect(anna.locator('[data-testid="canned-pick"][data-shortcut="sig"]')).to_be_visible()
    expect(anna.get_by_test_id("canned-delete")).to_have_count(1)
    expect(anna.get_by_test_id("canned-delete")).to_have_attribute("data-shortcut", "sig")
    expect(anna.get_by_test_id("canned-new-shortcut")).to_have_value("")
    anna_token = api.login(*hubnode.OPERATOR1)
    sig = [c for c in api.ok("GET", "/api/canned", anna_token) if c["shortcut"] == "sig"]
    assert len(sig) == 1 and sig[0]["personal"] is True and sig[0]["body"] == MY_SIGNATURE, sig
    # Personal: Иван does not get it, nor does the supervisor's list show it.
    ivan_token = api.login(*hubnode.OPERATOR2)
    assert "sig" not in {c["shortcut"] for c in api.ok("GET", "/api/canned", ivan_token)}
    expect(sup.locator('[data-testid="sup-canned"][data-shortcut="sig"]')).to_have_count(0)

    # She uses it.
    reply.click()
    reply.press_sequentially("/si")
    suggestion = anna.locator('[data-testid="canned-suggestion"][data-shortcut="sig"]')
    expect(suggestion).to_be_visible()
    reply.press("Enter")
    expect(reply).to_have_value(MY_SIGNATURE)
    reply.press("Enter")
    expect(answers).to_have_count(2)
    expect(answers.nth(1).locator(".chat-body")).to_have_text(MY_SIGNATURE)

    # ...and deletes it from the picker.
    anna.get_by_test_id("reply-canned").click()
    anna.locator('[data-testid="canned-delete"][data-shortcut="sig"]').click()
    expect(anna_line).to_have_attribute("data-kind", "ok")
    expect(anna.locator('[data-testid="canned-pick"][data-shortcut="sig"]')).to_have_count(0)
    expect(anna.get_by_test_id("canned-delete")).to_have_count(0)
    assert "sig" not in {c["shortcut"] for c in api.ok("GET", "/api/canned", anna_token)}
    reply.click()
    reply.press_sequentially("/si")
    expect(anna.get_by_test_id("canned-suggestion")).to_have_count(0)
