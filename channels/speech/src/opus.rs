//! Opus packets (RFC 6716) to 16 kHz mono PCM for Whisper, whatever carried them (Ogg for
//! Telegram's voice notes, WebM for browsers' recordings). The packets are decoded by
//! `opus-decoder` (pure Rust, RFC 8251 conformant). Pure, no I/O.

use crate::audio::Pcm;
use crate::error::{Result, SpeechError};

/// The rate decoded at: what Whisper takes, so no resampling follows.
pub(crate) const RATE: u32 = 16_000;
/// The longest recording decoded: an hour, as for WAV (a hostile file cannot fill memory).
const MAX_SAMPLES: usize = 3600 * RATE as usize;

pub(crate) fn bad(container: &str, why: &str) -> SpeechError {
    SpeechError::UnsupportedAudio(format!("{container} Opus: {why}"))
}

/// Decodes a stream given its `OpusHead` (RFC 7845 §5.1: the Ogg identification header, which
/// WebM carries as the track's CodecPrivate) and its audio packets. The decoder is third-party
/// code fed untrusted bytes: a fault in it is this file's refusal, never the worker's end.
pub(crate) fn decode<'a>(container: &str, head: &[u8], packets: impl IntoIterator<Item = &'a [u8]>) -> Result<Pcm> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        decode_unguarded(container, head, packets)
    }))
    .unwrap_or_else(|_| Err(bad(container, "the decoder failed on this file")))
}

fn decode_unguarded<'a>(container: &str, head: &[u8], packets: impl IntoIterator<Item = &'a [u8]>) -> Result<Pcm> {
    if head.len() < 19 || &head[..8] != b"OpusHead" {
        return Err(bad(container, "no OpusHead (not Opus)"));
    }
    let channels = usize::from(head[9]);
    let mapping = head[18];
    if !(1..=2).contains(&channels) || mapping != 0 {
        return Err(bad(container, "only mono or stereo Opus is read"));
    }
    // Pre-skip is counted at 48 kHz (RFC 7845 §4.2).
    let pre_skip = usize::from(u16::from_le_bytes([head[10], head[11]])) * RATE as usize / 48_000;
    let mut decoder = opus_decoder::OpusDecoder::new(RATE, 1).map_err(|e| bad(container, &e.to_string()))?;
    let mut frame = vec![0i16; decoder.max_frame_size_per_channel().max(RATE as usize * 120 / 1000)];
    let mut samples: Vec<i16> = Vec::new();
    for packet in packets.into_iter().filter(|p| !p.is_empty()) {
        let n = decoder
            .decode(packet, &mut frame, false)
            .map_err(|e| bad(container, &format!("a packet does not decode ({e})")))?;
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
pub(crate) mod tests {
    use crate::audio::Pcm;

    /// The fixtures are 1.5 s of a 440 Hz tone: checks length, pitch and loudness.
    pub(crate) fn is_the_tone(pcm: &Pcm) {
        assert_eq!(pcm.rate, 16_000);
        let ms = pcm.duration_ms();
        assert!((1400..=1650).contains(&ms), "{ms} ms");
        // Zero crossings in the steady middle: 440 Hz crosses zero 880 times a second.
        let mid = &pcm.samples[4000..20000];
        let crossings = mid.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        let hz = crossings as f64 / 2.0 / (mid.len() as f64 / 16_000.0);
        assert!((400.0..480.0).contains(&hz), "{hz} Hz");
        let loud = mid.iter().map(|s| i64::from(*s).abs()).max().unwrap_or(0);
        assert!(loud > 3000, "the tone is there ({loud})");
    }
}
