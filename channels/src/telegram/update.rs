//! What a Telegram update means to the hub: pure translation of the Bot API's JSON, no I/O.
//!
//! Updates are read from the JSON exactly as the API sent it (stored raw), field by field and
//! tolerantly: the Bot API grows every few months, so a key this code does not know is skipped,
//! never a reason to drop the message. Only what the hub needs is read (sender, chat, text,
//! caption, files); a message of a kind it cannot show still reaches the operator as a note.
//! The bridge acts on the [`Incoming`] it gets; what is not a customer's message is
//! [`Incoming::Ignored`] with the reason, logged and acknowledged, never retried forever.

use serde_json::Value;

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
    Video,
    Audio,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Photo => "photo",
            FileKind::Document => "document",
            FileKind::Voice => "voice",
            FileKind::VideoNote => "video_note",
            FileKind::Video => "video",
            FileKind::Audio => "audio",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "photo" => FileKind::Photo,
            "voice" => FileKind::Voice,
            "video_note" => FileKind::VideoNote,
            "video" => FileKind::Video,
            "audio" => FileKind::Audio,
            _ => FileKind::Document,
        }
    }
}

/// Who wrote, as Telegram names them.
#[derive(Debug, Clone, PartialEq)]
pub struct From {
    pub chat_id: i64,
    pub name: Option<String>,
}

/// Something a user sent that is not text or a file, told to the operator in words.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// A sticker, with the emoji it stands for.
    Sticker(Option<String>),
    /// A poll, with its question.
    Poll(String),
    /// A kind of message this hub does not know (named by its key), so the operator knows
    /// something came.
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// Text, or a file with its caption, for the dialogue's conversation.
    Message {
        from: From,
        message_id: i64,
        text: String,
        file: Option<FileRef>,
    },
    /// A message of a kind shown as words: a sticker, a poll, a kind the hub does not know.
    Note {
        from: From,
        message_id: i64,
        note: Note,
        /// Its caption, if it has one.
        text: String,
    },
    /// The user edited a message they sent earlier.
    Edited {
        from: From,
        message_id: i64,
        edited_at: i64,
        text: String,
    },
    Location {
        from: From,
        message_id: i64,
        latitude: f64,
        longitude: f64,
    },
    /// A contact card; `own` when it is the sender's own number (Telegram's "share my phone").
    SharedContact {
        from: From,
        message_id: i64,
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
        message_id: Option<i64>,
        data: String,
    },
    Ignored(String),
}

/// Keys of an update that are its id, not its kind.
const UPDATE_ID: &str = "update_id";

/// Message keys that describe a message rather than carry its content (the Bot API's `Message`
/// fields other than content and service kinds).
const DESCRIPTIVE: &[&str] = &[
    "message_id",
    "message_thread_id",
    "direct_messages_topic",
    "from",
    "sender_chat",
    "sender_boost_count",
    "sender_business_bot",
    "date",
    "business_connection_id",
    "chat",
    "forward_origin",
    "forward_from",
    "forward_from_chat",
    "forward_from_message_id",
    "forward_signature",
    "forward_sender_name",
    "forward_date",
    "is_topic_message",
    "is_automatic_forward",
    "reply_to_message",
    "external_reply",
    "quote",
    "reply_to_story",
    "reply_to_checklist_task_id",
    "via_bot",
    "edit_date",
    "has_protected_content",
    "is_from_offline",
    "is_paid_post",
    "media_group_id",
    "author_signature",
    "paid_star_count",
    "entities",
    "caption_entities",
    "link_preview_options",
    "suggested_post_info",
    "effect_id",
    "show_caption_above_media",
    "has_media_spoiler",
    "reply_markup",
    "text",
    "caption",
];

