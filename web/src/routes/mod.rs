//! The JSON API. Handlers are thin: identity and role from extractors, validation by serde
//! (`deny_unknown_fields`), then one call to the core.

mod admin;
mod auth;
mod board;
mod branch;
mod chat;
mod contacts;
mod conversations;
mod desk;
mod email;
mod fleet;
mod kiosk;
mod operator;
mod public;
mod service;
mod sip;
mod speech;
mod supervisor;
mod telegram;

pub(crate) use chat::queue_ewt;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(service::configure)
        .configure(admin::configure)
        .configure(auth::configure)
        .configure(branch::configure)
        .configure(kiosk::configure)
        .configure(public::configure)
        .configure(operator::configure)
        .configure(board::configure)
        .configure(conversations::configure)
        .configure(desk::configure)
        .configure(contacts::configure)
        .configure(chat::configure)
        .configure(supervisor::configure)
        .configure(speech::configure)
        .configure(telegram::configure)
        .configure(email::configure)
        .configure(sip::configure)
        .configure(fleet::configure);
}
