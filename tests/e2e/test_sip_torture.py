"""RFC 4475 ("SIP Torture Test Messages") against the hub's SIP port: all 49 messages, each
sent as one UDP datagram, each answer checked against what the RFC says a compliant element does.

The messages are the RFC's own bytes (Appendix A's archive), one file each in
`sip/rfc4475/<tag>.sip`. Before sending, only what must point at the hub is rewritten, and never
what the message is about:

- the Request-URI's host becomes the hub's `127.0.0.1:<port>` (a Request-URI that is itself the
  point, such as `unkscm`'s unknown scheme, stays as it is);
- the top Via's sent-by becomes the test socket's `127.0.0.1:<port>` (a fresh socket per message,
  so equal branches in different messages are not taken for retransmissions); a top Via that
  names TCP, TLS or SCTP says UDP instead, as the datagram really travels over UDP and RFC 3261
  §18.2.2 would otherwise send the answer over a connection that does not exist;
- for the five responses, the top Via names the hub itself, as on a response to a request the hub
  had sent, so they get past the transport's Via check to whatever handles stray responses;
- `invut`, `sdp01` and `inv2543` are addressed to the demo number 8800 instead of the RFC's
  (unknown) user: what they test (an unknown body type, an unacceptable Accept, RFC 2543
  compatibility) only comes after the address check (RFC 3261 §8.2.2.1 answers 404 first),
  and their SDP connection address becomes 127.0.0.1 (same length, so Content-Length holds) so
  that no media leaves the machine;
- `mpart01`'s Route, which names the element under test, names the hub.

A valid INVITE to an unknown user is answered 404 by the hub's rules, which is what RFC 3261
asks; an INVITE answered 200 is acknowledged and hung up (ACK, then BYE, whose 200 is checked);
one left ringing is cancelled; a non-2xx final answer to an INVITE is acknowledged in its
transaction. Responses (`unreason`, `noreason`, `scalarlg`, `bigcode`, `bcast`) must get no
answer at all, and the hub must still be running. Afterwards the hub must answer an ordinary
OPTIONS with 200, its /healthz, and have no call left.

Every message is sent whatever happened to the previous one; the mismatches are reported
together in one table (tag, expected, got) with what the hub's log said about the message.
"""
from __future__ import annotations

import re
import secrets
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import hubnode
import sipkit

CORPUS = Path(__file__).resolve().parent / "sip" / "rfc4475"

# How long an answer to a request may take, and how long to go on listening after a final answer
# (for duplicates, or a second answer that should not be there).
ANSWER_WINDOW_S = 2.0
GRACE_S = 0.3
# A response must get nothing back: listened to for this long.
SILENCE_WINDOW_S = 1.5

# Placeholders in the rewrites: the test socket (top Via) and the hub (Request-URI).
VIA = b"$VIA"
HUB = b"$HUB"

NONE: frozenset[int] = frozenset()
# An INVITE for a user the hub does not have: RFC 3261 §8.2.2.1 (404), or 480.
NOT_HERE = frozenset({404, 480})
# An OPTIONS processed: 200, or what an INVITE to that user would get (RFC 3261 §11.2).
OPTIONS_OK = frozenset({200, 404, 480})
# A REGISTER processed by a registrar: a challenge (RFC 3261 §10.3 step 3, no credentials here),
# or the registrar's decision (200, 403 for an AOR it will not serve, 404 for one it does not have).
REGISTER_OK = frozenset({200, 401, 403, 404})
# A method the element does not implement: 501 (RFC 3261 §21.5.2; RFC 4475 §3.1.1.2 asks 501 of
# endpoints), or 405 if it counts as recognised (§8.2.1); either with Allow.
UNKNOWN_METHOD = frozenset({501, 405})
BAD = frozenset({400})

# Headers RFC 3261 makes compulsory in these answers, whatever the message.
REQUIRED_HEADERS = {
    405: "Allow",  # §8.2.1, §21.4.6
    415: "Accept",  # §8.2.3, §21.4.13
    420: "Unsupported",  # §8.2.2.3, §21.4.15
    401: "WWW-Authenticate",  # §22.1, §21.4.2
}

COMPACT = {"i": "call-id", "m": "contact", "e": "content-encoding", "l": "content-length",
           "c": "content-type", "f": "from", "s": "subject", "k": "supported", "t": "to",
           "v": "via"}


