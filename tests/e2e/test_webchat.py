"""The web chat end to end: a visitor on a customer's site (another origin) writes in the
widget, the queue offers the conversation to the right operator, who answers from the unified
operator window; the visitor reloads, the operator closes, the visitor rates.

The customer's site is served by a small HTTP server of the test at http://localhost:<port>/
(another origin and another site than the hub's http://127.0.0.1:<port>); the widget script,
its iframe and the API come from the hub node, so the widget works cross-origin and cross-site
as on a real customer's site. (A fake public origin such as http://shop.test/ served by
Playwright's router cannot be used: Chromium's Private Network Access rules block a public,
non-secure page from loading anything from a loopback address such as the test's hub. And the
widget's iframe keeps its visitor token in localStorage, which a cross-site iframe only gets with
third-party storage partitioning, Chrome's default that conftest.py turns back on.)"""
from __future__ import annotations

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Frame, Page, expect

import hubnode
from ui import DESKTOP_VIEW, operator_sign_in, screenshot

WIDGET_KEY = "demo"
CHAT_QUEUE = "Чат на сайте"
ANNA = "Анна Петрова"  # operator1, proficiency 5 in the chat queue
IVAN = "Иван Смирнов"  # operator2, proficiency 3
HELLO = "Здравствуйте! Чем могу помочь?"  # the org-wide canned response /hello
FIRST = "Добрый день! Где мой заказ №1042?"
AGAIN = "Я обновил страницу — вы меня видите?"
XSS = "<img src=x onerror=window.__xss=1>"
RESOLUTION = "Сообщили статус заказа"
RATING_COMMENT = "Быстро и вежливо, спасибо!"


def shop_page_html(hub: hubnode.Node, key: str = WIDGET_KEY) -> str:
    return f"""<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>Магазин «Тест»</title></head>
<body><h1>Магазин «Тест»</h1><p>Страница клиента на другом origin.</p>
<script src="{hub.url('/widget.js')}" data-key="{key}" async></script>
</body></html>"""


class Shop:
    """The customer's site: every GET answers with a page embedding the hub's widget."""

    def __init__(self, html: str):
        body = html.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://localhost:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/") -> str:
        return self.base + path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def shop(hub):
    """A customer's site on http://localhost:<port>/ embedding the hub's widget (key "demo")."""
    s = Shop(shop_page_html(hub))
    yield s
    s.close()


def widget_frame(page: Page) -> Frame:
    """The widget's iframe as a Frame (for evaluate); it lives on the hub's origin."""
    frame = page.locator('[data-testid="chat-frame"]').element_handle().content_frame()
    assert frame is not None, "the chat frame has no content"
    return frame


def no_script_ran(target) -> None:
    kind = "page" if isinstance(target, Page) else "frame"
    assert target.evaluate("() => typeof window.__xss") == "undefined", \
        f"injected code ran in the {kind} {target.url}"


def operator_takes_chats(page: Page) -> None:
    """A chat operator without a window goes available with the chat presence control."""
    expect(page.locator("#conv")).to_be_visible()
    presence = page.get_by_test_id("chat-presence")
    expect(presence).to_be_visible()
    page.get_by_test_id("chat-available").click()
    expect(presence).to_have_attribute("data-status", "available")
    expect(page.get_by_test_id("chat-available")).to_be_disabled()


TYPING_EVERY_S = 2.0  # a page sends "typing" at most every 2 s (CHAT_API.md)


def after_typing_throttle(page: Page, since: float) -> None:
    """Waits out the rest of the 2 s typing throttle begun at `since` (time.monotonic()), so the
    next keystroke sends a fresh "typing" signal."""
    left = TYPING_EVERY_S + 0.1 - (time.monotonic() - since)
    if left > 0:
        page.wait_for_timeout(left * 1000)


def conv_items(page: Page, kind: str | None = None):
    sel = '[data-testid="conv-item"]' + (f'[data-kind="{kind}"]' if kind else "")
    return page.locator(sel)


