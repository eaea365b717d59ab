"""The back office (issue #10): a new board paired by the code it shows (nobody types a secret
on a TV), its template set in a form that says what is wrong beside the field, a device and a
user disabled (out at once, open screens included), break reasons edited, and every change in
the audit log, readable and searchable."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

import hubnode
from hubnode import CONSULTATION, WINDOW_1
from test_contact_centre import user_sign_in
from ui import BOARD_VIEW, DESKTOP_VIEW, PHONE_VIEW, operator_sign_in, screenshot


def back_office(page: Page, hub) -> None:
    user_sign_in_no_ws(page, hub)
    expect(page.locator("#admin")).to_have_attribute("data-ready", "1")


def user_sign_in_no_ws(page: Page, hub) -> None:
    page.goto(hub.url("/admin"))
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fadmin$"))
    page.get_by_test_id("login-input").fill("admin")
    page.get_by_test_id("password-input").fill("demo-admin")
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(re.escape(hub.url("/admin")) + r"(#\w+)?$"))


def device_row(page: Page, login: str):
    return page.locator(f'[data-testid="device-row"][data-login="{login}"]')


def test_a_new_board_is_paired_by_its_code_set_up_and_disabled(hub, new_context):
    api = hub.api
    admin_token = api.login("admin", "demo-admin")
    board = api.ok("POST", f"/api/admin/branches/{hubnode.BRANCH}/devices", admin_token,
                   {"kind": "board", "login": "hall-tv-2", "name": "Зал, телевизор 2"})

    # The new TV opens /board: it shows a code, no form to type a secret into is needed.
    tv = new_context(**BOARD_VIEW).new_page()
    tv.goto(hub.url("/board"))
    code = tv.get_by_test_id("pair-code")
    expect(code).to_have_text(re.compile(r"^\d{3} \d{3}$"))
    screenshot(tv, "board_pairing_code")

    page = new_context(**DESKTOP_VIEW).new_page()
    back_office(page, hub)
    page.get_by_test_id("tab-devices").click()
    row = device_row(page, "hall-tv-2")
    expect(row).to_contain_text("Зал, телевизор 2")
    row.get_by_test_id("device-open").click()
    dialog = page.get_by_test_id("device-dialog")
    expect(dialog).to_be_visible()
    # A wrong code is said beside the field.
    page.get_by_test_id("pair-input").fill("000 000" if code.inner_text() != "000 000" else "111 111")
    page.get_by_test_id("pair-submit").click()
    err = dialog.locator('[data-testid="field-error"][data-field="code"]')
    expect(err).to_have_text("Код неверный или устарел: посмотрите на экран ещё раз.")
    expect(page.get_by_test_id("pair-input")).to_have_attribute("aria-invalid", "true")
    # The right one pairs the TV, which signs in as the new board at once.
    page.get_by_test_id("pair-input").fill(code.inner_text())
    page.get_by_test_id("pair-submit").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("message")).to_have_text("Экран подключён как «Зал, телевизор 2».")
    expect(tv.get_by_test_id("board")).to_be_visible()
    expect(tv.get_by_test_id("ws-status")).to_have_attribute("data-state", "live")

    # Its template: a wrong value is named beside its field; a right one reaches the TV at once.
    row.get_by_test_id("device-open").click()
    page.get_by_test_id("look-rows").fill("0")
    page.get_by_test_id("look-save").click()
    rows_err = dialog.locator('[data-testid="field-error"][data-field="rows"]')
    expect(rows_err).to_have_text("Должно быть от 1 до 20.")
    page.get_by_test_id("look-rows").fill("5")
    page.get_by_test_id("look-banner").fill("Приём документов до 19:00")
    # A quiet hall: the calls are shown and chimed, not spoken.
    expect(page.get_by_test_id("look-voice")).to_be_checked()
    page.get_by_test_id("look-voice").uncheck()
    # The hall's other board gets the same template.
    page.get_by_test_id("look-all").check()
    page.get_by_test_id("look-save").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("message")).to_have_text("Сохранено для табло: 2.")
    expect(tv.get_by_test_id("board-banner")).to_have_text("Приём документов до 19:00")
    devices = api.ok("GET", "/api/admin/devices", admin_token)
    listed = next(d for d in devices if d["id"] == board["id"])
    assert (listed["voice"], listed["chime"]) == (0, 1), listed
    hall = next(d for d in devices if d["login"] == hubnode.BOARD[0])
    other = api.ok("GET", f"/api/admin/devices/{hall['id']}/look", admin_token)["look"]
    assert (other["banner"], other["rows"]) == ("Приём документов до 19:00", 5), other

    # A ticket called at window 1 shows on the new board.
    op = api.operator_at(hubnode.OPERATOR1, WINDOW_1)
    issued = api.issue(api.kiosk(), CONSULTATION)["ticket"]
    api.call_next(op)
    expect(tv.get_by_test_id("board-number").first).to_have_text(issued["number"])

    # Disabled: the TV is out at once (its socket too) and back to its pairing code.
    row.get_by_test_id("device-toggle").click()
    expect(row.locator(".pill")).to_have_text("Отключено")
    expect(tv.get_by_test_id("board")).to_be_hidden()
    expect(tv.get_by_test_id("pair-code")).to_have_text(re.compile(r"^\d{3} \d{3}$"))
    status, _ = api.request("POST", "/api/auth/device", body={"login": "hall-tv-2", "secret": board["secret"]})
    assert status == 401, "a disabled device cannot sign in with its secret"
    # A disabled device cannot be paired either.
    status, _ = api.request("POST", f"/api/admin/devices/{board['id']}/pair", admin_token, {"code": "123456"})
    assert status == 404

    # The log has each change, newest first, by whom.
    page.get_by_test_id("tab-audit").click()
    rows = page.get_by_test_id("audit-row")
    expect(rows.first).to_have_attribute("data-action", "device.disable")
    expect(rows).to_have_count(6)
    actions = [r.get_attribute("data-action") for r in rows.all()]
    for a in ("device.disable", "device.voice", "device.look", "device.pair", "device.create"):
        assert a in actions, actions
    expect(rows.first).to_contain_text("Администратор")
    expect(rows.first).to_contain_text("Устройство отключено")
    look = page.locator('[data-testid="audit-row"][data-action="device.look"]').first
    expect(look).to_contain_text("Приём документов до 19:00")
    # The log never keeps a secret.
    text = page.locator("#audit").inner_text()
    assert board["secret"] not in text
    page.get_by_test_id("audit-q").fill("Приём документов")
    expect(rows).to_have_count(2)  # the board's template, and the same for the hall's other board
    screenshot(page, "back_office_audit")


def test_users_and_break_reasons_in_the_back_office(hub, new_context):
    api = hub.api
    operator = new_context(**DESKTOP_VIEW).new_page()
    operator_sign_in(operator, hub, hubnode.OPERATOR2)

    page = new_context(**PHONE_VIEW).new_page()
    back_office(page, hub)
    page.get_by_test_id("tab-users").click()
    page.get_by_test_id("users-filter").fill("иван")
    rows = page.get_by_test_id("user-row")
    expect(rows).to_have_count(1)
    ivan = rows.first
    # A new password: too short is said beside the field; a right one ends his sessions.
    ivan.get_by_test_id("user-reset").click()
    ivan.get_by_test_id("user-password").fill("short")
    ivan.get_by_test_id("user-password-save").click()
    expect(ivan.locator('[data-testid="field-error"][data-field="password"]')).to_have_text("Пароль — от 12 до 256 символов.")
    ivan.get_by_test_id("user-password").fill("новый-пароль-ивана")
    ivan.get_by_test_id("user-password-save").click()
    expect(page.get_by_test_id("message")).to_contain_text("пароль задан")
    api.login("operator2", "новый-пароль-ивана")
    # Disabled: out at once, his open console included.
    page.get_by_test_id("user-row").first.get_by_test_id("user-toggle").click()
    expect(page.get_by_test_id("user-row").first.locator(".pill")).to_have_text("Отключено")
    expect(operator).to_have_url(re.compile(r"/login"))
    status, _ = api.request("POST", "/api/auth/login", body={"login": "operator2", "password": "новый-пароль-ивана"})
    assert status == 401
    # Nothing of the page is wider than a phone.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390

    # Break reasons: one per line; the same one twice is said beside the field.
    page.get_by_test_id("tab-breaks").click()
    text = page.get_by_test_id("breaks-text")
    expect(text).to_have_value("Обед\nТехнический перерыв\nЛичное время\nОбучение")
    text.fill("Обед\nСовещание\nобед")
    page.get_by_test_id("breaks-save").click()
    expect(page.locator('#panel-breaks [data-testid="field-error"]')).to_have_text("«обед» указано дважды.")
    text.fill("Обед\nСовещание")
    page.get_by_test_id("breaks-save").click()
    expect(page.get_by_test_id("message")).to_have_text("Сохранено.")
    assert api.ok("GET", "/api/break-reasons", api.login("admin", "demo-admin")) == ["Обед", "Совещание"]
    page.get_by_test_id("tab-audit").click()
    expect(page.get_by_test_id("audit-row").first).to_have_attribute("data-action", "break_reasons.set")
    actions = [r.get_attribute("data-action") for r in page.get_by_test_id("audit-row").all()]
    for a in ("break_reasons.set", "user.disable", "user.reset_password"):
        assert a in actions, actions
    screenshot(page, "back_office_phone")


def test_back_office_is_for_admins(hub, new_context):
    page = new_context(**DESKTOP_VIEW).new_page()
    user_sign_in(page, hub, "/supervisor", hubnode.SUPERVISOR)
    page.goto(hub.url("/admin"))
    expect(page.get_by_test_id("message")).to_have_text("Бэк-офис — для администраторов.")
    expect(page.locator("#admin")).to_have_attribute("data-ready", "0")


def test_a_newcomer_adds_a_service_and_a_window_and_the_kiosk_shows_it(hub, new_context):
    """README's first steps: a service added in the back office is on the kiosk, no curl."""
    from ui import KIOSK_VIEW, kiosk_sign_in
    page = new_context(**DESKTOP_VIEW).new_page()
    back_office(page, hub)
    expect(page.get_by_test_id("services")).to_contain_text("Консультация")
    # A prefix another service has is said beside the field.
    page.get_by_test_id("svc-name-ru").fill("Справки")
    page.get_by_test_id("svc-name-en").fill("Certificates")
    page.get_by_test_id("svc-prefix").fill("A")
    page.get_by_test_id("svc-add").click()
    expect(page.locator('#service-form [data-field="prefix"]')).to_have_text("Префикс A уже у другой услуги этого отделения.")
    expect(page.get_by_test_id("svc-prefix")).to_have_attribute("aria-invalid", "true")
    # A name is needed in both languages.
    page.get_by_test_id("svc-name-en").fill("")
    page.get_by_test_id("svc-prefix").fill("D")
    page.get_by_test_id("svc-add").click()
    expect(page.locator('#service-form [data-field="name_en"]')).to_have_text("Заполните это поле.")
    page.get_by_test_id("svc-name-en").fill("Certificates")
    page.get_by_test_id("svc-add").click()
    expect(page.get_by_test_id("message")).to_have_text("«Справки» уже на киоске.")
    item = page.get_by_test_id("service-item").filter(has_text="Справки")
    expect(item).to_contain_text("D")
    # A window; the same label twice is said beside it.
    page.get_by_test_id("win-label").fill("5")
    page.get_by_test_id("win-add").click()
    expect(page.get_by_test_id("window-item").filter(has_text="Окно 5")).to_have_count(1)
    page.get_by_test_id("win-label").fill("5")
    page.get_by_test_id("win-add").click()
    expect(page.locator('#window-form [data-field="label"]')).to_have_text("Окно 5 в этом отделении уже есть.")

    kiosk = new_context(**KIOSK_VIEW).new_page()
    kiosk_sign_in(kiosk, hub, hubnode.KIOSK)
    button = kiosk.get_by_test_id("service-button").filter(has_text="Справки")
    expect(button).to_be_visible()
    button.tap()
    expect(kiosk.get_by_test_id("ticket-number")).to_have_text("D001")

    page.get_by_test_id("tab-audit").click()
    expect(page.get_by_test_id("audit-row").first).to_have_attribute("data-action", "window.create")
    actions = [r.get_attribute("data-action") for r in page.get_by_test_id("audit-row").all()]
    assert "service.create" in actions, actions
    screenshot(page, "back_office_services")


