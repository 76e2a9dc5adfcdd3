//! The loaded signature set: hash detections, the hash allow-list, and every
//! body signature (with the built-in EICAR one) behind one automaton.
//! Immutable once built; share it as `Arc<Engine>` (see [`crate::Handle`]).

use crate::database::DbInfo;
use crate::hashsig::HashTable;
use crate::hexsig::Pattern;
use crate::matcher::BodyMatcher;
use crate::ndb::{BodySig, Offset};

/// The EICAR anti-virus test file (68 bytes), detected with no database.
pub const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
/// ClamAV's name for it.
pub const EICAR_NAME: &str = "Eicar-Test-Signature";

pub(crate) fn eicar() -> BodySig {
    let hex: String = EICAR.iter().map(|b| format!("{b:02x}")).collect();
    BodySig {
        name: EICAR_NAME.into(),
        offset: Offset::Any,
        pattern: Pattern::parse(&hex).expect("the EICAR pattern parses"),
    }
}

pub struct Engine {
    hashes: HashTable,
    allow: HashTable,
    body: BodyMatcher,
    databases: Vec<DbInfo>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (hashes, body, allow) = self.counts();
        write!(
            f,
            "Engine {{ hashes: {hashes}, body: {body}, allow: {allow} }}"
        )
    }
}

impl Engine {
    pub(crate) fn new(
        hashes: HashTable,
        allow: HashTable,
        body: BodyMatcher,
        databases: Vec<DbInfo>,
    ) -> Engine {
        Engine {
            hashes,
            allow,
            body,
            databases,
        }
    }

    /// No database: the built-in EICAR signature only.
    pub fn builtin() -> Engine {
        crate::database::Builder::default()
            .build()
            .expect("the built-in set builds")
    }

    /// The signature one object (a file, a decoded part, an archive member)
    /// matches, unless the allow-list names it.
    pub fn detect(&self, data: &[u8]) -> Option<&str> {
        if !self.allow.is_empty() && self.allow.lookup(data).is_some() {
            return None;
        }
        self.hashes.lookup(data).or_else(|| self.body.find(data))
    }

    pub fn databases(&self) -> &[DbInfo] {
        &self.databases
    }

    /// Signatures in use, the built-in one included.
    pub fn signatures(&self) -> usize {
        self.hashes.len() + self.body.len()
    }

    /// (hash, body, allow-list) signature counts.
    pub fn counts(&self) -> (usize, usize, usize) {
        (self.hashes.len(), self.body.len(), self.allow.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eicar_without_any_database() {
        let e = Engine::builtin();
        assert_eq!(EICAR.len(), 68);
        assert_eq!(e.detect(EICAR), Some(EICAR_NAME));
        let mut padded = b"prefix ".to_vec();
        padded.extend_from_slice(EICAR);
        assert_eq!(e.detect(&padded), Some(EICAR_NAME));
        assert_eq!(e.detect(&EICAR[..67]), None);
        assert_eq!(e.signatures(), 1);
    }
}
