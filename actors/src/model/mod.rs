//! The model: plain types and rules with no I/O. Actors and the store call these; every rule is
//! unit-tested beside its code.

pub mod arrival;
pub mod assignment;
pub mod attachment;
pub mod audit;
pub mod board;
pub mod branch;
pub mod breaks;
pub mod conversation;
pub mod delivery;
pub mod desk;
pub mod egress;
pub mod eta;
pub mod field;
pub mod fleet;
pub mod geo;
pub mod kiosk;
pub mod kpi;
pub mod labour;
pub mod mention;
pub mod menu;
pub mod message;
pub mod mileage;
pub mod namespace;
pub mod numbering;
pub mod ordering;
pub mod pairing;
pub mod password;
pub mod person;
pub mod phone;
pub mod presence;
pub mod rate;
pub mod region;
pub mod role;
pub mod routing;
pub mod schedule;
pub mod search;
pub mod sensor;
pub mod sla;
pub mod throttle;
pub mod ticket;
pub mod track;
pub mod user;
pub mod visits;
pub mod webhook;
pub mod workflow;

/// Milliseconds since the Unix epoch: the one time unit the store and the wire use.
pub type Millis = i64;

pub fn now_millis() -> Millis {
    jiff::Timestamp::now().as_millisecond()
}
