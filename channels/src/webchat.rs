//! The web-chat widget's wire protocol over WebSocket: what the widget sends (a message with its
//! own id, typing) and what it is sent (hello with the thread, messages, acknowledgements,
//! typing, status, errors). Pure translation, no I/O: the session in the web crate drives it.

use hub_actors::model::conversation::ConversationStatus;
use serde::{Deserialize, Serialize};

use hub_actors::bus::EventKind;
use hub_actors::channel::{ChannelKind, Inbound, Sender};
use hub_actors::store::{Conversation, Message, Visitor};

/// Largest frame a widget may send: a full message (4000 characters of up to 4 bytes) and its
/// envelope.
pub const MAX_FRAME: usize = 20 * 1024;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    Message {
        client_id: String,
        #[serde(default)]
        body: String,
        #[serde(default)]
        attachment_ids: Vec<i64>,
    },
    Typing,
}

/// A conversation as its customer sees it: no internal ids, notes or routing details (the
/// resolution is the operator's note, `offered_to` and the queue are the organisation's business).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VisitorConversation<'a> {
    pub id: i64,
    pub status: &'a str,
    /// The operator's name once someone has joined.
    pub assignee: Option<&'a str>,
    /// 'f', 'm' or absent: how the widget speaks of the operator in Russian.
    pub assignee_gender: Option<&'a str>,
    pub created_at: i64,
    pub closed_at: Option<i64>,
    pub rating: Option<i64>,
}

impl<'a> VisitorConversation<'a> {
    pub fn of(c: &'a Conversation) -> Self {
        // Between offer and acceptance the status is the customer's "waiting" all the same.
        let status = match c.row.status {
            ConversationStatus::Offered => ConversationStatus::Queued,
            s => s,
        };
        Self {
            id: c.row.id,
            status: status.as_str(),
            assignee: c
                .row
                .assignee
                .as_deref()
                .filter(|_| c.row.status != ConversationStatus::Queued),
            assignee_gender: c
                .row
                .assignee_gender
                .as_deref()
                .filter(|_| c.row.assignee.is_some() && c.row.status != ConversationStatus::Queued),
            created_at: c.row.created_at,
            closed_at: c.row.closed_at,
            rating: c.row.rating,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    Hello {
        conversation: Option<VisitorConversation<'a>>,
        messages: &'a [Message],
    },
    Message {
        message: &'a Message,
    },
    Ack {
        client_id: &'a str,
        message_id: i64,
    },
    Typing,
    Status {
        conversation: VisitorConversation<'a>,
        /// While it waits: the queue's estimated wait.
        #[serde(skip_serializing_if = "Option::is_none")]
        ewt_secs: Option<i64>,
    },
    Error {
        code: &'a str,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_id: Option<&'a str>,
        /// As on the HTTP API: a refusal the page words in its own language, and its values.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        args: Option<serde_json::Value>,
    },
}

impl ServerFrame<'_> {
    pub fn text(&self) -> String {
        // Serialising these plain types cannot fail; an empty frame would be ignored anyway.
        serde_json::to_string(self).unwrap_or_default()
    }
}

pub fn parse(text: &str) -> Result<ClientFrame, String> {
    serde_json::from_str(text).map_err(|e| format!("unreadable frame: {e}"))
}

/// A visitor's message as the core's [`Inbound`].
pub fn inbound(v: &Visitor, client_id: String, body: String, attachment_ids: Vec<i64>) -> Inbound {
    Inbound {
        org_id: v.org_id,
        service_id: v.service_id,
        channel: ChannelKind::Webchat,
        thread_key: v.thread_key(),
        sender: Sender::Contact(v.contact_id),
        client_id: Some(client_id),
        body,
        attachment_ids,
        owner: v.thread_key(),
        priority: 0,
    }
}

/// What a bus event means for the widget: a frame to send now, a status to fetch, or nothing.
pub enum ForWidget<'a> {
    Frame(ServerFrame<'a>),
    /// The conversation changed: send its fresh state.
    Status(i64),
    Nothing,
}

pub fn for_widget(kind: &EventKind) -> ForWidget<'_> {
    match kind {
        EventKind::MessageAdded { message, .. } => ForWidget::Frame(ServerFrame::Message { message }),
        EventKind::Typing { author, .. } if author == "operator" => ForWidget::Frame(ServerFrame::Typing),
        EventKind::ConversationChanged { conversation_id, .. } => ForWidget::Status(*conversation_id),
        _ => ForWidget::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_frames_parse() {
        assert_eq!(
            parse(r#"{"type":"message","client_id":"c1","body":"hi"}"#),
            Ok(ClientFrame::Message {
                client_id: "c1".into(),
                body: "hi".into(),
                attachment_ids: vec![]
            })
        );
        assert_eq!(parse(r#"{"type":"typing"}"#), Ok(ClientFrame::Typing));
    }

    #[test]
    fn unknown_fields_and_types_are_refused() {
        assert!(parse(r#"{"type":"message","client_id":"c1","body":"hi","admin":true}"#).is_err());
        assert!(parse(r#"{"type":"close_all"}"#).is_err());
        assert!(parse("not json").is_err());
        assert!(parse(r#"{"type":"message","body":"no id"}"#).is_err());
    }

    #[test]
    fn server_frames_carry_their_type() {
        let t = ServerFrame::Ack {
            client_id: "c1",
            message_id: 7,
        }
        .text();
        assert_eq!(t, r#"{"type":"ack","client_id":"c1","message_id":7}"#);
        let e = ServerFrame::Error {
            code: "invalid",
            message: "too long",
            client_id: None,
            reason: None,
            args: None,
        }
        .text();
        assert_eq!(e, r#"{"type":"error","code":"invalid","message":"too long"}"#);
    }
}
