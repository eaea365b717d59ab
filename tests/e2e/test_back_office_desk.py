"""The service desk's set-up in the back office (issue #11): an administrator sets up a whole desk
through the page (a support group with its members, a calendar with a holiday, a territory
imported as GeoJSON, a counterparty and its site, a workflow drawn in the transition matrix, a
request type with its checklist, an SLA, a routing rule and intake), is told beside the form what
the server refuses (a workflow with a dead end, text that is not GeoJSON), and a request opened
afterwards is placed and timed by exactly that set-up. Every section fits a phone in both
languages."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from playwright.sync_api import Page, expect

import hubnode
import tgkit
from test_back_office import back_office
from ui import DESKTOP_VIEW, PHONE_VIEW, screenshot

MOSCOW = '{"type": "Feature", "properties": {"name": "Центр"}, "geometry": {"type": "Polygon", ' \
         '"coordinates": [[[37.3, 55.5], [37.9, 55.5], [37.9, 56.0], [37.3, 56.0], [37.3, 55.5]]]}}'
SUBS = ["groups", "calendars", "policies", "territories", "counterparties", "sites", "workflows", "types", "rules", "intake",
        "people", "webhooks"]


def sub(page: Page, name: str) -> None:
    page.get_by_test_id(f"dk-sub-{name}").click()
    expect(page.get_by_test_id(f"dk-sub-{name}")).to_have_attribute("aria-pressed", "true")


def added(page: Page, testid: str, text: str):
    row = page.get_by_test_id(testid).filter(has_text=text)
    expect(row).to_have_count(1)
    return row


def choose(select, *labels: str) -> None:
    select.select_option(label=list(labels))


def test_a_desk_set_up_in_the_back_office_places_and_times_requests(hub, new_context):
    page = new_context(**DESKTOP_VIEW).new_page()
    back_office(page, hub)
    page.get_by_test_id("tab-desk").click()
    expect(page.locator("#panel-desk")).to_have_attribute("data-ready", "1")

    sub(page, "groups")
    page.get_by_test_id("dk-group-name").fill("Москва, первая линия")
    page.get_by_test_id("dk-group-grade").select_option("1")
    choose(page.get_by_test_id("dk-group-members"), "Анна Петрова")
    page.get_by_test_id("dk-group-form-submit").click()
    added(page, "dk-group", "Москва, первая линия")
    page.get_by_test_id("dk-group-name").fill("Москва, вторая линия")
    page.get_by_test_id("dk-group-grade").select_option("2")
    page.get_by_test_id("dk-group-form-submit").click()
    added(page, "dk-group", "Москва, вторая линия")
    # The first line gives its requests out: edited in place.
    added(page, "dk-group", "Москва, первая линия").get_by_test_id("dk-group-edit").click()
    expect(page.get_by_test_id("dk-group-name")).to_have_value("Москва, первая линия")
    page.get_by_test_id("dk-group-dispatch").select_option("least_loaded")
    page.get_by_test_id("dk-group-form-submit").click()
    expect(added(page, "dk-group", "Москва, первая линия")).to_contain_text("Самому свободному на смене")
    expect(page.get_by_test_id("dk-group")).to_have_count(len(hub.api.ok("GET", "/api/admin/desk", hub.api.login(*tgkit.ADMIN))["groups"]))

    sub(page, "calendars")
    page.get_by_test_id("dk-cal-name").fill("Будни")
    page.get_by_test_id("dk-cal-zone").fill("Europe/Moscow")
    page.get_by_test_id("dk-cal-exceptions").fill("2027-01-01 Новый год\n2026-12-31 10:00-15:00 короткий день")
    page.get_by_test_id("dk-cal-form-submit").click()
    expect(added(page, "dk-calendar", "Будни")).to_contain_text("2026-12-31 10:00-15:00")

    sub(page, "territories")
    page.get_by_test_id("dk-ter-name").fill("Центр")
    page.get_by_test_id("dk-ter-shape").fill("{not json")
    page.get_by_test_id("dk-ter-form-submit").click()
    err = page.locator('#dk-form-dk-ter-form [data-testid="field-error"][data-field="shape"]')
    expect(err).to_be_visible()
    expect(err).to_contain_text("GeoJSON")
    page.get_by_test_id("dk-ter-shape").fill('{"type": "Polygon", "coordinates": [[[37.3, 55.5], [37.9, 55.5]]]}')
    page.get_by_test_id("dk-ter-form-submit").click()
    expect(err).to_be_visible()
    page.get_by_test_id("dk-ter-shape").fill(MOSCOW)
    page.get_by_test_id("dk-ter-form-submit").click()
    expect(added(page, "dk-territory", "Центр")).to_contain_text("55.500, 37.300 — 56.000, 37.900")

    sub(page, "counterparties")
    page.get_by_test_id("dk-cp-name").fill("Ромашка")
    page.get_by_test_id("dk-cp-domain").fill("romashka.example")
    page.get_by_test_id("dk-cp-form-submit").click()
    added(page, "dk-counterparty", "Ромашка")

    sub(page, "sites")
    page.get_by_test_id("dk-site-name").fill("Магазин на Тверской")
    page.get_by_test_id("dk-site-address").fill("Тверская, 7")
    page.get_by_test_id("dk-site-lat").fill("55.76")
    page.get_by_test_id("dk-site-lon").fill("37.61")
    page.get_by_test_id("dk-site-counterparty").select_option(label="Ромашка")
    page.get_by_test_id("dk-site-form-submit").click()
    added(page, "dk-site", "Магазин на Тверской")

    # The workflow: the usual one, with the way out of "waiting" taken away first (a dead end).
    sub(page, "workflows")
    page.get_by_test_id("dk-workflow-new").click()
    page.get_by_test_id("dk-flow-name").fill("Инциденты магазинов")
    page.locator('[data-testid="dk-move"][data-from="waiting"][data-to="work"]').select_option("")
    page.get_by_test_id("dk-flow-save").click()
    flow_err = page.locator('#dk-flow-form [data-testid="field-error"]:visible')
    expect(flow_err).to_have_count(1)
    expect(flow_err).to_contain_text("Заявку в статусе «Ждём клиента» нельзя будет закрыть")
    screenshot(page, "back_office_desk_workflow_error")
    page.locator('[data-testid="dk-move"][data-from="waiting"][data-to="work"]').select_option("operator")
    page.locator('[data-testid="dk-move"][data-from="resolved"][data-to="closed"]').select_option("supervisor")
    page.locator('[data-testid="dk-requires"][data-from="work"][data-to="resolved"] [data-testid="dk-req-checklist"]').check()
    page.get_by_test_id("dk-flow-save").click()
    expect(added(page, "dk-workflow", "Инциденты магазинов")).to_contain_text("v1")

    sub(page, "types")
    page.get_by_test_id("dk-type-name").fill("Сбой кассы")
    page.get_by_test_id("dk-type-workflow").select_option(label="Инциденты магазинов")
    page.get_by_test_id("dk-type-checklist").fill("Проверить кассу\nПровести тестовую оплату")
    page.get_by_test_id("dk-type-categories").fill("Кассы\nТерминалы")
    page.get_by_test_id("dk-type-form-submit").click()
    expect(added(page, "dk-type", "Сбой кассы")).to_contain_text("Кассы, Терминалы")

    sub(page, "policies")
    page.get_by_test_id("dk-pol-name").fill("Москва, рабочие часы")
    page.get_by_test_id("dk-pol-calendar").select_option(label="Будни")
    page.get_by_test_id("dk-pol-first_response_mins").fill("30")
    page.get_by_test_id("dk-pol-resolution_mins").fill("240")
    page.get_by_test_id("dk-pol-pausing").fill("waiting")
    page.get_by_test_id("dk-pol-warn").fill("75")
    page.get_by_test_id("dk-pol-raise").check()
    choose(page.locator('#dk-form-dk-pol-form [data-testid="dk-when-territories"]'), "Центр")
    page.get_by_test_id("dk-pol-form-submit").click()
    added(page, "dk-policy", "Москва, рабочие часы")

    sub(page, "rules")
    page.get_by_test_id("dk-rule-add").click()
    rule = page.get_by_test_id("dk-rule").last
    choose(rule.get_by_test_id("dk-when-territories"), "Центр")
    choose(rule.get_by_test_id("dk-rule-groups"), "L1 · Москва, первая линия", "L2 · Москва, вторая линия")
    page.get_by_test_id("dk-rules-save").click()
    expect(page.get_by_test_id("message")).to_have_attribute("data-kind", "ok")
    # The demo's rule, then this one.
    expect(page.get_by_test_id("dk-rule")).to_have_count(2)

    sub(page, "intake")
    admin = hub.api.login(*tgkit.ADMIN)
    queue = tgkit.chat_queue(hub.api, admin)
    page.locator(f'[data-testid="dk-intake-row"][data-id="{queue}"] [data-testid="dk-intake-type"]').select_option(label="Сбой кассы")
    expect(page.get_by_test_id("message")).to_have_attribute("data-kind", "ok")
    screenshot(page, "back_office_desk_intake")

    # What the page set up is what places and times a request.
    setup = hub.api.ok("GET", "/api/admin/desk", admin)
    l1 = next(g["id"] for g in setup["groups"] if g["name"] == "Москва, первая линия")
    site = next(x["id"] for x in setup["sites"] if x["name"] == "Магазин на Тверской")
    incident = next(t for t in setup["request_types"] if t["name"] == "Сбой кассы")
    assert incident["checklist"] == ["Проверить кассу", "Провести тестовую оплату"]
    assert setup["intake"] == [[queue, incident["id"]]]
    cal = next(c for c in setup["calendars"] if c["name"] == "Будни")
    assert cal["week"] == {d: "09:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri")}, cal
    assert [(e["date"], e["hours"]) for e in cal["exceptions"]] == [("2027-01-01", None), ("2026-12-31", "10:00-15:00")]
    op = hub.api.login(*hubnode.OPERATOR1)
    r = hub.api.ok("POST", "/api/desk/requests", op, {"type_id": incident["id"], "subject": "Касса", "site_id": site, "category": "терминалы"})
    assert r["group_id"] == l1 and r["category"] == "Терминалы", r
    anna = hub.api.ok("GET", "/api/me", op)["user_id"]
    assert r["assignee_id"] == anna, r  # the first line's one member, with no shift set: on duty
    card = hub.api.ok("GET", f"/api/desk/requests/{r['id']}", op)
    assert {(t["clock"], t["target_secs"]) for t in card["timers"]} == {("first_response", 1800), ("resolution", 14400)}
    assert [c["text"] for c in json.loads(card["request"]["checklist"])] == incident["checklist"]


def test_every_desk_section_fits_a_phone(hub, new_context):
    page = new_context(**PHONE_VIEW).new_page()
    back_office(page, hub)
    page.get_by_test_id("tab-desk").click()
    expect(page.locator("#panel-desk")).to_have_attribute("data-ready", "1")
    wide = []
    for lang in ("ru", "en"):
        page.evaluate(f"async () => (await import('/static/hub.js')).setLang('{lang}')")
        for name in SUBS:
            sub(page, name)
            if name == "workflows":
                page.get_by_test_id("dk-workflow-new").click()
                expect(page.get_by_test_id("dk-matrix")).to_be_visible()
            width = page.evaluate("() => document.documentElement.scrollWidth")
            if width > 391:
                wide.append(f"{name} [{lang}]: {width}px")
    screenshot(page, "back_office_desk_workflow_phone")
    assert not wide, "sections wider than a phone: " + ", ".join(wide)


class Receiver:
    """An endpoint on loopback (the tests' installation allows it) keeping what it was sent."""

    def __init__(self):
        heard = self.heard = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                heard.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/desk-events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_webhook_made_in_the_back_office_hears_a_move_signed(hub, new_context):
    """The admin adds a webhook on the page (an internal address they may not use is refused
    beside the field), keeps the secret shown once, sees a move delivered and signed with it, and
    sends it again from the deliveries table."""
    rx = Receiver()
    try:
        page = new_context(**DESKTOP_VIEW).new_page()
        back_office(page, hub)
        page.get_by_test_id("tab-desk").click()
        expect(page.locator("#panel-desk")).to_have_attribute("data-ready", "1")
        sub(page, "webhooks")
        page.get_by_test_id("dk-hook-url").fill("http://169.254.169.254/latest/meta-data")
        page.get_by_test_id("dk-hook-form-submit").click()
        err = page.locator('#dk-form-dk-hook-form [data-testid="field-error"][data-field="url"]')
        expect(err).to_be_visible()
        expect(err).not_to_be_empty()
        page.get_by_test_id("dk-hook-url").fill(rx.url)
        page.get_by_test_id("dk-hook-form-submit").click()
        row = added(page, "dk-hook", rx.url)
        secret = page.get_by_test_id("dk-hook-secret").inner_text().strip()
        assert len(secret) == 48, secret
        screenshot(page, "back_office_webhooks")

        admin = hub.api.login(*tgkit.ADMIN)
        setup = hub.api.ok("GET", "/api/admin/desk", admin)
        incident = next(t for t in setup["request_types"] if t["name"] == "Инцидент")
        op = hub.api.login(*hubnode.OPERATOR1)
        r = hub.api.ok("POST", "/api/desk/requests", op, {"type_id": incident["id"], "subject": "Вебхук"})
        hub.api.ok("POST", f"/api/desk/requests/{r['id']}/move", op, {"to": "work"})  # the demo's "Инциденты"
        hook = next(h for h in hub.api.ok("GET", "/api/admin/webhooks", admin) if h["url"] == rx.url)
        delivered = lambda: [d for d in hub.api.ok("GET", f"/api/admin/webhooks/{hook['id']}/deliveries", admin)  # noqa: E731
                             if d["status"] == "sent"]
        deadline = time.monotonic() + 15
        while not delivered() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert delivered(), "the move was delivered"
        headers, body = rx.heard[0]
        ts = headers["x-hub-timestamp"]
        want = "sha256=" + hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
        assert headers["x-hub-signature-256"] == want
        assert json.loads(body)["request"]["id"] == r["id"]

        row.get_by_test_id("dk-hook-deliveries").click()
        state = page.get_by_test_id("dk-delivery-state")
        expect(state).to_have_attribute("data-state", "sent")
        page.get_by_test_id("dk-redeliver").click()
        deadline = time.monotonic() + 15
        while len(rx.heard) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(rx.heard) == 2 and rx.heard[1][1] == body, "sent again, the same bytes"
        # The table follows the delivery due by itself: delivered again.
        expect(state).to_have_attribute("data-state", "sent")
        expect(page.locator('[data-testid="dk-delivery"] td').nth(4)).to_have_text("1")
        screenshot(page, "back_office_webhook_deliveries")
    finally:
        rx.close()


def test_shifts_and_rates_price_the_work_and_fill_the_load(hub, new_context):
    """The admin gives Анна a round-the-clock shift and a rate, and adds a priced kind of work;
    Анна logs work on a request choosing it from the suggestions; her card shows the cost, and
    the supervisor's figures show the same cost and her day's load against her shift."""
    admin = hub.api.login(*tgkit.ADMIN)
    hub.api.ok("POST", "/api/admin/desk/calendars", admin, {
        "name": "Круглосуточно", "timezone": "Europe/Moscow",
        "week": {d: "00:00-24:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}, want=201)
    page = new_context(**DESKTOP_VIEW).new_page()
    back_office(page, hub)
    page.get_by_test_id("tab-desk").click()
    expect(page.locator("#panel-desk")).to_have_attribute("data-ready", "1")
    sub(page, "people")
    anna = added(page, "dk-person", "Анна Петрова")
    anna.get_by_test_id("dk-person-shift").select_option(label="Круглосуточно")
    anna.get_by_test_id("dk-person-rate").fill("1 200,00")
    anna.get_by_test_id("dk-person-types").select_option(label=["Инцидент"])
    anna.get_by_test_id("dk-person-save").click()
    saved = page.get_by_test_id("dk-person").filter(has_text="Анна Петрова")
    expect(saved.get_by_test_id("dk-person-rate")).to_have_value("1200")
    expect(saved.get_by_test_id("dk-person-types")).to_have_values([str(next(
        t["id"] for t in hub.api.ok("GET", "/api/admin/desk", admin)["request_types"] if t["name"] == "Инцидент"))])
    page.get_by_test_id("dk-activity-name").fill("Выезд на объект")
    page.get_by_test_id("dk-activity-rate").fill("3000")
    page.get_by_test_id("dk-activity-form-submit").click()
    added(page, "dk-activity", "Выезд на объект")
    page.get_by_test_id("dk-activity-name").fill("выезд НА объект")
    page.get_by_test_id("dk-activity-form-submit").click()
    expect(page.locator('#dk-form-dk-activity-form [data-testid="field-error"][data-field="name"]')).to_be_visible()
    screenshot(page, "back_office_people")

    setup = hub.api.ok("GET", "/api/admin/desk", admin)
    incident = next(t["id"] for t in setup["request_types"] if t["name"] == "Инцидент")
    op = hub.api.login(*hubnode.OPERATOR1)
    r = hub.api.ok("POST", "/api/desk/requests", op, {"type_id": incident, "subject": "Касса не печатает чек"})
    desk = new_context(**DESKTOP_VIEW).new_page()
    from test_service_desk import desk_sign_in
    desk_sign_in(desk, hub, hubnode.OPERATOR1)
    desk.goto(hub.url(f"/desk?request={r['id']}"))
    expect(desk.get_by_test_id("request-card")).to_have_attribute("data-ready", "1")
    options = desk.locator("#wl-activities option")
    expect(options).to_have_count(1)
    assert options.first.get_attribute("value") == "Выезд на объект"
    for minutes, activity in [("90", "Выезд на объект"), ("30", "Диагностика")]:
        desk.get_by_test_id("wl-minutes").fill(minutes)
        desk.get_by_test_id("wl-activity").fill(activity)
        desk.get_by_test_id("wl-add").click()
    expect(desk.get_by_test_id("card-worklog-item")).to_have_count(2)
    expect(desk.get_by_test_id("card-cost")).to_be_empty()  # an engineer is not told the rates
    hub.api.ok("POST", f"/api/desk/requests/{r['id']}/assign", op, {"user_id": next(
        u["id"] for u in hub.api.ok("GET", "/api/admin/users", admin) if u["login"] == hubnode.OPERATOR1[0])})

    mp = new_context(**DESKTOP_VIEW).new_page()
    desk_sign_in(mp, hub, hubnode.SUPERVISOR)
    # The supervisor's card: 90 min at 3 000 an hour and 30 at Анна's 1 200, 4 500 + 600.
    mp.goto(hub.url(f"/desk?request={r['id']}"))
    expect(mp.get_by_test_id("request-card")).to_have_attribute("data-ready", "1")
    expect(mp.get_by_test_id("card-cost")).to_have_attribute("data-cents", "510000")
    expect(mp.get_by_test_id("card-cost")).to_contain_text("5 100,00")
    mp.get_by_test_id("tab-kpis").click()
    expect(mp.locator("#panel-kpis")).to_have_attribute("data-ready", "1")
    expect(mp.get_by_test_id("kpi-cost")).to_have_attribute("data-value", "510000")
    row = mp.get_by_test_id("kpi-load-row").filter(has_text="Анна Петрова")
    expect(row.locator('[data-k="logged"]')).to_have_text("2:00")
    load = json.loads(row.get_attribute("data-load"))
    today = load["days"][-1]
    assert today["logged_mins"] == 120 and today["shift_mins"] > 0, today
    # The table stays while its rows are drawn again as the figures refresh.
    mp.get_by_test_id("kpi-load").scroll_into_view_if_needed()
    screenshot(mp, "desk-kpis-load")
