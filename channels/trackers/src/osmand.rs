//! The OsmAnd protocol, as Traccar Client and OsmAnd send it over HTTP:
//! - the query form (`/?id=…&lat=…&lon=…&timestamp=…&speed=…`), speed in knots, the moment as
//!   Unix seconds, milliseconds, ISO 8601 or `2014-06-04 09:10:11` (UTC), the device as `id` or
//!   `deviceid`, the position as `lat`/`lon` or `location=lat,lon`; any other parameter is a
//!   reading of the device's (`batt`, `ignition`, `fuel`…);
//! - the JSON body of Traccar Client 9 and later: `device_id` and `location` (or a list of them)
//!   with `timestamp` (ISO 8601), `coords` (`latitude`, `longitude`, `accuracy`, `speed` in m/s,
//!   `heading`, `altitude`; −1 for what is unknown), `battery`, `is_moving`, `odometer`, `event`,
//!   `activity`. Fields the hub does not know are passed over, never refused.
//!
//! A report naming no device is refused (the server answers 400, as to an unknown device).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{Fix, Reading};

pub const KNOT_KMH: f64 = 1.852;
/// Readings beyond this many, or longer than this, are a flood, not a device.
const MAX_READINGS: usize = 50;
const MAX_TEXT: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OsmAndError {
    #[error("the report names no device (id or deviceid; device_id in JSON)")]
    NoDevice,
    #[error("{0} is not a number")]
    Number(&'static str),
    #[error("{0} is out of range")]
    Range(&'static str),
    #[error("the moment is not Unix seconds, milliseconds or ISO 8601")]
    Time,
    #[error("the body is not the JSON of Traccar Client: {0}")]
    Json(String),
}

/// A device's report: who, and the positions it carries (none: a report of cells or Wi-Fi only).
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub device: String,
    pub fixes: Vec<Fix>,
}

fn number(name: &'static str, v: &str) -> Result<f64, OsmAndError> {
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or(OsmAndError::Number(name))
}

/// A moment as the clients write it; `now` when none is given.
fn moment(v: Option<&str>, now: i64) -> Result<i64, OsmAndError> {
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(now);
    };
    if v.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = v.parse().map_err(|_| OsmAndError::Time)?;
        // Seconds until the year 5138; more digits than that are milliseconds.
        return Ok(if n < 100_000_000_000 { n * 1000 } else { n });
    }
    if let Ok(t) = v.parse::<jiff::Timestamp>() {
        return Ok(t.as_millisecond());
    }
    v.replace(' ', "T")
        .parse::<jiff::civil::DateTime>()
        .ok()
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp().as_millisecond())
        .ok_or(OsmAndError::Time)
}

fn checked(lat: f64, lon: f64) -> Result<(f64, f64), OsmAndError> {
    if !(-90.0..=90.0).contains(&lat) {
        return Err(OsmAndError::Range("lat"));
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(OsmAndError::Range("lon"));
    }
    Ok((lat, lon))
}

fn reading(v: &str) -> Reading {
    match v {
        "true" => Reading::Flag(true),
        "false" => Reading::Flag(false),
        _ => match v.parse::<f64>() {
            Ok(n) if n.is_finite() => Reading::Number(n),
            _ => Reading::Text(v.chars().take(MAX_TEXT).collect()),
        },
    }
}

