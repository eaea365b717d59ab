//! The applier: stored mail becomes messages in conversations, each mail once, in order per
//! mailbox. Threading: a mail's own Message-ID and those it answers (In-Reply-To, References)
//! lead to the thread they are filed under; failing that, the ticket reference in the subject
//! from the same address; otherwise it starts a new thread.
//!
//! Programs are not people: mail to many (lists, newsletters, bulk) starting a thread is kept
//! without a ticket unless the mailbox accepts it or an operator lets it in; an automatic answer
//! (out of office) is noted in its thread, or kept aside when it answers nothing of the hub's;
//! and only a person's mail becomes the one the next reply answers.

use std::time::Duration;

use hub_actors::channel::{ChannelKind, Inbound, Sender};
use hub_actors::model::delivery::Undelivered;
use hub_actors::model::{attachment, now_millis};
use hub_actors::store::Attachment;
use hub_email::{Kind, Mail};

use super::{texts, thread_key, Email, Metrics};
use crate::email::store::MailStore;
use crate::email::store::{EmailThread, InboxMail, Mailbox};

const CLAIM_MS: i64 = 60_000;
const BATCH: i64 = 16;
const IDLE_LOOK: Duration = Duration::from_millis(500);
/// Attempts before a mail that keeps failing is set aside (it stays stored with the reason).
const MAX_ATTEMPTS: i64 = 8;

pub(super) async fn run(e: Email) {
    loop {
        let claimed = match e
            .hub()
            .store()
            .claim_inbox(&e.0.settings.node, now_millis(), CLAIM_MS, BATCH)
            .await
        {
            Ok(c) => c,
            Err(err) => {
                tracing::warn!(error = %err, "e-mail: cannot read the inbox");
                Vec::new()
            }
        };
        let busy = !claimed.is_empty();
        // One mail per mailbox per batch (the claim takes the oldest of each): mailboxes in
        // parallel, each in order.
        futures_util::future::join_all(claimed.into_iter().map(|m| apply_one(&e, m))).await;
        if busy {
            continue;
        }
        tokio::select! {
            _ = e.0.stop.cancelled() => return,
            _ = e.0.inbox_bell.notified() => {}
            _ = tokio::time::sleep(IDLE_LOOK) => {}
        }
    }
}

/// What applying a mail did, for the inbox row and the log.
struct Outcome {
    what: String,
    conversation: Option<i64>,
}

impl Outcome {
    fn of(what: impl Into<String>, conversation: Option<i64>) -> Self {
        Outcome {
            what: what.into(),
            conversation,
        }
    }
}

async fn apply_one(e: &Email, row: InboxMail) {
    let store = e.hub().store();
    let started = now_millis();
    let result = apply(e, &row).await;
    let now = now_millis();
    let marked = match result {
        Ok(o) => {
            Metrics::add(&e.0.metrics.applied, 1);
            tracing::info!(
                inbox = row.id,
                mailbox = row.mailbox_id,
                outcome = %o.what,
                conversation = ?o.conversation,
                took_ms = now - started,
                waited_ms = started - row.received_at,
                "e-mail: mail applied"
            );
            store.inbox_done(row.id, &o.what, o.conversation, now).await
        }
        Err(err) if row.attempts < MAX_ATTEMPTS => {
            Metrics::add(&e.0.metrics.apply_failed, 1);
            let wait = 1000i64 << row.attempts.clamp(0, 8);
            tracing::warn!(inbox = row.id, attempt = row.attempts, error = %err, "e-mail: cannot apply a mail; will retry");
            store.inbox_retry(row.id, now + wait.min(300_000)).await
        }
        Err(err) => {
            Metrics::add(&e.0.metrics.apply_failed, 1);
            tracing::error!(inbox = row.id, error = %err, "e-mail: mail set aside after repeated failures");
            store.inbox_done(row.id, &format!("refused: {err}"), None, now).await
        }
    };
    if let Err(err) = marked {
        tracing::warn!(inbox = row.id, error = %err, "e-mail: cannot mark an inbox row; it is applied again (once)");
    }
}

