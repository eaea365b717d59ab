"""A field visit end to end: a customer writes to the Telegram bot and another mails the support
mailbox about their shops; each request is assigned to an engineer who drives a vehicle, and
each engineer sets off. The vans' trackers report over OsmAnd (replayed fixes of the last ten
minutes): the Telegram customer is told when the engineer will be there, told again when a
detour moves it by more than ten minutes, and told of the arrival; the mail customer is told by
mail. Leaving the site logs the time on it in the request's work log."""
from __future__ import annotations

import math
import time

import pytest
from playwright.sync_api import expect

import hubnode
import mailkit
import tgkit
from botapi import BotApi
from test_service_desk import PETR, card, desk_sign_in, mail_in, request_with, set_up_desk
from ui import DESKTOP_VIEW, screenshot

TOKEN = "700007:TEST-field-visit-bot-aaaaaaaa"
CHAT = 7001


@pytest.fixture
def botapi():
    api = BotApi()
    yield api
    api.close()


def offset(lat: float, lon: float, east_km: float) -> tuple[float, float]:
    """A point `east_km` east of (lat, lon)."""
    return lat, lon + east_km / (111.195 * math.cos(math.radians(lat)))


def report(node, device: str, at_ms: int, lat: float, lon: float, kmh: float) -> None:
    q = f"/api/trackers/osmand?id={device}&lat={lat:.6f}&lon={lon:.6f}&timestamp={at_ms}&speed={kmh / 1.852:.3f}"
    status, body = node.api.request("GET", q)
    assert status == 200, body


def drive(node, device: str, t: int, frm_km: float, to_km: float, kmh: float, site: tuple[float, float]) -> int:
    """Drives along the site's latitude from `frm_km` to `to_km` east of it at `kmh`, a fix every
    10 s; answers the moment after the last fix."""
    km_per_fix = kmh / 360.0
    n = max(1, round(abs(to_km - frm_km) / km_per_fix))
    for i in range(n + 1):
        x = frm_km + (to_km - frm_km) * i / n
        report(node, device, t, *offset(site[0], site[1], x), kmh)
        t += 10_000
    return t


