//! Audio in the shapes the hub's consumers need: 16-bit mono PCM inside, WAV for browsers and
//! for stored recordings, 8 kHz G.711 (μ-law and A-law) frames for SIP, 16 kHz float samples
//! for Whisper. Pure functions, no I/O.

use crate::error::{Result, SpeechError};

/// Mono 16-bit PCM at a sample rate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pcm {
    pub rate: u32,
    pub samples: Vec<i16>,
}

impl Pcm {
    pub fn new(rate: u32, samples: Vec<i16>) -> Self {
        Self { rate, samples }
    }

    pub fn duration_ms(&self) -> u64 {
        if self.rate == 0 {
            return 0;
        }
        self.samples.len() as u64 * 1000 / u64::from(self.rate)
    }

    /// Samples as Whisper takes them: f32 in [-1, 1] at 16 kHz.
    pub fn to_whisper(&self) -> Vec<f32> {
        resample(&self.samples, self.rate, 16_000)
            .into_iter()
            .map(|s| f32::from(s) / 32768.0)
            .collect()
    }
}

/// The largest WAV the hub reads: about an hour of 16 kHz mono (a longer recording is refused
/// before it is decoded, so a hostile upload cannot fill memory).
pub const MAX_WAV_BYTES: usize = 3600 * 16_000 * 2 + 4096;

/// Encodes PCM as a canonical 44-byte-header WAV (RIFF, PCM 16-bit mono).
pub fn wav(pcm: &Pcm) -> Vec<u8> {
    let data_len = (pcm.samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&pcm.rate.to_le_bytes());
    out.extend_from_slice(&(pcm.rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in &pcm.samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

/// Decodes a WAV file: PCM 8/16/24/32-bit or IEEE float 32-bit, any rate, any channel count
/// (mixed down to mono). Anything else is a clear `UnsupportedAudio`.
pub fn read_wav(bytes: &[u8]) -> Result<Pcm> {
    if bytes.len() > MAX_WAV_BYTES {
        return Err(SpeechError::AudioTooLong(MAX_WAV_BYTES as u64 / 32_000));
    }
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(SpeechError::UnsupportedAudio(sniff(bytes).into()));
    }
    let mut pos = 12;
    let mut fmt: Option<(u16, u16, u32, u16)> = None;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let len = u32::from_le_bytes([bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]]) as usize;
        let body = pos + 8;
        // A streamed WAV (a browser's recorder, a pipe) may carry 0 or 0xFFFFFFFF as the data
        // length: read to the end.
        let end = body.saturating_add(len).min(bytes.len());
        if id == b"fmt " {
            if end < body + 16 {
                return Err(SpeechError::UnsupportedAudio("WAV with a short fmt chunk".into()));
            }
            let b = &bytes[body..end];
            let mut format = u16::from_le_bytes([b[0], b[1]]);
            let channels = u16::from_le_bytes([b[2], b[3]]);
            let rate = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
            let bits = u16::from_le_bytes([b[14], b[15]]);
            if format == 0xFFFE && b.len() >= 26 {
                // WAVE_FORMAT_EXTENSIBLE: the sub-format's first two bytes are the real code.
                format = u16::from_le_bytes([b[24], b[25]]);
            }
            fmt = Some((format, channels, rate, bits));
        } else if id == b"data" {
            let (format, channels, rate, bits) =
                fmt.ok_or_else(|| SpeechError::UnsupportedAudio("WAV without a fmt chunk".into()))?;
            let end = if len == 0 || len == u32::MAX as usize {
                bytes.len()
            } else {
                end
            };
            return decode_samples(&bytes[body..end], format, channels, rate, bits);
        }
        pos = body.saturating_add(len + (len & 1));
    }
    Err(SpeechError::UnsupportedAudio("WAV without a data chunk".into()))
}

