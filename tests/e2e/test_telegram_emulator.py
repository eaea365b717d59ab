"""The Telegram round trip against the npm emulator `telegram-test-api` (a Bot API emulator the
bot talks to as to api.telegram.org; the test plays the user through its client routes): a user
writes, the conversation appears in the operator's console with the Telegram icon, the
operator answers in the console and the user receives the answer; /ticket answers with the
branch menu as inline buttons.

The emulator covers text and commands only; files, contacts, button presses, offsets, 429 and
webhooks are tested against botapi.py (test_telegram.py), which says why."""
from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

import hubnode
import tgkit
from test_webchat import operator_takes_chats
from ui import DESKTOP_VIEW, operator_sign_in

EMULATOR_DIR = Path(__file__).resolve().parent / "tg-emulator"
TOKEN = "700002:EMU-hub-bot-token-bbbbbbbb"
USER = {"id": 6001, "is_bot": False, "first_name": "Мария", "username": "maria_test"}
CHAT = {"id": 6001, "type": "private", "first_name": "Мария", "username": "maria_test"}


@pytest.fixture
def emulator():
    if not (EMULATOR_DIR / "node_modules" / "telegram-test-api").is_dir():
        pytest.fail("telegram-test-api is not installed: npm ci --prefix tests/e2e/tg-emulator", pytrace=False)
    node_bin = shutil.which("node")
    if not node_bin:
        pytest.fail("node is not installed", pytrace=False)
    port = hubnode.free_port()
    proc = subprocess.Popen([node_bin, "emulator.js", str(port)], cwd=EMULATOR_DIR,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    if not line.startswith("ready"):
        proc.kill()
        pytest.fail(f"the emulator did not start: {line}{proc.stdout.read()}", pytrace=False)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def client(url: str, route: str, body: dict) -> dict:
    req = urllib.request.Request(url + route, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as res:
        return json.loads(res.read())


def user_says(url: str, text: str) -> None:
    body = {"botToken": TOKEN, "from": USER, "chat": CHAT, "date": int(time.time()), "text": text}
    if text.startswith("/"):
        body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        client(url, "/sendCommand", body)
    else:
        client(url, "/sendMessage", body)


def user_receives(url: str, pred, timeout: float = 15.0) -> dict:
    """The bot's messages to the user, from the emulator's client side (each read once)."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        for update in client(url, "/getUpdates", {"token": TOKEN, "chatId": CHAT["id"]})["result"]:
            seen.append(update["message"])
            if pred(update["message"]):
                return update["message"]
        time.sleep(0.2)
    raise AssertionError(f"the user did not receive it; received {seen}")


def test_text_round_trip_through_the_console(hub_store, emulator, new_context):
    node = tgkit.tg_node(hub_store(), emulator)
    tgkit.connect_bot(node, TOKEN)
    page = new_context(**DESKTOP_VIEW).new_page()
    operator_sign_in(page, node, hubnode.OPERATOR1)
    operator_takes_chats(page)

    user_says(emulator, "Добрый вечер! Где мой заказ 1234?")
    offer = page.locator('[data-testid="conv-item"][data-kind="offer"]')
    expect(offer).to_have_count(1, timeout=15_000)
    expect(offer.locator('.ch-icon[data-channel="telegram"]')).to_be_visible()
    expect(offer).to_contain_text("Мария")
    offer.get_by_test_id("conv-accept").click()
    expect(page.get_by_test_id("conv-thread")).to_contain_text("Где мой заказ 1234?")

    page.get_by_test_id("reply-input").fill("Заказ 1234 передан в доставку, будет завтра.")
    page.get_by_test_id("reply-send").click()
    got = user_receives(emulator, lambda m: m.get("text") == "Заказ 1234 передан в доставку, будет завтра.")
    assert str(got["chat_id"]) == str(CHAT["id"])

    # The user's next message lands in the same conversation.
    user_says(emulator, "Спасибо!")
    expect(page.get_by_test_id("conv-thread")).to_contain_text("Спасибо!")
    expect(page.locator('[data-testid="conv-item"]')).to_have_count(1)

    # /ticket: the bot offers the branches as inline buttons (pressing them needs complete
    # callback queries, which this emulator does not send; see test_telegram.py).
    user_says(emulator, "/ticket")
    menu = user_receives(emulator, lambda m: m.get("text") == "Выберите отделение:")
    markup = menu["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    assert [b["text"] for row in markup["inline_keyboard"] for b in row] == ["Центральный офис"]
    # The command is the bot's business, not a message for the operator.
    expect(page.get_by_test_id("conv-thread")).not_to_contain_text("/ticket")
