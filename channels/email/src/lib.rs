//! E-mail for the hub, independent of its actors and store: reading received mail (MIME,
//! charsets, HTML, attachments, quoted history), telling people from programs and delivery
//! failures, the ticket reference in subjects, composing replies, and an SMTP receiver.

pub mod compose;
pub mod fold;
pub mod kind;
pub mod parse;
pub mod smtp;
pub mod thread;

pub use kind::{Bounce, Kind};
pub use parse::{parse, Limits, Mail, Mailbox, ParseError, Part};