fn decode_samples(data: &[u8], format: u16, channels: u16, rate: u32, bits: u16) -> Result<Pcm> {
    if channels == 0 || !(4000..=192_000).contains(&rate) {
        return Err(SpeechError::UnsupportedAudio(format!(
            "WAV with {channels} channels at {rate} Hz"
        )));
    }
    if (format, bits, channels) == (1, 16, 1) {
        let samples = data.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
        return Ok(Pcm::new(rate, samples));
    }
    let width = usize::from(bits / 8);
    if width == 0 {
        return Err(SpeechError::UnsupportedAudio(format!(
            "WAV format {format} with {bits}-bit samples (PCM, float, A-law and μ-law are read)"
        )));
    }
    let frame = width * usize::from(channels);
    let sample: fn(&[u8]) -> f32 = match (format, bits) {
        (1, 8) => |b| (f32::from(b[0]) - 128.0) / 128.0,
        (1, 16) => |b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0,
        (1, 24) => |b| (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 / 8_388_608.0,
        (1, 32) => |b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 / 2_147_483_648.0,
        (3, 32) => |b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        (6, 8) => |b| f32::from(alaw_decode(b[0])) / 32768.0,
        (7, 8) => |b| f32::from(ulaw_decode(b[0])) / 32768.0,
        _ => {
            return Err(SpeechError::UnsupportedAudio(format!(
                "WAV format {format} with {bits}-bit samples (PCM, float, A-law and μ-law are read)"
            )))
        }
    };
    let samples = data
        .chunks_exact(frame)
        .map(|f| {
            let sum: f32 = f.chunks_exact(width).map(sample).sum();
            let v = (sum / f32::from(channels)).clamp(-1.0, 1.0);
            (v * 32768.0).clamp(-32768.0, 32767.0) as i16
        })
        .collect();
    Ok(Pcm::new(rate, samples))
}

/// A stored recording as PCM, by its type: WAV (the widget's own recorder), Ogg Opus
/// (Telegram's voice notes, Firefox) and WebM Opus (Chromium's and Safari's MediaRecorder).
pub fn read_recording(mime: &str, data: &[u8]) -> Result<Pcm> {
    let base = mime.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match base.as_str() {
        "audio/wav" | "audio/x-wav" | "audio/wave" | "audio/vnd.wave" => read_wav(data),
        "audio/ogg" | "audio/opus" | "application/ogg" => crate::ogg::decode(data),
        "audio/webm" | "video/webm" => crate::webm::decode(data),
        other => Err(SpeechError::UnsupportedAudio(format!(
            "{other} (WAV, Ogg Opus and WebM Opus recordings are transcribed)"
        ))),
    }
}

/// A recording of unknown type (a file given on the command line), known by its first bytes.
pub fn read_any(data: &[u8]) -> Result<Pcm> {
    if data.starts_with(b"OggS") {
        crate::ogg::decode(data)
    } else if data.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        crate::webm::decode(data)
    } else {
        read_wav(data)
    }
}

/// What a refused file looks like, for the error message.
fn sniff(bytes: &[u8]) -> &'static str {
    match bytes {
        [] => "empty audio",
        [b'O', b'g', b'g', b'S', ..] => "Ogg audio (read as Ogg Opus)",
        [0x1A, 0x45, 0xDF, 0xA3, ..] => "WebM audio (read as WebM Opus)",
        [b'I', b'D', b'3', ..] | [0xFF, 0xFB, ..] => "MP3 audio (only WAV, Ogg Opus and WebM Opus are read)",
        [_, _, _, _, b'f', b't', b'y', b'p', ..] => "MP4 audio (only WAV, Ogg Opus and WebM Opus are read)",
        _ => "not a WAV file",
    }
}

/// Band-limited resampling: a windowed-sinc low-pass at the lower Nyquist frequency, evaluated
/// at each output instant. 16 taps each side is plenty for speech.
pub fn resample(input: &[i16], from: u32, to: u32) -> Vec<i16> {
    if from == to || input.is_empty() || from == 0 || to == 0 {
        return input.to_vec();
    }
    const HALF: i64 = 16;
    let ratio = f64::from(to) / f64::from(from);
    let cutoff = ratio.min(1.0) * 0.95;
    let out_len = (input.len() as f64 * ratio).floor() as usize;
    let mut out = Vec::with_capacity(out_len);
    for n in 0..out_len {
        let t = n as f64 / ratio;
        let centre = t.floor() as i64;
        let mut acc = 0.0;
        let mut norm = 0.0;
        for k in (centre - HALF + 1)..=(centre + HALF) {
            if k < 0 || k as usize >= input.len() {
                continue;
            }
            let x = t - k as f64;
            let sinc = if x.abs() < 1e-9 {
                1.0
            } else {
                let a = std::f64::consts::PI * x * cutoff;
                a.sin() / a
            };
            // Hann window over the kernel's span.
            let w = 0.5 + 0.5 * (std::f64::consts::PI * x / HALF as f64).cos();
            let c = sinc * w;
            acc += f64::from(input[k as usize]) * c;
            norm += c;
        }
        let v = if norm.abs() > 1e-9 { acc / norm } else { 0.0 };
        out.push(v.round().clamp(-32768.0, 32767.0) as i16);
    }
    out
}