def test_every_back_office_section_fits_a_phone(hub, new_context):
    """Every section at phone size: nothing pushes the page sideways (wide tables scroll in
    their own box), in both languages."""
    page = new_context(**PHONE_VIEW).new_page()
    back_office(page, hub)
    wide = []
    for lang in ("ru", "en"):
        page.evaluate(f"async () => (await import('/static/hub.js')).setLang('{lang}')")
        for tab in ("branches", "branch", "devices", "users", "chats", "channels", "phones", "desk", "breaks", "audit"):
            page.get_by_test_id(f"tab-{tab}").click()
            expect(page.locator(f"#panel-{tab}")).to_be_visible()
            width = page.evaluate("() => document.documentElement.scrollWidth")
            if width > 391:
                wide.append(f"{tab} [{lang}]: {width}px")
    page.get_by_test_id("tab-users").click()
    page.get_by_test_id("user-new").click()
    expect(page.get_by_test_id("user-dialog")).to_be_visible()
    box = page.get_by_test_id("user-dialog").bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 391, box
    screenshot(page, "back_office_user_dialog_phone")
    assert not wide, "sections wider than a phone: " + ", ".join(wide)


def test_long_lists_are_paged(hub, new_context):
    """An organisation with many people: the users' list shows fifty at a time with where one is
    ("1–50 из 63") and turns page by page; a filter starts again from its first page; a list that
    fits one page shows no pager."""
    api = hub.api
    admin = api.login("admin", "demo-admin")
    for i in range(55):
        api.ok("POST", "/api/admin/users", admin, {
            "login": f"shift-{i:02}", "name": f"Сменный сотрудник {i:02}", "role": "operator",
            "password": f"shift-password-{i:02}"})
    total = len(api.ok("GET", "/api/admin/users", admin))
    assert 55 < total <= 100, total

    page = new_context(**DESKTOP_VIEW).new_page()
    back_office(page, hub)
    page.get_by_test_id("tab-users").click()
    rows = page.get_by_test_id("user-row")
    pages = page.get_by_test_id("users-pages")
    expect(rows).to_have_count(50)
    expect(pages.get_by_test_id("page-range")).to_have_text(f"1–50 из {total}")
    expect(pages.get_by_test_id("page-prev")).to_be_disabled()
    pages.get_by_test_id("page-next").click()
    expect(rows).to_have_count(total - 50)
    expect(pages.get_by_test_id("page-range")).to_have_text(f"51–{total} из {total}")
    expect(pages.get_by_test_id("page-next")).to_be_disabled()
    screenshot(page, "back_office_users_paged")

    # A filter shows its matches from the first page; 55 matches are two pages again.
    page.get_by_test_id("users-filter").fill("сменный")
    expect(rows).to_have_count(50)
    expect(pages.get_by_test_id("page-range")).to_have_text("1–50 из 55")
    page.get_by_test_id("users-filter").fill("сменный сотрудник 5")
    expect(rows).to_have_count(5)
    expect(pages).to_be_hidden()
    page.evaluate("async () => (await import('/static/hub.js')).setLang('en')")
    page.get_by_test_id("users-filter").fill("")
    expect(pages.get_by_test_id("page-range")).to_have_text(f"1–50 of {total}")
