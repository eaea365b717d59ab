"""Server-side request forgery, as the class: a tenant's admin names servers (a mailbox's IMAP and
SMTP, a trunk's proxies) and the hub connects to them. Internal addresses (loopback, private,
link-local and cloud metadata, in IPv4, IPv6 and IPv4-in-IPv6) are refused unless the
installation's owner allowed the network (egress_allow): when saved if written as an address,
and when connecting for a name that resolves to one, so DNS cannot smuggle one in. Failures
are told by class, never in the peer's own words (an internal service's banner)."""
from __future__ import annotations

import socket
import threading

import hubnode
import mailkit
import tgkit
from test_email import wait

BANNER = b"SSH-2.0-OpenSSH_9.2 internal-build-secret-7731\r\n"


class BannerServer:
    """A TCP service that greets with a banner, counting who connected."""

    def __init__(self, host: str = "0.0.0.0"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            try:
                conn.sendall(BANNER)
                conn.recv(1024)
            except OSError:
                pass
            conn.close()

    def close(self) -> None:
        self.sock.close()


def mailbox_error(node, admin, box_id):
    box = next(b for b in node.api.ok("GET", "/api/admin/mailboxes", admin) if b["id"] == box_id)
    return box["last_error"]


def test_internal_addresses_are_refused_when_saved_and_when_connecting(hub_store, maildev):
    store = hub_store()
    node = mailkit.email_node(store, maildev, HUB_EGRESS_ALLOW="")
    admin = node.api.login(*tgkit.ADMIN)
    queue = tgkit.chat_queue(node.api, admin)
    banner = BannerServer()
    try:
        # Written as an internal address, in any spelling: refused at once.
        for host in ["127.0.0.1", "localhost", "[::1]", "169.254.169.254", "10.0.0.5", "192.168.1.1",
                     "[::ffff:127.0.0.1]", "[fd00:ec2::254]", "0.0.0.0"]:
            status, body = node.api.request("POST", "/api/admin/mailboxes", admin, {
                "address": f"box{abs(hash(host)) % 1000}@example.ru", "queue_id": queue,
                "imap_url": f"imap://u:p@{host}:{banner.port}"})
            assert status == 400 and "internal address" in body["message"], (host, status, body)
            status, body = node.api.request("POST", "/api/admin/mailboxes", admin, {
                "address": f"out{abs(hash(host)) % 1000}@example.ru", "queue_id": queue,
                "smtp_url": f"smtp://{host}:{banner.port}"})
            assert status == 400 and "internal address" in body["message"], (host, status, body)
        for proxy in ["127.0.0.1:5060", "10.1.2.3", "169.254.169.254:5060"]:
            status, body = node.api.request("POST", "/api/admin/sip/trunks", admin, {
                "name": "Провайдер", "domain": "sip.example.net", "proxies": [proxy],
                "username": "hub", "password": "secret"})
            assert status == 400 and "internal address" in body["message"], (proxy, status, body)

        # A name that resolves to an internal address passes the form, but the hub never connects.
        name = "localhost.localdomain"
        try:
            resolved = socket.gethostbyname(name)
        except OSError:
            name, resolved = socket.gethostname(), socket.gethostbyname(socket.gethostname())
        assert resolved.startswith(("127.", "10.", "172.", "192.168.")), resolved
        status, box = node.api.request("POST", "/api/admin/mailboxes", admin, {
            "address": "sneaky@example.ru", "queue_id": queue, "imap_url": f"imap://u:p@{name}:{banner.port}"})
        if status == 400:
            # This machine's resolver names it as localhost: refused when saved, as it should be.
            assert "internal address" in box["message"]
        else:
            assert status == 201, box
            err = wait(lambda: mailbox_error(node, admin, box["id"]), what="the fetcher's verdict")
            assert "internal network" in err, err
            assert "SSH" not in err and "secret" not in err
        assert banner.connections == 0, "the hub connected to an internal address"
    finally:
        banner.close()


def test_failures_are_told_by_class_never_in_the_peers_words(hub_store, maildev):
    """Where the owner allowed the network (here loopback), a server that is not IMAP, or a
    closed port, is reported as such; the banner never reaches the tenant."""
    store = hub_store()
    node = mailkit.email_node(store, maildev)
    admin = node.api.login(*tgkit.ADMIN)
    queue = tgkit.chat_queue(node.api, admin)
    banner = BannerServer("127.0.0.1")
    closed = hubnode.free_port()
    try:
        box = node.api.ok("POST", "/api/admin/mailboxes", admin, {
            "address": "banner@example.ru", "queue_id": queue,
            "imap_url": f"imap://u:p@127.0.0.1:{banner.port}"}, want=201)
        err = wait(lambda: mailbox_error(node, admin, box["id"]), what="the error")
        assert err == "the server did not greet as an IMAP server", err
        assert banner.connections >= 1
        box2 = node.api.ok("POST", "/api/admin/mailboxes", admin, {
            "address": "closed@example.ru", "queue_id": queue,
            "imap_url": f"imap://u:p@127.0.0.1:{closed}"}, want=201)
        err = wait(lambda: mailbox_error(node, admin, box2["id"]), what="the error")
        assert err == "the server refused the connection", err
    finally:
        banner.close()


def test_webhooks_never_reach_an_internal_address(hub_store):
    """The same class for webhooks: an internal address is refused when saved, in any spelling;
    a name that resolves to one passes the form, but the delivery is refused by the hub's own
    resolver (inside its HTTP client) and the endpoint never hears a thing."""
    store = hub_store()
    store.extra_env["HUB_EGRESS_ALLOW"] = ""
    node = store.start()
    admin = node.api.login(*tgkit.ADMIN)
    banner = BannerServer()
    try:
        for host in ["127.0.0.1", "localhost", "[::1]", "169.254.169.254", "10.0.0.5", "192.168.1.1",
                     "[::ffff:127.0.0.1]", "[fd00:ec2::254]", "0.0.0.0", "app.localhost",
                     # The same addresses as a browser (and the HTTP client) reads other spellings.
                     "2130706433", "0x7f000001", "0x7f.1", "127.1", "0251.0376.0251.0376"]:
            status, body = node.api.request("POST", "/api/admin/webhooks", admin, {
                "url": f"http://{host}:{banner.port}/hook", "events": ["request.created"]})
            assert (status, body.get("reason")) == (400, "internal_address"), (host, status, body)
        name = "localhost.localdomain"
        try:
            socket.gethostbyname(name)
        except OSError:
            name = socket.gethostname()
        status, hook = node.api.request("POST", "/api/admin/webhooks", admin, {
            "url": f"http://{name}:{banner.port}/hook", "events": ["request.created"]})
        if status == 400:
            assert hook["reason"] == "internal_address", hook
        else:
            assert status == 201, hook
            setup = node.api.ok("GET", "/api/admin/desk", admin)
            incident = next(t["id"] for t in setup["request_types"] if t["name"] == "Инцидент")
            node.api.ok("POST", "/api/desk/requests", admin, {"type_id": incident, "subject": "Проверка"}, want=201)

            def verdict():
                d = node.api.ok("GET", f"/api/admin/webhooks/{hook['id']}/deliveries", admin)
                return d and d[0]["last_error"]
            err = wait(verdict, what="the delivery's verdict")
            assert "internal network" in err, err
        assert banner.connections == 0, "the hub connected to an internal address"
    finally:
        banner.close()
