//! Applies one stored update. Every effect is idempotent, because an update is applied again
//! after a crash between applying it and marking it: a message is stored once by its Telegram
//! id, a ticket once per update, a notice once per update it answers.

use teloxide::requests::Requester;

use hub_actors::channel::{ChannelKind, Inbound, Sender};
use hub_actors::model::ticket::TicketStatus;
use hub_actors::model::{attachment, now_millis, phone};
use hub_actors::store::Attachment;
use hub_actors::{ask, Error, Result};

use super::api::{self, ApiCallError};
use super::button::Button;
use super::notices::Notice;
use super::texts::{self, Lang};
use super::update::{FileRef, From, Incoming};
use super::{thread_key, Telegram, MAX_FILE};
use crate::telegram::store::BotStore;
use crate::telegram::store::{BotLink, TelegramBot};

pub(super) enum Outcome {
    Applied,
    Ignored(String),
}

/// What every effect of one update needs.
struct Ctx<'a> {
    t: &'a Telegram,
    bot: &'a TelegramBot,
    update_id: i64,
    chat_id: i64,
    thread: String,
    lang: Lang,
}

impl Ctx<'_> {
    /// The customer's card, created on their first update.
    async fn contact(&self, from: &From) -> Result<i64> {
        self.t
            .hub()
            .store()
            .contact_for(
                self.bot.org_id,
                "telegram",
                &from.chat_id.to_string(),
                from.name.as_deref(),
                now_millis(),
            )
            .await
    }

    /// Queues the bot's answer to this update (once, whatever happens to the update after).
    async fn reply(&self, n: u32, notice: Notice) -> Result<()> {
        let key = format!("u:{}:{}:{n}", self.bot.id, self.update_id);
        notice.enqueue(self.t, self.bot.org_id, &self.thread, &key).await?;
        Ok(())
    }

    /// Posts into the dialogue's conversation, once per `client_id`.
    async fn post(&self, contact: i64, client_id: String, body: String, attachment_ids: Vec<i64>) -> Result<()> {
        post(self.t, self.bot, &self.thread, contact, client_id, body, attachment_ids).await
    }

    async fn already_stored(&self, client_id: &str) -> Result<bool> {
        Ok(self
            .t
            .hub()
            .store()
            .message_in_thread(self.bot.org_id, ChannelKind::Telegram.as_str(), &self.thread, client_id)
            .await?
            .is_some())
    }
}

/// Posts into a dialogue's conversation, once per `client_id`.
pub(super) async fn post(
    t: &Telegram,
    bot: &TelegramBot,
    thread: &str,
    contact: i64,
    client_id: String,
    body: String,
    attachment_ids: Vec<i64>,
) -> Result<()> {
    t.hub()
        .inbound(Inbound {
            org_id: bot.org_id,
            service_id: bot.service_id,
            channel: ChannelKind::Telegram,
            thread_key: thread.to_string(),
            sender: Sender::Contact(contact),
            client_id: Some(client_id),
            body,
            attachment_ids,
            owner: thread.to_string(),
            priority: 0,
        })
        .await?;
    Ok(())
}

