//! The segment cache: each distinct segment (engine, language, words) is synthesised once,
//! kept in memory and on disk, and announcements are joined from cached segments. The disk copy
//! makes the cache survive restarts: a hub that has run for a day starts the next one warm.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use sha2::{Digest, Sha256};

use crate::audio::{trim_silence, Pcm};
use crate::engine::Engine;
use crate::error::Result;
use crate::phrase::Segment;
use crate::say::Lang;

/// Silence between two spoken segments; without it joined words run into each other.
const GAP_MS: u32 = 40;
/// Memory kept for segments before the least useful half is dropped (a segment is ~20 KB;
/// a branch's vocabulary is a few hundred).
const MAX_SEGMENTS_IN_MEMORY: usize = 4096;
const FILE_MAGIC: &[u8; 4] = b"HSG1";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub segments: u64,
}

impl CacheStats {
    pub fn hit_rate(&self) -> f64 {
        let all = self.hits + self.misses;
        if all == 0 {
            0.0
        } else {
            self.hits as f64 / all as f64
        }
    }
}

pub struct SegmentCache {
    engine: Arc<dyn Engine>,
    dir: Option<PathBuf>,
    memory: RwLock<HashMap<String, Arc<Vec<i16>>>>,
    rate: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl SegmentCache {
    /// `dir` is where segments are kept across restarts; `None` keeps them in memory only.
    pub fn new(engine: Arc<dyn Engine>, dir: Option<PathBuf>) -> Result<Self> {
        if let Some(d) = &dir {
            std::fs::create_dir_all(d)?;
        }
        Ok(Self {
            engine,
            dir,
            memory: RwLock::new(HashMap::new()),
            rate: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        })
    }

    pub fn engine_id(&self) -> &str {
        self.engine.id()
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            segments: self.memory.read().map(|m| m.len() as u64).unwrap_or(0),
        }
    }

    fn key(&self, words: &str, lang: Lang) -> String {
        let mut h = Sha256::new();
        h.update(self.engine.id().as_bytes());
        h.update([0]);
        h.update(lang.code().as_bytes());
        h.update([0]);
        h.update(words.as_bytes());
        hex::encode(&h.finalize()[..16])
    }

