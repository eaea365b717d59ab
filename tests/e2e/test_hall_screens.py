"""The hall's screens as a branch puts them up (issue #10, items 5, 7 and 8): the board fitted to
any TV with its template (rows, banner, logo, colours, the Status column), the branch's time,
nothing for the public to press, served calls apart from live ones, a transferred call no longer
said; the kiosk's VIP mark, "you are next", its logo, a printed ticket on a 58 or 80 mm roll, and
a QR code a phone can open or a clear word why not."""
from __future__ import annotations

import base64
import datetime
import json
import struct
import zlib
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

import hubnode
from hubnode import BUSINESSES, CONSULTATION, PAYMENTS, WINDOW_1
from ui import BOARD_VIEW, KIOSK_VIEW, board_sign_in, kiosk_sign_in, kiosk_take_ticket, screenshot, wait_for

# A small PNG (a yellow square) as a device logo.
LOGO = "data:image/png;base64," + base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000010000000100802000000909168360000001749444154789c63f87f86"
    "8124449aea510da31a869406000350cb107269c8d00000000049454e44ae426082")).decode()
BANNER = "Пн–Пт 9:00–20:00, Сб 10:00–16:00 · Ул. Примерная, 1 · Справки: 8 800 000-00-00"


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain PNG of one colour, written by hand (no imaging library on the test machine)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# A wide banner picture (an announcement strip), 8:1.
BANNER_IMAGE = "data:image/png;base64," + base64.b64encode(png(800, 100, (30, 120, 220))).decode()




def device_id(api: hubnode.Api, creds) -> int:
    return api.ok("GET", "/api/me", api.device(*creds))["device_id"]


def boxes(page, selector: str) -> list[dict]:
    return page.evaluate("""(sel) => [...document.querySelectorAll(sel)].map((n) => {
        const r = n.getBoundingClientRect();
        return { top: r.top, bottom: r.bottom, left: r.left, right: r.right, width: r.width, height: r.height,
                 scrollW: n.scrollWidth, clientW: n.clientWidth };
    })""", selector)


def serve_calls(api: hubnode.Api, op: str, kiosk: str, n: int) -> list[dict]:
    """n calls to window 1, one after another; each but the last finished."""
    called = []
    for i in range(n):
        api.issue(kiosk, [CONSULTATION, PAYMENTS, BUSINESSES][i % 3])
        t = api.call_next(op)
        called.append(t)
        if i < n - 1:
            api.act(op, t["id"], "finish")
    return called