/// Applies what an update means (read once by the poller, see [`super::update::read`]).
pub(super) async fn apply(t: &Telegram, bot: &TelegramBot, update_id: i64, incoming: Incoming) -> Result<Outcome> {
    let Some(chat_id) = incoming.chat_id() else {
        return Ok(Outcome::Ignored(match incoming {
            Incoming::Ignored(why) => why.to_string(),
            _ => "update without a chat".to_string(),
        }));
    };
    let cx = Ctx {
        t,
        bot,
        update_id,
        chat_id,
        thread: thread_key(bot.id, chat_id),
        lang: Lang::parse(&bot.lang),
    };
    match incoming {
        Incoming::Message {
            from,
            message_id,
            text,
            file,
        } => {
            let cid = format!("m{message_id}");
            if cx.already_stored(&cid).await? {
                return Ok(Outcome::Applied);
            }
            let contact = cx.contact(&from).await?;
            let mut body = text;
            let mut ids = Vec::new();
            if let Some(f) = file {
                // One try now, so a message and its file usually land together; a file that
                // cannot be had now never holds the words back, nor the chat's later updates.
                let note = match fetch(&cx, &f).await? {
                    Fetched::Kept(id) => {
                        ids.push(id);
                        None
                    }
                    Fetched::Refused(why) => {
                        // The operator sees that a file came and why it is not there.
                        let note = texts::file_refused(cx.lang, &f.name, &why);
                        cx.reply(0, Notice::text(note.clone())).await?;
                        Some(note)
                    }
                    Fetched::Later(error) => {
                        let now = now_millis();
                        let store = t.hub().store();
                        store
                            .queue_telegram_file(
                                bot.id,
                                chat_id,
                                message_id,
                                &f.file_id,
                                &f.name,
                                f.kind.as_str(),
                                &error,
                                now + super::files::retry_in(t, 1),
                                now,
                            )
                            .await?;
                        t.0.files_bell.notify_one();
                        Some(texts::file_coming(cx.lang, &f.name))
                    }
                };
                if let Some(note) = note {
                    body = if body.is_empty() {
                        note
                    } else {
                        format!("{body}\n\n{note}")
                    };
                }
            }
            cx.post(contact, cid, body, ids).await?;
        }
        Incoming::Note {
            from,
            message_id,
            note,
            text,
        } => {
            let contact = cx.contact(&from).await?;
            let note = texts::note(cx.lang, &note);
            let body = if text.is_empty() {
                note
            } else {
                format!("{note}\n{text}")
            };
            cx.post(contact, format!("m{message_id}"), body, vec![]).await?;
        }
        Incoming::Edited {
            from,
            message_id,
            edited_at,
            text,
        } => {
            let contact = cx.contact(&from).await?;
            cx.post(
                contact,
                format!("e{message_id}:{edited_at}"),
                texts::edited(cx.lang, &text),
                vec![],
            )
            .await?;
        }
        Incoming::Location {
            from,
            message_id,
            latitude,
            longitude,
        } => {
            let contact = cx.contact(&from).await?;
            t.hub()
                .store()
                .set_contact_location(contact, &format!("{latitude:.6},{longitude:.6}"))
                .await?;
            cx.post(
                contact,
                format!("m{message_id}"),
                texts::location(latitude, longitude),
                vec![],
            )
            .await?;
        }
        Incoming::SharedContact {
            from,
            message_id,
            phone: raw,
            name,
            own,
        } => {
            let contact = cx.contact(&from).await?;
            cx.post(
                contact,
                format!("m{message_id}"),
                texts::shared_contact(&name, &raw),
                vec![],
            )
            .await?;
            // Only the sender's own number joins their card: a shared card of a friend does not.
            if let (true, Some(number)) = (own, phone::normalise(&raw)) {
                let card = t
                    .hub()
                    .store()
                    .add_contact_phone(bot.org_id, contact, &number, now_millis())
                    .await?;
                tracing::info!(contact = card, "phone number shared on Telegram joined the card");
                cx.reply(0, Notice::text(texts::phone_saved(cx.lang))).await?;
            }
        }
        Incoming::Start { from, payload } => {
            let contact = cx.contact(&from).await?;
            match payload.as_deref().map(StartPayload::parse) {
                Some(StartPayload::Branch(b)) => service_menu(&cx, b, None).await?,
                Some(StartPayload::Handoff(code)) => {
                    let taken = t
                        .hub()
                        .store()
                        .take_handoff(bot.org_id, bot.id, code, contact, &cx.thread, now_millis())
                        .await?;
                    match taken {
                        Some(h) => {
                            if let Some(id) = h.moved {
                                tracing::info!(conversation = id, "web chat goes on in Telegram");
                                t.hub().announce_conversation(bot.org_id, id).await;
                            }
                            cx.reply(0, Notice::text(texts::handed_over(cx.lang, h.moved.is_some())))
                                .await?
                        }
                        None => cx.reply(0, Notice::text(texts::handoff_expired(cx.lang))).await?,
                    }
                }
                _ => cx.reply(0, Notice::text(texts::greeting(cx.lang))).await?,
            }
        }
        Incoming::TicketMenu { from } => {
            cx.contact(&from).await?;
            branch_menu(&cx).await?;
        }
        Incoming::Callback {
            from, query_id, data, ..
        } => {
            // The spinner on the user's button stops either way; a lost answer only leaves it
            // spinning a little longer.
            let api = t.bot(bot);
            if let Err(e) = api
                .answer_callback_query(teloxide::types::CallbackQueryId(query_id))
                .await
            {
                tracing::debug!(error = %e, "answerCallbackQuery failed");
            }
            let Some(button) = Button::decode(&data) else {
                return Ok(Outcome::Ignored(format!("unknown button {data:?}")));
            };
            let contact = cx.contact(&from).await?;
            press(&cx, contact, button).await?;
        }
        Incoming::Ignored(_) => {}
    }
    Ok(Outcome::Applied)
}

/// What a `/start` deep link carries: `b<branch id>` opens a branch's ticket menu,
/// `w<code>` goes on with a web chat.
#[derive(Debug, PartialEq)]
enum StartPayload<'a> {
    Branch(i64),
    Handoff(&'a str),
    Other,
}

