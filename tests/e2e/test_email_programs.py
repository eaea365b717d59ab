"""Mail sent by programs, as the class: mailing lists, newsletters and bulk mail are kept but open
no ticket (unless the mailbox accepts them, or an operator lets one in); an automatic answer is
noted in its thread and never becomes the mail a reply answers; and one organisation cannot
silence another's correspondents by registering their address as its own mailbox (an address is
an organisation's only once confirmed). Mail arrives
through the hub's SMTP receiver; what the hub sends is captured by maildev."""
from __future__ import annotations

import smtplib

import hubnode
import mailkit
import tgkit
from test_email import take, visitor_bodies, wait

CUSTOMER = "olga.petrova@example.ru"


def send(port: int, raw: bytes, sender: str = CUSTOMER) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s.sendmail(sender, [mailkit.ADDRESS], raw)


def mail(subject: str, body: str, message_id: str, *headers: str, sender: str = CUSTOMER) -> bytes:
    head = [f"From: Ольга Петрова <{sender}>", f"To: {mailkit.ADDRESS}", f"Subject: {subject}",
            f"Message-ID: <{message_id}>", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
            *headers]
    return ("\r\n".join(head) + "\r\n\r\n" + body + "\r\n").encode()


def conversations(node, token) -> list[dict]:
    return mailkit.email_conversations(node, token)


