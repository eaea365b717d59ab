//! What a Telegram update means to the hub: pure translation of the Bot API's types, no I/O.
//! The bridge acts on the [`Incoming`] it gets; everything it does not understand is
//! [`Incoming::Ignored`] with the reason, logged and acknowledged, never retried forever.

use teloxide::types::{MediaKind, Message, MessageKind, Update, UpdateKind};

use hub_actors::model::message::MESSAGE_LIMIT;

/// A file the user sent, to fetch by `file_id`.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRef {
    pub file_id: String,
    /// As Telegram declares it (0 when it does not say).
    pub size: u64,
    pub name: String,
    pub kind: FileKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Photo,
    Document,
    Voice,
    VideoNote,
}

/// Who wrote, as Telegram names them.
#[derive(Debug, Clone, PartialEq)]
pub struct From {
    pub chat_id: i64,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// Text, or a file with its caption, for the dialogue's conversation.
    Message {
        from: From,
        message_id: i32,
        text: String,
        file: Option<FileRef>,
    },
    /// The user edited a message they sent earlier.
    Edited {
        from: From,
        message_id: i32,
        edited_at: i64,
        text: String,
    },
    Location {
        from: From,
        message_id: i32,
        latitude: f64,
        longitude: f64,
    },
    /// A contact card; `own` when it is the sender's own number (Telegram's "share my phone").
    SharedContact {
        from: From,
        message_id: i32,
        phone: String,
        name: String,
        own: bool,
    },
    /// `/start`, with the deep-link payload of `t.me/<bot>?start=<payload>`.
    Start {
        from: From,
        payload: Option<String>,
    },
    /// `/ticket`: take a ticket in a branch's queue.
    TicketMenu {
        from: From,
    },
    /// A press on one of the bot's inline buttons.
    Callback {
        from: From,
        query_id: String,
        message_id: Option<i32>,
        data: String,
    },
    Ignored(&'static str),
}

/// Reads an update. Only private chats are served: a bot added to a group hears everything said
/// there, which is not a customer's request.
pub fn read(update: &Update) -> Incoming {
    match &update.kind {
        UpdateKind::Message(m) => read_message(m),
        UpdateKind::EditedMessage(m) => {
            if !m.chat.is_private() {
                return Incoming::Ignored("edit in a group or channel");
            }
            match m.text().or_else(|| m.caption()) {
                Some(text) => Incoming::Edited {
                    from: from(m),
                    message_id: m.id.0,
                    edited_at: m.edit_date().map_or(0, |d| d.timestamp()),
                    text: clip(text),
                },
                None => Incoming::Ignored("edit without text"),
            }
        }
        UpdateKind::CallbackQuery(q) => {
            let Some(data) = q.data.clone() else {
                return Incoming::Ignored("callback without data");
            };
            let Some(message) = q.regular_message() else {
                return Incoming::Ignored("callback on an inaccessible message");
            };
            if !message.chat.is_private() {
                return Incoming::Ignored("callback in a group");
            }
            Incoming::Callback {
                from: From {
                    chat_id: message.chat.id.0,
                    name: Some(q.from.full_name()).filter(|n| !n.trim().is_empty()),
                },
                query_id: q.id.0.clone(),
                message_id: Some(message.id.0),
                data,
            }
        }
        UpdateKind::Error(_) => Incoming::Ignored("update of a kind this hub does not know"),
        _ => Incoming::Ignored("update of a kind the hub does not serve"),
    }
}

impl Incoming {
    /// The chat it comes from; None for what the hub ignores.
    pub fn chat_id(&self) -> Option<i64> {
        match self {
            Incoming::Message { from, .. }
            | Incoming::Edited { from, .. }
            | Incoming::Location { from, .. }
            | Incoming::SharedContact { from, .. }
            | Incoming::Start { from, .. }
            | Incoming::TicketMenu { from }
            | Incoming::Callback { from, .. } => Some(from.chat_id),
            Incoming::Ignored(_) => None,
        }
    }
}

/// Splits items into groups that may be applied side by side: one per chat, each in the order
/// given (a chat's messages must not overtake each other), and one for each item of no chat.
pub fn by_chat<T>(items: Vec<T>, chat: impl Fn(&T) -> Option<i64>) -> Vec<Vec<T>> {
    let mut groups: Vec<Vec<T>> = Vec::new();
    let mut index: std::collections::HashMap<i64, usize> = std::collections::HashMap::new();
    for item in items {
        match chat(&item) {
            Some(c) => {
                let i = *index.entry(c).or_insert_with(|| {
                    groups.push(Vec::new());
                    groups.len() - 1
                });
                groups[i].push(item);
            }
            None => groups.push(vec![item]),
        }
    }
    groups
}

fn from(m: &Message) -> From {
    From {
        chat_id: m.chat.id.0,
        name: m.from.as_ref().map(|u| u.full_name()).filter(|n| !n.trim().is_empty()),
    }
}

fn read_message(m: &Message) -> Incoming {
    if !m.chat.is_private() {
        return Incoming::Ignored("message in a group or channel");
    }
    let MessageKind::Common(common) = &m.kind else {
        return Incoming::Ignored("service message");
    };
    let f = from(m);
    let message_id = m.id.0;
    let caption = || clip(m.caption().unwrap_or(""));
    let file = |file_id: &teloxide::types::FileMeta, name: String, kind| {
        Some(FileRef {
            file_id: file_id.id.0.clone(),
            size: u64::from(file_id.size),
            name,
            kind,
        })
    };
    match &common.media_kind {
        MediaKind::Text(t) => {
            let text = t.text.trim();
            if let Some(cmd) = text.strip_prefix('/') {
                let (name, rest) = cmd.split_once(char::is_whitespace).unwrap_or((cmd, ""));
                // `/start@MyBot` in a client that names the bot.
                let name = name.split('@').next().unwrap_or("");
                match name {
                    "start" => {
                        return Incoming::Start {
                            from: f,
                            payload: Some(rest.trim().to_string()).filter(|p| !p.is_empty()),
                        }
                    }
                    "ticket" | "queue" => return Incoming::TicketMenu { from: f },
                    _ => {}
                }
            }
            Incoming::Message {
                from: f,
                message_id,
                text: clip(&t.text),
                file: None,
            }
        }
        MediaKind::Photo(p) => {
            // Telegram sends every size it made; the largest is the original.
            let Some(best) = p.photo.iter().max_by_key(|s| u64::from(s.width) * u64::from(s.height)) else {
                return Incoming::Ignored("photo without sizes");
            };
            Incoming::Message {
                from: f,
                message_id,
                text: caption(),
                file: file(&best.file, format!("photo-{message_id}.jpg"), FileKind::Photo),
            }
        }
        MediaKind::Document(d) => Incoming::Message {
            from: f,
            message_id,
            text: caption(),
            file: file(
                &d.document.file,
                d.document
                    .file_name
                    .clone()
                    .unwrap_or_else(|| format!("file-{message_id}")),
                FileKind::Document,
            ),
        },
        MediaKind::Voice(v) => Incoming::Message {
            from: f,
            message_id,
            text: caption(),
            file: file(&v.voice.file, format!("voice-{message_id}.ogg"), FileKind::Voice),
        },
        MediaKind::VideoNote(v) => Incoming::Message {
            from: f,
            message_id,
            text: String::new(),
            file: file(
                &v.video_note.file,
                format!("video-note-{message_id}.mp4"),
                FileKind::VideoNote,
            ),
        },
        MediaKind::Location(l) => Incoming::Location {
            from: f,
            message_id,
            latitude: l.location.latitude,
            longitude: l.location.longitude,
        },
        MediaKind::Contact(c) => {
            let own = matches!((&c.contact.user_id, &m.from), (Some(id), Some(u)) if *id == u.id);
            Incoming::SharedContact {
                from: f,
                message_id,
                phone: c.contact.phone_number.clone(),
                name: [Some(c.contact.first_name.as_str()), c.contact.last_name.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" "),
                own,
            }
        }
        _ => Incoming::Ignored("message of a kind the hub does not take (sticker, poll, …)"),
    }
}

/// Telegram allows 4096 characters, the hub's thread 4000: the rest is cut with a mark.
fn clip(text: &str) -> String {
    if text.chars().count() <= MESSAGE_LIMIT {
        return text.to_string();
    }
    let mut s: String = text.chars().take(MESSAGE_LIMIT - 1).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(json: &str) -> Update {
        match serde_json::from_str(json) {
            Ok(u) => u,
            Err(e) => panic!("fixture does not parse: {e}"),
        }
    }

    const CHAT: &str = r#""chat":{"id":5001,"type":"private","first_name":"Олег"}"#;
    const FROM: &str = r#""from":{"id":5001,"is_bot":false,"first_name":"Олег","last_name":"Петров"}"#;

    fn msg(body: &str) -> Update {
        update(&format!(
            r#"{{"update_id":10,"message":{{"message_id":7,"date":1700000000,{CHAT},{FROM},{body}}}}}"#
        ))
    }

    #[test]
    fn text_and_commands() {
        match read(&msg(r#""text":"Здравствуйте""#)) {
            Incoming::Message {
                from,
                message_id,
                text,
                file,
            } => {
                assert_eq!(from.chat_id, 5001);
                assert_eq!(from.name.as_deref(), Some("Олег Петров"));
                assert_eq!((message_id, text.as_str(), file), (7, "Здравствуйте", None));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            read(&msg(r#""text":"/start b1","entities":[{"type":"bot_command","offset":0,"length":6}]"#)),
            Incoming::Start { payload: Some(p), .. } if p == "b1"
        ));
        assert!(matches!(
            read(&msg(r#""text":"/start""#)),
            Incoming::Start { payload: None, .. }
        ));
        assert!(matches!(
            read(&msg(r#""text":"/ticket@HubBot""#)),
            Incoming::TicketMenu { .. }
        ));
        // Unknown commands are text for the operator.
        assert!(matches!(read(&msg(r#""text":"/help""#)), Incoming::Message { .. }));
    }

    #[test]
    fn files_take_the_largest_photo_and_the_caption() {
        let u = msg(
            r#""caption":"чек","photo":[{"file_id":"small","file_unique_id":"s","width":90,"height":90,"file_size":1000},
                {"file_id":"big","file_unique_id":"b","width":1280,"height":960,"file_size":90000}]"#,
        );
        match read(&u) {
            Incoming::Message {
                text, file: Some(f), ..
            } => {
                assert_eq!(text, "чек");
                assert_eq!((f.file_id.as_str(), f.size, f.kind), ("big", 90000, FileKind::Photo));
            }
            other => panic!("{other:?}"),
        }
        let u = msg(r#""document":{"file_id":"d1","file_unique_id":"d","file_name":"act.pdf","file_size":52428800}"#);
        assert!(
            matches!(read(&u), Incoming::Message { file: Some(FileRef { size: 52428800, kind: FileKind::Document, ref name, .. }), .. } if name == "act.pdf")
        );
        let u = msg(
            r#""voice":{"file_id":"v1","file_unique_id":"v","duration":3,"mime_type":"audio/ogg","file_size":4000}"#,
        );
        assert!(matches!(
            read(&u),
            Incoming::Message {
                file: Some(FileRef {
                    kind: FileKind::Voice,
                    ..
                }),
                ..
            }
        ));
    }

    #[test]
    fn location_contact_and_edits() {
        let u = msg(r#""location":{"latitude":55.7558,"longitude":37.6173}"#);
        assert!(matches!(read(&u), Incoming::Location { latitude, .. } if (latitude - 55.7558).abs() < 1e-9));
        let own = msg(r#""contact":{"phone_number":"79161234567","first_name":"Олег","user_id":5001}"#);
        assert!(matches!(read(&own), Incoming::SharedContact { own: true, ref phone, .. } if phone == "79161234567"));
        let other = msg(r#""contact":{"phone_number":"79160000000","first_name":"Друг","user_id":42}"#);
        assert!(matches!(read(&other), Incoming::SharedContact { own: false, .. }));
        let edit = update(&format!(
            r#"{{"update_id":11,"edited_message":{{"message_id":7,"date":1700000000,"edit_date":1700000100,{CHAT},{FROM},"text":"исправлено"}}}}"#
        ));
        assert!(
            matches!(read(&edit), Incoming::Edited { message_id: 7, edited_at: 1700000100, ref text, .. } if text == "исправлено")
        );
    }

    #[test]
    fn callbacks_and_what_is_ignored() {
        let cb = update(&format!(
            r#"{{"update_id":12,"callback_query":{{"id":"q1",{FROM},"chat_instance":"ci","data":"r:3:5",
                "message":{{"message_id":9,"date":1700000000,{CHAT},"text":"Оцените"}}}}}}"#
        ));
        assert!(
            matches!(read(&cb), Incoming::Callback { ref data, ref query_id, .. } if data == "r:3:5" && query_id == "q1")
        );
        let group = update(
            r#"{"update_id":13,"message":{"message_id":1,"date":1700000000,"chat":{"id":-100,"type":"group","title":"g"},"text":"hi"}}"#,
        );
        assert!(matches!(read(&group), Incoming::Ignored(_)));
        let unknown = update(r#"{"update_id":14,"brand_new_kind":{"x":1}}"#);
        assert!(matches!(read(&unknown), Incoming::Ignored(_)));
        let sticker = msg(
            r#""sticker":{"file_id":"s","file_unique_id":"s","type":"regular","width":1,"height":1,"is_animated":false,"is_video":false}"#,
        );
        assert!(matches!(read(&sticker), Incoming::Ignored(_)));
    }

    #[test]
    fn chats_keep_their_order_and_the_chatless_stand_alone() {
        let items = vec![
            (1, Some(7)),
            (2, Some(8)),
            (3, None),
            (4, Some(7)),
            (5, None),
            (6, Some(8)),
        ];
        let groups = by_chat(items, |(_, chat)| *chat);
        let ids: Vec<Vec<i32>> = groups.iter().map(|g| g.iter().map(|(id, _)| *id).collect()).collect();
        assert_eq!(ids, vec![vec![1, 4], vec![2, 6], vec![3], vec![5]]);
    }

    #[test]
    fn long_text_is_clipped_to_the_thread_limit() {
        let long = "я".repeat(4096);
        match read(&msg(&format!(r#""text":"{long}""#))) {
            Incoming::Message { text, .. } => assert_eq!(text.chars().count(), MESSAGE_LIMIT),
            other => panic!("{other:?}"),
        }
    }
}
