"""A branch's first hour at the windows, as new operators meet it in the console (issue #10's
items 1 to 4): one window, one operator; buttons enabled only when their action is allowed, with
refusals in the page's language; leaving with a ticket in hand asks, and a console that closes
and does not come back signs its operator off; a break ends only by saying so."""
from __future__ import annotations


from playwright.sync_api import expect

import hubnode
from hubnode import BUSINESSES, CONSULTATION, DEMO_SERVICES, WINDOW_1, WINDOW_2
from ui import DESKTOP_VIEW, operator_sign_in, operator_start_work, screenshot, wait_for




def test_one_window_one_operator_and_the_reason_in_russian(hub, new_context):
    op1 = hub.api.operator_at(hubnode.OPERATOR1, WINDOW_1)
    page = new_context(**DESKTOP_VIEW).new_page()
    operator_sign_in(page, hub, hubnode.OPERATOR2)
    t = page.get_by_test_id
    t("window-select").select_option(str(WINDOW_1))
    for box in t("service-checkbox").all():
        box.set_checked(True)
    t("start-work").click()
    expect(t("message")).to_have_attribute("data-kind", "error")
    expect(t("message")).to_have_text("За окном 1 работает другой оператор: выберите другое окно.")
    screenshot(page, "branch_day_window_taken_ru")
    # The same refusal, in English after the switch: nothing of the other language is left.
    page.locator(".lang-toggle button", has_text="EN").click()
    t("start-work").click()
    expect(t("message")).to_have_text("Another operator is at window 1: choose another window.")
    operator_start_work(page, WINDOW_2, DEMO_SERVICES)
    assert hub.api.ok("GET", "/api/operator", op1)["state"]["window_id"] == WINDOW_1


def test_buttons_follow_what_is_allowed(hub, new_context):
    kiosk = hub.api.kiosk()
    ticket = hub.api.issue(kiosk, CONSULTATION)["ticket"]
    page = new_context(**DESKTOP_VIEW).new_page()
    operator_sign_in(page, hub, hubnode.OPERATOR1)
    t = page.get_by_test_id
    operator_start_work(page, WINDOW_1, DEMO_SERVICES)
    t("call-next").click()
    expect(t("current-number")).to_have_text(ticket["number"])
    # No-show only after the branch's recall (one in the demo): not right after the call.
    expect(t("no-show")).to_be_disabled()
    expect(t("recall")).to_be_enabled()
    t("recall").click()
    expect(t("no-show")).to_be_enabled()
    t("no-show").click()
    expect(t("current-number")).to_have_text("")
    # A break: "call next" waits for "back to work".
    t("break-reason").select_option("Обед")
    t("take-break").click()
    expect(page.locator("#presence")).to_have_attribute("data-status", "break")
    expect(t("call-next")).to_be_disabled()
    t("back-to-work").click()
    expect(page.locator("#presence")).to_have_attribute("data-status", "available")
    expect(t("call-next")).to_be_enabled()


def test_signing_out_with_a_ticket_in_hand_asks(hub, new_context):
    kiosk = hub.api.kiosk()
    first = hub.api.issue(kiosk, BUSINESSES)["ticket"]
    hub.api.issue(kiosk, BUSINESSES)
    page = new_context(**DESKTOP_VIEW).new_page()
    operator_sign_in(page, hub, hubnode.OPERATOR1)
    t = page.get_by_test_id
    operator_start_work(page, WINDOW_1, DEMO_SERVICES)
    t("call-next").click()
    expect(t("current-number")).to_have_text(first["number"])

    page.locator("#signout").click()
    dialog = t("leave-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(first["number"])
    screenshot(page, "branch_day_leave_dialog")
    # Staying keeps everything as it was.
    t("leave-cancel").click()
    expect(dialog).to_be_hidden()
    expect(t("current-number")).to_have_text(first["number"])

    page.locator("#signout").click()
    t("leave-return").click()
    expect(page).to_have_url(hub.url("/login"))
    # The visitor is first in line again, for the next operator.
    op2 = hub.api.operator_at(hubnode.OPERATOR2, WINDOW_2)
    assert hub.api.call_next(op2)["id"] == first["id"]


def test_a_console_that_closes_signs_its_operator_off(hub_store, new_context):
    store = hub_store()
    store.extra_env["HUB_CONSOLE_GRACE_SECS"] = "5"
    node = store.start()
    kiosk = node.api.kiosk()
    first = node.api.issue(kiosk, CONSULTATION)["ticket"]
    context = new_context(**DESKTOP_VIEW)
    page = context.new_page()
    operator_sign_in(page, node, hubnode.OPERATOR1)
    operator_start_work(page, WINDOW_1, DEMO_SERVICES)
    page.get_by_test_id("call-next").click()
    expect(page.get_by_test_id("current-number")).to_have_text(first["number"])
    op1 = node.api.login(*hubnode.OPERATOR1)

    # A reload comes back live with the ticket in hand (that a reload within the grace keeps the
    # operator at work is timed in tests/it/windows.rs).
    page.reload()
    expect(page.get_by_test_id("ws-status")).to_have_attribute("data-state", "live")
    expect(page.get_by_test_id("current-number")).to_have_text(first["number"])

    # Closing the browser is, once the grace has passed: signed off, the visitor back in line.
    context.close()
    wait_for("the operator signed off", lambda: (
        lambda v: v["state"]["presence"]["state"] == "offline" and v["in_hand"] is None
    )(node.api.ok("GET", "/api/operator", op1)))
    op2 = node.api.operator_at(hubnode.OPERATOR2, WINDOW_2)
    assert node.api.call_next(op2)["id"] == first["id"]


# Each word of each action button on one line: a word cut across lines shows as two boxes.
CUT_WORDS = """() => {
  const cut = [];
  for (const b of document.querySelectorAll('.actions .btn')) {
    if (!b.offsetParent) continue;
    const node = [...b.childNodes].find((n) => n.nodeType === 3 && n.textContent.trim());
    if (!node) continue;
    const text = node.textContent;
    let at = 0;
    for (const word of text.split(/\\s+/).filter(Boolean)) {
      const start = text.indexOf(word, at);
      at = start + word.length;
      const r = document.createRange();
      r.setStart(node, start);
      r.setEnd(node, at);
      const lines = new Set([...r.getClientRects()].map((x) => Math.round(x.top)));
      if (lines.size > 1) cut.push(word);
    }
  }
  return cut;
}"""


def test_console_buttons_keep_their_words_whole(hub, new_context):
    kiosk = hub.api.kiosk()
    hub.api.issue(kiosk, CONSULTATION)
    # The widest last: there a ticket is called too, and the console keeps it in hand.
    for width, height in ((1366, 768), (390, 844), (1440, 900)):
        page = new_context(viewport={"width": width, "height": height}).new_page()
        operator_sign_in(page, hub, hubnode.OPERATOR1)
        operator_start_work(page, WINDOW_1, DEMO_SERVICES)
        if width == 1440:
            page.get_by_test_id("call-next").click()
            expect(page.get_by_test_id("start-service")).to_be_enabled()
        for lang in ("ru", "en"):
            page.locator(f'.lang-toggle button[data-lang="{lang}"]').click()
            expect(page.locator("html")).to_have_attribute("lang", lang)
            assert page.evaluate(CUT_WORDS) == [], (width, lang)
        screenshot(page, f"branch_day_console_{width}")
        page.close()
