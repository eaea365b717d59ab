"""Tenants' secrets (bot tokens, mailbox passwords) never lie in the database in clear: sealed
when saved, sealed at start when an older store still holds them in clear, sealed again under a
new key when the owner rotates it, and a node with the wrong key refuses to start rather than
run without them. The database file's bytes are what is checked."""
from __future__ import annotations

import sqlite3
import subprocess

import hubnode
import tgkit
from botapi import BotApi

TOKEN = "700123:TEST-sealed-token-aaaaaaaaaaa"
OLD_TOKEN = "700124:TEST-old-clear-token-bbbbbbbb"
IMAP_PASSWORD = "imap-pass-SECRET-42"
NEW_KEY = "ab" * 32


def db_bytes(store: hubnode.Store) -> bytes:
    data = b""
    for suffix in ("", "-wal"):
        path = store.sqlite_path.with_name(store.sqlite_path.name + suffix)
        if path.exists():
            data += path.read_bytes()
    return data


def polled(api: BotApi, token: str) -> bool:
    return bool(api.bot(token).offsets)


def test_secrets_are_sealed_at_rest_and_keys_rotate(hub_store):
    api = BotApi()
    try:
        store = hub_store()
        node = tgkit.tg_node(store, api.url)
        admin = node.api.login(*tgkit.ADMIN)
        bot = tgkit.connect_bot(node, TOKEN)
        node.api.ok("POST", "/api/admin/mailboxes", admin, {
            "address": "sealed@example.ru", "queue_id": tgkit.chat_queue(node.api, admin),
            "imap_url": f"imap://user:{IMAP_PASSWORD}@mail.example.net"}, want=201)
        tgkit.wait(lambda: polled(api, TOKEN), what="the bot polling with its token")
        assert "token" not in bot
        node.kill()
        raw = db_bytes(store)
        assert TOKEN.encode() not in raw and IMAP_PASSWORD.encode() not in raw
        key_file = store.dir / "secrets.key"
        assert key_file.stat().st_mode & 0o077 == 0, "the key file is the hub's alone"
        old_key = key_file.read_text().strip()

        # An older store with a token in clear: sealed at the next start, and the bot runs.
        with sqlite3.connect(store.sqlite_path) as db:
            db.execute("INSERT INTO telegram_bots (org_id, service_id, token, mode, lang, created_at) "
                       "SELECT org_id, service_id, ?, 'polling', 'ru', 0 FROM telegram_bots LIMIT 1", (OLD_TOKEN,))
        node.start()
        tgkit.wait(lambda: polled(api, OLD_TOKEN), what="the old bot polling")
        node.kill()
        assert OLD_TOKEN.encode() not in db_bytes(store)

        # Rotation: the new key current, the old one previous; everything is sealed again.
        store.extra_env.update(HUB_SECRETS_KEY=NEW_KEY, HUB_SECRETS_KEY_PREVIOUS=old_key)
        node.start()
        node.kill()
        with sqlite3.connect(store.sqlite_path) as db:
            ids = {row[0].split(":")[2] for row in db.execute("SELECT token FROM telegram_bots")}
        import hashlib
        assert ids == {hashlib.sha256(bytes.fromhex(NEW_KEY)).hexdigest()[:8]}, ids
        store.extra_env.pop("HUB_SECRETS_KEY_PREVIOUS")
        api.bot(TOKEN).offsets.clear()
        node.start()
        tgkit.wait(lambda: polled(api, TOKEN), what="the bot polling after the rotation")
        node.kill()

        # The wrong key: the hub refuses to start, and says why.
        env = store.env()
        env["HUB_SECRETS_KEY"] = "cd" * 32
        out = subprocess.run([str(hubnode.hub_binary()), "serve", "--listen", f"127.0.0.1:{hubnode.free_port()}",
                              "--data", str(store.dir)], env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode != 0 and "secrets_key" in out.stderr, out.stderr[-2000:]
    finally:
        api.close()
