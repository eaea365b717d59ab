"""An engineer's day on the map, for the dispatcher: Анна has four requests at shops along a
street east of where her van stands; the map proposes the order (deadlines first, then the least
driving), shows when she would be at each, numbers them on the map; the dispatcher moves one
down, the order is saved and the times worked out again; the proposal can be taken back. A
request assigned meanwhile joins the plan live. Анна sees her day in that order on her phone."""
from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect

import hubnode
import tgkit
from test_map import report, sign_in, tiles  # noqa: F401 (the fixture)
from test_service_desk import desk_sign_in, set_up_desk
from ui import DESKTOP_VIEW, PHONE_VIEW, screenshot


def shown_order(page: Page) -> list[int]:
    return [int(x) for x in page.get_by_test_id("plan-stop").evaluate_all("els => els.map(e => e.dataset.request)")]


def test_the_dispatcher_sees_the_proposed_order_and_reorders_it(hub_store, new_context, tiles):  # noqa: F811
    store = hub_store()
    store.extra_env["HUB_MAP_TILES"] = tiles.url + "/{z}/{x}/{y}.png"
    node = store.start()
    api = node.api
    admin = api.login(*tgkit.ADMIN)
    d = set_up_desk(node, admin, tgkit.chat_queue(api, admin))
    site = lambda name, lon: api.ok("POST", "/api/admin/desk/sites", admin,  # noqa: E731
                                    {"name": name, "lon": lon, "lat": 55.76, "counterparty_id": d["romashka"]}, want=201)["id"]
    sites = {37.61: d["tverskaya"], 37.63: site("Склад <на Покровке>", 37.63), 37.66: site("Офис на Таганке", 37.66),
             37.70: site("Магазин в Лефортово", 37.70)}
    van = api.ok("POST", "/api/admin/vehicles", admin, {"name": "Газель Анны", "driver_id": d["op1"]}, want=201)
    api.ok("POST", "/api/admin/trackers", admin, {"protocol": "osmand", "unique_id": "van-plan", "vehicle_id": van["id"]}, want=201)
    report(node, "van-plan", 55.76, 37.60, 0, int(time.time() * 1000) - 5_000)

    sup = api.login(*hubnode.SUPERVISOR)
    by_lon = {}
    for lon in (37.70, 37.61, 37.66, 37.63):
        r = api.ok("POST", "/api/desk/requests", sup, {"type_id": d["incident"], "subject": f"Выезд {lon}", "site_id": sites[lon]},
                   want=201)
        api.ok("POST", f"/api/desk/requests/{r['id']}/assign", sup, {"user_id": d["op1"]})
        by_lon[lon] = r["id"]
    plan = api.ok("GET", f"/api/supervisor/day-plan?user_id={d['op1']}", sup)
    assert sorted(plan["proposed"]) == sorted(by_lon.values()), plan
    assert plan["proposed"][0] == by_lon[37.61], "the nearest shop first"
    assert plan["start"]["vehicle"] == "Газель Анны" and plan["saved"] is None, plan
    # An operator plans nobody's day; another organisation's engineer is not found.
    status, _ = api.request("GET", f"/api/supervisor/day-plan?user_id={d['op1']}", api.login(*hubnode.OPERATOR1))
    assert status == 403
    status, body = api.request("PUT", "/api/supervisor/day-plan", sup, {"user_id": d["op1"], "order": plan["proposed"][1:]})
    assert status == 400 and body["reason"] == "visit_order", body
    status, body = api.request("GET", "/api/supervisor/day-plan", sup)
    assert status == 400 and body["field"] == "user_id", body

    page = new_context(**DESKTOP_VIEW).new_page()
    sign_in(page, node, hubnode.SUPERVISOR)
    page.get_by_test_id("plan-engineer").select_option(str(d["op1"]))
    expect(page.get_by_test_id("plan-stop")).to_have_count(4)
    expect(page.get_by_test_id("plan-pin")).to_have_count(4)
    assert shown_order(page) == plan["proposed"]
    expect(page.get_by_test_id("plan-summary")).to_contain_text("предложен")
    # The shops with open requests are marked on the map, with their count.
    expect(page.locator("path.map-site.busy")).to_have_count(4)
    # Names are text, never markup.
    expect(page.get_by_test_id("plan-stops")).to_contain_text("Склад <на Покровке>")
    expect(page.get_by_test_id("plan-eta").first).to_contain_text(re.compile(r"на месте в \d\d:\d\d"))
    screenshot(page, "map_plan_desktop_ru")

    # The dispatcher moves the first stop down: saved, and shown in the new order.
    page.get_by_test_id("plan-stop").first.get_by_test_id("plan-down").click()
    moved = [plan["proposed"][1], plan["proposed"][0], *plan["proposed"][2:]]
    expect(page.get_by_test_id("plan-summary")).to_contain_text("задан диспетчером")
    expect(page.get_by_test_id("plan")).to_have_attribute("data-state", "ready")
    assert shown_order(page) == moved
    saved = api.ok("GET", f"/api/supervisor/day-plan?user_id={d['op1']}", sup)
    assert saved["saved"]["order"] == moved and [s["request_id"] for s in saved["stops"]] == moved, saved
    page.locator('.lang-toggle button[data-lang="en"]').first.click()
    expect(page.get_by_test_id("plan-summary")).to_contain_text("set by the dispatcher")
    expect(page.get_by_test_id("plan-propose")).to_contain_text("Take the proposal")
    screenshot(page, "map_plan_desktop_en")

    # The proposal taken back.
    page.get_by_test_id("plan-propose").click()
    expect(page.get_by_test_id("plan-propose")).to_have_count(0)
    assert shown_order(page) == plan["proposed"]

    # A fifth request assigned to her meanwhile joins the plan as it is assigned.
    r = api.ok("POST", "/api/desk/requests", sup, {"type_id": d["incident"], "subject": "Ещё выезд", "site_id": sites[37.66]},
               want=201)
    api.ok("POST", f"/api/desk/requests/{r['id']}/assign", sup, {"user_id": d["op1"]})
    expect(page.get_by_test_id("plan-stop")).to_have_count(5)

    # Анна sees her day on her phone in the order the dispatcher left, with her times.
    order = api.ok("GET", f"/api/supervisor/day-plan?user_id={d['op1']}", sup)["stops"]
    anna = new_context(**PHONE_VIEW).new_page()
    desk_sign_in(anna, node, hubnode.OPERATOR1)
    anna.get_by_test_id("view-day").click()
    items = anna.get_by_test_id("request-item")
    expect(items.first.get_by_test_id("request-day")).to_contain_text("1. ")
    ids = [int(x) for x in items.evaluate_all("els => els.map(e => e.dataset.requestId)")]
    assert ids[:5] == [s["request_id"] for s in order], (ids, order)
    expect(items.first.get_by_test_id("request-day")).to_contain_text(re.compile(r"на месте в \d\d:\d\d"))
    screenshot(anna, "desk_my_day_phone")

    phone = new_context(**PHONE_VIEW).new_page()
    sign_in(phone, node, hubnode.SUPERVISOR)
    phone.get_by_test_id("plan-engineer").select_option(str(d["op1"]))
    expect(phone.get_by_test_id("plan-stop")).to_have_count(5)
    screenshot(phone, "map_plan_phone")
