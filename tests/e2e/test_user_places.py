"""The windows an operator may sit at and the services they serve, set by an admin in the user's
dialog (issue #10: "services and windows they may take"): the console offers only those, the
server refuses the others in the operator's language, and a branch where nothing is listed
for them stays open to any window and service."""
from __future__ import annotations

from playwright.sync_api import expect

import hubnode
from test_back_office import back_office
from ui import DESKTOP_VIEW, screenshot


def test_an_operator_takes_only_the_windows_and_services_listed(hub, new_context):
    api = hub.api
    admin = api.login("admin", "demo-admin")
    ivan_id = next(u["id"] for u in api.ok("GET", "/api/admin/users", admin) if u["login"] == "operator2")

    page = new_context(**DESKTOP_VIEW).new_page()
    back_office(page, hub)
    page.get_by_test_id("tab-users").click()
    page.locator('[data-testid="user-row"][data-login="operator2"]').get_by_test_id("user-edit").click()
    dialog = page.get_by_test_id("user-dialog")
    place = dialog.locator(f'[data-testid="usr-place-branch"][data-branch-id="{hubnode.BRANCH}"]')
    expect(place.get_by_test_id("usr-window")).to_have_count(2)
    place.locator(f'[data-testid="usr-window"][value="{hubnode.WINDOW_2}"]').check()
    place.locator(f'[data-testid="usr-service-skill"][data-service-id="{hubnode.BUSINESSES}"]').select_option("4")
    screenshot(page, "user_places_dialog")
    page.get_by_test_id("usr-save").click()
    expect(dialog).to_be_hidden()
    ivan = next(u for u in api.ok("GET", "/api/admin/users", admin) if u["id"] == ivan_id)
    assert ivan["window_ids"] == [hubnode.WINDOW_2], ivan
    assert {"service_id": hubnode.BUSINESSES, "proficiency": 4} in ivan["skills"], ivan
    # The chat skills he had are kept beside the new one.
    assert len(ivan["skills"]) > 1, ivan

    # Opened again, the dialog shows what was saved.
    page.locator('[data-testid="user-row"][data-login="operator2"]').get_by_test_id("user-edit").click()
    expect(place.locator(f'[data-testid="usr-window"][value="{hubnode.WINDOW_2}"]')).to_be_checked()
    expect(place.locator(f'[data-testid="usr-window"][value="{hubnode.WINDOW_1}"]')).not_to_be_checked()
    expect(place.locator(f'[data-testid="usr-service-skill"][data-service-id="{hubnode.BUSINESSES}"]')).to_have_value("4")
    page.get_by_test_id("usr-close").click()

    # The server refuses another window or service, with a reason the page words.
    token = api.login(*hubnode.OPERATOR2)
    status, body = api.request("PUT", "/api/operator/place", token,
                               {"window_id": hubnode.WINDOW_1, "service_ids": [hubnode.BUSINESSES]})
    assert (status, body.get("reason")) == (409, "not_your_window"), body
    status, body = api.request("PUT", "/api/operator/place", token,
                               {"window_id": hubnode.WINDOW_2, "service_ids": [hubnode.CONSULTATION]})
    assert (status, body.get("reason")) == (409, "not_your_service"), body

    # His console offers window 2 and the one service, and he works there.
    op = new_context(**DESKTOP_VIEW).new_page()
    op.goto(hub.url("/operator"))
    op.get_by_test_id("login-input").fill(hubnode.OPERATOR2[0])
    op.get_by_test_id("password-input").fill(hubnode.OPERATOR2[1])
    op.get_by_test_id("login-submit").click()
    expect(op).to_have_url(hub.url("/operator"))
    options = op.get_by_test_id("window-select").locator("option")
    expect(options).to_have_count(2)  # "choose" and window 2
    expect(options.nth(1)).to_have_text("2")
    expect(op.get_by_test_id("service-checkbox")).to_have_count(1)
    expect(op.get_by_test_id("service-checkbox")).to_have_value(str(hubnode.BUSINESSES))
    op.get_by_test_id("window-select").select_option(str(hubnode.WINDOW_2))
    op.get_by_test_id("service-checkbox").check()
    op.get_by_test_id("start-work").click()
    expect(op.get_by_test_id("call-next")).to_be_enabled()
    screenshot(op, "user_places_console")

    # Nothing listed any more: every window and service again.
    api.ok("PATCH", f"/api/admin/users/{ivan_id}", admin, {"window_ids": []})
    skills = [s for s in ivan["skills"] if s["service_id"] != hubnode.BUSINESSES]
    api.ok("PUT", f"/api/admin/users/{ivan_id}/skills", admin, {"skills": skills})
    op.reload()
    expect(op.get_by_test_id("window-select").locator("option")).to_have_count(3)
    expect(op.get_by_test_id("service-checkbox")).to_have_count(len(hubnode.DEMO_SERVICES))


def test_who_is_called_for_a_service_widens_as_visitors_wait(hub, new_context):
    """A service's widening steps set in the back office: at first only the most skilled
    operators call its visitors, later anyone from the level of the step reached."""
    api = hub.api
    admin = api.login("admin", "demo-admin")
    page = new_context(**DESKTOP_VIEW).new_page()
    back_office(page, hub)
    page.get_by_test_id("tab-branch").click()
    item = page.locator(f'[data-testid="service-item"][data-service-id="{hubnode.CONSULTATION}"]')
    item.get_by_test_id("svc-steps-open").first.click()
    steps = item.get_by_test_id("svc-steps")
    expect(steps).to_be_visible()
    expect(steps.get_by_test_id("rt-step")).to_have_count(0)
    steps.get_by_test_id("rt-step-add").click()
    steps.get_by_test_id("rt-step-add").click()
    rows = steps.get_by_test_id("rt-step")
    rows.nth(1).get_by_test_id("rt-step-level").select_option("5")
    steps.get_by_test_id("svc-steps-save").click()
    expect(steps.get_by_test_id("field-error")).to_contain_text("не требуют позже большего уровня навыка")
    screenshot(page, "service_steps")
    rows.nth(1).get_by_test_id("rt-step-level").select_option("2")
    rows.nth(1).get_by_test_id("rt-step-after").fill("45")
    steps.get_by_test_id("svc-steps-save").click()
    expect(page.get_by_test_id("message")).to_have_text("Сохранено.")
    expect(steps).to_be_hidden()
    policy = api.ok("GET", f"/api/admin/services/{hubnode.CONSULTATION}/routing", admin)
    assert policy["steps"] == [{"after_secs": 0, "min_proficiency": 4}, {"after_secs": 45, "min_proficiency": 2}], policy
    # A fresh visitor waits for a level-4 operator: Иван (the default level, 3) calls nobody yet.
    kiosk = api.kiosk()
    api.issue(kiosk, hubnode.CONSULTATION)
    ivan = api.operator_at(hubnode.OPERATOR2, hubnode.WINDOW_2, [hubnode.CONSULTATION])
    status, body = api.request("POST", "/api/operator/call-next", ivan, {})
    assert status == 200 and body["ticket"] is None, body