def test_webchat_visitor_to_rating(hub, shop, new_context):
    """Acceptance point 1: widget → offer by strategy "skills" → accept, contact card, canned
    reply, typing → reload, the conversation goes on → close → rating stored."""
    api = hub.api
    sup = api.login(*hubnode.SUPERVISOR)
    queues = api.ok("GET", "/api/chat-queues", sup)
    chat_service = next(q["service_id"] for q in queues if q["name"] == CHAT_QUEUE)
    ops = {o["name"]: o["user_id"] for o in api.ok("GET", "/api/operators", sup)}
    anna_id, ivan_id = ops[ANNA], ops[IVAN]

    # Both operators sign in (own browser contexts) and take chats without a window.
    anna = new_context(**DESKTOP_VIEW).new_page()
    operator_sign_in(anna, hub, hubnode.OPERATOR1)
    operator_takes_chats(anna)
    ivan = new_context(**DESKTOP_VIEW).new_page()
    operator_sign_in(ivan, hub, hubnode.OPERATOR2)
    operator_takes_chats(ivan)

    # The visitor opens the customer's site; the widget's launcher appears, the chat is closed.
    visitor = new_context(**DESKTOP_VIEW).new_page()
    visitor.goto(shop.url("/product/1042"))
    launcher = visitor.get_by_test_id("chat-launcher")
    expect(launcher).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    frame_el = visitor.get_by_test_id("chat-frame")
    expect(frame_el).to_have_attribute(
        "src", re.compile(re.escape(hub.url(f"/widget?key={WIDGET_KEY}&lang=")) + "(ru|en)$"))
    expect(frame_el).to_be_hidden()
    launcher.click()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(frame_el).to_be_visible()
    chat = visitor.frame_locator('[data-testid="chat-frame"]')
    expect(chat.get_by_test_id("ws-status")).to_have_attribute("data-state", "live")
    expect(chat.locator("#chat-title")).to_have_text(CHAT_QUEUE)

    chat.get_by_test_id("chat-input").fill(FIRST)  # (sends "typing": the throttle starts)
    typed_at = time.monotonic()
    chat.get_by_test_id("chat-send").click()
    expect(chat.get_by_test_id("chat-input")).to_have_value("")
    mine = chat.locator('[data-testid="chat-message"][data-author="visitor"]')
    expect(mine).to_have_count(1)
    expect(mine.first).to_have_attribute("data-state", "sent")
    expect(mine.first.locator(".chat-body")).to_have_text(FIRST)
    expect(chat.get_by_test_id("chat-operator")).to_have_attribute("data-status", re.compile("^(queued|offered)$"))

    # Strategy "skills": the offer goes to Анна (proficiency 5), not to Иван (3).
    offer = conv_items(anna, "offer")
    expect(offer).to_have_count(1)
    expect(offer).to_have_attribute("data-channel", "webchat")
    expect(offer).to_have_attribute("data-status", "offered")
    expect(offer.get_by_test_id("conv-countdown")).to_have_text(re.compile(r"\d"))
    conv_id = int(offer.get_attribute("data-conversation-id"))
    detail = api.ok("GET", f"/api/conversations/{conv_id}", sup)
    assert detail["conversation"]["offered_to"] == anna_id, detail["conversation"]
    assert detail["conversation"]["service_id"] == chat_service, detail["conversation"]
    ivan_token = api.login(*hubnode.OPERATOR2)
    assert api.ok("GET", "/api/conversations", ivan_token)["offers"] == []
    # Иван sees it waiting in the queue, without an offer to accept; Анна sees it once, as
    # her offer.
    ivan_item = ivan.locator(f'[data-testid="conv-item"][data-conversation-id="{conv_id}"]')
    expect(ivan_item).to_have_count(1)
    expect(ivan_item).to_have_attribute("data-kind", "queued")
    expect(ivan_item.get_by_test_id("conv-accept")).to_have_count(0)
    expect(conv_items(ivan, "offer")).to_have_count(0)
    expect(conv_items(ivan, "mine")).to_have_count(0)
    expect(anna.locator(f'[data-testid="conv-item"][data-conversation-id="{conv_id}"]')).to_have_count(1)

    # Анна accepts: the thread with the visitor's message and the contact card open.
    offer.get_by_test_id("conv-accept").click()
    expect(conv_items(anna, "mine")).to_have_count(1)
    item = anna.locator(f'[data-testid="conv-item"][data-conversation-id="{conv_id}"]')
    expect(item).to_have_count(1)
    expect(item).to_have_attribute("data-kind", "mine")
    expect(item).to_have_attribute("data-status", "open")
    expect(item).to_have_attribute("aria-current", "true")
    expect(conv_items(anna, "offer")).to_have_count(0)
    expect(anna.get_by_test_id("conv-status")).to_have_attribute("data-status", "open")
    thread = anna.get_by_test_id("conv-thread")
    from_visitor = thread.locator('[data-testid="conv-message"][data-author="visitor"]')
    expect(from_visitor).to_have_count(1)
    expect(from_visitor.locator(".conv-body")).to_have_text(FIRST)
    card = anna.get_by_test_id("contact-card")
    expect(card).to_be_visible()
    contact_id = detail["contact"]["id"]
    expect(card).to_have_attribute("data-contact-id", str(contact_id))
    expect(card.get_by_test_id("contact-name")).to_have_text(detail["contact"]["name"] or f"#{contact_id}")
    expect(card.locator('[data-testid="contact-identity"][data-kind="web"]')).to_have_count(1)
    expect(card.locator(f'[data-testid="contact-history-item"][data-conversation-id="{conv_id}"]')).to_have_count(1)
    # The visitor is told who joined.
    expect(chat.get_by_test_id("chat-operator")).to_have_attribute("data-status", "open")
    expect(chat.get_by_test_id("chat-operator")).to_contain_text(ANNA)
    expect(chat.get_by_test_id("chat-notice").filter(has_text=ANNA)).to_have_count(1)
    # In Russian the verb follows the person: Анна "подключилась".
    expect(chat.get_by_test_id("chat-notice").filter(has_text=ANNA)).to_have_text(f"{ANNA} подключилась к чату")

    # The visitor types (without sending): Анна sees it.
    after_typing_throttle(visitor, typed_at)
    chat.get_by_test_id("chat-input").press_sequentially("Ещё")
    expect(anna.get_by_test_id("conv-typing")).to_be_visible()
    chat.get_by_test_id("chat-input").fill("")

    # Анна types "/hello" (not sent yet): the visitor sees the typing indicator; she picks
    # the canned suggestion, which puts its text in the reply box, and sends it.
    reply = anna.get_by_test_id("reply-input")
    reply.click()
    reply.press_sequentially("/hello")
    expect(chat.get_by_test_id("chat-typing")).to_be_visible()
    suggestion = anna.locator('[data-testid="canned-suggestion"][data-shortcut="hello"]')
    expect(suggestion).to_be_visible()
    suggestion.click()
    expect(reply).to_have_value(HELLO)
    expect(suggestion).to_be_hidden()
    anna.get_by_test_id("reply-send").click()
    expect(reply).to_have_value("")
    sent = thread.locator('[data-testid="conv-message"][data-author="operator"]')
    expect(sent).to_have_count(1)
    expect(sent).to_have_attribute("data-state", "sent")
    expect(sent.locator(".conv-body")).to_have_text(HELLO)

    answer = chat.locator('[data-testid="chat-message"][data-author="operator"]')
    expect(answer).to_have_count(1)
    expect(answer.locator(".chat-body")).to_have_text(HELLO)
    expect(answer).to_contain_text(ANNA)
    expect(chat.get_by_test_id("chat-typing")).to_be_hidden()  # the message ends the typing

    # The visitor reloads the page: the chat stays open and the whole thread is back.
    visitor.reload()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(frame_el).to_be_visible()
    expect(chat.get_by_test_id("ws-status")).to_have_attribute("data-state", "live")
    msgs = chat.get_by_test_id("chat-message")
    expect(msgs).to_have_count(2)
    expect(msgs.nth(0)).to_have_attribute("data-author", "visitor")
    expect(msgs.nth(0).locator(".chat-body")).to_have_text(FIRST)
    expect(msgs.nth(1)).to_have_attribute("data-author", "operator")
    expect(msgs.nth(1).locator(".chat-body")).to_have_text(HELLO)
    expect(chat.get_by_test_id("chat-operator")).to_have_attribute("data-status", "open")

    # ...and goes on writing in the same conversation; markup is only text on both sides.
    for text in (AGAIN, XSS):
        chat.get_by_test_id("chat-input").fill(text)
        chat.get_by_test_id("chat-input").press("Enter")
    expect(mine).to_have_count(3)
    expect(chat.locator('[data-testid="chat-message"][data-state="sent"]')).to_have_count(4)
    expect(mine.nth(1).locator(".chat-body")).to_have_text(AGAIN)
    expect(mine.nth(2).locator(".chat-body")).to_have_text(XSS)
    expect(from_visitor).to_have_count(3)
    expect(from_visitor.nth(1).locator(".conv-body")).to_have_text(AGAIN)
    expect(from_visitor.nth(2).locator(".conv-body")).to_have_text(XSS)
    expect(thread.locator("img")).to_have_count(0)
    expect(chat.locator("#thread img")).to_have_count(0)
    no_script_ran(anna)
    no_script_ran(visitor)
    no_script_ran(widget_frame(visitor))
    assert api.ok("GET", "/api/conversations", ivan_token)["mine"] == []

    # Анна closes the conversation with a resolution.
    anna.get_by_test_id("conv-resolution").fill(RESOLUTION)
    anna.get_by_test_id("conv-close").click()
    expect(anna.get_by_test_id("message")).to_have_attribute("data-kind", "ok")
    expect(anna.get_by_test_id("conv-status")).to_have_attribute("data-status", "closed")
    expect(anna.get_by_test_id("reply-input")).to_be_hidden()
    expect(conv_items(anna, "mine")).to_have_count(0)

    # The visitor is told, rates 5 with a comment, and is thanked.
    expect(chat.get_by_test_id("chat-operator")).to_have_attribute("data-status", "closed")
    rating = chat.get_by_test_id("chat-rating")
    expect(rating).to_be_visible()
    expect(chat.get_by_test_id("chat-rate")).to_have_count(5)
    submit = chat.get_by_test_id("chat-rate-submit")
    expect(submit).to_be_disabled()
    five = chat.locator('[data-testid="chat-rate"][data-score="5"]')
    five.click()
    expect(five).to_have_attribute("aria-pressed", "true")
    expect(submit).to_be_enabled()
    chat.get_by_test_id("chat-rate-comment").fill(RATING_COMMENT)
    submit.click()
    expect(chat.get_by_test_id("chat-rated")).to_be_visible()
    expect(rating).to_be_hidden()

    # The rating is stored: on the conversation and in its timeline.
    d = api.ok("GET", f"/api/conversations/{conv_id}", sup)
    c = d["conversation"]
    assert c["status"] == "closed", c
    assert c["assignee_id"] == anna_id, c
    assert c["resolution"] == RESOLUTION, c
    assert c["rating"] == 5, c
    assert c["rating_comment"] == RATING_COMMENT, c
    kinds = [ev["kind"] for ev in d["timeline"]]
    for kind in ("created", "offered", "accepted", "closed", "rated"):
        assert kind in kinds, f"no {kind!r} in the timeline {kinds}"
    assert kinds.index("accepted") < kinds.index("closed") < kinds.index("rated"), kinds
    bodies = [(m["author"], m["body"]) for m in d["messages"] if m["author"] != "system"]
    assert bodies == [("visitor", FIRST), ("operator", HELLO), ("visitor", AGAIN), ("visitor", XSS)], bodies
    history = [h for h in d["contact"]["history"] if h["id"] == conv_id]
    assert history and history[0]["rating"] == 5, d["contact"]
    assert ivan_id not in {ev.get("operator_id") for ev in d["timeline"]}, d["timeline"]

    # Анна's window shows the rating; a reload of the visitor's page still says "rated".
    expect(anna.locator("#conv-meta")).to_contain_text("Оценка 5 из 5")
    visitor.reload()
    expect(chat.get_by_test_id("chat-rated")).to_be_visible()
    expect(chat.get_by_test_id("chat-rating")).to_be_hidden()
    no_script_ran(anna)
    no_script_ran(widget_frame(visitor))


