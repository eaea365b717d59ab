//! The one error type of the core. Each variant has a stable code; the web crate maps codes to
//! HTTP statuses in one place. Internal causes (database, bus) are logged there, not sent out.

use crate::model::{presence::PresenceError, ticket::TransitionError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    /// A conflict found by an actor whose copy was stale, carrying the fresh state (internal:
    /// the actor turns it back into `Conflict` after refreshing itself).
    #[error("{0}")]
    Stale(String, Option<Box<crate::store::Ticket>>),
    #[error("the branch is closed now; tickets are issued during working hours")]
    BranchClosed,
    #[error("this conversation is closed")]
    ConversationClosed,
    #[error("wrong login or password")]
    BadCredentials,
    #[error("too many wrong attempts; try again in {0} s")]
    TooManyAttempts(i64),
    #[error("the VIP code is not valid")]
    WrongVipCode,
    #[error("the code is not right, or no longer valid; ask for a new one")]
    WrongCode,
    #[error("too many requests from this address; try again in {0} s")]
    TooManyRequests(i64),
    #[error("the organisation's room for files not yet sent is full; send or drop some first")]
    StorageFull,
    /// A shared name (login, number, mail domain…) the installation's owner gave to another
    /// organisation, or has not given to this one.
    #[error(transparent)]
    NotYours(crate::model::field::FieldError),
    #[error("sign in first")]
    Unauthenticated,
    #[error("your role does not allow this")]
    Forbidden,
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Presence(#[from] PresenceError),
    /// A request's move the workflow refuses (no such move, the role, a requirement).
    #[error(transparent)]
    Move(#[from] crate::model::workflow::MoveError),
    #[error(transparent)]
    Message(#[from] crate::model::message::MessageError),
    #[error(transparent)]
    Attachment(#[from] crate::model::attachment::AttachmentError),
    /// A form's field is wrong: the page shows why beside it.
    #[error(transparent)]
    Field(#[from] crate::model::field::FieldError),
    /// A field's value something else already has (a ticket prefix, a window's label): a
    /// conflict, with the field named.
    #[error(transparent)]
    Taken(crate::model::field::FieldError),
    #[error("store: {0}")]
    Store(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("bus: {0}")]
    Bus(String),
    #[error("actor unavailable: {0}")]
    Actor(String),
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    /// Why, for the refusals a page explains to a person in its own language: a stable name of
    /// the reason and the values its sentence needs (`{"required": 1, "done": 0}`).
    pub fn reason(&self) -> Option<(&'static str, serde_json::Value)> {
        match self {
            Self::Transition(e) => Some(e.reason()),
            Self::Presence(e) => Some(e.reason()),
            Self::Move(e) => Some(e.reason()),
            Self::Message(e) => Some(e.reason()),
            Self::Attachment(e) => Some(e.reason()),
            Self::Field(e) | Self::Taken(e) | Self::NotYours(e) => Some((e.reason, e.args.clone())),
            _ => None,
        }
    }

    /// The form field a refusal is about, for the page to mark.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::Field(e) | Self::Taken(e) | Self::NotYours(e) => Some(e.field),
            _ => None,
        }
    }

    /// A stable machine-readable code clients can switch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "not_found",
            Self::Invalid(_) | Self::Message(_) | Self::Attachment(_) | Self::Field(_) => "invalid",
            Self::Conflict(_) | Self::Stale(..) | Self::Taken(_) => "conflict",
            Self::BranchClosed => "branch_closed",
            Self::ConversationClosed => "conversation_closed",
            Self::BadCredentials => "bad_credentials",
            Self::TooManyAttempts(_) => "too_many_attempts",
            Self::WrongVipCode => "wrong_vip_code",
            Self::WrongCode => "wrong_code",
            Self::TooManyRequests(_) => "too_many_requests",
            Self::StorageFull => "storage_full",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::NotYours(_) => "not_assigned",
            Self::Transition(_) => "ticket_state",
            Self::Presence(_) => "presence",
            Self::Move(_) => "request_move",
            Self::Store(_) | Self::Migrate(_) => "store_unavailable",
            Self::Bus(_) => "bus_unavailable",
            // The actor died (and is restarted on next use) or could not load its state: the
            // request can simply be repeated.
            Self::Actor(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
