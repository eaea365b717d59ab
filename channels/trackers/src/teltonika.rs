//! Teltonika's TCP protocol, Codec 8 (0x08) and Codec 8 Extended (0x8E), as Teltonika's "Codec"
//! documentation gives it:
//! - the device opens with its IMEI: two bytes of length, then the IMEI in ASCII digits; the
//!   server answers `ACCEPT` (0x01) or `REFUSE` (0x00);
//! - then AVL packets: four zero bytes, the data's length (4 bytes), the codec, the number of
//!   records, the records, the number again, and a CRC-16/IBM of the data from the codec to the
//!   second number (4 bytes, the upper two zero). The server answers the number of records it
//!   took as a 4-byte integer (`ack`), once they are stored: a device keeps what is not
//!   acknowledged and sends it again.
//!
//! A record: its moment (milliseconds, 8 bytes), priority, longitude and latitude (signed,
//! × 10⁷), altitude (signed metres), course, satellites, speed (km/h), then its IO elements by
//! size (1, 2, 4, 8 bytes; Codec 8E adds elements of any length), Codec 8 with one-byte ids and
//! counts, 8E with two-byte ones.

use crate::{Fix, Reading};

pub const ACCEPT: u8 = 0x01;
pub const REFUSE: u8 = 0x00;
pub const CODEC_8: u8 = 0x08;
pub const CODEC_8E: u8 = 0x8E;

/// A packet's data beyond this is not a tracker's (Teltonika's devices send at most a few KB).
pub const MAX_DATA: u32 = 64 * 1024;
/// An IMEI is 15 digits; some devices pad or shorten: 8 to 20 are taken.
const IMEI_DIGITS: std::ops::RangeInclusive<usize> = 8..=20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("the hand-shake is not an IMEI (2 bytes of length, then 8 to 20 ASCII digits)")]
    Imei,
    #[error("an AVL packet begins with four zero bytes")]
    Preamble,
    #[error("a data length of {0} bytes is out of bounds")]
    Length(u32),
    #[error("codec {0:#04x} is not Codec 8 or 8 Extended")]
    Codec(u8),
    #[error("the record counts disagree ({0} and {1})")]
    Counts(u8, u8),
    #[error("the CRC says {got:#06x}, the data {want:#06x}")]
    Crc { got: u32, want: u16 },
    #[error("a record runs past the end of the data")]
    Truncated,
    #[error("the records end {0} bytes before the data does")]
    Trailing(usize),
}

/// CRC-16/IBM (ARC): polynomial 0x8005 reflected (0xA001), initial value 0.
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for b in data {
        crc ^= u16::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xA001 } else { crc >> 1 };
        }
    }
    crc
}

/// The IMEI hand-shake at the start of `buf`: None while it is incomplete, else the IMEI and the
/// bytes it took.
pub fn imei(buf: &[u8]) -> Result<Option<(String, usize)>, FrameError> {
    let Some(len) = buf.get(..2).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]]))) else {
        return Ok(None);
    };
    if !IMEI_DIGITS.contains(&len) {
        return Err(FrameError::Imei);
    }
    let Some(digits) = buf.get(2..2 + len) else {
        return Ok(None);
    };
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err(FrameError::Imei);
    }
    Ok(Some((String::from_utf8_lossy(digits).into_owned(), 2 + len)))
}

/// The hand-shake a device sends first: the IMEI's length in two bytes, then its digits.
pub fn imei_frame(imei: &str) -> Vec<u8> {
    let mut out = (imei.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(imei.as_bytes());
    out
}

/// A Codec 8 packet carrying `fixes` as a device sends them (position, height, course,
/// satellites and speed; no IO elements): what simulators, the replay tests and the benchmark
/// send. At most 255 fixes a packet.
pub fn codec8(fixes: &[Fix]) -> Vec<u8> {
    let n = fixes.len().min(255) as u8;
    let mut data = vec![CODEC_8, n];
    for f in &fixes[..usize::from(n)] {
        data.extend_from_slice(&(f.at as u64).to_be_bytes());
        data.push(0);
        data.extend_from_slice(&((f.lon * 1e7).round() as i32).to_be_bytes());
        data.extend_from_slice(&((f.lat * 1e7).round() as i32).to_be_bytes());
        data.extend_from_slice(&(f.altitude.unwrap_or(0.0).round() as i16).to_be_bytes());
        data.extend_from_slice(&(f.course.unwrap_or(0.0).round() as u16).to_be_bytes());
        data.push(f.satellites.unwrap_or(0));
        data.extend_from_slice(&(f.speed_kmh.unwrap_or(0.0).round() as u16).to_be_bytes());
        // Event IO 0, no elements of any size.
        data.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    }
    data.push(n);
    let mut out = vec![0, 0, 0, 0];
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(&data);
    out.extend_from_slice(&u32::from(crc16(&data)).to_be_bytes());
    out
}

/// The answer to a packet whose `n` records are stored.
pub fn ack(n: usize) -> [u8; 4] {
    u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes()
}

#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    pub codec: u8,
    pub records: Vec<Record>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub fix: Fix,
    pub priority: u8,
    /// The IO element that made the device send this record (0: none, a periodic record).
    pub event_io: u16,
}