@dataclass(frozen=True)
class Case:
    tag: str
    section: str
    expect: frozenset[int]  # acceptable final status codes; empty: no answer at all
    why: str  # what RFC 4475 says of it (shown in the table)
    rewrites: tuple[tuple[bytes, bytes], ...] = ()
    response: bool = False  # the message is a response: nothing may come back

    def message(self, via: str, hub: str) -> bytes:
        data = (CORPUS / f"{self.tag}.sip").read_bytes()
        head_end = data.find(b"\r\n\r\n")
        length = re.search(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d+)", data[:max(head_end, 0)])
        body_end = head_end + 4 + int(length.group(1)) if length else len(data)
        for old, new in self.rewrites:
            at = data.find(old)
            assert at >= 0 and data.count(old) == 1, f"{self.tag}: {old!r} must occur exactly once"
            if 0 <= head_end < at < body_end:
                # In the body: the length must not change, or Content-Length would lie.
                assert len(old) == len(new), f"{self.tag}: a body rewrite must keep its length"
            data = data.replace(old, new)
        return data.replace(VIA, via.encode()).replace(HUB, hub.encode())


def ruri(old: bytes, new: bytes) -> tuple[bytes, bytes]:
    return old, new


def via(old: bytes, new: bytes = b"SIP/2.0/UDP $VIA") -> tuple[bytes, bytes]:
    return old, new


OPTIONS_RURI = ruri(b"OPTIONS sip:user@example.com SIP/2.0", b"OPTIONS sip:user@$HUB SIP/2.0")
INVITE_RURI = ruri(b"INVITE sip:user@example.com SIP/2.0", b"INVITE sip:user@$HUB SIP/2.0")
REGISTER_RURI = ruri(b"REGISTER sip:example.com SIP/2.0", b"REGISTER sip:$HUB SIP/2.0")
TO_8800 = ruri(b"INVITE sip:user@example.com SIP/2.0", b"INVITE sip:8800@$HUB SIP/2.0")
SDP_LOCAL = (b"c=IN IP4 192.0.2.5\r\n", b"c=IN IP4 127.0.0.1\r\n")

