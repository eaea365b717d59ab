//! The part of SDP (RFC 4566) a voice call needs: the peer's address and port, the G.711 law and
//! the telephone-event payload type it offers, and the direction (hold). Answers pick PCMU, then
//! PCMA; anything else is refused, since the hub only speaks G.711.

use std::net::{IpAddr, SocketAddr};

/// The G.711 law of a call, with its static payload type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Pcmu,
    Pcma,
}

impl Codec {
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    fn from_payload_type(pt: u8) -> Option<Self> {
        match pt {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn attr(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// What the answerer says to this offer's direction.
    pub fn answer(self) -> Self {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }

    /// An offer that puts the other side on hold (RFC 3264 §8.4).
    pub fn is_hold(self) -> bool {
        matches!(self, Direction::SendOnly | Direction::Inactive)
    }
}

/// What a peer's SDP says about its audio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// Where it wants our RTP (its own address until symmetric RTP learns better).
    pub addr: SocketAddr,
    /// The laws it accepts, in its order of preference.
    pub codecs: Vec<Codec>,
    /// The payload type of telephone-event/8000, if offered.
    pub telephone_event: Option<u8>,
    pub direction: Direction,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SdpError {
    #[error("the session description is not UTF-8")]
    NotText,
    #[error("the session description has no audio stream")]
    NoAudio,
    #[error("the session description has no usable connection address")]
    NoAddress,
    #[error("the audio stream offers neither PCMU nor PCMA")]
    NoCodec,
    #[error("malformed line in the session description: {0}")]
    Malformed(String),
}

/// Parses a peer's offer or answer. Only the first audio stream counts; a port of 0 (a declined
/// stream) counts as no audio.
pub fn parse(body: &[u8]) -> Result<Media, SdpError> {
    let text = std::str::from_utf8(body).map_err(|_| SdpError::NotText)?;
    let mut session_addr: Option<IpAddr> = None;
    let mut media_addr: Option<IpAddr> = None;
    let mut port: Option<u16> = None;
    let mut formats: Vec<u8> = vec![];
    let mut in_audio = false;
    let mut seen_audio = false;
    let mut telephone_event = None;
    let mut direction = Direction::SendRecv;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        let Some((kind, value)) = line.split_once('=') else {
            if line.trim().is_empty() {
                continue;
            }
            return Err(SdpError::Malformed(line.chars().take(60).collect()));
        };
        match kind {
            "m" => {
                let mut parts = value.split_ascii_whitespace();
                let media = parts.next().unwrap_or("");
                in_audio = media == "audio" && !seen_audio;
                if in_audio {
                    seen_audio = true;
                    port = parts.next().and_then(|p| p.split('/').next()?.parse().ok());
                    let _proto = parts.next();
                    formats = parts.filter_map(|f| f.parse().ok()).collect();
                }
            }
            "c" => {
                let addr = value
                    .split_ascii_whitespace()
                    .nth(2)
                    .and_then(|a| a.split('/').next()?.parse::<IpAddr>().ok());
                if seen_audio {
                    if in_audio {
                        media_addr = addr;
                    }
                } else {
                    session_addr = addr;
                }
            }
            "a" if !seen_audio || in_audio => {
                let (name, arg) = value.split_once(':').unwrap_or((value, ""));
                match name {
                    "sendrecv" => direction = Direction::SendRecv,
                    "sendonly" => direction = Direction::SendOnly,
                    "recvonly" => direction = Direction::RecvOnly,
                    "inactive" => direction = Direction::Inactive,
                    "rtpmap" if in_audio => {
                        let mut p = arg.split_ascii_whitespace();
                        let pt: Option<u8> = p.next().and_then(|s| s.parse().ok());
                        let enc = p.next().unwrap_or("").to_ascii_lowercase();
                        if enc.starts_with("telephone-event/8000") && telephone_event.is_none() {
                            telephone_event = pt;
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    if !seen_audio || port.unwrap_or(0) == 0 {
        return Err(SdpError::NoAudio);
    }
    let ip = media_addr.or(session_addr).ok_or(SdpError::NoAddress)?;
    let codecs: Vec<Codec> = formats.iter().filter_map(|&f| Codec::from_payload_type(f)).collect();
    if codecs.is_empty() {
        return Err(SdpError::NoCodec);
    }
    // A telephone-event type must also be listed on the m= line.
    let telephone_event = telephone_event.filter(|pt| formats.contains(pt));
    Ok(Media {
        addr: SocketAddr::new(ip, port.unwrap_or(0)),
        codecs,
        telephone_event,
        direction,
    })
}

/// The payload type the hub offers for telephone-events.
pub const OFFERED_TELEPHONE_EVENT: u8 = 101;

/// Our side of the session: the address and port of our RTP socket, the laws we list and our
/// telephone-event payload type.
pub struct Local {
    pub addr: SocketAddr,
    pub session_id: u64,
    pub version: u64,
}

/// An offer (to an operator's phone): the given laws, telephone-event on 101.
pub fn offer(local: &Local, codecs: &[Codec], direction: Direction) -> String {
    build(local, codecs, Some(OFFERED_TELEPHONE_EVENT), direction)
}

/// The answer to `peer`'s offer: its first G.711 law and its own telephone-event type.
pub fn answer(local: &Local, peer: &Media) -> String {
    build(local, &peer.codecs[..1], peer.telephone_event, peer.direction.answer())
}

/// The answer to a re-offer (hold, resume) on a leg already running: its law, its event type,
/// and the direction that answers the offer's.
pub fn build_answer_for(
    addr: SocketAddr,
    session_id: u64,
    codec: Codec,
    telephone_event: Option<u8>,
    offered: Direction,
) -> String {
    let local = Local {
        addr,
        session_id,
        version: 2,
    };
    build(&local, &[codec], telephone_event, offered.answer())
}

fn build(local: &Local, codecs: &[Codec], te: Option<u8>, direction: Direction) -> String {
    let ip = local.addr.ip();
    let family = if ip.is_ipv6() { "IP6" } else { "IP4" };
    let mut formats: Vec<String> = codecs.iter().map(|c| c.payload_type().to_string()).collect();
    if let Some(te) = te {
        formats.push(te.to_string());
    }
    let mut s = format!(
        "v=0\r\no=hub {} {} IN {family} {ip}\r\ns=hub\r\nc=IN {family} {ip}\r\nt=0 0\r\nm=audio {} RTP/AVP {}\r\n",
        local.session_id,
        local.version,
        local.addr.port(),
        formats.join(" ")
    );
    for c in codecs {
        s.push_str(&format!("a=rtpmap:{} {}/8000\r\n", c.payload_type(), c.name()));
    }
    if let Some(te) = te {
        s.push_str(&format!("a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} 0-15\r\n"));
    }
    s.push_str(&format!("a=ptime:20\r\na={}\r\n", direction.attr()));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIPP: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n\
        t=0 0\r\nm=audio 6000 RTP/AVP 8 0 96\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:96 telephone-event/8000\r\n";

    #[test]
    fn reads_sipp_offer() {
        let m = parse(SIPP.as_bytes()).unwrap();
        assert_eq!(m.addr, "127.0.0.1:6000".parse().unwrap());
        assert_eq!(m.codecs, vec![Codec::Pcma, Codec::Pcmu]);
        assert_eq!(m.telephone_event, Some(96));
        assert_eq!(m.direction, Direction::SendRecv);
    }

    #[test]
    fn answer_mirrors_law_and_event_type() {
        let m = parse(SIPP.as_bytes()).unwrap();
        let local = Local {
            addr: "10.0.0.1:20000".parse().unwrap(),
            session_id: 1,
            version: 1,
        };
        let a = answer(&local, &m);
        assert!(a.contains("m=audio 20000 RTP/AVP 8 96\r\n"), "{a}");
        assert!(a.contains("a=rtpmap:96 telephone-event/8000"));
        let back = parse(a.as_bytes()).unwrap();
        assert_eq!(back.codecs, vec![Codec::Pcma]);
        assert_eq!(back.addr, local.addr);
    }

    #[test]
    fn media_level_address_wins_and_hold_is_seen() {
        let s = "v=0\r\nc=IN IP4 1.1.1.1\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP4 2.2.2.2\r\na=sendonly\r\n";
        let m = parse(s.as_bytes()).unwrap();
        assert_eq!(m.addr, "2.2.2.2:4000".parse().unwrap());
        assert!(m.direction.is_hold());
        assert_eq!(m.direction.answer(), Direction::RecvOnly);
        assert_eq!(m.telephone_event, None);
    }

    #[test]
    fn refuses_what_it_cannot_speak() {
        let opus = "v=0\r\nc=IN IP4 1.1.1.1\r\nm=audio 4000 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n";
        assert_eq!(parse(opus.as_bytes()), Err(SdpError::NoCodec));
        assert_eq!(parse(b"v=0\r\nc=IN IP4 1.1.1.1\r\n"), Err(SdpError::NoAudio));
        assert_eq!(parse(b"v=0\r\nm=audio 4000 RTP/AVP 0\r\n"), Err(SdpError::NoAddress));
        assert_eq!(
            parse(b"v=0\r\nc=IN IP4 1.1.1.1\r\nm=audio 0 RTP/AVP 0\r\n"),
            Err(SdpError::NoAudio)
        );
        assert_eq!(parse(&[0xff, 0xfe]), Err(SdpError::NotText));
        assert!(matches!(parse(b"garbage"), Err(SdpError::Malformed(_))));
    }
}
