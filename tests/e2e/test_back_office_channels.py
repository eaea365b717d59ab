"""The back office's channel sections (issue #10), clicked through as an admin would: a chat
queue with its routing and a widget key, the organisation's canned replies, an operator's chat
skills, a Telegram bot and a mailbox connected and paused, and telephony (a trunk, a number with
its menu, a desk phone, a VIP caller). Each wrong value is said beside its field in the page's
language; each change reaches the API the other pages use."""
from __future__ import annotations

from playwright.sync_api import Page, expect

import hubnode
import tgkit
from test_back_office import back_office
from ui import DESKTOP_VIEW, PHONE_VIEW, screenshot


def err(page: Page, form: str, field: str):
    return page.locator(f'#{form} [data-testid="field-error"][data-field="{field}"]')


def test_chat_queues_canned_replies_and_skills(hub, new_context):
    api = hub.api
    admin = api.login("admin", "demo-admin")
    page = new_context(**DESKTOP_VIEW).new_page()
    back_office(page, hub)
    page.get_by_test_id("tab-chats").click()
    expect(page.get_by_test_id("queue-row")).to_have_count(2)

    # A queue: a bad widget key is said beside it.
    page.get_by_test_id("q-name").fill("Поддержка VIP")
    page.get_by_test_id("q-strategy").select_option("skills")
    page.get_by_test_id("q-widget").fill("bad key!")
    page.get_by_test_id("q-add").click()
    expect(err(page, "queue-form", "widget_key")).to_have_text("От 1 до 64 латинских букв, цифр, - или _.")
    page.get_by_test_id("q-widget").fill("vip-site")
    page.get_by_test_id("q-add").click()
    expect(page.get_by_test_id("message")).to_have_text("Очередь «Поддержка VIP» добавлена: дайте операторам навык.")
    row = page.get_by_test_id("queue-row").filter(has_text="Поддержка VIP")
    expect(row).to_contain_text("Самому опытному")
    queue = next(q for q in api.ok("GET", "/api/admin/chat-queues", admin) if q["name"] == "Поддержка VIP")

    # Its routing: seconds to accept out of range, then right; its steps are kept.
    row.get_by_test_id("queue-routing").click()
    page.get_by_test_id("rt-offer").fill("3")
    page.get_by_test_id("rt-save").click()
    expect(err(page, "routing-form", "offer_secs")).to_have_text("Должно быть от 5 до 600.")
    page.get_by_test_id("rt-offer").fill("45")
    page.get_by_test_id("rt-save").click()
    expect(page.get_by_test_id("message")).to_have_text("Сохранено.")
    expect(row).to_contain_text("45")
    after = next(q for q in api.ok("GET", "/api/admin/chat-queues", admin) if q["id"] == queue["id"])
    assert (after["offer_secs"], after["steps"]) == (45, queue["steps"]), after

    # Its widening steps: two that narrow instead of widening are refused beside them; then
    # level 4 from the start and anyone from level 2 after 30 s.
    row.get_by_test_id("queue-routing").click()
    expect(page.get_by_test_id("rt-step")).to_have_count(len(queue["steps"]))
    page.get_by_test_id("rt-step-add").click()
    page.get_by_test_id("rt-step-add").click()
    steps = page.get_by_test_id("rt-step")
    expect(steps).to_have_count(len(queue["steps"]) + 2)
    steps.nth(0).get_by_test_id("rt-step-after").fill("0")
    steps.nth(0).get_by_test_id("rt-step-level").select_option("2")
    steps.nth(1).get_by_test_id("rt-step-after").fill("30")
    steps.nth(1).get_by_test_id("rt-step-level").select_option("4")
    page.get_by_test_id("rt-save").click()
    expect(err(page, "routing-form", "steps")).to_contain_text("не требуют позже большего уровня навыка")
    steps.nth(0).get_by_test_id("rt-step-level").select_option("4")
    steps.nth(1).get_by_test_id("rt-step-level").select_option("2")
    page.get_by_test_id("rt-save").click()
    # "Сохранено." may still be the last save's line: the queue's own steps are the state to wait for.
    want = [{"after_secs": 0, "min_proficiency": 4}, {"after_secs": 30, "min_proficiency": 2}]
    tgkit.wait(lambda: next(q for q in api.ok("GET", "/api/admin/chat-queues", admin)
                            if q["id"] == queue["id"])["steps"] == want, timeout=10, what="the steps saved")
    expect(page.get_by_test_id("message")).to_have_text("Сохранено.")

    # A canned reply for everyone; the same shortcut twice is said beside it.
    page.get_by_test_id("cn-shortcut").fill("bye")
    page.get_by_test_id("cn-title").fill("Прощание")
    page.get_by_test_id("cn-body").fill("До свидания! Хорошего дня.")
    page.get_by_test_id("cn-add").click()
    expect(page.get_by_test_id("canned-row").filter(has_text="/bye")).to_have_count(1)
    page.get_by_test_id("cn-shortcut").fill("bye")
    page.get_by_test_id("cn-body").fill("Ещё раз")
    page.get_by_test_id("cn-add").click()
    expect(err(page, "canned-form", "shortcut")).to_have_text("Сокращение /bye уже занято.")
    operator = api.login(*hubnode.OPERATOR1)
    assert any(c["shortcut"] == "bye" for c in api.ok("GET", "/api/canned", operator))
    page.get_by_test_id("canned-row").filter(has_text="/bye").get_by_test_id("remove").click()
    expect(page.get_by_test_id("canned-row").filter(has_text="/bye")).to_have_count(0)
    screenshot(page, "back_office_chats")

    # Анна takes the new queue at level 4; her other skills stay.
    before = next(u for u in api.ok("GET", "/api/admin/users", admin) if u["login"] == hubnode.OPERATOR1[0])
    page.get_by_test_id("tab-users").click()
    page.locator(f'[data-testid="user-row"][data-login="{hubnode.OPERATOR1[0]}"]').get_by_test_id("user-edit").click()
    page.locator(f'[data-testid="usr-skill"][data-queue-id="{queue["id"]}"]').select_option("4")
    page.get_by_test_id("usr-save").click()
    expect(page.get_by_test_id("user-dialog")).to_be_hidden()
    anna = next(u for u in api.ok("GET", "/api/admin/users", admin) if u["login"] == hubnode.OPERATOR1[0])
    assert {"service_id": queue["id"], "proficiency": 4} in anna["skills"], anna
    assert all(s in anna["skills"] for s in before["skills"]), (before, anna)


