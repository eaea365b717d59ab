"""The service desk end to end (issue #11, acceptance 5), with real mail peers (swaks into the hub's
SMTP receiver, maildev capturing what it sends) and an engineer and a manager in Chromium:

- two mails to the support address become requests of the mailbox's type, at the Moscow first line
  by their shops' territory, with the sender's counterparty and the shop named in the mail;
- the engineer takes the first in /desk, works it through its statuses, answers the customer by
  mail, waits for the customer (the clock pauses), the customer's answer by mail moves it back to
  work (the clock resumes), ticks the checklist the move to resolved asks for, logs work, resolves;
- the second breaches its one-minute resolution target: it goes up to Moscow's second line and the
  engineer's page shows the breach;
- the manager's figures then show exactly what the test counts from its own record."""
from __future__ import annotations

import csv
import io
import json
import re

from playwright.sync_api import Page, expect

import hubnode
import mailkit
import tgkit
from ui import DESKTOP_VIEW, PHONE_VIEW, screenshot, ws_live

PETR = "petr@romashka.example"
ANNA = "anna@romashka.example"


def square(w, s, e, n):
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


WORKFLOW = {
    "statuses": [
        {"key": "new", "name": "Новая", "kind": "open"},
        {"key": "work", "name": "В работе", "kind": "open"},
        {"key": "waiting", "name": "Ждём клиента", "kind": "waiting", "on_customer_reply": "work"},
        {"key": "resolved", "name": "Решена", "kind": "resolved", "on_customer_reply": "work"},
        {"key": "closed", "name": "Закрыта", "kind": "closed"},
    ],
    "transitions": [
        {"from": "new", "to": "work", "role": "operator"},
        {"from": "work", "to": "waiting", "role": "operator"},
        {"from": "waiting", "to": "work", "role": "operator"},
        {"from": "work", "to": "resolved", "role": "operator", "requires": {"checklist": True}},
        {"from": "resolved", "to": "closed", "role": "operator"},
        {"from": "resolved", "to": "work", "role": "operator"},
    ],
}


def user_id(node, creds) -> int:
    token = node.api.login(*creds)
    return node.api.ok("GET", "/api/me", token)["user_id"]


def set_up_desk(node, admin: str, queue: int) -> dict:
    api = node.api
    post = lambda path, body: api.ok("POST", "/api/admin/desk/" + path, admin, body, want=201)["id"]  # noqa: E731
    op1, op2 = user_id(node, hubnode.OPERATOR1), user_id(node, hubnode.OPERATOR2)
    moscow = post("territories", {"name": "Москва", "shape": square(37.3, 55.5, 37.9, 56.0)})
    spb = post("territories", {"name": "Санкт-Петербург", "shape": square(30.0, 59.8, 30.6, 60.1)})
    l1 = post("groups", {"name": "Москва, первая линия", "grade": 1, "members": [op1]})
    l2 = post("groups", {"name": "Москва, вторая линия", "grade": 2, "members": [op2]})
    spb_l1 = post("groups", {"name": "Петербург, первая линия", "grade": 1, "members": [op2]})
    wf = post("workflows", {"name": "Инциденты", "body": WORKFLOW})
    incident = post("request-types", {"name": "Инцидент", "workflow_id": wf,
                                      "checklist": ["Проверить кассу", "Провести тестовую оплату"]})
    romashka = post("counterparties", {"name": "Ромашка", "mail_domain": "romashka.example"})
    tverskaya = post("sites", {"name": "Магазин на Тверской", "lon": 37.61, "lat": 55.76, "counterparty_id": romashka})
    arbat = post("sites", {"name": "Магазин на Арбате", "lon": 37.59, "lat": 55.75, "counterparty_id": romashka})
    post("sites", {"name": "Магазин на Невском", "lon": 30.36, "lat": 59.93, "counterparty_id": romashka})
    api.ok("PUT", "/api/admin/desk/rules", admin, {"rules": [
        {"when": {"territories": [moscow]}, "groups": [l1, l2]},
        {"when": {"territories": [spb]}, "groups": [spb_l1]},
    ]})
    # The Arbat shop's contract: resolved within a minute, or up to the second line. Everyone
    # else's: a first answer within 10 minutes, resolved within 30; both paused while waiting.
    post("policies", {"name": "Арбат, срочно", "kind": "sla", "conditions": {"sites": [arbat]},
                      "targets": {"first_response_mins": 10, "resolution_mins": 1, "pausing": ["waiting"],
                                  "warn_at": [50], "escalations": [{"share": 100, "do": "raise_grade"},
                                                                   {"share": 100, "do": "notify"}]}})
    post("policies", {"name": "Обычный", "kind": "sla",
                      "targets": {"first_response_mins": 10, "next_response_mins": 10, "resolution_mins": 30,
                                  "pausing": ["waiting"]}})
    api.ok("PUT", "/api/admin/desk/intake", admin, {"service_id": queue, "type_id": incident}, want=204)
    return {"l1": l1, "l2": l2, "incident": incident, "romashka": romashka, "tverskaya": tverskaya,
            "arbat": arbat, "op1": op1}


