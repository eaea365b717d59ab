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


def svtool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        pytest.fail(f"{name} not found (Debian: apt-get install sipvicious)", pytrace=False)
    return path


def udp_exchange(port: int, data: bytes, wait_s: float = 1.0, source: str = "127.0.0.1") -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source, 0))
        s.settimeout(wait_s)
        s.sendto(data, ("127.0.0.1", port))
        try:
            return s.recvfrom(65535)[0]
        except socket.timeout:
            return b""


def sip_request(method: str, uri: str, port: int, extra: str = "", body: str = "",
                call_id: str | None = None) -> bytes:
    cid = call_id or f"t{time.monotonic_ns()}"
    return (f"{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK{cid};rport\r\n"
            f"From: <sip:probe@127.0.0.1>;tag=p{cid}\r\nTo: <{uri}>\r\nCall-ID: {cid}\r\n"
            f"CSeq: 1 {method}\r\nMax-Forwards: 70\r\nContact: <sip:probe@127.0.0.1:5999>\r\n{extra}"
            f"Content-Length: {len(body.encode())}\r\n\r\n{body}").encode()


def test_scans_and_password_guessing_get_nothing(sip_hub, peers, tmp_path):
    """Acceptance 4: svwar finds no extension; svcrack is locked out before it reaches the right
    password, and stays locked out even with it; a phone elsewhere still registers; no INVITE
    reaches beyond the hub (there is no way out to a trunk for an unauthenticated caller)."""
    node, sip = sip_hub
    for method in ("REGISTER", "OPTIONS"):
        out = subprocess.run([svtool("svwar"), "--force", "--maximumtime", "8", "-m", method, "-e1000-1010,2000-2005",
                              "-p", str(sip), "127.0.0.1"], capture_output=True, text=True, timeout=120)
        text = out.stdout + out.stderr
        assert "found nothing" in text and "| 1001" not in text and "| 1002" not in text, text

    words = [f"guess{i}" for i in range(12)] + [sipkit.PHONES["1001"]]
    (tmp_path / "words.txt").write_text("\n".join(words) + "\n")
    # svcrack logs each password it finds as it goes; once refused it waits for answers that
    # no longer come, so it is stopped after a while and its log read.
    log = tmp_path / "svcrack.log"
    with open(log, "wb") as f:
        crack = subprocess.Popen([svtool("svcrack"), "-v", "-u", "1001", "-d", str(tmp_path / "words.txt"),
                                  "-p", str(sip), "127.0.0.1"], stdout=f, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL)
        wait(lambda: metric(node, "hub_sip_lockouts_total") >= 1, 30, "the lockout")
        time.sleep(3)
        crack.kill()
        crack.wait()
    text = log.read_text(errors="replace")
    assert "scan started" in text, text
    assert sipkit.PHONES["1001"] not in text, text
    assert metric(node, "hub_sip_lockouts_total") >= 1
    assert metric(node, "hub_sip_auth_failures_total") >= 5
    # The locked-out address gets 403 even with the right password ...
    locked = sipkit.register(sip, "1001", sipkit.free_udp_port())
    assert locked.proc.returncode != 0 and "403 Forbidden" in locked.messages(), locked.report()
    # ... while the phone at another address registers.
    other_ok = register_from(sip, "1001", "127.0.0.2")
    assert other_ok == 0

    # An INVITE to anything but the organisation's numbers goes nowhere: 404, nothing dialled out.
    reply = udp_exchange(sip, sip_request("INVITE", f"sip:+74951234567@127.0.0.1:{sip}", sip,
                                          "Content-Type: application/sdp\r\n",
                                          "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n"))
    assert reply.startswith(b"SIP/2.0 404"), reply[:200]
    assert calls(node) == []