async fn apply(e: &Email, row: &InboxMail) -> hub_actors::Result<Outcome> {
    let store = e.hub().store();
    let mailbox = store.mailbox(row.mailbox_id).await?;
    let mail = match hub_email::parse(&row.raw, &e.0.limits) {
        Ok(m) => m,
        Err(why) => return unreadable(e, row, &mailbox, &why.to_string()).await,
    };
    // The hub's own mail confirming a mailbox's address: it did its work when it was fetched.
    if mail.from.address == e.hub_sender() && mail.subject.contains(crate::email::store::MAILBOX_CODE_MARK) {
        return Ok(Outcome::of(
            "ignored: the hub's mail confirming this mailbox's address",
            None,
        ));
    }
    if store.is_own_address(mailbox.org_id, &mail.from.address).await? {
        return Ok(Outcome::of(
            "ignored: sent from one of the hub's own addresses (a loop)",
            None,
        ));
    }
    let key = mail.key();
    if let Kind::Bounce(b) = &mail.kind {
        return bounced(e, &mailbox, &mail, b).await;
    }
    // The thread: by the mail itself (a duplicate), by what it answers, by the subject.
    let mut known = vec![key.clone()];
    known.extend(mail.replied_to.iter().cloned());
    let mut thread = store.thread_by_ids(mailbox.org_id, &known).await?;
    if thread.is_none() {
        if let Some(id) = hub_email::thread::ticket_ref(&mail.subject) {
            thread = store
                .thread_of_conversation(mailbox.org_id, id)
                .await?
                // Only the same correspondent continues a thread by its number: a stranger
                // guessing "[#12]" starts their own.
                .filter(|t| t.address == mail.from.address || t.address == mail.reply_to.address);
        }
    }
    let starts = thread.is_none();
    match (&mail.kind, &thread) {
        (Kind::Bulk(why), None) if mailbox.accept_bulk == 0 && row.admitted == 0 => {
            return Ok(Outcome::of(format!("filtered: {why}"), None));
        }
        (Kind::AutoReply(why), None) if row.admitted == 0 => {
            return Ok(Outcome::of(
                format!("filtered: an automatic reply ({why}) to nothing the hub sent"),
                None,
            ));
        }
        (Kind::AutoReply(why), Some(t)) => return auto_reply(e, &mailbox, &mail, t, &known, why).await,
        _ => {}
    }
    let thread = match thread {
        Some(t) => t,
        None => new_thread(e, &mailbox, &mail, &key).await?,
    };
    let channel = ChannelKind::parse(&thread.channel).unwrap_or(ChannelKind::Email);
    let was_open = store
        .open_conversation_id(mailbox.org_id, channel.as_str(), &thread.thread_key)
        .await?;
    // A mail already in its thread (delivered twice, fetched again after a renumbering) is
    // recognised before its files are stored again.
    if !starts {
        if let Some((conv, _)) = store
            .message_in_thread(mailbox.org_id, channel.as_str(), &thread.thread_key, &key)
            .await?
        {
            return Ok(Outcome::of("duplicate", Some(conv)));
        }
    }
    let owner = format!("email:{}", row.id);
    let (attachment_ids, refused) = files(e, &mailbox, &mail, &owner).await?;
    let body = body_of(&mail, starts, &refused);
    let (conv, _msg, new) = e
        .hub()
        .inbound(Inbound {
            org_id: mailbox.org_id,
            service_id: mailbox.service_id,
            channel,
            thread_key: thread.thread_key.clone(),
            sender: Sender::Contact(thread.contact_id),
            client_id: Some(key.clone()),
            body,
            attachment_ids,
            owner,
            priority: 0,
        })
        .await?;
    // Only a person's mail is the one the next reply answers (In-Reply-To).
    let latest = (mail.kind == Kind::Personal).then_some(key.as_str());
    store
        .remember_ids(mailbox.org_id, thread.id, &known, latest, false, now_millis())
        .await?;
    if !new {
        return Ok(Outcome::of("duplicate", Some(conv)));
    }
    let opened = was_open != Some(conv);
    if opened && channel == ChannelKind::Email && mailbox.auto_reply == 1 {
        if mail.kind.may_auto_reply() {
            acknowledge(e, &mailbox, &thread, conv).await?;
        } else if let Kind::Automated(why) | Kind::Bulk(why) = &mail.kind {
            tracing::info!(conversation = conv, reason = %why, "e-mail: no acknowledgement to a program's mail");
        }
    }
    Ok(Outcome::of(if opened { "new" } else { "reply" }, Some(conv)))
}