def mail_in(port: int, frm: str, subject: str, body: str, headers: list[str] | None = None) -> None:
    out = mailkit.swaks(port, frm=frm, subject=subject, body=body, headers=headers or [])
    assert b"250 2.0.0 stored" in out.stdout, out.stdout.decode(errors="replace")


def request_with(node, token, needle: str) -> dict:
    def find():
        rows = node.api.ok("GET", "/api/desk/requests?all=true", token)
        return next((r for r in rows if needle in r["subject"]), None)
    return tgkit.wait(find, timeout=30, what=f"a request about {needle!r}")


def card(node, token, rid) -> dict:
    return node.api.ok("GET", f"/api/desk/requests/{rid}", token)


def desk_sign_in(page: Page, node, creds) -> None:
    page.goto(node.url("/desk"))
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fdesk$"))
    page.get_by_test_id("login-input").fill(creds[0])
    page.get_by_test_id("password-input").fill(creds[1])
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(node.url("/desk"))
    ws_live(page)


def event_at(c: dict, kind: str, **data) -> int:
    return next(e["at"] for e in c["events"] if e["kind"] == kind and all(e["data"].get(k) == v for k, v in data.items()))


def test_mail_to_request_worked_escalated_and_counted(hub_store, maildev, new_context):
    store = hub_store()
    smtp_port = hubnode.free_port()
    node = mailkit.email_node(store, maildev, smtp_port)
    admin = node.api.login(*tgkit.ADMIN)
    queue = tgkit.chat_queue(node.api, admin)
    mailkit.add_mailbox(node, admin, queue)
    d = set_up_desk(node, admin, queue)
    op = node.api.login(*hubnode.OPERATOR1)
    sup = node.api.login(*hubnode.SUPERVISOR)

    # Two mails to the support address; each names its shop.
    mail_in(smtp_port, PETR, "Не работает касса", "Магазин на Тверской: касса 2 не печатает чеки.")
    mail_in(smtp_port, ANNA, "Не открывается дверь склада", "Магазин на Арбате, дверь склада заклинило.")
    a = request_with(node, op, "касса")
    b = request_with(node, op, "дверь склада")
    for r, site in ((a, d["tverskaya"]), (b, d["arbat"])):
        assert (r["type_id"], r["group_id"], r["counterparty_id"], r["site_id"]) == \
            (d["incident"], d["l1"], d["romashka"], site), r
    assert a["subject"] == "Не работает касса"

    page = new_context(**DESKTOP_VIEW).new_page()
    desk_sign_in(page, node, hubnode.OPERATOR1)
    item = page.locator(f'[data-testid="request-item"][data-request-id="{a["id"]}"]')
    expect(item).to_be_visible()
    expect(page.get_by_test_id("view-groups")).to_have_attribute("aria-pressed", "true")
    item.click()
    c = page.get_by_test_id("request-card")
    expect(c).to_have_attribute("data-ready", "1")
    expect(page.get_by_test_id("card-subject")).to_have_text("Не работает касса")
    expect(page.get_by_test_id("card-group")).to_have_text("L1 · Москва, первая линия")
    expect(page.get_by_test_id("card-site")).to_have_text("Магазин на Тверской")
    expect(page.get_by_test_id("card-counterparty")).to_have_text("Ромашка")
    expect(page.get_by_test_id("card-thread")).to_contain_text("касса 2 не печатает чеки")
    expect(page.get_by_test_id("card-check")).to_have_count(2)

    page.get_by_test_id("card-take").click()
    expect(page.get_by_test_id("card-assignee")).to_have_attribute("data-user-id", str(d["op1"]))
    page.locator('[data-testid="card-move"][data-to="work"]').click()
    expect(page.get_by_test_id("card-status")).to_have_attribute("data-status", "work")

    # The first answer, by mail.
    page.get_by_test_id("card-reply-text").fill("Здравствуйте! Пришлите, пожалуйста, фото чека с ошибкой.")
    page.get_by_test_id("card-reply-send").click()
    expect(page.locator('[data-testid="card-message"][data-author="operator"]')).to_have_count(1)
    reply = tgkit.wait(lambda: next((m for m in maildev.to(PETR) if "фото чека" in (m.get("text") or "")), None),
                       what="the engineer's answer by mail")
    first = page.locator('[data-testid="card-timer"][data-track="sla"][data-clock="first_response"]')
    expect(first.get_by_test_id("card-timer-state")).to_have_text(re.compile("Met|Выполнен"))

    # Waiting for the customer: the resolution clock stops counting.
    page.locator('[data-testid="card-move"][data-to="waiting"]').click()
    expect(page.get_by_test_id("card-status")).to_have_attribute("data-status", "waiting")
    resolution = page.locator('[data-testid="card-timer"][data-track="sla"][data-clock="resolution"]')
    expect(resolution).to_have_attribute("data-running", "0")
    screenshot(page, "desk-card-waiting")

    # The customer answers the mail: the request is back at work, the clock runs again.
    conv_id = card(node, op, a["id"])["threads"][0]["conversation_id"]
    mail_in(smtp_port, PETR, f"Re: Не работает касса [#{conv_id}]", "Фото во вложении не получилось, ошибка E-17.",
            [f"In-Reply-To: <{mailkit.message_id(reply)}>", f"References: <{mailkit.message_id(reply)}>"])
    expect(page.get_by_test_id("card-status")).to_have_attribute("data-status", "work", timeout=20_000)
    expect(resolution).to_have_attribute("data-running", "1")
    expect(page.get_by_test_id("card-thread")).to_contain_text("ошибка E-17")
    expect(page.locator('[data-testid="card-event"][data-kind="status"]').first).to_contain_text("Клиент написал")

    page.get_by_test_id("card-reply-text").fill("Спасибо, E-17 — это принтер чеков. Меняем.")
    page.get_by_test_id("card-reply-send").click()
    expect(page.locator('[data-testid="card-message"][data-author="operator"]')).to_have_count(2)

    # Resolving needs the checklist done: refused with the reason, then done.
    page.locator('[data-testid="card-move"][data-to="resolved"]').click()
    msg = page.get_by_test_id("message")
    expect(msg).to_have_attribute("data-kind", "error")
    expect(msg).to_contain_text(re.compile("чек-лист|checklist", re.I))
    for box in page.get_by_test_id("card-check").all():
        box.check()
        expect(box).to_be_checked()
    page.get_by_test_id("wl-minutes").fill("30")
    page.get_by_test_id("wl-activity").fill("Ремонт")
    page.get_by_test_id("wl-billable").check()
    page.get_by_test_id("wl-add").click()
    expect(page.get_by_test_id("card-worklog-item")).to_have_count(1)
    page.get_by_test_id("note-text").fill("Принтер заменён на складской, старый — в сервис.")
    page.get_by_test_id("note-add").click()
    expect(page.locator('[data-testid="card-event"][data-kind="comment"]')).to_have_count(1)
    page.locator('[data-testid="card-move"][data-to="resolved"]').click()
    expect(page.get_by_test_id("card-status")).to_have_attribute("data-status", "resolved")
    expect(resolution.get_by_test_id("card-timer-state")).to_have_text(re.compile("Met|Выполнен"))
    screenshot(page, "desk-card-resolved")

    # The Arbat request breaches its minute: up to the second line, and the engineer is told.
    alert = page.locator(f'[data-testid="desk-alert"][data-request-id="{b["id"]}"][data-share="100"]')
    expect(alert).to_be_visible(timeout=90_000)
    got = tgkit.wait(lambda: (lambda r: r if r["request"]["group_id"] == d["l2"] else None)(card(node, op, b["id"])),
                     timeout=10, what="the escalation to L2")
    assert [e["data"]["why"] for e in got["events"] if e["kind"] == "group"] == ["routing", "escalation"]
    assert any(t["clock"] == "resolution" and t["breached"] for t in got["timers"])
    screenshot(page, "desk-breach-alert")

    # The test's own record of what happened, and the figures it makes.
    ca = card(node, op, a["id"])
    created = ca["request"]["created_at"]
    answers = [m["at"] for m in ca["threads"][0]["messages"] if m["author"] == "operator"]
    customer = [m["at"] for m in ca["threads"][0]["messages"] if m["author"] == "visitor"]
    waited_from = event_at(ca, "status", status="waiting")
    resumed = event_at(ca, "status", status="work", cause="customer_reply")
    resolved_at = event_at(ca, "status", status="resolved")
    assert waited_from < customer[1] <= resumed < answers[1] < resolved_at
    expected_total = {
        "requests": 2, "backlog": 1, "resolved": 1, "reopened": 0,
        "first_response": {"met": 1, "breached": 0, "percent": 100},
        "next_response": {"met": 1, "breached": 0, "percent": 100},
        "resolution": {"met": 1, "breached": 1, "percent": 50},
        "first_response_avg_secs": (answers[0] - created) // 1000,
        "resolution_avg_secs": (resolved_at - created - (resumed - waited_from)) // 1000,
        "logged_mins": 30, "billable_mins": 30,
    }

    # The manager's view.
    mp = new_context(**DESKTOP_VIEW).new_page()
    desk_sign_in(mp, node, hubnode.SUPERVISOR)
    mp.get_by_test_id("tab-kpis").click()
    expect(mp.locator("#panel-kpis")).to_have_attribute("data-ready", "1")
    tile = lambda name: mp.get_by_test_id("kpi-" + name)  # noqa: E731
    for name, want in [("requests", 2), ("backlog", 1), ("resolved", 1), ("first-response", 100),
                       ("next-response", 100), ("resolution", 50), ("logged", 30),
                       ("first-response-avg", expected_total["first_response_avg_secs"]),
                       ("resolution-avg", expected_total["resolution_avg_secs"])]:
        expect(tile(name)).to_have_attribute("data-value", str(want))
    l2_row = mp.locator(f'[data-testid="kpi-group"][data-id="{d["l2"]}"]')
    expect(l2_row.locator('[data-k="resolution"]')).to_have_text("0 / 1 · 0 %")
    expect(mp.locator(f'[data-testid="kpi-group"][data-id="{d["l1"]}"] [data-k="resolved"]')).to_have_text("1")
    expect(mp.locator(f'[data-testid="kpi-person"][data-id="{d["op1"]}"] [data-k="requests"]')).to_have_text("1")
    expect(mp.locator(f'[data-testid="kpi-counterparty"][data-id="{d["romashka"]}"]')).to_contain_text("2")
    expect(mp.locator(f'[data-testid="kpi-breaching-item"][data-request-id="{b["id"]}"]')).to_be_visible()
    screenshot(mp, "desk-kpis")

    k = node.api.ok("GET", "/api/desk/kpis", sup)
    total = {key: k["total"][key] for key in expected_total}
    assert total == expected_total, (total, expected_total)
    groups = {g["group_id"]: g["figures"] for g in k["groups"]}
    assert (groups[d["l1"]]["requests"], groups[d["l1"]]["resolved"]) == (1, 1)
    assert (groups[d["l2"]]["backlog"], groups[d["l2"]]["resolution"]["breached"]) == (1, 1)
    assert [(p["user_id"], p["figures"]["logged_mins"]) for p in k["people"]] == [(d["op1"], 30)]
    assert k["counterparties"] == [{"counterparty_id": d["romashka"], "requests": 2}]

    # The same figures as CSV, and nothing of them for an operator.
    status, _ = node.api.request("GET", "/api/desk/kpis", op)
    assert status == 403
    raw = csv_text(node, sup)
    rows = list(csv.DictReader(io.StringIO(raw)))
    desk = rows[0]
    assert (desk["scope"], desk["requests"], desk["resolution_met"], desk["resolution_breached"],
            desk["resolution_avg_secs"]) == ("desk", "2", "1", "1", str(expected_total["resolution_avg_secs"]))
    assert {r["name"] for r in rows if r["scope"] == "group"} == {"Москва, первая линия", "Москва, вторая линия"}

    # The card on a phone, in English.
    phone = new_context(**PHONE_VIEW).new_page()
    desk_sign_in(phone, node, hubnode.OPERATOR1)
    phone.goto(node.url(f"/desk?request={a['id']}"))
    expect(phone.get_by_test_id("request-card")).to_have_attribute("data-ready", "1")
    phone.locator(".lang-toggle button", has_text="EN").first.click()
    expect(phone.get_by_test_id("card-timer-state").first).to_have_text(re.compile("Met|Running|Paused|Breached"))
    expect(phone.get_by_test_id("request-list")).to_be_hidden()
    screenshot(phone, "desk-card-phone-en")