CASES = [
    # 3.1.1 Valid messages: parsed and processed, never 400.
    Case("wsinv", "3.1.1.1", frozenset({481, 404, 480}),
         "well formed; its To has a tag: 481 for a dialog it does not have (RFC 3261 §12.2.2) "
         "or 404 for the user",
         (ruri(b"INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0",
               b"INVITE sip:vivekg@$HUB;unknownparam SIP/2.0"),
          via(b"    192.0.2.2;branch=390skdjuw", b"    $VIA;branch=390skdjuw"))),
    Case("intmeth", "3.1.1.2", UNKNOWN_METHOD,
         "well formed, unknown method: endpoints answer 501 with Allow",
         (ruri(b"(doesn't-it)@example.com SIP/2.0", b"(doesn't-it)@$HUB SIP/2.0"),
          via(b"SIP/2.0/TCP host1.example.com"))),
    Case("esc01", "3.1.1.3", NOT_HERE, "well formed (% escapes): processed",
         (ruri(b"@example.net SIP/2.0", b"@$HUB SIP/2.0"),
          via(b"SIP/2.0/UDP host5.example.net"))),
    Case("escnull", "3.1.1.4", REGISTER_OK, "well formed (%00 in URIs): processed",
         (REGISTER_RURI, via(b"SIP/2.0/UDP host5.example.com"))),
    Case("esc02", "3.1.1.5", UNKNOWN_METHOD,
         "well formed; RE%47IST%45R is an unknown method: endpoints answer 501",
         (ruri(b"RE%47IST%45R sip:registrar.example.com SIP/2.0", b"RE%47IST%45R sip:$HUB SIP/2.0"),
          via(b"SIP/2.0/TCP host.example.com"))),
    Case("lwsdisp", "3.1.1.6", OPTIONS_OK, "no LWS before <: accept as well formed",
         (OPTIONS_RURI, via(b"SIP/2.0/UDP funky.example.com"))),
    Case("longreq", "3.1.1.7", NOT_HERE, "well formed (long values, 34 Vias): processed",
         (INVITE_RURI, via(b"Via: SIP/2.0/TCP sip33.example.com\r\n", b"Via: SIP/2.0/UDP $VIA\r\n"))),
    Case("dblreq", "3.1.1.8", REGISTER_OK,
         "the REGISTER is handled; the INVITE after it is noise to ignore (RFC 3261 §18.3)",
         (REGISTER_RURI, via(b"SIP/2.0/UDP 192.0.2.125"),
          # The ignored INVITE names the test socket too, so an answer to it would be seen.
          ruri(b"INVITE sip:joe@example.com SIP/2.0", b"INVITE sip:joe@$HUB SIP/2.0"),
          via(b"SIP/2.0/UDP 192.0.2.15"))),
    Case("semiuri", "3.1.1.9", OPTIONS_OK, "user part 'user;par=u@example.net': well formed",
         (ruri(b"@example.com SIP/2.0", b"@$HUB SIP/2.0"), via(b"SIP/2.0/UDP 192.0.2.1"))),
    Case("transports", "3.1.1.10", OPTIONS_OK, "unknown transports in lower Vias: well formed",
         (OPTIONS_RURI, via(b"SIP/2.0/UDP t1.example.com"))),
    Case("mpart01", "3.1.1.11", frozenset({200, 202, 404, 405, 415, 480, 501}),
         "multipart with a binary part: well formed (the application may refuse MESSAGE)",
         (ruri(b"MESSAGE sip:kumiko@example.org SIP/2.0", b"MESSAGE sip:kumiko@$HUB SIP/2.0"),
          via(b"SIP/2.0/UDP 127.0.0.1:5070"),
          (b"Route: <sip:127.0.0.1:5080>", b"Route: <sip:$HUB>"))),
    Case("unreason", "3.1.1.12", NONE, "a response (UTF-8 reason): parsed; nothing to answer",
         (via(b"SIP/2.0/UDP 192.0.2.198", b"SIP/2.0/UDP $HUB"),), response=True),
    Case("noreason", "3.1.1.13", NONE, "a response (empty reason): parsed; nothing to answer",
         (via(b"SIP/2.0/UDP 192.0.2.105", b"SIP/2.0/UDP $HUB"),), response=True),
    # 3.1.2 Invalid messages.
    Case("badinv01", "3.1.2.1", BAD, "stray ;,: 400",
         (INVITE_RURI, via(b"SIP/2.0/UDP 192.0.2.15;;,;,,", b"SIP/2.0/UDP $VIA;;,;,,"))),
    Case("clerr", "3.1.2.2", BAD, "Content-Length past the datagram, over UDP: 400",
         (INVITE_RURI, via(b"SIP/2.0/UDP host5.example.com"))),
    Case("ncl", "3.1.2.3", BAD, "negative Content-Length: an error (400)",
         (INVITE_RURI, via(b"SIP/2.0/UDP 192.0.2.53"))),
    Case("scalar02", "3.1.2.4", BAD, "CSeq > 2**32-1: 400",
         (REGISTER_RURI, via(b"SIP/2.0/TCP host129.example.com"))),
    Case("scalarlg", "3.1.2.5", NONE, "a response with overlarge values: discard",
         (via(b"SIP/2.0/TCP host129.example.com", b"SIP/2.0/UDP $HUB"),), response=True),
    Case("quotbal", "3.1.2.6", BAD | NOT_HERE,
         "unterminated quote: 400 (or infer the quote and process)",
         (INVITE_RURI, via(b"SIP/2.0/UDP 192.0.2.59:5050"))),
    Case("ltgtruri", "3.1.2.7", BAD | NOT_HERE, "<> around the Request-URI: 400 (or ignore them)",
         (ruri(b"INVITE <sip:user@example.com> SIP/2.0", b"INVITE <sip:user@$HUB> SIP/2.0"),
          via(b"Via: SIP/2.0/UDP 192.0.2.5\r\n", b"Via: SIP/2.0/UDP $VIA\r\n"))),
    Case("lwsruri", "3.1.2.8", BAD | NOT_HERE | {481},
         "LWS in the Request-URI: 400 (or ignore it; its To has a tag: 481)",
         (ruri(b"INVITE sip:user@example.com; lr SIP/2.0", b"INVITE sip:user@$HUB; lr SIP/2.0"),
          via(b"SIP/2.0/UDP 192.0.2.1:5060"))),
    Case("lwsstart", "3.1.2.9", BAD | NOT_HERE, "several SP in the Request-Line: 400 (or ignore)",
         (ruri(b"INVITE  sip:user@example.com  SIP/2.0", b"INVITE  sip:user@$HUB  SIP/2.0"),
          via(b"SIP/2.0/UDP host1.example.com"))),
    Case("trws", "3.1.2.10", BAD | OPTIONS_OK, "SP after SIP/2.0: 400 (or ignore)",
         (ruri(b"OPTIONS sip:remote-target@example.com SIP/2.0  \r\n",
               b"OPTIONS sip:remote-target@$HUB SIP/2.0  \r\n"),
          via(b"SIP/2.0/TCP host1.examle.com"))),
    Case("escruri", "3.1.2.11", BAD | NOT_HERE,
         "escaped headers in the Request-URI: 400 (or ignore them)",
         (ruri(b"INVITE sip:user@example.com?Route=", b"INVITE sip:user@$HUB?Route="),
          via(b"SIP/2.0/UDP host-of-the-hour.example.com"))),
    Case("baddate", "3.1.2.12", BAD | NOT_HERE, "Date in EST: 400 (or ignore the Date)",
         (INVITE_RURI, via(b"SIP/2.0/UDP host.example.com"))),
    Case("regbadct", "3.1.2.13", BAD | REGISTER_OK,
         "Contact with ?headers not in <>: 400 (or infer the brackets)",
         (REGISTER_RURI, via(b"SIP/2.0/UDP 135.180.130.133:5060"))),
    Case("badaspec", "3.1.2.14", BAD | OPTIONS_OK, "spaces in an addr-spec: 400 (or ignore them)",
         (ruri(b"OPTIONS sip:user@example.org SIP/2.0", b"OPTIONS sip:user@$HUB SIP/2.0"),
          via(b"SIP/2.0/UDP host4.example.com:5060"))),
    Case("baddn", "3.1.2.15", BAD | OPTIONS_OK,
         "unquoted non-token display names: 400 (or infer the quotes); the RFC's archive copy "
         "has no empty line after its last header",
         (ruri(b"OPTIONS sip:t.watson@example.org SIP/2.0", b"OPTIONS sip:t.watson@$HUB SIP/2.0"),
          via(b"SIP/2.0/UDP c.example.com:5060"))),
    Case("badvers", "3.1.2.16", frozenset({505}), "SIP/7.0: 505",
         (ruri(b"OPTIONS sip:t.watson@example.org SIP/7.0", b"OPTIONS sip:t.watson@$HUB SIP/7.0"),
          via(b"SIP/7.0/UDP c.example.com", b"SIP/7.0/UDP $VIA"))),
    Case("mismatch01", "3.1.2.17", BAD, "OPTIONS with CSeq INVITE: 400",
         (OPTIONS_RURI, via(b"SIP/2.0/UDP host.example.com"))),
    Case("mismatch02", "3.1.2.18", frozenset({501, 400}),
         "unknown method with CSeq INVITE: 501 (400 acceptable)",
         (ruri(b"NEWMETHOD sip:user@example.com SIP/2.0", b"NEWMETHOD sip:user@$HUB SIP/2.0"),
          via(b"SIP/2.0/UDP host.example.net"))),
    Case("bigcode", "3.1.2.19", NONE, "a response with code > 699: drop",
         (via(b"SIP/2.0/UDP 192.0.2.105", b"SIP/2.0/UDP $HUB"),), response=True),
    # 3.2 Transaction layer.
    Case("badbranch", "3.2.1", BAD | OPTIONS_OK,
         "branch=z9hG4bK with no id: 400, or fall back to RFC 2543 matching",
         (OPTIONS_RURI, via(b"SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK\r\n",
                            b"SIP/2.0/UDP $VIA;branch=z9hG4bK\r\n"))),
    # 3.3 Application layer.
    Case("insuf", "3.3.1", BAD, "no Call-ID, From, To: 400",
         (INVITE_RURI, via(b"SIP/2.0/UDP 192.0.2.95"))),
    Case("unkscm", "3.3.2", frozenset({416}), "unknown Request-URI scheme: 416 (never route by To)",
         (via(b"SIP/2.0/TCP host9.example.com"),)),
    Case("novelsc", "3.3.3", frozenset({416, 404}),
         "soap.beep Request-URI: 416 if never accepted, else 404",
         (via(b"SIP/2.0/TCP host9.example.com"),)),
    Case("unksm2", "3.3.4", frozenset({400, 401}),
         "To: isbn: in a REGISTER: a registrar answers 400 (401 first if it authenticates, "
         "RFC 3261 §10.3 step 3 before step 5)",
         (REGISTER_RURI, via(b"SIP/2.0/UDP 192.0.2.21:5060"))),
    Case("bext01", "3.3.5", frozenset({420}),
         "Require unknown: 420 with Unsupported listing the Require tokens",
         (OPTIONS_RURI, via(b"SIP/2.0/TLS fold-and-staple.example.com"))),
    Case("invut", "3.3.6", frozenset({415}), "unknown body type (sent to 8800): 415 with Accept",
         (TO_8800, via(b"SIP/2.0/UDP somehost.example.com"))),
    Case("regaut01", "3.3.7", frozenset({401}),
         "unknown Authorization scheme at a registrar that authenticates: 401 with a challenge",
         (REGISTER_RURI, via(b"SIP/2.0/TCP 192.0.2.253"))),
    Case("multi01", "3.3.8", BAD, "two Call-IDs, CSeqs, Tos, Froms, Max-Forwards: 400",
         (ruri(b"INVITE sip:user@company.com SIP/2.0", b"INVITE sip:user@$HUB SIP/2.0"),
          via(b"SIP/2.0/UDP 192.0.2.25"))),
    Case("mcl01", "3.3.9", BAD, "two different Content-Lengths: an error (400)",
         (OPTIONS_RURI, via(b"SIP/2.0/UDP host5.example.net"))),
    Case("bcast", "3.3.10", NONE, "a 200 with a broadcast Via: discard (never forward)",
         (via(b"SIP/2.0/UDP 192.0.2.198", b"SIP/2.0/UDP $HUB"),), response=True),
    Case("zeromf", "3.3.11", OPTIONS_OK,
         "Max-Forwards: 0 at an endpoint: process as if positive (483 is a proxy's)",
         (OPTIONS_RURI, via(b"SIP/2.0/UDP host1.example.com"))),
    Case("cparam01", "3.3.12", REGISTER_OK, "contact-param 'unknownparam': the REGISTER succeeds",
         (REGISTER_RURI, via(b"SIP/2.0/UDP saturn.example.com:5060"))),
    Case("cparam02", "3.3.13", REGISTER_OK, "uri-param 'unknownparam': the REGISTER succeeds",
         (REGISTER_RURI, via(b"SIP/2.0/UDP saturn.example.com:5060"))),
    Case("regescrt", "3.3.14", REGISTER_OK, "escaped Route in the Contact: the REGISTER succeeds",
         (REGISTER_RURI, via(b"SIP/2.0/UDP host5.example.com"))),
    Case("sdp01", "3.3.15", frozenset({406, 400}),
         "Accept without application/sdp (sent to 8800): 406 (or 400); never a 200 with SDP",
         (TO_8800, via(b"SIP/2.0/UDP 192.0.2.15"), SDP_LOCAL)),
    # 3.4 Backward compatibility.
    Case("inv2543", "3.4.1", frozenset({200}),
         "RFC 2543 INVITE (no branch, no From tag, no Content-Length, no Max-Forwards; sent "
         "to 8800): accepted",
         (ruri(b"INVITE sip:UserB@example.com SIP/2.0", b"INVITE sip:8800@$HUB SIP/2.0"),
          via(b"Via: SIP/2.0/UDP iftgw.example.com\r\n", b"Via: SIP/2.0/UDP $VIA\r\n"),
          SDP_LOCAL)),
]


