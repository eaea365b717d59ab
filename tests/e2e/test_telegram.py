"""The Telegram channel end to end: a hub whose bot talks to a Bot API server (botapi.py, in the
real API's shapes; the npm emulator telegram-test-api in test_telegram_emulator.py), a user
playing the customer, operators on the API and in the console."""
from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

import hubnode
import tgkit
from botapi import BotApi
from test_contact_centre import png_bytes
from tgkit import available, connect_bot, offered, reply, thread, visitor_messages, wait
from ui import DESKTOP_VIEW, operator_sign_in

TOKEN = "700001:TEST-hub-bot-token-aaaaaaaa"
CHAT = 5001
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def botapi():
    api = BotApi()
    yield api
    api.close()


def texts_to(api: BotApi, chat: int = CHAT, token: str = TOKEN) -> list[str]:
    return [m.get("text", "") for m in api.sent_to(token, chat)]


def test_messages_files_contact_and_location_both_ways(hub_store, botapi):
    node = tgkit.tg_node(hub_store(), botapi.url)
    connect_bot(node, TOKEN)
    op = available(node)

    # The user writes; the conversation is offered to the operator, who accepts.
    first = botapi.text(TOKEN, CHAT, "Здравствуйте, не приходит счёт")
    conv = offered(node, op)
    assert conv["channel"] == "telegram"
    assert conv["contact_name"] == "Олег"
    node.api.ok("POST", f"/api/conversations/{conv['id']}/accept", op)
    msgs = wait(lambda: visitor_messages(node, op, conv["id"]), what="the user's message")
    assert [m["body"] for m in msgs] == ["Здравствуйте, не приходит счёт"]

    # The operator answers; the user receives it once.
    reply(node, op, conv["id"], "Добрый день! Проверим.")
    botapi.wait_sent(TOKEN, CHAT, lambda m: m.get("text") == "Добрый день! Проверим.", what="the reply")

    # A photo with a caption and a PDF arrive as attachments of the same conversation.
    botapi.photo(TOKEN, CHAT, png_bytes(4, 4), caption="Вот скриншот")
    botapi.document(TOKEN, CHAT, PDF, "счёт.pdf")
    msgs = wait(lambda: (m := visitor_messages(node, op, conv["id"])) and len(m) >= 3 and m, what="files")
    photo, doc = msgs[1], msgs[2]
    assert photo["body"] == "Вот скриншот"
    assert [(a["mime"], a["size"]) for a in photo["attachments"]] == [("image/png", len(png_bytes(4, 4)))]
    assert [(a["name"], a["mime"]) for a in doc["attachments"]] == [("счёт.pdf", "application/pdf")]

    # The operator sends a picture and a document back: sendPhoto and sendDocument with the bytes.
    png_id = tgkit.upload(node, op, "схема.png", png_bytes(3, 3))
    pdf_id = tgkit.upload(node, op, "акт.pdf", PDF)
    reply(node, op, conv["id"], "Схема и акт", [png_id, pdf_id])
    botapi.wait_sent(TOKEN, CHAT, lambda m: m["kind"] == "document", what="the document")
    out = [m for m in botapi.sent_to(TOKEN, CHAT) if m["kind"] != "text" or m["text"] == "Схема и акт"]
    assert [m["kind"] for m in out] == ["text", "photo", "document"]
    assert out[1]["file_bytes_len"] == len(png_bytes(3, 3))
    assert out[2]["document"]["file_name"] == "акт.pdf" and out[2]["file_bytes_len"] == len(PDF)

    # An edit shows in the thread; a location is kept on the card and in the thread.
    botapi.edit(TOKEN, CHAT, first["message_id"], "Здравствуйте, не приходит счёт за ноябрь")
    botapi.location(TOKEN, CHAT, 55.7558, 37.6173)
    msgs = wait(lambda: (m := visitor_messages(node, op, conv["id"])) and len(m) >= 5 and m, what="edit, location")
    assert msgs[3]["body"] == "✏️ Исправлено: Здравствуйте, не приходит счёт за ноябрь"
    assert msgs[4]["body"].startswith("📍 55.755800, 37.617300")
    card = thread(node, op, conv["id"])["contact"]
    assert card["location"] == "55.755800,37.617300"

    # The user shares their own phone number: it joins the card and they are thanked.
    botapi.contact(TOKEN, CHAT, "79161234567")
    card = wait(lambda: (c := thread(node, op, conv["id"])["contact"]) and c["phone"] and c, what="phone")
    assert card["phone"] == "+79161234567"
    assert {"kind": "phone", "value": "+79161234567"} in card["identities"]
    assert {"kind": "telegram", "value": str(CHAT)} in card["identities"]
    botapi.wait_sent(TOKEN, CHAT, lambda m: "номер сохранён" in m.get("text", ""), what="thanks")
    # Someone else's number shared as a card is a message, not part of this card.
    botapi.contact(TOKEN, CHAT, "79160000000", own=False)
    wait(lambda: len(visitor_messages(node, op, conv["id"])) >= 7, what="the friend's card")
    card = thread(node, op, conv["id"])["contact"]
    assert "+79160000000" not in {i["value"] for i in card["identities"]}

    # A second Telegram account of the same person shares the same number: one card for both.
    other = CHAT + 1
    botapi.text(TOKEN, other, "Это я же, с рабочего аккаунта")
    botapi.contact(TOKEN, other, "+7 916 123-45-67")
    def merged():
        card = thread(node, op, conv["id"])["contact"]
        return str(other) in {i["value"] for i in card["identities"]} and card
    card = wait(merged, what="the cards merged by phone")
    assert sum(1 for i in card["identities"] if i["kind"] == "phone") == 1
    assert len([h for h in card["history"] if h["channel"] == "telegram"]) == 2

    # Every message the operator sent reached the chat once.
    texts = texts_to(botapi)
    assert texts.count("Добрый день! Проверим.") == 1
    assert texts.count("Схема и акт") == 1