def csv_text(node, token) -> str:
    import urllib.request
    req = urllib.request.Request(node.url("/api/desk/kpis.csv"), headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=15) as res:
        assert res.headers["Content-Type"].startswith("text/csv"), res.headers
        return res.read().decode("utf-8")


def test_a_stranger_cannot_reply_on_anothers_request(hub_store, maildev):
    """Only the request's engineer (or a supervisor) answers its customer."""
    store = hub_store()
    smtp_port = hubnode.free_port()
    node = mailkit.email_node(store, maildev, smtp_port)
    admin = node.api.login(*tgkit.ADMIN)
    queue = tgkit.chat_queue(node.api, admin)
    mailkit.add_mailbox(node, admin, queue)
    set_up_desk(node, admin, queue)
    mail_in(smtp_port, PETR, "Не работает касса", "Магазин на Тверской: касса 2.")
    op1 = node.api.login(*hubnode.OPERATOR1)
    op2 = node.api.login(*hubnode.OPERATOR2)
    a = request_with(node, op1, "касса")
    node.api.ok("POST", f"/api/desk/requests/{a['id']}/assign", op1, {"user_id": user_id(node, hubnode.OPERATOR1)})
    status, e = node.api.request("POST", f"/api/desk/requests/{a['id']}/reply", op2, {"body": "Чужой ответ"})
    assert (status, e.get("reason")) == (409, "not_assignee"), (status, e)
    status, e = node.api.request("POST", f"/api/desk/requests/{a['id']}/reply", op1,
                                 {"body": "Ответ", "conversation_id": 999999})
    assert status == 404, (status, e)
    m = node.api.ok("POST", f"/api/desk/requests/{a['id']}/reply", op1, {"body": "Ответ", "client_id": "r-1"})
    again = node.api.ok("POST", f"/api/desk/requests/{a['id']}/reply", op1, {"body": "Ответ", "client_id": "r-1"})
    assert m["id"] == again["id"], "a resend is stored once"
    status, e = node.api.request("PATCH", f"/api/desk/requests/{a['id']}/fields", op1, {"fields": {"nonsense": "x"}})
    assert (status, e.get("reason")) == (400, "field_unknown"), (status, e)


