//! A small reorder buffer for the audio the hub itself listens to (voicemail): packets that
//! arrive out of order within `depth` packets are put back in order, duplicates are dropped and
//! a gap that does not fill within the depth is skipped. The relay between two phones does not
//! use it: each phone has its own jitter buffer, and holding packets there only adds delay.

use std::collections::BTreeMap;

pub struct Reorder {
    depth: usize,
    /// The next sequence number to release, once the first packet is seen.
    next: Option<u16>,
    held: BTreeMap<u64, Vec<u8>>,
    /// Extended (wrap-free) sequence of `next`.
    base: u64,
}

impl Reorder {
    pub fn new(depth: usize) -> Self {
        Self {
            depth: depth.max(1),
            next: None,
            held: BTreeMap::new(),
            base: 0,
        }
    }

    /// Takes one packet's payload; answers the payloads now due, in order.
    pub fn push(&mut self, seq: u16, payload: &[u8]) -> Vec<Vec<u8>> {
        let next = *self.next.get_or_insert(seq);
        // Distance from `next`, wrapping: packets more than half the space behind are late.
        let ahead = seq.wrapping_sub(next);
        if ahead >= 0x8000 {
            return vec![]; // late or duplicate of something released
        }
        let ext = self.base + ahead as u64;
        self.held.entry(ext).or_insert_with(|| payload.to_vec());
        let mut out = vec![];
        loop {
            if let Some(p) = self.held.remove(&self.base) {
                out.push(p);
                self.advance(1);
            } else if self.held.len() > self.depth {
                // The gap did not fill: skip to the oldest held packet.
                let first = *self.held.keys().next().unwrap_or(&self.base);
                self.advance(first - self.base);
            } else {
                break;
            }
        }
        out
    }

    /// Releases everything still held, in order (at the end of a recording).
    pub fn drain(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.held).into_values().collect()
    }

    fn advance(&mut self, n: u64) {
        self.base += n;
        self.next = self.next.map(|s| s.wrapping_add(n as u16));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seqs(out: Vec<Vec<u8>>) -> Vec<u8> {
        out.into_iter().map(|p| p[0]).collect()
    }

    #[test]
    fn reorders_within_depth_and_drops_duplicates() {
        let mut r = Reorder::new(3);
        assert_eq!(seqs(r.push(10, &[10])), vec![10]);
        assert_eq!(seqs(r.push(12, &[12])), Vec::<u8>::new());
        assert_eq!(seqs(r.push(11, &[11])), vec![11, 12]);
        assert_eq!(seqs(r.push(11, &[11])), Vec::<u8>::new(), "duplicate");
        assert_eq!(seqs(r.push(9, &[9])), Vec::<u8>::new(), "late");
    }

    #[test]
    fn skips_a_gap_that_never_fills() {
        let mut r = Reorder::new(2);
        r.push(1, &[1]);
        assert!(r.push(3, &[3]).is_empty());
        assert!(r.push(4, &[4]).is_empty());
        assert_eq!(seqs(r.push(5, &[5])), vec![3, 4, 5]);
    }

    #[test]
    fn wraps_around() {
        let mut r = Reorder::new(3);
        r.push(65534, &[1]);
        assert!(r.push(0, &[3]).is_empty());
        assert_eq!(seqs(r.push(65535, &[2])), vec![2, 3]);
        assert_eq!(seqs(r.push(1, &[4])), vec![4]);
        assert!(r.drain().is_empty());
    }
}