def register_from(sip: int, user: str, ip: str) -> int:
    import tempfile
    d = Path(tempfile.mkdtemp(prefix="sipp_reg2_"))
    cmd = [sipkit.sipp_binary(), f"127.0.0.1:{sip}", "-sf", str(sipkit.SCENARIOS / "register.xml"),
           "-i", ip, "-p", str(sipkit.free_udp_port()), "-s", user, "-au", user,
           "-ap", sipkit.PHONES[user], "-key", "contact_port", "5999", "-key", "expires", "60",
           "-m", "1", "-timeout", "10", "-nostdin"]
    return subprocess.run(cmd, cwd=d, stdin=subprocess.DEVNULL, capture_output=True, timeout=20).returncode


MALFORMED_SIP = [
    b"",
    b"\x00" * 100,
    b"garbage\r\n\r\n",
    b"INVITE\r\n\r\n",
    b"INVITE sip:8800@127.0.0.1 SIP/2.0\r\n\r\n",  # no headers at all
    b"INVITE sip:8800@127.0.0.1 SIP/9.9\r\nVia: x\r\n\r\n",
    b"REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKx\r\n"
    b"Content-Length: 99999999\r\n\r\n",
    b"OPTIONS sip:127.0.0.1 SIP/2.0\r\n" + b"X-Long: " + b"a" * 60000 + b"\r\n\r\n",
    bytes(range(256)) * 20,
    "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP ☃:5999\r\nFrom: ☃\r\n\r\n".encode(),
    b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKnone\r\nCSeq: 1 INVITE\r\n\r\n",
    b"BYE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKb\r\nCall-ID: nope\r\n"
    b"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
]

MALFORMED_RTP = [
    b"", b"\x80", b"\x80" * 11, b"\x00" * 12, b"\xbf" + b"\x00" * 11,  # CSRC count past the end
    b"\x90\x00" + b"\x00" * 10 + b"\x00\x00\xff\xff",  # extension longer than the packet
    b"\xa0\x00" + b"\x00" * 10 + b"\xff",  # padding longer than the packet
    b"\x80\x60" + b"\x00" * 10 + b"\x05",  # telephone-event too short (and PT 96 not negotiated here)
    os.urandom(1400), os.urandom(40), b"\x80\x00" + b"\x00" * 10 + os.urandom(1500),
]


def test_malformed_sip_and_rtp_never_crash_the_hub(sip_hub, media, peers):
    """Acceptance 4: a corpus of malformed SIP (and unusable offers) and of malformed RTP inside
    a live call; the hub answers what it can, drops the rest, and carries the next call."""
    node, sip = sip_hub
    for data in MALFORMED_SIP:
        udp_exchange(sip, data, wait_s=0.2)
    # Bad offers are refused with the reason.
    for body in ["v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 111\r\na=rtpmap:111 opus/48000\r\n",
                 "not sdp at all", "v=0\r\nm=audio 4000 RTP/AVP 0\r\n"]:
        reply = udp_exchange(sip, sip_request("INVITE", f"sip:8800@127.0.0.1:{sip}", sip,
                                              "Content-Type: application/sdp\r\n", body))
        assert reply.startswith(b"SIP/2.0 488"), reply[:300]
    # Malformed RTP into a call in its menu, then the call goes on normally.
    m = media()
    c = sipkit.caller(sip, m.port, stay_ms=8_000)
    peers.append(c)
    m.wait_audio(5)
    for data in MALFORMED_RTP * 20:
        m.sock.sendto(data, m.peer)
    # From a stranger's address: not the caller's, dropped.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"\x80\x00" + b"\x00" * 10 + b"\xff" * 160, m.peer)
    m.key("1")
    assert c.wait(40) == 0, c.report()
    assert node.api.request("GET", "/healthz")[0] == 200
    assert wait(lambda: metric(node, "hub_sip_rtp_dropped_total") >= 140, 10, "drops counted")
    rec = wait(lambda: [x for x in calls(node) if x["ended_at"]], 10, "the call record")[0]
    assert rec["conversation_id"], rec  # the key still worked after the garbage
    # And the next call is served.
    m2 = media()
    c2 = sipkit.caller(sip, m2.port, stay_ms=3_000)
    peers.append(c2)
    m2.wait_audio(5)
    assert c2.wait(40) == 0, c2.report()


VOICEMAIL = "Hello, this is Peter. Please call me back about my broken washing machine."


