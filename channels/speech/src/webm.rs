//! WebM (Matroska) Opus: what browsers' MediaRecorder writes (`audio/webm;codecs=opus`). The
//! EBML elements are read here (RFC 8794; the Matroska elements of RFC 9559), the Opus packets go
//! to [`crate::opus`]. Pure, no I/O.
//!
//! A recorder cannot know the length of what it is still recording, so Chromium writes the
//! Segment and every Cluster with an unknown size: the master elements that hold the audio are
//! entered, not measured, and everything else is skipped by its size.

use crate::audio::Pcm;
use crate::error::{Result, SpeechError};

fn bad(why: &str) -> SpeechError {
    crate::opus::bad("WebM", why)
}

const EBML: u32 = 0x1A45_DFA3;
const DOC_TYPE: u32 = 0x4282;
const SEGMENT: u32 = 0x1853_8067;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const TRACK_NUMBER: u32 = 0xD7;
const CODEC_ID: u32 = 0x86;
const CODEC_PRIVATE: u32 = 0x63A2;
const CLUSTER: u32 = 0x1F43_B675;
const BLOCK_GROUP: u32 = 0xA0;
const BLOCK: u32 = 0xA1;
const SIMPLE_BLOCK: u32 = 0xA3;

/// Masters whose children are read (their size may be unknown).
fn entered(id: u32) -> bool {
    matches!(id, SEGMENT | TRACKS | TRACK_ENTRY | CLUSTER | BLOCK_GROUP)
}

/// An element ID: 1 to 4 bytes, its length marker kept (as Matroska writes IDs).
fn id(data: &[u8], at: usize) -> Result<(u32, usize)> {
    let first = *data.get(at).ok_or_else(|| bad("truncated"))?;
    let len = first.leading_zeros() as usize + 1;
    if first == 0 || len > 4 {
        return Err(bad("not an EBML element"));
    }
    let bytes = data.get(at..at + len).ok_or_else(|| bad("truncated"))?;
    Ok((bytes.iter().fold(0u32, |v, b| (v << 8) | u32::from(*b)), len))
}

/// A variable-size integer (an element's size, a block's track): its value, or None for
/// "unknown" (all value bits set), and its length.
fn vint(data: &[u8], at: usize) -> Result<(Option<u64>, usize)> {
    let first = *data.get(at).ok_or_else(|| bad("truncated"))?;
    let len = first.leading_zeros() as usize + 1;
    if first == 0 {
        return Err(bad("a size longer than 8 bytes"));
    }
    let bytes = data.get(at..at + len).ok_or_else(|| bad("truncated"))?;
    let mask = if len == 8 { 0 } else { 0xFFu8 >> len };
    let value = bytes[1..]
        .iter()
        .fold(u64::from(first & mask), |v, b| (v << 8) | u64::from(*b));
    let all_ones = (1u64 << (7 * len)) - 1;
    Ok(((value != all_ones).then_some(value), len))
}

fn uint(bytes: &[u8]) -> u64 {
    bytes.iter().take(8).fold(0, |v, b| (v << 8) | u64::from(*b))
}

/// Every block of the file, with the number of the track it belongs to.
type Blocks<'a> = Vec<(u64, &'a [u8])>;

#[derive(Default)]
struct Track<'a> {
    number: u64,
    codec: &'a [u8],
    private: &'a [u8],
}

