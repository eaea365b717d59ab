"""A Telegram Bot API server for the tests, answering in the real API's JSON shapes
(https://core.telegram.org/bots/api), with a user side to play the customer.

The npm emulator `telegram-test-api` (used by test_telegram.py for the plain text round trip)
lacks what the rest needs: `getFile` and file downloads, `sendPhoto`/`sendDocument`, `offset`
confirmation in `getUpdates` (it marks updates read as soon as they are fetched, so a crash
between fetch and store could not be tested), long polling, complete callback queries (it drops
`chat_instance`, which the real API always sends) and fault injection (429 with
`retry_after`, malformed JSON). This server does those, as Telegram documents them:

bot side   getMe, getUpdates (offset, limit, timeout; a second poller gets 409 as from Telegram),
           sendMessage, sendPhoto, sendDocument (multipart/form-data), getFile (paths shaped
           like Telegram's, "photos/file_3.jpg"), GET /file/bot<token>/<path> (the path's
           slashes as slashes: "photos%2Ffile_3.jpg" is not found), answerCallbackQuery, setMyCommands,
           setWebhook (then POSTs each update with X-Telegram-Bot-Api-Secret-Token and retries
           until it is answered 200, as Telegram does), deleteWebhook
user side  Python methods: text, photo, document, voice, contact, location, edit, press, reaction,
           raw (an update of any shape: kinds and fields newer than any library knows)
faults     fail_next(method, n, kind): 429 with retry_after, 500, malformed JSON, or "blocked"
           (403, the user blocked the bot);
           fail_download(file_id, n): the file's download answers 502 n times (None: always)
"""
from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


METHODS = {m.lower(): m for m in (
    "getMe", "getUpdates", "sendMessage", "sendPhoto", "sendDocument", "getFile",
    "answerCallbackQuery", "setWebhook", "deleteWebhook", "setMyCommands")}


