//! A hashed 4-gram index over the anchors of body signatures (in the manner
//! of Wu-Manber): each anchor is filed under one 4-byte window of itself,
//! the least common-looking one, and a bitmap of those windows' hashes lets
//! the scan skip a position with one memory read. Every position of the
//! object is looked at once, whatever the number of signatures; only a
//! position whose window is filed is compared with the anchors filed there.
//! Much faster than an Aho-Corasick automaton's overlapping search once
//! there are thousands of anchors (its states no longer fit in cache).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Window length: anchors shorter than this go to the automaton instead.
pub const GRAM: usize = 4;
/// log2 of the bitmap's size in bits (4 Mi bits: 512 KiB).
const BITS_LOG2: u32 = 22;

/// One anchor filed under a window: the signature and the window's offset
/// in its anchor.
#[derive(Clone, Copy, Debug)]
pub struct Filed {
    pub sig: u32,
    pub offset: u32,
}

pub struct GramIndex {
    bits: Vec<u64>,
    table: HashMap<u32, Vec<Filed>, BuildHasherDefault<WindowHasher>>,
}

/// The table is probed at every position the bitmap lets through: a
/// multiplicative hash of the window (keys are 4 data bytes, not chosen by
/// a sender to collide beyond what the bitmap already admits) instead of
/// SipHash.
#[derive(Default)]
struct WindowHasher(u64);

impl Hasher for WindowHasher {
    fn finish(&self) -> u64 {
        // The product's well-mixed high half into the low bits the table
        // indexes by.
        self.0.rotate_left(32)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, w: u32) {
        self.0 = (u64::from(w) ^ self.0).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

fn window(bytes: &[u8]) -> u32 {
    u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

fn slot(w: u32) -> usize {
    (w.wrapping_mul(0x9E37_79B1) >> (32 - BITS_LOG2)) as usize
}

/// How unusual a window looks: distinct bytes, minus padding-like ones
/// (0x00, 0xff, space), which fill files and would hit everywhere.
fn rarity(w: &[u8]) -> usize {
    let mut seen: Vec<u8> = w.to_vec();
    seen.sort_unstable();
    seen.dedup();
    let common = w.iter().filter(|b| matches!(b, 0x00 | 0xff | b' ')).count();
    seen.len() * 2 + GRAM - common
}

/// The offset of the window an anchor is filed under.
fn best_offset(anchor: &[u8]) -> usize {
    (0..=anchor.len() - GRAM)
        .max_by_key(|&i| (rarity(&anchor[i..i + GRAM]), usize::MAX - i))
        .unwrap_or(0)
}

impl GramIndex {
    /// Files every anchor of at least [`GRAM`] bytes; `(sig, anchor)`.
    pub fn new<'a>(anchors: impl Iterator<Item = (usize, &'a [u8])>) -> GramIndex {
        let mut idx = GramIndex {
            bits: vec![0; 1 << (BITS_LOG2 - 6)],
            table: HashMap::default(),
        };
        for (sig, anchor) in anchors {
            let offset = best_offset(anchor);
            let w = window(&anchor[offset..]);
            let s = slot(w);
            idx.bits[s >> 6] |= 1 << (s & 63);
            idx.table.entry(w).or_default().push(Filed {
                sig: sig as u32,
                offset: offset as u32,
            });
        }
        idx
    }

    /// Calls `hit(sig, anchor_start)` for every filed anchor whose window
    /// occurs in `data` (the caller compares the rest); stops when it
    /// returns true.
    pub fn scan(&self, data: &[u8], hit: &mut dyn FnMut(usize, usize) -> bool) -> bool {
        if data.len() < GRAM || self.table.is_empty() {
            return false;
        }
        // `windows` rather than indexing: no bounds check per position.
        for (i, bytes) in data.windows(GRAM).enumerate() {
            let w = window(bytes);
            let s = slot(w);
            if self.bits[s >> 6] & (1 << (s & 63)) == 0 {
                continue;
            }
            let Some(filed) = self.table.get(&w) else {
                continue;
            };
            for f in filed {
                if let Some(start) = i.checked_sub(f.offset as usize) {
                    if hit(f.sig as usize, start) {
                        return true;
                    }
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filed_under_an_unusual_window() {
        assert_eq!(best_offset(b"\0\0\0\0\0abcd\0"), 5);
        assert_eq!(best_offset(b"abcd"), 0);
    }

    #[test]
    fn finds_each_occurrence_with_its_start() {
        let anchors: [&[u8]; 2] = [b"\0\0\0\0wxyz", b"hello"];
        let idx = GramIndex::new(anchors.iter().copied().enumerate());
        let mut hits = Vec::new();
        idx.scan(b"..\0\0\0\0wxyz..hello", &mut |sig, start| {
            hits.push((sig, start));
            false
        });
        assert_eq!(hits, vec![(0, 2), (1, 12)]);
    }

    #[test]
    fn every_one_of_many_anchors_is_found() {
        // 20,000 pseudo-random anchors of 4 to 11 bytes, many sharing low
        // bytes: each is found where it is, whatever the table's hashing.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let anchors: Vec<Vec<u8>> = (0..20_000)
            .map(|i| {
                let len = 4 + (next() % 8) as usize;
                let mut a: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                a[0] = (i % 7) as u8;
                a
            })
            .collect();
        let idx = GramIndex::new(anchors.iter().map(Vec::as_slice).enumerate());
        for (i, a) in anchors.iter().enumerate().step_by(97) {
            let mut data = vec![b'.'; 3];
            data.extend_from_slice(a);
            let mut hit = false;
            idx.scan(&data, &mut |sig, start| {
                hit |= sig == i && start == 3;
                hit
            });
            assert!(hit, "anchor {i} not found");
        }
    }
}
