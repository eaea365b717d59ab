"""Every operation of the API, as every kind of caller, with our own ids and with another
organisation's: derived from the OpenAPI document (web/openapi.json), so an endpoint added without
being documented, or documented without its `x-access`, fails here.

`test_routes_and_spec_agree` reads the route registrations from the Rust source (web/src: every
`.route("PATH", web::METHOD()…)`, `web::resource("PATH").route(…)`, route-building helpers such as
`get_or_head()`, scopes and attribute macros; any other registration form fails until this test
learns it) and checks that the (method, path) pairs under /api/, /ws/ and /telegram/ are exactly the
document's operations, that each operation has a valid `x-access`, and that it agrees with the
extractor types of its handler's parameters (`Operator`, `Supervisor`, `Admin`, `Kiosk`, `Board`,
`Signed`; none: public, visitor, webhook or metrics).

`test_walk_every_operation_as_every_caller` starts one node, sets up a second organisation through
its admin's API (branch, services, window, chat queue, user, devices, phone account, trunk, number,
VIP, mailbox, Telegram bot, canned response, files, a visitor's chat, a called ticket, a filtered
mail), then calls every operation of the document, reads first, then writes, then what ends or
deletes things (on objects made for it), sign-out last:

- as nobody, org 1's operator, supervisor, admin, kiosk, board and web-chat visitor, with org 1's
  own ids: the rule of the operation's `x-access` (`expected_by_access`: no credentials 401; a
  visitor token where a session is needed, or a session where a visitor token is, 401; a session
  of the wrong kind or too low a role 403; enough access never 401/403; WebSockets 101);
- before that, with org 2's id in the path, and with org 2's id in each id field of the body (one
  at a time), and org 2's values of hub-wide unique fields (logins, numbers, addresses): an org-1
  caller never gets 2xx, and is told 404 (or 400/503, refused before any lookup, or whatever the
  same request with its own ids got); another organisation's shared name is 403 (not_assigned),
  or 409, never more;
- no answer to an org-1 caller ever carries org 2's data (the distinctive names and numbers given
  to its objects), nor does any frame of org 1's live feeds while org 2 is busy; and org 2's objects
  are as they were after the walk.

Every mismatch is collected and reported once, as a table.
"""
from __future__ import annotations

import base64
import http.client
import json
import os
import re
import secrets
import smtplib
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

import hubnode

SPEC_FILE = hubnode.REPO / "web" / "openapi.json"
SOURCE_DIR = hubnode.REPO / "web" / "src"
# What the document must cover exactly: everything the server registers under these prefixes.
PREFIXES = ("/api/", "/ws/", "/telegram/")
OPERATION_KEYS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# x-access: who may call an operation.
ACCESS_LEVELS = {
    "public": "no sign-in at all",
    "visitor": "a web-chat visitor token (POST /api/chat/start)",
    "kiosk": "a signed-in kiosk device",
    "board": "a signed-in board device",
    "device": "a signed-in kiosk or board",
    "signed": "any signed-in session, user or device",
    "operator": "a user with role operator or higher",
    "supervisor": "a user with role supervisor or higher",
    "admin": "a user with role admin",
    "webhook": "Telegram's webhook, authenticated by the bot's own secret",
    "metrics": "the metrics scraper: its token, or with none configured this machine",
}
# The extractor types of web/src/auth.rs and the access each one grants.
EXTRACTOR_ACCESS = {
    "Signed": "signed",
    "Operator": "operator",
    "Supervisor": "supervisor",
    "Admin": "admin",
    "Kiosk": "kiosk",
    "Board": "board",
    "User<OPERATOR>": "operator",
    "User<SUPERVISOR>": "supervisor",
    "User<ADMIN>": "admin",
    "Device<0>": "kiosk",
    "Device<1>": "board",
}
# Accesses stricter than each (what a handler's body may add to its extractor's check).
STRICTER = {
    "signed": {"device", "kiosk", "board", "operator", "supervisor", "admin"},
    "device": {"kiosk", "board"},
    "operator": {"supervisor", "admin"},
    "supervisor": {"admin"},
}
# Access without an extractor: the handler looks at the request itself.
UNEXTRACTED_ACCESS = {"public", "visitor", "webhook", "metrics"}

CALLERS = ("none", "operator", "supervisor", "admin", "kiosk", "board", "visitor")
# Callers whose session is enough for each signed-in access.
ENOUGH = {
    "signed": {"operator", "supervisor", "admin", "kiosk", "board"},
    "device": {"kiosk", "board"},
    "kiosk": {"kiosk"},
    "board": {"board"},
    "operator": {"operator", "supervisor", "admin"},
    "supervisor": {"supervisor", "admin"},
    "admin": {"admin"},
    "visitor": {"visitor"},
}
# Only for the webhook: Telegram itself, sending org 1's bot's secret.
WEBHOOK_CALLER = "telegram (bot's secret)"

# Org 2's data: no answer to an org-1 caller may contain any of these (compared in lower case).
ORG2 = "Zeta-Org2"
ORG2_PHONE = "+74957770222"
ORG2_VIP = "+79990002222"
ORG2_DOMAIN = "zeta-org2.example"
ORG2_MARKERS = ("zeta-org2", ORG2_PHONE.lstrip("+"), ORG2_VIP.lstrip("+"), "другая организация", "чужой админ")

