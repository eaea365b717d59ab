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
