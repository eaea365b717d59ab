"""A branch set up from nothing in the back office, as its manager would, with no curl: the
branch (address, time zone, a week with a wrong day corrected, a holiday), its service and
window, an operator who works only there, a kiosk and a board paired by the codes their screens
show; then a visitor's ticket is issued at the new kiosk, called by the new operator and shown
on the new board. Holidays close the kiosk; the audit log holds every step (issue #10)."""
from __future__ import annotations

import datetime
import re
import zoneinfo

from playwright.sync_api import Page, expect

import hubnode
from test_back_office import back_office
from ui import BOARD_VIEW, DESKTOP_VIEW, KIOSK_VIEW, PHONE_VIEW, screenshot, wait_for

ZONE = "Asia/Yekaterinburg"
BRANCH_NAME = "Филиал на Садовой"


def field_error(page: Page, root: str, field: str):
    return page.locator(f'{root} [data-testid="field-error"][data-field="{field}"]')


def add_holiday(page: Page, date: str, note: str) -> None:
    page.get_by_test_id("holiday-add").click()
    row = page.get_by_test_id("holiday-row").last
    row.get_by_test_id("holiday-date").fill(date)
    row.get_by_test_id("holiday-note").fill(note)


def pair(page: Page, screen: Page) -> None:
    """Types the code the screen shows into the open pairing dialog of the back office."""
    code = screen.get_by_test_id("pair-code")
    expect(code).to_have_text(re.compile(r"^\d{3} \d{3}$"))
    dialog = page.get_by_test_id("device-dialog")
    expect(dialog).to_be_visible()
    page.get_by_test_id("pair-input").fill(code.inner_text())
    page.get_by_test_id("pair-submit").click()
    expect(dialog).to_be_hidden()


