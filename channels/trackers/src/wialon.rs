//! Wialon IPS (1.1 and 2.0), Gurtam's text protocol over TCP: one packet a line, `#TYPE#message`
//! ending in CR LF. The device logs in (`#L#imei;password`, or in 2.0 `#L#2.0;imei;password;crc`),
//! then sends short data (`#SD#date;time;lat;N;lon;E;speed;course;height;sats`), data (`#D#…` with
//! HDOP, inputs, outputs, ADC, iButton and `name:type:value` parameters), black boxes of either
//! (`#B#…|…`) and pings (`#P#`). Dates are DDMMYY and times HHMMSS in UTC; coordinates are degrees
//! and minutes (`5544.6025;N`); `NA` is a field the device does not know. In 2.0 a packet ends in
//! a CRC-16/IBM (as hex) of its message up to the last `;`, checked here.

use std::collections::BTreeMap;

use crate::teltonika::crc16;
use crate::{Fix, Reading};

/// A line longer than this is not a tracker's.
pub const MAX_LINE: usize = 64 * 1024;
/// At most this many records in one black box packet.
const MAX_BLACK_BOX: usize = 5000;

#[derive(Debug, Clone, PartialEq)]
pub enum Packet {
    Login {
        version: Option<String>,
        imei: String,
        password: Option<String>,
    },
    Ping,
    /// `#SD#` (short) or `#D#`: one position.
    Data {
        short: bool,
        fix: Fix,
    },
    /// `#B#`: stored positions, sent together.
    BlackBox(Vec<Fix>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WialonError {
    #[error("not a Wialon IPS packet (#TYPE#message)")]
    Structure,
    #[error("packet type {0} is not one the hub takes")]
    Type(String),
    #[error("the checksum does not match")]
    Crc,
    #[error("the date or time is not DDMMYY and HHMMSS")]
    Time,
    #[error("the coordinates cannot be read")]
    Coordinates,
    #[error("the speed, course or height cannot be read")]
    Motion,
    #[error("the number of satellites or the HDOP cannot be read")]
    Satellites,
}

/// A line as the device sent it (CR LF taken off). `v2`: the device logged in with protocol 2.0,
/// so its packets end in a checksum. Bytes before the first `#` (some devices prefix their id)
/// are passed over.
pub fn packet(line: &str, v2: bool, now: i64) -> Result<Packet, WialonError> {
    if line.len() > MAX_LINE {
        return Err(WialonError::Structure);
    }
    let line = line.trim_end_matches(['\r', '\n']);
    let start = line.find('#').ok_or(WialonError::Structure)?;
    let rest = &line[start + 1..];
    let (kind, msg) = rest.split_once('#').ok_or(WialonError::Structure)?;
    match kind {
        "P" => Ok(Packet::Ping),
        "L" => login(msg),
        "SD" | "D" => {
            let msg = checked(msg, v2)?;
            Ok(Packet::Data {
                short: kind == "SD",
                fix: record(msg, now)?,
            })
        }
        "B" => {
            let msg = checked(msg, v2)?;
            let fixes = msg
                .split('|')
                .filter(|r| !r.is_empty())
                .take(MAX_BLACK_BOX)
                .map(|r| record(r, now))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Packet::BlackBox(fixes))
        }
        other => Err(WialonError::Type(other.chars().take(8).collect())),
    }
}

/// What the server answers a packet taken.
pub fn answer(p: &Packet) -> String {
    match p {
        Packet::Login { .. } => "#AL#1\r\n".into(),
        Packet::Ping => "#AP#\r\n".into(),
        Packet::Data { short: true, .. } => "#ASD#1\r\n".into(),
        Packet::Data { short: false, .. } => "#AD#1\r\n".into(),
        Packet::BlackBox(f) => format!("#AB#{}\r\n", f.len()),
    }
}

/// What the server answers a packet of kind `kind` (the letters after the first `#`) it could not
/// take: the protocol's codes (-1 the structure, 0 the time, 10 the coordinates, 11 speed,
/// course or height, 12 satellites or HDOP, 13 the checksum). None: the line had no kind to
/// answer for.
pub fn refusal(line: &str, err: &WialonError) -> Option<String> {
    let kind = line.split('#').nth(1).filter(|k| ["SD", "D", "B", "L"].contains(k))?;
    let code = match err {
        WialonError::Structure | WialonError::Type(_) => "-1",
        WialonError::Time => "0",
        WialonError::Coordinates => "10",
        WialonError::Motion => "11",
        WialonError::Satellites => "12",
        WialonError::Crc => "13",
    };
    Some(match kind {
        // A login refused for its form: 0, "refused".
        "L" => "#AL#0\r\n".to_string(),
        // A black box answers how many it took: none.
        "B" => "#AB#0\r\n".to_string(),
        k => format!("#A{k}#{code}\r\n"),
    })
}

/// The answer to a login refused: the device is not known.
pub const LOGIN_REFUSED: &str = "#AL#0\r\n";

/// The message without its 2.0 checksum, once the checksum is found right.
fn checked(msg: &str, v2: bool) -> Result<&str, WialonError> {
    if !v2 {
        return Ok(msg);
    }
    let at = msg.rfind([';', '|']).ok_or(WialonError::Crc)?;
    let (body, crc) = msg.split_at(at + 1);
    let crc = crc.trim_start_matches("0x");
    let want = u16::from_str_radix(crc, 16).map_err(|_| WialonError::Crc)?;
    if crc16(body.as_bytes()) != want {
        return Err(WialonError::Crc);
    }
    Ok(&body[..body.len() - 1])
}

fn login(msg: &str) -> Result<Packet, WialonError> {
    let f: Vec<&str> = msg.split(';').collect();
    let na = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty() && s != "NA");
    // 2.0: version;imei;password;crc. 1.1: imei;password.
    let (version, imei, password) = match f.as_slice() {
        [v, imei, pw, _crc] if v.contains('.') => (Some(v.to_string()), *imei, na(pw)),
        [imei, pw] => (None, *imei, na(pw)),
        [imei] => (None, *imei, None),
        _ => return Err(WialonError::Structure),
    };
    let imei = imei.trim();
    if imei.is_empty() || imei.len() > 40 || !imei.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(WialonError::Structure);
    }
    Ok(Packet::Login {
        version,
        imei: imei.to_string(),
        password,
    })
}

