"""Telegram faults found by testing from outside, each as its class: updates of kinds and with
fields no library knows never stop a bot or lose a message (the raw JSON is what is stored), and
a file that cannot be downloaded never holds its message, or the chat's later messages, back.
Against botapi.py, which sends what the real API sends (reactions, new keys, new entity types,
file paths with slashes, downloads that fail)."""
from __future__ import annotations

import time

import hubnode
import tgkit
from botapi import BotApi
from test_contact_centre import png_bytes
from test_telegram import CHAT, PDF, TOKEN, botapi, conversation_of  # noqa: F401 - fixture
from tgkit import connect_bot, visitor_messages, wait


def bodies(node, token, conv_id) -> list[str]:
    return [m["body"] for m in visitor_messages(node, token, conv_id)]


def test_kinds_and_fields_no_library_knows_never_stop_the_bot(hub_store, botapi: BotApi):
    node = tgkit.tg_node(hub_store(), botapi.url)
    bot = connect_bot(node, TOKEN)
    sup = node.api.login(*hubnode.SUPERVISOR)
    admin = node.api.login(*tgkit.ADMIN)
    first = botapi.text(TOKEN, CHAT, "Начало")
    conv = conversation_of(node, sup)

    # A reaction (teloxide 0.17 panicked reading one, and the bot never polled again), a new
    # top-level key beside a message, an entity type and keys nobody knows yet, a media kind of
    # the future with a caption, and a poll.
    reaction = botapi.reaction(TOKEN, CHAT, first["message_id"], "🔥")
    now = int(time.time())
    chat = {"id": CHAT, "type": "private", "first_name": "Олег", "accent_color_id": 3}
    sender = {"id": CHAT, "is_bot": False, "first_name": "Олег", "is_premium": True, "has_topics_enabled": False}
    botapi.raw(TOKEN, {"business_extra": {"v": 1}, "message": {
        "message_id": 101, "date": now, "chat": chat, "from": sender, "text": "С новым полем"}})
    botapi.raw(TOKEN, {"message": {
        "message_id": 102, "date": now, "chat": chat, "from": sender, "text": "Смотрите ✨здесь✨",
        "entities": [{"type": "sparkle_2031", "offset": 9, "length": 7, "glow": {"level": 9}}],
        "paid_star_count": 0, "brand_new_flag": True}})
    botapi.raw(TOKEN, {"message": {
        "message_id": 103, "date": now, "chat": chat, "from": sender,
        "hologram": {"file_id": "h1", "depth": 3}, "caption": "Голограмма счёта"}})
    botapi.raw(TOKEN, {"message": {
        "message_id": 104, "date": now, "chat": chat, "from": sender,
        "poll": {"id": "p", "question": "Когда перезвонить?", "options": [], "total_voter_count": 0,
                 "is_closed": False, "is_anonymous": True, "type": "regular",
                 "allows_multiple_answers": False}}})
    # Killed right after Telegram handed these over: after the restart they are fetched again
    # (the offset had not moved) and applied once.
    botapi.after_delivery = node.kill
    botapi.text(TOKEN, CHAT, "Конец")
    wait(lambda: node.proc.poll() is not None, what="the kill")
    node.start()

    expected = ["Начало", "С новым полем", "Смотрите ✨здесь✨",
                "[сообщение типа «hologram»: хаб не умеет его показать, посмотрите в Telegram]\nГолограмма счёта",
                "[опрос] Когда перезвонить?", "Конец"]
    wait(lambda: bodies(node, sup, conv["id"]) == expected, timeout=30,
         what=f"every message, in order: {expected}")
    # The bot goes on polling.
    botapi.text(TOKEN, CHAT, "И дальше")
    wait(lambda: bodies(node, sup, conv["id"])[-1] == "И дальше", what="a later message")
    assert tgkit.metric(node, "hub_telegram_updates_failed_total") == 0
    assert tgkit.metric(node, "hub_telegram_updates_pending") == 0

    # What was not applied is in the admin's sight, with the JSON exactly as Telegram sent it.
    aside = node.api.ok("GET", f"/api/admin/telegram/bots/{bot['id']}/updates", admin)
    mine = next(u for u in aside if u["update_id"] == reaction)
    assert mine["outcome"].startswith("ignored: ") and "message_reaction" in mine["outcome"]
    assert mine["update"]["message_reaction"]["new_reaction"] == [{"type": "emoji", "emoji": "🔥"}]
    assert node.api.ok("GET", f"/api/admin/telegram/bots/{bot['id']}/updates?failed=true", admin) == []
    # Not for operators, nor for an unknown bot, nor with parameters it does not know.
    op = node.api.login(*hubnode.OPERATOR1)
    assert node.api.request("GET", f"/api/admin/telegram/bots/{bot['id']}/updates", op)[0] == 403
    assert node.api.request("GET", "/api/admin/telegram/bots/999999/updates", admin)[0] == 404
    assert node.api.request("GET", f"/api/admin/telegram/bots/{bot['id']}/updates?colour=1", admin)[0] == 400