/// G.711 μ-law of one sample (ITU-T G.711, with the usual bias of 0x84).
pub fn ulaw_encode(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32635;
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = s.min(CLIP) + BIAS;
    let exponent = (7 - (s.leading_zeros() as i32 - 17)).clamp(0, 7);
    let mantissa = (s >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) | mantissa) as u8
}

pub fn ulaw_decode(byte: u8) -> i16 {
    let b = !byte;
    let sign = b & 0x80;
    let exponent = i32::from((b >> 4) & 0x07);
    let mantissa = i32::from(b & 0x0F);
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    (if sign != 0 { -magnitude } else { magnitude }) as i16
}

/// G.711 A-law of one sample.
pub fn alaw_encode(sample: i16) -> u8 {
    let mut s = i32::from(sample) >> 3; // 13-bit magnitude
    let sign = if s >= 0 {
        0x80
    } else {
        s = -s - 1;
        0
    };
    let s = s.min(0x0FFF);
    let code = if s < 32 {
        s >> 1
    } else {
        let exponent = 31 - (s as u32).leading_zeros() as i32 - 4; // 1..=7
        (exponent << 4) | ((s >> exponent) & 0x0F)
    };
    ((sign | code) ^ 0x55) as u8
}

pub fn alaw_decode(byte: u8) -> i16 {
    let b = i32::from(byte ^ 0x55);
    let exponent = (b >> 4) & 0x07;
    let mantissa = b & 0x0F;
    let magnitude = if exponent == 0 {
        (mantissa << 4) + 8
    } else {
        ((mantissa << 4) + 0x108) << (exponent - 1)
    };
    (if b & 0x80 != 0 { magnitude } else { -magnitude }) as i16
}

/// The two G.711 laws SIP negotiates (RTP payload types 0 and 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum G711 {
    Pcmu,
    Pcma,
}

/// 20 ms samples at 8 kHz: one RTP packet of G.711.
pub const G711_FRAME: usize = 160;

/// 8 kHz G.711 bytes of the PCM, padded with silence to whole 20 ms frames.
pub fn g711(pcm: &Pcm, law: G711) -> Vec<u8> {
    let mut narrow = resample(&pcm.samples, pcm.rate, 8000);
    let pad = (G711_FRAME - narrow.len() % G711_FRAME) % G711_FRAME;
    narrow.extend(std::iter::repeat_n(0, pad));
    let encode = match law {
        G711::Pcmu => ulaw_encode,
        G711::Pcma => alaw_encode,
    };
    narrow.into_iter().map(encode).collect()
}