# --- a minimal reader of the hub's answers ---------------------------------------------------

@dataclass
class Message:
    raw: bytes
    start: str
    headers: list[tuple[str, str]]

    @property
    def status(self) -> int | None:
        m = re.match(r"SIP/\d+\.\d+ (\d{3}) ", self.start + " ")
        return int(m.group(1)) if m else None

    @property
    def version(self) -> str:
        return self.start.split(" ", 1)[0]

    def header(self, name: str) -> str | None:
        name = name.lower()
        for n, v in self.headers:
            if n == name:
                return v
        return None

    @property
    def cseq(self) -> tuple[int, str] | None:
        m = re.match(r"\s*(\d+)\s+(\S+)", self.header("cseq") or "")
        return (int(m.group(1)), m.group(2)) if m else None


def read(raw: bytes) -> Message:
    head = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    lines = re.split(r"\r?\n", head)
    unfolded: list[str] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and unfolded:
            unfolded[-1] += " " + line.strip()
        else:
            unfolded.append(line)
    headers = []
    for line in unfolded:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        headers.append((COMPACT.get(name, name), value.strip()))
    return Message(raw, lines[0], headers)


def branch() -> str:
    return "z9hG4bK-torture-" + secrets.token_hex(6)


def uri_of(value: str) -> str:
    m = re.search(r"<([^>]*)>", value)
    return (m.group(1) if m else value.split(";")[0]).strip()