def buttons(message: dict) -> list[tuple[str, str]]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return [(b["text"], b["callback_data"]) for row in rows for b in row]


def press(api: BotApi, message: dict, label: str, chat: int = CHAT) -> None:
    data = dict(buttons(message)).get(label)
    assert data, f"no button {label!r} in {buttons(message)}"
    api.press(TOKEN, chat, message, data)


def test_queue_ticket_by_bot_told_next_and_window(hub_store, botapi, new_context):
    node = tgkit.tg_node(hub_store(), botapi.url)
    connect_bot(node, TOKEN)
    # Someone took a ticket at the kiosk first: the bot's user will have one ahead.
    kiosk = node.api.kiosk()
    first = node.api.issue(kiosk, hubnode.CONSULTATION)["ticket"]
    assert first["number"] == "A001"

    # An operator is at window 1, so the wait can be estimated (no history yet: 5 min a ticket).
    page = new_context(**DESKTOP_VIEW).new_page()
    operator_sign_in(page, node, hubnode.OPERATOR1)
    from ui import operator_start_work
    operator_start_work(page, hubnode.WINDOW_1, hubnode.DEMO_SERVICES)

    botapi.text(TOKEN, CHAT, "/ticket")
    menu = botapi.wait_sent(TOKEN, CHAT, lambda m: buttons(m), what="the branch menu")
    assert menu["text"] == "Выберите отделение:"
    press(botapi, menu, "Центральный офис")
    services = botapi.wait_sent(TOKEN, CHAT, lambda m: "выберите услугу" in m.get("text", ""), what="services")
    press(botapi, services, "Частным лицам")
    inner = botapi.wait_sent(TOKEN, CHAT, lambda m: m is not services and "выберите услугу" in m.get("text", "")
                             and "Консультация" in dict(buttons(m)), what="the group's services")
    press(botapi, inner, "Консультация")
    taken = botapi.wait_sent(TOKEN, CHAT, lambda m: m.get("text", "").startswith("Ваш талон"), what="the ticket")
    assert taken["text"].startswith("Ваш талон A002 (Консультация). Перед вами в очереди: 1. Ожидание около 5 мин."), \
        taken["text"]
    # The buttons' presses were answered (the user's spinner stops).
    assert len(botapi.bot(TOKEN).answered_callbacks) == 3

    # The operator calls from the operator page: A001 first, so A002 is next.
    page.get_by_test_id("call-next").click()
    expect(page.get_by_test_id("current-number")).to_have_text("A001")
    botapi.wait_sent(TOKEN, CHAT, lambda m: m.get("text") == "Талон A002: вы следующий! Пожалуйста, будьте рядом с залом ожидания.",
                     what="'you are next'")
    page.get_by_test_id("start-service").click()
    page.get_by_test_id("finish").click()
    page.get_by_test_id("call-next").click()
    expect(page.get_by_test_id("current-number")).to_have_text("A002")
    botapi.wait_sent(TOKEN, CHAT, lambda m: m.get("text") == "Талон A002: пройдите к окну 1.", what="the window")
    page.get_by_test_id("recall").click()
    botapi.wait_sent(TOKEN, CHAT, lambda m: "снова приглашают к окну 1" in m.get("text", ""), what="the recall")
    # Each notice once, whatever number of events led to it.
    texts = texts_to(botapi)
    assert texts.count("Талон A002: вы следующий! Пожалуйста, будьте рядом с залом ожидания.") == 1
    assert texts.count("Талон A002: пройдите к окну 1.") == 1