OP_MARKUP = "<b>жирный?</b><img src=x onerror=window.__xss=2>"


def test_webchat_decline_passes_offer_and_closed_widget_badge(hub, shop, new_context):
    """Анна declines: the offer goes to Иван at once. The visitor closes the widget and reloads;
    Иван's answer (with markup, shown as text) lights the launcher's badge."""
    anna = new_context(**DESKTOP_VIEW).new_page()
    operator_sign_in(anna, hub, hubnode.OPERATOR1)
    operator_takes_chats(anna)
    ivan = new_context(**DESKTOP_VIEW).new_page()
    operator_sign_in(ivan, hub, hubnode.OPERATOR2)
    operator_takes_chats(ivan)

    visitor = new_context(**DESKTOP_VIEW).new_page()
    visitor.goto(shop.url("/"))
    launcher = visitor.get_by_test_id("chat-launcher")
    launcher.click()
    chat = visitor.frame_locator('[data-testid="chat-frame"]')
    chat.get_by_test_id("chat-input").fill("Есть ли доставка в субботу?")
    chat.get_by_test_id("chat-input").press("Enter")
    expect(chat.locator('[data-testid="chat-message"][data-state="sent"]')).to_have_count(1)

    offer = conv_items(anna, "offer")
    expect(offer).to_have_count(1)
    conv_id = offer.get_attribute("data-conversation-id")
    offer.get_by_test_id("conv-decline").click()
    expect(conv_items(anna, "offer")).to_have_count(0)
    ivan_offer = conv_items(ivan, "offer")
    expect(ivan_offer).to_have_count(1)
    expect(ivan_offer).to_have_attribute("data-conversation-id", conv_id)
    ivan_offer.get_by_test_id("conv-accept").click()
    expect(ivan.get_by_test_id("conv-status")).to_have_attribute("data-status", "open")
    expect(chat.get_by_test_id("chat-operator")).to_contain_text(IVAN)
    expect(anna.locator(f'[data-testid="conv-item"][data-conversation-id="{conv_id}"]')).to_have_count(0)

    # The visitor closes the widget, and it stays closed over a reload.
    launcher.click()
    frame_el = visitor.get_by_test_id("chat-frame")
    expect(frame_el).to_be_hidden()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    visitor.reload()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(frame_el).to_be_hidden()
    badge = visitor.get_by_test_id("chat-launcher-unread")
    expect(badge).to_be_hidden()
    # (A returning visitor is connected at once, the widget closed.)
    expect(chat.get_by_test_id("ws-status")).to_have_attribute("data-state", "live")

    reply = ivan.get_by_test_id("reply-input")
    reply.fill(OP_MARKUP)
    reply.press("Enter")
    expect(ivan.locator('[data-testid="conv-message"][data-author="operator"][data-state="sent"]')).to_have_count(1)
    expect(badge).to_be_visible()
    expect(badge).to_have_text("1")

    launcher.click()
    expect(badge).to_be_hidden()
    answer = chat.locator('[data-testid="chat-message"][data-author="operator"]')
    expect(answer).to_have_count(1)
    expect(answer.locator(".chat-body")).to_have_text(OP_MARKUP)
    expect(answer.locator("b, img")).to_have_count(0)
    expect(chat.get_by_test_id("chat-message")).to_have_count(2)
    no_script_ran(visitor)
    no_script_ran(widget_frame(visitor))
    no_script_ran(ivan)

    d = hub.api.ok("GET", f"/api/conversations/{conv_id}", hub.api.login(*hubnode.SUPERVISOR))
    kinds = [ev["kind"] for ev in d["timeline"]]
    assert "declined" in kinds and kinds.count("offered") >= 2, kinds
    assert d["conversation"]["assignee"] == IVAN, d["conversation"]