def test_a_note_calls_a_colleague_and_labels_filter_the_list(hub, new_context):
    """On the demo's desk: an engineer's note names a colleague by @login (picked from the
    suggestions) and the colleague's page says so at once; a label put on the card shows on the
    list and filters it; an unknown login stays plain text and tells nobody."""
    admin = hub.api.login(*tgkit.ADMIN)
    setup = hub.api.ok("GET", "/api/admin/desk", admin)
    incident = next(t["id"] for t in setup["request_types"] if t["name"] == "Инцидент")
    shop = next(s["id"] for s in setup["sites"] if "Тверской" in s["name"])
    op = hub.api.login(*hubnode.OPERATOR1)
    a = hub.api.ok("POST", "/api/desk/requests", op, {"type_id": incident, "subject": "Не работает терминал", "site_id": shop})
    b = hub.api.ok("POST", "/api/desk/requests", op, {"type_id": incident, "subject": "Погасла вывеска", "site_id": shop})

    ivan = new_context(**DESKTOP_VIEW).new_page()
    desk_sign_in(ivan, hub, hubnode.OPERATOR2)
    anna = new_context(**DESKTOP_VIEW).new_page()
    desk_sign_in(anna, hub, hubnode.OPERATOR1)
    anna.locator(f'[data-testid="request-item"][data-request-id="{a["id"]}"]').click()
    expect(anna.get_by_test_id("request-card")).to_have_attribute("data-ready", "1")

    note = anna.get_by_test_id("note-text")
    note.press_sequentially("Терминал не ловит сеть, @ope")
    pick = anna.locator('[data-testid="note-mention"][data-login="operator2"]')
    expect(pick).to_be_visible()
    expect(anna.locator('[data-testid="note-mention"][data-login="operator1"]')).to_have_count(0)
    pick.click()
    expect(note).to_have_value("Терминал не ловит сеть, @operator2 ")
    note.press_sequentially("глянь, пожалуйста; @nobody тоже")
    anna.get_by_test_id("note-add").click()
    event = anna.locator('[data-testid="card-event"][data-kind="comment"]')
    expect(event).to_contain_text("Иван Смирнов")
    told = ivan.locator(f'[data-testid="desk-alert"][data-kind="mention"][data-request-id="{a["id"]}"]')
    expect(told).to_contain_text("Анна Петрова")
    screenshot(ivan, "desk-mention")
    told.locator("button.linkish").click()
    expect(ivan.get_by_test_id("request-card")).to_have_attribute("data-request-id", str(a["id"]))
    card = hub.api.ok("GET", f"/api/desk/requests/{a['id']}", op)
    comment = next(e for e in card["events"] if e["kind"] == "comment")
    assert comment["data"]["mentions"] == [user_id(hub, hubnode.OPERATOR2)], comment

    anna.get_by_test_id("label-new").fill("терминал")
    anna.get_by_test_id("label-add").click()
    expect(anna.get_by_test_id("card-label")).to_have_text(["терминал×"])
    item = anna.locator(f'[data-testid="request-item"][data-request-id="{a["id"]}"]')
    expect(item.get_by_test_id("request-label")).to_have_text("терминал")
    anna.get_by_test_id("filter-label").select_option("терминал")
    expect(anna.get_by_test_id("request-item")).to_have_count(1)
    expect(anna.locator(f'[data-testid="request-item"][data-request-id="{b["id"]}"]')).to_have_count(0)
    status, e = hub.api.request("PUT", f"/api/desk/requests/{a['id']}/labels", op, {"labels": ["x" * 41]})
    assert (status, e.get("field")) == (400, "labels"), (status, e)


