//! Actors: thin shells around the model's rules that add timers, persistence and messages.
//! Each persists a change before it answers or publishes it.

pub mod alarms;
pub mod display;
pub mod operator;
pub mod queue;
pub mod registry;
pub mod request;
pub mod router;
pub mod ticket;
pub mod vehicle;

use std::sync::Arc;

use futures_util::stream::{self, Stream};
use tokio::sync::broadcast::{self, error::RecvError};

use crate::bus::Event;

/// What an actor hears from the bus: an event, or word that it missed some and must reload.
#[derive(Debug, Clone, actix::Message)]
#[rtype(result = "()")]
pub enum Heard {
    Event(Arc<Event>),
    Missed,
}

/// Turns a broadcast subscription into a stream an actor can `add_stream`.
pub fn bus_stream(rx: broadcast::Receiver<Arc<Event>>) -> impl Stream<Item = Heard> {
    stream::unfold(rx, |mut rx| async move {
        match rx.recv().await {
            Ok(e) => Some((Heard::Event(e), rx)),
            Err(RecvError::Lagged(_)) => Some((Heard::Missed, rx)),
            Err(RecvError::Closed) => None,
        }
    })
}
