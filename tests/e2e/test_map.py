"""The map page in Chromium: a supervisor watches a van move as its tracker reports (OsmAnd over
HTTP), sees its speeding in the alerts and its track when chosen. Tiles come from a tile server
the test runs (the installation's `map_tiles`), so the page's policy lets images come from it."""
from __future__ import annotations

import re
import threading
import time
import zlib
import struct
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page, expect

import hubnode
from ui import DESKTOP_VIEW, PHONE_VIEW, BOARD_VIEW, screenshot, ws_live


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain PNG of one colour."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


TILE = png(256, 256, (232, 236, 228))


class Tiles:
    def __init__(self):
        self.hits = 0
        tiles = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the standard library's name)
                if not re.fullmatch(r"/\d+/\d+/\d+\.png", self.path):
                    self.send_error(404)
                    return
                tiles.hits += 1
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(TILE)))
                self.end_headers()
                self.wfile.write(TILE)

            def log_message(self, *_):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def tiles():
    t = Tiles()
    yield t
    t.server.shutdown()


def report(node, device: str, lat: float, lon: float, kmh: float, at_ms: int) -> None:
    """One OsmAnd report (speed in knots)."""
    q = f"/api/trackers/osmand?id={device}&lat={lat}&lon={lon}&timestamp={at_ms}&speed={kmh / 1.852}"
    status, body = node.api.request("GET", q)
    assert status == 200, body


def sign_in(page: Page, node, creds) -> None:
    page.goto(node.url("/map"))
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fmap$"))
    page.get_by_test_id("login-input").fill(creds[0])
    page.get_by_test_id("password-input").fill(creds[1])
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(node.url("/map"))
    expect(page.get_by_test_id("map-page")).to_have_attribute("data-ready", "1")
    ws_live(page)


def test_vehicles_move_live_on_the_map(hub_store, new_context, tiles):
    store = hub_store()
    store.extra_env["HUB_MAP_TILES"] = tiles.url + "/{z}/{x}/{y}.png"
    store.extra_env["HUB_MAP_ATTRIBUTION"] = "<b>Test tiles</b>"
    node = store.start()
    admin = node.api.login("admin", "demo-admin")
    van = node.api.ok("POST", "/api/admin/vehicles", admin, {"name": "Газель <1>", "plate": "А123ВС77"}, want=201)
    node.api.ok("POST", "/api/admin/trackers", admin, {"protocol": "osmand", "unique_id": "van-1", "vehicle_id": van["id"]}, want=201)
    now = int(time.time() * 1000)
    report(node, "van-1", 55.75, 37.60, 0, now - 120_000)

    page = new_context(**DESKTOP_VIEW).new_page()
    sign_in(page, node, hubnode.SUPERVISOR)
    marker = page.locator(f'[data-testid="map-vehicle"][data-id="{van["id"]}"]')
    expect(marker).to_have_attribute("data-lat", "55.75")
    # The name is text, never markup; the owner's attribution too.
    expect(marker).to_contain_text("Газель <1>")
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("<b>Test tiles</b>")
    item = page.locator(f'[data-testid="map-vehicle-item"][data-id="{van["id"]}"]')
    expect(item.get_by_test_id("map-vehicle-state")).to_have_text("стоит")

    # It drives off: each report moves the marker, as it comes.
    for i in range(1, 4):
        lon = round(37.60 + i * 0.002, 6)
        report(node, "van-1", 55.75, lon, 40, now - 120_000 + i * 10_000)
        expect(marker).to_have_attribute("data-lon", str(lon))
    expect(item.get_by_test_id("map-vehicle-state")).to_have_text("едет, 40 км/ч")

    # Forty seconds at 80 in town (its limit is 60): an alert, live.
    for s in range(0, 45, 5):
        report(node, "van-1", 55.751, round(37.61 + s * 0.0002, 6), 80, now - 80_000 + s * 1_000)
    alert = page.get_by_test_id("map-alert").filter(has_text="80 км/ч")
    expect(alert).to_have_count(1)
    expect(alert).to_have_attribute("data-kind", "overspeed")
    # The marker ends where the van is: the last report, though it came within the second.
    expect(marker).to_have_attribute("data-lon", str(round(37.61 + 40 * 0.0002, 6)))
    expect(item.get_by_test_id("map-vehicle-state")).to_have_text("едет, 80 км/ч")
    # A tracker emptying its memory (fixes 200 ms apart) is shown once a second, and ends where
    # the last fix is.
    for k in range(1, 4):
        report(node, "van-1", 55.751, round(37.618 + k * 0.00001, 6), 30, now - 30_000 + k * 200)
    expect(marker).to_have_attribute("data-lon", str(round(37.618 + 3 * 0.00001, 6)))

    # Chosen, it shows its track.
    item.click()
    expect(page.get_by_test_id("map")).to_have_attribute("data-track", re.compile(r"^[2-9]|^\d\d"))
    # And its week: no trip has ended yet, and without a driver private use is not judged.
    expect(page.get_by_test_id("mileage-summary")).to_contain_text("Пробег 0 км")
    expect(page.get_by_test_id("mileage-summary")).to_contain_text("не указан водитель")
    assert tiles.hits > 0, "the map's tiles come from the installation's tile server"
    screenshot(page, "map_desktop_ru")
    page.locator('.lang-toggle button[data-lang="en"]').first.click()
    expect(item.get_by_test_id("map-vehicle-state")).to_contain_text("km/h")
    screenshot(page, "map_desktop_en")

    for view, name in [(PHONE_VIEW, "map_phone"), (BOARD_VIEW, "map_tv")]:
        other = new_context(**view).new_page()
        sign_in(other, node, hubnode.SUPERVISOR)
        expect(other.locator(f'[data-testid="map-vehicle"][data-id="{van["id"]}"]')).to_be_visible()
        screenshot(other, name)

    # An operator is not shown the map.
    op_page = new_context(**DESKTOP_VIEW).new_page()
    op_page.goto(node.url("/map"))
    op_page.get_by_test_id("login-input").fill(hubnode.OPERATOR1[0])
    op_page.get_by_test_id("password-input").fill(hubnode.OPERATOR1[1])
    op_page.get_by_test_id("login-submit").click()
    expect(op_page.get_by_test_id("message")).to_contain_text("супервизоров")