@dataclass
class Outcome:
    answers: list[Message] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # requests the hub sent to the test socket
    cleanup: list[str] = field(default_factory=list)  # what ACK/BYE/CANCEL got
    problems: list[str] = field(default_factory=list)

    @property
    def finals(self) -> list[int]:
        seen: list[int] = []
        for a in self.answers:
            if a.status and a.status >= 200 and a.status not in seen:
                seen.append(a.status)
        return seen

    def shown(self) -> str:
        codes: list[str] = []
        for a in self.answers:
            c = str(a.status) if a.status else repr(a.start[:30])
            if a.status and a.version != "SIP/2.0":
                c = f"{a.version} {c}"
            if c not in codes:
                codes.append(c)
        out = " ".join(codes) if codes else "no answer"
        if self.requests:
            out += " + hub sent " + ",".join(self.requests)
        if self.cleanup:
            out += " (" + "; ".join(self.cleanup) + ")"
        return out


class Peer:
    """One UDP socket of the test, talking to the hub's SIP port."""

    def __init__(self, sip_port: int):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.addr = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.hub = ("127.0.0.1", sip_port)

    def send(self, data: bytes) -> None:
        self.sock.sendto(data, self.hub)

    def collect(self, out: Outcome, window: float, grace: float, method: str | None = None) -> None:
        """Reads datagrams until `window` passes, or `grace` after the first final answer (for
        `method`, when given)."""
        start = time.monotonic()
        final_at: float | None = None
        while True:
            now = time.monotonic()
            left = (start + window - now) if final_at is None else (final_at + grace - now)
            if left <= 0:
                return
            self.sock.settimeout(left)
            try:
                data, _ = self.sock.recvfrom(65535)
            except socket.timeout:
                return
            msg = read(data)
            if msg.status is None:
                out.requests.append(msg.start.split(" ")[0][:20])
                continue
            out.answers.append(msg)
            if method and method_of(msg) != method:
                continue
            if msg.status >= 200 and final_at is None:
                final_at = time.monotonic()

    def close(self) -> None:
        self.sock.close()