/// Cuts leading and trailing near-silence, keeping a few milliseconds so words are not clipped.
/// Segments are synthesised separately and joined; without trimming, each carries the engine's
/// own pauses and the phrase sounds halting.
pub fn trim_silence(samples: &[i16], rate: u32) -> &[i16] {
    const THRESHOLD: i16 = 300;
    let keep = (rate / 100) as usize; // 10 ms
    let first = samples.iter().position(|s| s.unsigned_abs() > THRESHOLD as u16);
    let last = samples.iter().rposition(|s| s.unsigned_abs() > THRESHOLD as u16);
    match (first, last) {
        (Some(a), Some(b)) => &samples[a.saturating_sub(keep)..(b + keep + 1).min(samples.len())],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, hz: f64, ms: u32) -> Vec<i16> {
        (0..rate * ms / 1000)
            .map(|n| ((2.0 * std::f64::consts::PI * hz * f64::from(n) / f64::from(rate)).sin() * 12000.0) as i16)
            .collect()
    }

    #[test]
    fn wav_round_trips() {
        let pcm = Pcm::new(22050, tone(22050, 440.0, 100));
        let back = read_wav(&wav(&pcm)).unwrap();
        assert_eq!(back, pcm);
    }

    #[test]
    fn stereo_float_wav_is_mixed_to_mono() {
        let mut b = Vec::new();
        let samples: [f32; 4] = [0.5, -0.5, 0.25, 0.25];
        b.extend_from_slice(b"RIFF\0\0\0\0WAVEfmt ");
        b.extend_from_slice(&16u32.to_le_bytes());
        b.extend_from_slice(&3u16.to_le_bytes());
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&16000u32.to_le_bytes());
        b.extend_from_slice(&(16000u32 * 8).to_le_bytes());
        b.extend_from_slice(&8u16.to_le_bytes());
        b.extend_from_slice(&32u16.to_le_bytes());
        b.extend_from_slice(b"data");
        b.extend_from_slice(&16u32.to_le_bytes());
        for s in samples {
            b.extend_from_slice(&s.to_le_bytes());
        }
        let pcm = read_wav(&b).unwrap();
        assert_eq!(pcm.rate, 16000);
        assert_eq!(pcm.samples, vec![0, 8192]);
    }

    #[test]
    fn other_formats_are_named_in_the_error() {
        for (bytes, word) in [
            (&b"OggS...."[..], "Ogg"),
            (&[][..], "empty"),
            (&b"hello world!"[..], "not a WAV"),
        ] {
            let e = read_wav(bytes).unwrap_err().to_string();
            assert!(e.contains(word), "{e}");
        }
        let mut adpcm = wav(&Pcm::new(8000, vec![0; 10]));
        adpcm[20] = 2; // Microsoft ADPCM
        assert!(read_wav(&adpcm).unwrap_err().to_string().contains("format 2"));
    }

    #[test]
    fn recordings_are_read_by_type() {
        let wav_bytes = wav(&Pcm::new(16000, vec![1; 16]));
        assert_eq!(read_recording("audio/wav", &wav_bytes).unwrap().samples.len(), 16);
        // Ogg is read as Opus (see ogg.rs); a broken one is refused with the reason.
        let e = read_recording("audio/ogg", b"OggS").unwrap_err().to_string();
        assert!(e.contains("Ogg Opus"), "{e}");
        // WebM is read as Opus (see webm.rs), whatever parameters its type carries.
        let e = read_recording("audio/webm;codecs=opus", b"\x1a\x45\xdf\xa3")
            .unwrap_err()
            .to_string();
        assert!(e.contains("WebM Opus"), "{e}");
        let e = read_recording("audio/mpeg", b"ID3").unwrap_err().to_string();
        assert!(e.contains("audio/mpeg"), "{e}");
    }

    #[test]
    fn truncated_wav_reads_what_is_there() {
        let full = wav(&Pcm::new(8000, vec![100; 50]));
        let pcm = read_wav(&full[..44 + 20]).unwrap();
        assert_eq!(pcm.samples.len(), 10);
    }

    #[test]
    fn ulaw_and_alaw_round_trip_within_their_step() {
        for s in (-32000i32..32000).step_by(97) {
            let s = s as i16;
            let u = ulaw_decode(ulaw_encode(s));
            let a = alaw_decode(alaw_encode(s));
            let tol = (i32::from(s).abs() / 16).max(16);
            assert!((i32::from(u) - i32::from(s)).abs() <= tol, "μ {s} -> {u}");
            assert!((i32::from(a) - i32::from(s)).abs() <= tol, "A {s} -> {a}");
        }
        // Known code points: silence is 0xFF in μ-law and 0xD5 in A-law.
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(alaw_encode(0), 0xD5);
    }

    #[test]
    fn g711_is_whole_frames_at_8k() {
        let pcm = Pcm::new(22050, tone(22050, 300.0, 1000));
        let bytes = g711(&pcm, G711::Pcmu);
        assert_eq!(bytes.len() % G711_FRAME, 0);
        assert_eq!(bytes.len(), 8000);
    }

    #[test]
    fn resampling_keeps_speech_band_and_drops_aliases() {
        let rms = |s: &[i16]| (s.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / s.len() as f64).sqrt();
        let low = resample(&tone(22050, 300.0, 500), 22050, 8000);
        let high = resample(&tone(22050, 7000.0, 500), 22050, 8000);
        assert!(rms(&low) > 7000.0, "300 Hz kept: {}", rms(&low));
        assert!(
            rms(&high) < 1500.0,
            "7 kHz (above 4 kHz Nyquist) removed: {}",
            rms(&high)
        );
    }

    #[test]
    fn silence_is_trimmed_around_the_sound() {
        let mut s = vec![0i16; 1000];
        s.extend(tone(8000, 440.0, 100));
        s.extend(vec![0; 1000]);
        let t = trim_silence(&s, 8000);
        assert!(t.len() > 800 && t.len() < 1000, "{}", t.len());
        assert!(trim_silence(&[0; 100], 8000).is_empty());
    }
}
