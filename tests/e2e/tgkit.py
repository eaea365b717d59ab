"""Helpers for the Telegram tests: a hub node pointed at a Bot API server, a connected bot, and
the operator's side over the API."""
from __future__ import annotations

import json
import time
import urllib.request
from urllib.parse import quote

import hubnode

ADMIN = ("admin", "demo-admin")
CHAT_QUEUE = "Чат на сайте"


def tg_node(store: hubnode.Store, api_url: str, **env: str) -> hubnode.Node:
    store.extra_env["HUB_TELEGRAM_API_URL"] = api_url
    store.extra_env["HUB_TELEGRAM_POLL_SECS"] = "2"
    store.extra_env.update(env)
    return store.start()


def chat_queue(api: hubnode.Api, token: str) -> int:
    return next(q["service_id"] for q in api.ok("GET", "/api/chat-queues", token) if q["name"] == CHAT_QUEUE)


def connect_bot(node: hubnode.Node, bot_token: str, **extra) -> dict:
    admin = node.api.login(*ADMIN)
    body = {"token": bot_token, "queue_id": chat_queue(node.api, admin), **extra}
    return node.api.ok("POST", "/api/admin/telegram/bots", admin, body, want=201)


def available(node: hubnode.Node, creds=hubnode.OPERATOR1) -> str:
    token = node.api.login(*creds)
    node.api.ok("PUT", "/api/operator/presence", token, {"state": "available"})
    return token


def wait(pred, timeout: float = 20.0, what: str = "condition", every: float = 0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def telegram_conversations(node: hubnode.Node, token: str) -> list[dict]:
    lists = node.api.ok("GET", "/api/conversations", token)
    seen = {}
    for key in ("mine", "offers", "queued", "open"):
        for c in lists.get(key) or []:
            if c["channel"] == "telegram":
                seen[c["id"]] = c
    return list(seen.values())


def offered(node: hubnode.Node, token: str) -> dict:
    return wait(lambda: next(iter(node.api.ok("GET", "/api/conversations", token)["offers"]), None),
                what="an offer")


def thread(node: hubnode.Node, token: str, conv_id: int) -> dict:
    return node.api.ok("GET", f"/api/conversations/{conv_id}", token)


def visitor_messages(node: hubnode.Node, token: str, conv_id: int) -> list[dict]:
    return [m for m in thread(node, token, conv_id)["messages"] if m["author"] == "visitor"]


def reply(node: hubnode.Node, token: str, conv_id: int, body: str, attachment_ids=(), client_id=None) -> dict:
    payload = {"body": body, "attachment_ids": list(attachment_ids)}
    if client_id:
        payload["client_id"] = client_id
    return node.api.ok("POST", f"/api/conversations/{conv_id}/messages", token, payload)


def upload(node: hubnode.Node, token: str, name: str, data: bytes) -> int:
    req = urllib.request.Request(node.url(f"/api/attachments?name={quote(name)}"), data=data, method="POST",
                                 headers={"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/octet-stream"})
    with urllib.request.urlopen(req, timeout=15) as res:
        return json.loads(res.read())["id"]


def metric(node: hubnode.Node, name: str) -> float:
    with urllib.request.urlopen(node.url("/metrics"), timeout=10) as res:
        for line in res.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"no metric {name}")