def test_impact_set_on_the_card_changes_the_service_level(hub, new_context):
    """A supervisor raises a request's impact on its card: the SLA its policies now choose
    applies at once (the clock's target, the history naming the new policy); an engineer who
    does not hold the request sees the levels but cannot change them."""
    admin = hub.api.login(*tgkit.ADMIN)
    setup = hub.api.ok("GET", "/api/admin/desk", admin)
    incident = next(t["id"] for t in setup["request_types"] if t["name"] == "Инцидент")
    post = lambda path, body: hub.api.ok("POST", "/api/admin/desk/" + path, admin, body, want=201)["id"]  # noqa: E731
    site = post("sites", {"name": "Киоск на вокзале", "lon": 37.65, "lat": 55.77})
    post("policies", {"name": "Остановка продаж", "kind": "sla", "targets": {"resolution_mins": 60},
                      "conditions": {"sites": [site], "impacts": ["high"]}})
    post("policies", {"name": "Киоски", "kind": "sla", "targets": {"resolution_mins": 480}, "conditions": {"sites": [site]}})
    op = hub.api.login(*hubnode.OPERATOR1)
    r = hub.api.ok("POST", "/api/desk/requests", op, {"type_id": incident, "subject": "Не печатает чеки", "site_id": site})

    sup = new_context(**DESKTOP_VIEW).new_page()
    desk_sign_in(sup, hub, hubnode.SUPERVISOR)
    # A new site that no routing rule names: no group holds it, so it is under All.
    sup.get_by_test_id("view-all").click()
    sup.locator(f'[data-testid="request-item"][data-request-id="{r["id"]}"]').click()
    card_box = sup.get_by_test_id("request-card")
    expect(card_box).to_have_attribute("data-ready", "1")
    clock = sup.locator('[data-testid="card-timer"][data-track="sla"][data-clock="resolution"]')
    expect(clock).to_have_attribute("data-target", str(480 * 60))
    impact = sup.get_by_test_id("card-impact-set")
    expect(impact).to_have_value("medium")
    expect(impact).to_be_enabled()
    impact.select_option("high")
    expect(clock).to_have_attribute("data-target", str(60 * 60))
    expect(sup.locator('[data-testid="card-event"][data-kind="policy"]').first).to_contain_text(
        "Сменилось соглашение об уровне сервиса: Остановка продаж")
    expect(sup.locator('[data-testid="card-event"][data-kind="impact"]')).to_contain_text("Влияние: Высокое")
    screenshot(sup, "desk-impact")
    assert hub.api.ok("GET", f"/api/desk/requests/{r['id']}", op)["request"]["impact"] == "high"

    # A new request filed under one of its type's categories, from the form.
    sup.get_by_test_id("new-open").click()
    expect(sup.get_by_test_id("new-category")).to_be_hidden()
    sup.get_by_test_id("new-type").select_option(label="Инцидент")
    expect(sup.get_by_test_id("new-category")).to_be_visible()
    sup.get_by_test_id("new-category").select_option("Принтеры")
    sup.get_by_test_id("new-subject").fill("Замяло бумагу")
    sup.get_by_test_id("new-submit").click()
    expect(sup.get_by_test_id("card-subject")).to_have_text("Замяло бумагу")
    expect(sup.get_by_test_id("card-category")).to_have_text("Принтеры")

    anna = new_context(**DESKTOP_VIEW).new_page()
    desk_sign_in(anna, hub, hubnode.OPERATOR2)
    anna.get_by_test_id("view-all").click()
    anna.locator(f'[data-testid="request-item"][data-request-id="{r["id"]}"]').click()
    expect(anna.get_by_test_id("request-card")).to_have_attribute("data-ready", "1")
    expect(anna.get_by_test_id("card-impact-set")).to_have_value("high")
    expect(anna.get_by_test_id("card-impact-set")).to_be_disabled()
    expect(anna.get_by_test_id("card-priority-set")).to_be_disabled()