def test_a_branch_set_up_from_nothing_serves_its_first_visitor(hub, new_context):
    api = hub.api
    admin = api.login("admin", "demo-admin")
    page = new_context(**DESKTOP_VIEW).new_page()
    back_office(page, hub)

    # 1. The branch: a new one, its week, a holiday.
    page.get_by_test_id("tab-branches").click()
    page.get_by_test_id("branch-new").click()
    expect(page.locator("#branch-form-h")).to_have_text("Новое отделение")
    page.get_by_test_id("br-name").fill(BRANCH_NAME)
    page.get_by_test_id("br-address").fill("Екатеринбург, Садовая улица, 12")
    page.get_by_test_id("br-timezone").fill(ZONE)
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        page.get_by_test_id(f"week-open-{day}").set_checked(True)
        page.get_by_test_id(f"week-from-{day}").fill("00:00")
        page.get_by_test_id(f"week-to-{day}").fill("24:00")
    # A Tuesday closing before it opens is said beside Tuesday, in the page's language.
    page.get_by_test_id("week-from-tue").fill("18:00")
    page.get_by_test_id("week-to-tue").fill("09:00")
    page.get_by_test_id("branch-save").click()
    tue = field_error(page, "#week", "schedule.tue")
    expect(tue).to_have_text("Часы пишутся как 09:00–18:00, открытие раньше закрытия (18:00-09:00).")
    expect(page.get_by_test_id("week-from-tue")).to_have_attribute("aria-invalid", "true")
    assert not [b for b in api.ok("GET", "/api/admin/branches", admin) if b["name"] == BRANCH_NAME]
    page.get_by_test_id("week-from-tue").fill("00:00")
    page.get_by_test_id("week-to-tue").fill("24:00")
    # Today is a holiday (the kiosk is closed); a later one stays on the list.
    today = datetime.datetime.now(zoneinfo.ZoneInfo(ZONE)).date()
    later = today + datetime.timedelta(days=40)
    add_holiday(page, today.isoformat(), "Санитарный день")
    add_holiday(page, later.isoformat(), "День города")
    page.get_by_test_id("branch-save").click()
    expect(page.get_by_test_id("message")).to_have_text(
        f"Отделение «{BRANCH_NAME}» добавлено: теперь его услуги, окна и экраны.")
    branch = next(b for b in api.ok("GET", "/api/admin/branches", admin) if b["name"] == BRANCH_NAME)
    assert branch["timezone"] == ZONE
    assert branch["schedule"]["tue"] == "00:00-24:00"
    assert [h["date"] for h in branch["holidays"]] == [today.isoformat(), later.isoformat()]
    assert branch["open_now"] is False, "today is a holiday"
    # The same date twice is named beside the holidays.
    add_holiday(page, later.isoformat(), "")
    page.get_by_test_id("branch-save").click()
    expect(field_error(page, "#branch-form", "holidays")).to_have_text(f"Дата {later.isoformat()} указана дважды.")
    page.get_by_test_id("holiday-remove").last.click()
    # Today's holiday is cancelled: open again.
    page.get_by_test_id("holiday-row").first.get_by_test_id("holiday-remove").click()
    expect(page.get_by_test_id("holiday-row")).to_have_count(1)
    page.get_by_test_id("branch-save").click()
    expect(page.get_by_test_id("message")).to_have_text("Сохранено.")
    wait_for("the branch open again", lambda: next(
        b for b in api.ok("GET", "/api/admin/branches", admin) if b["id"] == branch["id"])["open_now"])
    screenshot(page, "new_branch_settings")

    # 2. Its service and window.
    page.get_by_test_id("tab-branch").click()
    page.get_by_test_id("branch-pick").select_option(str(branch["id"]))
    expect(page.locator("#services-none")).to_be_visible()
    page.get_by_test_id("svc-name-ru").fill("Справки")
    page.get_by_test_id("svc-name-en").fill("Certificates")
    page.get_by_test_id("svc-prefix").fill("S")
    page.get_by_test_id("svc-add").click()
    expect(page.get_by_test_id("service-item")).to_have_count(1)
    page.get_by_test_id("win-label").fill("1")
    page.get_by_test_id("win-add").click()
    expect(page.get_by_test_id("window-item")).to_have_count(1)

    # 3. An operator who works only there.
    page.get_by_test_id("tab-users").click()
    page.get_by_test_id("user-new").click()
    dialog = page.get_by_test_id("user-dialog")
    page.get_by_test_id("usr-name").fill("Ольга Смирнова")
    page.get_by_test_id("usr-login").fill("olga")
    page.get_by_test_id("usr-password").fill("short")
    page.get_by_test_id("usr-gender").select_option("f")
    dialog.locator(f'[data-testid="usr-branch"][value="{branch["id"]}"]').check()
    page.get_by_test_id("usr-save").click()
    expect(field_error(page, "#user-form", "password")).to_have_text("Пароль — от 12 до 256 символов.")
    page.get_by_test_id("usr-password").fill("olga-sadovaya-2026")
    page.get_by_test_id("usr-save").click()
    expect(dialog).to_be_hidden()
    olga_row = page.locator('[data-testid="user-row"][data-login="olga"]')
    expect(olga_row.get_by_test_id("user-branches")).to_have_text(BRANCH_NAME)

    # 4. A kiosk and a board, paired by the codes their screens show.
    page.get_by_test_id("tab-devices").click()
    kiosk = new_context(**KIOSK_VIEW).new_page()
    kiosk.goto(hub.url("/kiosk"))
    board = new_context(**BOARD_VIEW).new_page()
    board.goto(hub.url("/board"))
    for kind, name, login, screen in (("kiosk", "Киоск Садовая", "sadovaya-kiosk", kiosk),
                                      ("board", "Табло Садовая", "sadovaya-board", board)):
        page.get_by_test_id("dev-kind").select_option(kind)
        page.get_by_test_id("dev-branch").select_option(str(branch["id"]))
        page.get_by_test_id("dev-name").fill(name)
        page.get_by_test_id("dev-login").fill(login)
        page.get_by_test_id("dev-add").click()
        # Added, and straight to pairing.
        pair(page, screen)
    button = kiosk.get_by_test_id("service-button").filter(has_text="Справки")
    expect(button).to_be_visible()
    expect(board.get_by_test_id("board")).to_be_visible()
    expect(board.get_by_test_id("ws-status")).to_have_attribute("data-state", "live")

    # 5. The first visitor: a ticket at the kiosk, called by Ольга at window 1, on the board.
    button.tap()
    expect(kiosk.get_by_test_id("ticket-number")).to_have_text("S001")
    op = new_context(**DESKTOP_VIEW).new_page()
    op.goto(hub.url("/operator"))
    op.get_by_test_id("login-input").fill("olga")
    op.get_by_test_id("password-input").fill("olga-sadovaya-2026")
    op.get_by_test_id("login-submit").click()
    expect(op).to_have_url(hub.url("/operator"))
    # The demo branch is not hers: the server refuses a window there, with the reason.
    olga = api.login("olga", "olga-sadovaya-2026")
    status, body = api.request("PUT", "/api/operator/place", olga,
                               {"window_id": hubnode.WINDOW_2, "service_ids": [hubnode.CONSULTATION]})
    assert status == 409 and body["reason"] == "not_your_branch", (status, body)
    # Her console offers only her branch.
    expect(op.get_by_test_id("branch-select").locator("option")).to_have_count(1)
    expect(op.get_by_test_id("branch-select")).to_have_value(str(branch["id"]))
    expect(op.get_by_test_id("service-checkbox")).to_have_count(1)
    op.get_by_test_id("window-select").select_option(label="1")
    op.get_by_test_id("service-checkbox").check()
    op.get_by_test_id("start-work").click()
    expect(op.get_by_test_id("call-next")).to_be_enabled()
    op.get_by_test_id("call-next").click()
    expect(op.get_by_test_id("current-number")).to_have_text("S001")
    expect(board.get_by_test_id("board-number").first).to_have_text("S001")
    screenshot(board, "new_branch_board")

    # 6. The audit log holds each step.
    page.get_by_test_id("tab-audit").click()
    expect(page.get_by_test_id("audit-row").first).to_be_visible()
    actions = [r.get_attribute("data-action") for r in page.get_by_test_id("audit-row").all()]
    for a in ("branch.create", "branch.edit", "service.create", "window.create", "user.create",
              "device.create", "device.pair"):
        assert a in actions, (a, actions)
    screenshot(page, "new_branch_audit")


