"""Every page in both languages (issue #10): no text of the other language is left on a page, no
raw code (a dictionary key, a status or a reason's name) reaches a person, and the dictionary
has every key the pages use, in both languages."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

import hubnode
from hubnode import CONSULTATION, WINDOW_1
from test_back_office import back_office
from test_contact_centre import accept_offer, open_chat, user_sign_in, visitor_says
from test_webchat import shop  # noqa: F401 - fixture
from ui import (BOARD_VIEW, DESKTOP_VIEW, KIOSK_VIEW, board_sign_in, kiosk_sign_in, operator_sign_in,
                operator_start_work)

PAGES = hubnode.REPO / "web" / "pages"
# Words that are the same in both languages: the product, abbreviations, the languages' own names.
BOTH = {"Hub", "VIP", "CSAT", "RU", "EN", "SIP", "Telegram", "E-mail", "QR", "QR-", "VIP-", "IMAP", "SMTP", "BotFather", "—"}
# The language switch is labelled in both, for a person who does not read the page's language;
# an announcement phrase's placeholders are typed as they are in either language.
BILINGUAL = {"Language / Язык", "{ticket}", "{window}"}
CYRILLIC = re.compile(r"[А-Яа-яЁё]")
LATIN_WORD = re.compile(r"\b[A-Za-z][A-Za-z'’-]+\b")
# A key of the dictionary (op.callNext, why.too_few_recalls) or a snake_case code.
RAW = re.compile(r"\b(?:[a-z]+\.[a-zA-Z][\w.]*[a-zA-Z]|[a-z]+_[a-z_]+)\b")


def visible_words(page: Page, frame=None) -> str:
    """What a person reads: the text shown, and placeholders, labels and titles."""
    target = frame or page
    return target.evaluate("""() => {
        const parts = [document.body.innerText, document.title];
        for (const n of document.querySelectorAll('[placeholder], [aria-label], [title]')) {
            if (!n.getClientRects().length) continue;
            for (const a of ['placeholder', 'aria-label', 'title']) if (n.getAttribute(a)) parts.push(n.getAttribute(a));
        }
        return parts.join('\\n');
    }""")


def check(text: str, lang: str, data: set[str], where: str) -> None:
    for value in sorted(data | BILINGUAL, key=len, reverse=True):  # names people gave things are theirs
        text = text.replace(value, " ")
    if lang == "en":
        assert not CYRILLIC.search(text), f"{where}: Russian on the English page: {CYRILLIC.findall(text)[:5]} in {text[:400]!r}"
    else:
        latin = [w for w in LATIN_WORD.findall(text) if w not in BOTH and not re.fullmatch(r"[A-Z]\d+", w)]
        assert not latin, f"{where}: English on the Russian page: {latin[:8]}"
    raw = RAW.findall(text)
    assert not raw, f"{where}: raw codes shown: {raw[:8]}"


def data_names(api: hubnode.Api) -> set[str]:
    """The demo's own names, which pages show as they were typed."""
    admin = api.login("admin", "demo-admin")
    users = api.ok("GET", "/api/admin/users", admin)
    devices = api.ok("GET", "/api/admin/devices", admin)
    # People's and devices' names and logins are what someone typed.
    names = {u["name"] for u in users} | {u["login"] for u in users}
    names |= {d["name"] for d in devices} | {d["login"] for d in devices}
    branch = api.ok("GET", f"/api/branches/{hubnode.BRANCH}", admin)
    names.add(branch["branch"]["name"])
    for s in branch["services"]:
        names.update({s["name_ru"], s["name_en"]})
    # Canned responses and break reasons are the organisation's, in the words it chose.
    for c in api.ok("GET", "/api/canned", admin):
        names.update({c["shortcut"], "/" + c["shortcut"], c.get("title") or "", c["body"]})
    names.update(api.ok("GET", "/api/break-reasons", admin))
    # What callers hear is the organisation's text too.
    for n in api.ok("GET", "/api/admin/sip/numbers", admin):
        names.update({n["greeting"], n["prompt"], n["number"]})
    names.update({"Чат на сайте", "Горячая линия", "Гость 1", "Гость 2", "visitor:1", "visitor:2", "demo"})
    return {n for n in names if n}


def switch(page: Page, lang: str) -> None:
    page.evaluate(f"async () => (await import('/static/hub.js')).setLang('{lang}')")
    expect(page.locator("html")).to_have_attribute("lang", lang)