def test_a_clients_history_is_its_requests(hub, new_context):
    """The Clients tab lists the demo's client with its sites and requests; a click shows every
    request of theirs, closed ones too, and nobody else's."""
    admin = hub.api.login(*tgkit.ADMIN)
    setup = hub.api.ok("GET", "/api/admin/desk", admin)
    incident = next(t["id"] for t in setup["request_types"] if t["name"] == "Инцидент")
    shop = next(s for s in setup["sites"] if "Тверской" in s["name"])
    other = hub.api.ok("POST", "/api/admin/desk/counterparties", admin, {"name": "Сторонний клиент"})["id"]
    sup = hub.api.login(*hubnode.SUPERVISOR)
    mine = [hub.api.ok("POST", "/api/desk/requests", sup, {"type_id": incident, "subject": f"Север {n}", "site_id": shop["id"]})
            for n in range(3)]
    hub.api.ok("POST", f"/api/desk/requests/{mine[0]['id']}/move", sup, {"to": "closed", "comment": "дубль"})
    stranger = hub.api.ok("POST", "/api/desk/requests", sup, {"type_id": incident, "subject": "Чужая", "counterparty_id": other})

    page = new_context(**DESKTOP_VIEW).new_page()
    desk_sign_in(page, hub, hubnode.OPERATOR1)
    page.get_by_test_id("tab-clients").click()
    expect(page.locator("#panel-clients")).to_have_attribute("data-ready", "1")
    row = page.locator(f'[data-testid="client-counterparty"][data-id="{shop["counterparty_id"]}"]')
    expect(row).to_contain_text("Торговый дом «Север»")
    expect(row.locator("td").nth(2)).to_have_text("2")  # sites
    expect(row.locator("td").nth(3)).to_have_text("3")  # requests
    expect(row.locator("td").nth(4)).to_have_text("2")  # open
    row.click()
    expect(page.get_by_test_id("filter-client")).to_contain_text("Торговый дом «Север»")
    items = page.get_by_test_id("request-item")
    expect(items).to_have_count(3)
    expect(page.locator(f'[data-testid="request-item"][data-request-id="{stranger["id"]}"]')).to_have_count(0)
    expect(page.locator(f'[data-testid="request-item"][data-request-id="{mine[0]["id"]}"]')).to_have_attribute("data-status", "closed")
    page.get_by_test_id("filter-client-clear").click()
    expect(page.locator(f'[data-testid="request-item"][data-request-id="{mine[0]["id"]}"]')).to_have_count(0)
    screenshot(page, "desk-clients")