/// The query form: `query` is what follows `?` (or a form body), `now` the server's moment.
pub fn query(query: &str, now: i64) -> Result<Report, OsmAndError> {
    let mut p: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        // `cell` and `wifi` may repeat; the first of anything is kept.
        p.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    let device = p
        .get("id")
        .or_else(|| p.get("deviceid"))
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
        .ok_or(OsmAndError::NoDevice)?;
    let position = match (p.get("lat"), p.get("lon"), p.get("location")) {
        (Some(lat), Some(lon), _) => Some((number("lat", lat)?, number("lon", lon)?)),
        (_, _, Some(loc)) => {
            let (lat, lon) = loc.split_once(',').ok_or(OsmAndError::Number("location"))?;
            Some((number("location", lat)?, number("location", lon)?))
        }
        _ => None,
    };
    let Some((lat, lon)) = position else {
        return Ok(Report {
            device,
            fixes: Vec::new(),
        });
    };
    let (lat, lon) = checked(lat, lon)?;
    let opt = |names: &[&'static str]| -> Result<Option<f64>, OsmAndError> {
        for n in names {
            if let Some(v) = p.get(*n).filter(|v| !v.trim().is_empty()) {
                return number(n, v).map(Some);
            }
        }
        Ok(None)
    };
    const KNOWN: [&str; 14] = [
        "id",
        "deviceid",
        "lat",
        "lon",
        "location",
        "timestamp",
        "speed",
        "bearing",
        "heading",
        "altitude",
        "accuracy",
        "hacc",
        "hdop",
        "cell",
    ];
    let io = p
        .iter()
        .filter(|(k, _)| !KNOWN.contains(&k.as_str()) && k.as_str() != "wifi")
        .take(MAX_READINGS)
        .map(|(k, v)| (k.chars().take(MAX_TEXT).collect(), reading(v)))
        .collect();
    let fix = Fix {
        at: moment(p.get("timestamp").map(String::as_str), now)?,
        lat,
        lon,
        altitude: opt(&["altitude"])?,
        course: opt(&["bearing", "heading"])?,
        speed_kmh: opt(&["speed"])?.map(|knots| knots * KNOT_KMH),
        satellites: None,
        accuracy: opt(&["accuracy", "hacc", "hdop"])?,
        io,
    };
    Ok(Report {
        device,
        fixes: vec![fix],
    })
}

/// A number the client sends, or None where it says it does not know (negative, or absent).
fn known(v: &Value) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite() && *x >= 0.0)
}

/// The JSON body of Traccar Client 9 and later.
pub fn json(body: &str, now: i64) -> Result<Report, OsmAndError> {
    let v: Value = serde_json::from_str(body).map_err(|e| OsmAndError::Json(e.to_string()))?;
    let device = match &v["device_id"] {
        Value::String(s) if !s.trim().is_empty() => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return Err(OsmAndError::NoDevice),
    };
    let locations: Vec<&Value> = match &v["location"] {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![&v["location"]],
        Value::Null => Vec::new(),
        _ => return Err(OsmAndError::Json("location is not an object".into())),
    };
    let mut fixes = Vec::with_capacity(locations.len());
    for l in locations {
        let c = &l["coords"];
        let (Some(lat), Some(lon)) = (c["latitude"].as_f64(), c["longitude"].as_f64()) else {
            return Err(OsmAndError::Number("coords"));
        };
        let (lat, lon) = checked(lat, lon)?;
        let mut io = BTreeMap::new();
        if let Some(level) = l["battery"]["level"].as_f64().filter(|x| (0.0..=1.0).contains(x)) {
            io.insert("batt".to_string(), Reading::Number((level * 100.0).round()));
        }
        if let Some(b) = l["battery"]["is_charging"].as_bool() {
            io.insert("charge".to_string(), Reading::Flag(b));
        }
        if let Some(b) = l["is_moving"].as_bool() {
            io.insert("motion".to_string(), Reading::Flag(b));
        }
        if let Some(o) = known(&l["odometer"]) {
            io.insert("odometer".to_string(), Reading::Number(o));
        }
        for (key, name) in [("event", "event"), ("activity", "activity")] {
            let text = if key == "activity" {
                &l["activity"]["type"]
            } else {
                &l[key]
            };
            if let Some(t) = text.as_str() {
                io.insert(name.to_string(), Reading::Text(t.chars().take(MAX_TEXT).collect()));
            }
        }
        fixes.push(Fix {
            at: moment(l["timestamp"].as_str(), now)?,
            lat,
            lon,
            altitude: c["altitude"].as_f64().filter(|x| x.is_finite()),
            course: known(&c["heading"]),
            speed_kmh: known(&c["speed"]).map(|ms| ms * 3.6),
            satellites: None,
            accuracy: known(&c["accuracy"]),
            io,
        });
    }
    Ok(Report { device, fixes })
}

#[cfg(test)]
mod tests;
