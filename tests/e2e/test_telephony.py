"""Telephony against real SIP peers: sipp as the caller (its media is the test's own RTP
socket), sipp as operators' phones (REGISTER with digest, then a UAS echoing the media), the
console in headless Chromium, sipvicious for the attacks. Nothing here is mocked."""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

import hubnode
import sipkit
from test_webchat import conv_items, operator_takes_chats
from tgkit import ADMIN, available, wait
from ui import DESKTOP_VIEW, operator_sign_in

MODELS = os.environ.get("HUB_TEST_MODELS", "")
CALLER = "+79161234567"


@pytest.fixture
def sip_hub(hub_store):
    """A node with telephony on: (node, SIP port)."""
    store = hub_store()
    port, _ = sipkit.sip_env(store)
    store.extra_env["HUB_LOG"] = "info,rsipstack=warn"
    node = store.start()
    return node, port


@pytest.fixture
def media():
    made = []

    def make():
        m = sipkit.Media(sipkit.free_udp_port())
        made.append(m)
        return m

    yield make
    for m in made:
        m.close()


@pytest.fixture
def peers():
    made: list[sipkit.Sipp] = []
    yield made
    for p in made:
        p.kill()


def calls(node) -> list[dict]:
    return node.api.ok("GET", "/api/calls", node.api.login(*hubnode.SUPERVISOR))


def conversation(node, token, cid) -> dict:
    return node.api.ok("GET", f"/api/conversations/{cid}", token)


def metric(node, name: str) -> float:
    text = _metrics(node)
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    assert m, f"{name} not in /metrics"
    return float(m.group(1))


def _metrics(node) -> str:
    import urllib.request
    with urllib.request.urlopen(node.url("/metrics"), timeout=5) as r:
        return r.read().decode()


def test_call_reaches_operator_phone_through_console(sip_hub, media, peers, new_context):
    """Acceptance 1: the caller hears the greeting, presses 1, waits; the operator's phone
    registered with digest; the operator accepts in the console; media flows both ways through
    the bridge; the caller hangs up and both legs end; the console shows the card and timeline."""
    node, sip = sip_hub
    phone_port = sipkit.free_udp_port()
    phone = sipkit.phone(sip, phone_port, sipkit.free_udp_port())
    peers.append(phone)
    reg = sipkit.register(sip, "1001", phone_port)
    assert reg.proc.returncode == 0, reg.report()
    assert "WWW-Authenticate: Digest" in reg.messages(), "the first REGISTER was not challenged"
    admin = node.api.login(*ADMIN)
    accounts = {a["username"]: a for a in node.api.ok("GET", "/api/admin/sip/accounts", admin)}
    assert accounts["1001"]["registered"] is True and accounts["1002"]["registered"] is False
    assert "ha1" not in accounts["1001"]

    anna = new_context(**DESKTOP_VIEW).new_page()
    operator_sign_in(anna, node, hubnode.OPERATOR1)
    operator_takes_chats(anna)

    m = media()
    caller = sipkit.caller(sip, m.port, stay_ms=30_000, caller_id=CALLER, name="Пётр Иванов")
    peers.append(caller)
    m.wait_audio(25, timeout=20)  # the greeting, spoken (not silence)
    m.key("1")

    offer = conv_items(anna, "offer")
    expect(offer).to_have_count(1, timeout=20_000)
    expect(offer).to_have_attribute("data-channel", "phone")
    cid = int(offer.get_attribute("data-conversation-id"))
    offer.get_by_test_id("conv-accept").click()
    expect(conv_items(anna, "mine")).to_have_count(1)

    op = node.api.login(*hubnode.OPERATOR1)
    wait(lambda: calls(node)[0]["answered_at"], 15, "the phone to answer")
    sent = m.tone(60)
    wait(lambda: len(m.echoed & set(sent)) >= 50, 5, "the caller's audio echoed back by the phone")
    # The caller's card, found by number, and the call's steps in the thread.
    expect(anna.locator("#contact-line")).to_contain_text(CALLER)
    events = anna.get_by_test_id("conv-event")
    expect(events.filter(has_text="Звонок принят")).to_have_count(1)
    detail = conversation(node, op, cid)
    assert detail["conversation"]["channel"] == "phone"
    assert detail["contact"]["phone"] == CALLER, detail["contact"]

    assert caller.wait(60) == 0, caller.report()
    assert phone.wait(15) == 0, phone.report()  # the hub's BYE reached the phone
    record = wait(lambda: [c for c in calls(node) if c["ended_at"]], 10, "the call record")[0]
    assert record["ended_by"] == "caller" and record["outcome"] == "answered", record
    assert record["conversation_id"] == cid and record["caller"] == CALLER
    final = wait(lambda: conversation(node, op, cid)["conversation"]["status"] == "closed"
                 and conversation(node, op, cid), 10, "the conversation to close")
    kinds = [e["kind"] for e in final["timeline"]]
    for k in ("created", "offered", "accepted", "call_ringing", "call_answered", "call_ended", "closed"):
        assert k in kinds, kinds
    assert metric(node, "hub_sip_calls_active") == 0
    assert metric(node, "hub_sip_calls_bridged_total") == 1