def test_search_finds_requests_and_threads_by_word_forms(hub, new_context):
    """The desk's find box: Russian words in another form find a request by its subject and a
    web chat by its message; the chat becomes a request from the hit, and the same words then
    find both requests; "#id" still filters the list as read."""
    admin = hub.api.login(*tgkit.ADMIN)
    setup = hub.api.ok("GET", "/api/admin/desk", admin)
    incident = next(t["id"] for t in setup["request_types"] if t["name"] == "Инцидент")
    op = hub.api.login(*hubnode.OPERATOR1)
    shown = hub.api.ok("POST", "/api/desk/requests", op, {"type_id": incident, "subject": "Не светится витрина у входа"})
    other = hub.api.ok("POST", "/api/desk/requests", op, {"type_id": incident, "subject": "Сломан турникет"})

    visitor = new_context(**DESKTOP_VIEW).new_page()
    visitor.goto(hub.url("/widget?key=demo&lang=ru"))
    chat = visitor
    expect(chat.get_by_test_id("ws-status")).to_have_attribute("data-state", "live")
    chat.get_by_test_id("chat-input").fill("Здравствуйте! В витринах на втором этаже мигает свет")
    chat.get_by_test_id("chat-send").click()
    expect(chat.locator('[data-testid="chat-message"][data-author="visitor"]').first).to_have_attribute("data-state", "sent")

    page = new_context(**DESKTOP_VIEW).new_page()
    desk_sign_in(page, hub, hubnode.OPERATOR1)
    page.get_by_test_id("view-all").click()
    page.get_by_test_id("filter-text").fill("витрины")
    items = page.get_by_test_id("request-item")
    expect(items).to_have_count(1)
    expect(items.first).to_have_attribute("data-request-id", str(shown["id"]))
    hit = page.get_by_test_id("thread-hit")
    expect(hit).to_have_count(1)
    expect(hit.get_by_test_id("thread-hit-line")).to_contain_text("мигает свет")
    screenshot(page, "desk-search")
    hit.get_by_test_id("thread-hit-make").click()
    expect(page.get_by_test_id("new-thread")).to_be_visible()
    expect(page.get_by_test_id("new-subject")).to_have_value(re.compile("витринах"))
    page.get_by_test_id("new-type").select_option(str(incident))
    page.locator("#new-form button[type=submit]").click()
    card = page.get_by_test_id("request-card")
    expect(card).to_have_attribute("data-ready", "1")
    made = int(card.get_attribute("data-request-id"))
    assert made not in (shown["id"], other["id"])
    expect(items).to_have_count(2)
    expect(page.get_by_test_id("thread-hit-request")).to_have_text(re.compile(f"{made}"))
    # "#id" filters the list as read, searching nothing.
    page.get_by_test_id("filter-text").fill(f"#{other['id']}")
    expect(page.get_by_test_id("thread-hits")).to_be_hidden()
    page.get_by_test_id("view-all").click()
    expect(page.locator(f'[data-testid="request-item"][data-request-id="{other["id"]}"]')).to_have_count(1)
    # Words nobody wrote: nothing, said so.
    page.get_by_test_id("filter-text").fill("дирижабль")
    expect(items).to_have_count(0)
    expect(page.get_by_test_id("list-none")).to_be_visible()
    expect(page.get_by_test_id("thread-hits-none")).to_be_visible()


