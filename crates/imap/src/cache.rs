//! What IMAP derives from a message's header and structure, kept in memory
//! and shared by every session: the header block itself, its fields as
//! SEARCH's header keys see them, and the encoded ENVELOPE, BODY and
//! BODYSTRUCTURE items. Clients list mailboxes by these and search them by
//! header, so without the cache every such command reads and parses every
//! message again.
//!
//! Entries are keyed by body (blob) id: a body never changes once stored,
//! so an entry is never stale (copies share one). Filled on first use. The
//! cache is bounded by [`MAX_CACHE_BYTES`]; when full, entries are dropped
//! in no particular order until it is three quarters full.

use crate::message;
use crate::search::Headers;
use postern_store::mailbox::MessageInfo;
use postern_store::BodyFiles;
use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex, OnceLock};

/// Memory the cache may use, roughly.
pub const MAX_CACHE_BYTES: usize = 64 << 20;
/// Headers longer than this are not cached (read from the file each time).
pub const MAX_CACHED_HEADER: usize = 64 << 10;

/// One body's cached facts.
pub struct Entry {
    /// The top-level header block, blank line included.
    pub header: Vec<u8>,
    search: OnceLock<Arc<Headers>>,
    envelope: OnceLock<Vec<u8>>,
    /// The BODY and BODYSTRUCTURE items, encoded (need the whole message).
    structure: OnceLock<(Vec<u8>, Vec<u8>)>,
}

impl Entry {
    /// The header fields for SEARCH, parsed on first use.
    pub fn search(&self) -> Arc<Headers> {
        self.search
            .get_or_init(|| Arc::new(Headers::parse(&self.header)))
            .clone()
    }

    /// `ENVELOPE (…)` as sent, built on first use.
    pub fn envelope(&self) -> &[u8] {
        self.envelope.get_or_init(|| {
            let env = message::envelope::envelope(&self.header);
            crate::session::encode_envelope(env)
        })
    }

    /// `BODY (…)` or `BODYSTRUCTURE (…)` as sent, when known.
    pub fn structure(&self, extended: bool) -> Option<&[u8]> {
        self.structure
            .get()
            .map(|(b, bs)| if extended { &bs[..] } else { &b[..] })
    }

    pub fn set_structure(&self, body: Vec<u8>, bodystructure: Vec<u8>) {
        let _ = self.structure.set((body, bodystructure));
    }
}

#[derive(Default)]
struct Map {
    entries: HashMap<String, Arc<Entry>>,
    bytes: usize,
}

/// The cache; cheap to share (`Arc`).
#[derive(Default)]
pub struct HeaderCache {
    map: Mutex<Map>,
}

/// What an entry is counted as: its header about three times over (the
/// header, the parsed fields, the envelope) and the structure items.
fn weight(header_len: usize) -> usize {
    header_len * 3 + 1024
}

impl HeaderCache {
    pub fn get(&self, m: &MessageInfo) -> Option<Arc<Entry>> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.entries.get(m.blob.as_str()).cloned()
    }

    /// Keeps `header` (the top-level header block) for this message's body.
    pub fn insert(&self, m: &MessageInfo, header: Vec<u8>) -> Arc<Entry> {
        let entry = Arc::new(Entry {
            header,
            search: OnceLock::new(),
            envelope: OnceLock::new(),
            structure: OnceLock::new(),
        });
        let w = weight(entry.header.len());
        if entry.header.len() > MAX_CACHED_HEADER {
            return entry;
        }
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.bytes + w > MAX_CACHE_BYTES {
            evict(&mut map, MAX_CACHE_BYTES / 4 * 3);
        }
        if let Some(old) = map
            .entries
            .insert(m.blob.as_str().to_string(), entry.clone())
        {
            map.bytes -= weight(old.header.len());
        }
        map.bytes += w;
        entry
    }

    /// The entry, reading the header from the body when it is not cached
    /// (blocking: for SEARCH, on the store's pool). None when the body is gone.
    pub fn load(&self, bodies: &dyn BodyFiles, m: &MessageInfo) -> Option<Arc<Entry>> {
        if let Some(e) = self.get(m) {
            return Some(e);
        }
        let body = bodies.open(&m.blob).ok()??;
        let header = read_header(body).ok()?;
        Some(self.insert(m, header))
    }
}

fn evict(map: &mut Map, target: usize) {
    let doomed: Vec<String> = map
        .entries
        .iter()
        .scan(map.bytes, |bytes, (k, e)| {
            (*bytes > target).then(|| {
                *bytes -= weight(e.header.len());
                k.clone()
            })
        })
        .collect();
    for k in doomed {
        if let Some(e) = map.entries.remove(&k) {
            map.bytes -= weight(e.header.len());
        }
    }
}

/// The header block of a body, without reading the rest.
pub fn read_header(mut file: impl Read) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 8 * 1024];
    loop {
        let n = file.read(&mut chunk)?;
        if n == 0 {
            return Ok(buf);
        }
        buf.extend_from_slice(&chunk[..n]);
        let end = message::header_end(&buf);
        if end < buf.len() {
            buf.truncate(end);
            return Ok(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_store::BlobId;

    fn msg(i: usize) -> MessageInfo {
        MessageInfo {
            uid: i as u32,
            guid: String::new(),
            blob: BlobId::parse(&format!("{i:08x}")).unwrap(),
            size: 0,
            internal_date: 0,
            flags: String::new(),
            modseq: 1,
        }
    }

    #[test]
    fn entries_are_shared_and_the_budget_holds() {
        let cache = HeaderCache::default();
        let m = msg(1);
        let e = cache.insert(&m, b"Subject: Hello\r\nFrom: a@b.test\r\n\r\n".to_vec());
        assert!(Arc::ptr_eq(&e, &cache.get(&m).unwrap()));
        assert!(e.search().header_has("subject", "hello"));
        assert!(e.envelope().starts_with(b"ENVELOPE (NIL \"Hello\""));
        assert!(e.structure(true).is_none());
        // Far more than the budget: it stays within it.
        let big = vec![b'x'; 60 * 1024];
        for i in 2..2000 {
            cache.insert(&msg(i), big.clone());
        }
        let map = cache.map.lock().unwrap();
        assert!(map.bytes <= MAX_CACHE_BYTES, "{}", map.bytes);
        assert!(map.entries.len() < 2000);
        drop(map);
        // A header over the limit is answered but not kept.
        let huge = msg(5000);
        cache.insert(&huge, vec![b'y'; MAX_CACHED_HEADER + 1]);
        assert!(cache.get(&huge).is_none());
    }
}