def test_voicemail_is_stored_and_transcribed(hub_store, media, peers):
    """Acceptance 3: the caller waits, presses 0 and leaves a message (speech synthesised by the
    test, sent as a phone would); the conversation gets the recording, playable, and its
    transcript with the words said."""
    if not MODELS or not (Path(MODELS) / "base.bin").is_file():
        pytest.fail("HUB_TEST_MODELS must name a directory with base.bin (tests/run.sh makes it)",
                    pytrace=False)
    store = hub_store()
    sip, _ = sipkit.sip_env(store)
    store.extra_env.update({"HUB_SPEECH_MODELS_DIR": MODELS, "HUB_SPEECH_MODEL": "base",
                            "HUB_SPEECH_LANGUAGES": "phone=en", "HUB_LOG": "info,rsipstack=warn"})
    node = store.start()
    message = sipkit.speak_ulaw(VOICEMAIL)
    m = media()
    c = sipkit.caller(sip, m.port, stay_ms=0, until_hub_hangs_up=True, caller_id="+79035550011")
    peers.append(c)
    m.wait_audio(5)
    m.key("1")
    time.sleep(1.0)
    m.key("0")
    time.sleep(0.3)
    m.wait_quiet(0.6, timeout=30)  # the prompt and the tone are over: recording
    m.play(message)
    m.key("#")
    assert c.wait(60) == 0, c.report()  # the hub said goodbye and hung up
    rec = wait(lambda: [x for x in calls(node) if x["ended_at"]], 10, "the record")[0]
    assert rec["outcome"] == "voicemail" and rec["ended_by"] == "hub", rec
    sup = node.api.login(*hubnode.SUPERVISOR)

    def transcript():
        d = conversation(node, sup, rec["conversation_id"])
        system = [x["body"] for x in d["messages"] if x["author"] == "system"]
        return system and d

    detail = wait(transcript, 120, "the transcript", every=1)
    audio = [a for x in detail["messages"] for a in x.get("attachments", []) if a["mime"] == "audio/wav"]
    assert len(audio) == 1, detail["messages"]
    status, _, body = node.api.raw("GET", f"/api/attachments/{audio[0]['id']}", sup)
    assert status == 200 and body[:4] == b"RIFF"
    said = " ".join(x["body"] for x in detail["messages"] if x["author"] == "system").lower()
    for word in ("call", "back", "washing", "machine"):
        assert word in said, said
    assert detail["contact"]["phone"] == "+79035550011"