def test_an_admin_draws_a_territory_and_vehicles_are_judged_by_it(hub_store, new_context, tiles):
    store = hub_store()
    store.extra_env["HUB_MAP_TILES"] = tiles.url + "/{z}/{x}/{y}.png"
    node = store.start()
    admin = node.api.login("admin", "demo-admin")
    van = node.api.ok("POST", "/api/admin/vehicles", admin, {"name": "Погрузчик", "plate": ""}, want=201)
    node.api.ok("POST", "/api/admin/trackers", admin, {"protocol": "osmand", "unique_id": "yard-1", "vehicle_id": van["id"]}, want=201)
    before = len(node.api.ok("GET", "/api/admin/desk", admin)["territories"])

    page = new_context(**DESKTOP_VIEW).new_page()
    sign_in(page, node, ("admin", "demo-admin"))
    page.get_by_test_id("draw-start").click()
    canvas = page.get_by_test_id("map")
    box = canvas.bounding_box()
    corners = [(0.40, 0.35), (0.60, 0.35), (0.62, 0.65), (0.40, 0.65)]
    for i, (x, y) in enumerate(corners, start=1):
        page.mouse.click(box["x"] + box["width"] * x, box["y"] + box["height"] * y)
        expect(canvas).to_have_attribute("data-drawn", str(i))
    expect(page.get_by_test_id("draw-count")).to_have_text("Углов: 4")
    # A corner put wrong is taken back and put again.
    page.mouse.click(box["x"] + box["width"] * 0.9, box["y"] + box["height"] * 0.9)
    expect(canvas).to_have_attribute("data-drawn", "5")
    page.get_by_test_id("draw-undo").click()
    expect(canvas).to_have_attribute("data-drawn", "4")
    expect(page.get_by_test_id("draw-save")).to_be_disabled()
    page.get_by_test_id("draw-name").fill("Двор <склада>")
    page.get_by_test_id("draw-limit").fill("20")
    screenshot(page, "map_draw_ru")
    page.get_by_test_id("draw-save").click()
    expect(page.get_by_test_id("message")).to_contain_text("Двор <склада>")
    expect(page.get_by_test_id("draw-form")).to_be_hidden()

    territories = node.api.ok("GET", "/api/admin/desk", admin)["territories"]
    assert len(territories) == before + 1
    yard = next(t for t in territories if t["name"] == "Двор <склада>")
    assert yard["shape"]["type"] == "MultiPolygon", yard  # the hub keeps every shape as one
    ring = yard["shape"]["coordinates"][0][0]
    assert len(ring) == 5 and ring[0] == ring[-1] and yard["speed_limit_kmh"] == 20, yard
    # The loader drives across the yard at 30: speeding under the yard's 20.
    lat = sum(p[1] for p in ring[:4]) / 4
    lon = sum(p[0] for p in ring[:4]) / 4
    now = int(time.time() * 1000)
    for s in range(0, 50, 5):
        report(node, "yard-1", round(lat, 6), round(lon + s * 0.000002, 6), 30, now - 60_000 + s * 1_000)
    alert = page.get_by_test_id("map-alert").filter(has_text="Погрузчик")
    expect(alert.first).to_have_attribute("data-kind", "overspeed")
    expect(alert.first).to_contain_text("при ограничении 20")
    page.locator('.lang-toggle button[data-lang="en"]').first.click()
    page.get_by_test_id("draw-start").click()
    expect(page.get_by_test_id("draw-count")).to_have_text("Corners: 0")
    screenshot(page, "map_draw_en")
    # A supervisor sees the territories but draws none (territories are the back office's).
    sup_page = new_context(**DESKTOP_VIEW).new_page()
    sign_in(sup_page, node, hubnode.SUPERVISOR)
    expect(sup_page.get_by_test_id("draw")).to_be_hidden()
