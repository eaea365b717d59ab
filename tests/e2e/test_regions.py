"""Regions: the tree an organisation files its branches in (issue #10, "organisations →
branches in a tree"). Made and nested in the back office, a branch filed in one, a region kept
from sitting inside itself, and taken away only once empty; each change in the audit log."""
from __future__ import annotations

from playwright.sync_api import expect

from test_back_office import back_office
from ui import DESKTOP_VIEW, PHONE_VIEW, screenshot


def region(page, name: str):
    return page.locator('[data-testid="region-item"]').filter(
        has=page.locator(":scope > .svc-line .svc-label", has_text=name))


def test_branches_are_filed_in_a_tree_of_regions(hub, new_context):
    api = hub.api
    admin = api.login("admin", "demo-admin")
    page = new_context(**DESKTOP_VIEW).new_page()
    back_office(page, hub)
    page.get_by_test_id("tab-branches").click()
    expect(page.locator("#regions-none")).to_be_visible()

    # Урал, and Екатеринбург inside it.
    page.get_by_test_id("rg-name").fill("Урал")
    page.get_by_test_id("rg-add").click()
    expect(page.get_by_test_id("message")).to_have_text("Регион «Урал» добавлен.")
    page.get_by_test_id("rg-name").fill("Екатеринбург")
    page.get_by_test_id("rg-parent").select_option(label="Урал")
    page.get_by_test_id("rg-add").click()
    expect(page.get_by_test_id("message")).to_have_text("Регион «Екатеринбург» добавлен.")
    expect(region(page, "Урал").locator("ul [data-testid=region-item]")).to_have_count(1)

    # The demo's branch filed in Екатеринбург (its form offers regions by their path).
    page.get_by_test_id("br-region").select_option(label="Урал / Екатеринбург")
    page.get_by_test_id("branch-save").click()
    expect(page.get_by_test_id("message")).to_have_text("Сохранено.")
    ekb = region(page, "Екатеринбург")
    expect(ekb.get_by_test_id("region-branches")).to_contain_text("Центральный офис")
    branch = api.ok("GET", "/api/admin/branches", admin)[0]
    regions = {r["name"]: r for r in api.ok("GET", "/api/admin/regions", admin)}
    assert branch["region_id"] == regions["Екатеринбург"]["id"], (branch, regions)
    assert regions["Екатеринбург"]["parent_id"] == regions["Урал"]["id"], regions

    # Урал cannot move inside Екатеринбург (its own sub-region is not even offered; the
    # server refuses it anyway), nor be taken away while something is filed in it.
    region(page, "Урал").get_by_test_id("rg-edit-open").first.click()
    options = page.get_by_test_id("rg-edit-parent").locator("option")
    expect(options).to_have_count(1)  # only "at the top"
    page.get_by_test_id("rg-edit-name").fill("Уральский округ")
    page.get_by_test_id("rg-edit-save").click()
    expect(page.get_by_test_id("message")).to_have_text("Сохранено.")
    status, body = api.request("PATCH", f"/api/admin/regions/{regions['Урал']['id']}", admin,
                               {"parent_id": regions["Екатеринбург"]["id"]})
    assert (status, body.get("field"), body.get("reason")) == (400, "parent_id", "region_cycle"), body
    region(page, "Уральский округ").get_by_test_id("rg-remove").first.click()
    expect(page.get_by_test_id("message")).to_have_text(
        "В нём отделения (0) или регионы (1): сначала перенесите их.")
    screenshot(page, "regions")

    # Emptied, then taken away: the branch first, then Екатеринбург, then the district.
    page.get_by_test_id("br-region").select_option("")
    page.get_by_test_id("branch-save").click()
    expect(page.get_by_test_id("message")).to_have_text("Сохранено.")
    region(page, "Екатеринбург").get_by_test_id("rg-remove").click()
    expect(page.get_by_test_id("message")).to_have_text("Регион «Екатеринбург» убран.")
    expect(region(page, "Екатеринбург")).to_have_count(0)
    region(page, "Уральский округ").get_by_test_id("rg-remove").click()
    expect(page.locator("#regions-none")).to_be_visible()
    log = api.ok("GET", "/api/admin/audit", admin)
    actions = [a["action"] for a in (log["entries"] if isinstance(log, dict) else log)]
    for a in ("region.create", "region.edit", "region.remove", "branch.edit"):
        assert a in actions, (a, actions)


def test_regions_at_phone_size_and_in_english(hub, new_context):
    api = hub.api
    admin = api.login("admin", "demo-admin")
    api.ok("POST", "/api/admin/regions", admin, {"name": "North-West"})
    page = new_context(**PHONE_VIEW).new_page()
    back_office(page, hub)
    page.get_by_test_id("tab-branches").click()
    page.evaluate("async () => (await import('/static/hub.js')).setLang('en')")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(region(page, "North-West")).to_be_visible()
    expect(page.get_by_test_id("br-region")).to_have_value("")
    expect(page.get_by_test_id("br-region").locator("option").first).to_have_text("— none —")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, width
    screenshot(page, "regions_phone")