@pytest.mark.parametrize("viewport", [(1920, 1080), (1366, 768), (1080, 1920)])
def test_board_fits_every_row_and_the_banner_on_any_screen(hub, new_context, viewport):
    api = hubnode.Api(hub.base)
    admin = api.login("admin", "demo-admin")
    board = device_id(api, hubnode.BOARD)
    api.ok("PUT", f"/api/admin/devices/{board}/look", admin,
           {"rows": 8, "banner": BANNER, "banner_image": BANNER_IMAGE, "logo": LOGO, "accent": "#ffcc00"})
    op = api.operator_at(hubnode.OPERATOR1, WINDOW_1)
    called = serve_calls(api, op, api.kiosk(), 9)

    w, h = viewport
    page = new_context(viewport={"width": w, "height": h}, timezone_id="America/New_York").new_page()
    board_sign_in(page, hub, hubnode.BOARD)
    rows = page.get_by_test_id("board-row")
    expect(rows).to_have_count(8)
    expect(page.get_by_test_id("board-banner")).to_have_text(BANNER)
    expect(page.get_by_test_id("board-logo")).to_be_visible()
    expect(page.get_by_test_id("board-banner-image")).to_be_visible()
    # Newest first: the last call is live, the ones before it served (and look it).
    expect(rows.first).to_have_attribute("data-status", "called")
    expect(rows.first.get_by_test_id("board-status")).to_have_text("Приглашается")
    expect(rows.nth(1)).to_have_attribute("data-status", "done")
    expect(rows.nth(1).get_by_test_id("board-status")).to_have_text("Обслужен")
    assert float(rows.nth(1).evaluate("n => getComputedStyle(n).opacity")) < 0.8
    assert rows.first.evaluate("n => getComputedStyle(n).opacity") == "1"
    expect(rows.first.get_by_test_id("board-number")).to_have_text(called[-1]["number"])
    # Every row and the banner are inside the screen, whole; the page does not scroll.
    for name, sel in (("row", '[data-testid="board-row"]'), ("banner", '[data-testid="board-banner"]'),
                      ("banner picture", '[data-testid="board-banner-image"]'), ("head", ".board-head")):
        for b in boxes(page, sel):
            assert b["top"] >= 0 and b["bottom"] <= h + 0.5 and b["left"] >= 0 and b["right"] <= w + 0.5, (name, b, viewport)
            assert b["height"] > 0, (name, b)
    screenshot(page, f"board_{w}x{h}")
    cut = page.evaluate("""() => [...document.querySelectorAll('[data-testid="board-row"] > span')]
        .filter((n) => n.scrollWidth > n.clientWidth + 1).map((n) => n.textContent + ' ' + n.scrollWidth + '>' + n.clientWidth)""")
    assert cut == [], f"cut off: {cut}"
    doc = page.evaluate("() => [document.documentElement.scrollHeight, document.documentElement.scrollWidth]")
    assert doc[0] <= h and doc[1] <= w, doc
    # The picture is whole (its own proportions) and takes at most a fifth of the screen.
    pic = boxes(page, '[data-testid="board-banner-image"]')[0]
    assert pic["height"] <= h * 0.2 + 0.5 and abs(pic["width"] / pic["height"] - 8) < 0.1, pic
    # Rows share the height: a TV shows big numbers (more than 5% of the screen's height each).
    row_h = boxes(page, '[data-testid="board-row"]')[0]["height"]
    assert row_h >= h * 0.05, row_h
    # The clock is the branch's (Moscow), not the TV's (New York).
    moscow = datetime.datetime.now(ZoneInfo("Europe/Moscow"))
    shown = page.get_by_test_id("board-clock").inner_text()
    allowed = {(moscow + datetime.timedelta(minutes=d)).strftime("%H:%M") for d in (-1, 0, 1)}
    assert shown in allowed, (shown, allowed)
    # Nothing for the public to press: no visible link, button, field or language switch.
    clickable = page.evaluate("""() => [...document.querySelectorAll('a, button, input, select, textarea, [role=button]')]
        .filter((n) => n.getClientRects().length && getComputedStyle(n).visibility !== 'hidden').map((n) => n.outerHTML)""")
    assert clickable == [], clickable
    expect(page.get_by_test_id("ws-status")).to_be_hidden()


def test_board_shows_the_change_at_once_and_forgets_a_transferred_call(hub, new_context):
    api = hubnode.Api(hub.base)
    admin = api.login("admin", "demo-admin")
    board = device_id(api, hubnode.BOARD)
    kiosk = api.kiosk()
    op1 = api.operator_at(hubnode.OPERATOR1, WINDOW_1)
    op2 = api.operator_at(hubnode.OPERATOR2, hubnode.WINDOW_2)
    for _ in range(2):
        api.issue(kiosk, CONSULTATION)
    page = new_context(**BOARD_VIEW).new_page()
    board_sign_in(page, hub, hubnode.BOARD)
    voice = api.ok("GET", "/api/board/voice", api.device(*hubnode.BOARD))

    # Two calls at once: the second waits its turn to be said, and is transferred meanwhile.
    first = api.call_next(op1)
    second = api.call_next(op2)
    api.act(op2, second["id"], "transfer", {"service_id": BUSINESSES, "placement": "front"})
    rows = page.get_by_test_id("board-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-ticket-id", str(first["id"]))
    if voice["voice"] and voice["available"]:
        said = wait_for("both calls dealt with by the announcer", lambda: (lambda s: s if len(s) == 2 and all(
            e["ended"] or e["error"] or e["skipped"] for e in s) else None)(
            page.evaluate("() => JSON.parse(JSON.stringify(window.__hubAnnouncements))")), 60)
        assert said[0]["number"] == first["number"] and said[0]["skipped"] is None, said
        assert said[1]["number"] == second["number"] and said[1]["skipped"] in ("left", "stopped"), said
        assert said[1]["skipped"] == "left" or said[1]["ended"] is not None, said

    # Started: the row says so; finished: served, faded.
    api.act(op1, first["id"], "start")
    expect(rows.first).to_have_attribute("data-status", "serving")
    expect(rows.first.get_by_test_id("board-status")).to_have_text("Обслуживается")
    api.act(op1, first["id"], "finish")
    expect(rows.first).to_have_attribute("data-status", "done")
    # The template changed in the back office: the board takes it without a reload.
    api.ok("PUT", f"/api/admin/devices/{board}/look", admin, {"banner": "Скоро закрываемся", "status_column": False})
    expect(page.get_by_test_id("board-banner")).to_have_text("Скоро закрываемся")
    expect(rows.first.get_by_test_id("board-status")).to_be_hidden()
    admin_ok = api.ok("PUT", f"/api/admin/devices/{board}/look", admin, {})
    assert admin_ok["kind"] == "board" and admin_ok["look"]["status_column"] is True