/// The AVL packet at the start of `buf`: None while it is incomplete, else the packet and the
/// bytes it took. A packet that cannot be read is refused whole (its records are not
/// acknowledged, so a device that sent it in good faith sends it again).
pub fn packet(buf: &[u8]) -> Result<Option<(Packet, usize)>, FrameError> {
    if buf.iter().take(4).any(|b| *b != 0) {
        return Err(FrameError::Preamble);
    }
    let Some(head) = buf.get(..8) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    if !(3..=MAX_DATA).contains(&len) {
        return Err(FrameError::Length(len));
    }
    let len = len as usize;
    let total = 8 + len + 4;
    let Some(frame) = buf.get(..total) else {
        return Ok(None);
    };
    let data = &frame[8..8 + len];
    let got = u32::from_be_bytes([frame[8 + len], frame[9 + len], frame[10 + len], frame[11 + len]]);
    let want = crc16(data);
    if got != u32::from(want) {
        return Err(FrameError::Crc { got, want });
    }
    let codec = data[0];
    if codec != CODEC_8 && codec != CODEC_8E {
        return Err(FrameError::Codec(codec));
    }
    let (first, last) = (data[1], data[len - 1]);
    if first != last {
        return Err(FrameError::Counts(first, last));
    }
    let mut r = Reader {
        data: &data[2..len - 1],
        at: 0,
    };
    let mut records = Vec::with_capacity(usize::from(first));
    for _ in 0..first {
        records.push(record(&mut r, codec == CODEC_8E)?);
    }
    if r.at != r.data.len() {
        return Err(FrameError::Trailing(r.data.len() - r.at));
    }
    Ok(Some((Packet { codec, records }, total)))
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], FrameError> {
        let b = self.data.get(self.at..self.at + n).ok_or(FrameError::Truncated)?;
        self.at += n;
        Ok(b)
    }
    fn uint(&mut self, n: usize) -> Result<u64, FrameError> {
        Ok(self.take(n)?.iter().fold(0u64, |v, b| (v << 8) | u64::from(*b)))
    }
    /// A one-byte field in Codec 8, two bytes in 8 Extended.
    fn small(&mut self, wide: bool) -> Result<u16, FrameError> {
        Ok(self.uint(if wide { 2 } else { 1 })? as u16)
    }
}

fn record(r: &mut Reader, wide: bool) -> Result<Record, FrameError> {
    let at = r.uint(8)? as i64;
    let priority = r.uint(1)? as u8;
    let lon = f64::from(r.uint(4)? as u32 as i32) / 1e7;
    let lat = f64::from(r.uint(4)? as u32 as i32) / 1e7;
    let altitude = f64::from(r.uint(2)? as u16 as i16);
    let course = f64::from(r.uint(2)? as u16);
    let satellites = r.uint(1)? as u8;
    let speed = f64::from(r.uint(2)? as u16);
    let event_io = r.small(wide)?;
    let _total = r.small(wide)?;
    let mut io = std::collections::BTreeMap::new();
    for size in [1usize, 2, 4, 8] {
        for _ in 0..r.small(wide)? {
            let id = r.small(wide)?;
            let v = r.uint(size)?;
            // Past 2^53 a number is an identifier (an iButton's), not a measure: kept exact.
            let reading = if v < (1u64 << 53) {
                Reading::Number(v as f64)
            } else {
                Reading::Bytes(format!("{v:016x}"))
            };
            io.insert(id.to_string(), reading);
        }
    }
    if wide {
        for _ in 0..r.uint(2)? {
            let id = r.uint(2)?;
            let n = r.uint(2)? as usize;
            io.insert(id.to_string(), Reading::Bytes(hex::encode(r.take(n)?)));
        }
    }
    Ok(Record {
        fix: Fix {
            at,
            lat,
            lon,
            altitude: Some(altitude),
            course: Some(course),
            speed_kmh: Some(speed),
            satellites: Some(satellites),
            accuracy: None,
            io,
        },
        priority,
        event_io,
    })
}

#[cfg(test)]
mod tests;