/// Reads the file's elements: the tracks, and every block with its track number.
fn elements(data: &[u8]) -> Result<(Vec<Track<'_>>, Blocks<'_>)> {
    let (first, _) = id(data, 0)?;
    if first != EBML {
        return Err(bad("no EBML header"));
    }
    let (mut tracks, mut blocks): (Vec<Track>, Blocks) = (Vec::new(), Vec::new());
    let mut at = 0;
    while at < data.len() {
        let (element, id_len) = id(data, at)?;
        let (size, size_len) = vint(data, at + id_len)?;
        let start = at + id_len + size_len;
        if entered(element) {
            if element == TRACK_ENTRY {
                tracks.push(Track::default());
            }
            at = start;
            continue;
        }
        let size = usize::try_from(size.ok_or_else(|| bad("an element of unknown size"))?)
            .map_err(|_| bad("an element larger than the file"))?;
        let body = data
            .get(start..start.checked_add(size).ok_or_else(|| bad("truncated"))?)
            .ok_or_else(|| bad("truncated"))?;
        match element {
            EBML => {
                // The header's own children: only the document type matters.
                let mut i = 0;
                while i < body.len() {
                    let (child, l) = id(body, i)?;
                    let (n, nl) = vint(body, i + l)?;
                    let n = usize::try_from(n.ok_or_else(|| bad("truncated"))?).map_err(|_| bad("truncated"))?;
                    let value = body.get(i + l + nl..i + l + nl + n).ok_or_else(|| bad("truncated"))?;
                    if child == DOC_TYPE && value != b"webm" && value != b"matroska" {
                        return Err(bad("not a WebM or Matroska document"));
                    }
                    i += l + nl + n;
                }
            }
            TRACK_NUMBER => {
                if let Some(t) = tracks.last_mut() {
                    t.number = uint(body);
                }
            }
            CODEC_ID => {
                if let Some(t) = tracks.last_mut() {
                    t.codec = body;
                }
            }
            CODEC_PRIVATE => {
                if let Some(t) = tracks.last_mut() {
                    t.private = body;
                }
            }
            SIMPLE_BLOCK | BLOCK => {
                let (track, l) = vint(body, 0)?;
                blocks.push((track.ok_or_else(|| bad("a block of no track"))?, &body[l..]));
            }
            _ => {}
        }
        at = start + size;
    }
    Ok((tracks, blocks))
}

/// The frames of a block, after its track number: a 16-bit timecode, flags, then one frame or
/// several laced together (Xiph, fixed-size or EBML lacing).
fn frames(block: &[u8]) -> Result<Vec<&[u8]>> {
    let flags = *block.get(2).ok_or_else(|| bad("a block too short"))?;
    let rest = &block[3..];
    let lacing = (flags >> 1) & 0b11;
    if lacing == 0 {
        return Ok(vec![rest]);
    }
    let count = usize::from(*rest.first().ok_or_else(|| bad("a laced block too short"))?) + 1;
    let mut at = 1;
    let mut sizes: Vec<usize> = Vec::with_capacity(count);
    match lacing {
        // Xiph: each size but the last as a run of 255s and a final byte.
        0b01 => {
            for _ in 0..count - 1 {
                let mut size = 0usize;
                loop {
                    let b = *rest.get(at).ok_or_else(|| bad("a laced block too short"))?;
                    at += 1;
                    size += usize::from(b);
                    if b < 255 {
                        break;
                    }
                }
                sizes.push(size);
            }
        }
        // EBML: the first size, then signed differences.
        0b11 => {
            let (first, l) = vint(rest, at)?;
            at += l;
            let mut size = i64::try_from(first.ok_or_else(|| bad("a lace of unknown size"))?)
                .map_err(|_| bad("a lace too large"))?;
            sizes.push(usize::try_from(size).map_err(|_| bad("a negative lace"))?);
            for _ in 1..count - 1 {
                let (raw, l) = vint(rest, at)?;
                at += l;
                let bias = (1i64 << (7 * l - 1)) - 1;
                let diff = i64::try_from(raw.ok_or_else(|| bad("a lace of unknown size"))?)
                    .map_err(|_| bad("a lace too large"))?
                    - bias;
                size = size.checked_add(diff).ok_or_else(|| bad("a lace too large"))?;
                sizes.push(usize::try_from(size).map_err(|_| bad("a negative lace"))?);
            }
        }
        // Fixed: equal parts.
        _ => {
            let total = rest.len() - at;
            if !total.is_multiple_of(count) {
                return Err(bad("fixed-size lacing that does not divide the block"));
            }
            sizes.extend(std::iter::repeat_n(total / count, count - 1));
        }
    }
    let mut out = Vec::with_capacity(count);
    for size in sizes {
        let end = at.checked_add(size).ok_or_else(|| bad("a lace too large"))?;
        out.push(rest.get(at..end).ok_or_else(|| bad("a lace past its block"))?);
        at = end;
    }
    out.push(rest.get(at..).ok_or_else(|| bad("a lace past its block"))?);
    Ok(out)
}