ALWAYS = {d: "00:00-24:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
WALK_BUDGET_S = 60


# --- the Rust source: route registrations and handlers ---------------------------------------------


def _lex(text: str) -> tuple[str, str]:
    """(code, mask) of a Rust file, both as long as the text: `code` has comments blanked;
    `mask` also has the insides of string and char literals blanked (quotes kept), so brackets
    and keywords are found only where they are code."""
    code, mask = [], []
    i, n = 0, len(text)

    def emit(s: str, hidden: bool = False) -> None:
        code.append(s)
        mask.append(re.sub(r"[^\n]", " ", s) if hidden else s)

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            code.append(" " * (j - i))
            mask.append(" " * (j - i))
            i = j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            blank = re.sub(r"[^\n]", " ", text[i:j])
            code.append(blank)
            mask.append(blank)
            i = j
            continue
        word_start = i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")
        raw = re.match(r'b?r(#*)"', text[i:i + 40]) if c in "rb" and word_start else None
        if raw:
            end = '"' + raw.group(1)
            j = text.find(end, i + len(raw.group(0)))
            j = n if j < 0 else j
            emit(raw.group(0))
            emit(text[i + len(raw.group(0)):j], hidden=True)
            emit(end)
            i = j + len(end)
            continue
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            emit('"')
            emit(text[i + 1:j], hidden=True)
            emit('"')
            i = j + 1
            continue
        if c == "'":
            ch = re.match(r"'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'\n])'", text[i:i + 12])
            if ch:
                emit("'")
                emit(ch.group(0)[1:-1], hidden=True)
                emit("'")
                i += len(ch.group(0))
                continue
        emit(c)
        i += 1
    return "".join(code), "".join(mask)


def _close(mask: str, open_at: int) -> int:
    """Index of the bracket closing the one at `open_at` (in the mask: no strings or comments)."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    want = [pairs[mask[open_at]]]
    for j in range(open_at + 1, len(mask)):
        ch = mask[j]
        if ch in pairs:
            want.append(pairs[ch])
        elif ch in ")]}":
            if not want or ch != want[-1]:
                raise ValueError(f"unbalanced {ch!r} at {j}")
            want.pop()
            if not want:
                return j
    raise ValueError(f"unclosed bracket at {open_at}")


def _chain_end(mask: str, start: int) -> int:
    """Where the method chain that continues at `start` ends: the end of its statement or
    argument (a `;` or `,` at its own level, or the bracket that closes around it)."""
    j = start
    while j < len(mask):
        ch = mask[j]
        if ch in "([{":
            j = _close(mask, j) + 1
            continue
        if ch in ")]};,":
            return j
        j += 1
    return j


@dataclass
class SourceFile:
    path: Path
    code: str
    mask: str

    def line(self, at: int) -> int:
        return self.code.count("\n", 0, at) + 1

    def where(self, at: int) -> str:
        shown = self.path.relative_to(hubnode.REPO) if self.path.is_relative_to(hubnode.REPO) else self.path
        return f"{shown}:{self.line(at)}"

    def literal(self, quote_at: int) -> str:
        """The string literal whose opening quote is at `quote_at`."""
        end = self.mask.index('"', quote_at + 1)
        return self.code[quote_at + 1:end]


@dataclass
class Route:
    method: str  # upper case, or "*" when nothing restricts it
    path: str
    where: str
    handler: str | None
    file: SourceFile


METHOD_WORDS = "get|post|put|patch|delete|head|options|trace"


def _methods_of(expr: str, helpers: dict[str, set[str]]) -> set[str]:
    """The HTTP methods a route expression (`web::post().to(h)`, `get_or_head().to(...)`,
    `web::route().guard(guard::Get())`, `web::route().method(Method::PUT)`) answers."""
    found = {m.upper() for m in re.findall(rf"\bweb::({METHOD_WORDS})\s*\(\s*\)", expr)}
    found |= {m.upper() for m in re.findall(r"\bguard::(Get|Post|Put|Patch|Delete|Head|Options|Trace)\b", expr)}
    found |= set(re.findall(r"\bMethod::(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|TRACE)\b", expr))
    for name in re.findall(r"\b(\w+)\s*\(\s*\)", expr):
        found |= helpers.get(name, set())
    return found or {"*"}


def _handler_of(expr: str) -> str | None:
    m = re.search(r"\.to\(\s*([A-Za-z_][\w:]*)\s*\)", expr)
    return m.group(1).split("::")[-1] if m else None


def _handler_file(f: SourceFile, expr: str, files: dict) -> SourceFile:
    """The file a handler is written in: the registering file's, or a child module's when the
    handler is named through it (`devices::add_device` from `admin/mod.rs`)."""
    m = re.search(r"\.to\(\s*([A-Za-z_][\w:]*)\s*\)", expr)
    parts = m.group(1).split("::") if m else []
    if len(parts) != 2:
        return f
    home = f.path.parent if f.path.name == "mod.rs" else f.path.with_suffix("")
    return files.get(home / f"{parts[0]}.rs", f)


def parse_routes(source_dir: Path = SOURCE_DIR) -> tuple[list[Route], list[str], dict[Path, SourceFile]]:
    """Every route the Rust source registers, and the registrations it could not read (each a
    problem: a form this parser must be taught, so that nothing escapes the comparison)."""
    files = {}
    for p in sorted(source_dir.rglob("*.rs")):
        code, mask = _lex(p.read_text(encoding="utf-8"))
        files[p] = SourceFile(p, code, mask)
    routes: list[Route] = []
    problems: list[str] = []
    for f in files.values():
        code, mask = f.code, f.mask
        consumed: set[int] = set()
        # Helpers that build a Route (pages.rs: `fn get_or_head() -> actix_web::Route`).
        helpers: dict[str, set[str]] = {}
        for m in re.finditer(r"\bfn\s+(\w+)\s*\(\s*\)\s*->\s*(?:[\w:]+::)?Route\b[^{]*\{", mask):
            body_end = _close(mask, m.end() - 1)
            helpers[m.group(1)] = _methods_of(code[m.end():body_end], {})
            consumed |= set(range(m.start(), body_end))
        # Scopes: their prefix applies to everything registered in their chain.
        scopes: list[tuple[int, int, str]] = []
        for m in re.finditer(r'\bweb::scope\(\s*"', mask):
            prefix = f.literal(m.end() - 1)
            call_end = _close(mask, mask.index("(", m.start()))
            scopes.append((m.start(), _chain_end(mask, call_end + 1), prefix))
            consumed.add(m.start())

        def prefix_at(at: int) -> str:
            return "".join(p for s, e, p in sorted(scopes) if s <= at < e)

        # `.route("PATH", EXPR)`.
        for m in re.finditer(r"\.route\(", mask):
            open_at = m.end() - 1
            close_at = _close(mask, open_at)
            args_mask = mask[open_at + 1:close_at]
            lit = re.match(r'\s*"', args_mask)
            if not lit:
                continue  # one-argument form: a resource's route, read below
            quote_at = open_at + 1 + lit.end() - 1
            path = prefix_at(m.start()) + f.literal(quote_at)
            expr = code[quote_at:close_at]
            for method in sorted(_methods_of(expr, helpers)):
                routes.append(Route(method, path, f.where(m.start()), _handler_of(expr), _handler_file(f, expr, files)))
            consumed |= set(range(m.start(), close_at))
        # `web::resource("PATH")` with its `.route(web::METHOD().to(h))` / `.to(h)` chain.
        for m in re.finditer(r'\bweb::resource\(', mask):
            open_at = m.end() - 1
            close_at = _close(mask, open_at)
            lit = re.match(r'\s*"', mask[open_at + 1:close_at])
            if not lit:
                problems.append(f"{f.where(m.start())}: web::resource without a single path literal: "
                                f"{code[m.start():close_at + 1]!r}")
                continue
            path = prefix_at(m.start()) + f.literal(open_at + 1 + lit.end() - 1)
            end = _chain_end(mask, close_at + 1)
            j = close_at + 1
            found = False
            while j < end:
                call = re.compile(r"\s*\.\s*(\w+)\s*\(").match(mask, j)
                if not call:
                    break
                c_open = call.end() - 1
                c_close = _close(mask, c_open)
                name, expr = call.group(1), code[c_open + 1:c_close]
                if name == "route":
                    methods = _methods_of(expr, helpers)
                elif name == "to":
                    methods = {"*"}
                    expr = f".to({expr})"
                elif name in METHOD_WORDS.split("|"):
                    methods, expr = {name.upper()}, f".to({expr})"
                else:
                    j = c_close + 1
                    continue
                found = True
                for method in sorted(methods):
                    routes.append(Route(method, path, f.where(m.start()), _handler_of(expr), _handler_file(f, expr, files)))
                consumed |= set(range(call.start(), c_close))
                j = c_close + 1
            if not found:
                problems.append(f"{f.where(m.start())}: web::resource({path!r}) registers no method this test can read")
            consumed |= set(range(m.start(), close_at))
        # Attribute macros: #[get("/path")] async fn h(...).
        for m in re.finditer(rf'#\[\s*({METHOD_WORDS})\s*\(\s*"', mask):
            path = f.literal(m.end() - 1)
            fn = re.compile(r"\bfn\s+(\w+)").search(mask, m.end())
            routes.append(Route(m.group(1).upper(), path, f.where(m.start()), fn.group(1) if fn else None, f))
            consumed.add(m.start())
        for m in re.finditer(r'#\[\s*route\s*\(\s*"', mask):
            problems.append(f"{f.where(m.start())}: #[route(...)] attribute: teach this test to read it")
        macro_handlers = {r.handler for r in routes if r.file is f and r.handler}
        # Anything that looks like a registration but was not read above.
        for m in re.finditer(rf"\bweb::(?:{METHOD_WORDS}|route|resource|scope)\s*\(|\.route\(|\.service\(", mask):
            if m.start() in consumed:
                continue
            if mask[m.start():m.end()].startswith(".service("):
                inner = _close(mask, m.end() - 1)
                arg = mask[m.end():inner].strip()
                if re.match(r"web::(resource|scope)\(", arg) or arg in macro_handlers:
                    continue
            problems.append(f"{f.where(m.start())}: a route registration this test cannot read: "
                            f"{code[m.start():m.start() + 80].splitlines()[0]!r}")
    return routes, problems, files


def _function(f: SourceFile, name: str) -> tuple[str, str] | None:
    """(parameters, body) of `fn name` in the file, as code."""
    m = re.compile(rf"\bfn\s+{re.escape(name)}\s*(?:<[^>]*>)?\s*\(").search(f.mask)
    if not m:
        return None
    p_close = _close(f.mask, m.end() - 1)
    b_open = f.mask.index("{", p_close)
    b_close = _close(f.mask, b_open)
    return f.code[m.end():p_close], f.code[b_open:b_close + 1]


def extractor_access(params: str) -> set[str]:
    found = set()
    for m in re.finditer(r":\s*((?:[\w]+::)*)(User\s*<\s*\w+\s*>|Device\s*<\s*\d\s*>|\w+)", params):
        ty = re.sub(r"\s+", "", m.group(2))
        if ty in EXTRACTOR_ACCESS:
            found.add(EXTRACTOR_ACCESS[ty])
    return found


def normalise(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def _segments_match(route_path: str, spec_path: str) -> bool:
    r, s = normalise(route_path).split("/"), normalise(spec_path).split("/")
    return len(r) == len(s) and all(a == b or a == "{}" for a, b in zip(r, s))


def load_spec() -> dict:
    return json.loads(SPEC_FILE.read_text(encoding="utf-8"))


def spec_operations(spec: dict) -> list[tuple[str, str, dict]]:
    return [(m.upper(), path, op) for path, item in spec["paths"].items()
            for m, op in item.items() if m in OPERATION_KEYS]


def coverage_problems(spec: dict, source_dir: Path = SOURCE_DIR) -> list[str]:
    routes, problems, _ = parse_routes(source_dir)
    problems = list(problems)
    ops = spec_operations(spec)
    served = [r for r in routes if r.path.startswith(PREFIXES)]
    for r in served:
        if r.method == "*":
            problems.append(f"{r.where}: {r.path} is registered for every method; the document needs one per method")
    matched_by: dict[int, list[tuple[str, str]]] = {}
    for method, path, op in ops:
        same = [i for i, r in enumerate(routes) if r.method in (method, "*") and normalise(r.path) == normalise(path)]
        templ = [i for i, r in enumerate(routes) if r.method in (method, "*") and _segments_match(r.path, path)]
        hits = same or templ[:1]
        if not hits:
            problems.append(f"{method} {path}: in web/openapi.json, but no route in web/src registers it")
            continue
        for i in hits:
            matched_by.setdefault(i, []).append((method, path))
        access = op.get("x-access")
        if access not in ACCESS_LEVELS:
            problems.append(f"{method} {path}: x-access {access!r} is not one of {sorted(ACCESS_LEVELS)}")
            continue
        r = routes[hits[0]]
        fn = _function(r.file, r.handler) if r.handler else None
        if fn is None:
            problems.append(f"{method} {path}: handler {r.handler!r} of {r.where} not found to check x-access")
            continue
        params, body = fn
        derived = extractor_access(params)
        # A handler may refuse more inside its body (a Signed handler only for users): then
        # x-access may be stricter than its extractor, never looser.
        refined = len(derived) == 1 and access in STRICTER.get(next(iter(derived)), set()) \
            and re.search(r"\bError::Forbidden\b", body)
        if derived and derived != {access} and not refined:
            problems.append(f"{method} {path}: x-access {access!r}, but its handler {r.handler} ({r.where}) "
                            f"takes {sorted(derived)}")
        if not derived and access not in UNEXTRACTED_ACCESS:
            problems.append(f"{method} {path}: x-access {access!r}, but its handler {r.handler} ({r.where}) "
                            f"has no identity extractor (Signed, Operator, Supervisor, Admin, Kiosk, Board)")
        if access == "visitor" and not re.search(r"\bvisitor\s*\(", body):
            problems.append(f"{method} {path}: x-access 'visitor', but its handler {r.handler} never resolves a visitor")
    for i, r in enumerate(routes):
        if not r.path.startswith(PREFIXES):
            continue
        docs = matched_by.get(i)
        if not docs:
            problems.append(f"{r.method} {r.path}: registered at {r.where}, but not in web/openapi.json")
            continue
        # One route documented as several concrete paths (POST /api/operator/tickets/{id}/{action}):
        # the documented values must be exactly the ones its handler accepts.
        r_segs = r.path.split("/")
        for pos, seg in enumerate(r_segs):
            if not seg.startswith("{"):
                continue
            values = {p.split("/")[pos] for _, p in docs if not p.split("/")[pos].startswith("{")}
            if not values:
                continue
            fn = _function(r.file, r.handler) if r.handler else None
            accepted = set(re.findall(r'"([^"\n]+)"\s*(?:\|\s*"[^"\n]+"\s*)*=>', fn[1])) if fn else set()
            for alt in re.findall(r'((?:"[^"\n]+"\s*\|\s*)+"[^"\n]+")\s*=>', fn[1] if fn else ""):
                accepted |= set(re.findall(r'"([^"\n]+)"', alt))
            if values != accepted:
                problems.append(f"{r.method} {r.path} ({r.where}): documented with {seg} = {sorted(values)}, but "
                                f"its handler {r.handler} accepts {sorted(accepted) or 'no listed values'}")
    return problems


def test_routes_and_spec_agree():
    spec = load_spec()
    problems = coverage_problems(spec)
    routes, _, _ = parse_routes()
    assert len([r for r in routes if r.path.startswith(PREFIXES)]) >= 50, "the route parser found too few routes"
    if problems:
        pytest.fail("web/src and web/openapi.json disagree:\n  " + "\n  ".join(problems), pytrace=False)


# --- the walk ----------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    text: str

    def json(self):
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    def brief(self) -> str:
        body = self.json()
        if isinstance(body, dict) and "code" in body:
            return f"{self.status} {body['code']}: {str(body.get('message'))[:110]}"
        text = " ".join(self.text.split())
        return f"{self.status} {text[:110]}" if text else str(self.status)


@dataclass
class Expect:
    label: str
    ok: Callable[[int], bool]


def expected_by_access(access: str, caller: str, websocket: bool) -> Expect:
    """The rule of x-access for a caller, with the caller's own organisation's ids."""
    allowed = Expect(f"101 (upgraded; x-access {access})", lambda s: s == 101) if websocket else \
        Expect(f"not 401/403 (x-access {access})", lambda s: s not in (401, 403))
    if access == "public":
        return allowed
    if access == "metrics":
        # No metrics_token is configured and the walk asks from this machine.
        return Expect("200 (scraper on this machine)", lambda s: s == 200)
    if access == "webhook":
        if caller == WEBHOOK_CALLER:
            return Expect("200 (the bot's secret)", lambda s: s == 200)
        return Expect("401 (no webhook secret)", lambda s: s == 401)
    if caller == "none":
        return Expect("401 (no credentials)", lambda s: s == 401)
    if access == "visitor":
        if caller == "visitor":
            return allowed
        return Expect("401 (a session is no visitor token)", lambda s: s == 401)
    if caller == "visitor":
        return Expect("401 (a visitor token is no session)", lambda s: s == 401)
    if caller in ENOUGH[access]:
        return allowed
    return Expect(f"403 ({caller} is not {access})", lambda s: s == 403)


def _kind_of_path_param(path: str, index: int) -> str | None:
    segs = path.split("/")
    name = segs[index].strip("{}")
    if name == "public_id":
        return "public_id"
    if name == "ticket" and path.startswith("/api/pairing/"):
        return "pairing_ticket"
    if path.startswith("/api/chat/attachments/"):
        return "visitor_attachment"
    return {
        "branches": "branch", "services": "service", "users": "user", "conversations": "conversation",
        "contacts": "contact", "canned": "canned", "attachments": "attachment", "bots": "bot",
        "telegram": "bot", "boards": "board", "templates": "lang", "mailboxes": "mailbox",
        "accounts": "sip_user", "trunks": "trunk", "vip": "vip", "filtered": "filtered", "devices": "device",
        "announcement": "called_ticket", "tickets": "ticket", "operators": "user", "windows": "window",
        "board-templates": "board_template", "regions": "region",
        "requests": "request", "policies": "desk_policy", "workflows": "workflow",
        "webhooks": "webhook", "deliveries": "webhook_delivery", "people": "user", "activities": "activity",
        "vehicles": "vehicle", "trackers": "tracker", "sensors": "sensor", "groups": "support_group",
    }.get(segs[index - 1])


# Kinds of ids that are not an organisation's (the same for everyone).
SHARED_KINDS = {"lang", "pairing_ticket"}

# Body fields holding ids, by name, and where an operation means another kind.
BODY_ID_FIELDS = {
    "service_id": "service", "service_ids": "service", "window_id": "window", "queue_id": "queue",
    "default_queue_id": "queue", "branch_id": "branch", "parent_id": "group", "trunk_id": "trunk",
    "operator_id": "user", "other_id": "contact", "conversation_id": "conversation",
    "attachment_ids": "attachment", "choices": "queue", "branch_ids": "branch", "window_ids": "window",
    "template_id": "board_template", "region_id": "region",
    "calendar_id": "calendar", "ola_policy_id": "desk_policy", "counterparty_id": "counterparty",
    "site_id": "site", "workflow_id": "workflow", "type_id": "request_type", "contact_id": "contact",
    "members": "user", "groups": "support_group", "user_id": "user",
    "vehicle_id": "vehicle", "driver_id": "user",
}
BODY_ID_OVERRIDES = {
    # A region sits in a region (a service's parent is a menu group).
    ("POST", "/api/admin/regions"): {"parent_id": "region"},
    ("PATCH", "/api/admin/regions/{id}"): {"parent_id": "region"},
    # Intake is a chat queue's.
    ("PUT", "/api/admin/desk/intake"): {"service_id": "queue"},
    ("POST", "/api/conversations/{id}/transfer"): {"service_id": "queue", "operator_id": "operator_user"},
    ("POST", "/api/conversations/{id}/assign"): {"operator_id": "operator_user"},
    # A visitor token kept by the widget: another organisation's must never resume its visitor.
    ("POST", "/api/chat/start"): {"token": "visitor_token"},
}
# Per operation: optional fields to send too, fields never to send, fixed values.
BODY_INCLUDE = {
    ("POST", "/api/conversations/{id}/messages"): {"body"},
    ("POST", "/api/canned"): {"personal"},
    ("POST", "/api/admin/telegram/bots"): {"mode", "webhook_secret"},
    ("POST", "/api/admin/sip/trunks"): {"register"},
    ("POST", "/api/admin/branches/{id}/services"): {"prefix"},
}
BODY_EXCLUDE = {
    ("POST", "/api/conversations/{id}/transfer"): {"operator_id"},  # exactly one target
    # The one body of every ticket action: recall and start ignore service_id (transfer's).
    ("POST", "/api/operator/tickets/{id}/recall"): {"service_id"},
    ("POST", "/api/operator/tickets/{id}/start"): {"service_id"},
    # Only a thread of the request itself is answered in (the latest when none is named): any
    # other conversation, the caller's organisation's or not, is not found.
    ("POST", "/api/desk/requests/{id}/reply"): {"conversation_id"},
}
BODY_VALUES = {
    # The whole of the own group's level (its parent_id is the own group) as it is when the call
    # is made (the walk adds services to it), in reverse order.
    ("PUT", "/api/admin/branches/{id}/service-order"): {"ids": lambda w: [
        s["id"] for s in sorted(w.ok("GET", f"/api/branches/{w.own['branch']}", w.tokens["admin"])["services"],
                                key=lambda s: (s["position"], s["id"]), reverse=True)
        if s["parent_id"] == w.own["group"]]},
    ("POST", "/api/auth/login"): {"login": hubnode.OPERATOR2[0], "password": hubnode.OPERATOR2[1]},
    ("POST", "/api/auth/device"): {"login": hubnode.BOARD[0], "secret": hubnode.BOARD[1]},
    ("POST", "/api/canned"): {"personal": True},
    ("POST", "/api/admin/telegram/bots"): {"mode": "webhook", "webhook_secret": "walk-secret"},
    ("POST", "/api/admin/sip/trunks"): {"register": False},
    ("PUT", "/api/operator/presence"): {"state": "available"},
    # The service desk's rules, as plain data a minimal body cannot make up.
    ("POST", "/api/admin/desk/calendars"): {"week": {"mon": "09:00-18:00"}},
    ("POST", "/api/admin/desk/policies"): {"targets": {"resolution_mins": 60}},
    ("PUT", "/api/admin/desk/policies/{id}"): {"targets": {"resolution_mins": 90}},
    ("POST", "/api/admin/desk/territories"): {"shape": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}},
    ("POST", "/api/admin/desk/workflows"): {"body": lambda w: DESK_WORKFLOW},
    ("PUT", "/api/admin/desk/workflows/{id}"): {"body": lambda w: DESK_WORKFLOW},
    ("POST", "/api/desk/requests/{id}/move"): {"to": "work"},
    ("POST", "/api/admin/webhooks"): {"url": "https://hooks.walk.example/new", "events": ["request.moved"]},
    ("PATCH", "/api/admin/webhooks/{id}"): {"active": True},
    ("POST", "/api/admin/desk/activities"): {"name": lambda w: f"walk activity {w.uid()}", "rate_cents": 100000},
    ("PUT", "/api/admin/desk/activities/{id}"): {"rate_cents": 150000},
    ("POST", "/api/admin/trackers"): {"protocol": "osmand", "unique_id": lambda w: f"walk-{w.uid()}"},
    ("POST", "/api/admin/vehicles"): {"speed_limit_kmh": 90},
    ("POST", "/api/admin/vehicles/{id}/sensors"): {"bound": "above", "threshold": -15, "for_secs": 600, "priority": "high", "scale": 0.1},
    ("PUT", "/api/admin/vehicles/{id}"): {"speed_limit_kmh": 80},
    ("PUT", "/api/admin/desk/people/{id}"): {"rate_cents": 120000},
    ("POST", "/api/desk/requests/{id}/approve"): {"status": "work"},
    ("POST", "/api/desk/requests/{id}/checklist"): {"index": 0},
    ("PATCH", "/api/desk/requests/{id}"): {"impact": "high"},
}
# A workflow the walk's request types follow: new → in progress → resolved → closed.
DESK_WORKFLOW = {
    "statuses": [{"key": "new", "name": "New", "kind": "open"}, {"key": "work", "name": "In progress", "kind": "open"},
                 {"key": "resolved", "name": "Resolved", "kind": "resolved"}, {"key": "closed", "name": "Closed", "kind": "closed"}],
    "transitions": [{"from": "new", "to": "work", "role": "operator"}, {"from": "work", "to": "resolved", "role": "operator"},
                    {"from": "resolved", "to": "closed", "role": "operator"}, {"from": "resolved", "to": "work", "role": "operator"}],
}
# Values that depend on the caller: one's own password (changed to itself).
PASSWORDS = {"operator": hubnode.OPERATOR1[1], "supervisor": hubnode.SUPERVISOR[1], "admin": "demo-admin"}
BODY_BY_CALLER = {
    ("POST", "/api/me/password"): lambda caller: {"current": PASSWORDS.get(caller, "walk-password"),
                                                  "new": PASSWORDS.get(caller, "walk-password")},
}
# Other bodies an operation takes, as (fields to add, fields to leave out): each id field in
# them is tried with org 2's id too.
BODY_ALTERNATIVES = {
    ("POST", "/api/conversations/{id}/transfer"): [({"operator_id"}, {"service_id"})],
}


@dataclass
class BodyPlan:
    """How to build one request body: which operation, which field gets org 2's id (None: none),
    fields to add or leave out; it notes the id fields it filled."""
    op: tuple[str, str]
    swap: str | None = None
    include: set[str] = field(default_factory=set)
    exclude: set[str] = field(default_factory=set)
    id_fields: list[str] = field(default_factory=list)


# Values unique across the whole hub (not per organisation): sent with org 2's value, the answer
# may say it is taken (409), but not whose it is.
UNIQUE_FIELDS = {
    ("POST", "/api/admin/users"): {"login": "login"},
    ("POST", "/api/admin/branches/{id}/devices"): {"login": "device_login"},
    ("POST", "/api/admin/branches/{id}/chat-queues"): {"widget_key": "widget_key"},
    ("PUT", "/api/admin/sip/accounts/{user_id}"): {"username": "sip_username"},
    ("POST", "/api/admin/sip/numbers"): {"number": "sip_number"},
    ("POST", "/api/admin/mailboxes"): {"address": "mailbox_address"},
    ("POST", "/api/admin/telegram/bots"): {"token": "bot_token"},
}


# Role checks made inside a handler's body: the body that triggers one, and the access it needs.
BODY_ROLE_RULES = {
    ("POST", "/api/canned"): ("shared (personal: false)", {"personal": False}, "supervisor"),
}


def _phase(method: str, path: str) -> int:
    """Reads first, then writes, then what ends things (declining, closing, then rating the
    closed chat), deleting and changing passwords, sign-out last."""
    if path == "/api/auth/logout":
        return 5
    if method == "DELETE" or path == "/api/me/password":
        return 4
    if path == "/api/chat/rating":
        return 3
    if path.endswith(("/close", "/decline")):
        return 2
    return 0 if method == "GET" else 1


# What an operation answers to org 2's ids when that is not "404".
FOREIGN_EXPECT = {
    ("POST", "/api/chat/start"): Expect("200, as a new visitor (a token of another widget)", lambda s: s == 200),
}

# Operations whose own-id control cannot succeed in the walk, and why.
CONTROL_EXEMPT = {
    ("POST", "/api/conversations/{id}/decline"): "needs an offer running to the caller",
    ("POST", "/api/calls/dial"): "telephony is off in the walk: 503 before any lookup",
    ("POST", "/api/admin/mailboxes/{id}/confirmation"):
        "org 1 is the installation's own organisation: its addresses never wait for a code (409); "
        "test_mailbox_confirmation covers the 2xx",
}


def _frame(payload: bytes, opcode: int = 1) -> bytes:
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class _WsReader:
    def __init__(self, sock: socket.socket, buf: bytes):
        self.sock, self.buf = sock, buf

    def _need(self, n: int) -> None:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("WebSocket closed")
            self.buf += chunk

    def frame(self) -> tuple[int, bytes]:
        self._need(2)
        opcode, n, off = self.buf[0] & 0x0F, self.buf[1] & 0x7F, 2
        if n == 126:
            self._need(4)
            n, off = int.from_bytes(self.buf[2:4], "big"), 4
        elif n == 127:
            self._need(10)
            n, off = int.from_bytes(self.buf[2:10], "big"), 10
        self._need(off + n)
        payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
        return opcode, payload


@dataclass
class Row:
    operation: str
    variant: str
    caller: str
    expected: str
    got: str


@dataclass
class Walk:
    node: hubnode.Node
    smtp_port: int
    tokens: dict[str, str | None] = field(default_factory=dict)
    own: dict[str, object] = field(default_factory=dict)
    foreign: dict[str, object] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    n: int = 0
    calls: int = 0
    org1_bot_secret: str = "walk-org1-secret"
    org2_token: str | None = None
    org2_sessions: dict[str, str] = field(default_factory=dict)
    spec: dict = field(default_factory=dict)
    log: list[tuple[str, str, str, int, str]] = field(default_factory=list)

    # -- plumbing --

    def uid(self) -> int:
        self.n += 1
        return self.n

    def http(self, method: str, path: str, token: str | None = None, body=None, data: bytes | None = None,
             headers: dict[str, str] | None = None) -> Answer:
        self.calls += 1
        hdrs = dict(headers or {})
        payload = None
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        if data is not None:
            payload, hdrs["Content-Type"] = data, "application/octet-stream"
        elif body is not None:
            payload, hdrs["Content-Type"] = json.dumps(body).encode(), "application/json"
        req = urllib.request.Request(self.node.url(path), data=payload, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=15) as res:
                return Answer(res.status, res.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as e:
            return Answer(e.code, e.read().decode("utf-8", "replace"))

    def ok(self, method: str, path: str, token: str | None = None, body=None, data: bytes | None = None,
           want=(200, 201, 204)):
        a = self.http(method, path, token, body, data)
        assert a.status in want, f"setup: {method} {path} -> {a.brief()}"
        return a.json()

    def upgrade(self, path: str, token: str | None) -> Answer:
        """A WebSocket upgrade, token in `?token=` as the pages send it; 101 when accepted."""
        self.calls += 1
        if token:
            path += ("&" if "?" in path else "?") + "token=" + token
        conn = http.client.HTTPConnection("127.0.0.1", self.node.port, timeout=10)
        try:
            conn.request("GET", path, headers={
                "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode()})
            res = conn.getresponse()
            text = "" if res.status == 101 else res.read().decode("utf-8", "replace")
            return Answer(res.status, text)
        finally:
            conn.close()

    def open_ws(self, path: str) -> tuple[socket.socket, _WsReader]:
        sock = socket.create_connection(("127.0.0.1", self.node.port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.node.port}\r\n"
                      f"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                      f"Sec-WebSocket-Key: {key}\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(4096)
            assert chunk, f"setup: {path.split('?')[0]} closed during the handshake"
            buf += chunk
        head, rest = buf.split(b"\r\n\r\n", 1)
        assert b" 101 " in head.split(b"\r\n")[0], f"setup: {path.split('?')[0]} refused: {head[:200]!r}"
        return sock, _WsReader(sock, rest)

    def texts(self, reader: _WsReader, seconds: float) -> list[str]:
        """The text frames a socket receives within `seconds`."""
        out = []
        deadline = time.monotonic() + seconds
        reader.sock.settimeout(0.05)
        while time.monotonic() < deadline:
            try:
                opcode, payload = reader.frame()
            except (socket.timeout, TimeoutError):
                continue
            if opcode == 1:
                out.append(payload.decode("utf-8", "replace"))
            elif opcode == 8:
                break
        return out

    def org2_state(self) -> dict[str, object]:
        """What org 2's admin sees of its objects, without what time changes by itself: a refusal
        to org 1 must leave all of it as it was."""
        f, a2 = self.foreign, self.org2_token
        paths = [
            "/api/admin/users", "/api/admin/mailboxes", "/api/admin/telegram/bots", "/api/admin/sip/accounts",
            "/api/admin/sip/numbers", "/api/admin/sip/trunks", "/api/admin/sip/vip", "/api/canned",
            "/api/admin/speech/templates", "/api/email/filtered", "/api/admin/webhooks", f"/api/branches/{f['branch']}",
            f"/api/conversations/{f['conversation']}", f"/api/contacts/{f['contact']}",
            f"/api/attachments/{f['attachment']}", f"/api/public/tickets/{f['public_id']}",
        ]

        def steady(v):
            if isinstance(v, dict):
                return {k: steady(x) for k, x in v.items() if not re.search(r"(^at|_at|_secs|answer_by)$", k)}
            if isinstance(v, list):
                return [steady(x) for x in v]
            return v

        state = {}
        for path in paths:
            a = self.http("GET", path, a2)
            state[path] = (a.status, steady(a.json()) if a.json() is not None else a.text)
        return state

    def live_feeds(self) -> None:
        """The live feeds of org 1 (a supervisor's console, which gets every event of its
        organisation, the board, a ticket's status page) while org 2 is busy: no frame of org 2."""
        feeds = {
            ("GET /ws/operator", "supervisor"): f"/ws/operator?token={self.tokens['supervisor']}",
            ("GET /ws/board", "board"): f"/ws/board?token={self.tokens['board']}",
            ("GET /ws/ticket/{public_id}", "none"): f"/ws/ticket/{self.own['public_id']}",
        }
        open_ = {k: self.open_ws(path) for k, path in feeds.items()}
        try:
            for _, reader in open_.values():
                self.texts(reader, 0.2)  # the board's snapshot
            o2 = self.org2_sessions
            self.visitor_says(o2["visitor"], f"{ORG2}: a question while org 1 watches")
            self.ok("POST", f"/api/operator/tickets/{self.foreign['ticket']}/recall", o2["operator"], {})
            self.ok("POST", "/api/kiosk/tickets", o2["kiosk"], {"service_id": self.foreign["service"]})
            # Org 1's own event: the control that the feeds are live.
            self.ok("POST", "/api/kiosk/tickets", self.tokens["kiosk"], {"service_id": self.own["service"]})
            got = {k: self.texts(reader, 1.0 if i == 0 else 0.2) for i, (k, (_, reader)) in enumerate(open_.items())}
        finally:
            for sock, _ in open_.values():
                sock.close()
        for (operation, caller), frames in got.items():
            leaks = sorted({m for f in frames for m in ORG2_MARKERS if m in f.lower()})
            foreign = [f for f in frames if (json.loads(f) if f.startswith("{") else {}).get("org_id") not in (None, 1)]
            if leaks or foreign:
                self.rows.append(Row(operation, "org 2's live events", caller, "no frame of org 2",
                                     f"{len(leaks and frames or foreign)} frames: {(foreign or frames)[0][:100]}"))
        if not got[("GET /ws/operator", "supervisor")]:
            self.rows.append(Row("GET /ws/operator", "org 1's live events", "supervisor",
                                 "org 1's ticket_issued (control)", "no frame"))

    def visitor_says(self, token: str, text: str) -> None:
        """Sends one message as a web-chat visitor over /ws/chat and waits for its ack."""
        sock, reader = self.open_ws(f"/ws/chat?token={token}")
        try:
            client_id = f"walk-{self.uid()}"
            sock.sendall(_frame(json.dumps({"type": "message", "client_id": client_id, "body": text}).encode()))
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                opcode, payload = reader.frame()
                if opcode != 1:
                    continue
                frame = json.loads(payload)
                if frame.get("type") == "error":
                    raise AssertionError(f"setup: the widget's message was refused: {frame}")
                if frame.get("type") == "ack" and frame.get("client_id") == client_id:
                    sock.sendall(_frame(b"\x03\xe8", opcode=8))
                    return
            raise AssertionError("setup: no ack for the widget's message")
        finally:
            sock.close()

    def chat(self, key: str, text: str, token: str | None = None) -> tuple[str, int]:
        """A visitor of the widget `key` (new unless token) who has written `text`: (token, conversation id)."""
        body = {"key": key} if token is None else {"key": key, "token": token}
        token = self.ok("POST", "/api/chat/start", body=body)["token"]
        self.visitor_says(token, text)
        conv = self.ok("POST", "/api/chat/start", body={"key": key, "token": token})["conversation"]
        return token, conv["id"]

    def contact_of(self, conv_id: int, token: str) -> int:
        return self.ok("GET", f"/api/conversations/{conv_id}", token)["contact"]["id"]

    def send_mail(self, to: str, subject: str) -> None:
        msg = (f"From: News <news@shop.example>\r\nTo: {to}\r\nSubject: {subject}\r\n"
               f"Message-ID: <walk-{secrets.token_hex(6)}@shop.example>\r\nList-Id: Shop news <news.shop.example>\r\n"
               f"Precedence: bulk\r\nList-Unsubscribe: <mailto:unsubscribe@shop.example>\r\n"
               f"Content-Type: text/plain; charset=utf-8\r\n\r\nEverything half price.\r\n")
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=10) as s:
            s.sendmail("news@shop.example", [to], msg.encode())

    def filtered_id(self, token: str, mailbox: str) -> int:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            for row in self.ok("GET", "/api/email/filtered", token):
                if row["mailbox"] == mailbox:
                    return row["id"]
            time.sleep(0.1)
        raise AssertionError(f"setup: the bulk mail to {mailbox} was not filtered in time")

    # -- the two organisations --

    def set_up(self, store: hubnode.Store) -> None:
        api = self.node.api
        t = self.tokens
        t["none"] = None
        t["operator"] = api.login(*hubnode.OPERATOR1)
        t["supervisor"] = api.login(*hubnode.SUPERVISOR)
        t["admin"] = api.login("admin", "demo-admin")
        t["kiosk"] = api.device(*hubnode.KIOSK)
        t["board"] = api.device(*hubnode.BOARD)
        admin = t["admin"]
        o = self.own
        o["branch"], o["group"], o["service"], o["window"] = (
            hubnode.BRANCH, hubnode.GROUP_INDIVIDUALS, hubnode.CONSULTATION, hubnode.WINDOW_1)
        o["queue"] = next(q["service_id"] for q in self.ok("GET", "/api/chat-queues", admin)
                          if q["name"] == "Чат на сайте")
        o["board"] = self.ok("GET", "/api/me", t["board"])["device_id"]
        o["lang"] = "ru"
        o["operator_user"] = self.ok("GET", "/api/me", t["operator"])["user_id"]
        o["user"] = self.ok("POST", "/api/admin/users", admin, {
            "login": "walk-org1-user", "name": "Walk user", "role": "operator", "password": "walk-org1-password"})["id"]
        # A ticket called to a window of the board's branch (its announcement), by that user, who
        # has no chat skills (no offers taken from the walk's callers) and takes no part in the walk;
        # then one that waits.
        self.ok("POST", "/api/kiosk/tickets", t["kiosk"], {"service_id": o["service"]})
        o["called_ticket"] = api.call_next(
            api.operator_at(("walk-org1-user", "walk-org1-password"), hubnode.WINDOW_2, [o["service"]]))["id"]
        ticket = self.ok("POST", "/api/kiosk/tickets", t["kiosk"], {"service_id": o["service"]})["ticket"]
        o["ticket"], o["public_id"] = ticket["id"], ticket["public_id"]
        t["visitor"], o["conversation"] = self.chat("demo", "walk: a question from org 1")
        o["contact"] = self.contact_of(o["conversation"], admin)
        o["visitor_token"] = t["visitor"]
        o["visitor_attachment"] = self.ok("POST", "/api/chat/attachments?name=walk.txt", t["visitor"],
                                          data=b"walk: the visitor's file\n")["id"]
        o["attachment"] = self.ok("POST", "/api/attachments?name=walk.txt", t["operator"],
                                  data=b"walk: the operator's file\n")["id"]
        o["sip_user"] = o["user"]
        o["device"] = self.fresh("device", "admin")
        self.ok("PUT", f"/api/admin/sip/accounts/{o['user']}", admin,
                {"username": "walk-org1", "password": "walk-org1-phone"})
        o["trunk"] = self.ok("POST", "/api/admin/sip/trunks", admin, {
            "name": "Walk trunk", "domain": "sip.walk.example", "proxies": ["sip.walk.example:5060"],
            "username": "walk-org1", "password": "walk-org1-secret", "register": False})["id"]
        o["vip"] = "+74950001111"
        self.ok("PUT", "/api/admin/sip/vip", admin, {"number": o["vip"], "priority": 5})
        o["mailbox"] = self.ok("POST", "/api/admin/mailboxes", admin, {
            "address": "walk-org1@example.org", "queue_id": o["queue"]})["id"]
        o["bot"] = self.ok("POST", "/api/admin/telegram/bots", admin, {
            "token": f"111111111:AA{secrets.token_hex(16)}", "queue_id": o["queue"], "mode": "webhook",
            "webhook_secret": self.org1_bot_secret})["id"]
        o["board_template"] = self.ok("POST", "/api/admin/board-templates", admin, {"name": "Walk template"})["id"]
        o["region"] = self.ok("POST", "/api/admin/regions", admin, {"name": "Walk region"})["id"]
        o.update(self.desk(admin, t["operator"], "Walk", o))
        o["canned"] = self.ok("POST", "/api/canned", t["supervisor"], {
            "shortcut": "walk-shared", "title": "Walk", "body": "walk: a shared answer"})["id"]
        self.send_mail("walk-org1@example.org", "walk: org 1's newsletter")

        # Organisation 2, set up by its own admin through the API, every name distinctive.
        org2, login2, password2 = store.second_org(prefix="zeta")
        # The installation's owner hands org 2 its number and mail domain.
        store.cli(["org", "assign", "--org", str(org2), "--number", ORG2_PHONE])
        store.cli(["org", "assign", "--org", str(org2), "--domain", ORG2_DOMAIN])
        a2 = self.org2_token = api.login(login2, password2)
        f = self.foreign
        f["lang"] = "ru"
        f["branch"] = self.ok("POST", "/api/admin/branches", a2, {
            "name": f"Филиал {ORG2}", "timezone": "Europe/Moscow", "schedule": ALWAYS})["id"]
        f["group"] = self.ok("POST", f"/api/admin/branches/{f['branch']}/services", a2, {
            "name_ru": f"Группа {ORG2}", "name_en": f"Group {ORG2}"})["id"]
        f["service"] = self.ok("POST", f"/api/admin/branches/{f['branch']}/services", a2, {
            "name_ru": f"Услуга {ORG2}", "name_en": f"Service {ORG2}", "prefix": "Z"})["id"]
        f["window"] = self.ok("POST", f"/api/admin/branches/{f['branch']}/windows", a2, {"label": ORG2})["id"]
        f["queue"] = self.ok("POST", f"/api/admin/branches/{f['branch']}/chat-queues", a2, {
            "name": f"Чат {ORG2}", "widget_key": ORG2.lower()})["id"]
        f["user"] = self.ok("POST", "/api/admin/users", a2, {
            "login": f"{ORG2.lower()}-op", "name": f"Оператор {ORG2}", "role": "operator",
            "password": f"{ORG2.lower()}-password"})["id"]
        f["sip_user"] = f["operator_user"] = f["user"]
        self.ok("PUT", f"/api/admin/sip/accounts/{f['user']}", a2, {
            "username": ORG2.lower(), "password": f"{ORG2.lower()}-phone"})
        kiosk2 = self.ok("POST", f"/api/admin/branches/{f['branch']}/devices", a2, {
            "kind": "kiosk", "login": f"{ORG2.lower()}-kiosk", "name": f"Киоск {ORG2}"})
        f["device"] = kiosk2["id"]
        f["board"] = self.ok("POST", f"/api/admin/branches/{f['branch']}/devices", a2, {
            "kind": "board", "login": f"{ORG2.lower()}-board", "name": f"Табло {ORG2}"})["id"]
        f["trunk"] = self.ok("POST", "/api/admin/sip/trunks", a2, {
            "name": f"Транк {ORG2}", "domain": f"sip.{ORG2.lower()}.example",
            "proxies": [f"sip.{ORG2.lower()}.example:5060"], "username": ORG2_PHONE.lstrip("+"),
            "password": f"{ORG2.lower()}-secret", "register": False, "caller_id": ORG2_PHONE})["id"]
        self.ok("POST", "/api/admin/sip/numbers", a2, {
            "number": ORG2_PHONE, "greeting": f"{ORG2}: здравствуйте", "prompt": f"{ORG2}: нажмите 1",
            "choices": {"1": f["queue"]}, "default_queue_id": f["queue"], "trunk_id": f["trunk"]})
        f["vip"] = ORG2_VIP
        self.ok("PUT", "/api/admin/sip/vip", a2, {"number": ORG2_VIP, "priority": 7, "note": f"VIP {ORG2}"})
        mailbox2 = f"{ORG2.lower()}@{ORG2_DOMAIN}"
        f["mailbox"] = self.ok("POST", "/api/admin/mailboxes", a2, {
            "address": mailbox2, "queue_id": f["queue"], "name": f"{ORG2} Support"})["id"]
        bot2_token = f"222222222:AA{secrets.token_hex(16)}"
        f["bot"] = self.ok("POST", "/api/admin/telegram/bots", a2, {
            "token": bot2_token, "queue_id": f["queue"], "branch_id": f["branch"],
            "mode": "webhook", "webhook_secret": f"{ORG2.lower()}-secret"})["id"]
        f["region"] = self.ok("POST", "/api/admin/regions", a2, {"name": f"Регион {ORG2}"})["id"]
        f.update(self.desk(a2, a2, ORG2, f))
        f["board_template"] = self.ok("POST", "/api/admin/board-templates", a2, {
            "name": f"Шаблон {ORG2}", "look": {"banner": f"{ORG2}: the template's banner"}})["id"]
        f["canned"] = self.ok("POST", "/api/canned", a2, {
            "shortcut": ORG2.lower(), "title": ORG2, "body": f"{ORG2}: a shared answer"})["id"]
        f["attachment"] = self.ok("POST", f"/api/attachments?name={ORG2.lower()}.txt", a2,
                                  data=f"{ORG2}: the admin's confidential file\n".encode())["id"]
        visitor2, f["conversation"] = self.chat(ORG2.lower(), f"{ORG2}: a visitor's question")
        self.ok("POST", "/api/chat/contact", visitor2, {
            "email": f"{ORG2.lower()}-visitor@example.org", "name": f"Посетитель {ORG2}"})
        f["contact"] = self.contact_of(f["conversation"], a2)
        f["visitor_token"] = visitor2
        f["visitor_attachment"] = self.ok("POST", f"/api/chat/attachments?name={ORG2.lower()}.txt", visitor2,
                                          data=f"{ORG2}: the visitor's file\n".encode())["id"]
        kiosk2_token = api.device(kiosk2["login"], kiosk2["secret"])
        ticket2 = self.ok("POST", "/api/kiosk/tickets", kiosk2_token, {"service_id": f["service"]})["ticket"]
        f["ticket"], f["public_id"] = ticket2["id"], ticket2["public_id"]
        # Org 2's operator calls it: a called ticket (announcement), in someone's hand (actions).
        operator2 = api.login(f"{ORG2.lower()}-op", f"{ORG2.lower()}-password")
        self.ok("PUT", "/api/operator/place", operator2, {"window_id": f["window"], "service_ids": [f["service"]]})
        f["called_ticket"] = self.ok("POST", "/api/operator/call-next", operator2, {})["ticket"]["id"]
        assert f["called_ticket"] == f["ticket"], "setup: org 2's operator called another ticket"
        self.org2_sessions = {"visitor": visitor2, "operator": operator2, "kiosk": kiosk2_token}
        f["values"] = {"login": f"{ORG2.lower()}-op", "device_login": kiosk2["login"], "widget_key": ORG2.lower(),
                       "sip_username": ORG2.lower(), "sip_number": ORG2_PHONE, "mailbox_address": mailbox2,
                       "bot_token": bot2_token}
        self.send_mail(mailbox2, f"{ORG2}: newsletter")
        f["filtered"] = self.filtered_id(a2, mailbox2)
        o["filtered"] = self.filtered_id(admin, "walk-org1@example.org")
        # A screen waiting to be paired (no organisation's until an admin pairs it).
        o["pairing_ticket"] = self.ok("POST", "/api/pairing", body={"kind": "board"})["ticket"]
        f["pairing_ticket"] = self.ok("POST", "/api/pairing", body={"kind": "board"})["ticket"]
        o["values"] = {}
        missing = sorted(set(o) ^ set(f))
        assert not missing, f"setup: ids for one organisation only: {missing}"

    # -- fresh objects for what a call uses up --

    def fresh_token(self, caller: str) -> str | None:
        api = self.node.api
        return {
            "none": lambda: None,
            "operator": lambda: api.login(*hubnode.OPERATOR1),
            "supervisor": lambda: api.login(*hubnode.SUPERVISOR),
            "admin": lambda: api.login("admin", "demo-admin"),
            "kiosk": lambda: api.device(*hubnode.KIOSK),
            "board": lambda: api.device(*hubnode.BOARD),
            "visitor": lambda: self.ok("POST", "/api/chat/start", body={"key": "demo"})["token"],
        }[caller]()

    def fresh(self, kind: str, caller: str):
        admin = self.tokens["admin"]
        n = self.uid()
        if kind == "canned":  # the caller's own, personal
            return self.ok("POST", "/api/canned", self.tokens[caller], {
                "shortcut": f"walk-mine-{n}", "title": "Walk", "body": "walk", "personal": True})["id"]
        if kind == "spare_group":  # never one the walk's requests are placed with
            return self.ok("POST", "/api/admin/desk/groups", admin, {"name": f"Walk group {n}", "grade": 3})["id"]
        if kind == "trunk":
            return self.ok("POST", "/api/admin/sip/trunks", admin, {
                "name": f"Walk trunk {n}", "domain": "sip.walk.example", "proxies": ["sip.walk.example:5060"],
                "username": f"walk-{n}", "password": "walk-secret", "register": False})["id"]
        if kind == "vip":
            number = f"+7495{n:07d}"
            self.ok("PUT", "/api/admin/sip/vip", admin, {"number": number, "priority": 3})
            return number
        if kind == "sip_user":
            user = self.ok("POST", "/api/admin/users", admin, {
                "login": f"walk-phone-{n}", "name": f"Walk phone {n}", "role": "operator",
                "password": "walk-password"})["id"]
            self.ok("PUT", f"/api/admin/sip/accounts/{user}", admin, {"username": f"walk-{n}", "password": "walk-phone-pw"})
            return user
        if kind == "user":
            return self.ok("POST", "/api/admin/users", admin, {
                "login": f"walk-user-{n}", "name": f"Walk user {n}", "role": "operator", "password": "walk-password"})["id"]
        if kind == "device":
            return self.ok("POST", f"/api/admin/branches/{self.own['branch']}/devices", admin, {
                "kind": "kiosk", "login": f"walk-kiosk-{n}", "name": f"Walk kiosk {n}"})["id"]
        if kind == "spare_service":
            return self.ok("POST", f"/api/admin/branches/{self.own['branch']}/services", admin, {
                "name_ru": f"Запасная {n}", "name_en": f"Spare {n}",
                "prefix": "S" + chr(65 + n // 26 % 26) + chr(65 + n % 26)})["id"]
        if kind == "region":
            return self.ok("POST", "/api/admin/regions", admin, {"name": f"Walk region {n}"})["id"]
        if kind == "webhook":
            return self.ok("POST", "/api/admin/webhooks", admin, {
                "url": f"https://hooks.walk.example/{n}", "events": ["request.moved"]})["id"]
        if kind == "vehicle":
            return self.ok("POST", "/api/admin/vehicles", admin, {"name": f"Walk van {n}"})["id"]
        if kind == "sensor":
            return self.ok("POST", f"/api/admin/vehicles/{self.own['vehicle']}/sensors", admin, {
                "name": f"Walk freezer {n}", "reading": "temp", "bound": "above", "threshold": -15, "for_secs": 600})["id"]
        if kind == "tracker":
            return self.ok("POST", "/api/admin/trackers", admin, {
                "protocol": "teltonika", "unique_id": f"35{n:013d}", "vehicle_id": self.own["vehicle"]})["id"]
        if kind == "board_template":
            return self.ok("POST", "/api/admin/board-templates", admin, {"name": f"Walk template {n}"})["id"]
        if kind == "spare_window":
            return self.ok("POST", f"/api/admin/branches/{self.own['branch']}/windows", admin, {"label": f"s{n}"})["id"]
        if kind == "contact":
            token, conv = self.chat("demo", f"walk: card {n}")
            return self.contact_of(conv, admin)
        if kind == "pairing_code":  # a kiosk's screen showing its code
            return self.ok("POST", "/api/pairing", body={"kind": "kiosk"})["code"]
        if kind == "waiting_ticket":  # a ticket just taken at the kiosk, waiting in its line
            return self.ok("POST", "/api/kiosk/tickets", self.tokens["kiosk"], {"service_id": self.own["service"]})["ticket"]["id"]
        if kind == "ticket_in_hand":  # the ticket the caller has called to their window
            token = self.tokens[caller]
            in_hand = self.ok("GET", "/api/operator", token)["in_hand"]
            if in_hand:
                return in_hand["id"]
            # One window, one operator: each caller sits at a window of their own.
            windows = self.__dict__.setdefault("caller_windows", {})
            if caller not in windows:
                windows[caller] = self.ok("POST", f"/api/admin/branches/{self.own['branch']}/windows", admin,
                                          {"label": f"walk-{caller}"})["id"]
            self.ok("PUT", "/api/operator/place", token,
                    {"window_id": windows[caller], "service_ids": [self.own["service"]]})
            self.ok("POST", "/api/kiosk/tickets", self.tokens["kiosk"], {"service_id": self.own["service"]})
            return self.ok("POST", "/api/operator/call-next", token, {})["ticket"]["id"]
        if kind == "escalatable_request":  # at the first line of a rule with a second (the walk may
            # have put other rules meanwhile)
            self.ok("PUT", "/api/admin/desk/rules", admin, {"rules": [
                {"groups": [self.own["support_group"], self.own["second_group"]]}]})
            kind = "request"
        if kind == "threaded_request":  # made from a web chat of its own: a thread to answer in
            text = f"walk: a question for the desk {n}"
            _, conversation = self.chat("demo", text)
            made = self.http("POST", "/api/desk/requests", admin, {
                "type_id": self.own["request_type"], "subject": f"walk request {n}", "site_id": self.own["site"],
                "conversation_id": conversation})
            if made.status == 201:
                return made.json()["id"]
            # The walk may have set intake on the widget's queue: the chat opened one itself.
            assert made.status == 409 and made.json().get("reason") == "thread_taken", made.brief()
            return next(r["id"] for r in self.ok("GET", "/api/desk/requests?all=true", admin) if r["subject"] == text)
        if kind in ("request", "approvable_request"):  # new, at the first line, a checklist item to tick
            type_id = self.own["approved_type" if kind == "approvable_request" else "request_type"]
            return self.ok("POST", "/api/desk/requests", admin, {
                "type_id": type_id, "subject": f"walk request {n}", "site_id": self.own["site"],
                "checklist": ["walk item"]})["id"]
        if kind == "attachment":  # the caller's own upload, not sent yet
            return self.ok("POST", "/api/attachments?name=walk.txt", self.tokens[caller], data=b"walk: a file\n")["id"]
        raise AssertionError(kind)

    def desk(self, admin: str, engineer: str, tag: str, ids: dict) -> dict:
        """A service desk set up through the API, every name carrying `tag`: a calendar, an OLA
        and an SLA policy, a support group, a territory, a counterparty and its site, a
        workflow, a request type, a routing rule and one request."""
        d: dict = {}
        d["calendar"] = self.ok("POST", "/api/admin/desk/calendars", admin, {
            "name": f"{tag} hours", "timezone": "Europe/Moscow", "week": {"mon": "09:00-18:00", "tue": "09:00-18:00"}})["id"]
        d["desk_policy"] = self.ok("POST", "/api/admin/desk/policies", admin, {
            "name": f"{tag} OLA", "kind": "ola", "targets": {"resolution_mins": 240}, "calendar_id": d["calendar"]})["id"]
        d["support_group"] = self.ok("POST", "/api/admin/desk/groups", admin, {
            "name": f"{tag} first line", "grade": 1, "ola_policy_id": d["desk_policy"]})["id"]
        second = d["second_group"] = self.ok("POST", "/api/admin/desk/groups", admin, {
            "name": f"{tag} second line", "grade": 2})["id"]
        d["territory"] = self.ok("POST", "/api/admin/desk/territories", admin, {
            "name": f"{tag} territory", "shape": {"type": "Polygon", "coordinates": [[[37, 55], [38, 55], [38, 56], [37, 56], [37, 55]]]}})["id"]
        d["counterparty"] = self.ok("POST", "/api/admin/desk/counterparties", admin, {"name": f"{tag} client"})["id"]
        d["site"] = self.ok("POST", "/api/admin/desk/sites", admin, {
            "name": f"{tag} shop", "address": f"{tag} street 1", "lon": 37.6, "lat": 55.7, "counterparty_id": d["counterparty"]})["id"]
        d["workflow"] = self.ok("POST", "/api/admin/desk/workflows", admin, {"name": f"{tag} process", "body": DESK_WORKFLOW})["id"]
        d["request_type"] = self.ok("POST", "/api/admin/desk/request-types", admin, {
            "name": f"{tag} incident", "workflow_id": d["workflow"]})["id"]
        self.ok("POST", "/api/admin/desk/policies", admin, {
            "name": f"{tag} SLA", "kind": "sla", "targets": {"resolution_mins": 480, "warn_at": [75]},
            "calendar_id": d["calendar"], "conditions": {"territories": [d["territory"]]}})
        self.ok("PUT", "/api/admin/desk/rules", admin, {"rules": [
            {"when": {"territories": [d["territory"]]}, "groups": [d["support_group"], second]}]})
        # A process whose first move needs the approval of the organisation's staff (by id).
        staff = [u["id"] for u in self.ok("GET", "/api/admin/users", admin)]
        approved = json.loads(json.dumps(DESK_WORKFLOW))
        approved["transitions"][0]["requires"] = {"approval_by": staff}
        flow = self.ok("POST", "/api/admin/desk/workflows", admin, {"name": f"{tag} approved process", "body": approved})["id"]
        d["approved_type"] = self.ok("POST", "/api/admin/desk/request-types", admin, {
            "name": f"{tag} purchase", "workflow_id": flow})["id"]
        d["activity"] = self.ok("POST", "/api/admin/desk/activities", admin, {"name": f"{tag} visit", "rate_cents": 300000})["id"]
        # A webhook hears of the request made next: a delivery of it to send again.
        d["webhook"] = self.ok("POST", "/api/admin/webhooks", admin, {
            "url": f"https://hooks.{tag.lower()}.example/desk", "events": ["request.created"]})["id"]
        d["request"] = self.ok("POST", "/api/desk/requests", engineer, {
            "type_id": d["request_type"], "subject": f"{tag}: the till is down", "site_id": d["site"]})["id"]
        d["webhook_delivery"] = self.ok("GET", f"/api/admin/webhooks/{d['webhook']}/deliveries", admin)[0]["id"]
        d["vehicle"] = self.ok("POST", "/api/admin/vehicles", admin, {"name": f"{tag} van", "plate": "A001AA"})["id"]
        d["tracker"] = self.ok("POST", "/api/admin/trackers", admin, {
            "protocol": "osmand", "unique_id": f"desk-{self.uid()}", "vehicle_id": d["vehicle"]})["id"]
        d["sensor"] = self.ok("POST", f"/api/admin/vehicles/{d['vehicle']}/sensors", admin, {
            "name": f"{tag} freezer", "reading": "temp", "bound": "above", "threshold": -15, "for_secs": 600,
            "site_id": d["site"], "type_id": d["request_type"]})["id"]
        return d

    # Path parameters whose object the call uses up (or must be the caller's own), made afresh
    # for each caller with enough access.
    FRESH_PATH = {
        ("DELETE", "/api/canned/{id}"): ("{id}", "canned"),
        # A group changed whole: one made for it, so the walk's lines keep their grades.
        ("PUT", "/api/admin/desk/groups/{id}"): ("{id}", "spare_group"),
        ("DELETE", "/api/admin/sip/trunks/{id}"): ("{id}", "trunk"),
        ("DELETE", "/api/admin/sip/vip/{number}"): ("{number}", "vip"),
        ("DELETE", "/api/admin/sip/accounts/{user_id}"): ("{user_id}", "sip_user"),
        # Disabling a user, a device's new secret: never one the walk signs in with.
        ("PATCH", "/api/admin/users/{id}"): ("{id}", "user"),
        ("POST", "/api/admin/devices/{id}/secret"): ("{id}", "device"),
        # Disabling a device, pairing a screen with one: a fresh kiosk each time.
        ("PATCH", "/api/admin/devices/{id}"): ("{id}", "device"),
        ("POST", "/api/admin/devices/{id}/pair"): ("{id}", "device"),
        **{("POST", f"/api/operator/tickets/{{id}}/{action}"): ("{id}", "ticket_in_hand")
           for action in ("recall", "no-show", "start", "finish", "transfer")},
        # A supervisor acts on a ticket in someone's hands (here the caller's own), moves a
        # waiting one, signs an operator off (never one the walk signs in with).
        **{("POST", f"/api/supervisor/tickets/{{id}}/{action}"): ("{id}", "ticket_in_hand")
           for action in ("return", "finish")},
        ("POST", "/api/supervisor/tickets/{id}/requeue"): ("{id}", "waiting_ticket"),
        ("POST", "/api/supervisor/operators/{id}/sign-off"): ("{id}", "user"),
        # Taking a service or a window off: one made for it, never one the walk works with.
        ("DELETE", "/api/admin/services/{id}"): ("{id}", "spare_service"),
        ("DELETE", "/api/admin/windows/{id}"): ("{id}", "spare_window"),
        # Removing a board template: one made for it.
        ("DELETE", "/api/admin/board-templates/{id}"): ("{id}", "board_template"),
        # A region moved or taken away: one made for it (never inside itself).
        ("PATCH", "/api/admin/regions/{id}"): ("{id}", "region"),
        ("DELETE", "/api/admin/regions/{id}"): ("{id}", "region"),
        # A webhook taken away: one made for it.
        ("DELETE", "/api/admin/webhooks/{id}"): ("{id}", "webhook"),
        # A vehicle or a tracker taken away: one made for it.
        ("DELETE", "/api/admin/vehicles/{id}"): ("{id}", "vehicle"),
        ("DELETE", "/api/admin/trackers/{id}"): ("{id}", "tracker"),
        ("DELETE", "/api/admin/sensors/{id}"): ("{id}", "sensor"),
        # A request moved, ticked, escalated, approved: a new one each time.
        ("POST", "/api/desk/requests/{id}/move"): ("{id}", "request"),
        ("POST", "/api/desk/requests/{id}/checklist"): ("{id}", "request"),
        ("POST", "/api/desk/requests/{id}/escalate"): ("{id}", "escalatable_request"),
        ("POST", "/api/desk/requests/{id}/approve"): ("{id}", "approvable_request"),
        # Answering a request's customer: one made from a chat, so it has a thread.
        ("POST", "/api/desk/requests/{id}/reply"): ("{id}", "threaded_request"),
    }
    FRESH_BODY = {
        ("POST", "/api/admin/devices/{id}/pair"): {"code": "pairing_code"},
        ("POST", "/api/contacts/{id}/merge"): {"other_id": "contact"},
        ("POST", "/api/conversations/{id}/messages"): {"attachment_ids": "attachment"},
    }

    # -- requests built from the document --

    def schema(self, s: dict) -> dict:
        while "$ref" in s:
            name = s["$ref"].split("/")[-1]
            s = self.spec["components"]["schemas"][name]
        return s

    def value(self, s: dict, name: str, plan: "BodyPlan", required: bool):
        s = self.schema(s)
        if plan.swap == f"value:{name}":
            return self.foreign["values"][UNIQUE_FIELDS[plan.op][name]]
        id_kind = {**BODY_ID_FIELDS, **BODY_ID_OVERRIDES.get(plan.op, {})}.get(name)
        if id_kind:
            plan.id_fields.append(name)
            v = (self.foreign if name == plan.swap else self.own)[id_kind]
            if name == "choices":
                return {"1": v}
            return [v] if s.get("type") == "array" else v
        fixed = BODY_VALUES.get(plan.op, {})
        if name in fixed:
            return fixed[name](self) if callable(fixed[name]) else fixed[name]
        for alt_key in ("anyOf", "oneOf"):
            if alt_key in s:
                alts = [a for a in s[alt_key] if self.schema(a).get("type") != "null"]
                return self.value(alts[0], name, plan, required)
        if "enum" in s:
            return next(v for v in s["enum"] if v is not None)
        types = s.get("type")
        if isinstance(types, list):
            if required and "null" in types and name == "template":
                return None  # the built-in phrase: nothing of ours stays behind
            types = next(t for t in types if t != "null")
        n = self.uid()
        if types == "object":
            return self.body_of(s, plan, top=False) if "properties" in s else {}
        if types == "array":
            return [self.value(s.get("items", {}), name, plan, True) for _ in range(max(1, s.get("minItems", 0)))]
        if types in ("integer", "number"):
            return max(s.get("minimum", 1), 1)
        if types == "boolean":
            return True
        if types != "string":
            raise AssertionError(f"{plan.op}: cannot make a value for {name!r} of schema {s}")
        by_name = {
            "login": f"walk-login-{n}", "password": f"walk-password-{n}", "secret": f"walk-secret-{n}",
            "email": f"walk{n}@example.com", "address": f"walk{n}@example.com", "timezone": "Europe/Moscow",
            "number": f"+7495{n:07d}", "token": f"{100000000 + n}:AA{secrets.token_hex(12)}",
            "key": "demo", "label": f"w{n}", "shortcut": f"walk{n}", "username": f"walk{n}",
            "domain": "sip.walk.example", "proxies": "sip.walk.example:5060", "webhook_secret": "walk-secret",
            "prefix": "W" + chr(65 + n // 26 % 26) + chr(65 + n % 26), "text": "Талон А001, окно 1",
        }
        if name in by_name:
            return by_name[name]
        if s.get("format") == "email":
            return f"walk{n}@example.com"
        text = f"walk-{n}"
        return text[:s.get("maxLength", 200)].ljust(s.get("minLength", 0), "x")

    def body_of(self, s: dict, plan: "BodyPlan", top: bool = True) -> dict:
        """A minimal valid object of schema `s`: its required properties, the optional ones that
        hold ids (so org 2's can be put there) and those the operation needs (BODY_INCLUDE)."""
        s = self.schema(s)
        props = s.get("properties", {})
        required = set(s.get("required", []))
        wanted = required | {p for p in props if p in BODY_ID_FIELDS or p in BODY_ID_OVERRIDES.get(plan.op, {})}
        if top:
            wanted |= BODY_INCLUDE.get(plan.op, set()) | plan.include
            wanted -= (BODY_EXCLUDE.get(plan.op, set()) - plan.include) | plan.exclude
        if not wanted and s.get("minProperties"):
            wanted = set(list(props)[:s["minProperties"]])
        return {p: self.value(props[p], p, plan, p in required) for p in props if p in wanted}

    def request_for(self, method: str, path: str, op: dict, caller: str, foreign_path: bool = False,
                    plan: "BodyPlan | None" = None, fresh_path: bool = False, fresh_body: bool = False,
                    ) -> tuple[str, dict | None, bytes | None, dict]:
        """The operation's request: path parameters of org 1 (or org 2 with foreign_path), a minimal
        valid body from its schema (with org 2's id in plan.swap); fresh objects where the call
        uses one up."""
        key = (method, path)
        plan = plan or BodyPlan(key)
        segs = path.split("/")
        for i, seg in enumerate(segs):
            if seg.startswith("{"):
                value = (self.foreign if foreign_path else self.own)[_kind_of_path_param(path, i)]
                if fresh_path and not foreign_path and self.FRESH_PATH.get(key, (None, None))[0] == seg:
                    value = self.fresh(self.FRESH_PATH[key][1], caller)
                segs[i] = urllib.request.quote(str(value), safe="")
        url = "/".join(segs)
        body = data = None
        headers: dict[str, str] = {}
        content = (op.get("requestBody") or {}).get("content") or {}
        if "application/json" in content:
            schema = content["application/json"]["schema"]
            if path == "/telegram/{id}/webhook":
                body = {"update_id": self.uid()}
            else:
                body = self.body_of(schema, plan)
                if key in BODY_BY_CALLER:
                    body.update(BODY_BY_CALLER[key](caller))
                if fresh_body:
                    for name, kind in self.FRESH_BODY.get(key, {}).items():
                        if name in body and name != plan.swap:
                            v = self.fresh(kind, caller)
                            body[name] = [v] if isinstance(body[name], list) else v
        elif content:
            data = b"walk: an uploaded file\n"
            url += "?name=walk.txt"
        if caller == WEBHOOK_CALLER:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.org1_bot_secret
        return url, body, data, headers

    def body_plans(self, method: str, path: str, op: dict) -> list[tuple[str, "BodyPlan"]]:
        """One request per id field of the body (and of its alternative bodies), with org 2's id in
        that field and our own everywhere else."""
        content = (op.get("requestBody") or {}).get("content") or {}
        if "application/json" not in content or path == "/telegram/{id}/webhook":
            return []
        key = (method, path)
        plans = []
        for include, exclude in [(set(), set()), *BODY_ALTERNATIVES.get(key, [])]:
            probe = BodyPlan(key, include=include, exclude=exclude)
            self.body_of(content["application/json"]["schema"], probe)
            for name in dict.fromkeys(probe.id_fields):
                if not any(p.swap == name for _, p in plans):
                    plans.append((f"org 2's {name} in the body", BodyPlan(key, swap=name, include=include, exclude=exclude)))
        for name in UNIQUE_FIELDS.get(key, {}):
            plans.append((f"org 2's {name} value in the body", BodyPlan(key, swap=f"value:{name}", include={name})))
        return plans

    # -- checking --

    @staticmethod
    def sent(url: str, body) -> list[str]:
        """The values a request carried (path segments, query and body values): an answer may
        repeat those ("the number … is taken"), nothing more of org 2's."""
        parsed = urllib.parse.urlsplit(url)
        values = [urllib.parse.unquote(p) for p in parsed.path.split("/")]
        values += [v for _, v in urllib.parse.parse_qsl(parsed.query)]

        def walk(v):
            if isinstance(v, dict):
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
            elif v is not None:
                values.append(str(v))

        walk(body)
        return [v for v in values if v]

    @staticmethod
    def leaked(answer: Answer, sent: list[str]) -> list[str]:
        text = answer.text.lower()
        for v in sorted(sent, key=len, reverse=True):
            if len(v) >= 4:
                text = text.replace(v.lower(), " ")
        return [m for m in ORG2_MARKERS if m in text]

    def record(self, label: str, variant: str, caller: str, expect: Expect, answer: Answer, sent: list[str],
               check_leak: bool = True) -> None:
        self.log.append((label, variant, caller, answer.status, answer.brief()))
        problems = []
        if not expect.ok(answer.status):
            problems.append(expect.label)
        body = answer.json()
        if answer.status == 404 and isinstance(body, dict) and body.get("message") == "this page or endpoint does not exist":
            problems.append("a route (this one is not registered)")
        if answer.status >= 500 and answer.status != 503:
            problems.append("no server error")
        leaks = self.leaked(answer, sent) if check_leak else []
        if leaks:
            problems.append(f"none of org 2's data (found {', '.join(leaks)})")
        if problems:
            self.rows.append(Row(label, variant, caller, "; ".join(problems), answer.brief()))

    def call(self, method: str, url: str, token: str | None, body, data, headers, websocket: bool) -> Answer:
        if websocket:
            return self.upgrade(url, token)
        return self.http(method, url, token, body, data, headers)

    def walk(self, spec: dict) -> None:
        self.spec = spec
        ops = sorted(spec_operations(spec), key=lambda o: _phase(o[0], o[1]))
        for method, path, op in ops:
            access = op["x-access"]
            label = f"{method} {path}"
            websocket = path.startswith("/ws/")
            callers = list(CALLERS) + ([WEBHOOK_CALLER] if access == "webhook" else [])
            segs = path.split("/")
            kinds = [_kind_of_path_param(path, i) for i, s in enumerate(segs) if s.startswith("{")]
            if None in kinds:
                unknown = [s for i, s in enumerate(segs) if s.startswith("{") and _kind_of_path_param(path, i) is None]
                self.rows.append(Row(label, "-", "-", f"the walk to know what {unknown} is", "unknown path parameter"))
                continue

            def enough(caller: str) -> bool:
                return access in ENOUGH and caller in ENOUGH[access]

            def token_for(caller: str) -> str | None:
                # Sign-out ends the session it is sent with: never the one the walk goes on with.
                return self.fresh_token(caller) if path == "/api/auth/logout" else self.tokens.get(caller)

            # 1. Org 2's ids, in the path and in the body: an org-1 caller never gets 2xx or org 2's
            # data. These go first, while our own objects are still in the state the operation acts
            # on (a ticket in hand, an open chat). Public operations show anyone's objects by their
            # ids (a registrar, a ticket's status), so only the ids in their bodies are tried.
            variants: list[tuple[str, bool, BodyPlan | None]] = []
            if access not in ("public", "metrics") and any(k not in SHARED_KINDS for k in kinds):
                variants.append(("org 2's id in the path", True, None))
            variants += [(name, False, plan) for name, plan in self.body_plans(method, path, op)]
            foreign_answers = []
            for variant, foreign_path, plan in variants:
                for caller in callers:
                    url, body, data, headers = self.request_for(method, path, op, caller, foreign_path, plan,
                                                                fresh_path=enough(caller))
                    answer = self.call(method, url, token_for(caller), body, data, headers, websocket)
                    foreign_answers.append((variant, caller, answer, self.sent(url, body)))
            # 2. Own ids: the rule of x-access.
            own_status = {}
            for caller in callers:
                url, body, data, headers = self.request_for(method, path, op, caller,
                                                            fresh_path=enough(caller), fresh_body=enough(caller))
                answer = self.call(method, url, token_for(caller), body, data, headers, websocket)
                own_status[caller] = answer.status
                self.record(label, "own ids", caller, expected_by_access(access, caller, websocket), answer,
                            self.sent(url, body))
            # 2b. Role checks made inside the handler, triggered by the body.
            if (method, path) in BODY_ROLE_RULES:
                variant, extra, needs = BODY_ROLE_RULES[(method, path)]
                for caller in CALLERS:
                    url, body, data, headers = self.request_for(method, path, op, caller)
                    body = {**(body or {}), **extra}
                    answer = self.call(method, url, self.tokens[caller], body, data, headers, websocket)
                    self.record(label, variant, caller, expected_by_access(needs, caller, websocket), answer,
                                self.sent(url, body))
            # 3. Judge the answers to org 2's ids, now that the same requests with our own are known.
            for variant, caller, answer, sent in foreign_answers:
                if access == "webhook":
                    expect = Expect("401 (the secret of another organisation's bot)" if caller == WEBHOOK_CALLER
                                    else "401 (no webhook secret)", lambda s: s == 401)
                elif access in ENOUGH and not enough(caller):
                    expect = expected_by_access(access, caller, websocket)
                elif (method, path) in FOREIGN_EXPECT:
                    expect = FOREIGN_EXPECT[(method, path)]
                elif "value in the body" in variant and not 200 <= answer.status < 300:
                    # Shared names are handed out by the installation's owner: org 2's are not
                    # org 1's to take (403 not_assigned), whether taken or not.
                    expect = Expect("403 (another organisation's name), 409 (taken) or 400",
                                    lambda s: s in (403, 409, 400))
                elif 200 <= answer.status < 300:
                    expect = Expect("404 (not yours), never 2xx", lambda s: False)
                else:
                    own = own_status.get(caller)
                    # 400 and 503 come before any lookup (validation, telephony off); any other
                    # refusal must be the one the same request with our own ids got.
                    expect = Expect(f"404 (not yours; with own ids: {own})",
                                    lambda s, own=own: s in (404, 400, 503) or (s == own and not 200 <= own < 300))
                self.record(label, variant, caller, expect, answer, sent)
                started = answer.json() if (method, path) == ("POST", "/api/chat/start") else None
                if isinstance(started, dict) and started.get("token") == self.foreign["visitor_token"]:
                    self.rows.append(Row(label, variant, caller, "a new visitor of org 1's widget",
                                         "org 2's visitor resumed through org 1's widget"))
            # 4. Control: org 2's ids prove something only if our own ids work.
            if variants and not any(200 <= own_status[c] < 300 for c in callers
                                    if enough(c) or c == WEBHOOK_CALLER or access == "public"):
                if (method, path) not in CONTROL_EXEMPT:
                    self.rows.append(Row(label, "own ids", "callers with enough access",
                                         "2xx at least once (control for org 2's ids)",
                                         ", ".join(f"{c}: {s}" for c, s in own_status.items() if enough(c))))


def _table(rows: list[Row]) -> str:
    head = Row("operation", "ids", "caller", "expected", "got")
    cols = list(zip(*[(r.operation, r.variant, r.caller, r.expected, r.got) for r in [head, *rows]]))
    widths = [min(max(len(c) for c in col), cap) for col, cap in zip(cols, (48, 36, 24, 96, 110))]

    def line(r: Row) -> str:
        cells = (r.operation, r.variant, r.caller, r.expected, r.got)
        return " | ".join(c[:w].ljust(w) for c, w in zip(cells, widths)).rstrip()

    return "\n".join([line(head), "-+-".join("-" * w for w in widths), *[line(r) for r in rows]])


def test_walk_every_operation_as_every_caller(hub_store):
    spec = load_spec()
    missing_access = [f"{m} {p}" for m, p, op in spec_operations(spec) if op.get("x-access") not in ACCESS_LEVELS]
    assert not missing_access, f"operations without a valid x-access: {missing_access}"
    started = time.monotonic()
    store = hub_store()
    smtp_port = hubnode.free_port()
    store.extra_env.update({
        # The walk creates visitors and phone tickets by the dozen from one address.
        "HUB_ANONYMOUS_LIMIT": "0",
        # Bots are added without any network: the Bot API is a closed port here.
        "HUB_TELEGRAM_API_URL": f"http://127.0.0.1:{hubnode.free_port()}",
        # Bulk mail handed to the receiver is filtered: ids for /api/email/filtered/{id}/admit.
        "HUB_EMAIL_SMTP_LISTEN": f"127.0.0.1:{smtp_port}",
    })
    # The walk reaches no tenant's server (no IMAP, no trunk registration), so it needs no egress
    # allowance; and a hub built before the egress_allow setting refuses the variable.
    store_env = store.env
    store.env = lambda: {k: v for k, v in store_env().items() if k != "HUB_EGRESS_ALLOW"}
    node = store.start()
    walk = Walk(node, smtp_port, spec=spec)
    walk.set_up(store)
    before = walk.org2_state()
    walk.walk(spec)
    after = walk.org2_state()
    for path in before:
        if before[path] != after[path]:
            walk.rows.append(Row(f"GET {path}", "org 2's admin", "-", "org 2's objects as before the walk",
                                 f"changed: {json.dumps(after[path], ensure_ascii=False)[:100]}"))
    walk.live_feeds()
    elapsed = time.monotonic() - started
    operations = len(spec_operations(spec))
    summary = f"{operations} operations, {walk.calls} calls in {elapsed:.1f} s"
    if walk.rows:
        pytest.fail(f"{len(walk.rows)} mismatches ({summary}):\n{_table(walk.rows)}", pytrace=False)
    assert elapsed < WALK_BUDGET_S, f"the walk took too long: {summary}"