def request(peer: Peer, method: str, uri: str, answer: Message, cseq: int, via_value: str | None = None,
            to: str | None = None) -> bytes:
    """A request built from an answer's dialog identifiers (From, To, Call-ID)."""
    return (f"{method} {uri} SIP/2.0\r\n"
            f"Via: {via_value or f'SIP/2.0/UDP {peer.addr};branch={branch()}'}\r\n"
            f"Max-Forwards: 70\r\n"
            f"From: {answer.header('from') or ''}\r\n"
            f"To: {to if to is not None else answer.header('to') or ''}\r\n"
            f"Call-ID: {answer.header('call-id') or ''}\r\n"
            f"CSeq: {cseq} {method}\r\n"
            f"Content-Length: 0\r\n\r\n").encode()


def request_uri(data: bytes) -> str:
    first = data.split(b"\r\n", 1)[0].decode("utf-8", "replace")
    m = re.search(r"(sip:[^\s>]+)", first)
    return m.group(1).rstrip(";") if m else "sip:127.0.0.1"


def method_of(answer: Message) -> str:
    return (answer.cseq or (0, ""))[1]


def finish_invite(peer: Peer, sent: bytes, out: Outcome) -> None:
    """Leaves nothing behind an INVITE: a 2xx is acknowledged and hung up, a non-2xx final
    acknowledged in its transaction, a call still ringing cancelled."""
    finals = [a for a in out.answers if a.status >= 200 and method_of(a) == "INVITE"]
    if not finals:
        provisional = [a for a in out.answers if a.status < 200 and method_of(a) == "INVITE"]
        if not provisional:
            return
        p = provisional[0]
        to = re.sub(r";\s*tag\s*=\s*[^;>\s]+", "", p.header("to") or "")
        peer.send(request(peer, "CANCEL", request_uri(sent), p, (p.cseq or (1, ""))[0],
                          via_value=p.header("via"), to=to))
        cancel = Outcome()
        peer.collect(cancel, ANSWER_WINDOW_S, GRACE_S, "INVITE")
        finals = [a for a in cancel.answers if a.status >= 200 and method_of(a) == "INVITE"]
        out.cleanup.append(f"CANCEL -> INVITE {finals[0].status if finals else 'no final'}")
        if not finals:
            return
    final = finals[0]
    num = (final.cseq or (1, ""))[0]
    if final.status >= 300:
        peer.send(request(peer, "ACK", request_uri(sent), final, num, via_value=final.header("via")))
        return
    contact = final.header("contact")
    target = uri_of(contact) if contact else request_uri(sent)
    peer.send(request(peer, "ACK", target, final, num))
    bye = Outcome()
    peer.send(request(peer, "BYE", target, final, num + 1))
    peer.collect(bye, ANSWER_WINDOW_S, GRACE_S, "BYE")
    got = [a.status for a in bye.answers if a.status >= 200 and method_of(a) == "BYE"]
    out.cleanup.append(f"ACK, BYE -> {got[0] if got else 'no answer'}")
    if got[:1] != [200]:
        out.problems.append(f"the BYE ending the answered call got {got[0] if got else 'no answer'}")