def test_console_shows_telegram_and_rating_after_close(hub_store, botapi, new_context):
    node = tgkit.tg_node(hub_store(), botapi.url)
    connect_bot(node, TOKEN)
    botapi.text(TOKEN, CHAT, "/start")
    greeting = botapi.wait_sent(TOKEN, CHAT, lambda m: m.get("text", "").startswith("Здравствуйте"), what="greeting")
    assert "/ticket" in greeting["text"]
    # The menu button lists the commands.
    assert [c["command"] for c in botapi.bot(TOKEN).commands] == ["ticket", "start"]

    page = new_context(**DESKTOP_VIEW).new_page()
    operator_sign_in(page, node, hubnode.OPERATOR1)
    from test_webchat import operator_takes_chats
    operator_takes_chats(page)
    botapi.text(TOKEN, CHAT, "Нужна помощь с <b>заказом</b>")
    offer = page.locator('[data-testid="conv-item"][data-kind="offer"]')
    expect(offer).to_have_count(1)
    expect(offer.locator('.ch-icon[data-channel="telegram"]')).to_be_visible()
    offer.get_by_test_id("conv-accept").click()
    thread_el = page.get_by_test_id("conv-thread")
    # The user's text is shown as text, never as markup.
    expect(thread_el).to_contain_text("Нужна помощь с <b>заказом</b>")
    page.get_by_test_id("reply-input").fill("Сейчас посмотрю")
    page.get_by_test_id("reply-send").click()
    botapi.wait_sent(TOKEN, CHAT, lambda m: m.get("text") == "Сейчас посмотрю", what="the console's reply")
    page.once("dialog", lambda d: d.accept())
    page.get_by_test_id("conv-close").click()
    question = botapi.wait_sent(TOKEN, CHAT, lambda m: "Оцените" in m.get("text", ""), what="the rating question")
    assert [label for label, _ in buttons(question)] == ["★", "★★", "★★★", "★★★★", "★★★★★"]
    press(botapi, question, "★★★★")
    botapi.wait_sent(TOKEN, CHAT, lambda m: m.get("text") == "Спасибо за оценку!", what="thanks")
    sup = node.api.login(*hubnode.SUPERVISOR)
    conv_id = int(question["reply_markup"]["inline_keyboard"][0][0]["callback_data"].split(":")[1])
    assert thread(node, sup, conv_id)["conversation"]["rating"] == 4
    # A second press changes nothing.
    press(botapi, question, "★")
    botapi.wait_sent(TOKEN, CHAT, lambda m: m.get("text") == "Оценка уже учтена.", what="already rated")
    assert thread(node, sup, conv_id)["conversation"]["rating"] == 4