def test_a_board_that_missed_a_change_takes_the_board_whole_again(hub, new_context):
    """After its snapshot a board is sent each change alone, numbered. A change lost on the way
    (here the test's own relay drops the second call) must not leave the board showing a list
    without it: the next change's number shows the gap, and the page reconnects for the whole
    board."""
    api = hubnode.Api(hub.base)
    kiosk = api.kiosk()
    op1 = api.operator_at(hubnode.OPERATOR1, WINDOW_1)
    op2 = api.operator_at(hubnode.OPERATOR2, hubnode.WINDOW_2)
    for _ in range(2):
        api.issue(kiosk, CONSULTATION)
    page = new_context(**BOARD_VIEW).new_page()
    relayed: list[list[dict]] = []

    def relay(ws):
        seen: list[dict] = []
        relayed.append(seen)
        server = ws.connect_to_server()

        def from_server(message):
            msg = json.loads(message)
            seen.append(msg)
            calls = [m for m in seen if m.get("op") == "call"]
            if len(relayed) == 1 and msg.get("op") == "call" and len(calls) == 2:
                return  # lost
            ws.send(message)
        server.on_message(from_server)
    page.route_web_socket("**/ws/board*", relay)
    board_sign_in(page, hub, hubnode.BOARD)

    first = api.call_next(op1)
    rows = page.get_by_test_id("board-row")
    expect(rows).to_have_count(1)
    second = api.call_next(op2)
    api.act(op1, first["id"], "start")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-ticket-id", str(second["id"]))
    expect(rows.nth(1)).to_have_attribute("data-status", "serving")
    assert len(relayed) == 2, relayed
    assert [m["type"] for m in relayed[0]] == ["board", "board_change", "board_change", "board_change"], relayed[0]
    assert [m["seq"] for m in relayed[0][1:]] == [relayed[0][0]["seq"] + i for i in (1, 2, 3)], relayed[0]
    assert relayed[1][0]["type"] == "board", relayed[1]


def test_board_look_is_checked_field_by_field(hub):
    api = hubnode.Api(hub.base)
    admin = api.login("admin", "demo-admin")
    board = device_id(api, hubnode.BOARD)
    for body, field, reason in (({"rows": 0}, "rows", "range"), ({"accent": "yellow"}, "accent", "colour"),
                                ({"logo": "https://example.org/logo.png"}, "logo", "image"),
                                ({"banner": "x" * 301}, "banner", "too_long")):
        status, data = api.request("PUT", f"/api/admin/devices/{board}/look", admin, body)
        assert status == 400 and data["field"] == field and data["reason"] == reason, (body, status, data)
    status, data = api.request("PUT", f"/api/admin/devices/{board}/look", admin, {"colour": "#fff"})
    assert status == 400 and data["code"] == "invalid", data
    # A kiosk's options are not a board's.
    kiosk = device_id(api, hubnode.KIOSK)
    status, _ = api.request("PUT", f"/api/admin/devices/{kiosk}/look", admin, {"rows": 5})
    assert status == 400
    # Another organisation's admin does not see this device.
    _, login, password = hub.store.second_org()
    status, _ = api.request("GET", f"/api/admin/devices/{board}/look", api.login(login, password))
    assert status == 404


# A TV's browser keeps a page's sound off until someone has touched it (Chrome's autoplay rule
# for Web Audio: a context starts only in a document with a user activation). Headless Chromium
# here does not enforce it (its contexts run at once), so the rule is put back: a context made
# before anyone touched the page stays suspended (as the page reads its state) until a resume
# after a touch. A touch is a real input event, not navigator.userActivation: Playwright's own
# evaluations (every expect's poll) count as activations there, which made the test a race.
STRICT_AUDIO = """(() => {
  const Real = window.AudioContext;
  if (!Real) return;
  let touched = false;
  for (const type of ['pointerdown', 'keydown']) {
    window.addEventListener(type, (e) => { if (e.isTrusted) touched = true; }, true);
  }
  window.AudioContext = class extends Real {
    constructor(...args) {
      super(...args);
      this.locked = !touched;
    }
    get state() { return this.locked ? 'suspended' : super.state; }
    resume() {
      if (this.locked && touched) {
        this.locked = false;
        this.dispatchEvent(new Event('statechange'));
      }
      return this.locked ? Promise.resolve() : Real.prototype.resume.call(this);
    }
  };
})();"""


