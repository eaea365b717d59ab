//! Channel bridges. A bridge only translates: an external protocol in, a command to the core
//! out; the core's answer back into the protocol. It holds no business rules.
//!
//! Today: the kiosk and the visitor's phone (the mobile registrar), whose protocol is the hub's
//! own JSON. Web chat, Telegram, e-mail, SIP telephony and speech arrive with their issues and
//! share the `Inbound`/`Outbound` interface that the web-chat issue defines.

pub mod kiosk;