def conversation_of(node, token, chat: int = CHAT) -> dict:
    def find():
        for c in tgkit.telegram_conversations(node, token):
            if thread(node, token, c["id"])["contact"]["identities"][0]["value"] == str(chat):
                return c
        return None
    return wait(find, what=f"the conversation of chat {chat}")


@pytest.mark.parametrize("postgres", [False, True], ids=["sqlite", "postgres"])
def test_exactly_once_across_duplicates_kills_and_rate_limits(hub_store, botapi, postgres):
    store = hub_store(postgres=postgres)
    node = tgkit.tg_node(store, botapi.url)
    connect_bot(node, TOKEN)
    sup = node.api.login(*hubnode.SUPERVISOR)

    # The same update delivered twice, and the same message under a second update id.
    m = botapi.text(TOKEN, CHAT, "Раз")
    conv = conversation_of(node, sup)
    wait(lambda: botapi.pending(TOKEN) == 0 or botapi.bot(TOKEN).offsets[-1] > m["update_id"], what="offset")
    body = {"message": {k: v for k, v in m.items() if k not in ("update_id", "kind")}}
    botapi.redeliver(TOKEN, m["update_id"], body)
    botapi.raw(TOKEN, body)
    botapi.text(TOKEN, CHAT, "Два")
    wait(lambda: len(visitor_messages(node, sup, conv["id"])) == 2, what="two messages")
    time.sleep(0.5)
    assert [x["body"] for x in visitor_messages(node, sup, conv["id"])] == ["Раз", "Два"]

    # Killed right after Telegram handed over updates, before they could be stored: after the
    # restart they are fetched again (the offset had not moved) and stored once.
    botapi.after_delivery = node.kill
    for i in range(3, 13):
        botapi.text(TOKEN, CHAT, f"Сообщение {i}")
    wait(lambda: node.proc.poll() is not None, what="the kill")
    node.start()
    expected = ["Раз", "Два"] + [f"Сообщение {i}" for i in range(3, 13)]
    wait(lambda: len(visitor_messages(node, sup, conv["id"])) >= len(expected), what="all messages")
    time.sleep(1.0)
    assert [x["body"] for x in visitor_messages(node, sup, conv["id"])] == expected

    # A reply meets 429 twice: sent once, after retry_after.
    op = available(node)
    wait(lambda: node.api.ok("GET", "/api/conversations", op)["offers"], what="the offer")
    node.api.ok("POST", f"/api/conversations/{conv['id']}/accept", op)
    botapi.fail_next("sendMessage", 2, "429", retry_after=1)
    sent_at = time.monotonic()
    reply(node, op, conv["id"], "Ответ после 429")
    botapi.wait_sent(TOKEN, CHAT, lambda x: x.get("text") == "Ответ после 429", what="the reply")
    assert time.monotonic() - sent_at >= 1.5  # two waits of retry_after = 1 s
    assert tgkit.metric(node, "hub_telegram_rate_limited_total") >= 2

    # Killed while a reply waits out retry_after: sent once after the restart.
    botapi.fail_next("sendMessage", 1, "429", retry_after=3)
    calls = botapi.calls.get("sendMessage", 0)
    reply(node, op, conv["id"], "Ответ через рестарт")
    wait(lambda: botapi.calls.get("sendMessage", 0) > calls, what="the rate-limited attempt")
    node.kill()
    node.start()
    botapi.wait_sent(TOKEN, CHAT, lambda x: x.get("text") == "Ответ через рестарт", timeout=20, what="the reply")
    time.sleep(1.0)
    texts = texts_to(botapi)
    assert texts.count("Ответ после 429") == 1
    assert texts.count("Ответ через рестарт") == 1


