//! Ogg Opus (RFC 3533, RFC 7845): the audio of Telegram's voice notes and of most browsers'
//! recordings, decoded to 16 kHz mono PCM for Whisper. The Ogg pages are read here; the Opus
//! packets are decoded by `opus-decoder` (pure Rust, RFC 8251 conformant). Pure, no I/O.

use crate::audio::Pcm;
use crate::error::{Result, SpeechError};

/// The rate decoded at: what Whisper takes, so no resampling follows.
const RATE: u32 = 16_000;
/// The longest recording decoded: an hour, as for WAV (a hostile file cannot fill memory).
const MAX_SAMPLES: usize = 3600 * RATE as usize;

fn bad(why: &str) -> SpeechError {
    SpeechError::UnsupportedAudio(format!("Ogg Opus: {why}"))
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

/// Decodes an Ogg Opus file to 16 kHz mono PCM. The decoder is third-party code fed untrusted
/// bytes: a fault in it is this file's refusal, never the worker's end.
pub fn decode(data: &[u8]) -> Result<Pcm> {
    std::panic::catch_unwind(|| decode_unguarded(data)).unwrap_or_else(|_| Err(bad("the decoder failed on this file")))
}

fn decode_unguarded(data: &[u8]) -> Result<Pcm> {
    let packets = packets(data)?;
    let head = packets.first().ok_or_else(|| bad("empty"))?;
    if head.len() < 19 || &head[..8] != b"OpusHead" {
        return Err(bad("the first packet is not OpusHead (not Opus in Ogg)"));
    }
    let channels = usize::from(head[9]);
    let mapping = head[18];
    if !(1..=2).contains(&channels) || mapping != 0 {
        return Err(bad("only mono or stereo Opus is read"));
    }
    // Pre-skip is counted at 48 kHz (RFC 7845 §4.2).
    let pre_skip = usize::from(u16::from_le_bytes([head[10], head[11]])) * RATE as usize / 48_000;
    if packets.get(1).is_none_or(|t| !t.starts_with(b"OpusTags")) {
        return Err(bad("no OpusTags"));
    }
    let mut decoder = opus_decoder::OpusDecoder::new(RATE, 1).map_err(|e| bad(&e.to_string()))?;
    let mut frame = vec![0i16; decoder.max_frame_size_per_channel().max(RATE as usize * 120 / 1000)];
    let mut samples: Vec<i16> = Vec::new();
    for packet in packets.iter().skip(2).filter(|p| !p.is_empty()) {
        let n = decoder
            .decode(packet, &mut frame, false)
            .map_err(|e| bad(&format!("a packet does not decode ({e})")))?;
        samples.extend_from_slice(&frame[..n.min(frame.len())]);
        if samples.len() > MAX_SAMPLES {
            return Err(SpeechError::UnsupportedAudio(
                "the recording is longer than an hour".into(),
            ));
        }
    }
    let skip = pre_skip.min(samples.len());
    samples.drain(..skip);
    Ok(Pcm::new(RATE, samples))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1.5 s of a 440 Hz tone at 16 kHz mono, encoded by opus-tools' opusenc.
    const TONE: &[u8] = include_bytes!("../tests/fixtures/tone-440.opus");

    #[test]
    fn a_tone_decodes_to_its_length_and_pitch() {
        let pcm = decode(TONE).unwrap();
        assert_eq!(pcm.rate, 16_000);
        let ms = pcm.duration_ms();
        assert!((1450..=1600).contains(&ms), "{ms} ms");
        // Zero crossings in the steady middle: 440 Hz crosses zero 880 times a second.
        let mid = &pcm.samples[4000..20000];
        let crossings = mid.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        let hz = crossings as f64 / 2.0 / (mid.len() as f64 / 16_000.0);
        assert!((400.0..480.0).contains(&hz), "{hz} Hz");
        let loud = mid.iter().map(|s| i64::from(*s).abs()).max().unwrap_or(0);
        assert!(loud > 3000, "the tone is there ({loud})");
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
