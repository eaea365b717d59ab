#!/usr/bin/env python3
"""E-mail benchmark against a real `hub serve` process, with real peers: Dovecot for IMAP and the
hub's own SMTP receiver fed over loopback.

Prints:
- IMAP fetch-to-window latency (below);
- mails parsed and threaded into tickets per second: HUB_BENCH_MAILS (default 2,000) mails, half
  of them starting threads and half replying to them (In-Reply-To), handed to the SMTP receiver on
  4 connections; timed from the first handed over to the last applied (stored, parsed, threaded,
  message in its conversation);
- IMAP fetch-to-window latency: a mail appended to Dovecot until its ticket is in the operator's
  list (IDLE wakes the fetcher), p50/p95 over HUB_BENCH_IMAP (default 30) mails, one at a time,
  measured first, on a hub with few tickets (the list a console shows is capped).

  python3 tests/bench/email_load.py            (HUB_BIN: the hub binary; default target/release/hub)
"""
from __future__ import annotations

import os
import sqlite3
import statistics
import sys
import threading
import time
import smtplib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
if not os.environ.get("HUB_BIN") and (REPO / "target" / "release" / "hub").exists():
    os.environ["HUB_BIN"] = str(REPO / "target" / "release" / "hub")

import hubnode  # noqa: E402
import mailkit  # noqa: E402
import tgkit  # noqa: E402


def applied(store: hubnode.Store) -> int:
    with sqlite3.connect(store.sqlite_path, timeout=10) as c:
        return c.execute("SELECT COUNT(*) FROM email_inbox WHERE processed_at IS NOT NULL").fetchone()[0]


def main() -> None:
    mails = int(os.environ.get("HUB_BENCH_MAILS", "2000"))
    imap_n = int(os.environ.get("HUB_BENCH_IMAP", "30"))
    print(f"hub e-mail benchmark: {mails} mails through SMTP, {imap_n} through IMAP; hub {hubnode.hub_binary()}")
    store = hubnode.Store()
    dovecot = mailkit.Dovecot()
    maildev = mailkit.Maildev()
    try:
        smtp_port = hubnode.free_port()
        node = mailkit.email_node(store, maildev, smtp_port)
        admin = node.api.login(*tgkit.ADMIN)
        mailkit.add_mailbox(node, admin, tgkit.chat_queue(node.api, admin), imap_url=dovecot.url, auto_reply=False)

        op = node.api.login(*hubnode.SUPERVISOR)
        lat, fetch, apply = [], [], []
        for i in range(imap_n):
            needle = f"latency probe {i}"
            raw = (f"From: probe{i}@bench.example\r\nTo: support@hub.test\r\nSubject: {needle}\r\n"
                   f"Message-ID: <probe-{i}@bench.example>\r\n\r\n{needle}\r\n").encode()
            t0 = time.monotonic()
            wall0 = time.time() * 1000
            dovecot.append(raw)
            while True:
                lists = node.api.ok("GET", "/api/conversations", op)
                if any(c.get("contact_name") == f"probe{i}@bench.example" for k in lists for c in (lists[k] or [])):
                    break
                time.sleep(0.005)
            lat.append((time.monotonic() - t0) * 1000)
            with sqlite3.connect(store.sqlite_path) as c:
                stored, created = c.execute(
                    "SELECT e.received_at, v.created_at FROM email_inbox e JOIN conversations v "
                    "ON v.id = e.conversation_id WHERE e.source = 'imap' ORDER BY e.id DESC LIMIT 1").fetchone()
            fetch.append(stored - wall0)
            apply.append(created - stored)
        lat.sort()
        p95 = lat[max(0, int(len(lat) * 0.95) - 1)]
        print(f"IMAP fetch-to-window: p50 {statistics.median(lat):.0f} ms, p95 {p95:.0f} ms, max {lat[-1]:.0f} ms "
              f"over {imap_n} mails (APPEND to Dovecot → IDLE → fetch → stored → ticket listed)")
        print(f"  of which APPEND → stored by the hub p50 {statistics.median(fetch):.0f} ms (Dovecot holds IDLE "
              f"notifications for 500 ms: NOTIFY_DELAY_MSECS in its mailbox-watch.c), "
              f"stored → ticket opened p50 {statistics.median(apply):.0f} ms", flush=True)
        # Threads: mail i < n/2 starts thread i; mail n/2 + i answers it.
        half = mails // 2

        def mail(i: int) -> bytes:
            if i < half:
                return (f"From: Client {i} <client{i}@bench.example>\r\nTo: support@hub.test\r\n"
                        f"Subject: Order {i} has not arrived\r\nMessage-ID: <start-{i}@bench.example>\r\n"
                        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                        f"Hello, my order {i} has not arrived. Заказ не пришёл.\r\n").encode()
            j = i - half
            return (f"From: client{j}@bench.example\r\nTo: support@hub.test\r\nSubject: Re: Order {j} has not arrived\r\n"
                    f"Message-ID: <reply-{j}@bench.example>\r\nIn-Reply-To: <start-{j}@bench.example>\r\n"
                    f"References: <start-{j}@bench.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                    f"It is order {j}.\r\n\r\nOn Tue, Support wrote:\r\n> Which order?\r\n").encode()

        def feed(ids: list[int]) -> None:
            with smtplib.SMTP("127.0.0.1", smtp_port, timeout=60) as s:
                for i in ids:
                    s.sendmail(f"client{i}@bench.example", [mailkit.ADDRESS], mail(i))

        started = time.monotonic()
        # Starts first, then replies, so a reply never arrives before its thread's start.
        for batch in (list(range(half)), list(range(half, mails))):
            threads = [threading.Thread(target=feed, args=(batch[k::4],)) for k in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        handed = time.monotonic() - started
        while applied(store) < mails + imap_n:
            time.sleep(0.01)
        took = time.monotonic() - started
        with sqlite3.connect(store.sqlite_path) as c:
            convs = c.execute("SELECT COUNT(*) FROM conversations WHERE channel = 'email'").fetchone()[0] - imap_n
            msgs = c.execute("SELECT COUNT(*) FROM messages WHERE author = 'visitor'").fetchone()[0] - imap_n
        assert convs == half and msgs == mails, (convs, msgs)
        print(f"SMTP in: {mails} mails handed over in {handed:.2f} s, all applied in {took:.2f} s: "
              f"{mails / took:.0f} mails/s parsed and threaded into {convs} tickets (0 duplicates)", flush=True)

    finally:
        store.close()
        dovecot.stop()
        maildev.stop()


if __name__ == "__main__":
    main()