/// Decodes the first Opus track of a WebM file to 16 kHz mono PCM.
pub fn decode(data: &[u8]) -> Result<Pcm> {
    let (tracks, blocks) = elements(data)?;
    let track = tracks
        .iter()
        .find(|t| t.codec == b"A_OPUS")
        .ok_or_else(|| bad("no Opus track (the recording is in another codec)"))?;
    let mut packets = Vec::new();
    for (number, block) in blocks {
        if number == track.number {
            packets.extend(frames(block)?);
        }
    }
    crate::opus::decode("WebM", track.private, packets)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1.5 s of a 440 Hz tone recorded by Chromium's MediaRecorder (`audio/webm;codecs=opus`,
    /// 48 kHz stereo, Segment and Clusters of unknown size).
    const TONE: &[u8] = include_bytes!("../tests/fixtures/tone-440.webm");

    #[test]
    fn a_browsers_recording_decodes_to_its_length_and_pitch() {
        crate::opus::tests::is_the_tone(&decode(TONE).unwrap());
    }

    #[test]
    fn sizes_and_ids_read_as_ebml_writes_them() {
        assert_eq!(vint(&[0x81], 0).unwrap(), (Some(1), 1));
        assert_eq!(vint(&[0x40, 0x02], 0).unwrap(), (Some(2), 2));
        assert_eq!(vint(&[0xFF], 0).unwrap(), (None, 1), "unknown size");
        assert_eq!(
            vint(&[0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], 0).unwrap(),
            (None, 8)
        );
        assert!(vint(&[0x00], 0).is_err());
        assert!(vint(&[0x40], 0).is_err(), "truncated");
        assert_eq!(id(&[0x1A, 0x45, 0xDF, 0xA3], 0).unwrap(), (EBML, 4));
        assert_eq!(id(&[0xA3], 0).unwrap(), (SIMPLE_BLOCK, 1));
    }

    #[test]
    fn laced_blocks_split_into_their_frames() {
        // Track 1, timecode 0, then the flags and laces of three frames of 2, 300 and 1 bytes.
        let payload: Vec<u8> = [vec![1u8; 2], vec![2u8; 300], vec![3u8; 1]].concat();
        let mut xiph = vec![0, 0, 0b0000_0010, 2, 2, 255, 45];
        xiph.extend(&payload);
        let f = frames(&xiph).unwrap();
        assert_eq!(f.iter().map(|x| x.len()).collect::<Vec<_>>(), [2, 300, 1]);
        // EBML lacing: 2, then +298 as a signed 2-byte vint (bias 8191).
        let diff = 298 + 8191;
        let mut ebml = vec![
            0,
            0,
            0b0000_0110,
            2,
            0x82,
            0x40 | (diff >> 8) as u8,
            (diff & 0xFF) as u8,
        ];
        ebml.extend(&payload);
        let f = frames(&ebml).unwrap();
        assert_eq!(f.iter().map(|x| x.len()).collect::<Vec<_>>(), [2, 300, 1]);
        let mut fixed = vec![0, 0, 0b0000_0100, 2];
        fixed.extend([7u8; 9]);
        assert_eq!(
            frames(&fixed).unwrap().iter().map(|x| x.len()).collect::<Vec<_>>(),
            [3, 3, 3]
        );
        fixed.push(0);
        assert!(frames(&fixed).is_err(), "10 bytes are not three equal frames");
        // A lace running past its block is refused, not read past.
        assert!(frames(&[0, 0, 0b0000_0010, 1, 200, 1, 2]).is_err());
    }

    #[test]
    fn broken_and_foreign_files_are_refused_not_panicked() {
        assert!(decode(b"").is_err());
        assert!(decode(b"RIFF....WAVE").is_err());
        assert!(decode(&TONE[..TONE.len() / 3]).is_err(), "truncated");
        let mut corrupt = TONE.to_vec();
        for b in corrupt.iter_mut().skip(300).step_by(5) {
            *b ^= 0x5a;
        }
        let _ = decode(&corrupt); // any answer but a panic
                                  // Any cut and any byte changed anywhere in the header and first blocks: an answer, never
                                  // a panic (overflow checks are on in tests).
        let mut seed = 0x2545_f491_u64;
        for i in 0..3000 {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let mut m = TONE[..TONE.len().min(600 + i % 400)].to_vec();
            let at = (seed >> 33) as usize % m.len();
            m[at] = (seed >> 13) as u8;
            let _ = elements(&m);
            for (_, block) in elements(&m).map(|(_, b)| b).unwrap_or_default() {
                let _ = frames(block);
            }
        }
        // Another codec (Vorbis) is named as such.
        let mut vorbis = TONE.to_vec();
        if let Some(i) = vorbis.windows(6).position(|w| w == b"A_OPUS") {
            vorbis[i..i + 6].copy_from_slice(b"A_VORB");
        }
        let e = decode(&vorbis).unwrap_err().to_string();
        assert!(e.contains("no Opus track"), "{e}");
    }
}