def test_caller_leaves_while_queued_and_while_ringing(sip_hub, media, peers):
    """Acceptance 2: hanging up in the queue abandons the conversation; hanging up while the
    operator's phone rings cancels that leg; the operator is free again after wrap-up."""
    node, sip = sip_hub
    op = node.api.login(*hubnode.OPERATOR1)
    # Queued: nobody available.
    m = media()
    c = sipkit.caller(sip, m.port, stay_ms=6_000)
    peers.append(c)
    m.wait_audio(5)
    m.key("1")
    assert c.wait(40) == 0, c.report()
    rec = wait(lambda: [x for x in calls(node) if x["ended_at"]], 10, "the record")[0]
    assert (rec["ended_by"], rec["outcome"]) == ("caller", "abandoned"), rec
    conv = conversation(node, op, rec["conversation_id"])
    assert conv["conversation"]["status"] == "closed"
    assert "abandoned" in [e["kind"] for e in conv["timeline"]]

    # Ringing: the phone rings and never answers; the caller gives up first.
    phone_port = sipkit.free_udp_port()
    phone = ringing_phone(sip, phone_port)
    peers.append(phone)
    assert sipkit.register(sip, "1001", phone_port).proc.returncode == 0
    available(node)
    m2 = media()
    c2 = sipkit.caller(sip, m2.port, stay_ms=9_000)
    peers.append(c2)
    m2.wait_audio(5)
    m2.key("1")
    offer = wait(lambda: node.api.ok("GET", "/api/conversations", op)["offers"], 15, "the offer")[0]
    node.api.ok("POST", f"/api/conversations/{offer['id']}/accept", op)
    assert c2.wait(40) == 0, c2.report()
    assert phone.wait(20) == 0, phone.report()  # it saw the CANCEL
    assert "CANCEL" in phone.messages()
    rec2 = wait(lambda: [x for x in calls(node) if x["ended_at"] and x["id"] != rec["id"]], 10, "record")[0]
    assert rec2["ended_by"] == "caller" and rec2["answered_at"] is None, rec2
    closed = conversation(node, op, offer["id"])
    assert closed["conversation"]["status"] == "closed"
    # Nothing is left in hand: no open conversation, no live call; wrap-up then free.
    assert node.api.ok("GET", "/api/conversations", op)["mine"] == []
    assert metric(node, "hub_sip_calls_active") == 0
    sup = node.api.login(*hubnode.SUPERVISOR)
    me = next(o for o in node.api.ok("GET", "/api/supervisor/overview", sup)["operators"]
              if o["name"] == "Анна Петрова")
    assert me["active"] == 0 and me["wrap_up_until"] > 0, me
    # After wrap-up (10 s for the demo operators) the next call is offered to her again.
    m3 = media()
    c3 = sipkit.caller(sip, m3.port, stay_ms=25_000)
    peers.append(c3)
    m3.wait_audio(5)
    m3.key("1")
    again = wait(lambda: node.api.ok("GET", "/api/conversations", op)["offers"], 25, "a new offer")[0]
    assert again["channel"] == "phone" and again["id"] != offer["id"]


def ringing_phone(sip: int, port: int) -> sipkit.Sipp:
    s = sipkit.Sipp.__new__(sipkit.Sipp)
    import tempfile
    s.dir = Path(tempfile.mkdtemp(prefix="sipp_ringing_"))
    s.port = port
    s.cmd = [sipkit.sipp_binary(), "-sf", str(sipkit.SCENARIOS / "phone_ringing.xml"), "-i", "127.0.0.1",
             "-p", str(port), "-m", "1", "-nostdin", "-trace_err", "-trace_msg", "-trace_screen"]
    s.proc = subprocess.Popen(s.cmd, cwd=s.dir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    return s