def test_a_status_tells_the_customer_by_mail(hub_store, maildev):
    """A workflow whose "В работе" tells the customer: the mail that opened the request is answered
    by mail, in its thread, with the request's number and status, once."""
    store = hub_store()
    smtp_port = hubnode.free_port()
    node = mailkit.email_node(store, maildev, smtp_port)
    admin = node.api.login(*tgkit.ADMIN)
    queue = tgkit.chat_queue(node.api, admin)
    mailkit.add_mailbox(node, admin, queue)
    d = set_up_desk(node, admin, queue)
    flow = node.api.ok("GET", "/api/admin/desk", admin)
    wf = next(t["workflow_id"] for t in flow["request_types"] if t["id"] == d["incident"])
    body = json.loads(json.dumps(WORKFLOW))
    body["statuses"][1]["on_enter"] = [{"do": "notify_customer", "template": "Заявка №{id} «{subject}»: {status}."}]
    node.api.ok("PUT", f"/api/admin/desk/workflows/{wf}", admin, {"body": body})
    mail_in(smtp_port, PETR, "Сканер не видит штрихкоды", "Магазин на Тверской: сканер на кассе 1.")
    op1 = node.api.login(*hubnode.OPERATOR1)
    r = request_with(node, op1, "Сканер")
    node.api.ok("POST", f"/api/desk/requests/{r['id']}/move", op1, {"to": "work"})
    want = f"Заявка №{r['id']} «Сканер не видит штрихкоды»: В работе."
    got = tgkit.wait(lambda: [m for m in maildev.to(PETR) if want in (m.get("text") or "")],
                     timeout=30, what="the notice by mail")
    assert len(got) == 1, got
    assert "Сканер не видит штрихкоды" in got[0]["subject"], got[0]["subject"]
    c = card(node, op1, r["id"])
    notice = next(e for e in c["events"] if e["kind"] == "notice")
    assert notice["data"]["text"] == want and notice["data"]["conversation_id"], notice
