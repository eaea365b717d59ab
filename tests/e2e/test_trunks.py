"""Trunks against real SIP peers: sipp as the provider (a proxy out of service, a registrar that
challenges with digest and grants 5 s, the provider passing on a call to a DID, the provider
taking a click-to-call call with a digest challenge), sipp as the operator's phone, the console in
headless Chromium for click-to-call. Nothing here is mocked."""
from __future__ import annotations

from playwright.sync_api import expect

import hubnode
import sipkit
from test_telephony import CALLER, calls, conversation, metric, sip_request, udp_exchange
from test_telephony import media, peers, sip_hub  # noqa: F401 (fixtures)
from test_webchat import conv_items, operator_takes_chats
from tgkit import ADMIN, wait
from ui import DESKTOP_VIEW, operator_sign_in

TRUNK_USER = "hubtrunk"
TRUNK_PASSWORD = "trunk-secret-1"
DID = "74951234567"


def credentials() -> list[str]:
    return ["-key", "user", TRUNK_USER, "-key", "password", TRUNK_PASSWORD]


def add_trunk(node, admin: str, proxies: list[int], register: bool = True) -> dict:
    return node.api.ok("POST", "/api/admin/sip/trunks", admin, {
        "name": "Provider", "domain": "provider.test", "proxies": [f"127.0.0.1:{p}" for p in proxies],
        "username": TRUNK_USER, "password": TRUNK_PASSWORD, "register": register, "expires_secs": 60,
        "caller_id": "74950000000"})


def trunk_status(node, admin: str) -> dict:
    return node.api.ok("GET", "/api/admin/sip/trunks", admin)[0]["status"]


def test_trunk_registers_with_failover_and_refresh_and_takes_its_numbers_calls(sip_hub, media, peers):
    """The hub registers to the provider with digest: the first proxy refuses (503), the hub fails
    over to the second, which challenges; the registration is refreshed before the 5 s granted
    run out. The provider's call to the DID reaches the number's menu; the same number called
    from anywhere else is refused, and nothing in the admin API shows the trunk's password."""
    node, sip = sip_hub
    down = sipkit.Sipp(sip, "provider_down.xml", ["-m", "1", "-timeout", "30"], "down")
    registrar = sipkit.Sipp(sip, "provider.xml", [*credentials(), "-m", "1", "-timeout", "40"], "provider")
    peers += [down, registrar]
    admin = node.api.login(*ADMIN)
    # Bad input is refused with a clear error before anything is dialled or stored.
    for bad in ({"proxies": []}, {"proxies": ["sip:evil@x;lr"]}, {"domain": "a b"}, {"username": "x@y"}):
        body = {"name": "Bad", "domain": "provider.test", "proxies": ["127.0.0.1:5060"], "username": TRUNK_USER,
                "password": TRUNK_PASSWORD, **bad}
        status, reply = node.api.request("POST", "/api/admin/sip/trunks", admin, body)
        assert status == 400 and reply["code"] == "invalid", (bad, status, reply)
    good = {"name": "Mine", "domain": "provider.test", "proxies": ["127.0.0.1:5060"], "username": TRUNK_USER,
            "password": TRUNK_PASSWORD}
    status, _ = node.api.request("POST", "/api/admin/sip/trunks", node.api.login(*hubnode.OPERATOR1), good)
    assert status == 403

    trunk = add_trunk(node, admin, [down.port, registrar.port])
    assert "password" not in trunk and TRUNK_PASSWORD not in str(node.api.ok("GET", "/api/admin/sip/trunks", admin))
    assert down.wait(20) == 0, down.report()
    assert "503 Service Unavailable" in down.messages()
    assert registrar.wait(30) == 0, registrar.report()  # the first registration and its refresh
    said = registrar.messages()
    assert said.count("WWW-Authenticate: Digest") >= 2 and said.count("Authorization: Digest") >= 2, said[-3000:]
    status = trunk_status(node, admin)
    assert status["proxy"] == f"127.0.0.1:{registrar.port}", status
    assert status["registrations"] >= 2, status
    # Until the next refresh (which finds nobody there) the trunk is registered.
    assert status["state"] == "registered" and status["error"] is None, status
    assert metric(node, "hub_sip_trunks_registered") == 1

    numbers = node.api.ok("GET", "/api/admin/sip/numbers", admin)
    queue = numbers[0]["default_service_id"]
    node.api.ok("POST", "/api/admin/sip/numbers", admin, {
        "number": DID, "greeting": "Hello.", "prompt": "Please hold.", "default_queue_id": queue, "lang": "en",
        "trunk_id": trunk["id"]})

    # The provider passes on a call: to the Contact the hub registered, the DID in To.
    m = media()
    call = sipkit.Sipp(sip, "provider_call.xml", ["-s", TRUNK_USER, "-key", "did", DID, "-key", "rtp_port",
                                                  str(m.port), "-key", "caller", CALLER, "-key", "caller_name",
                                                  "Caller", "-mi", "127.0.0.1", "-d", "4000", "-m", "1",
                                                  "-timeout", "40"], "did")
    peers.append(call)
    m.wait_audio(10, timeout=20)  # the number's greeting
    assert call.wait(40) == 0, call.report()
    record = wait(lambda: [c for c in calls(node) if c["ended_at"]], 10, "the call record")[0]
    assert record["number"] == DID and record["caller"] == CALLER and record["direction"] == "in", record

    # From another address the DID is refused (403) and the trunk's username leads nowhere (404).
    sdp = "v=0\r\nc=IN IP4 127.0.0.2\r\nm=audio 4000 RTP/AVP 0\r\n"
    for uri, code in ((f"sip:{DID}@127.0.0.1:{sip}", b"403"), (f"sip:{TRUNK_USER}@127.0.0.1:{sip}", b"404")):
        reply = udp_exchange(sip, sip_request("INVITE", uri, sip, "Content-Type: application/sdp\r\n", sdp),
                             source="127.0.0.2")
        assert reply.startswith(b"SIP/2.0 " + code), (uri, reply[:200])
    assert len(calls(node)) == 1


