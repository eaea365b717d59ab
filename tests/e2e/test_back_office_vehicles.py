"""The back office's vehicles, as an admin sets up a field service: a van with its driver and
speed limit, its tracker (the page says where to point it), a freezer unit's temperature sensor
opening requests for its site. A tracker id already taken is said beside its field; nothing from
the forms is ever markup."""
from __future__ import annotations

import time

from playwright.sync_api import expect

from test_back_office import back_office
from test_back_office_desk import added, sub
from ui import DESKTOP_VIEW, PHONE_VIEW, screenshot


def test_vehicles_trackers_and_sensors_in_the_back_office(hub, new_context):
    page = new_context(**DESKTOP_VIEW).new_page()
    back_office(page, hub)
    page.get_by_test_id("tab-desk").click()
    expect(page.locator("#panel-desk")).to_have_attribute("data-ready", "1")
    sub(page, "vehicles")
    # The demo's van and car are there already.
    expect(page.get_by_test_id("fl-vehicle").filter(has_text="Газель Ивана")).to_have_count(1)
    page.get_by_test_id("fl-name").fill("Газель <b>1</b>")
    page.get_by_test_id("fl-plate").fill("А123ВС77")
    page.get_by_test_id("fl-driver").select_option(label="Анна Петрова")
    page.get_by_test_id("fl-limit").fill("90")
    page.get_by_test_id("fl-form-submit").click()
    van = added(page, "fl-vehicle", "Газель <b>1</b>")
    expect(van).to_contain_text("Анна Петрова")
    expect(van).to_contain_text("90 км/ч")

    # OsmAnd reports to this hub's own address; the page says so.
    page.get_by_test_id("fl-protocol").select_option("osmand")
    expect(page.get_by_test_id("fl-endpoint")).to_contain_text(hub.url("/api/trackers/osmand"))
    page.get_by_test_id("fl-unique-id").fill("van-1")
    page.get_by_test_id("fl-tracker-form-submit").click()
    expect(van.get_by_test_id("fl-tracker")).to_contain_text("van-1")
    expect(van.get_by_test_id("fl-tracker")).to_contain_text("ещё не выходил на связь")
    # The same id again: said beside the field.
    page.get_by_test_id("fl-unique-id").fill("van-1")
    page.get_by_test_id("fl-tracker-form-submit").click()
    err = page.locator('#dk-form-fl-tracker-form [data-testid="field-error"][data-field="unique_id"]')
    expect(err).to_have_text("Трекер с таким идентификатором уже зарегистрирован.")
    # Teltonika's listener is off in this installation: the page says which setting turns it on.
    page.get_by_test_id("fl-protocol").select_option("teltonika")
    expect(page.get_by_test_id("fl-endpoint")).to_contain_text("trackers.teltonika_listen")

    # A report from the tracker: the back office shows it heard.
    status, body = hub.api.request("GET", "/api/trackers/osmand?id=van-1&lat=55.75&lon=37.6&speed=0")
    assert status == 200, body

    # A temperature sensor with a wrong threshold, then right.
    page.get_by_test_id("fl-sensor-name").fill("Холодильник")
    page.get_by_test_id("fl-sensor-reading").fill("72")
    page.get_by_test_id("fl-sensor-scale").fill("0,1")
    page.get_by_test_id("fl-sensor-threshold").fill("холодно")
    page.get_by_test_id("fl-sensor-form-submit").click()
    expect(page.locator('#dk-form-fl-sensor-form [data-testid="field-error"][data-field="threshold"]')).to_have_text(
        "Число, например -15 или 0,1.")
    page.get_by_test_id("fl-sensor-threshold").fill("-15")
    page.get_by_test_id("fl-sensor-form-submit").click()
    sensor = added(page, "fl-sensor", "Холодильник")
    expect(sensor).to_contain_text("72 выше -15 дольше 10 мин")
    expect(sensor).to_contain_text("только тревога")
    # The hub writes when trackers were heard every few seconds: wait for it, then look.
    admin = hub.api.login("admin", "demo-admin")
    deadline = time.monotonic() + 30
    while not any(d["last_seen_at"] for d in hub.api.ok("GET", "/api/admin/vehicles", admin)["devices"] if d["unique_id"] == "van-1"):
        assert time.monotonic() < deadline, "the tracker was never marked heard"
        time.sleep(0.2)
    page.reload()
    page.get_by_test_id("tab-desk").click()
    sub(page, "vehicles")
    expect(added(page, "fl-vehicle", "Газель <b>1</b>").get_by_test_id("fl-tracker")).to_contain_text("на связи")
    screenshot(page, "back_office_vehicles")
    page.locator('.lang-toggle button[data-lang="en"]').first.click()
    expect(page.get_by_test_id("fl-sensor").filter(has_text="Холодильник")).to_contain_text("72 above -15 for 10 min")
    screenshot(page, "back_office_vehicles_en")

    phone = new_context(**PHONE_VIEW).new_page()
    back_office(phone, hub)
    phone.get_by_test_id("tab-desk").click()
    sub(phone, "vehicles")
    expect(phone.get_by_test_id("fl-vehicle").filter(has_text="Газель <b>1</b>")).to_be_visible()
    screenshot(phone, "back_office_vehicles_phone")