def test_key_by_sip_info_and_place_in_queue_spoken(hub_store, media, peers, tmp_path):
    """A key sent by SIP INFO (application/dtmf-relay) chooses in the menu as an RTP event does;
    the waiting caller is told their place and told again every position_secs: what reached the
    caller's ear, transcribed by Whisper, says so twice."""
    if not MODELS or not (Path(MODELS) / "base.bin").is_file():
        pytest.fail("HUB_TEST_MODELS must name a directory with base.bin (tests/run.sh makes it)",
                    pytrace=False)
    store = hub_store()
    sip, _ = sipkit.sip_env(store)
    store.extra_env["HUB_LOG"] = "info,rsipstack=warn"
    node = store.start()
    admin = node.api.login(*ADMIN)
    queues = {q["name"]: q["service_id"] for q in node.api.ok("GET", "/api/chat-queues", admin)}
    hotline = queues["Горячая линия"]
    other = next(v for v in queues.values() if v != hotline)
    node.api.ok("POST", "/api/admin/sip/numbers", admin,
                {"number": "7100", "greeting": "Hello.", "prompt": "For sales, press 2.",
                 "choices": {"2": other}, "default_queue_id": hotline, "lang": "en",
                 "position_secs": 8, "max_wait_secs": 0}, want=201)
    m = media()
    c = sipkit.Sipp(sip, "caller_info.xml",
                    ["-s", "7100", "-key", "rtp_port", str(m.port), "-key", "caller", CALLER,
                     "-key", "caller_name", "Info", "-key", "key", "2", "-mi", "127.0.0.1",
                     "-d", "19000", "-m", "1", "-timeout", "60"], "caller")
    peers.append(c)
    rec = wait(lambda: [x for x in calls(node) if x["queued_at"]], 15, "the call to queue")[0]
    sup = node.api.login(*hubnode.SUPERVISOR)
    assert conversation(node, sup, rec["conversation_id"])["conversation"]["service_id"] == other, \
        "the INFO key did not choose the queue"
    assert c.wait(60) == 0, c.report()
    assert "Content-Type: application/dtmf-relay" in c.messages()

    # The hub reads HUB_* as its settings: only the one it needs here.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_SPEECH_MODELS_DIR"] = MODELS
    heard = subprocess.run([str(hubnode.hub_binary()), "transcribe", "--model", "base", "--lang", "en",
                            str(m.heard_wav(tmp_path / "heard.wav"))],
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert heard.returncode == 0, heard.stderr
    said = heard.stdout.lower()
    assert said.count("queue") >= 2, f"the place in the queue was not said twice: {said!r}"
    assert "number one" in said or "number 1" in said, said
    assert "message" in said, said


def auto_answering_ivan(node) -> dict:
    """operator2 (Иван Смирнов), whose phone 1002 now answers offered calls by itself."""
    admin = node.api.login(*ADMIN)
    sup = node.api.login(*hubnode.SUPERVISOR)
    ivan = next(o for o in node.api.ok("GET", "/api/supervisor/overview", sup)["operators"]
                if o["name"] == "Иван Смирнов")
    node.api.ok("PUT", f"/api/admin/sip/accounts/{ivan['user_id']}", admin,
                {"username": "1002", "password": sipkit.PHONES["1002"], "auto_answer": True})
    return ivan


def test_softphone_answers_and_hold_by_reinvite(sip_hub, media, peers):
    """baresip, a real softphone, as the operator's phone (digest registration, auto-answer):
    its audio reaches the caller through the bridge. The caller puts the call on hold with a
    re-INVITE (sendonly): the hub answers recvonly, relays nothing to them while held, and the
    call's timeline and record show the hold."""
    node, sip = sip_hub
    ivan = auto_answering_ivan(node)
    sup = node.api.login(*hubnode.SUPERVISOR)
    softphone = sipkit.Baresip(sip, "1002", sipkit.PHONES["1002"])
    peers.append(softphone)
    softphone.wait_registered()
    available(node, hubnode.OPERATOR2)

    m = media()
    c = sipkit.Sipp(sip, "caller_hold.xml",
                    ["-s", sipkit.DEMO_NUMBER, "-key", "rtp_port", str(m.port), "-key", "caller", CALLER,
                     "-key", "caller_name", "Hold", "-mi", "127.0.0.1", "-d", "9000", "-m", "1",
                     "-timeout", "60"], "caller_hold")
    peers.append(c)
    m.wait_audio(5)
    prompt_ssrc = max(m.ssrcs, key=m.ssrcs.get)
    m.key("1")
    wait(lambda: [x for x in calls(node) if x["answered_at"]], 20, "the softphone to answer")
    # The softphone's own stream (its SSRC: what it heard, said back) arrives through the bridge.
    def talk_back():
        m.tone(25)
        return any(n >= 50 for s, n in m.ssrcs.items() if s not in (prompt_ssrc, m.ssrc))

    wait(talk_back, 10, "the softphone's audio")
    phone_ssrc = next(s for s, n in m.ssrcs.items() if s not in (prompt_ssrc, m.ssrc) and n >= 50)

    def timeline_kinds():
        rec = calls(node)[0]
        return [e["kind"] for e in conversation(node, sup, rec["conversation_id"])["timeline"]]

    wait(lambda: "call_held" in timeline_kinds(), 20, "the hold")
    time.sleep(0.5)
    during = m.ssrcs[phone_ssrc]
    m.tone(60)
    assert m.ssrcs[phone_ssrc] - during <= 2, "media was relayed while the caller was on hold"
    wait(lambda: "call_resumed" in timeline_kinds(), 10, "the resume")
    resumed = m.ssrcs[phone_ssrc]

    def after_hold():
        m.tone(25)
        return m.ssrcs[phone_ssrc] - resumed >= 40

    wait(after_hold, 5, "media after the hold")
    assert c.wait(40) == 0, c.report()
    assert "a=recvonly" in c.messages(), "the hold was not answered recvonly"
    rec = wait(lambda: [x for x in calls(node) if x["ended_at"]], 10, "the record")[0]
    assert rec["held_ms"] >= 3000 and rec["outcome"] == "answered", rec


def test_phone_registration_survives_a_restart(sip_hub, media, peers):
    """A phone told it is registered for an hour stays reachable when the hub restarts within
    that hour: the binding is kept in the store, and a call after the restart rings it there."""
    node, sip = sip_hub
    ivan = auto_answering_ivan(node)
    phone_port = sipkit.free_udp_port()
    phone = sipkit.phone(sip, phone_port, sipkit.free_udp_port())
    peers.append(phone)
    reg = sipkit.register(sip, "1002", phone_port, expires=3600)
    assert reg.proc.returncode == 0, reg.report()

    node.kill()
    node.start()
    accounts = {a["username"]: a for a in node.api.ok("GET", "/api/admin/sip/accounts", node.api.login(*ADMIN))}
    assert accounts["1002"]["registered"] is True, "the restart forgot the phone"
    assert accounts["1001"]["registered"] is False
    available(node, hubnode.OPERATOR2)
    m = media()
    c = sipkit.caller(sip, m.port, stay_ms=10_000, caller_id=CALLER)
    peers.append(c)
    m.wait_audio(5)
    m.key("1")
    rec = wait(lambda: [x for x in calls(node) if x["answered_at"]], 20, "the phone to answer")[0]
    assert rec["operator_id"] == ivan["user_id"], rec
    sent = m.tone(60)
    wait(lambda: len(m.echoed & set(sent)) >= 50, 5, "the caller's audio echoed back by the phone")
    assert c.wait(40) == 0, c.report()
    assert phone.wait(15) == 0, phone.report()


def test_vip_caller_waits_ahead_of_earlier_callers(sip_hub, media, peers):
    """VIP by caller number: with nobody free to answer, a VIP who calls after another caller
    waits ahead of them (the routing engine serves higher priorities first)."""
    node, sip = sip_hub
    admin = node.api.login(*ADMIN)
    status, reply = node.api.request("PUT", "/api/admin/sip/vip", admin, {"number": "sip:x@y", "priority": 5})
    assert status == 400 and reply["code"] == "invalid", reply
    status, _ = node.api.request("PUT", "/api/admin/sip/vip", node.api.login(*hubnode.OPERATOR1),
                                 {"number": "+79035550101", "priority": 5})
    assert status == 403
    vip = node.api.ok("PUT", "/api/admin/sip/vip", admin, {"number": "+7 903 555-01-01", "priority": 5,
                                                           "note": "Key account"})
    assert vip["number"] == "+79035550101", vip
    assert [v["number"] for v in node.api.ok("GET", "/api/admin/sip/vip", admin)] == ["+79035550101"]

    queued = []
    for number in (CALLER, "+79035550101"):
        m = media()
        c = sipkit.caller(sip, m.port, stay_ms=12_000, caller_id=number)
        peers.append(c)
        m.wait_audio(10, timeout=20)
        m.key("1")
        queued.append(c)
        sup = node.api.login(*hubnode.SUPERVISOR)
        wait(lambda: len(node.api.ok("GET", "/api/conversations", sup)["queued"]) == len(queued), 15,
             "the call to wait in the queue")
    waiting = node.api.ok("GET", "/api/conversations", sup)["queued"]
    assert [w["priority"] for w in waiting] == [5, 0], waiting
    first = conversation(node, sup, waiting[0]["id"])
    assert first["contact"]["phone"] == "+79035550101", first["contact"]
    for c in queued:
        assert c.wait(40) == 0, c.report()
    status, _ = node.api.request("DELETE", "/api/admin/sip/vip/+79035550101", admin)
    assert status == 204
