"""Password guessing, as the class (OWASP ASVS 2.2.1): guesses are counted before the password is
hashed (parallel guesses cannot overrun the count), limited per address across logins and per
login across addresses, users and devices are counted apart, and a stranger cannot lock the owner
out: her own address, and a browser she signed in from before, are still let in. Each client
speaks real HTTP from its own loopback address (127.0.0.x)."""
from __future__ import annotations

import http.client
import json
import threading

import hubnode


class Client:
    """An HTTP client at one source address, keeping its cookies as a browser would."""

    def __init__(self, node: hubnode.Node, address: str):
        self.node = node
        self.address = address
        self.cookies: dict[str, str] = {}

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.node.port, timeout=30,
                                          source_address=(self.address, 0))
        headers = {"Content-Type": "application/json"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request("POST", path, json.dumps(body).encode(), headers)
        res = conn.getresponse()
        data = res.read()
        for value in res.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        conn.close()
        return res.status, (json.loads(data) if data else {})

    def login(self, login: str, password: str) -> tuple[int, str]:
        status, body = self.post("/api/auth/login", {"login": login, "password": password})
        return status, body.get("code", "")


def test_guessing_is_limited_and_the_owner_is_never_locked_out(hub: hubnode.Node):
    op_login, op_password = hubnode.OPERATOR1
    # A stranger guesses operator1's password from one address: locked there after 5.
    stranger = Client(hub, "127.0.0.2")
    assert [stranger.login(op_login, f"guess-{i}")[0] for i in range(5)] == [401] * 5
    assert stranger.login(op_login, op_password) == (429, "too_many_attempts")
    # The owner, from her own address, is let in.
    owner = Client(hub, "127.0.0.3")
    assert owner.login(op_login, op_password)[0] == 200

    # The supervisor signed in from her browser before; then guesses come from ten addresses.
    sup_login, sup_password = hubnode.SUPERVISOR
    her_browser = Client(hub, "127.0.0.4")
    assert her_browser.login(sup_login, sup_password)[0] == 200
    assert "hub_known" in her_browser.cookies
    for i in range(10):
        assert Client(hub, f"127.0.0.{10 + i}").login(sup_login, "guess")[0] == 401
    # The login is closed to unknown browsers, wherever they are (hers included, on a new one)...
    assert Client(hub, "127.0.0.30").login(sup_login, "guess")[0] == 429
    assert Client(hub, "127.0.0.4").login(sup_login, sup_password)[0] == 429
    # ...but her known browser is let in, and her success opens the login again.
    assert her_browser.login(sup_login, sup_password)[0] == 200
    assert Client(hub, "127.0.0.31").login(sup_login, sup_password)[0] == 200
    # A known-device cookie of another login, or a forged one, counts for nothing.
    forged = Client(hub, "127.0.0.5")
    forged.cookies["hub_known"] = "0" * 64
    assert [forged.login(sup_login, f"g{i}")[0] for i in range(5)] == [401] * 5
    assert forged.login(sup_login, sup_password)[0] == 429


def test_parallel_guesses_are_counted_before_they_finish(hub: hubnode.Node):
    admin_login, _ = ("admin", "demo-admin")
    attacker = Client(hub, "127.0.0.40")
    results: list[int] = []
    lock = threading.Lock()

    def guess(i: int) -> None:
        status, _ = attacker.login(admin_login, f"parallel-{i}")
        with lock:
            results.append(status)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(401) <= 5, results
    assert results.count(401) + results.count(429) == 40, results


def test_one_address_cannot_spray_logins_and_devices_count_apart(hub: hubnode.Node):
    sprayer = Client(hub, "127.0.0.50")
    statuses = [sprayer.login(f"user{i}", "Password1") [0] for i in range(30)]
    assert statuses == [401] * 30
    # The 31st login from that address is refused, even a real one with its password.
    assert sprayer.login(*hubnode.OPERATOR2) == (429, "too_many_attempts")
    # A kiosk at the same address signs in: devices are counted apart from people.
    status, body = sprayer.post("/api/auth/device", {"login": hubnode.KIOSK[0], "secret": hubnode.KIOSK[1]})
    assert status == 200, body
    # Others elsewhere are not affected.
    assert Client(hub, "127.0.0.51").login(*hubnode.OPERATOR2)[0] == 200