def test_telegram_bots_and_mailboxes(hub, new_context):
    api = hub.api
    admin = api.login("admin", "demo-admin")
    page = new_context(**DESKTOP_VIEW).new_page()
    back_office(page, hub)
    page.get_by_test_id("tab-channels").click()
    expect(page.locator("#bots-none")).to_be_visible()

    # A bot: a token that is not one is said beside it; the secret field shows for webhooks only.
    expect(page.get_by_test_id("bot-secret")).to_be_hidden()
    page.get_by_test_id("bot-mode").select_option("webhook")
    expect(page.get_by_test_id("bot-secret")).to_be_visible()
    page.get_by_test_id("bot-mode").select_option("polling")
    page.get_by_test_id("bot-token").fill("not-a-token")
    page.get_by_test_id("bot-add").click()
    expect(err(page, "bot-form", "token")).to_have_text("Это не токен бота: скопируйте его у @BotFather (123456789:AA…).")
    page.get_by_test_id("bot-token").fill("123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw")
    page.get_by_test_id("bot-add").click()
    expect(page.get_by_test_id("message")).to_have_text("Бот подключён: напишите ему в Telegram.")
    bot = page.get_by_test_id("bot-row")
    expect(bot).to_have_count(1)
    expect(bot).to_contain_text("Чат на сайте")
    # The token is never shown again, on the page or by the API.
    assert "AAHdqTcv" not in page.content()
    assert "AAHdqTcv" not in str(api.ok("GET", "/api/admin/telegram/bots", admin))
    bot.get_by_test_id("bot-toggle").click()
    expect(bot.locator(".pill")).to_have_text("Приостановлен")

    # A mailbox: an address that is not one, an internal server, then a right one.
    page.get_by_test_id("mb-address").fill("support")
    page.get_by_test_id("mb-add").click()
    expect(err(page, "mailbox-form", "address")).to_have_text("support — не адрес электронной почты.")
    page.get_by_test_id("mb-address").fill("support@shop.example")
    page.get_by_test_id("mb-imap").fill("imaps://support:secret@10.1.2.3:993")
    page.get_by_test_id("mb-add").click()
    expect(err(page, "mailbox-form", "imap_url")).to_have_text(
        "Внутренний адрес, к которому хабу нельзя подключаться (настройка egress_allow).")
    page.get_by_test_id("mb-imap").fill("imaps://support:secret@imap.shop.example:993")
    page.get_by_test_id("mb-name").fill("Магазин")
    page.get_by_test_id("mb-add").click()
    expect(page.get_by_test_id("message")).to_have_text("support@shop.example подключён.")
    mailbox = page.get_by_test_id("mailbox-row")
    expect(mailbox).to_contain_text("Магазин")
    assert "secret" not in str(api.ok("GET", "/api/admin/mailboxes", admin)), "credentials are never shown"
    mailbox.get_by_test_id("mailbox-toggle").click()
    expect(mailbox.locator(".pill")).to_have_text("Приостановлен")
    screenshot(page, "back_office_channels")

    # The log words each change; nothing of the token is in it.
    page.get_by_test_id("tab-audit").click()
    expect(page.locator('[data-testid="audit-row"][data-action="telegram_bot.create"]')).to_contain_text(
        "Подключён бот Telegram")
    expect(page.locator('[data-testid="audit-row"][data-action="mailbox.create"]')).to_contain_text(
        "Добавлен почтовый ящик")
    assert "AAHdqTcv" not in page.locator("#audit").inner_text()