def test_click_to_call_rings_the_operator_then_the_customer_through_the_trunk(sip_hub, media, peers, new_context):
    """A caller hangs up before the operator's phone picks up; the operator calls them back with
    the card's Call button: the hub rings the operator's phone (which hears ringing), then the
    customer through the trunk, answering the provider's digest challenge with the trunk's
    credentials; the media flows both ways; the customer hangs up and both legs end; the call
    record and the conversation's timeline show the call."""
    node, sip = sip_hub
    admin = node.api.login(*ADMIN)
    callee = sipkit.Sipp(sip, "provider_callee.xml", [*credentials(), "-mi", "127.0.0.1", "-mp",
                                                      str(sipkit.free_udp_port()), "-rtp_echo", "-d", "6000",
                                                      "-m", "1", "-timeout", "90"], "callee")
    peers.append(callee)
    add_trunk(node, admin, [callee.port], register=False)
    wait(lambda: trunk_status(node, admin)["state"] == "static", 10, "the trunk")

    # The operator's phone: its media is the test's socket, so the test hears what the phone would.
    heard = media()
    phone = sipkit.Sipp(sip, "phone_media.xml", ["-key", "rtp_port", str(heard.port), "-m", "1"], "phone")
    peers.append(phone)
    reg = sipkit.register(sip, "1001", phone.port)
    assert reg.proc.returncode == 0, reg.report()

    anna = new_context(**DESKTOP_VIEW).new_page()
    operator_sign_in(anna, node, hubnode.OPERATOR1)
    operator_takes_chats(anna)
    # Without a phone number there is no Call button; the caller's number is on their card.
    m = media()
    caller = sipkit.caller(sip, m.port, stay_ms=6_000, caller_id=CALLER)
    peers.append(caller)
    m.wait_audio(10, timeout=20)
    m.key("1")
    offer = conv_items(anna, "offer")
    expect(offer).to_have_count(1, timeout=20_000)
    cid = int(offer.get_attribute("data-conversation-id"))
    offer.click()
    expect(anna.locator("#contact-line")).to_contain_text(CALLER)
    assert caller.wait(40) == 0, caller.report()  # hung up while still waiting
    op = node.api.login(*hubnode.OPERATOR1)
    wait(lambda: conversation(node, op, cid)["conversation"]["status"] == "closed", 10, "the conversation to close")

    # Security: click-to-call needs a signed-in operator, plain numbers, and the org's own conversation.
    status, _ = node.api.request("POST", "/api/calls/dial", None, {"number": "+79160000000"})
    assert status == 401
    status, reply = node.api.request("POST", "/api/calls/dial", op, {"number": "sip:evil@example.com"})
    assert status == 400 and reply["code"] == "invalid", reply
    status, reply = node.api.request("POST", "/api/calls/dial", op, {"number": "+79160000000", "conversation_id": 999999})
    assert status == 404, reply
    status, reply = node.api.request("POST", "/api/calls/dial", node.api.login(*hubnode.OPERATOR2),
                                     {"number": "+79160000000"})
    assert status == 409 and reply["code"] == "phone_not_registered", reply

    call_button = anna.get_by_test_id("contact-call")
    expect(call_button).to_be_visible()
    call_button.click()
    expect(anna.get_by_test_id("message")).to_contain_text(CALLER, timeout=10_000)
    heard.wait_audio(10, timeout=20)  # the operator's phone hears ringing while the customer's rings
    wait(lambda: [c for c in calls(node) if c["direction"] == "out" and c["answered_at"]], 20,
         "the customer to answer")
    sent = heard.tone(60)
    wait(lambda: len(heard.echoed & set(sent)) >= 50, 5, "the operator's audio echoed back by the customer")
    assert callee.wait(30) == 0, callee.report()  # the customer hung up
    assert phone.wait(15) == 0, phone.report()  # and the hub's BYE reached the operator's phone
    said = callee.messages()
    assert "Authorization: Digest" in said and f"sip:{CALLER.lstrip('+')}@provider.test" in said.replace(
        "sip:+", "sip:"), said[-3000:]
    out = wait(lambda: [c for c in calls(node) if c["direction"] == "out" and c["ended_at"]], 10, "the record")[0]
    assert out["ended_by"] == "customer" and out["outcome"] == "answered", out
    assert out["number"] == CALLER and out["caller"] == "74950000000" and out["conversation_id"] == cid, out
    kinds = [e["kind"] for e in conversation(node, op, cid)["timeline"]]
    for k in ("call_dialled", "call_answered", "call_ended"):
        assert k in kinds, kinds
    expect(anna.get_by_test_id("conv-event").filter(has_text="Исходящий звонок")).to_have_count(1)
    assert metric(node, "hub_sip_calls_active") == 0