def judge(case: Case, out: Outcome) -> list[str]:
    """What is wrong with the answers, against the case's table row."""
    problems = list(out.problems)
    finals = out.finals
    if case.response or not case.expect:
        if out.answers or out.requests:
            problems.append("a response must get no answer")
        return problems
    if not finals:
        problems.append("no final answer")
    elif len(finals) > 1:
        problems.append(f"several final answers: {finals}")
    elif finals[0] not in case.expect:
        problems.append(f"{finals[0]} is not what the RFC asks")
    for a in out.answers:
        if a.version != "SIP/2.0":
            problems.append(f"answered with a {a.version} status line")
        needed = REQUIRED_HEADERS.get(a.status or 0)
        if needed and not a.header(needed):
            problems.append(f"{a.status} without {needed}")
    if case.tag == "dblreq":
        others = [a for a in out.answers if method_of(a) != "REGISTER"]
        if others:
            problems.append("the noise after the REGISTER was answered: "
                            + ", ".join(f"{a.status} to {a.header('cseq')}" for a in others))
    if case.tag == "bext01":
        listed = {t.strip() for v in (a.header("unsupported") or "" for a in out.answers if a.status == 420)
                  for t in v.split(",") if t.strip()}
        if any(a.status == 420 for a in out.answers) and \
                not {"nothingSupportsThis", "nothingSupportsThisEither"} <= listed:
            problems.append(f"Unsupported lists {sorted(listed)}, not the Require tokens")
    if case.tag == "sdp01":
        for a in out.answers:
            if a.status and 200 <= a.status < 300 and b"application/sdp" in a.raw.lower():
                problems.append("answered with SDP although Accept does not take it")
    if out.requests:
        problems.append("the hub sent requests to the test socket: " + ",".join(out.requests))
    return problems


def log_hint(node: hubnode.Node, peer_addr: str) -> str:
    """What the hub's log said went wrong with the datagram from `peer_addr` (rsipstack logs a
    message it cannot parse at debug level, one it cannot take at warn level)."""
    try:
        text = node.log_path.read_text(errors="replace")
    except OSError:
        return ""
    for line in re.sub(r"\x1b\[[0-9;]*m", "", text).splitlines():
        if "error" not in line or not re.search(re.escape(peer_addr) + r"(?!\d)", line):
            continue
        m = re.search(r"\berror=(.*?)(?: raw_message=|$)", line)
        if m:
            return m.group(1).strip()[:110]
    return ""


@pytest.fixture
def sip_hub(hub_store):
    """A node with telephony on (as in test_telephony.py), logging rsipstack's parse errors."""
    store = hub_store()
    port, _ = sipkit.sip_env(store)
    store.extra_env["HUB_LOG"] = "info,rsipstack=debug"
    node = store.start()
    return node, port


def calls_active(node: hubnode.Node) -> float | None:
    import urllib.request
    with urllib.request.urlopen(node.url("/metrics"), timeout=5) as r:
        m = re.search(r"^hub_sip_calls_active (\S+)$", r.read().decode(), re.M)
    return float(m.group(1)) if m else None