impl<'a> StartPayload<'a> {
    fn parse(p: &'a str) -> Self {
        if let Some(b) = p
            .strip_prefix('b')
            .and_then(|b| b.parse().ok())
            .filter(|b: &i64| *b > 0)
        {
            return StartPayload::Branch(b);
        }
        match p.strip_prefix('w') {
            Some(code) if !code.is_empty() && code.len() <= 63 && code.bytes().all(|c| c.is_ascii_hexdigit()) => {
                StartPayload::Handoff(code)
            }
            _ => StartPayload::Other,
        }
    }
}

/// What became of one try at a file.
pub(super) enum Fetched {
    /// Kept as an attachment of the dialogue, by this id.
    Kept(i64),
    /// Refused for good (too large, a type not taken), with the reason to tell.
    Refused(String),
    /// Not had now (network, the API's error): to try again later.
    Later(String),
}

/// Downloads a file within the size limit and keeps it as an attachment of the dialogue.
/// Err is a failure of the store.
pub(super) async fn fetch_file(
    t: &Telegram,
    bot: &TelegramBot,
    thread: &str,
    lang: Lang,
    f: &FileRef,
) -> Result<Fetched> {
    let too_large = || Ok(Fetched::Refused(texts::file_too_large(lang, MAX_FILE / 1024 / 1024)));
    if f.size as usize > MAX_FILE {
        return too_large();
    }
    let data = match api::download(&t.bot(bot), &f.file_id, MAX_FILE).await {
        Ok(d) => d,
        Err(ApiCallError::TooLarge(_)) => return too_large(),
        // Any other failure (even a refusal, which a later try rarely mends) is tried again a
        // few times on its own; the thread says so if it never comes.
        Err(e) => {
            tracing::info!(bot = bot.id, error = ?e, "a file cannot be fetched now");
            return Ok(Fetched::Later(e.to_string()));
        }
    };
    let mime = match attachment::classify(&data) {
        Ok(m) => m,
        Err(attachment::AttachmentError::TooLarge) => return too_large(),
        Err(_) => return Ok(Fetched::Refused(texts::file_wrong_type(lang).to_string())),
    };
    let id = t
        .hub()
        .store()
        .add_attachment(
            Attachment {
                org_id: bot.org_id,
                owner: thread.to_string(),
                conversation_id: None,
                name: attachment::clean_name(&f.name),
                mime: mime.to_string(),
                data,
            },
            now_millis(),
        )
        .await?;
    Ok(Fetched::Kept(id))
}

async fn fetch(cx: &Ctx<'_>, f: &FileRef) -> Result<Fetched> {
    fetch_file(cx.t, cx.bot, &cx.thread, cx.lang, f).await
}

/// The branches a bot offers tickets at.
async fn branch_menu(cx: &Ctx<'_>) -> Result<()> {
    if let Some(b) = cx.bot.branch_id {
        return service_menu(cx, b, None).await;
    }
    let store = cx.t.hub().store();
    let mut rows = Vec::new();
    for b in store.branches(cx.bot.org_id).await? {
        // A branch without a visit menu (the contact centre's own site) issues no tickets.
        if store.services(b.id).await?.iter().any(|s| s.prefix.is_some()) {
            rows.push(vec![(b.name.clone(), Button::Branch(b.id).encode())]);
        }
    }
    match rows.len() {
        0 => cx.reply(0, Notice::text(texts::no_branches(cx.lang))).await,
        _ => cx.reply(0, Notice::buttons(texts::choose_branch(cx.lang), rows)).await,
    }
}

/// A branch's services: the top of its menu, or inside a group.
async fn service_menu(cx: &Ctx<'_>, branch_id: i64, group: Option<i64>) -> Result<()> {
    if cx.bot.branch_id.is_some_and(|b| b != branch_id) {
        return cx.reply(0, Notice::text(texts::no_branches(cx.lang))).await;
    }
    let store = cx.t.hub().store();
    let branch = match store.branch(cx.bot.org_id, branch_id).await {
        Ok(b) => b,
        Err(Error::NotFound(_)) => return cx.reply(0, Notice::text(texts::no_branches(cx.lang))).await,
        Err(e) => return Err(e),
    };
    let rows: Vec<_> = store
        .services(branch_id)
        .await?
        .into_iter()
        .filter(|s| s.parent_id == group)
        .map(|s| {
            let label = if cx.lang == Lang::En {
                s.name_en.clone()
            } else {
                s.name_ru.clone()
            };
            let button = match s.prefix {
                Some(_) => Button::Service {
                    branch: branch_id,
                    service: s.id,
                },
                None => Button::Group {
                    branch: branch_id,
                    group: s.id,
                },
            };
            vec![(label, button.encode())]
        })
        .collect();
    if rows.is_empty() {
        return cx.reply(0, Notice::text(texts::no_branches(cx.lang))).await;
    }
    cx.reply(0, Notice::buttons(texts::choose_service(cx.lang, &branch.name), rows))
        .await
}

