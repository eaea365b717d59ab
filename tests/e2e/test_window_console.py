"""The operator's and the supervisor's day (issue #10, items 6, 9 and 10): the window's counters
(Всего / Ко мне / Обслужено / Осталось), timers since the call and since service began, break
reasons the organisation keeps, leaving the window, a console laid out for 1366x768 with a chat
open and for a phone; texts in one language and one time format, icons drawn in SVG; the
supervisor's live tickets with their actions, signing an operator off, and today's CSAT."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

import hubnode
from hubnode import BUSINESSES, CONSULTATION, WINDOW_1, WINDOW_2
from test_contact_centre import accept_offer, open_chat, user_sign_in, visitor_says
from test_webchat import shop  # noqa: F401 - fixture
from ui import DESKTOP_VIEW, PHONE_VIEW, kiosk_sign_in, operator_sign_in, operator_start_work, screenshot, wait_for

EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B50\u23F0-\u23FF]")
LAPTOP_VIEW = {"viewport": {"width": 1366, "height": 768}}




def counters(page: Page) -> dict[str, str]:
    return {k: page.get_by_test_id(f"count-{k}").inner_text() for k in ("total", "for-me", "served", "left")}


def test_counters_timers_breaks_and_leaving_the_window(hub, new_context):
    api = hub.api
    kiosk = api.kiosk()
    tickets = [api.issue(kiosk, s)["ticket"] for s in (CONSULTATION, CONSULTATION, BUSINESSES)]
    page = new_context(**LAPTOP_VIEW).new_page()
    operator_sign_in(page, hub, hubnode.OPERATOR2)
    t = page.get_by_test_id
    operator_start_work(page, WINDOW_2, [CONSULTATION])
    # Всего: issued today; Ко мне: waiting for my services; Обслужено: mine today; Осталось: all waiting.
    expect(t("count-total")).to_have_text("3")
    assert counters(page) == {"total": "3", "for-me": "2", "served": "0", "left": "3"}, counters(page)
    expect(page.locator("#work")).to_contain_text("Ко мне")

    t("call-next").click()
    expect(t("current-number")).to_have_text(tickets[0]["number"])
    expect(t("count-for-me")).to_have_text("1")
    expect(t("count-left")).to_have_text("2")
    # The timer since the call runs (on the server's clock), the one since service waits.
    timer = t("timer-called")
    expect(timer).to_have_text(re.compile(r"^С вызова 0:0\d$"))
    first = timer.inner_text()
    wait_for("the call's timer to tick", lambda: timer.inner_text() != first, 5)
    expect(t("timer-serving")).to_be_hidden()
    t("start-service").click()
    expect(t("timer-serving")).to_have_text(re.compile(r"^Обслуживание 0:0\d$"))
    t("finish").click()
    expect(t("count-served")).to_have_text("1")
    expect(t("timer-called")).to_be_hidden()

    # Break reasons: the organisation's list; "Другое…" lets the operator say their own.
    reasons = t("break-reason").locator("option")
    expect(reasons).to_have_text(["Причина…", "Обед", "Технический перерыв", "Личное время", "Обучение", "Другое…"])
    admin = api.login("admin", "demo-admin")
    api.ok("PUT", "/api/admin/break-reasons", admin, {"reasons": ["Обед", "Совещание"]})
    status, data = api.request("PUT", "/api/admin/break-reasons", admin, {"reasons": ["Обед", " обед "]})
    assert status == 400 and data["field"] == "reasons" and data["reason"] == "duplicate", data
    page.reload()
    expect(reasons).to_have_text(["Причина…", "Обед", "Совещание", "Другое…"])
    t("break-reason").select_option("Совещание")
    t("take-break").click()
    expect(t("presence")).to_have_text("Перерыв: Совещание")
    t("back-to-work").click()
    t("break-reason").select_option("Другое…")
    expect(t("break-reason-other")).to_be_focused()
    t("break-reason-other").fill("Звонок в банк")
    t("take-break").click()
    expect(t("presence")).to_have_text("Перерыв: Звонок в банк")
    t("back-to-work").click()
    expect(t("presence")).to_have_attribute("data-status", "available")

    # Leaving the window with a visitor called asks; returning them puts them first in line.
    t("call-next").click()
    expect(t("current-number")).to_have_text(tickets[1]["number"])
    t("leave-window").click()
    dialog = t("leave-dialog")
    expect(dialog).to_be_visible()
    expect(t("leave-return")).to_have_text("Вернуть в начало очереди и уйти")
    t("leave-return").click()
    expect(dialog).to_be_hidden()
    expect(t("presence")).to_have_attribute("data-status", "offline")
    expect(t("message")).to_contain_text("Вы ушли с окна")
    op = api.login(*hubnode.OPERATOR2)
    state = api.ok("GET", "/api/operator", op)
    assert state["in_hand"] is None and state["state"]["presence"]["state"] == "offline", state
    # The window is free for another, and "back to work" brings this operator back to it.
    expect(t("call-next")).to_be_disabled()
    t("back-to-work").click()
    expect(t("presence")).to_have_attribute("data-status", "available")
    t("call-next").click()
    expect(t("current-number")).to_have_text(tickets[1]["number"])
    screenshot(page, "console_1366x768_ticket")


def test_console_fits_a_laptop_with_a_chat_open_and_a_phone(hub, shop, new_context):  # noqa: F811
    api = hub.api
    api.issue(api.kiosk(), CONSULTATION)
    page = new_context(**LAPTOP_VIEW).new_page()
    operator_sign_in(page, hub, hubnode.OPERATOR1)
    t = page.get_by_test_id
    operator_start_work(page, WINDOW_1, hubnode.DEMO_SERVICES)
    _, chat = open_chat(new_context(**DESKTOP_VIEW), shop.url("/"))
    visitor_says(chat, "Здравствуйте, где мой заказ?", 1)
    accept_offer(page)
    expect(t("conv-thread")).to_contain_text("где мой заказ")
    t("call-next").click()
    expect(t("current-number")).not_to_have_text("")
    # "Call next" and the actions on the ticket are in view without scrolling.
    for tid in ("call-next", "recall", "start-service", "finish", "count-total"):
        box = t(tid).bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= 768, (tid, box)
    # No button breaks a word: every label is on whole words.
    broken = page.evaluate("""() => [...document.querySelectorAll('#work button')].filter((b) => {
        const words = (b.textContent || '').trim().split(/\\s+/);
        const r = document.createRange(); r.selectNodeContents(b);
        const lines = new Set([...r.getClientRects()].map((x) => Math.round(x.top)));
        return lines.size > words.length; }).map((b) => b.textContent)""")
    assert broken == [], broken
    # Icons are drawn, not emoji a machine may have no font for.
    text = page.evaluate("() => document.body.innerText")
    assert not EMOJI.search(text), EMOJI.findall(text)
    assert page.locator('#conv svg[data-icon]').count() > 0
    screenshot(page, "console_1366x768_chat")

    phone = new_context(**PHONE_VIEW).new_page()
    operator_sign_in(phone, hub, hubnode.OPERATOR1)
    expect(phone.get_by_test_id("current-number")).not_to_have_text("")
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, width
    box = phone.get_by_test_id("call-next").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    screenshot(phone, "console_phone")


def test_texts_one_language_one_time_format(hub, shop, new_context):  # noqa: F811
    api = hub.api
    # The widget speaks of Анна as a woman: "подключилась".
    visitor_ctx = new_context(**DESKTOP_VIEW)
    _, chat = open_chat(visitor_ctx, shop.url("/"))
    anna = new_context(**DESKTOP_VIEW).new_page()
    operator_sign_in(anna, hub, hubnode.OPERATOR1)
    anna.get_by_test_id("chat-available").click()
    visitor_says(chat, "Добрый день", 1)
    accept_offer(anna)
    expect(chat.get_by_test_id("chat-notice").filter(has_text="подключилась")).to_have_text(
        "Анна Петрова подключилась к чату")
    # No "EWT": the queue's estimate is worded.
    queues = anna.locator("#chat-queues")
    expect(queues).to_be_visible()
    assert "EWT" not in anna.evaluate("() => document.body.innerText")
    # Times: 24-hour HH:MM in both languages.
    at = anna.evaluate("() => new Date(2026, 0, 5, 0, 20).getTime()")
    for lang in ("ru", "en"):
        anna.evaluate(f"async () => (await import('/static/hub.js')).setLang('{lang}')")
        assert anna.evaluate(f"async () => (await import('/static/hub.js')).fmtClock({at})") == "00:20"
        assert anna.evaluate("async () => (await import('/static/hub.js')).fmtDur(81)") == "1:21"
        assert anna.evaluate("async () => (await import('/static/hub.js')).fmtDur(3725)") == "1:02:05"

    # A refusal on the kiosk, then the language switched: the line follows the switch.
    kiosk = new_context(**DESKTOP_VIEW).new_page()
    kiosk_sign_in(kiosk, hub, hubnode.KIOSK)
    kiosk.get_by_test_id("vip-toggle").click()
    kiosk.get_by_test_id("vip-code").fill("000000")
    kiosk.locator(f'[data-testid="service-button"][data-service-id="{BUSINESSES}"]').click()
    message = kiosk.get_by_test_id("message")
    expect(message).to_have_attribute("data-kind", "error")
    ru = message.inner_text()
    assert re.search("[а-яА-Я]", ru), ru
    kiosk.locator('.lang-toggle button[data-lang="en"]').click()
    expect(message).not_to_have_text(ru)
    assert not re.search("[а-яА-Я]", message.inner_text()), message.inner_text()


def test_supervisor_acts_on_tickets_signs_off_and_sees_csat(hub, shop, new_context):  # noqa: F811
    api = hub.api
    kiosk = api.kiosk()
    t1, t2, t3 = (api.issue(kiosk, CONSULTATION)["ticket"] for _ in range(3))
    op1 = api.operator_at(hubnode.OPERATOR1, WINDOW_1)
    called = api.call_next(op1)
    assert called["id"] == t1["id"]

    page = new_context(**DESKTOP_VIEW).new_page()
    user_sign_in(page, hub, "/supervisor", hubnode.SUPERVISOR)
    rows = page.get_by_test_id("sup-ticket")
    expect(rows).to_have_count(3)
    # In play first, then the line in the order it will be called.
    expect(rows.nth(0)).to_have_attribute("data-ticket-id", str(t1["id"]))
    expect(rows.nth(0)).to_contain_text("Окно 1 · Анна Петрова")
    expect(rows.nth(1)).to_have_attribute("data-ticket-id", str(t2["id"]))
    # The last in line goes to the front.
    rows.nth(2).get_by_test_id("sup-ticket-front").click()
    expect(page.get_by_test_id("message")).to_have_text(f"Талон {t3['number']} перемещён.")
    expect(rows.nth(1)).to_have_attribute("data-ticket-id", str(t3["id"]))
    # Another one moves to another service.
    row = page.locator(f'[data-testid="sup-ticket"][data-ticket-id="{t2["id"]}"]')
    row.get_by_test_id("sup-ticket-service").select_option(str(BUSINESSES))
    row.get_by_test_id("sup-ticket-move").click()
    expect(row).to_contain_text("Юридическим лицам")
    # The operator's called visitor goes back to the front of the line.
    page.locator(f'[data-testid="sup-ticket"][data-ticket-id="{t1["id"]}"]').get_by_test_id("sup-ticket-return").click()
    expect(page.locator(f'[data-testid="sup-ticket"][data-ticket-id="{t1["id"]}"]')).to_have_attribute("data-status", "waiting")
    assert api.ok("GET", "/api/operator", op1)["in_hand"] is None
    # Those put at the front stand there in the order they were put: the one moved first, then
    # the one returned; the one moved to another service waits at the back of that line.
    live = api.ok("GET", f"/api/supervisor/branches/{hubnode.BRANCH}/live", api.login(*hubnode.SUPERVISOR))
    assert [x["id"] for x in live["tickets"]] == [t3["id"], t1["id"], t2["id"]], live
    assert api.call_next(op1)["id"] == t3["id"]
    # Signing the operator off: the called visitor goes back again, the operator is offline.
    operator_row = page.locator('[data-testid="sup-operator"]', has_text="Анна Петрова")
    page.once("dialog", lambda d: d.accept())
    operator_row.get_by_test_id("sup-operator-sign-off").click()
    expect(operator_row).to_have_attribute("data-presence", "offline")
    state = api.ok("GET", "/api/operator", op1)
    assert state["in_hand"] is None and state["state"]["presence"]["state"] == "offline", state
    # Another organisation's supervisor cannot touch these.
    _, login, password = hub.store.second_org()
    other = api.login(login, password)
    status, _ = api.request("POST", f"/api/supervisor/tickets/{t3['id']}/requeue", other, {"placement": "front"})
    assert status == 404
    status, _ = api.request("POST", f"/api/supervisor/operators/{state['user_id']}/sign-off", other, {})
    assert status == 404

    # Today's CSAT: a chat closed and rated 5.
    expect(page.get_by_test_id("sup-csat").first).to_have_text("—")
    anna = new_context(**DESKTOP_VIEW).new_page()
    operator_sign_in(anna, hub, hubnode.OPERATOR1)
    # Signed off, her window is kept as a suggestion: "back to work" takes her back to it.
    anna.get_by_test_id("back-to-work").click()
    expect(anna.get_by_test_id("presence")).to_have_attribute("data-status", "available")
    _, chat = open_chat(new_context(**DESKTOP_VIEW), shop.url("/"))
    visitor_says(chat, "Спасибо за помощь", 1)
    accept_offer(anna)
    anna.get_by_test_id("conv-close").click()
    chat.locator('[data-testid="chat-rate"][data-score="5"]').click()
    chat.get_by_test_id("chat-rate-submit").click()
    expect(page.get_by_test_id("sup-csat").first).to_have_text("100%")
    expect(page.get_by_test_id("sup-csat-rated").first).to_have_text("1")
    screenshot(page, "supervisor_live_tickets")