/// `5544.6025` with `N`: 55° 44.6025′, north positive.
fn coordinate(value: &str, side: &str, max: f64) -> Result<f64, WialonError> {
    let v: f64 = value.parse().map_err(|_| WialonError::Coordinates)?;
    let degrees = (v / 100.0).trunc();
    let minutes = v - degrees * 100.0;
    if !(0.0..60.0).contains(&minutes) {
        return Err(WialonError::Coordinates);
    }
    let d = degrees + minutes / 60.0;
    let d = match side {
        "N" | "E" => d,
        "S" | "W" => -d,
        _ => return Err(WialonError::Coordinates),
    };
    if d.abs() > max {
        return Err(WialonError::Coordinates);
    }
    Ok(d)
}

fn moment(date: &str, time: &str, now: i64) -> Result<i64, WialonError> {
    if date == "NA" || time == "NA" {
        return Ok(now);
    }
    // HHMMSS, in 2.1 with a fraction of the second after a point.
    let t = time.split('.').next().unwrap_or("");
    if date.len() != 6 || t.len() != 6 || !date.bytes().chain(t.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(WialonError::Time);
    }
    let n = |s: &str| s.parse::<i8>().map_err(|_| WialonError::Time);
    jiff::civil::DateTime::new(
        2000 + i16::from(n(&date[4..6])?),
        n(&date[2..4])?,
        n(&date[0..2])?,
        n(&t[0..2])?,
        n(&t[2..4])?,
        n(&t[4..6])?,
        0,
    )
    .ok()
    .and_then(|x| x.to_zoned(jiff::tz::TimeZone::UTC).ok())
    .map(|z| z.timestamp().as_millisecond())
    .ok_or(WialonError::Time)
}

fn opt(v: &str, err: WialonError) -> Result<Option<f64>, WialonError> {
    match v {
        "" | "NA" => Ok(None),
        v => v.parse::<f64>().ok().filter(|x| x.is_finite()).map(Some).ok_or(err),
    }
}

/// One SD or D record (the fields after the packet type, without the checksum).
fn record(msg: &str, now: i64) -> Result<Fix, WialonError> {
    let f: Vec<&str> = msg.split(';').collect();
    if f.len() < 10 {
        return Err(WialonError::Structure);
    }
    let at = moment(f[0], f[1], now)?;
    let (lat, lon) = match (f[2], f[4]) {
        ("NA", _) | (_, "NA") => return Err(WialonError::Coordinates),
        (lat, lon) => (coordinate(lat, f[3], 90.0)?, coordinate(lon, f[5], 180.0)?),
    };
    let mut io = BTreeMap::new();
    let mut accuracy = None;
    if f.len() >= 16 {
        accuracy = opt(f[10], WialonError::Satellites)?;
        for (name, value) in [("inputs", f[11]), ("outputs", f[12]), ("ibutton", f[14])] {
            if !value.is_empty() && value != "NA" {
                io.insert(name.to_string(), Reading::Text(value.chars().take(64).collect()));
            }
        }
        for (i, adc) in f[13]
            .split(',')
            .enumerate()
            .filter(|(_, a)| !a.is_empty() && *a != "NA")
        {
            if let Ok(v) = adc.parse::<f64>() {
                io.insert(format!("adc{}", i + 1), Reading::Number(v));
            }
        }
        for p in f[15].split(',').filter(|p| !p.is_empty() && *p != "NA").take(100) {
            let mut parts = p.splitn(3, ':');
            let (Some(name), Some(kind), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            let reading = match kind {
                "1" | "2" => value.parse::<f64>().ok().filter(|x| x.is_finite()).map(Reading::Number),
                _ => Some(Reading::Text(value.chars().take(200).collect())),
            };
            if let Some(r) = reading {
                io.insert(name.chars().take(64).collect(), r);
            }
        }
    }
    Ok(Fix {
        at,
        lat,
        lon,
        altitude: opt(f[8], WialonError::Motion)?,
        course: opt(f[7], WialonError::Motion)?,
        speed_kmh: opt(f[6], WialonError::Motion)?,
        satellites: opt(f[9], WialonError::Satellites)?.map(|s| s.clamp(0.0, 255.0) as u8),
        accuracy,
        io,
    })
}

#[cfg(test)]
mod tests;