async fn press(cx: &Ctx<'_>, contact: i64, button: Button) -> Result<()> {
    let hub = cx.t.hub();
    match button {
        Button::Branch(b) => service_menu(cx, b, None).await,
        Button::Group { branch, group } => service_menu(cx, branch, Some(group)).await,
        Button::Service { branch, service } => {
            if cx.bot.branch_id.is_some_and(|b| b != branch) {
                return cx.reply(0, Notice::text(texts::no_branches(cx.lang))).await;
            }
            let store = hub.store();
            // The same press applied again (after a crash) finds its ticket.
            let ticket_id = match store.telegram_ticket_of_update(cx.bot.id, cx.update_id).await? {
                Some(id) => id,
                None => {
                    let link = BotLink {
                        bot_id: cx.bot.id,
                        chat_id: cx.chat_id,
                        update_id: cx.update_id,
                    };
                    let issued = match hub
                        .issue_ticket(
                            cx.bot.org_id,
                            branch,
                            service,
                            "telegram",
                            None,
                            Some(link.with_ticket()),
                        )
                        .await
                    {
                        Ok(i) => i,
                        Err(Error::BranchClosed) => {
                            return cx.reply(0, Notice::text(texts::branch_closed(cx.lang))).await
                        }
                        Err(Error::NotFound(_) | Error::Invalid(_)) => {
                            return cx.reply(0, Notice::text(texts::no_branches(cx.lang))).await
                        }
                        Err(e) => return Err(e),
                    };
                    let id = issued.issued.ticket.id;
                    tracing::info!(ticket = id, number = %issued.issued.ticket.number, "queue ticket taken on Telegram");
                    id
                }
            };
            let public = store
                .followed_tickets(ChannelKind::Telegram.as_str(), branch, Some(ticket_id))
                .await?;
            let Some(bt) = public.first() else {
                return Ok(());
            };
            let p = store.public_ticket(&bt.public_id).await?;
            let ahead = p.ahead.unwrap_or(0);
            let eta = hub.estimate(branch, p.service_id, ahead).await;
            let service_name = if cx.lang == Lang::En {
                &p.service_en
            } else {
                &p.service_ru
            };
            cx.reply(
                0,
                Notice::text(texts::ticket_taken(cx.lang, &p.number, service_name, ahead, eta)),
            )
            .await?;
            // Nobody ahead: "you are next" at once, as the notifier would after a call.
            if ahead == 0 && p.status == TicketStatus::Waiting.as_str() {
                Notice::text(texts::you_are_next(cx.lang, &p.number))
                    .enqueue(cx.t, cx.bot.org_id, &cx.thread, &format!("next:{ticket_id}"))
                    .await?;
            }
            Ok(())
        }
        Button::Rate { conversation, score } => {
            let c = match hub.store().conversation(cx.bot.org_id, conversation).await {
                Ok(c) => c,
                Err(Error::NotFound(_)) => return Ok(()),
                Err(e) => return Err(e),
            };
            // Only the chat the conversation was with may rate it.
            if c.row.thread_key != cx.thread || c.row.channel != ChannelKind::Telegram.as_str() {
                return Ok(());
            }
            if c.row.rating.is_some() {
                return cx.reply(0, Notice::text(texts::already_rated(cx.lang))).await;
            }
            let rated = ask(
                &hub.ticket(conversation),
                hub_actors::actors::ticket::Apply {
                    org_id: cx.bot.org_id,
                    change: hub_actors::actors::ticket::Change::Rate {
                        contact_id: contact,
                        score,
                        comment: None,
                    },
                },
            )
            .await;
            match rated {
                Ok(_) => cx.reply(0, Notice::text(texts::thanks_for_rating(cx.lang))).await,
                // Rated a moment ago (a double press), or the card moved: nothing more to say.
                Err(Error::Conflict(_) | Error::Invalid(_) | Error::NotFound(_)) => Ok(()),
                Err(e) => Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::StartPayload;

    #[test]
    fn start_payloads() {
        assert_eq!(StartPayload::parse("b12"), StartPayload::Branch(12));
        assert_eq!(StartPayload::parse("w0a1b"), StartPayload::Handoff("0a1b"));
        assert_eq!(StartPayload::parse("b-1"), StartPayload::Other);
        assert_eq!(StartPayload::parse("w"), StartPayload::Other);
        assert_eq!(StartPayload::parse("w'; drop"), StartPayload::Other);
        assert_eq!(StartPayload::parse("promo2026"), StartPayload::Other);
    }
}