def test_telephony_in_the_back_office(hub, new_context):
    api = hub.api
    admin = api.login("admin", "demo-admin")
    page = new_context(**DESKTOP_VIEW).new_page()
    back_office(page, hub)
    page.get_by_test_id("tab-phones").click()
    expect(page.get_by_test_id("number-row")).to_have_count(1)  # the demo's 8800

    # A trunk: a domain with a port is said beside it.
    page.get_by_test_id("tr-name").fill("Провайдер")
    page.get_by_test_id("tr-domain").fill("sip.provider.example:5060")
    page.get_by_test_id("tr-proxies").fill("sip.provider.example:5060")
    page.get_by_test_id("tr-username").fill("74951234567")
    page.get_by_test_id("tr-password").fill("trunk-secret")
    page.get_by_test_id("tr-register").uncheck()
    page.get_by_test_id("tr-add").click()
    expect(err(page, "trunk-form", "domain")).to_have_text("Имя сервера без порта.")
    page.get_by_test_id("tr-domain").fill("sip.provider.example")
    page.get_by_test_id("tr-add").click()
    expect(page.get_by_test_id("trunk-row")).to_contain_text("Провайдер")

    # A number with a menu: key 0 is voicemail's.
    page.get_by_test_id("nm-number").fill("74951234567")
    page.get_by_test_id("nm-greeting").fill("Здравствуйте! Это магазин.")
    page.get_by_test_id("nm-prompt").fill("Заказы — нажмите 1.")
    page.get_by_test_id("nm-queue").select_option(label="Горячая линия")
    page.get_by_test_id("nm-trunk").select_option(label="Провайдер")
    page.get_by_test_id("nm-choice-add").click()
    page.get_by_test_id("nm-choice-key").fill("0")
    page.get_by_test_id("nm-choice-queue").select_option(label="Чат на сайте")
    page.get_by_test_id("nm-add").click()
    expect(err(page, "number-form", "choices")).to_have_text("Клавиша 0 занята голосовой почтой.")
    page.get_by_test_id("nm-choice-key").fill("1")
    page.get_by_test_id("nm-add").click()
    expect(page.get_by_test_id("message")).to_have_text("74951234567 принимает звонки.")
    number = page.get_by_test_id("number-row").filter(has_text="74951234567")
    expect(number).to_contain_text("1 → Чат на сайте")
    expect(number).to_contain_text("Провайдер")

    # A desk phone for Иван: a short password is said beside it.
    ivan = next(u for u in api.ok("GET", "/api/admin/users", admin) if u["login"] == hubnode.OPERATOR2[0])
    page.get_by_test_id("ac-user").select_option(str(ivan["id"]))
    page.get_by_test_id("ac-username").fill("1099")
    page.get_by_test_id("ac-password").fill("short")
    page.get_by_test_id("ac-save").click()
    expect(err(page, "account-form", "password")).to_have_text("Пароль — от 10 до 128 символов.")
    page.get_by_test_id("ac-password").fill("desk-phone-1099")
    page.get_by_test_id("ac-save").click()
    expect(page.get_by_test_id("account-row").filter(has_text="1099")).to_contain_text("Иван Смирнов")

    # A VIP caller.
    page.get_by_test_id("vip-number").fill("not a number")
    page.get_by_test_id("vip-add").click()
    expect(err(page, "vip-form", "number")).to_have_text("«not a number» — не номер телефона.")
    page.get_by_test_id("vip-number").fill("+7 495 765-43-21")
    page.get_by_test_id("vip-note").fill("Директор")
    page.get_by_test_id("vip-add").click()
    expect(page.get_by_test_id("vip-row")).to_contain_text("Директор")
    screenshot(page, "back_office_phones")

    # The same page at phone size: nothing pushes it sideways.
    phone = new_context(**PHONE_VIEW).new_page()
    back_office(phone, hub)
    phone.get_by_test_id("tab-phones").click()
    expect(phone.get_by_test_id("vip-row")).to_have_count(1)
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 391, f"the page scrolls sideways on a phone: {width}px"
    screenshot(phone, "back_office_phones_phone")
