//! RTP packets (RFC 3550) as far as a G.711 relay needs them, and RFC 4733 telephone-events.
//! Parsing checks every length before reading: a packet is attacker-controlled.

/// A parsed packet, borrowing its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<'a> {
    pub marker: bool,
    pub payload_type: u8,
    pub seq: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub payload: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    #[error("shorter than an RTP header")]
    Short,
    #[error("not RTP version 2")]
    Version,
    #[error("the header's lengths run past the packet")]
    Truncated,
}

pub const HEADER: usize = 12;

pub fn parse(buf: &[u8]) -> Result<Packet<'_>, RtpError> {
    if buf.len() < HEADER {
        return Err(RtpError::Short);
    }
    if buf[0] >> 6 != 2 {
        return Err(RtpError::Version);
    }
    let padding = buf[0] & 0x20 != 0;
    let extension = buf[0] & 0x10 != 0;
    let csrc = (buf[0] & 0x0f) as usize;
    let mut start = HEADER + 4 * csrc;
    if extension {
        let words = buf.get(start + 2..start + 4).ok_or(RtpError::Truncated)?;
        start += 4 + 4 * u16::from_be_bytes([words[0], words[1]]) as usize;
    }
    let mut end = buf.len();
    if padding {
        let pad = *buf.last().ok_or(RtpError::Truncated)? as usize;
        end = end.checked_sub(pad).ok_or(RtpError::Truncated)?;
    }
    if start > end {
        return Err(RtpError::Truncated);
    }
    Ok(Packet {
        marker: buf[1] & 0x80 != 0,
        payload_type: buf[1] & 0x7f,
        seq: u16::from_be_bytes([buf[2], buf[3]]),
        timestamp: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
        ssrc: u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
        payload: &buf[start..end],
    })
}

/// Writes a plain header (no CSRC, extension or padding) and the payload into `out`.
pub fn write(out: &mut Vec<u8>, marker: bool, payload_type: u8, seq: u16, timestamp: u32, ssrc: u32, payload: &[u8]) {
    out.clear();
    out.push(0x80);
    out.push(((marker as u8) << 7) | (payload_type & 0x7f));
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&timestamp.to_be_bytes());
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.extend_from_slice(payload);
}

/// One RFC 4733 telephone-event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// 0–9, 10 `*`, 11 `#`, 12–15 A–D.
    pub code: u8,
    pub end: bool,
    pub duration: u16,
}

impl Event {
    pub fn parse(payload: &[u8]) -> Option<Self> {
        if payload.len() < 4 {
            return None;
        }
        Some(Event {
            code: payload[0],
            end: payload[1] & 0x80 != 0,
            duration: u16::from_be_bytes([payload[2], payload[3]]),
        })
    }

    /// The key pressed, if the event is a key.
    pub fn key(self) -> Option<char> {
        Some(match self.code {
            0..=9 => (b'0' + self.code) as char,
            10 => '*',
            11 => '#',
            12..=15 => (b'A' + self.code - 12) as char,
            _ => return None,
        })
    }
}

/// Turns the stream of telephone-event packets into key presses: one press per event, however
/// many times the sender repeats it (RFC 4733 §2.5.1.4 repeats each packet, end packets three
/// times). Events are told apart by their RTP timestamp.
#[derive(Debug, Default)]
pub struct KeyDetector {
    last: Option<u32>,
}

impl KeyDetector {
    pub fn feed(&mut self, timestamp: u32, payload: &[u8]) -> Option<char> {
        let event = Event::parse(payload)?;
        if self.last == Some(timestamp) {
            return None;
        }
        self.last = Some(timestamp);
        event.key()
    }
}

/// The keys of a SIP INFO body (`application/dtmf-relay`: `Signal=5`, or `application/dtmf`: `5`).
pub fn info_key(body: &str) -> Option<char> {
    let value = body
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            k.trim().eq_ignore_ascii_case("signal").then(|| v.trim())
        })
        .unwrap_or(body.trim());
    let mut chars = value.chars();
    let c = chars.next()?.to_ascii_uppercase();
    (chars.next().is_none() && (c.is_ascii_digit() || "*#ABCD".contains(c))).then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut out = vec![];
        write(&mut out, true, 8, 65535, 160, 0xdead_beef, &[1, 2, 3]);
        let p = parse(&out).unwrap();
        assert!(p.marker);
        assert_eq!(
            (p.payload_type, p.seq, p.timestamp, p.ssrc),
            (8, 65535, 160, 0xdead_beef)
        );
        assert_eq!(p.payload, &[1, 2, 3]);
    }

    #[test]
    fn hostile_lengths_are_refused() {
        assert_eq!(parse(&[0x80; 5]), Err(RtpError::Short));
        assert_eq!(parse(&[0x40; 12]), Err(RtpError::Version));
        // 15 CSRCs announced, none present.
        let mut p = vec![0x8f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(parse(&p), Err(RtpError::Truncated));
        // Extension announced, its header missing.
        p[0] = 0x90;
        assert_eq!(parse(&p), Err(RtpError::Truncated));
        // Padding larger than the packet.
        let mut q = vec![0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200];
        assert_eq!(parse(&q), Err(RtpError::Truncated));
        q[12] = 1;
        assert_eq!(parse(&q).unwrap().payload, &[] as &[u8]);
    }

    #[test]
    fn one_key_per_event_however_repeated() {
        let mut d = KeyDetector::default();
        let five = [5, 0x0a, 0, 160];
        let five_end = [5, 0x8a, 3, 32];
        assert_eq!(d.feed(1000, &five), Some('5'));
        assert_eq!(d.feed(1000, &five), None);
        assert_eq!(d.feed(1000, &five_end), None);
        assert_eq!(d.feed(1000, &five_end), None);
        assert_eq!(d.feed(2000, &[11, 0x8a, 0, 160]), Some('#'));
        assert_eq!(d.feed(3000, &[1, 2]), None);
        assert_eq!(d.feed(4000, &[16, 0, 0, 0]), None, "flash is not a key");
    }

    #[test]
    fn info_bodies() {
        assert_eq!(info_key("Signal=5\r\nDuration=160\r\n"), Some('5'));
        assert_eq!(info_key("signal = #\n"), Some('#'));
        assert_eq!(info_key("7"), Some('7'));
        assert_eq!(info_key("Signal=55"), None);
        assert_eq!(info_key("x"), None);
    }
}