def test_board_asks_for_a_tap_where_the_browser_keeps_sound_off(hub, new_context):
    ctx = new_context(**BOARD_VIEW, locale="ru-RU")
    ctx.add_init_script(STRICT_AUDIO)
    page = ctx.new_page()
    board_sign_in(page, hub, hubnode.BOARD)
    # Pairing was a tap (the sign-in): sound is on, nothing is asked.
    expect(page.get_by_test_id("board")).to_be_visible()
    expect(page.get_by_test_id("board-sound")).to_be_hidden()
    # The next morning the TV opens the board by itself, with its saved sign-in and nobody
    # touching it: the board asks for a tap, once.
    morning = new_context(**BOARD_VIEW, locale="ru-RU", storage_state=ctx.storage_state())
    morning.add_init_script(STRICT_AUDIO)
    page = morning.new_page()
    page.goto(hub.url("/board"))
    expect(page.get_by_test_id("board")).to_be_visible()
    sound = page.get_by_test_id("board-sound")
    expect(sound).to_be_visible()
    expect(sound).to_have_text("Коснитесь, чтобы включить звук")
    screenshot(page, "board_sound_locked")
    sound.click()
    expect(sound).to_be_hidden()


def test_kiosk_vip_next_logo_and_a_printed_ticket(hub, new_context):
    api = hubnode.Api(hub.base)
    admin = api.login("admin", "demo-admin")
    kiosk_dev = device_id(api, hubnode.KIOSK)
    api.ok("PUT", f"/api/admin/devices/{kiosk_dev}/look", admin, {"print": "mm58", "logo": LOGO})

    ctx = new_context(**KIOSK_VIEW)
    ctx.add_init_script("window.__printCalls = 0; window.print = () => { window.__printCalls += 1; };")
    page = ctx.new_page()
    kiosk_sign_in(page, hub, hubnode.KIOSK)
    expect(page.get_by_test_id("kiosk-logo")).to_be_visible()
    # Nobody ahead: "you are next", no "wait unknown".
    kiosk_take_ticket(page, hubnode.GROUP_INDIVIDUALS, CONSULTATION)
    expect(page.get_by_test_id("ticket-next")).to_have_text("Вы следующий")
    expect(page.get_by_test_id("ticket-eta")).to_be_hidden()
    expect(page.get_by_test_id("ticket-vip")).to_be_hidden()
    expect(page.get_by_test_id("ticket-printed")).to_be_visible()
    wait_for("the ticket printed", lambda: page.evaluate("() => window.__printCalls") == 1)
    number = page.get_by_test_id("ticket-number").inner_text()
    # The paper: the receipt alone, 48 mm wide (a 58 mm roll), the number and its QR code on it.
    page.emulate_media(media="print")
    receipt = page.get_by_test_id("receipt")
    expect(receipt).to_be_visible()
    expect(page.get_by_test_id("receipt-number")).to_have_text(number)
    width_mm = receipt.bounding_box()["width"] / 96 * 25.4
    assert 46 <= width_mm <= 50, width_mm
    assert page.evaluate("() => document.getElementById('receipt-qr').naturalWidth") > 0
    assert page.evaluate("() => getComputedStyle(document.querySelector('.kiosk-main')).display") == "none"
    screenshot(page, "kiosk_receipt_58mm")
    page.emulate_media(media="screen")
    page.get_by_test_id("ticket-done").tap()

    # A VIP ticket is marked so, on screen and on paper (80 mm now).
    api.ok("PUT", f"/api/admin/devices/{kiosk_dev}/look", admin, {"print": "mm80"})
    page.reload()
    expect(page.get_by_test_id("service-button").first).to_be_visible()
    page.get_by_test_id("vip-toggle").tap()
    page.get_by_test_id("vip-code").fill(hubnode.VIP_CODE)
    kiosk_take_ticket(page, None, BUSINESSES)
    expect(page.get_by_test_id("ticket-vip")).to_be_visible()
    wait_for("the VIP ticket printed", lambda: page.evaluate("() => window.__printCalls") == 1)
    page.emulate_media(media="print")
    width_mm = page.get_by_test_id("receipt").bounding_box()["width"] / 96 * 25.4
    assert 70 <= width_mm <= 74, width_mm
    expect(page.locator("#receipt-vip")).to_be_visible()
    screenshot(page, "kiosk_receipt_80mm_vip")