def test_every_page_in_both_languages(hub, shop, new_context):  # noqa: F811
    api = hub.api
    names = data_names(api) | {"Добрый день"}  # the visitor's own words
    kiosk_token = api.kiosk()
    issued = api.issue(kiosk_token, CONSULTATION)
    op = api.operator_at(hubnode.OPERATOR2, hubnode.WINDOW_2)
    api.call_next(op)
    api.issue(kiosk_token, CONSULTATION)

    pages: list[tuple[str, Page]] = []
    for path in ("/", "/login", f"/r/{hubnode.BRANCH}", f"/t/{issued['ticket']['public_id']}"):
        p = new_context(**DESKTOP_VIEW).new_page()
        p.goto(hub.url(path))
        expect(p.locator("html")).to_have_attribute("lang", re.compile("ru|en"))
        pages.append((path, p))
    kiosk = new_context(**KIOSK_VIEW).new_page()
    kiosk_sign_in(kiosk, hub, hubnode.KIOSK)
    pages.append(("/kiosk", kiosk))
    board = new_context(**BOARD_VIEW).new_page()
    board_sign_in(board, hub, hubnode.BOARD)
    expect(board.get_by_test_id("board-row")).to_have_count(1)
    pages.append(("/board", board))
    operator = new_context(**DESKTOP_VIEW).new_page()
    operator_sign_in(operator, hub, hubnode.OPERATOR1)
    operator_start_work(operator, WINDOW_1, hubnode.DEMO_SERVICES)
    _, chat = open_chat(new_context(**DESKTOP_VIEW), shop.url("/"))
    visitor_says(chat, "Добрый день", 1)
    accept_offer(operator)
    operator.get_by_test_id("call-next").click()
    expect(operator.get_by_test_id("current-number")).not_to_have_text("")
    pages.append(("/operator", operator))
    sup = new_context(**DESKTOP_VIEW).new_page()
    user_sign_in(sup, hub, "/supervisor", hubnode.SUPERVISOR)
    expect(sup.get_by_test_id("sup-ticket").first).to_be_visible()
    pages.append(("/supervisor", sup))
    for tab in ("branches", "branch", "devices", "users", "chats", "channels", "phones", "breaks", "audit"):
        adm = new_context(**DESKTOP_VIEW).new_page()
        back_office(adm, hub)
        adm.get_by_test_id(f"tab-{tab}").click()
        pages.append((f"/admin#{tab}", adm))

    problems = []
    for lang in ("en", "ru"):
        for path, p in pages:
            switch(p, lang)
            try:
                check(visible_words(p), lang, names, f"{path} [{lang}]")
            except AssertionError as e:
                problems.append(str(e).split("\n")[0])
        chat.locator("html").evaluate(f"async () => (await import('/static/hub.js')).setLang('{lang}')")
        text = chat.locator("body").evaluate("(b) => b.innerText")
        try:
            check(text, lang, names, f"widget [{lang}]")
        except AssertionError as e:
            problems.append(str(e).split("\n")[0])
    assert not problems, "\n".join(problems)


def test_no_key_is_written_twice_in_the_dictionary():
    # A key written twice in one language: the second silently wins.
    for lang in ("en", "ru"):
        block = (PAGES / f"words-{lang}.js").read_text()
        keys = re.findall(r"'([a-zA-Z][\w.]*)':\s", block)
        assert len(keys) > 300, f"{lang}: the key finder found only {len(keys)}"
        twice = sorted({k for k in keys if keys.count(k) > 1})
        assert not twice, f"{lang}: {twice}"


def test_the_dictionary_has_every_key_in_both_languages(hub, new_context):
    page = new_context(**DESKTOP_VIEW).new_page()
    page.goto(hub.url("/"))
    en = set(page.evaluate("async () => (await import('/static/hub.js')).keys('en')"))
    ru = set(page.evaluate("async () => (await import('/static/hub.js')).keys('ru')"))
    assert en - ru == set(), f"English only: {sorted(en - ru)}"
    assert ru - en == set(), f"Russian only: {sorted(ru - en)}"
    used: dict[str, str] = {}
    for f in sorted(PAGES.glob("*.html")):
        for key in re.findall(r'data-i18n(?:-ph|-label)?="([^"]+)"', f.read_text()):
            used[key] = f.name
    for f in sorted(PAGES.glob("*.js")):
        src = f.read_text()
        for key in re.findall(r"""(?:Hub\.)?\b(?:t|say)\(\s*'([a-zA-Z]+\.[\w.]+)'""", src):
            if not key.endswith("."):  # a prefix completed at run time (board.st. + status)
                used[key] = f.name
    missing = {k: where for k, where in used.items() if k not in en}
    assert not missing, f"keys used but not in the dictionary: {missing}"


def test_every_refusal_reason_is_worded_in_both_languages(hub, new_context):
    """Each reason the server gives a refusal (a field error's, a ticket's, a presence's, a
    message's) has a sentence in both languages, so no page falls back to the server's English
    or to a generic line. Read from the sources, so a new reason without words fails here."""
    root = PAGES.parent.parent
    code = "\n".join(p.read_text() for d in ("actors/src", "web/src", "channels") for p in (root / d).rglob("*.rs"))
    reasons = set(re.findall(r'FieldError::new\(\s*"[\w.]+",\s*"([a-z_]+)"', code))
    reasons |= set(re.findall(r'\bbad\(\s*[\w"]+,\s*"([a-z_]+)"', code))
    reasons |= set(re.findall(r'=>\s*\(\s*"([a-z_]+)",\s*(?:Value|serde_json|json!)', code))
    assert len(reasons) > 40, f"the reason finder found too few: {sorted(reasons)}"
    page = new_context().new_page()
    page.goto(hub.url("/login"))
    for lang in ("en", "ru"):
        keys = set(page.evaluate(f"async () => (await import('/static/hub.js')).keys('{lang}')"))
        missing = sorted(r for r in reasons if f"why.{r}" not in keys)
        assert not missing, f"reasons with no sentence in {lang}: {missing}"
