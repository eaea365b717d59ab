#!/usr/bin/env python3
"""Telegram bridge benchmark against a running hub (not part of the tests).

Prints:
  - inbound updates per second through the bridge into persisted conversations: N text
    updates from many chats are waiting at the Bot API when the bot is connected; the clock
    runs until the hub has applied (stored) all of them;
  - reply latency, operator send -> Bot API call: an operator posts replies one after another
    over the HTTP API; each is timed from the moment the request is sent to the moment the
    Bot API server receives sendMessage for it (p50, p99).

The Bot API server is tests/e2e/botapi.py (real API shapes), in this process, so both clocks
are one. Build the hub first, in release:  cargo build --release
Run:  python3 tests/bench/telegram.py [--hub target/release/hub] [--updates 3000] [--postgres]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "e2e"))

import hubnode  # noqa: E402
import tgkit  # noqa: E402
from botapi import BotApi  # noqa: E402

TOKEN = "700009:BENCH-hub-bot-token-cccccccc"


def percentile(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round((len(s) - 1) * p))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hub", default=str(REPO / "target" / "release" / "hub"), help="hub binary")
    ap.add_argument("--updates", type=int, default=3000, help="inbound updates")
    ap.add_argument("--chats", type=int, default=300, help="distinct chats they come from")
    ap.add_argument("--replies", type=int, default=300, help="operator replies timed")
    ap.add_argument("--postgres", action="store_true", help="PostgreSQL store instead of SQLite")
    args = ap.parse_args()
    os.environ["HUB_BIN"] = str(Path(args.hub).resolve())
    hubnode.hub_binary()

    api = BotApi()
    store = hubnode.Store(postgres=args.postgres)
    store.extra_env["HUB_ANONYMOUS_LIMIT"] = "0"
    try:
        node = tgkit.tg_node(store, api.url)
        kind = "PostgreSQL" if args.postgres else "SQLite"
        print(f"hub {args.hub} on {kind}; Bot API server {api.url}")

        # Inbound: everything waits at the API before the bot is connected.
        for i in range(args.updates):
            api.text(TOKEN, 100000 + i % args.chats, f"сообщение {i}")
        started = time.monotonic()
        tgkit.connect_bot(node, TOKEN)
        last_print = started
        while True:
            applied = tgkit.metric(node, "hub_telegram_updates_applied_total")
            now = time.monotonic()
            if applied >= args.updates:
                break
            if now - last_print >= 2:
                print(f"  ... {int(applied)}/{args.updates} applied ({applied / (now - started):.0f}/s)")
                last_print = now
            if now - started > 600:
                raise SystemExit(f"only {applied} of {args.updates} applied in 10 minutes")
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        sup = node.api.login(*hubnode.SUPERVISOR)
        open_telegram = tgkit.telegram_conversations(node, sup)
        assert len(open_telegram) == args.chats, (len(open_telegram), args.chats)
        print(f"inbound: {args.updates} updates from {args.chats} chats stored in {elapsed:.2f} s: "
              f"{args.updates / elapsed:.0f} updates/s into persisted conversations")

        # Replies: one conversation held by an operator.
        op = tgkit.available(node)
        offer = tgkit.offered(node, op)
        node.api.ok("POST", f"/api/conversations/{offer['id']}/accept", op)
        chat = int(tgkit.thread(node, op, offer["id"])["contact"]["identities"][0]["value"])
        latencies = []
        for i in range(args.replies):
            text = f"ответ {i}"
            t0 = time.monotonic()
            tgkit.reply(node, op, offer["id"], text)
            deadline = t0 + 10
            while True:
                hit = next((t for t, what in reversed(api.send_times) if what == text), None)
                if hit is not None:
                    latencies.append((hit - t0) * 1000)
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(f"reply {i} never reached the Bot API")
                time.sleep(0.0005)
        sent = [m.get("text") for m in api.sent_to(TOKEN, chat) if m.get("text", "").startswith("ответ ")]
        assert len(sent) == len(set(sent)) == args.replies, "a reply was lost or sent twice"
        print(f"reply latency (operator POST -> sendMessage at the Bot API), {args.replies} replies: "
              f"p50 {percentile(latencies, 0.5):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms, "
              f"mean {statistics.mean(latencies):.1f} ms")
    finally:
        store.close()
        api.close()


if __name__ == "__main__":
    main()