def test_rfc4475_torture_messages(sip_hub):
    """All 49 RFC 4475 messages, one datagram each; every mismatch reported at once."""
    node, sip = sip_hub
    assert sorted(p.stem for p in CORPUS.glob("*.sip")) == sorted(c.tag for c in CASES)
    assert len(CASES) == 49
    hub = f"127.0.0.1:{sip}"
    rows: list[tuple[Case, str, list[str], str]] = []
    for case in CASES:
        if node.proc.poll() is not None:
            rows.append((case, "not sent", [f"the hub had exited ({node.proc.returncode})"], ""))
            continue
        peer = Peer(sip)
        try:
            sent = case.message(peer.addr, hub)
            out = Outcome()
            peer.send(sent)
            if case.response or not case.expect:
                peer.collect(out, SILENCE_WINDOW_S, 0)
            else:
                peer.collect(out, ANSWER_WINDOW_S, 1.0 if case.tag == "dblreq" else GRACE_S)
                method = sent.split(b" ", 1)[0]
                if method == b"INVITE":
                    finish_invite(peer, sent, out)
            problems = judge(case, out)
            if node.proc.poll() is not None:
                problems.append(f"the hub exited ({node.proc.returncode})")
            rows.append((case, out.shown(), problems, log_hint(node, peer.addr) if problems else ""))
        finally:
            peer.close()

    after: list[str] = []
    if node.proc.poll() is not None:
        after.append(f"the hub is not running any more (exit {node.proc.returncode})")
    else:
        # An ordinary OPTIONS is still answered, the HTTP side is healthy, and no call is left.
        peer = Peer(sip)
        try:
            cid = f"after-torture-{secrets.token_hex(4)}"
            peer.send((f"OPTIONS sip:{hub} SIP/2.0\r\nVia: SIP/2.0/UDP {peer.addr};branch={branch()};rport\r\n"
                       f"Max-Forwards: 70\r\nFrom: <sip:probe@{peer.addr}>;tag={cid}\r\nTo: <sip:{hub}>\r\n"
                       f"Call-ID: {cid}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode())
            out = Outcome()
            peer.collect(out, 3.0, GRACE_S)
            if out.finals != [200]:
                after.append(f"an ordinary OPTIONS afterwards got {out.shown()}, not 200")
        finally:
            peer.close()
        if node.api.request("GET", "/healthz")[0] != 200:
            after.append("/healthz is not 200 afterwards")
        deadline = time.monotonic() + 5
        while (active := calls_active(node)) and time.monotonic() < deadline:
            time.sleep(0.2)
        if active:
            after.append(f"{active:.0f} call(s) still active afterwards")

    table = [f"  {'tag':<11}{'section':<10}{'expected':<30}got"]
    for case, got, problems, _ in rows:
        want = ",".join(map(str, sorted(case.expect))) if case.expect else "no answer"
        mark = "  " if not problems else "✗ "
        table.append(f"{mark}{case.tag:<11}{case.section:<10}{want:<30}{got}")
    print("\n".join(table))

    failed = [(c, got, p, hint) for c, got, p, hint in rows if p]
    if failed or after:
        lines = [f"{len(failed)} of {len(rows)} RFC 4475 messages were not handled as the RFC says:",
                 f"{'tag':<11}{'expected':<30}{'got':<30}why"]
        for case, got, problems, hint in failed:
            want = ",".join(map(str, sorted(case.expect))) if case.expect else "no answer"
            lines.append(f"{case.tag:<11}{want:<30}{got:<30}{'; '.join(problems)}")
            lines.append(f"{'':<11}RFC 4475 §{case.section}: {case.why}")
            if hint:
                lines.append(f"{'':<11}hub log: {hint}")
        if after:
            lines.append("after the corpus: " + "; ".join(after))
        pytest.fail("\n".join(lines), pytrace=False)


def test_a_new_dialog_may_reuse_a_finished_calls_call_id(sip_hub):
    """A caller whose INVITE reuses the Call-ID of a call that has ended (a new From tag, a new
    dialog) gets a call like any other: answered, kept until the caller hangs up, its own record
    (the hub once answered 200 and hung up at once on a store conflict)."""
    node, sip = sip_hub
    hub = f"127.0.0.1:{sip}"
    cid = f"reused-{secrets.token_hex(4)}"
    for attempt in range(2):
        peer = Peer(sip)
        try:
            sdp = (b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                   b"m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n")
            invite = (f"INVITE sip:8800@{hub} SIP/2.0\r\nVia: SIP/2.0/UDP {peer.addr};branch={branch()}\r\n"
                      f"Max-Forwards: 70\r\nFrom: <sip:caller@{peer.addr}>;tag=caller-{attempt}\r\n"
                      f"To: <sip:8800@{hub}>\r\nCall-ID: {cid}\r\nCSeq: 1 INVITE\r\n"
                      f"Contact: <sip:caller@{peer.addr}>\r\nContent-Type: application/sdp\r\n"
                      f"Content-Length: {len(sdp)}\r\n\r\n").encode() + sdp
            out = Outcome()
            peer.send(invite)
            peer.collect(out, 5.0, GRACE_S, "INVITE")
            assert 200 in out.finals, f"attempt {attempt}: {out.shown()}"
            final = next(a for a in out.answers if a.status == 200)
            target = uri_of(final.header("contact") or "") or f"sip:{hub}"
            peer.send(request(peer, "ACK", target, final, 1))
            # The hub keeps the call: no BYE of its own while the caller listens to the greeting.
            quiet = Outcome()
            peer.collect(quiet, 2.0, 0)
            assert "BYE" not in quiet.requests, f"attempt {attempt}: the hub hung up at once"
            bye = Outcome()
            peer.send(request(peer, "BYE", target, final, 2))
            peer.collect(bye, ANSWER_WINDOW_S, GRACE_S, "BYE")
            assert 200 in [a.status for a in bye.answers if method_of(a) == "BYE"], bye.shown()
        finally:
            peer.close()
    assert node.proc.poll() is None
