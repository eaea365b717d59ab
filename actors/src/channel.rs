//! The one interface between the core and every channel bridge (web chat, Telegram, e-mail,
//! SIP): a bridge turns its protocol into an [`Inbound`] and hands it to [`crate::Hub::inbound`];
//! operators' replies leave through [`Deliver`] to the bridge registered for the channel. A
//! bridge holds no business rules.
//!
//! Web chat needs no registered bridge: the widget's own session follows its dialogue on the
//! bus (see [`crate::switchboard`]), so a reply reaches it on whichever node it is connected to.

use serde::Serialize;

use crate::error::Result;
use crate::model::routing::Load;
use crate::store::Message;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Webchat,
    Telegram,
    Email,
    Phone,
}

impl ChannelKind {
    pub const ALL: [Self; 4] = [Self::Webchat, Self::Telegram, Self::Email, Self::Phone];

    pub const fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Webchat => "webchat",
            ChannelKind::Telegram => "telegram",
            ChannelKind::Email => "email",
            ChannelKind::Phone => "phone",
        }
    }

    /// Whether the channel's bridge sends operators' replies (through the outbox). A web chat's
    /// replies reach the visitor's session over the bus; a call has no text channel back.
    pub fn sends_replies(self) -> bool {
        match self {
            ChannelKind::Telegram | ChannelKind::Email => true,
            ChannelKind::Webchat | ChannelKind::Phone => false,
        }
    }

    /// What a conversation of this channel takes from an operator: a call takes their phone
    /// (one at a time, as a visit takes their window); a mail thread a place in their mail
    /// capacity; a chat or a Telegram dialogue one in their chat capacity.
    pub fn load(self) -> Load {
        match self {
            ChannelKind::Phone => Load::Exclusive,
            ChannelKind::Email => Load::Mail,
            ChannelKind::Webchat | ChannelKind::Telegram => Load::Chat,
        }
    }

    /// The load of a conversation of `channel` as stored (an unknown one shares the chat capacity).
    pub fn load_of(channel: &str) -> Load {
        Self::parse(channel).map_or(Load::Chat, Self::load)
    }

    /// SQL saying that `column` names a channel whose conversations take an operator whole.
    pub fn sql_exclusive(column: &str) -> String {
        Self::sql_load(column, Load::Exclusive)
    }

    /// SQL saying that `column` names a channel whose conversations take `load`.
    pub fn sql_load(column: &str, load: Load) -> String {
        let list: Vec<String> = Self::ALL
            .iter()
            .filter(|k| k.load() == load)
            .map(|k| format!("'{}'", k.as_str()))
            .collect();
        format!("{column} IN ({})", list.join(", "))
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "webchat" => Some(ChannelKind::Webchat),
            "telegram" => Some(ChannelKind::Telegram),
            "email" => Some(ChannelKind::Email),
            "phone" => Some(ChannelKind::Phone),
            _ => None,
        }
    }
}

/// Who the customer is, as the channel knows them.
#[derive(Debug, Clone, PartialEq)]
pub enum Sender {
    /// A contact already known (a web-chat visitor carries their card).
    Contact(i64),
    /// An identity to look up or create a card for: kind (`phone`, `telegram`, `email`), value
    /// and the name the channel gives, if any.
    Identity {
        kind: String,
        value: String,
        name: Option<String>,
    },
}

/// A customer's message arriving on a channel.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub org_id: i64,
    /// The queue a new conversation waits in.
    pub service_id: i64,
    pub channel: ChannelKind,
    /// The channel's key for the dialogue: one open conversation per key.
    pub thread_key: String,
    pub sender: Sender,
    /// The sender's id for this message, so a resend is stored once.
    pub client_id: Option<String>,
    pub body: String,
    /// Attachments uploaded before, owned by `owner`.
    pub attachment_ids: Vec<i64>,
    pub owner: String,
    /// Where a new conversation stands in its queue (higher first; 0 for most, more for a VIP).
    pub priority: i64,
}

/// An operator's message for the customer, to the bridge of the conversation's channel.
#[derive(Debug, Clone)]
pub struct Outbound {
    pub conversation_id: i64,
    pub channel: ChannelKind,
    pub thread_key: String,
    pub message: Message,
}

/// Hands an [`Outbound`] to a bridge; the bridge answers once the channel has taken it.
#[derive(Debug, Clone, actix::Message)]
#[rtype(result = "Result<()>")]
pub struct Deliver(pub Outbound);

/// The bridges registered on this node, one per channel.
#[derive(Clone, Default)]
pub struct Bridges(
    std::sync::Arc<std::sync::RwLock<std::collections::HashMap<ChannelKind, actix::Recipient<Deliver>>>>,
);

impl Bridges {
    pub fn register(&self, channel: ChannelKind, bridge: actix::Recipient<Deliver>) {
        self.0
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(channel, bridge);
    }

    pub fn get(&self, channel: ChannelKind) -> Option<actix::Recipient<Deliver>> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).get(&channel).cloned()
    }
}
