"""Board templates kept apart from the boards (issue #10, the back office's "board templates"):
a look saved under a name from one board's dialog, followed by another board, changed once for
both, refused under a name already taken, and removed with its boards keeping the look; each
step reaches the TVs at once and is in the audit log."""
from __future__ import annotations

from playwright.sync_api import expect

import hubnode
from test_back_office import back_office
from ui import BOARD_VIEW, DESKTOP_VIEW, board_sign_in, screenshot


def open_board(page, login: str) -> None:
    page.locator(f'[data-testid="device-row"][data-login="{login}"]').get_by_test_id("device-open").click()
    expect(page.get_by_test_id("device-dialog")).to_be_visible()


def test_a_template_is_named_followed_changed_and_removed(hub, new_context):
    api = hub.api
    admin = api.login("admin", "demo-admin")
    second = api.ok("POST", f"/api/admin/branches/{hubnode.BRANCH}/devices", admin,
                    {"kind": "board", "login": "hall-board-2", "name": "Табло у входа"})
    tv1 = new_context(**BOARD_VIEW).new_page()
    board_sign_in(tv1, hub, hubnode.BOARD)
    tv2 = new_context(**BOARD_VIEW).new_page()
    board_sign_in(tv2, hub, ("hall-board-2", second["secret"]))

    page = new_context(**DESKTOP_VIEW).new_page()
    page.on("dialog", lambda d: d.accept())
    back_office(page, hub)
    page.get_by_test_id("tab-devices").click()
    expect(page.locator("#templates-none")).to_be_visible()

    # 1. The hall board's look, kept as a template it follows.
    open_board(page, hubnode.BOARD[0])
    expect(page.get_by_test_id("look-template")).to_have_value("")
    page.get_by_test_id("look-banner").fill("Шаблон зала")
    page.get_by_test_id("look-template-name").fill("Зал")
    page.get_by_test_id("look-template-new").click()
    expect(page.get_by_test_id("message")).to_have_text("Шаблон «Зал» создан; это табло следует ему.")
    expect(page.get_by_test_id("look-template")).to_have_value(
        str(next(t["id"] for t in api.ok("GET", "/api/admin/board-templates", admin) if t["name"] == "Зал")))
    expect(tv1.get_by_test_id("board-banner")).to_have_text("Шаблон зала")
    # The same name again is refused beside the name.
    page.get_by_test_id("look-template-name").fill("Зал")
    page.get_by_test_id("look-template-new").click()
    expect(page.locator('#look-new-template [data-testid="field-error"][data-field="name"]')).to_have_text(
        "Шаблон «Зал» уже есть.")
    page.get_by_test_id("device-close").click()
    row = page.get_by_test_id("template-row")
    expect(row).to_have_count(1)
    hall_name = next(d["name"] for d in api.ok("GET", "/api/admin/devices", admin) if d["login"] == hubnode.BOARD[0])
    expect(row.get_by_test_id("template-boards")).to_have_text(hall_name)

    # 2. The second board follows it: the dialog shows the template's look, the TV takes it.
    open_board(page, "hall-board-2")
    page.get_by_test_id("look-template").select_option(label="Зал")
    expect(page.get_by_test_id("look-banner")).to_have_value("Шаблон зала")
    expect(page.get_by_test_id("look-template-note")).to_contain_text("(1)")
    screenshot(page, "board_template_dialog")
    page.get_by_test_id("look-save").click()
    expect(page.get_by_test_id("device-dialog")).to_be_hidden()
    expect(tv2.get_by_test_id("board-banner")).to_have_text("Шаблон зала")
    templates = api.ok("GET", "/api/admin/board-templates", admin)
    assert sorted(templates[0]["boards"]) == sorted([second["id"], api.ok("GET", "/api/me", api.device(*hubnode.BOARD))["device_id"]]), templates

    # 3. Changed once, from either board: both TVs show it.
    open_board(page, "hall-board-2")
    expect(page.get_by_test_id("look-template-note")).to_contain_text("(2)")
    page.get_by_test_id("look-banner").fill("Сегодня до 18:00")
    page.get_by_test_id("look-status").uncheck()
    page.get_by_test_id("look-save").click()
    expect(page.get_by_test_id("device-dialog")).to_be_hidden()
    for tv in (tv1, tv2):
        expect(tv.get_by_test_id("board-banner")).to_have_text("Сегодня до 18:00")
    screenshot(page, "board_templates")

    # 4. Removed: the boards keep the look as their own; nothing changes on the TVs.
    page.get_by_test_id("template-row").get_by_test_id("remove").click()
    expect(page.get_by_test_id("message")).to_have_text("Шаблон «Зал» удалён; его табло сохранили оформление как своё.")
    expect(page.locator("#templates-none")).to_be_visible()
    look = api.ok("GET", f"/api/admin/devices/{second['id']}/look", admin)
    assert (look["template_id"], look["look"]["banner"], look["look"]["status_column"]) == (None, "Сегодня до 18:00", False), look
    open_board(page, "hall-board-2")
    expect(page.get_by_test_id("look-template")).to_have_value("")
    expect(page.get_by_test_id("look-banner")).to_have_value("Сегодня до 18:00")
    page.get_by_test_id("device-close").click()
    expect(tv2.get_by_test_id("board-banner")).to_have_text("Сегодня до 18:00")

    # The audit log holds each step.
    log = api.ok("GET", "/api/admin/audit", admin)
    actions = [a["action"] for a in (log["entries"] if isinstance(log, dict) else log)]
    for a in ("board_template.create", "device.template", "board_template.edit", "board_template.remove"):
        assert a in actions, (a, actions)


