//! Ogg Opus (RFC 3533, RFC 7845): the audio of Telegram's voice notes and of Firefox's
//! recordings. The Ogg pages are read here; the packets go to [`crate::opus`]. Pure, no I/O.

use crate::audio::Pcm;
use crate::error::{Result, SpeechError};

fn bad(why: &str) -> SpeechError {
    crate::opus::bad("Ogg", why)
}

/// The packets of the first logical stream, in order (a packet may span pages).
fn packets(data: &[u8]) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut partial: Vec<u8> = Vec::new();
    let mut serial: Option<u32> = None;
    let mut at = 0;
    while at < data.len() {
        let page = data.get(at..).ok_or_else(|| bad("truncated"))?;
        if page.len() < 27 || &page[..4] != b"OggS" {
            return Err(bad("not an Ogg page"));
        }
        if page[4] != 0 {
            return Err(bad("unknown Ogg version"));
        }
        let this_serial = u32::from_le_bytes([page[14], page[15], page[16], page[17]]);
        let segments = usize::from(page[26]);
        let table = page.get(27..27 + segments).ok_or_else(|| bad("truncated page"))?;
        let body_len: usize = table.iter().map(|s| usize::from(*s)).sum();
        let body = page
            .get(27 + segments..27 + segments + body_len)
            .ok_or_else(|| bad("truncated page"))?;
        at += 27 + segments + body_len;
        // Only the first stream (a chained or multiplexed file's others are not speech here).
        if *serial.get_or_insert(this_serial) != this_serial {
            continue;
        }
        let mut pos = 0;
        for &len in table {
            let len = usize::from(len);
            partial.extend_from_slice(&body[pos..pos + len]);
            pos += len;
            if len < 255 {
                out.push(std::mem::take(&mut partial));
            }
        }
    }
    Ok(out)
}

/// Decodes an Ogg Opus file to 16 kHz mono PCM.
pub fn decode(data: &[u8]) -> Result<Pcm> {
    let packets = packets(data)?;
    let head = packets.first().ok_or_else(|| bad("empty"))?;
    if head.len() < 19 || &head[..8] != b"OpusHead" {
        return Err(bad("the first packet is not OpusHead (not Opus in Ogg)"));
    }
    if packets.get(1).is_none_or(|t| !t.starts_with(b"OpusTags")) {
        return Err(bad("no OpusTags"));
    }
    crate::opus::decode("Ogg", head, packets.iter().skip(2).map(Vec::as_slice))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1.5 s of a 440 Hz tone at 16 kHz mono, encoded by opus-tools' opusenc.
    const TONE: &[u8] = include_bytes!("../tests/fixtures/tone-440.opus");

    #[test]
    fn a_tone_decodes_to_its_length_and_pitch() {
        crate::opus::tests::is_the_tone(&decode(TONE).unwrap());
    }

    #[test]
    fn broken_and_foreign_files_are_refused_not_panicked() {
        assert!(decode(b"").is_err());
        assert!(decode(b"RIFF....WAVE").is_err());
        assert!(decode(&TONE[..TONE.len() / 2]).is_err(), "truncated");
        let mut corrupt = TONE.to_vec();
        for b in corrupt.iter_mut().skip(200).step_by(7) {
            *b ^= 0x5a;
        }
        let _ = decode(&corrupt); // any answer but a panic
                                  // Vorbis in Ogg is not Opus.
        let mut vorbis = TONE.to_vec();
        if let Some(i) = vorbis.windows(8).position(|w| w == b"OpusHead") {
            vorbis[i..i + 8].copy_from_slice(b"\x01vorbis\0");
        }
        assert!(decode(&vorbis).is_err());
    }
}