def test_a_file_that_cannot_be_fetched_never_holds_its_message_back(hub_store, botapi: BotApi):
    node = tgkit.tg_node(hub_store(), botapi.url, HUB_TELEGRAM_FILE_RETRY_MS="50")
    connect_bot(node, TOKEN)
    sup = node.api.login(*hubnode.SUPERVISOR)
    botapi.text(TOKEN, CHAT, "Отправляю фото")
    conv = conversation_of(node, sup)

    # The photo's download fails for now: its caption lands at once with a word that the file
    # is coming, and the chat's next message does not wait behind it.
    photo = botapi.photo(TOKEN, CHAT, png_bytes(5, 5), caption="Вот скриншот", failing=None)
    big = photo["photo"][-1]["file_id"]
    botapi.text(TOKEN, CHAT, "После фото")
    coming = "Вот скриншот\n\n📎 Файл «photo-2.jpg» ещё загружается из Telegram и появится здесь."
    wait(lambda: bodies(node, sup, conv["id"])[1:3] == [coming, "После фото"], what="the caption and the next message")

    # Killed while the file is being tried again; after the restart, and once Telegram serves
    # it, the file lands as its own message of the same conversation.
    wait(lambda: botapi.bot(TOKEN).downloads.count(botapi.bot(TOKEN).paths[big]) >= 3, what="retries")
    node.kill()
    with botapi.lock:
        botapi.bot(TOKEN).failing_downloads.clear()
    node.start()
    msgs = wait(lambda: (m := visitor_messages(node, sup, conv["id"])) and len(m) >= 4 and m, timeout=30,
                what="the file, late")
    assert msgs[3]["body"] == ""
    assert [(a["name"], a["mime"], a["size"]) for a in msgs[3]["attachments"]] == \
        [("photo-2.jpg", "image/png", len(png_bytes(5, 5)))]
    assert not msgs[1]["attachments"]
    # Downloads use Telegram's file path with its slash, as the API documents.
    assert all(p.startswith("photos/file_") for p in botapi.bot(TOKEN).downloads)
    assert tgkit.metric(node, "hub_telegram_files_fetched_late_total") == 1

    # A document that never comes: after every try the thread says so, and so is the user told.
    botapi.document(TOKEN, CHAT, PDF, "акт.pdf", caption="Акт", failing=None)
    lost = "📎 Файл «акт.pdf» не удалось получить из Telegram. Попросите клиента прислать его ещё раз."
    wait(lambda: lost in bodies(node, sup, conv["id"]), timeout=60, what="the word that the file is lost")
    got = bodies(node, sup, conv["id"])
    assert got[4] == "Акт\n\n📎 Файл «акт.pdf» ещё загружается из Telegram и появится здесь.", got
    botapi.wait_sent(TOKEN, CHAT, lambda m: "Не удалось получить файл «акт.pdf»" in m.get("text", ""),
                     what="the user told")
    assert tgkit.metric(node, "hub_telegram_files_lost_total") == 1
    assert tgkit.metric(node, "hub_telegram_updates_failed_total") == 0