def test_the_customer_is_told_the_eta_its_update_and_the_arrival(hub_store, botapi, maildev, new_context):
    store = hub_store()
    smtp_port = hubnode.free_port()
    store.extra_env["HUB_TELEGRAM_API_URL"] = botapi.url
    store.extra_env["HUB_TELEGRAM_POLL_SECS"] = "2"
    node = mailkit.email_node(store, maildev, smtp_port)
    admin = node.api.login(*tgkit.ADMIN)
    queue = tgkit.chat_queue(node.api, admin)
    mailkit.add_mailbox(node, admin, queue)
    botapi.bot(TOKEN)
    tgkit.connect_bot(node, TOKEN)
    d = set_up_desk(node, admin, queue)
    op2 = next(u["id"] for u in node.api.ok("GET", "/api/admin/users", admin) if u["login"] == hubnode.OPERATOR2[0])
    # Иван drives the demo's van (tracker demo-van); Анна gets one.
    van = node.api.ok("POST", "/api/admin/vehicles", admin, {"name": "Газель Анны", "driver_id": d["op1"]}, want=201)
    node.api.ok("POST", "/api/admin/trackers", admin, {"protocol": "osmand", "unique_id": "van-anna", "vehicle_id": van["id"]}, want=201)

    # The customers write; intake opens a request for each, at the shop each names.
    botapi.text(TOKEN, CHAT, "Магазин на Тверской: не работает касса")
    mail_in(smtp_port, PETR, "Сканер на Арбате", "Магазин на Арбате: сканер не видит штрихкоды.")
    sup = node.api.login(*hubnode.SUPERVISOR)
    by_tg = request_with(node, sup, "касса")
    by_mail = request_with(node, sup, "Сканер")
    assert by_tg["site_id"] == d["tverskaya"] and by_mail["site_id"] == d["arbat"], (by_tg, by_mail)
    node.api.ok("POST", f"/api/desk/requests/{by_tg['id']}/assign", sup, {"user_id": d["op1"]})
    node.api.ok("POST", f"/api/desk/requests/{by_mail['id']}/assign", sup, {"user_id": op2})

    # Without a vehicle of their own an engineer cannot set off; with one, they can.
    anna = node.api.login(*hubnode.OPERATOR1)
    ivan = node.api.login(*hubnode.OPERATOR2)
    status, body = node.api.request("POST", f"/api/desk/requests/{by_tg['id']}/visit", ivan)
    assert status == 400 and body["reason"] == "assign_others", body
    node.api.ok("POST", f"/api/desk/requests/{by_tg['id']}/visit", anna, want=201)
    node.api.ok("POST", f"/api/desk/requests/{by_mail['id']}/visit", ivan, want=201)

    tverskaya, arbat = (55.76, 37.61), (55.75, 37.59)
    t0 = int(time.time() * 1000) - 9 * 60_000
    # Anna: 2 km out; the customer hears when she will be there.
    t = drive(node, "van-anna", t0, 2.0, 2.0, 40, tverskaya)
    told = botapi.wait_sent(TOKEN, CHAT, lambda m: "в пути к вам" in m.get("text", ""), timeout=30, what="the ETA")
    assert f"заявка №{by_tg['id']}" in told["text"] and "Анна Петрова" in told["text"], told
    # A wrong turn: three minutes the other way, 7 km out. The estimate moves by more than ten
    # minutes: told again.
    t = drive(node, "van-anna", t + 170_000, 2.0, 7.0, 100, tverskaya)
    botapi.wait_sent(TOKEN, CHAT, lambda m: "Новое время" in m.get("text", ""), timeout=30, what="the new ETA")
    # Back, and at the shop: told once.
    t = drive(node, "van-anna", t, 7.0, 0.05, 120, tverskaya)
    for _ in range(5):
        report(node, "van-anna", t, *tverskaya, 0)
        t += 30_000
    botapi.wait_sent(TOKEN, CHAT, lambda m: "на месте" in m.get("text", ""), timeout=30, what="the arrival")
    # She leaves: the time on site is in the work log.
    report(node, "van-anna", t + 60_000, *offset(*tverskaya, 0.6), 30)
    c = tgkit.wait(lambda: (lambda c: c if c["work_logs"] else None)(card(node, anna, by_tg["id"])),
                   timeout=30, what="the time on site logged")
    log = c["work_logs"][0]
    assert log["activity"] == "На объекте" and log["minutes"] >= 2, log
    assert c["visits"][0]["left_at"] and c["visits"][0]["arrived_at"], c["visits"]
    # The wrong turn was driven at 100 in town (the demo's Moscow limit is 60): speeding on the
    # way to a customer is in the request's history.
    speeding = [e["data"] for e in c["events"] if e["kind"] == "vehicle" and e["data"]["kind"] == "overspeed"]
    assert speeding and speeding[0]["vehicle"] == "Газель Анны" and speeding[0]["limit_kmh"] == 60, c["events"]
    # Her card says so in its history, in words.
    page = new_context(**DESKTOP_VIEW).new_page()
    desk_sign_in(page, node, hubnode.OPERATOR1)
    page.goto(node.url(f"/desk?request={by_tg['id']}"))
    line = page.locator('[data-testid="card-event"][data-kind="vehicle"]').first
    expect(line).to_contain_text("Газель Анны")
    expect(line).to_contain_text("при ограничении 60")
    line.scroll_into_view_if_needed()
    screenshot(page, "desk_card_vehicle_alert")
    notices = [m["text"] for m in botapi.sent_to(TOKEN, CHAT) if f"№{by_tg['id']}" in m.get("text", "")]
    assert len(notices) == 3, notices
    assert "Новое время" in notices[1] and "на месте" in notices[2], notices

    # Ivan's customer wrote by mail: told by mail, in the thread, then of his arrival.
    t = drive(node, "demo-van", t0, 3.0, 0.05, 60, arbat)
    for _ in range(3):
        report(node, "demo-van", t, *arbat, 0)
        t += 30_000
    mails = tgkit.wait(lambda: (lambda ms: ms if len(ms) >= 2 else None)(
        [m for m in maildev.to(PETR) if f"№{by_mail['id']}" in (m.get("text") or "")]),
        timeout=30, what="the ETA and the arrival by mail")
    texts = [m["text"] for m in mails]
    assert any("в пути к вам" in x for x in texts) and any("на месте" in x for x in texts), texts
    assert all("Сканер на Арбате" in m["subject"] for m in mails), [m["subject"] for m in mails]