def test_what_the_boards_say_is_set_per_language(hub, new_context):
    api = hub.api
    admin = api.login("admin", "demo-admin")
    page = new_context(**DESKTOP_VIEW).new_page()
    back_office(page, hub)
    page.get_by_test_id("tab-devices").click()
    ru = page.locator('[data-testid="phrase"][data-lang="ru"]')
    expect(ru.get_by_test_id("phrase-input")).to_have_value("Талон {ticket}, пройдите к окну {window}")
    expect(ru.get_by_test_id("phrase-reset")).to_have_count(0)
    # A placeholder the board cannot fill is refused beside the phrase, in the page's language.
    ru.get_by_test_id("phrase-input").fill("Талон {номер}, окно {window}")
    ru.get_by_test_id("phrase-save").click()
    expect(ru.get_by_test_id("field-error")).to_have_text("Табло не знает {номер}: во фразе бывают {ticket} и {window}.")
    ru.get_by_test_id("phrase-input").fill("Талон {ticket, окно {window}")
    ru.get_by_test_id("phrase-save").click()
    expect(ru.get_by_test_id("field-error")).to_have_text(
        "Напишите фразу с {ticket} и {window} в фигурных скобках, например «Талон {ticket}, окно {window}».")
    ru.get_by_test_id("phrase-input").fill("Посетитель с талоном {ticket}, подойдите к окну {window}")
    ru.get_by_test_id("phrase-save").click()
    expect(page.get_by_test_id("message")).to_have_text("Табло скажут так со следующего вызова.")
    phrases = {p["lang"]: p for p in api.ok("GET", "/api/admin/speech/templates", admin)}
    assert (phrases["ru"]["custom"], phrases["ru"]["template"]) == (
        True, "Посетитель с талоном {ticket}, подойдите к окну {window}"), phrases
    assert phrases["en"]["custom"] is False, phrases
    # Back to the built-in phrase.
    ru.get_by_test_id("phrase-reset").click()
    expect(ru.get_by_test_id("phrase-input")).to_have_value("Талон {ticket}, пройдите к окну {window}")
    assert api.ok("GET", "/api/admin/speech/templates", admin)[0]["custom"] is False
    log = api.ok("GET", "/api/admin/audit", admin)
    entries = log["entries"] if isinstance(log, dict) else log
    said = [a for a in entries if a["action"] == "speech_template.set"]
    assert len(said) == 2 and said[-1]["after"]["template"] == "Посетитель с талоном {ticket}, подойдите к окну {window}", said