class Bot:
    def __init__(self, token: str, bot_id: int):
        self.token = token
        self.id = bot_id
        self.username = f"hub_test_{bot_id}_bot"
        self.updates: list[dict] = []  # not yet confirmed by an offset
        self.next_update = 1
        self.next_message: dict[int, int] = {}
        self.sent: list[dict] = []  # what the bot sent, in order
        self.files: dict[str, bytes] = {}
        self.paths: dict[str, str] = {}  # file_id -> file_path, as getFile answers
        self.failing_downloads: dict[str, int | None] = {}  # file_id -> failures left (None: all)
        self.downloads: list[str] = []  # raw request paths of downloads, in order
        self.webhook: tuple[str, str | None] | None = None
        self.offsets: list[int] = []
        self.answered_callbacks: list[str] = []
        self.commands: list[dict] | None = None
        self.polling = 0  # getUpdates requests in flight
        self.poll_gen = 0
        self.conflicts = 0  # 409s answered: two pollers at once


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A hub killed mid-request (as some tests do) resets its connections: not an error here.
        import sys
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class BotApi:
    def __init__(self):
        self.lock = threading.Condition()
        self.bots: dict[str, Bot] = {}
        self.faults: dict[str, list[tuple[str, int]]] = {}
        self.calls: dict[str, int] = {}
        self.send_times: list[tuple[float, str]] = []
        # Called once, right after a getUpdates answer carrying updates is written (a test kills
        # the hub there: received, not yet stored).
        self.after_delivery = None
        handler = self._handler()
        self.server = _Server(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self._stop = False
        self.pusher = threading.Thread(target=self._push_webhooks, daemon=True)
        self.pusher.start()

    def close(self) -> None:
        self._stop = True
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ bots and faults

    def bot(self, token: str) -> Bot:
        with self.lock:
            if token not in self.bots:
                self.bots[token] = Bot(token, int(token.split(":")[0]))
            return self.bots[token]

    def fail_next(self, method: str, n: int = 1, kind: str = "429", retry_after: int = 1) -> None:
        with self.lock:
            self.faults.setdefault(method, []).extend([(kind, retry_after)] * n)

    def fail_download(self, token: str, file_id: str, n: int | None = None) -> None:
        """The file's download answers 502 the next n times (None: every time)."""
        with self.lock:
            self.bot(token).failing_downloads[file_id] = n

    # ------------------------------------------------------------------ the user side

    def _user(self, chat_id: int, first_name: str) -> dict:
        return {"id": chat_id, "is_bot": False, "first_name": first_name, "language_code": "ru"}

    def _message(self, bot: Bot, chat_id: int, first_name: str, fields: dict,
                 message_id: int | None = None) -> dict:
        if message_id is None:
            message_id = bot.next_message.get(chat_id, 1)
            bot.next_message[chat_id] = message_id + 1
        return {"message_id": message_id, "from": self._user(chat_id, first_name),
                "chat": {"id": chat_id, "type": "private", "first_name": first_name},
                "date": int(time.time()), **fields}

    def raw(self, token: str, body: dict) -> int:
        """Queues an update of any shape (its update_id is set here)."""
        bot = self.bot(token)
        with self.lock:
            uid = bot.next_update
            bot.next_update += 1
            bot.updates.append({"update_id": uid, **body})
            self.lock.notify_all()
        return uid

    def _send(self, token: str, chat_id: int, fields: dict, first_name: str = "Олег",
              kind: str = "message", message_id: int | None = None) -> dict:
        bot = self.bot(token)
        with self.lock:
            msg = self._message(bot, chat_id, first_name, fields, message_id)
        uid = self.raw(token, {kind: json.loads(json.dumps(msg))})
        return {**msg, "update_id": uid, "kind": kind}

    def redeliver(self, token: str, update_id: int, body: dict) -> None:
        """Queues an update again under the same update_id (Telegram delivering it twice)."""
        with self.lock:
            self.bot(token).updates.append({"update_id": update_id, **body})
            self.lock.notify_all()

    def text(self, token: str, chat_id: int, text: str, **kw) -> dict:
        fields = {"text": text}
        if text.startswith("/"):
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return self._send(token, chat_id, fields, **kw)

    def _file(self, token: str, data: bytes, declared: int | None, folder: str = "documents",
              ext: str = "", failing: int | None | bool = False) -> dict:
        bot = self.bot(token)
        with self.lock:
            fid = f"f{len(bot.files) + 1}_{bot.id}"
            bot.files[fid] = data
            bot.paths[fid] = f"{folder}/file_{len(bot.files)}{ext}"
            if failing is not False:
                bot.failing_downloads[fid] = failing
        return {"file_id": fid, "file_unique_id": "u" + fid,
                "file_size": len(data) if declared is None else declared}

    def photo(self, token: str, chat_id: int, data: bytes, caption: str = "",
              failing: int | None | bool = False, **kw) -> dict:
        """failing: the downloads of its files answer 502 that many times (None: always)."""
        small = self._file(token, data[: max(1, len(data) // 2)], None, "photos", ".jpg", failing)
        big = self._file(token, data, None, "photos", ".jpg", failing)
        fields = {"photo": [{**small, "width": 90, "height": 90}, {**big, "width": 800, "height": 600}]}
        if caption:
            fields["caption"] = caption
        return self._send(token, chat_id, fields, **kw)

    def document(self, token: str, chat_id: int, data: bytes, name: str, caption: str = "",
                 declared: int | None = None, failing: int | None | bool = False, **kw) -> dict:
        fields = {"document": {**self._file(token, data, declared, failing=failing), "file_name": name}}
        if caption:
            fields["caption"] = caption
        return self._send(token, chat_id, fields, **kw)

    def voice(self, token: str, chat_id: int, data: bytes, **kw) -> dict:
        fields = {"voice": {**self._file(token, data, None, "voice", ".oga"), "duration": 2,
                            "mime_type": "audio/ogg"}}
        return self._send(token, chat_id, fields, **kw)

    def contact(self, token: str, chat_id: int, phone: str, own: bool = True, **kw) -> dict:
        return self._send(token, chat_id, {"contact": {
            "phone_number": phone, "first_name": "Олег", "user_id": chat_id if own else chat_id + 1}}, **kw)

    def location(self, token: str, chat_id: int, lat: float, lon: float, **kw) -> dict:
        return self._send(token, chat_id, {"location": {"latitude": lat, "longitude": lon}}, **kw)

    def reaction(self, token: str, chat_id: int, message_id: int, emoji: str = "👍") -> int:
        """A user's reaction to a message, as the API sends it (the bot did not ask for them)."""
        return self.raw(token, {"message_reaction": {
            "chat": {"id": chat_id, "type": "private", "first_name": "Олег"}, "message_id": message_id,
            "user": self._user(chat_id, "Олег"), "date": int(time.time()),
            "old_reaction": [], "new_reaction": [{"type": "emoji", "emoji": emoji}]}})

    def edit(self, token: str, chat_id: int, message_id: int, text: str) -> dict:
        return self._send(token, chat_id, {"text": text, "edit_date": int(time.time()) + 1},
                          kind="edited_message", message_id=message_id)

    def press(self, token: str, chat_id: int, sent: dict, data: str) -> int:
        """Presses a button of a message the bot sent."""
        bot = self.bot(token)
        with self.lock:
            qid = f"cq{bot.next_update}"
        return self.raw(token, {"callback_query": {
            "id": qid, "from": self._user(chat_id, "Олег"), "chat_instance": f"ci{chat_id}",
            "data": data, "message": {**sent, "from": {"id": bot.id, "is_bot": True,
                                                       "first_name": "Hub", "username": bot.username}}}})

    def sent_to(self, token: str, chat_id: int) -> list[dict]:
        with self.lock:
            return [m for m in self.bot(token).sent if m["chat"]["id"] == chat_id]

    def wait_sent(self, token: str, chat_id: int, pred, timeout: float = 15.0, what: str = "") -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in self.sent_to(token, chat_id):
                if pred(m):
                    return m
            time.sleep(0.05)
        raise AssertionError(f"the bot did not send {what or 'it'} to {chat_id}; it sent: "
                             f"{[(m.get('text') or m.get('kind')) for m in self.sent_to(token, chat_id)]}")

    def pending(self, token: str) -> int:
        with self.lock:
            return len(self.bot(token).updates)

    # ------------------------------------------------------------------ webhooks

    def _push_webhooks(self) -> None:
        while not self._stop:
            job = None
            with self.lock:
                for bot in self.bots.values():
                    if bot.webhook and bot.updates:
                        job = (bot, bot.updates[0])
                        break
                if job is None:
                    self.lock.wait(0.1)
                    continue
            bot, update = job
            url, secret = bot.webhook
            req = urllib.request.Request(url, data=json.dumps(update).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
            if secret:
                req.add_header("X-Telegram-Bot-Api-Secret-Token", secret)
            try:
                with urllib.request.urlopen(req, timeout=10) as res:
                    ok = res.status == 200
            except Exception:  # noqa: BLE001 - Telegram retries whatever went wrong
                ok = False
            with self.lock:
                if ok and bot.updates and bot.updates[0] is update:
                    bot.updates.pop(0)
            if not ok:
                time.sleep(0.5)

    # ------------------------------------------------------------------ the bot side

    def _handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_):
                pass

            def setup(self):
                super().setup()
                # Answers go out at once: no Nagle delay against the client's delayed ACK.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _reply(self, status: int, body: bytes, ctype: str = "application/json") -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    # Head and body in one write.
                    self._headers_buffer.append(b"\r\n" + body)
                    self.wfile.write(b"".join(self._headers_buffer))
                    self._headers_buffer = []
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the hub was killed mid-request: that is what some tests do

            def _json(self, status: int, obj: dict) -> None:
                self._reply(status, json.dumps(obj, ensure_ascii=False).encode())

            def do_GET(self):
                parts = urlparse(self.path).path.split("/")
                # /file/bot<token>/<file_path>, the path's slashes as they are
                if len(parts) >= 4 and parts[1] == "file" and parts[2].startswith("bot"):
                    bot = api.bots.get(parts[2][3:])
                    path = "/".join(parts[3:])
                    with api.lock:
                        fid = next((f for f, p in bot.paths.items() if p == path), None) if bot else None
                        data = bot.files.get(fid) if fid else None
                        if bot:
                            bot.downloads.append(path)
                        failing = fid in bot.failing_downloads if fid else False
                        if failing:
                            left = bot.failing_downloads[fid]
                            if left is not None:
                                if left <= 1:
                                    del bot.failing_downloads[fid]
                                else:
                                    bot.failing_downloads[fid] = left - 1
                    if data is None:
                        return self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                    if failing:
                        return self._reply(502, b"<html><body>502 Bad Gateway</body></html>", "text/html")
                    return self._reply(200, data, "application/octet-stream")
                self._method(parts, {})

            def do_POST(self):
                parts = urlparse(self.path).path.split("/")
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                ctype = self.headers.get("Content-Type", "")
                params: dict = {}
                if ctype.startswith("application/json"):
                    params = json.loads(raw or b"{}")
                elif ctype.startswith("multipart/form-data"):
                    msg = BytesParser(policy=HTTP).parsebytes(
                        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + raw)
                    for part in msg.iter_parts():
                        key = part.get_param("name", header="content-disposition")
                        data = part.get_payload(decode=True) or b""
                        if part.get_filename():
                            params[key] = {"filename": part.get_filename(), "data": data}
                        else:
                            params[key] = data.decode()
                else:
                    params = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                self._method(parts, params)

            def _method(self, parts: list[str], params: dict) -> None:
                if len(parts) < 3 or not parts[1].startswith("bot"):
                    return self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                # Method names are case-insensitive (teloxide sends "SendMessage").
                token = parts[1][3:]
                method = METHODS.get(parts[2].lower(), parts[2])
                bot = api.bot(token)
                with api.lock:
                    api.calls[method] = api.calls.get(method, 0) + 1
                    fault = api.faults.get(method, []).pop(0) if api.faults.get(method) else None
                if fault:
                    kind, retry_after = fault
                    if kind == "429":
                        return self._json(429, {"ok": False, "error_code": 429,
                                                "description": f"Too Many Requests: retry after {retry_after}",
                                                "parameters": {"retry_after": retry_after}})
                    if kind == "500":
                        return self._json(500, {"ok": False, "error_code": 500, "description": "Internal Server Error"})
                    if kind == "malformed":
                        return self._reply(200, b'{"ok":true,"result":[{"update_id":')
                    if kind == "blocked":
                        return self._json(403, {"ok": False, "error_code": 403,
                                                "description": "Forbidden: bot was blocked by the user"})
                handler = getattr(self, "m_" + method, None)
                if handler is None:
                    return self._json(404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"})
                handler(bot, params)

            def m_getMe(self, bot: Bot, _):
                self._json(200, {"ok": True, "result": {
                    "id": bot.id, "is_bot": True, "first_name": "Hub", "username": bot.username,
                    "can_join_groups": True, "can_read_all_group_messages": False,
                    "supports_inline_queries": False, "can_connect_to_business": False,
                    "has_main_web_app": False}})

            def m_deleteWebhook(self, bot: Bot, _):
                with api.lock:
                    bot.webhook = None
                self._json(200, {"ok": True, "result": True})

            def m_setWebhook(self, bot: Bot, p):
                with api.lock:
                    bot.webhook = (p["url"], p.get("secret_token"))
                    api.lock.notify_all()
                self._json(200, {"ok": True, "result": True})

            def m_getUpdates(self, bot: Bot, p):
                if bot.webhook:
                    return self._json(409, {"ok": False, "error_code": 409, "description":
                                            "Conflict: can't use getUpdates method while webhook is active"})
                offset = int(p.get("offset") or 0)
                limit = int(p.get("limit") or 100)
                timeout = float(p.get("timeout") or 0)
                deadline = time.monotonic() + timeout
                with api.lock:
                    # Like Telegram, a new getUpdates ends one still waiting, which gets 409:
                    # two pollers of one bot show up as conflicts.
                    if bot.polling:
                        bot.conflicts += 1
                    bot.polling += 1
                    bot.poll_gen += 1
                    gen = bot.poll_gen
                try:
                    self._poll(bot, offset, limit, deadline, gen)
                finally:
                    with api.lock:
                        bot.polling -= 1

            def _poll(self, bot: Bot, offset: int, limit: int, deadline: float, gen: int) -> None:
                with api.lock:
                    bot.offsets.append(offset)
                    # An offset confirms every update before it, as in the real API.
                    bot.updates = [u for u in bot.updates if u["update_id"] >= offset]
                    api.lock.notify_all()
                    while not bot.updates and time.monotonic() < deadline and bot.poll_gen == gen:
                        api.lock.wait(max(0.0, deadline - time.monotonic()))
                    if bot.poll_gen != gen:
                        result = None
                    else:
                        result = bot.updates[:limit]
                if result is None:
                    return self._json(409, {"ok": False, "error_code": 409, "description":
                                            "Conflict: terminated by other getUpdates request; make sure "
                                            "that only one bot instance is running"})
                self._json(200, {"ok": True, "result": result})
                if result and api.after_delivery:
                    hook, api.after_delivery = api.after_delivery, None
                    hook()

            def _bot_message(self, bot: Bot, p: dict, fields: dict, kind: str) -> None:
                chat_id = int(p["chat_id"])
                with api.lock:
                    mid = bot.next_message.get(chat_id, 1)
                    bot.next_message[chat_id] = mid + 1
                    msg = {"message_id": mid, "from": {"id": bot.id, "is_bot": True, "first_name": "Hub",
                                                       "username": bot.username},
                           "chat": {"id": chat_id, "type": "private", "first_name": "Олег"},
                           "date": int(time.time()), **fields}
                    markup = p.get("reply_markup")
                    if isinstance(markup, str):
                        markup = json.loads(markup)
                    if markup:
                        msg["reply_markup"] = markup
                    bot.sent.append({**msg, "kind": kind})
                    api.send_times.append((time.monotonic(), msg.get("text") or kind))
                self._json(200, {"ok": True, "result": msg})

            def m_sendMessage(self, bot: Bot, p):
                self._bot_message(bot, p, {"text": p["text"]}, "text")

            def _upload(self, bot: Bot, p: dict, field: str) -> tuple[dict, bytes]:
                f = p[field]
                # A file may be sent as a reference to another part: "attach://<part name>".
                if isinstance(f, str) and f.startswith("attach://"):
                    f = p[f[len("attach://"):]]
                with api.lock:
                    fid = f"out{len(bot.files) + 1}_{bot.id}"
                    bot.files[fid] = f["data"]
                    bot.paths[fid] = f"documents/file_{len(bot.files)}"
                return {"file_id": fid, "file_unique_id": "u" + fid, "file_size": len(f["data"])}, f

            def m_sendPhoto(self, bot: Bot, p):
                meta, f = self._upload(bot, p, "photo")
                self._bot_message(bot, p, {"photo": [{**meta, "width": 1, "height": 1}],
                                           "file_bytes_len": len(f["data"])}, "photo")

            def m_sendDocument(self, bot: Bot, p):
                meta, f = self._upload(bot, p, "document")
                self._bot_message(bot, p, {"document": {**meta, "file_name": f["filename"]},
                                           "file_bytes_len": len(f["data"])}, "document")

            def m_getFile(self, bot: Bot, p):
                fid = p.get("file_id", "")
                data = bot.files.get(fid)
                if data is None:
                    return self._json(400, {"ok": False, "error_code": 400,
                                            "description": "Bad Request: invalid file_id"})
                if len(data) > 20 * 1024 * 1024:
                    return self._json(400, {"ok": False, "error_code": 400,
                                            "description": "Bad Request: file is too big"})
                self._json(200, {"ok": True, "result": {"file_id": fid, "file_unique_id": "u" + fid,
                                                        "file_size": len(data),
                                                        "file_path": bot.paths.get(fid, fid)}})

            def m_setMyCommands(self, bot: Bot, p):
                commands = p.get("commands")
                with api.lock:
                    bot.commands = json.loads(commands) if isinstance(commands, str) else commands
                self._json(200, {"ok": True, "result": True})

            def m_answerCallbackQuery(self, bot: Bot, p):
                with api.lock:
                    bot.answered_callbacks.append(p.get("callback_query_id", ""))
                self._json(200, {"ok": True, "result": True})

        return Handler