/// An automatic answer in a thread (an out-of-office to the hub's reply): noted for the operator,
/// its ids filed so later mail finds the thread, and never the mail the next reply answers.
async fn auto_reply(
    e: &Email,
    mailbox: &Mailbox,
    mail: &Mail,
    thread: &EmailThread,
    known: &[String],
    why: &str,
) -> hub_actors::Result<Outcome> {
    let store = e.hub().store();
    store
        .remember_ids(mailbox.org_id, thread.id, known, None, true, now_millis())
        .await?;
    let Some(conv) = store
        .open_conversation_id(mailbox.org_id, &thread.channel, &thread.thread_key)
        .await?
    else {
        return Ok(Outcome::of(
            format!("ignored: an automatic reply ({why}) to a closed conversation"),
            None,
        ));
    };
    let text: String = mail.text.chars().take(600).collect();
    let ellipsis = if mail.text.chars().count() > 600 { "…" } else { "" };
    e.hub()
        .post_system(
            mailbox.org_id,
            conv,
            texts::auto_reply_note(
                &mailbox.lang,
                &mail.from.address,
                &mail.subject,
                &format!("{text}{ellipsis}"),
            ),
            format!("auto-reply:{}", mail.key()),
        )
        .await?;
    Ok(Outcome::of("auto-reply", Some(conv)))
}

async fn new_thread(e: &Email, mailbox: &Mailbox, mail: &Mail, key: &str) -> hub_actors::Result<EmailThread> {
    let store = e.hub().store();
    let now = now_millis();
    // A card is named as the sender signs, else by their address.
    let name = mail
        .reply_to
        .name
        .as_deref()
        .or(mail.from.name.as_deref())
        .unwrap_or(&mail.reply_to.address);
    let contact = store
        .contact_for(mailbox.org_id, "email", &mail.reply_to.address, Some(name), now)
        .await?;
    store
        .open_thread(
            mailbox.org_id,
            Some(mailbox.id),
            contact,
            &mail.reply_to.address,
            mail.reply_to.name.as_deref().or(mail.from.name.as_deref()),
            &mail.subject,
            ChannelKind::Email.as_str(),
            &thread_key(mailbox.id, key),
            now,
        )
        .await
}

/// The message shown to operators: the subject on a thread's first mail, what was written this
/// time, and what could not be taken.
fn body_of(mail: &Mail, starts: bool, refused: &[String]) -> String {
    let mut body = String::new();
    if starts && !mail.subject.is_empty() {
        body.push_str(&format!("✉ {}\n\n", mail.subject));
    }
    if mail.text.is_empty() && mail.parts.is_empty() {
        body.push_str("(no text)");
    } else {
        body.push_str(&mail.text);
    }
    if let Some(size) = mail.oversized {
        body.push_str(&format!(
            "\n\n⚠ This mail is {:.1} MB, over the limit: only its header was taken; the whole mail stays in the mailbox.",
            size as f64 / 1_048_576.0
        ));
    }
    for r in refused {
        body.push_str(&format!("\n📎 {r}"));
    }
    let max = hub_actors::store::MESSAGE_LIMIT;
    if body.chars().count() > max {
        let cut: String = body.chars().take(max - 60).collect();
        body = format!("{cut}\n\n… (the rest of this long mail is not shown)");
    }
    body
}

/// Stores the mail's files as attachments; answers their ids and, for each file not taken, why.
/// An earlier attempt's files (stored before it stopped) are used again, not stored twice.
async fn files(e: &Email, mailbox: &Mailbox, mail: &Mail, owner: &str) -> hub_actors::Result<(Vec<i64>, Vec<String>)> {
    let store = e.hub().store();
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for p in &mail.parts {
        match attachment::classify(&p.data) {
            Ok(mime) => accepted.push((p, mime)),
            Err(why) => refused.push(format!("{} was not taken: {why}", p.name)),
        }
    }
    let mut ids = store.unsent_attachment_ids(mailbox.org_id, owner).await?;
    for (p, mime) in accepted.into_iter().skip(ids.len()) {
        let id = store
            .add_attachment(
                Attachment {
                    org_id: mailbox.org_id,
                    owner: owner.to_string(),
                    conversation_id: None,
                    name: attachment::clean_name(&p.name),
                    mime: mime.to_string(),
                    data: p.data.clone(),
                },
                now_millis(),
            )
            .await?;
        ids.push(id);
    }
    Ok((ids, refused))
}