def test_webchat_nobody_available_leaves_email(hub, shop, new_context):
    """No operator takes chats: the widget offers to leave an e-mail, and the contact keeps it."""
    visitor = new_context(**DESKTOP_VIEW).new_page()
    visitor.goto(shop.url("/"))
    visitor.get_by_test_id("chat-launcher").click()
    chat = visitor.frame_locator('[data-testid="chat-frame"]')
    form = chat.get_by_test_id("chat-offline-form")
    expect(form).to_be_visible()
    expect(form).to_contain_text("Все операторы заняты")

    chat.get_by_test_id("chat-email").fill("not-an-email")
    chat.get_by_test_id("chat-email-submit").click()
    expect(chat.get_by_test_id("message")).to_have_attribute("data-kind", "error")
    expect(form).to_be_visible()

    chat.get_by_test_id("chat-email").fill("guest@example.com")
    chat.get_by_test_id("chat-name").fill("Мария")
    chat.get_by_test_id("chat-email-submit").click()
    note = chat.get_by_test_id("chat-offline-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("guest@example.com")
    expect(form).to_be_hidden()

    # The e-mail and name are on the visitor's contact (the widget's own start call says so).
    frame = widget_frame(visitor)
    token = frame.evaluate(f"() => localStorage.getItem('hub.chat.{WIDGET_KEY}')")
    assert token, "the widget keeps no visitor token"
    started = hub.api.ok("POST", "/api/chat/start", body={"key": WIDGET_KEY, "token": token})
    assert started["token"] == token, started
    assert started["contact"] == {"name": "Мария", "email": "guest@example.com"}, started["contact"]
    assert started["service"]["operators_available"] is False, started["service"]


def test_webchat_refused_message_is_marked_and_worded(hub, shop, new_context):
    """A message the hub refuses for good is not left "sending" forever: it is marked as not
    sent, with a retry, dropped from the outbox, and the refusal is said in the page's language.
    Here one kept in the outbox by an older page (no length check) and sent again at the next
    visit; the widget's frame used to throw on it (its handler named a variable that did not
    exist), leaving the message pending."""
    anna = new_context(**DESKTOP_VIEW).new_page()
    operator_sign_in(anna, hub, hubnode.OPERATOR1)
    operator_takes_chats(anna)

    visitor = new_context(**DESKTOP_VIEW).new_page()
    visitor.goto(shop.url("/"))
    visitor.get_by_test_id("chat-launcher").click()
    chat = visitor.frame_locator('[data-testid="chat-frame"]')
    expect(chat.get_by_test_id("ws-status")).to_have_attribute("data-state", "live")
    mine = chat.locator('[data-testid="chat-message"][data-author="visitor"]')
    box = chat.get_by_test_id("chat-input")
    box.fill("Здравствуйте")
    box.press("Enter")
    expect(mine.first).to_have_attribute("data-state", "sent")

    outbox = f"hub.chat.outbox.{WIDGET_KEY}"
    for n, (lang, said) in enumerate((("ru", "В сообщении не больше 4000 символов."),
                                      ("en", "A message holds at most 4000 characters."))):
        frame = widget_frame(visitor)
        frame.evaluate("([key, item]) => localStorage.setItem(key, JSON.stringify([item]))",
                       [outbox, {"client_id": f"old-page-{n}", "body": "я" * 4001}])
        visitor.reload()
        # The chat stays open across the reload (the host page's session keeps it).
        expect(visitor.get_by_test_id("chat-launcher")).to_have_attribute("aria-expanded", "true")
        expect(chat.get_by_test_id("ws-status")).to_have_attribute("data-state", "live")
        widget_frame(visitor).evaluate(f"async () => (await import('/static/hub.js')).setLang('{lang}')")
        refused = mine.filter(has_text="я" * 100)
        expect(refused).to_have_count(1)
        expect(refused).to_have_attribute("data-state", "failed")
        expect(refused.get_by_test_id("chat-retry")).to_be_visible()
        expect(refused.get_by_test_id("chat-retry")).to_have_text(
            "Не отправлено — повторить" if lang == "ru" else re.compile(r"^Not sent"))
        expect(chat.get_by_test_id("message")).to_have_attribute("data-kind", "error")
        expect(chat.get_by_test_id("message")).to_have_text(said)
        screenshot(visitor, f"widget_refused_{lang}")
        assert widget_frame(visitor).evaluate("(key) => localStorage.getItem(key)", outbox) is None, \
            "a refused message stays in the outbox and would be sent again after every reconnect"
    # The launcher's glyph is drawn in white whatever the host page's styles: a cross while open
    # (it was invisible), a bubble while closed (it came out black).
    launcher = visitor.get_by_test_id("chat-launcher")
    paint = "(b) => { const s = getComputedStyle(b.querySelector('svg')); return [s.stroke, s.fill]; }"
    assert launcher.evaluate(paint) == ["rgb(255, 255, 255)", "none"]
    launcher.click()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    assert launcher.evaluate(paint) == ["rgb(255, 255, 255)", "none"]
    # One conversation offered to Анна, with the line that was sent.
    expect(conv_items(anna)).to_have_count(1)
