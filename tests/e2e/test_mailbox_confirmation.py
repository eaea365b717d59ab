"""A mailbox's address is an organisation's only once vouched for or confirmed, against real peers:
Dovecot holds the mailbox's IMAP folder, maildev is the installation's relay (what it captures
stands for the mail on its way to the address's own server), a second maildev is the tenant's own
SMTP server, and swaks knocks at the hub's SMTP receiver.

A tenant adds an address in a domain nobody assigned to it: the hub mails a code to the address
through the installation's relay (never through the tenant's server, which would see it). Until
the code turns up in the mailbox's folder the address is not the tenant's: the SMTP receiver does
not take mail for it, it is no "own address" in loop checks, and what the folder holds is kept
(acknowledged to the IMAP server) but not applied, across a SIGKILL too. A forged code does
nothing; the real one confirms the address and the kept mail flows in order."""
from __future__ import annotations

import json
import urllib.request

import hubnode
import mailkit
from test_email import dovecot, wait  # noqa: F401 - fixture

CUSTOMER = "pavel@example.ru"


def mail(subject: str, body: str, message_id: str, sender: str = CUSTOMER) -> bytes:
    head = [f"From: Павел <{sender}>", f"To: {mailkit.ADDRESS}", f"Subject: {subject}",
            f"Message-ID: <{message_id}>", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    return ("\r\n".join(head) + "\r\n\r\n" + body + "\r\n").encode()


def raw_of(capture: mailkit.Maildev, m: dict) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{capture.web}/email/{m['id']}/source", timeout=5) as r:
        return r.read()


def tenant_conversations(node: hubnode.Node, token: str) -> list[dict]:
    return mailkit.email_conversations(node, token)


def test_an_address_nobody_vouched_for_is_the_tenants_only_once_its_code_comes_back(hub_store, dovecot, maildev):
    tenant_smtp = mailkit.Maildev()
    try:
        store = hub_store()
        port = hubnode.free_port()
        node = mailkit.email_node(store, maildev, port)
        org, login, password = store.second_org()
        admin = node.api.login(login, password)
        branch = node.api.ok("POST", "/api/admin/branches", admin, {
            "name": "Офис", "timezone": "Europe/Moscow",
            "schedule": {d: "00:00-24:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}, want=201)
        queue = node.api.ok("POST", f"/api/admin/branches/{branch['id']}/chat-queues", admin,
                            {"name": "Почта"}, want=201)["id"]

        # Mail already in the folder, and mail that comes while the hub waits: kept, not applied.
        dovecot.append(mail("Первый вопрос", "Когда вы открыты?", "q-1@example.ru"))
        box = node.api.ok("POST", "/api/admin/mailboxes", admin, {
            "address": mailkit.ADDRESS, "queue_id": queue, "imap_url": dovecot.url,
            "smtp_url": tenant_smtp.relay}, want=201)
        assert box["confirmed_at"] is None and box["confirm_sent_at"], box
        code_mail = wait(lambda: next(iter(maildev.to(mailkit.ADDRESS)), None), what="the code, by the relay")
        assert "HUB-CONFIRM-" in code_mail["subject"]
        assert tenant_smtp.mails() == [], "the code never passes through the tenant's own server"
        # Another code at once is refused (one a minute); the first stays the one that works.
        status, body = node.api.request("POST", f"/api/admin/mailboxes/{box['id']}/confirmation", admin, {})
        assert (status, body["code"]) == (429, "too_many_requests"), body

        dovecot.append(mail("Второй вопрос", "А в субботу?", "q-2@example.ru"))
        wait(lambda: all(b"\\Seen" in f for f in dovecot.flags()) and len(dovecot.flags()) == 2,
             what="both mails fetched (acknowledged to the IMAP server)")
        # The SMTP receiver does not take mail for an address that is not confirmed.
        refused = mailkit.swaks(port, frm=CUSTOMER, to=mailkit.ADDRESS, subject="по SMTP", body="x")
        assert refused.returncode != 0, refused.stdout.decode(errors="replace")
        assert b"550" in refused.stdout or b"5.1.1" in refused.stdout, refused.stdout.decode(errors="replace")
        # A forged code (the right mark, a wrong code) does nothing.
        dovecot.append(mail("HUB-CONFIRM-" + "0" * 32, "HUB-CONFIRM-" + "A" * 32, "forged@example.ru"))
        wait(lambda: len(dovecot.flags()) == 3 and all(b"\\Seen" in f for f in dovecot.flags()),
             what="the forged code fetched")
        assert node.api.ok("GET", "/api/admin/mailboxes", admin)[0]["confirmed_at"] is None
        assert tenant_conversations(node, admin) == [], "nothing is applied before the address is confirmed"

        # A crash while waiting loses nothing of what was fetched.
        node.kill()
        node.start()
        admin = node.api.login(login, password)
        assert tenant_conversations(node, admin) == []

        # The code arrives where the address's mail arrives: the folder. The address is the
        # tenant's, and the kept mail is applied, in order.
        dovecot.append(raw_of(maildev, code_mail))
        confirmed = wait(lambda: (b := node.api.ok("GET", "/api/admin/mailboxes", admin)[0])["confirmed_at"] and b,
                         what="the address confirmed")
        assert confirmed["last_error"] is None
        convs = wait(lambda: (c := tenant_conversations(node, admin)) and len(c) >= 3 and c,
                     what="the kept mail applied")
        firsts = [c["subject"] if "subject" in c else c.get("preview", "") for c in convs]
        assert len(convs) == 3, json.dumps(convs, ensure_ascii=False)[:2000]
        assert "Первый вопрос" in json.dumps(convs[0], ensure_ascii=False), firsts
        assert "Второй вопрос" in json.dumps(convs[1], ensure_ascii=False), firsts
        # The code's own mail (from the address itself) opened nothing: it is the tenant's own now.
        assert not any("Подтверждение адреса" in json.dumps(c, ensure_ascii=False) for c in convs)
        # Confirmed: no more codes; the SMTP receiver takes its mail now.
        status, body = node.api.request("POST", f"/api/admin/mailboxes/{box['id']}/confirmation", admin, {})
        assert (status, body["code"]) == (409, "conflict"), body
        taken = mailkit.swaks(port, frm=CUSTOMER, to=mailkit.ADDRESS, subject="Третий вопрос", body="по SMTP")
        assert taken.returncode == 0, taken.stdout.decode(errors="replace")
        wait(lambda: len(tenant_conversations(node, admin)) == 4, what="the SMTP mail applied")
    finally:
        tenant_smtp.stop()


def test_another_organisation_cannot_take_an_address_already_confirmed(hub_store, dovecot, maildev):
    """The installation's own organisation has support@hub.test (nobody else has hub.test); a
    tenant waiting on the same address can never confirm it, and blocks nobody meanwhile."""
    store = hub_store()
    node = mailkit.email_node(store, maildev)
    org, login, password = store.second_org()
    other = node.api.login(login, password)
    branch = node.api.ok("POST", "/api/admin/branches", other, {
        "name": "Офис", "timezone": "Europe/Moscow", "schedule": {}}, want=201)
    queue = node.api.ok("POST", f"/api/admin/branches/{branch['id']}/chat-queues", other, {"name": "Почта"},
                        want=201)["id"]
    pending = node.api.ok("POST", "/api/admin/mailboxes", other, {
        "address": mailkit.ADDRESS, "queue_id": queue, "imap_url": dovecot.url}, want=201)
    assert pending["confirmed_at"] is None
    # The own organisation is not blocked by a tenant waiting on the address.
    own_admin = node.api.login("admin", "demo-admin")
    own_queue = next(q["service_id"] for q in node.api.ok("GET", "/api/chat-queues", own_admin))
    own = node.api.ok("POST", "/api/admin/mailboxes", own_admin, {"address": mailkit.ADDRESS, "queue_id": own_queue},
                      want=201)
    assert own["confirmed_at"], own
    # The code reaches the folder all the same: the address is another's, and the tenant is told.
    code_mail = wait(lambda: next(iter(maildev.to(mailkit.ADDRESS)), None), what="the tenant's code")
    dovecot.append(raw_of(maildev, code_mail))
    box = wait(lambda: (b := node.api.ok("GET", "/api/admin/mailboxes", other)[0])["last_error"] and b,
               what="the tenant told")
    assert box["confirmed_at"] is None
    assert "another organisation" in box["last_error"]
    # A second organisation's admin asking the same address of the own organisation: 409, nothing more.
    status, body = node.api.request("POST", "/api/admin/mailboxes", own_admin,
                                    {"address": mailkit.ADDRESS, "queue_id": own_queue})
    assert status == 409, body