def test_a_branch_page_at_phone_size_and_in_english(hub, new_context):
    """The branch form fits a phone and speaks English when switched; a closed Sunday stays closed."""
    page = new_context(**PHONE_VIEW).new_page()
    back_office(page, hub)
    page.get_by_test_id("tab-branches").click()
    page.locator(".lang-toggle button[data-lang=en]").first.click()
    expect(page.locator("#branch-form-h")).to_have_text("Branch “Центральный офис”")
    expect(page.locator('#week tr[data-day="sun"] th')).to_have_text("Sunday")
    page.get_by_test_id("week-open-sun").set_checked(False)
    page.get_by_test_id("br-timezone").fill("Mars/Olympus")
    page.get_by_test_id("branch-save").click()
    expect(field_error(page, "#branch-form", "timezone")).to_have_text(
        "Unknown time zone “Mars/Olympus”: pick one from the list.")
    page.get_by_test_id("br-timezone").fill("Europe/Moscow")
    page.get_by_test_id("branch-save").click()
    expect(page.get_by_test_id("message")).to_have_text("Saved.")
    branch = hub.api.ok("GET", "/api/admin/branches", hub.api.login("admin", "demo-admin"))[0]
    assert "sun" not in branch["schedule"]
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"the page scrolls sideways on a phone: {width}px"
    screenshot(page, "branch_phone_en")