def test_lists_and_bulk_mail_open_no_ticket(hub_store, maildev):
    store = hub_store()
    port = hubnode.free_port()
    node = mailkit.email_node(store, maildev, port)
    admin = node.api.login(*tgkit.ADMIN)
    box = mailkit.add_mailbox(node, admin, tgkit.chat_queue(node.api, admin))
    assert box["accept_bulk"] == 0
    op = node.api.login(*hubnode.OPERATOR1)

    # Each sign of mail to many, alone; then a person's mail.
    programs = [
        ("Digest #12", "dev@lists.example", ["List-Id: Developers <dev.lists.example>"], "mailing list (List-Id)"),
        ("Sale!", "news@shop.example", ["List-Unsubscribe: <https://shop.example/u>"], "mailing list (List-Unsubscribe)"),
        ("Weekly", "weekly@media.example", ["Precedence: bulk"], "Precedence: bulk"),
        ("Junk", "spam@junk.example", ["Precedence: junk"], "Precedence: junk"),
        ("Post to list", "list@groups.example", ["List-Post: <mailto:list@groups.example>"], "mailing list (List-Post)"),
        ("Автоответ: Re: ваш вопрос", "away@example.ru", ["Auto-Submitted: auto-replied"],
         "an automatic reply (Auto-Submitted: auto-replied) to nothing the hub sent"),
    ]
    for i, (subject, sender, headers, _) in enumerate(programs):
        send(port, mail(subject, "text", f"prog-{i}@x", *headers, sender=sender), sender)
    send(port, mail("Вопрос по заказу", "Где мой заказ 77?", "person-1@example.ru"))
    person = wait(lambda: next((c for c in conversations(node, op)
                                if "Где мой заказ 77?" in " ".join(visitor_bodies(node, op, c["id"]))), None),
                  what="the person's ticket")
    filtered = wait(lambda: (f := node.api.ok("GET", "/api/email/filtered", op)) and len(f) == len(programs) and f,
                    what="every program's mail filtered")
    assert sorted((f["from"], f["subject"], f["reason"]) for f in filtered) == \
        sorted((sender, subject, why) for subject, sender, _, why in programs)
    assert [c["id"] for c in conversations(node, op)] == [person["id"]]
    # Only the person is acknowledged.
    wait(lambda: maildev.to(CUSTOMER), what="the acknowledgement")
    assert [t["address"] for m in maildev.mails() for t in m["to"]] == [CUSTOMER]

    # An operator lets the digest in: it opens its ticket (without an acknowledgement to a list).
    digest = next(f for f in filtered if f["subject"] == "Digest #12")
    assert node.api.ok("POST", f"/api/email/filtered/{digest['id']}/admit", op, {}, want=202) == {"admitted": digest["id"]}
    wait(lambda: len(conversations(node, op)) == 2, what="the digest's ticket")
    assert all(f["id"] != digest["id"] for f in node.api.ok("GET", "/api/email/filtered", op))
    assert node.api.request("POST", f"/api/email/filtered/{digest['id']}/admit", op, {})[0] == 404
    assert node.api.request("POST", f"/api/email/filtered/{person['id'] + 100000}/admit", op, {})[0] == 404

    # A mailbox that accepts bulk mail: the next newsletter is a ticket.
    assert node.api.ok("PATCH", f"/api/admin/mailboxes/{box['id']}", admin, {"accept_bulk": True})["accept_bulk"] == 1
    assert node.api.request("PATCH", f"/api/admin/mailboxes/{box['id']}", admin, {})[0] == 400
    assert node.api.request("PATCH", f"/api/admin/mailboxes/{box['id']}", op, {"accept_bulk": False})[0] == 403
    send(port, mail("Sale 2", "half price", "prog-9@x", "Precedence: bulk", sender="news@shop.example"),
         "news@shop.example")
    wait(lambda: len(conversations(node, op)) == 3, what="the accepted newsletter's ticket")
    assert [t["address"] for m in maildev.mails() for t in m["to"]] == [CUSTOMER]

    # Another organisation's admin registers the customer's own address as "their" mailbox: her
    # mail to this organisation is still taken (loops are per organisation).
    org, login, password = store.second_org()
    other = node.api.login(login, password)
    branch = node.api.ok("POST", "/api/admin/branches", other, {
        "name": "Чужой офис", "timezone": "Europe/Moscow", "schedule": {}}, want=201)
    queue = node.api.ok("POST", f"/api/admin/branches/{branch['id']}/chat-queues", other, {"name": "Чужая очередь"},
                        want=201)
    queue_id = queue.get("service_id") or queue["id"]
    # Nobody vouched for her domain: without an IMAP folder to find a code in, it is refused; with
    # one, it waits for a code that goes to her own mail (never to the other organisation).
    status, refused = node.api.request("POST", "/api/admin/mailboxes", other, {"address": CUSTOMER, "queue_id": queue_id})
    assert (status, refused["code"]) == (403, "not_assigned"), refused
    squat = node.api.ok("POST", "/api/admin/mailboxes", other, {
        "address": CUSTOMER, "queue_id": queue_id, "imap_url": "imap://x:y@127.0.0.1:9"}, want=201)
    assert squat["confirmed_at"] is None
    wait(lambda: any("HUB-CONFIRM-" in (m.get("subject") or "") for m in maildev.to(CUSTOMER)), what="the code, to her")
    send(port, mail("Ещё вопрос", "И доставка?", "person-2@example.ru"))
    wait(lambda: len(conversations(node, op)) == 4, what="the customer's mail still taken")
    # The other organisation sees none of this organisation's filtered mail.
    assert node.api.ok("GET", "/api/email/filtered", other) == []
    assert node.api.request("POST", f"/api/email/filtered/{filtered[-1]['id']}/admit", other, {})[0] == 404