def test_downloads_keep_names_in_any_script(hub_store, botapi: BotApi, new_context):
    """A file's name reaches the person who downloads it as it was (RFC 6266 filename*), whatever
    channel brought it: a Telegram user's document and an operator's own upload, downloaded in
    Chromium from the console's session."""
    node = tgkit.tg_node(hub_store(), botapi.url)
    connect_bot(node, TOKEN)
    sup = node.api.login(*hubnode.SUPERVISOR)
    botapi.document(TOKEN, CHAT, PDF, "счёт №5 (итог).pdf", caption="Счёт")
    conv = conversation_of(node, sup)
    msg = wait(lambda: next((m for m in visitor_messages(node, sup, conv["id"]) if m["attachments"]), None),
               what="the document")
    from_telegram = msg["attachments"][0]["id"]
    op = node.api.login(*hubnode.OPERATOR1)
    uploaded = tgkit.upload(node, op, "Договор «Весна» 2026.pdf", PDF)

    from ui import DESKTOP_VIEW, operator_sign_in
    page = new_context(**DESKTOP_VIEW).new_page()
    operator_sign_in(page, node, hubnode.OPERATOR1)
    for att_id, name in ((from_telegram, "счёт №5 (итог).pdf"), (uploaded, "Договор «Весна» 2026.pdf")):
        with page.expect_download() as download:
            page.evaluate("url => { const a = document.createElement('a'); a.href = url; "
                          "document.body.appendChild(a); a.click(); a.remove(); }", f"/api/attachments/{att_id}")
        assert download.value.suggested_filename == name
        with open(download.value.path(), "rb") as f:
            assert f.read() == PDF


def test_a_reply_that_never_arrives_is_marked_in_the_thread_and_the_list(hub_store, botapi: BotApi, new_context):
    """The user blocked the bot: the operator's reply is refused for good (403). The reply, the
    thread's timeline and the conversation in the console's list say so, in the console's
    language, by class; the next reply is tried on its own."""
    from playwright.sync_api import expect
    from test_contact_centre import conv_item
    from ui import DESKTOP_VIEW, operator_sign_in, screenshot

    node = tgkit.tg_node(hub_store(), botapi.url)
    connect_bot(node, TOKEN)
    op = tgkit.available(node)
    botapi.text(TOKEN, CHAT, "Ответьте, пожалуйста")
    conv = tgkit.offered(node, op)
    node.api.ok("POST", f"/api/conversations/{conv['id']}/accept", op)

    page = new_context(**DESKTOP_VIEW).new_page()
    operator_sign_in(page, node, hubnode.OPERATOR1)
    item = conv_item(page, conv["id"])
    expect(item).to_have_count(1)
    expect(item.get_by_test_id("conv-undelivered")).to_have_count(0)
    item.click()

    botapi.fail_next("sendMessage", 1, "blocked")
    sent = tgkit.reply(node, op, conv["id"], "Отвечаю, но вы меня заблокировали")
    thread = page.get_by_test_id("conv-thread")
    failed = thread.locator(f'[data-testid="conv-message"][data-message-id="{sent["id"]}"]')
    expect(failed).to_have_attribute("data-delivery", "failed")
    expect(failed.get_by_test_id("msg-undelivered")).to_have_text(" ·  Не доставлено")
    expect(failed.get_by_test_id("msg-undelivered").locator('svg[data-icon="warn"]')).to_have_count(1)
    event = thread.locator('[data-testid="conv-event"][data-kind="undelivered"]')
    expect(event).to_contain_text("Ответ не доставлен · клиент заблокировал бота")
    expect(item.get_by_test_id("conv-undelivered")).to_have_count(1)
    screenshot(page, "telegram-reply-undelivered")

    # Over the API too; the peer's own words are not what the thread says.
    d = tgkit.thread(node, op, conv["id"])
    assert [m["delivery"] for m in d["messages"] if m["id"] == sent["id"]] == ["failed"]
    assert [(e["kind"], e["detail"]) for e in d["timeline"] if e["kind"] == "undelivered"] == [("undelivered", "blocked")]
    assert d["conversation"]["undelivered"] == 1

    # The next reply goes out (the user unblocked the bot): it is marked sent, the mark stays for
    # the one that failed.
    ok = tgkit.reply(node, op, conv["id"], "Теперь дошло?")
    botapi.wait_sent(TOKEN, CHAT, lambda m: m.get("text") == "Теперь дошло?", what="the next reply")
    wait(lambda: [m["delivery"] for m in tgkit.thread(node, op, conv["id"])["messages"] if m["id"] == ok["id"]] == ["sent"],
         what="the next reply marked sent")
    expect(thread.locator(f'[data-testid="conv-message"][data-message-id="{ok["id"]}"] [data-testid="msg-undelivered"]')) \
        .to_have_count(0)

    # In English, the same marks read in English.
    page.locator('.lang-toggle button[data-lang="en"]').click()
    expect(failed.get_by_test_id("msg-undelivered")).to_have_text(" ·  Not delivered")
    expect(event).to_contain_text("A reply was not delivered · the customer blocked the bot")
    screenshot(page, "telegram-reply-undelivered-en")
    page.locator('.lang-toggle button[data-lang="ru"]').click()