def test_kiosk_says_why_a_phone_cannot_open_its_qr_code(hub, new_context):
    # The test hub listens on 127.0.0.1 only and has no public_url: no phone can open the link.
    page = new_context(**KIOSK_VIEW).new_page()
    kiosk_sign_in(page, hub, hubnode.KIOSK)
    note = page.locator("#phone-box").get_by_test_id("qr-local")
    expect(note).to_be_visible()
    expect(note).to_contain_text("Телефон не откроет этот код")
    data = hubnode.Api(hub.base).ok("GET", "/api/kiosk", hubnode.Api(hub.base).kiosk())
    assert data["phone"]["reachable"] is False, data["phone"]
    screenshot(page, "kiosk_qr_local")


def test_paperless_kiosk_prints_nothing(hub, new_context):
    ctx = new_context(**KIOSK_VIEW)
    ctx.add_init_script("window.__printCalls = 0; window.print = () => { window.__printCalls += 1; };")
    page = ctx.new_page()
    kiosk_sign_in(page, hub, hubnode.KIOSK)
    kiosk_take_ticket(page, None, BUSINESSES)
    expect(page.get_by_test_id("ticket-printed")).to_be_hidden()
    # The ticket's QR code loaded (a print would have gone with it): nothing was printed.
    wait_for("the QR code shown", lambda: page.evaluate("() => document.getElementById('ticket-qr').naturalWidth") > 0)
    assert page.evaluate("() => window.__printCalls + window.__hubPrinted.length") == 0


def test_board_pictures_are_set_and_removed_in_the_back_office(hub, new_context):
    """A branch manager gives the hall's board a banner picture and a logo from the device's
    dialog; a picture too big is refused beside its field; the TV shows them at once, and
    loses them when they are removed."""
    from test_back_office import back_office

    tv = new_context(**BOARD_VIEW).new_page()
    board_sign_in(tv, hub, hubnode.BOARD)
    page = new_context(viewport={"width": 1366, "height": 900}).new_page()
    back_office(page, hub)
    page.get_by_test_id("tab-devices").click()
    row = page.locator(f'[data-testid="device-row"][data-login="{hubnode.BOARD[0]}"]')
    row.get_by_test_id("device-open").click()
    dialog = page.get_by_test_id("device-dialog")
    expect(page.get_by_test_id("look-banner-image-clear")).to_be_hidden()
    # Too big: refused beside the picture's field, in the page's language.
    page.get_by_test_id("look-banner-image").set_input_files(
        {"name": "big.png", "mimeType": "image/png", "buffer": png(1000, 1000, (0, 0, 0)) + b"\0" * 200_000})
    page.get_by_test_id("look-save").click()
    err = dialog.locator('[data-testid="field-error"][data-field="banner_image"]')
    expect(err).to_have_text("Не больше 160 КБ.")
    page.get_by_test_id("look-banner-image").set_input_files(
        {"name": "banner.png", "mimeType": "image/png", "buffer": png(800, 100, (200, 40, 40))})
    page.get_by_test_id("look-logo").set_input_files(
        {"name": "logo.png", "mimeType": "image/png", "buffer": png(64, 64, (255, 210, 0))})
    page.get_by_test_id("look-save").click()
    expect(dialog).to_be_hidden()
    picture = tv.get_by_test_id("board-banner-image")
    expect(picture).to_be_visible()
    expect(tv.get_by_test_id("board-logo")).to_be_visible()
    assert picture.get_attribute("src").startswith("data:image/png;base64,")
    screenshot(tv, "board_banner_picture")

    # Removed: the TV shows none.
    row.get_by_test_id("device-open").click()
    expect(page.get_by_test_id("look-banner-image-clear")).to_be_visible()
    page.get_by_test_id("look-banner-image-clear").check()
    page.get_by_test_id("look-logo-clear").check()
    page.get_by_test_id("look-save").click()
    expect(dialog).to_be_hidden()
    expect(picture).to_be_hidden()
    expect(tv.get_by_test_id("board-logo")).to_be_hidden()