def test_services_and_windows_are_renamed_reordered_and_taken_off(hub, new_context):
    api = hub.api
    page = new_context(**DESKTOP_VIEW).new_page()
    back_office(page, hub)
    items = page.get_by_test_id("service-item")
    group = page.locator(f'[data-testid="service-item"][data-service-id="{hubnode.GROUP_INDIVIDUALS}"]')
    consultation = page.locator(f'[data-testid="service-item"][data-service-id="{hubnode.CONSULTATION}"]')
    payments = page.locator(f'[data-testid="service-item"][data-service-id="{hubnode.PAYMENTS}"]')
    expect(group.locator("ul > li").first).to_have_attribute("data-service-id", str(hubnode.CONSULTATION))
    # Payments first in the group, on the kiosk too.
    payments.get_by_test_id("svc-up").click()
    expect(group.locator("ul > li").first).to_have_attribute("data-service-id", str(hubnode.PAYMENTS))
    menu = api.ok("GET", f"/api/branches/{hubnode.BRANCH}", api.login("admin", "demo-admin"))["services"]
    order = [s["id"] for s in sorted(menu, key=lambda s: (s["position"], s["id"])) if s["parent_id"] == hubnode.GROUP_INDIVIDUALS]
    assert order == [hubnode.PAYMENTS, hubnode.CONSULTATION]
    # Renamed; an empty name is said beside its field.
    consultation.get_by_test_id("svc-rename").first.click()
    page.get_by_test_id("svc-edit-ru").fill("")
    page.get_by_test_id("svc-edit-save").click()
    expect(consultation.locator('[data-testid="field-error"][data-field="name_ru"]')).to_have_text("Заполните это поле.")
    page.get_by_test_id("svc-edit-ru").fill("Консультация юриста")
    page.get_by_test_id("svc-edit-save").click()
    expect(consultation).to_contain_text("Консультация юриста")
    # A group with services cannot go; a service someone waits for cannot go.
    page.on("dialog", lambda d: d.accept())
    group.get_by_test_id("svc-remove").first.click()
    expect(page.get_by_test_id("message")).to_have_text("В группе ещё есть услуги: сначала уберите их.")
    api.issue(api.kiosk(), hubnode.PAYMENTS)
    payments.get_by_test_id("svc-remove").click()
    expect(page.get_by_test_id("message")).to_have_text(
        "Её ждут или обслуживаются посетители (1): уберите, когда они закончат.")
    consultation.get_by_test_id("svc-remove").click()
    expect(page.get_by_test_id("message")).to_have_text("«Консультация юриста» убрана с киоска.")
    expect(consultation).to_have_count(0)
    # A kiosk still showing the old menu cannot take a ticket for it.
    status, _ = api.request("POST", "/api/kiosk/tickets", api.kiosk(), {"service_id": hubnode.CONSULTATION})
    assert status == 404, status
    # A window someone works at cannot go; an empty one can, and comes back when added again.
    api.operator_at(hubnode.OPERATOR1, hubnode.WINDOW_1, [hubnode.PAYMENTS])
    w1 = page.locator(f'[data-testid="window-item"][data-window-id="{hubnode.WINDOW_1}"]')
    w2 = page.locator(f'[data-testid="window-item"][data-window-id="{hubnode.WINDOW_2}"]')
    w1.get_by_test_id("win-remove").click()
    expect(page.get_by_test_id("message")).to_contain_text("За этим окном сейчас работает")
    w2.get_by_test_id("win-remove").click()
    expect(page.get_by_test_id("message")).to_have_text("Окно 2 убрано.")
    expect(w2).to_have_count(0)
    page.get_by_test_id("win-label").fill("2")
    page.get_by_test_id("win-add").click()
    expect(w2).to_have_count(1)
    assert items.count() >= 3
    screenshot(page, "back_office_menu_edit")
