"""Anonymous visitors cannot fill the disk: a new visitor is one request away, so files uploaded
but never sent are capped per client address (whatever the visitor) and per organisation, and
deleted when they expire. Real HTTP from several loopback addresses."""
from __future__ import annotations

import http.client
import json
import time

MB = 1024 * 1024
PDF = b"%PDF-1.4\n" + b"0" * (MB - 9)


class Client:
    def __init__(self, node, address: str):
        self.node, self.address = node, address

    def request(self, method: str, path: str, body: bytes | None, headers: dict) -> tuple[int, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.node.port, timeout=30, source_address=(self.address, 0))
        conn.request(method, path, body, headers)
        res = conn.getresponse()
        data = res.read()
        conn.close()
        try:
            return res.status, json.loads(data) if data else {}
        except ValueError:
            return res.status, {"raw": data[:100]}

    def new_visitor(self) -> str:
        status, body = self.request("POST", "/api/chat/start", json.dumps({"key": "demo"}).encode(),
                                    {"Content-Type": "application/json"})
        assert status == 200, body
        return body["token"]

    def upload(self) -> tuple[int, dict]:
        """An upload by a brand-new visitor (the per-visitor count never applies)."""
        token = self.new_visitor()
        return self.request("POST", "/api/chat/attachments?name=x.pdf", PDF,
                            {"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"})


def test_unsent_uploads_are_capped_per_address_and_organisation_and_expire(hub_store):
    store = hub_store()
    store.extra_env.update(HUB_UPLOAD_UNSENT_ADDRESS_MB="3", HUB_UPLOAD_UNSENT_ORG_MB="5",
                           HUB_UPLOAD_UNSENT_SECS="4")
    node = store.start()
    first = Client(node, "127.0.0.2")
    assert [first.upload()[0] for _ in range(3)] == [201] * 3
    status, body = first.upload()
    assert (status, body.get("code")) == (429, "too_many_requests"), body
    # Another address has its own room, until the organisation's is full.
    second = Client(node, "127.0.0.3")
    assert [second.upload()[0] for _ in range(2)] == [201] * 2
    status, body = second.upload()
    assert (status, body.get("code")) == (507, "storage_full"), body

    # Unsent uploads expire; then there is room again.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and first.upload()[0] != 201:
        time.sleep(0.5)
    assert first.upload()[0] == 201
    assert second.upload()[0] == 201