/// Message keys of service messages (members joining, pins, payments, …): not a customer's
/// words. Unknown keys are not here: a message of an unknown kind reaches the operator as a note.
const SERVICE: &[&str] = &[
    "new_chat_members",
    "left_chat_member",
    "new_chat_title",
    "new_chat_photo",
    "delete_chat_photo",
    "group_chat_created",
    "supergroup_chat_created",
    "channel_chat_created",
    "message_auto_delete_timer_changed",
    "migrate_to_chat_id",
    "migrate_from_chat_id",
    "pinned_message",
    "invoice",
    "successful_payment",
    "refunded_payment",
    "users_shared",
    "chat_shared",
    "gift",
    "unique_gift",
    "connected_website",
    "write_access_allowed",
    "passport_data",
    "proximity_alert_triggered",
    "boost_added",
    "chat_background_set",
    "checklist_tasks_done",
    "checklist_tasks_added",
    "direct_message_price_changed",
    "forum_topic_created",
    "forum_topic_edited",
    "forum_topic_closed",
    "forum_topic_reopened",
    "general_forum_topic_hidden",
    "general_forum_topic_unhidden",
    "giveaway_created",
    "giveaway_completed",
    "paid_message_price_changed",
    "suggested_post_approved",
    "suggested_post_approval_failed",
    "suggested_post_declined",
    "suggested_post_paid",
    "suggested_post_refunded",
    "video_chat_scheduled",
    "video_chat_started",
    "video_chat_ended",
    "video_chat_participants_invited",
    "web_app_data",
];

