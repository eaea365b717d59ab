"""The operator console: breaks and the language toggle."""
from __future__ import annotations

from playwright.sync_api import expect

import hubnode
from hubnode import CONSULTATION, WINDOW_2
from ui import PHONE_VIEW, operator_sign_in, operator_start_work


def test_operator_break_and_language(hub, new_context):
    page = new_context(**PHONE_VIEW).new_page()
    operator_sign_in(page, hub, hubnode.OPERATOR2)
    t = page.get_by_test_id
    presence = page.locator("#presence")

    # Before a workplace is chosen the console offers no work.
    expect(page.locator("#work")).to_be_hidden()
    expect(t("take-break")).to_be_hidden()

    operator_start_work(page, WINDOW_2, [CONSULTATION])
    expect(t("message")).to_have_text("Рабочее место сохранено: окно 2.")
    expect(presence).to_have_text("Принимаю")
    expect(t("call-next")).to_be_enabled()
    expect(t("take-break")).to_be_enabled()
    expect(t("back-to-work")).to_be_disabled()
    for idle in ("recall", "no-show", "start-service", "finish", "transfer"):
        expect(t(idle)).to_be_disabled()

    # A break needs a reason.
    t("take-break").click()
    expect(t("message")).to_have_attribute("data-kind", "error")
    expect(t("message")).to_have_text("Укажите причину перерыва.")
    expect(presence).to_have_text("Принимаю")

    t("break-reason").select_option("Обед")
    t("take-break").click()
    expect(presence).to_have_text("Перерыв: Обед")
    expect(presence).to_have_attribute("data-status", "break")
    expect(t("take-break")).to_be_disabled()
    expect(t("back-to-work")).to_be_enabled()
    expect(t("break-reason")).to_have_value("")
    # A break ends only by saying so: "call next" waits for "back to work".
    expect(t("call-next")).to_be_disabled()
    op = hub.api.login(*hubnode.OPERATOR2)
    state = hub.api.ok("GET", "/api/operator", op)["state"]
    assert state["presence"] == {"state": "break", "reason": "Обед"}, state

    # The break survives a reload of the page.
    page.reload()
    expect(presence).to_have_text("Перерыв: Обед")
    expect(t("back-to-work")).to_be_enabled()
    expect(t("window-select")).to_have_value(str(WINDOW_2))

    t("back-to-work").click()
    expect(presence).to_have_text("Принимаю")
    expect(presence).to_have_attribute("data-status", "available")
    expect(t("back-to-work")).to_be_disabled()
    expect(t("take-break")).to_be_enabled()
    expect(t("call-next")).to_be_enabled()

    # Nobody waiting: calling says so.
    t("call-next").click()
    expect(t("message")).to_have_text("Никто не ждёт.")
    expect(t("current-number")).to_have_text("")

    # The RU/EN toggle switches the visible labels to English and is remembered.
    expect(t("call-next")).to_have_text("Вызвать следующего")
    en = page.locator('.lang-toggle button[data-lang="en"]')
    en.click()
    expect(en).to_have_attribute("aria-pressed", "true")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(t("call-next")).to_have_text("Call next")
    expect(t("take-break")).to_have_text("Take a break")
    expect(presence).to_have_text("Available")
    expect(t("ws-status")).to_have_text("Live")
    expect(page.locator(f'[data-svc-name="{CONSULTATION}"]')).to_have_text("Consultation")
    expect(t("current-status")).to_have_text("No ticket in hand")
    page.reload()
    expect(t("call-next")).to_have_text("Call next")
    expect(presence).to_have_text("Available")
    page.locator('.lang-toggle button[data-lang="ru"]').click()
    expect(t("call-next")).to_have_text("Вызвать следующего")
