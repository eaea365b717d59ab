//! Tracker protocols, parsed without I/O: what a device sends becomes `Fix`es (a position at a
//! moment, with what the device measured) or a clear refusal. The bridge that owns the sockets
//! and the store (issue #12) calls these; the rules about vehicles (filtering, trips, territory
//! events) are the core's.

pub mod osmand;
pub mod teltonika;
pub mod wialon;

use std::collections::BTreeMap;

/// One position report as the device gave it, before any filtering.
#[derive(Debug, Clone, PartialEq)]
pub struct Fix {
    /// Milliseconds since the epoch, as the device stamped it.
    pub at: i64,
    pub lat: f64,
    pub lon: f64,
    /// Metres above sea level, when given.
    pub altitude: Option<f64>,
    /// Degrees from north, when given.
    pub course: Option<f64>,
    /// Kilometres an hour, converted from the protocol's unit.
    pub speed_kmh: Option<f64>,
    pub satellites: Option<u8>,
    /// Horizontal accuracy in metres (or HDOP where that is all the device says), when given.
    pub accuracy: Option<f64>,
    /// The device's own readings: Teltonika IO elements by id, OsmAnd's extra parameters.
    pub io: BTreeMap<String, Reading>,
}

/// A reading from a device's inputs.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    Number(f64),
    Flag(bool),
    Text(String),
    /// Teltonika's variable-length elements, as hex.
    Bytes(String),
}