def test_bad_input_is_refused_and_the_bot_keeps_running(hub_store, botapi):
    node = tgkit.tg_node(hub_store(), botapi.url)
    admin = node.api.login(*tgkit.ADMIN)
    queue = tgkit.chat_queue(node.api, admin)
    for bad in ({"token": "not-a-token", "queue_id": queue},
                {"token": TOKEN, "queue_id": queue, "mode": "webhook"},
                {"token": TOKEN, "queue_id": queue, "colour": "blue"},
                {"token": TOKEN, "queue_id": hubnode.CONSULTATION}):
        status, err = node.api.request("POST", "/api/admin/telegram/bots", admin, bad)
        assert status in (400, 404), (bad, status, err)
    op_token = node.api.login(*hubnode.OPERATOR1)
    status, _ = node.api.request("POST", "/api/admin/telegram/bots", op_token, {"token": TOKEN, "queue_id": queue})
    assert status == 403
    bot = connect_bot(node, TOKEN)
    assert "token" not in bot  # the token is never shown back
    sup = node.api.login(*hubnode.SUPERVISOR)

    botapi.text(TOKEN, CHAT, "Начало")
    conv = conversation_of(node, sup)
    # Updates of kinds the hub does not take, a sticker, a message in a group.
    botapi.raw(TOKEN, {"brand_new_kind": {"x": 1}})
    botapi._send(TOKEN, CHAT, {"sticker": {"file_id": "s", "file_unique_id": "s", "type": "regular",
                                           "width": 1, "height": 1, "is_animated": False, "is_video": False}})
    botapi.raw(TOKEN, {"message": {"message_id": 1, "date": int(time.time()), "text": "всем привет",
                                   "chat": {"id": -100, "type": "group", "title": "g"}}})
    # Malformed JSON and a server error from the API: nothing is taken, polling goes on.
    botapi.fail_next("getUpdates", 1, "malformed")
    botapi.fail_next("getUpdates", 1, "500")
    # A 50 MB document and an executable disguised as a PDF are refused with a word to the user.
    botapi.document(TOKEN, CHAT, b"%PDF-1.4 tiny", "большой.pdf", declared=50 * 1024 * 1024)
    botapi.document(TOKEN, CHAT, b"MZ\x90\x00\x03\x00\x00\x00" * 64, "счёт.pdf", caption="счёт")
    botapi.text(TOKEN, CHAT, "Конец")
    msgs = wait(lambda: (m := visitor_messages(node, sup, conv["id"])) and m[-1]["body"] == "Конец" and m,
                what="the last message")
    bodies = [x["body"] for x in msgs]
    # The sticker reaches the operator as words; the group's message and the unknown kind do not.
    assert bodies[:2] == ["Начало", "[стикер]"] and len(bodies) == 5, bodies
    assert "не принят: файл больше 5 МБ" in bodies[2]
    assert bodies[3].startswith("счёт\n\nФайл «счёт.pdf» не принят: такой тип файла не принимается")
    assert not any(x["attachments"] for x in msgs)
    told = texts_to(botapi)
    assert sum("не принят" in t for t in told) == 2
    assert tgkit.metric(node, "hub_telegram_updates_ignored_total") >= 2
    wait(lambda: tgkit.metric(node, "hub_telegram_poll_errors_total") >= 2, what="both API errors seen")
    botapi.text(TOKEN, CHAT, "После ошибок API")
    wait(lambda: visitor_messages(node, sup, conv["id"])[-1]["body"] == "После ошибок API", what="polling goes on")
    assert tgkit.metric(node, "hub_telegram_updates_pending") == 0

    # The webhook of a polling bot, or with a wrong secret, refuses and stores nothing.
    status, err = node.api.request("POST", f"/telegram/{bot['id']}/webhook", None, {"update_id": 999})
    assert status == 404, err
    assert node.proc.poll() is None