/// A mail that cannot be read still reaches an operator when its sender can be made out.
async fn unreadable(e: &Email, row: &InboxMail, mailbox: &Mailbox, why: &str) -> hub_actors::Result<Outcome> {
    let Some((address, subject)) = hub_email::parse::sender_of(&row.raw) else {
        return Ok(Outcome::of(format!("refused: {why}"), None));
    };
    let store = e.hub().store();
    if store.is_own_address(mailbox.org_id, &address).await? {
        return Ok(Outcome::of(
            "ignored: sent from one of the hub's own addresses (a loop)",
            None,
        ));
    }
    // Named by its bytes: the same broken mail delivered again is the same ticket's message.
    let key = format!("sha256:{}", hub_email::parse::digest(&row.raw));
    let now = now_millis();
    let contact = store
        .contact_for(mailbox.org_id, "email", &address, Some(&address), now)
        .await?;
    let thread = store
        .open_thread(
            mailbox.org_id,
            Some(mailbox.id),
            contact,
            &address,
            None,
            &subject,
            "email",
            &thread_key(mailbox.id, &key),
            now,
        )
        .await?;
    let (conv, _, _) = e
        .hub()
        .inbound(Inbound {
            org_id: mailbox.org_id,
            service_id: mailbox.service_id,
            channel: ChannelKind::Email,
            thread_key: thread.thread_key,
            sender: Sender::Contact(contact),
            client_id: Some(key),
            body: format!(
                "✉ {subject}\n\n⚠ This mail could not be read: {why}. It is kept as it arrived (inbox #{}).",
                row.id
            ),
            attachment_ids: Vec::new(),
            owner: String::new(),
            priority: 0,
        })
        .await?;
    Ok(Outcome::of(format!("refused: {why}"), Some(conv)))
}

/// A delivery failure goes into the thread of the mail that failed, as the hub's note.
async fn bounced(e: &Email, mailbox: &Mailbox, mail: &Mail, b: &hub_email::Bounce) -> hub_actors::Result<Outcome> {
    let store = e.hub().store();
    let Some(original) = &b.original else {
        return Ok(Outcome::of(
            "ignored: a delivery failure for a mail it does not name",
            None,
        ));
    };
    let Some(thread) = store
        .thread_by_ids(mailbox.org_id, std::slice::from_ref(original))
        .await?
    else {
        return Ok(Outcome::of(
            "ignored: a delivery failure for a mail the hub did not send",
            None,
        ));
    };
    // The reply that came back is marked (its conversation shows the mark, open or closed).
    if let Some((outbox, org)) = hub_email::thread::outgoing_of(original) {
        if org == mailbox.org_id {
            if let Some(message) = store.outbox_message_id(outbox).await? {
                e.hub()
                    .reply_undelivered(message, Undelivered::Bounced, &b.describe())
                    .await?;
            }
        }
    }
    let conv = match store
        .open_conversation_id(mailbox.org_id, &thread.channel, &thread.thread_key)
        .await?
    {
        Some(c) => c,
        None => {
            return Ok(Outcome::of(
                "ignored: a delivery failure for a closed conversation",
                None,
            ))
        }
    };
    e.hub()
        .post_system(
            mailbox.org_id,
            conv,
            format!("✉ {}", b.describe()),
            format!("bounce:{}", mail.key()),
        )
        .await?;
    tracing::warn!(conversation = conv, failure = %b.describe(), "e-mail: a reply was not delivered");

    Ok(Outcome::of("bounce", Some(conv)))
}

async fn acknowledge(e: &Email, mailbox: &Mailbox, thread: &EmailThread, conv: i64) -> hub_actors::Result<()> {
    let payload = serde_json::json!({ "ack": conv, "text": texts::acknowledgement(&mailbox.lang, conv) }).to_string();
    let new = e
        .hub()
        .store()
        .enqueue_notice(
            mailbox.org_id,
            "email",
            &thread.thread_key,
            &payload,
            &format!("email-ack:{conv}"),
            now_millis(),
        )
        .await?;
    if new {
        e.0.outbox_bell.notify_one();
    }
    Ok(())
}
