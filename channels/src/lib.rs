//! Channel bridges. A bridge only translates: an external protocol in, a command to the core
//! out; the core's answer back into the protocol. It holds no business rules.
//!
//! Today: the kiosk and the visitor's phone (the mobile registrar), whose protocol is the hub's
//! own JSON, and the web-chat widget. Telegram, e-mail, SIP telephony and speech arrive with
//! their issues and use the same `Inbound`/`Outbound` interface (`hub_actors::channel`).

pub mod kiosk;
pub mod speech;
pub mod telegram;
pub mod webchat;
