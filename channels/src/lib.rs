//! Channel bridges. A bridge only translates: an external protocol in, a command to the core
//! out; the core's answer back into the protocol. It holds no business rules.
//!
//! Today: the kiosk and the visitor's phone (the mobile registrar), whose protocol is the hub's
//! own JSON, the web-chat widget, Telegram, e-mail (IMAP and SMTP in, SMTP out) and speech. SIP
//! telephony arrives with its issue and uses the same `Inbound`/`Outbound` interface
//! (`hub_actors::channel`).

pub mod config;
pub mod egress;
pub mod email;
pub mod kiosk;
pub mod sip;
pub mod speech;
pub mod telegram;
pub mod trackers;
pub mod webchat;
pub mod webhook;

#[cfg(test)]
mod own_tables;

/// The bridges' tables the core seals secrets in and checks shared names in (a new bridge adds
/// its own here: the one registration line it needs in the core).
pub const TABLES: &[hub_actors::store::BridgeTables] = &[
    telegram::store::TABLES,
    email::store::TABLES,
    sip::store::TABLES,
    sip::trunk_store::TABLES,
    trackers::store::TABLES,
];

/// A bridge's entry for the core's [`hub_actors::channel::Deliver`]: the reply is already in the
/// outbox (written with the message), so delivering is ringing the bridge's sender.
pub(crate) struct Doorbell(pub(crate) Box<dyn Fn() + Send>);

impl actix::Actor for Doorbell {
    type Context = actix::Context<Self>;
}

impl actix::Handler<hub_actors::channel::Deliver> for Doorbell {
    type Result = hub_actors::Result<()>;

    fn handle(&mut self, _: hub_actors::channel::Deliver, _: &mut actix::Context<Self>) -> Self::Result {
        (self.0)();
        Ok(())
    }
}