/// Reads an update, as JSON. Only private chats are served: a bot added to a group hears
/// everything said there, which is not a customer's request.
pub fn read(update: &Value) -> Incoming {
    let Some(fields) = update.as_object() else {
        return Incoming::Ignored("update is not a JSON object".into());
    };
    if let Some(m) = fields.get("message") {
        return read_message(m);
    }
    if let Some(m) = fields.get("edited_message") {
        return read_edit(m);
    }
    if let Some(q) = fields.get("callback_query") {
        return read_callback(q);
    }
    let kinds: Vec<&str> = fields.keys().map(String::as_str).filter(|k| *k != UPDATE_ID).collect();
    Incoming::Ignored(format!(
        "update of a kind the hub does not serve ({})",
        kinds.join(", ")
    ))
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn int_at(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

fn private(m: &Value) -> bool {
    m.get("chat").and_then(|c| str_at(c, "type")) == Some("private")
}

/// The chat, and the sender's name ("first last", or the chat's own name when there is no sender).
fn from(m: &Value) -> Option<From> {
    let chat = m.get("chat")?;
    let chat_id = int_at(chat, "id")?;
    let person = m.get("from").filter(|f| f.is_object()).unwrap_or(chat);
    Some(From {
        chat_id,
        name: full_name(person),
    })
}

fn full_name(person: &Value) -> Option<String> {
    let name = [str_at(person, "first_name"), str_at(person, "last_name")]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    Some(name).filter(|n| !n.is_empty())
}

fn file(v: &Value, name: String, kind: FileKind) -> Option<FileRef> {
    let file_id = str_at(v, "file_id").filter(|id| !id.is_empty())?;
    Some(FileRef {
        file_id: file_id.to_string(),
        size: v.get("file_size").and_then(Value::as_u64).unwrap_or(0),
        name,
        kind,
    })
}

fn read_edit(m: &Value) -> Incoming {
    if !private(m) {
        return Incoming::Ignored("edit in a group or channel".into());
    }
    let (Some(f), Some(message_id)) = (from(m), int_at(m, "message_id")) else {
        return Incoming::Ignored("edit without a chat or message id".into());
    };
    match str_at(m, "text").or_else(|| str_at(m, "caption")) {
        Some(text) => Incoming::Edited {
            from: f,
            message_id,
            edited_at: int_at(m, "edit_date").unwrap_or(0),
            text: clip(text),
        },
        None => Incoming::Ignored("edit without text".into()),
    }
}

fn read_callback(q: &Value) -> Incoming {
    let Some(data) = str_at(q, "data") else {
        return Incoming::Ignored("callback without data".into());
    };
    let Some(query_id) = str_at(q, "id") else {
        return Incoming::Ignored("callback without an id".into());
    };
    // An inaccessible message (older than 48 h) comes with date 0 and only its chat and id.
    let Some(message) = q.get("message").filter(|m| int_at(m, "date").is_some_and(|d| d != 0)) else {
        return Incoming::Ignored("callback on an inaccessible message".into());
    };
    if !private(message) {
        return Incoming::Ignored("callback in a group".into());
    }
    let Some(chat_id) = message.get("chat").and_then(|c| int_at(c, "id")) else {
        return Incoming::Ignored("callback without a chat".into());
    };
    Incoming::Callback {
        from: From {
            chat_id,
            name: q.get("from").and_then(full_name),
        },
        query_id: query_id.to_string(),
        message_id: int_at(message, "message_id"),
        data: data.to_string(),
    }
}

fn read_message(m: &Value) -> Incoming {
    if !private(m) {
        return Incoming::Ignored("message in a group or channel".into());
    }
    let (Some(f), Some(message_id)) = (from(m), int_at(m, "message_id")) else {
        return Incoming::Ignored("message without a chat or message id".into());
    };
    if let Some(text) = str_at(m, "text") {
        return read_text(f, message_id, text);
    }
    let caption = clip(str_at(m, "caption").unwrap_or(""));
    let with_file = |file: Option<FileRef>, text: String| Incoming::Message {
        from: f.clone(),
        message_id,
        text,
        file,
    };
    if let Some(sizes) = m.get("photo").and_then(Value::as_array) {
        // Telegram sends every size it made; the largest is the original.
        let best = sizes.iter().max_by_key(|s| {
            int_at(s, "width")
                .unwrap_or(0)
                .saturating_mul(int_at(s, "height").unwrap_or(0))
        });
        let photo = best.and_then(|b| file(b, format!("photo-{message_id}.jpg"), FileKind::Photo));
        return with_file(photo, caption);
    }
    let named = |v: &Value, fallback: String| {
        str_at(v, "file_name")
            .map(str::to_string)
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(fallback)
    };
    let files: [(&str, FileKind, String); 6] = [
        ("document", FileKind::Document, format!("file-{message_id}")),
        ("voice", FileKind::Voice, format!("voice-{message_id}.ogg")),
        (
            "video_note",
            FileKind::VideoNote,
            format!("video-note-{message_id}.mp4"),
        ),
        ("video", FileKind::Video, format!("video-{message_id}.mp4")),
        ("animation", FileKind::Video, format!("animation-{message_id}.mp4")),
        ("audio", FileKind::Audio, format!("audio-{message_id}.mp3")),
    ];
    for (key, kind, fallback) in files {
        if let Some(v) = m.get(key).filter(|v| v.is_object()) {
            return with_file(file(v, named(v, fallback), kind), caption);
        }
    }
    let location = m
        .get("location")
        .or_else(|| m.get("venue").and_then(|v| v.get("location")));
    if let Some(l) = location {
        if let (Some(latitude), Some(longitude)) = (
            l.get("latitude").and_then(Value::as_f64),
            l.get("longitude").and_then(Value::as_f64),
        ) {
            return Incoming::Location {
                from: f,
                message_id,
                latitude,
                longitude,
            };
        }
    }
    if let Some(c) = m.get("contact") {
        let sender = m.get("from").and_then(|u| int_at(u, "id"));
        let own = matches!((int_at(c, "user_id"), sender), (Some(a), Some(b)) if a == b);
        return Incoming::SharedContact {
            from: f,
            message_id,
            phone: str_at(c, "phone_number").unwrap_or("").to_string(),
            name: full_name(c).unwrap_or_default(),
            own,
        };
    }
    let note = |note: Note| Incoming::Note {
        from: f.clone(),
        message_id,
        note,
        text: caption.clone(),
    };
    if let Some(s) = m.get("sticker") {
        return note(Note::Sticker(str_at(s, "emoji").map(str::to_string)));
    }
    if let Some(p) = m.get("poll") {
        return note(Note::Poll(clip(str_at(p, "question").unwrap_or(""))));
    }
    let Some(obj) = m.as_object() else {
        return Incoming::Ignored("message is not a JSON object".into());
    };
    let mut content = obj.keys().map(String::as_str).filter(|k| !DESCRIPTIVE.contains(k));
    match content.next() {
        Some(k) if SERVICE.contains(&k) => Incoming::Ignored(format!("service message ({k})")),
        Some(k) => note(Note::Unknown(k.to_string())),
        // Nothing but a caption (a media kind that has gone, say): the words still count.
        None if !caption.is_empty() => with_file(None, caption),
        None => Incoming::Ignored("empty message".into()),
    }
}

fn read_text(f: From, message_id: i64, text: &str) -> Incoming {
    let trimmed = text.trim();
    if let Some(cmd) = trimmed.strip_prefix('/') {
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
        text: clip(text),
        file: None,
    }
}

impl Incoming {
    /// The chat it comes from; None for what the hub ignores.
    pub fn chat_id(&self) -> Option<i64> {
        match self {
            Incoming::Message { from, .. }
            | Incoming::Note { from, .. }
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

    fn update(json: &str) -> Value {
        match serde_json::from_str(json) {
            Ok(u) => u,
            Err(e) => panic!("fixture does not parse: {e}"),
        }
    }

    const CHAT: &str = r#""chat":{"id":5001,"type":"private","first_name":"Олег"}"#;
    const FROM: &str = r#""from":{"id":5001,"is_bot":false,"first_name":"Олег","last_name":"Петров"}"#;

    fn msg(body: &str) -> Value {
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
        assert!(matches!(
            read(&sticker),
            Incoming::Note {
                note: Note::Sticker(None),
                ..
            }
        ));
    }

    /// The Bot API grows: keys, kinds and entity types this code does not know never lose a
    /// message, and updates of kinds the hub does not serve are named, not fatal.
    #[test]
    fn what_the_library_does_not_know_never_loses_a_message() {
        // A reaction update, as the API sends it (teloxide 0.17 panicked reading this).
        let reaction = update(&format!(
            r#"{{"update_id":20,"message_reaction":{{{CHAT},"message_id":7,"date":1700000000,
                "user":{{"id":5001,"is_bot":false,"first_name":"Олег"}},
                "old_reaction":[],"new_reaction":[{{"type":"emoji","emoji":"👍"}}]}}}}"#
        ));
        assert!(matches!(read(&reaction), Incoming::Ignored(ref why) if why.contains("message_reaction")));
        // An extra top-level key beside the message.
        let extra = update(&format!(
            r#"{{"update_id":21,"brand_new_field":{{"a":1}},"message":{{"message_id":8,"date":1700000000,{CHAT},{FROM},"text":"привет"}}}}"#
        ));
        assert!(matches!(read(&extra), Incoming::Message { ref text, .. } if text == "привет"));
        // An entity type nobody has heard of, and unknown keys inside the message and the sender.
        let odd = update(
            r#"{"update_id":22,"message":{"message_id":9,"date":1700000000,"future_flag":true,
                "chat":{"id":5001,"type":"private","future":"x"},
                "from":{"id":5001,"is_bot":false,"first_name":"Олег","is_premium":true,"added_to_attachment_menu":true},
                "text":"см. @x","entities":[{"type":"quantum_link","offset":0,"length":3,"extra":{}}]}}"#,
        );
        assert!(matches!(read(&odd), Incoming::Message { ref text, .. } if text == "см. @x"));
        // A media kind of the future, with a caption: the operator hears of it, words and all.
        let future = msg(r#""hologram":{"file_id":"h"},"caption":"посмотрите""#);
        assert!(matches!(read(&future),
            Incoming::Note { note: Note::Unknown(ref k), ref text, .. } if k == "hologram" && text == "посмотрите"));
        // Files without the optional fields still arrive.
        let bare = msg(r#""document":{"file_id":"d2","file_unique_id":"d"}"#);
        assert!(matches!(read(&bare),
            Incoming::Message { file: Some(FileRef { size: 0, ref name, .. }), .. } if name == "file-7"));
        let video =
            msg(r#""video":{"file_id":"v9","file_unique_id":"v","width":1,"height":1,"duration":1},"caption":"вот""#);
        assert!(matches!(read(&video),
            Incoming::Message { file: Some(FileRef { kind: FileKind::Video, .. }), ref text, .. } if text == "вот"));
        // Service messages and shapes that are not messages are set aside by name, not by error.
        assert!(matches!(
            read(&msg(r#""pinned_message":{"message_id":1}"#)),
            Incoming::Ignored(_)
        ));
        assert!(matches!(read(&serde_json::json!([1, 2])), Incoming::Ignored(_)));
        assert!(matches!(
            read(&serde_json::json!({"update_id": 1, "message": "x"})),
            Incoming::Ignored(_)
        ));
        // A sender without a name and a message id beyond 32 bits are read as they are.
        let big = update(
            r#"{"update_id":23,"message":{"message_id":4294967302,"date":1,"chat":{"id":-5,"type":"private"},"text":"x"}}"#,
        );
        assert!(matches!(
            read(&big),
            Incoming::Message {
                message_id: 4294967302,
                from: From {
                    chat_id: -5,
                    name: None
                },
                ..
            }
        ));
        // A callback on a message too old to show (date 0) is named as such.
        let old = update(&format!(
            r#"{{"update_id":24,"callback_query":{{"id":"q2",{FROM},"chat_instance":"ci","data":"r:1:5",
                "message":{{"message_id":9,"date":0,{CHAT}}}}}}}"#
        ));
        assert!(matches!(read(&old), Incoming::Ignored(_)));
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