def test_promised_notices_are_derived_from_the_store(hub_store, botapi: BotApi):
    """A visitor who took a ticket by bot was promised "go to window N", and a customer whose
    chat closes is asked for a rating. What is owed is read from the store, not from the bus
    alone: a call and a close the notifier never heard of (made while this node was down, as
    another node or a lagging bus would leave them) are still told."""
    import sqlite3

    from test_telegram import buttons, press

    store = hub_store()
    node = tgkit.tg_node(store, botapi.url)
    connect_bot(node, TOKEN)
    sup = node.api.login(*hubnode.SUPERVISOR)
    botapi.text(TOKEN, CHAT, "Здравствуйте")
    conv = conversation_of(node, sup)
    botapi.text(TOKEN, CHAT, "/ticket")
    menu = botapi.wait_sent(TOKEN, CHAT, lambda m: buttons(m), what="the branch menu")
    press(botapi, menu, "Центральный офис")
    services = botapi.wait_sent(TOKEN, CHAT, lambda m: "выберите услугу" in m.get("text", ""), what="services")
    press(botapi, services, "Частным лицам")
    inner = botapi.wait_sent(TOKEN, CHAT, lambda m: m is not services and "Консультация" in dict(buttons(m)),
                             what="the group's services")
    press(botapi, inner, "Консультация")
    taken = botapi.wait_sent(TOKEN, CHAT, lambda m: m.get("text", "").startswith("Ваш талон"), what="the ticket")
    number = taken["text"].split()[2]

    # The node is killed; meanwhile the ticket is called to window 1 and the chat is closed.
    node.kill()
    with sqlite3.connect(store.sqlite_path, timeout=10) as db:
        now = int(time.time() * 1000)
        (window,) = db.execute("SELECT id FROM windows WHERE label = '1' ORDER BY id LIMIT 1").fetchone()
        db.execute("UPDATE tickets SET status = 'called', called_at = ?, window_id = ? WHERE number = ?",
                   (now, window, number))
        db.execute("UPDATE conversations SET status = 'closed', closed_at = ? WHERE id = ?", (now, conv["id"]))
    node.start()
    botapi.wait_sent(TOKEN, CHAT, lambda m: m.get("text") == f"Талон {number}: пройдите к окну 1.", what="the call")
    botapi.wait_sent(TOKEN, CHAT, lambda m: "Оцените" in m.get("text", ""), what="the rating question")
    # Each once, though the store is read again every 5 s (a negative: it takes a wait past
    # the next reading).
    time.sleep(6)
    texts = [m.get("text", "") for m in botapi.sent_to(TOKEN, CHAT)]
    assert texts.count(f"Талон {number}: пройдите к окну 1.") == 1
    assert sum("Оцените" in x for x in texts) == 1