    /// One segment's samples: from memory, else from disk, else synthesised (and kept).
    fn segment(&self, words: &str, lang: Lang) -> Result<Arc<Vec<i16>>> {
        let key = self.key(words, lang);
        if let Some(s) = self.memory.read().ok().and_then(|m| m.get(&key).cloned()) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(s);
        }
        if let Some(samples) = self.load(&key) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(self.remember(key, samples));
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let pcm = self.engine.synthesise(words, lang)?;
        self.rate.store(u64::from(pcm.rate), Ordering::Relaxed);
        let trimmed = trim_silence(&pcm.samples, pcm.rate).to_vec();
        self.store(&key, pcm.rate, &trimmed);
        Ok(self.remember(key, trimmed))
    }

    fn remember(&self, key: String, samples: Vec<i16>) -> Arc<Vec<i16>> {
        let samples = Arc::new(samples);
        if let Ok(mut m) = self.memory.write() {
            if m.len() >= MAX_SEGMENTS_IN_MEMORY {
                // Crude but bounded: drop half; the disk copy brings them back on demand.
                let drop: Vec<String> = m.keys().take(m.len() / 2).cloned().collect();
                for k in drop {
                    m.remove(&k);
                }
            }
            m.insert(key, samples.clone());
        }
        samples
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(format!("{key}.pcm")))
    }

    fn load(&self, key: &str) -> Option<Vec<i16>> {
        let bytes = std::fs::read(self.path(key)?).ok()?;
        if bytes.len() < 8 || &bytes[..4] != FILE_MAGIC {
            return None;
        }
        let rate = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        self.rate.store(u64::from(rate), Ordering::Relaxed);
        Some(
            bytes[8..]
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]))
                .collect(),
        )
    }

    fn store(&self, key: &str, rate: u32, samples: &[i16]) {
        let Some(path) = self.path(key) else { return };
        let mut bytes = Vec::with_capacity(8 + samples.len() * 2);
        bytes.extend_from_slice(FILE_MAGIC);
        bytes.extend_from_slice(&rate.to_le_bytes());
        for s in samples {
            bytes.extend_from_slice(&s.to_le_bytes());
        }
        // Write then rename: a crash mid-write leaves no half segment under the real name.
        let tmp = path.with_extension("tmp");
        if let Err(e) = std::fs::write(&tmp, &bytes).and_then(|_| std::fs::rename(&tmp, &path)) {
            tracing::warn!(error = %e, path = %path.display(), "speech segment not kept on disk");
        }
    }

    /// The announcement of these segments, joined from the cache.
    pub fn render(&self, segments: &[Segment], lang: Lang) -> Result<Pcm> {
        let parts: Vec<Result<Option<Arc<Vec<i16>>>>> = segments
            .iter()
            .map(|s| match s {
                Segment::Words(w) => self.segment(w, lang).map(Some),
                Segment::Pause(_) => Ok(None),
            })
            .collect();
        let rate = self.rate.load(Ordering::Relaxed) as u32;
        let rate = if rate == 0 { 22050 } else { rate };
        let silence = |ms: u32| (rate as usize * ms as usize) / 1000;
        let mut samples = Vec::new();
        for (seg, part) in segments.iter().zip(parts) {
            match (seg, part?) {
                (_, Some(words)) => {
                    if !samples.is_empty() {
                        samples.extend(std::iter::repeat_n(0, silence(GAP_MS)));
                    }
                    samples.extend_from_slice(&words);
                }
                (Segment::Pause(ms), None) => samples.extend(std::iter::repeat_n(0, silence(*ms))),
                _ => {}
            }
        }
        Ok(Pcm::new(rate, samples))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A stand-in engine for the cache's own rules: a tone per call, counted. The real engine
    /// is exercised by the end-to-end tests.
    struct Counting(AtomicUsize);
    impl Engine for Counting {
        fn id(&self) -> &str {
            "counting"
        }
        fn synthesise(&self, words: &str, _lang: Lang) -> Result<Pcm> {
            self.0.fetch_add(1, Ordering::SeqCst);
            let mut s = vec![0i16; 100];
            s.extend((0..words.len() * 10).map(|i| if i % 2 == 0 { 5000 } else { -5000 }));
            s.extend(vec![0i16; 100]);
            Ok(Pcm::new(8000, s))
        }
    }

    fn words(w: &[&str]) -> Vec<Segment> {
        w.iter().map(|w| Segment::Words(w.to_string())).collect()
    }

    #[test]
    fn each_segment_is_synthesised_once_and_survives_a_restart() {
        let dir = std::env::temp_dir().join(format!("hub-seg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let engine = Arc::new(Counting(AtomicUsize::new(0)));
        let cache = SegmentCache::new(engine.clone(), Some(dir.clone())).unwrap();
        let a = cache.render(&words(&["талон", "а", "один"]), Lang::Ru).unwrap();
        let b = cache.render(&words(&["талон", "а", "два"]), Lang::Ru).unwrap();
        assert_eq!(engine.0.load(Ordering::SeqCst), 4);
        assert_eq!(
            cache.stats(),
            CacheStats {
                hits: 2,
                misses: 4,
                segments: 4
            }
        );
        assert!(!a.samples.is_empty() && !b.samples.is_empty());

        let engine2 = Arc::new(Counting(AtomicUsize::new(0)));
        let warm = SegmentCache::new(engine2.clone(), Some(dir.clone())).unwrap();
        let again = warm.render(&words(&["талон", "а", "один"]), Lang::Ru).unwrap();
        assert_eq!(engine2.0.load(Ordering::SeqCst), 0, "served from disk");
        assert_eq!(again, a);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn pauses_and_gaps_are_silence_and_edges_are_trimmed() {
        let cache = SegmentCache::new(Arc::new(Counting(AtomicUsize::new(0))), None).unwrap();
        let one = cache.render(&words(&["ab"]), Lang::En).unwrap();
        // 20 samples of sound plus 10 ms kept either side of it.
        assert_eq!(one.samples.len(), 20 + 2 * 80);
        let mut segs = words(&["ab"]);
        segs.push(Segment::Pause(100));
        segs.extend(words(&["ab"]));
        let two = cache.render(&segs, Lang::En).unwrap();
        assert_eq!(two.samples.len(), one.samples.len() * 2 + 800 + 320);
    }
}