def test_an_automatic_answer_never_steers_the_reply(hub_store, maildev):
    store = hub_store()
    port = hubnode.free_port()
    node = mailkit.email_node(store, maildev, port)
    admin = node.api.login(*tgkit.ADMIN)
    mailkit.add_mailbox(node, admin, tgkit.chat_queue(node.api, admin))
    op = tgkit.available(node)

    send(port, mail("Счёт", "Пришлите счёт, пожалуйста.", "ask-1@example.ru"))
    ack = wait(lambda: (m := maildev.to(CUSTOMER)) and m[0], what="the acknowledgement")
    conv = wait(lambda: next(iter(conversations(node, op)), None), what="the ticket")
    # Her mail program answers the acknowledgement while she is away, in each common dialect.
    away = [("Автоматический ответ: Счёт", "Auto-Submitted: auto-generated", "X-Auto-Response-Suppress: All"),
            ("Out of Office: Счёт", "X-Autoreply: yes"),
            ("Re: Счёт", "Auto-Submitted: auto-replied")]
    for i, (subject, *headers) in enumerate(away):
        send(port, mail(subject, f"Я в отпуске до понедельника ({i}).", f"ooo-{i}@example.ru",
                        f"In-Reply-To: <{mailkit.message_id(ack)}>", *headers))
    notes = lambda: [m["body"] for m in tgkit.thread(node, op, conv["id"])["messages"] if m["author"] == "system"]
    wait(lambda: sum(n.startswith("🤖 Автоответ от " + CUSTOMER) for n in notes()) == 3, what="three notes")
    assert any("Я в отпуске до понедельника (0)." in n for n in notes())
    assert visitor_bodies(node, op, conv["id"]) == ["✉ Счёт\n\nПришлите счёт, пожалуйста."]

    # The operator answers: the reply answers her mail, not the auto-replies.
    take(node, op, conv["id"])
    tgkit.reply(node, op, conv["id"], "Счёт во вложении завтра.")
    out = wait(lambda: next((m for m in maildev.to(CUSTOMER) if "Счёт во вложении" in (m.get("text") or "")), None),
               what="the reply")
    assert out["headers"]["in-reply-to"].strip() == "<ask-1@example.ru>"
    assert "ooo-" not in out["headers"].get("references", "")
    # Her real answer after that is her message, and steers the next reply.
    send(port, mail("Re: Счёт", "Спасибо!", "ask-2@example.ru", f"In-Reply-To: <{mailkit.message_id(out)}>"))
    wait(lambda: visitor_bodies(node, op, conv["id"])[-1] == "Спасибо!", what="her answer")
    tgkit.reply(node, op, conv["id"], "Пожалуйста.")
    out2 = wait(lambda: next((m for m in maildev.to(CUSTOMER) if "Пожалуйста." in (m.get("text") or "")), None),
                what="the second reply")
    assert out2["headers"]["in-reply-to"].strip() == "<ask-2@example.ru>"


def test_a_visitors_address_is_used_only_once_confirmed(hub_store, maildev):
    """A web-chat visitor can leave any address: the organisation writes there only after the
    code mailed to it is entered, by that visitor, within five tries; and nobody can have the
    hub mail a stranger more than a few codes an hour."""
    import re

    store = hub_store()
    node = mailkit.email_node(store, maildev, HUB_ANONYMOUS_LIMIT="0")
    admin = node.api.login(*tgkit.ADMIN)
    mailkit.add_mailbox(node, admin, tgkit.chat_queue(node.api, admin))
    victim = "stranger@example.org"

    def visitor() -> str:
        return node.api.ok("POST", "/api/chat/start", body={"key": "demo"})["token"]

    def leave(token: str, address: str = victim) -> tuple[int, dict]:
        return node.api.request("POST", "/api/chat/contact", token, {"email": address})

    def confirm(token: str, code: str) -> tuple[int, dict]:
        return node.api.request("POST", "/api/chat/contact/confirm", token, {"code": code})

    attacker = visitor()
    status, body = leave(attacker)
    assert status == 200 and body["confirm"] is True, body
    mail = wait(lambda: mailkit_first(maildev, victim), what="the code")
    code = re.search(r"\b(\d{6})\b", mail["text"]).group(1)
    assert "ignore" in mail["text"] or "не обращайте" in mail["text"]
    # Another visitor cannot use it; five wrong tries spend it.
    other = visitor()
    assert confirm(other, code)[1].get("code") == "wrong_code"
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert confirm(attacker, wrong)[0] == 400
    assert confirm(attacker, code)[1].get("code") == "wrong_code", "the code is spent after five tries"
    # A few codes an hour per visitor, and per address whoever asks.
    assert leave(attacker)[0] == 200
    assert leave(attacker)[0] == 200
    assert leave(attacker)[1].get("code") == "too_many_requests"
    assert leave(visitor())[0] == 200
    assert leave(visitor())[0] == 200
    assert leave(visitor())[1].get("code") == "too_many_requests"
    # Nothing but codes ever reached the stranger.
    wait(lambda: len(maildev.to(victim)) == 5, what="five codes")
    assert all(re.search(r"\b\d{6}\b", m["text"]) for m in maildev.to(victim))


def mailkit_first(maildev, address):
    mails = maildev.to(address)
    return mails[0] if mails else None
