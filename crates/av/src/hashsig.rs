//! Whole-object hash signatures, one per line of `.hdb`/`.hsb` (detections)
//! and `.fp`/`.sfp` (allow-lists): `HashString:FileSize:MalwareName[:min_flevel[:max_flevel]]`.
//! The hash is MD5, SHA-1 or SHA-256 by its length (32, 40, 64 hex digits);
//! the size may be `*` (any size). Lookups are keyed by (size, hash), so an
//! object is hashed only with the algorithms some signature uses, and only
//! when a signature of that algorithm has its size or any size (as ClamAV
//! does: most objects then need no digest at all).

use md5::{Digest, Md5};
use sha1::Sha1;
use sha2::Sha256;
use std::collections::{HashMap, HashSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algo {
    Md5,
    Sha1,
    Sha256,
}

impl Algo {
    fn by_hex_len(n: usize) -> Option<Algo> {
        match n {
            32 => Some(Algo::Md5),
            40 => Some(Algo::Sha1),
            64 => Some(Algo::Sha256),
            _ => None,
        }
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Algo::Md5 => Md5::digest(data).to_vec(),
            Algo::Sha1 => Sha1::digest(data).to_vec(),
            Algo::Sha256 => Sha256::digest(data).to_vec(),
        }
    }
}

/// One parsed line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashSig {
    pub algo: Algo,
    pub hash: Vec<u8>,
    /// `None`: any size (`*`).
    pub size: Option<u64>,
    pub name: String,
}

pub fn parse_line(line: &str) -> Result<HashSig, String> {
    let f: Vec<&str> = line.split(':').collect();
    if !(3..=5).contains(&f.len()) {
        return Err(format!(
            "{} fields, want Hash:Size:Name[:min_flevel[:max_flevel]]",
            f.len()
        ));
    }
    let algo = Algo::by_hex_len(f[0].len())
        .ok_or_else(|| format!("hash of {} hex digits (want 32, 40 or 64)", f[0].len()))?;
    let hash = hex(f[0]).ok_or_else(|| format!("'{}' is not hex", f[0]))?;
    let size = match f[1] {
        "*" => None,
        s => Some(s.parse().map_err(|_| format!("bad size '{s}'"))?),
    };
    if f[2].is_empty() {
        return Err("empty name".into());
    }
    for level in &f[3..] {
        if !level.is_empty() && level.parse::<u32>().is_err() {
            return Err(format!("bad functionality level '{level}'"));
        }
    }
    Ok(HashSig {
        algo,
        hash,
        size,
        name: f[2].to_string(),
    })
}

fn hex(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Hash signatures of one kind (detections or allow-list entries).
#[derive(Default, Debug)]
pub struct HashTable {
    sized: HashMap<(Algo, u64, Vec<u8>), String>,
    any_size: HashMap<(Algo, Vec<u8>), String>,
    /// Each algorithm in use, and whether a `*`-sized signature uses it.
    algos: Vec<(Algo, bool)>,
    /// The sizes the sized signatures of each algorithm name.
    sizes: HashSet<(Algo, u64)>,
}

impl HashTable {
    pub fn insert(&mut self, s: HashSig) {
        let any = s.size.is_none();
        match self.algos.iter_mut().find(|(a, _)| *a == s.algo) {
            Some((_, has_any)) => *has_any |= any,
            None => self.algos.push((s.algo, any)),
        }
        match s.size {
            Some(n) => {
                self.sizes.insert((s.algo, n));
                self.sized.insert((s.algo, n, s.hash), s.name)
            }
            None => self.any_size.insert((s.algo, s.hash), s.name),
        };
    }

    pub fn len(&self) -> usize {
        self.sized.len() + self.any_size.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name of the signature `data` matches, if any.
    pub fn lookup(&self, data: &[u8]) -> Option<&str> {
        let size = data.len() as u64;
        self.algos.iter().find_map(|&(algo, any)| {
            if !any && !self.sizes.contains(&(algo, size)) {
                return None;
            }
            let h = algo.digest(data);
            self.sized
                .get(&(algo, size, h.clone()))
                .or_else(|| self.any_size.get(&(algo, h)))
                .map(String::as_str)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_algorithm_and_size() {
        let data = b"hello";
        let mut t = HashTable::default();
        t.insert(parse_line("5d41402abc4b2a76b9719d911017c592:5:Md5.Hit").unwrap());
        assert_eq!(t.lookup(data), Some("Md5.Hit"));
        assert_eq!(t.lookup(b"hellO"), None);
        let mut t = HashTable::default();
        t.insert(parse_line("5d41402abc4b2a76b9719d911017c592:6:Wrong.Size").unwrap());
        assert_eq!(t.lookup(data), None, "size is part of the key");
        let sha1 = "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d";
        let sha256 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        let mut t = HashTable::default();
        t.insert(parse_line(&format!("{sha1}:*:Sha1.Any")).unwrap());
        assert_eq!(t.lookup(data), Some("Sha1.Any"));
        let mut t = HashTable::default();
        t.insert(parse_line(&format!("{sha256}:5:Sha256.Hit:73")).unwrap());
        assert_eq!(t.lookup(data), Some("Sha256.Hit"));
    }

    #[test]
    fn sized_and_any_size_of_one_algorithm_together() {
        // Objects of a size no signature names are not hashed; each
        // signature must still match whatever else the table holds.
        let mut t = HashTable::default();
        t.insert(parse_line("5d41402abc4b2a76b9719d911017c592:5:Md5.Hello").unwrap());
        t.insert(parse_line("00000000000000000000000000000000:7:Md5.Other").unwrap());
        assert_eq!(t.lookup(b"hello"), Some("Md5.Hello"));
        assert_eq!(t.lookup(b"hello!"), None);
        assert_eq!(t.lookup(b"hello!!"), None);
        // "hello world" (11 bytes): no sized signature of that size, but a
        // `*` one of the same algorithm added later must be found.
        t.insert(parse_line("5eb63bbbe01eeed093cb22bb8f5acdc3:*:Md5.Any").unwrap());
        assert_eq!(t.lookup(b"hello world"), Some("Md5.Any"));
        assert_eq!(t.lookup(b"hello"), Some("Md5.Hello"));
        // A sized SHA-1 next to them: hashed only at its own size.
        let sha1 = "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d";
        let mut t = HashTable::default();
        t.insert(parse_line("00000000000000000000000000000000:*:Md5.Never").unwrap());
        t.insert(parse_line(&format!("{sha1}:5:Sha1.Hello")).unwrap());
        assert_eq!(t.lookup(b"hello"), Some("Sha1.Hello"));
        assert_eq!(t.lookup(b"hello!"), None);
    }

    #[test]
    fn malformed_lines() {
        assert!(parse_line("5d41402abc4b2a76b9719d911017c59:5:X").is_err());
        assert!(parse_line("5d41402abc4b2a76b9719d911017c59z:5:X").is_err());
        assert!(parse_line("5d41402abc4b2a76b9719d911017c592:five:X").is_err());
        assert!(parse_line("5d41402abc4b2a76b9719d911017c592:5").is_err());
        assert!(parse_line("5d41402abc4b2a76b9719d911017c592:5:").is_err());
    }
}
