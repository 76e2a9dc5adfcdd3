//! The encrypted file format for message bodies (sans-I/O): a 16-octet
//! header, then the body in 64 KiB chunks, each sealed with
//! ChaCha20-Poly1305 (RFC 8439) — the STREAM construction (Hoang, Reyhanitabar,
//! Rogaway, Vizár, "Online authenticated-encryption and its nonce-reuse
//! misuse-resistance", 2015): chunk i's nonce is the file's random 7-octet
//! prefix ‖ i (32 bits, big-endian) ‖ a last-chunk flag, so reordered,
//! dropped or truncated chunks fail to open. The header is every chunk's
//! associated data. The last chunk is the only one shorter than a full
//! chunk (it is empty only for an empty body), and a full body's last
//! chunk is full, so the plaintext length follows from the file length.
//!
//! Header: `MAGIC` (8) ‖ nonce prefix (7) ‖ 0 (1).

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};

/// First octets of an encrypted body; readers test for them per file, so a
/// store half-way through a conversion reads fine.
pub const MAGIC: &[u8; 8] = b"\x89PTNENC\x01";
pub const HEADER_LEN: u64 = 16;
/// Plaintext octets per chunk.
pub const CHUNK: usize = 64 * 1024;
pub const TAG_LEN: usize = 16;
/// A sealed chunk's size on disk, the last one excepted.
pub const SEALED_CHUNK: u64 = (CHUNK + TAG_LEN) as u64;
/// More chunks than the 32-bit counter can number would reuse a nonce.
pub const MAX_CHUNKS: u64 = u32::MAX as u64;

fn cipher(key: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, key).expect("32-byte key"))
}

fn nonce(prefix: &[u8; 7], index: u64, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[..7].copy_from_slice(prefix);
    n[7..11].copy_from_slice(&(index as u32).to_be_bytes());
    n[11] = last as u8;
    Nonce::assume_unique_for_key(n)
}

/// Does this file start like an encrypted body?
pub fn is_encrypted(first: &[u8]) -> bool {
    first.starts_with(MAGIC)
}

/// Encrypts a body as it arrives: `update` returns whole sealed chunks,
/// `finish` the last one. Holds at most one chunk of plaintext.
pub struct Sealer {
    key: LessSafeKey,
    header: [u8; HEADER_LEN as usize],
    pending: Vec<u8>,
    index: u64,
}

impl Sealer {
    /// A new file, with a fresh random nonce prefix; `header()` goes first.
    pub fn new(key: &[u8; 32]) -> Sealer {
        let mut header = [0u8; HEADER_LEN as usize];
        header[..8].copy_from_slice(MAGIC);
        header[8..15].copy_from_slice(&rand::random::<[u8; 7]>());
        Sealer {
            key: cipher(key),
            header,
            pending: Vec::with_capacity(CHUNK),
            index: 0,
        }
    }

    pub fn header(&self) -> &[u8] {
        &self.header
    }

    /// The plaintext not yet sealed (less than one chunk, or one full chunk).
    pub fn pending(&self) -> &[u8] {
        &self.pending
    }

    /// Adds `input`; appends to `out` every chunk known not to be the last.
    pub fn update(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
        while !input.is_empty() {
            if self.pending.len() == CHUNK {
                self.seal_pending(false, out)?;
            }
            let take = (CHUNK - self.pending.len()).min(input.len());
            self.pending.extend_from_slice(&input[..take]);
            input = &input[take..];
        }
        Ok(())
    }

    /// Seals the last chunk into `out`.
    pub fn finish(mut self, out: &mut Vec<u8>) -> std::io::Result<()> {
        self.seal_pending(true, out)
    }

    fn seal_pending(&mut self, last: bool, out: &mut Vec<u8>) -> std::io::Result<()> {
        if self.index >= MAX_CHUNKS {
            return Err(std::io::Error::other("body too large to encrypt"));
        }
        let prefix: [u8; 7] = self.header[8..15].try_into().expect("7 octets");
        let start = out.len();
        out.extend_from_slice(&self.pending);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                nonce(&prefix, self.index, last),
                Aad::from(&self.header),
                &mut out[start..],
            )
            .map_err(|_| std::io::Error::other("cannot seal a chunk"))?;
        out.extend_from_slice(tag.as_ref());
        self.pending.clear();
        self.index += 1;
        Ok(())
    }
}

/// Where chunk `index` of an encrypted file starts.
pub fn chunk_offset(index: u64) -> u64 {
    HEADER_LEN + index * SEALED_CHUNK
}

/// The plaintext length of an encrypted file of `file_len` octets, or None
/// when no well-formed file has that length (truncated inside a tag).
pub fn plain_len(file_len: u64) -> Option<u64> {
    let body = file_len.checked_sub(HEADER_LEN)?;
    let chunks = body.div_ceil(SEALED_CHUNK).max(1);
    let last = body - (chunks - 1) * SEALED_CHUNK;
    (last >= TAG_LEN as u64).then(|| body - chunks * TAG_LEN as u64)
}

/// Opens the chunks of one file.
pub struct Opener {
    key: LessSafeKey,
    header: [u8; HEADER_LEN as usize],
}

impl Opener {
    /// None when `header` is not an encrypted body's header.
    pub fn new(key: &[u8; 32], header: &[u8]) -> Option<Opener> {
        let header: [u8; HEADER_LEN as usize] = header.try_into().ok()?;
        (is_encrypted(&header) && header[15] == 0).then(|| Opener {
            key: cipher(key),
            header,
        })
    }

    /// Opens sealed chunk `index` in place; returns the plaintext length.
    pub fn open(&self, index: u64, last: bool, sealed: &mut [u8]) -> std::io::Result<usize> {
        let prefix: [u8; 7] = self.header[8..15].try_into().expect("7 octets");
        self.key
            .open_in_place(nonce(&prefix, index, last), Aad::from(&self.header), sealed)
            .map(|p| p.len())
            .map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "encrypted body does not open (wrong key, or damaged or truncated file)",
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chunk counter never wraps: one chunk past it is refused, not sealed
    /// under a nonce already used.
    #[test]
    fn chunk_counter_limit_is_crossed_by_an_error() {
        let mut s = Sealer::new(&[1u8; 32]);
        s.index = MAX_CHUNKS - 1;
        let mut out = Vec::new();
        s.update(&[0u8; CHUNK], &mut out).unwrap();
        s.update(&[0u8; 1], &mut out).unwrap();
        assert_eq!(
            out.len(),
            SEALED_CHUNK as usize,
            "the last numbered chunk is sealed"
        );
        assert!(s.finish(&mut out).is_err(), "the one past it is refused");
    }
}