def test_webhook_mode_checks_the_secret(hub_store, botapi):
    store = hub_store()
    port = hubnode.free_port()
    store.extra_env["HUB_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    store.extra_env["HUB_TELEGRAM_API_URL"] = botapi.url
    node = store.start(port)
    bot = connect_bot(node, TOKEN, mode="webhook", webhook_secret="s3cret-hook")
    wait(lambda: botapi.bot(TOKEN).webhook, what="setWebhook")
    assert botapi.bot(TOKEN).webhook == (f"http://127.0.0.1:{port}/telegram/{bot['id']}/webhook", "s3cret-hook")
    sup = node.api.login(*hubnode.SUPERVISOR)

    # Telegram posts the update with the secret; it lands in a conversation.
    botapi.text(TOKEN, CHAT, "Через вебхук")
    conv = conversation_of(node, sup)
    wait(lambda: [x["body"] for x in visitor_messages(node, sup, conv["id"])] == ["Через вебхук"],
         what="the message")

    # Someone else posting without the secret, or with a wrong one, is refused; so is broken JSON.
    import json as _json
    import urllib.request
    def post(secret, data: bytes):
        req = urllib.request.Request(node.url(f"/telegram/{bot['id']}/webhook"), data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
        if secret:
            req.add_header("X-Telegram-Bot-Api-Secret-Token", secret)
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                return res.status
        except urllib.error.HTTPError as e:
            return e.code
    forged = _json.dumps({"update_id": 9000, "message": {"message_id": 99, "date": 1, "text": "подделка",
                          "chat": {"id": CHAT, "type": "private", "first_name": "x"}}}).encode()
    assert post(None, forged) == 401
    assert post("wrong", forged) == 401
    assert post("s3cret-hook", b"{not json") == 400
    assert post("s3cret-hook", b"[1,2]") == 400
    assert post("s3cret-hook", b"x" * (300 * 1024)) == 413
    botapi.text(TOKEN, CHAT, "Второе")
    wait(lambda: len(visitor_messages(node, sup, conv["id"])) == 2, what="the second message")
    assert [x["body"] for x in visitor_messages(node, sup, conv["id"])] == ["Через вебхук", "Второе"]


def test_two_nodes_share_a_bot_one_polls_and_the_other_takes_over(hub_store, botapi):
    store = hub_store(postgres=True, with_redis=True)
    a = tgkit.tg_node(store, botapi.url, HUB_TELEGRAM_LEASE_SECS="4")
    b = store.start()
    connect_bot(a, TOKEN)
    sup = b.api.login(*hubnode.SUPERVISOR)
    for i in range(5):
        botapi.text(TOKEN, CHAT, f"вопрос {i}")
    conv = conversation_of(b, sup)
    wait(lambda: len(visitor_messages(b, sup, conv["id"])) == 5, what="five messages")
    time.sleep(3)  # both nodes run their bot tasks a while: only the lease holder polls
    assert botapi.bot(TOKEN).conflicts == 0

    # An operator on node B replies and closes: the reply and the rating question go out once,
    # though both nodes hear the close.
    op = available(b)
    wait(lambda: b.api.ok("GET", "/api/conversations", op)["offers"], what="the offer")
    b.api.ok("POST", f"/api/conversations/{conv['id']}/accept", op)
    reply(b, op, conv["id"], "Ответ с узла B")
    b.api.ok("POST", f"/api/conversations/{conv['id']}/close", op, {})
    botapi.wait_sent(TOKEN, CHAT, lambda m: "Оцените" in m.get("text", ""), what="the rating question")
    time.sleep(1.0)
    texts = texts_to(botapi)
    assert texts.count("Ответ с узла B") == 1
    assert sum("Оцените" in t for t in texts) == 1

    # The polling node dies; the other takes the bot over when the lease runs out.
    import subprocess
    lease = subprocess.run(["psql", store.database_url, "-tAc", "SELECT lease_node FROM telegram_bots"],
                           capture_output=True, text=True, timeout=30).stdout.strip()
    holder, other = (a, b) if lease.endswith(f":{a.port}") else (b, a)
    assert lease.endswith(f":{holder.port}"), lease
    holder.kill()
    botapi.text(TOKEN, CHAT, "после падения узла")
    def second_conversation():
        convs = [c for c in tgkit.telegram_conversations(other, sup) if c["id"] != conv["id"]]
        return convs and convs[0]
    conv2 = wait(second_conversation, timeout=30, what="the message through the other node")
    # The conversation is opened a moment before its first message is stored.
    wait(lambda: [m["body"] for m in visitor_messages(other, sup, conv2["id"])] == ["после падения узла"],
         what="the message in it")


def test_web_chat_goes_on_in_telegram(hub_store, botapi, new_context):
    node = tgkit.tg_node(hub_store(), botapi.url)
    connect_bot(node, TOKEN)
    admin = node.api.login(*tgkit.ADMIN)
    wait(lambda: node.api.ok("GET", "/api/admin/telegram/bots", admin)[0]["username"], what="the bot's name")

    ctx = new_context(**DESKTOP_VIEW)
    # t.me is out of reach here: answer for it, so the popup's address can be read.
    ctx.route("https://t.me/**", lambda route: route.fulfill(status=200, body="telegram", content_type="text/plain"))
    visitor = ctx.new_page()
    visitor.goto(node.url("/demo/site"))
    visitor.get_by_test_id("chat-launcher").click()
    chat = visitor.frame_locator('[data-testid="chat-frame"]')
    expect(chat.get_by_test_id("ws-status")).to_have_attribute("data-state", "live")
    chat.get_by_test_id("chat-input").fill("Вопрос с сайта")
    chat.get_by_test_id("chat-input").press("Enter")
    expect(chat.locator('[data-testid="chat-message"][data-author="visitor"][data-state="sent"]')).to_have_count(1)
    sup = node.api.login(*hubnode.SUPERVISOR)
    web = wait(lambda: next((c for c in node.api.ok("GET", "/api/conversations", sup)["queued"]
                             if c["channel"] == "webchat"), None), what="the web chat")

    # The visitor goes on in Telegram: the link opens the bot with a one-time code.
    with ctx.expect_page() as popup:
        chat.get_by_test_id("chat-telegram").click()
    tab = popup.value
    tab.wait_for_url(re.compile(r"^https://t\.me/"))
    m = re.fullmatch(r"https://t\.me/hub_test_700001_bot\?start=w([0-9a-f]{32})", tab.url)
    assert m, tab.url
    botapi.text(TOKEN, CHAT, f"/start w{m.group(1)}")
    botapi.wait_sent(TOKEN, CHAT, lambda x: x.get("text", "").startswith("Продолжаем здесь"), what="the hand-off")

    # The same conversation, now a Telegram dialogue, on one card with both identities.
    d = thread(node, sup, web["id"])
    assert d["conversation"]["channel"] == "telegram"
    assert {i["kind"] for i in d["contact"]["identities"]} >= {"web", "telegram"}
    assert any(e["kind"] == "handed_over" for e in d["timeline"])
    op = available(node)
    wait(lambda: node.api.ok("GET", "/api/conversations", op)["offers"], what="the offer")
    node.api.ok("POST", f"/api/conversations/{web['id']}/accept", op)
    reply(node, op, web["id"], "Отвечаю уже в Telegram")
    botapi.wait_sent(TOKEN, CHAT, lambda x: x.get("text") == "Отвечаю уже в Telegram", what="the reply")
    botapi.text(TOKEN, CHAT, "Отлично")
    wait(lambda: [x["body"] for x in visitor_messages(node, op, web["id"])] == ["Вопрос с сайта", "Отлично"],
         what="the thread going on")

    # The code works once.
    botapi.text(TOKEN, CHAT + 7, f"/start w{m.group(1)}")
    botapi.wait_sent(TOKEN, CHAT + 7, lambda x: "уже использована" in x.get("text", ""), what="refusal")
