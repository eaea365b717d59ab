//! The server's side of RFC 6455 framing: what the hub writes. A server's frames are not masked,
//! so a frame's payload is the message itself and is shared, not copied, by every socket that
//! sends it: a socket writes a few bytes of header of its own, then the shared payload.

use actix_http::ws::{CloseReason, OpCode};
use bytes::{BufMut, Bytes, BytesMut};

/// The longest header a server frame has: two bytes, then a 64-bit length.
pub const MAX_HEAD: usize = 10;

/// A frame's header, kept inline beside its shared payload.
#[derive(Clone, Copy)]
pub struct Head {
    bytes: [u8; MAX_HEAD],
    len: u8,
}

impl Head {
    /// The header of a final, unmasked frame of `op` carrying `len` bytes.
    pub fn new(op: OpCode, len: usize) -> Self {
        let mut bytes = [0u8; MAX_HEAD];
        bytes[0] = 0x80 | u8::from(op);
        let n = if len < 126 {
            bytes[1] = len as u8;
            2
        } else if let Ok(short) = u16::try_from(len) {
            bytes[1] = 126;
            bytes[2..4].copy_from_slice(&short.to_be_bytes());
            4
        } else {
            bytes[1] = 127;
            bytes[2..10].copy_from_slice(&(len as u64).to_be_bytes());
            10
        };
        Self { bytes, len: n }
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

/// A close frame's payload: the code, then as much of the reason as a control frame may carry
/// (125 bytes in all), cut on a character boundary.
pub fn close_payload(reason: Option<&CloseReason>) -> Bytes {
    let Some(r) = reason else { return Bytes::new() };
    let mut out = BytesMut::with_capacity(125);
    out.put_u16(u16::from(r.code));
    if let Some(text) = &r.description {
        let mut end = text.len().min(123);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        out.put_slice(&text.as_bytes()[..end]);
    }
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_codec::Decoder;
    use actix_http::ws::{CloseCode, Codec, Frame};

    /// What a client reads: the header and payload through the client side of a real codec.
    fn read_back(op: OpCode, payload: &[u8]) -> Frame {
        let mut wire = BytesMut::new();
        wire.extend_from_slice(Head::new(op, payload.len()).as_slice());
        wire.extend_from_slice(payload);
        let frame = Codec::new()
            .client_mode()
            .max_size(1 << 20)
            .decode(&mut wire)
            .ok()
            .flatten();
        assert!(wire.is_empty(), "one frame, nothing left over");
        frame.unwrap_or(Frame::Close(None))
    }

    #[test]
    fn every_length_class_reads_back() {
        for len in [0usize, 1, 125, 126, 127, 65_535, 65_536, 300_000] {
            let payload = vec![b'x'; len];
            match read_back(OpCode::Text, &payload) {
                Frame::Text(t) => assert_eq!(t.len(), len),
                other => panic!("{len}: read back as {other:?}"),
            }
        }
    }

    #[test]
    fn a_close_reason_fits_a_control_frame_and_stays_text() {
        let long = "я".repeat(100);
        let payload = close_payload(Some(&CloseReason {
            code: CloseCode::Again,
            description: Some(long),
        }));
        assert!(payload.len() <= 125);
        match read_back(OpCode::Close, &payload) {
            Frame::Close(Some(r)) => {
                assert_eq!(r.code, CloseCode::Again);
                assert!(r.description.is_some_and(|d| d.chars().all(|c| c == 'я')));
            }
            other => panic!("read back as {other:?}"),
        }
        assert!(close_payload(None).is_empty());
    }
}
