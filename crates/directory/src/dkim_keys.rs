//! DKIM keys (SPEC P8): one per domain and selector, several per domain
//! (an RSA and an Ed25519 key sign side by side, RFC 8463 §6). The public key
//! is kept as published; the private key is sealed with the server key
//! (seal.rs, the domain and selector as associated data), never plaintext
//! on disk. The keys go with their domain.
//!
//! The store keeps bytes and names only: making keys and signing is
//! postern-dkim's.

use crate::address::valid_domain;
use crate::db::{now, Db};
use crate::domains::domain_id;
use postern_store::{Secret, StoreError};
use rusqlite::{params, OptionalExtension};

/// A key as `postern dkim list` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DkimKey {
    pub domain: String,
    pub selector: String,
    /// `rsa` or `ed25519` (the `k=` tag, RFC 6376 §3.6.1, RFC 8463).
    pub algorithm: String,
    /// DER as published in `p=`.
    pub public_key: Vec<u8>,
    pub created: i64,
}

/// A key to sign with, opened.
#[derive(Debug)]
pub struct DkimPrivateKey {
    pub selector: String,
    pub algorithm: String,
    pub private_key: Secret<Vec<u8>>,
}

/// A new key for [`DkimKeys::dkim_key_add`].
pub struct NewDkimKey<'a> {
    pub domain: &'a str,
    pub selector: &'a str,
    pub algorithm: &'a str,
    pub public_key: &'a [u8],
    pub private_key: &'a [u8],
}

/// Binds a sealed key to its domain and selector.
fn aad(domain: &str, selector: &str) -> Vec<u8> {
    format!(
        "postern-dkim-key-v1\0{}\0{}",
        domain.to_ascii_lowercase(),
        selector.to_ascii_lowercase()
    )
    .into_bytes()
}

/// RFC 6376 §3.1: a selector is one or more domain-name labels.
fn valid_selector(selector: &str) -> bool {
    valid_domain(selector) && selector.is_ascii()
}

pub trait DkimKeys: Db {
    /// Stores a key; the domain must be local and the selector new for it.
    fn dkim_key_add(&self, key: &NewDkimKey<'_>) -> Result<(), StoreError> {
        let domain = key.domain.trim_end_matches('.').to_ascii_lowercase();
        if !valid_selector(key.selector) {
            return Err(StoreError::Invalid(format!(
                "`{}` is not a selector (letters, digits, hyphens, dots)",
                key.selector
            )));
        }
        let selector = key.selector.to_ascii_lowercase();
        let sealed = self
            .store()
            .seal(&aad(&domain, &selector), key.private_key)?;
        let conn = self.conn();
        let id = domain_id(&conn, &domain)?.ok_or_else(|| {
            StoreError::Invalid(format!(
                "domain {domain} is not a local domain: add it first with `postern domain add {domain}`"
            ))
        })?;
        let taken: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM dkim_keys WHERE domain_id = ?1 AND selector = ?2",
                params![id, selector],
                |r| r.get(0),
            )
            .optional()?;
        if taken.is_some() {
            return Err(StoreError::Exists(format!(
                "DKIM selector {selector} of {domain}"
            )));
        }
        conn.execute(
            "INSERT INTO dkim_keys (domain_id, selector, algorithm, public_key, sealed, created) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, selector, key.algorithm, key.public_key, sealed, now()],
        )?;
        Ok(())
    }

    /// Every key, or one domain's, by domain then selector.
    fn dkim_keys(&self, domain: Option<&str>) -> Result<Vec<DkimKey>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare(
            "SELECT d.name, k.selector, k.algorithm, k.public_key, k.created \
             FROM dkim_keys k JOIN domains d ON d.id = k.domain_id \
             WHERE ?1 IS NULL OR d.name = ?1 ORDER BY d.name, k.selector",
        )?;
        let domain = domain.map(|d| d.trim_end_matches('.').to_ascii_lowercase());
        let rows = st.query_map([domain], |r| {
            Ok(DkimKey {
                domain: r.get(0)?,
                selector: r.get(1)?,
                algorithm: r.get(2)?,
                public_key: r.get(3)?,
                created: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deletes one key.
    fn dkim_key_del(&self, domain: &str, selector: &str) -> Result<(), StoreError> {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        let n = self.conn().execute(
            "DELETE FROM dkim_keys WHERE selector = ?2 \
             AND domain_id = (SELECT id FROM domains WHERE name = ?1)",
            params![domain, selector],
        )?;
        match n {
            0 => Err(StoreError::NotFound(format!(
                "DKIM selector {selector} of {domain}"
            ))),
            _ => Ok(()),
        }
    }

    /// The keys `domain` signs with, opened (none for a domain without keys
    /// or not local). A key whose seal does not open (another server key
    /// file) is an error: mail must not leave unsigned by surprise.
    fn dkim_signing_keys(&self, domain: &str) -> Result<Vec<DkimPrivateKey>, StoreError> {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        let rows: Vec<(String, String, Vec<u8>)> = {
            let conn = self.reader()?;
            let mut st = conn.prepare_cached(
                "SELECT k.selector, k.algorithm, k.sealed FROM dkim_keys k \
                 JOIN domains d ON d.id = k.domain_id WHERE d.name = ?1 ORDER BY k.selector",
            )?;
            let rows = st.query_map([&domain], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        if rows.is_empty() {
            return Ok(vec![]);
        }
        rows.into_iter()
            .map(|(selector, algorithm, sealed)| {
                let opened = self
                    .store()
                    .unseal(&aad(&domain, &selector), &sealed)?
                    .ok_or_else(|| {
                        StoreError::Invalid(format!(
                            "DKIM key {selector} of {domain} does not open with this server key"
                        ))
                    })?;
                Ok(DkimPrivateKey {
                    selector,
                    algorithm,
                    private_key: Secret::new(opened.to_vec()),
                })
            })
            .collect()
    }
}

impl DkimKeys for postern_store::Store {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;
    use postern_store::Store;

    fn store() -> (tempfile::TempDir, Store) {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        s.domain_add("example.org").unwrap();
        (d, s)
    }

    fn key<'a>(domain: &'a str, selector: &'a str) -> NewDkimKey<'a> {
        NewDkimKey {
            domain,
            selector,
            algorithm: "ed25519",
            public_key: b"public",
            private_key: b"private bytes",
        }
    }

    #[test]
    fn added_listed_opened_deleted() {
        let (_d, s) = store();
        s.dkim_key_add(&key("Example.ORG", "S1")).unwrap();
        s.dkim_key_add(&key("example.org", "s2")).unwrap();
        let listed = s.dkim_keys(None).unwrap();
        let names: Vec<_> = listed.iter().map(|k| (&*k.domain, &*k.selector)).collect();
        assert_eq!(names, [("example.org", "s1"), ("example.org", "s2")]);
        assert_eq!(listed[0].public_key, b"public");
        let signing = s.dkim_signing_keys("EXAMPLE.org").unwrap();
        assert_eq!(signing.len(), 2);
        assert_eq!(signing[0].private_key.expose(), b"private bytes");
        s.dkim_key_del("example.org", "s1").unwrap();
        assert_eq!(s.dkim_keys(Some("example.org")).unwrap().len(), 1);
        assert!(matches!(
            s.dkim_key_del("example.org", "s1"),
            Err(StoreError::NotFound(_))
        ));
    }

    #[test]
    fn refusals_unknown_domain_duplicate_selector_bad_selector() {
        let (_d, s) = store();
        let e = s.dkim_key_add(&key("other.example", "s1")).unwrap_err();
        assert!(e.to_string().contains("not a local domain"), "{e}");
        s.dkim_key_add(&key("example.org", "s1")).unwrap();
        let e = s.dkim_key_add(&key("example.org", "S1")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "DKIM selector s1 of example.org already exists"
        );
        let e = s.dkim_key_add(&key("example.org", "a b")).unwrap_err();
        assert!(matches!(e, StoreError::Invalid(_)), "{e}");
    }

    #[test]
    fn private_key_is_sealed_and_bound_to_its_selector() {
        let (_d, s) = store();
        s.dkim_key_add(&key("example.org", "s1")).unwrap();
        s.dkim_key_add(&key("example.org", "s2")).unwrap();
        let conn = s.db_write();
        let sealed: Vec<u8> = conn
            .query_row(
                "SELECT sealed FROM dkim_keys WHERE selector = 's1'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(!sealed.windows(7).any(|w| w == b"private"));
        // A row moved to another selector no longer opens.
        conn.execute(
            "UPDATE dkim_keys SET sealed = ?1 WHERE selector = 's2'",
            [&sealed],
        )
        .unwrap();
        drop(conn);
        let e = s.dkim_signing_keys("example.org").unwrap_err().to_string();
        assert!(e.contains("does not open"), "{e}");
    }

    #[test]
    fn keys_go_with_their_domain() {
        let (_d, s) = store();
        s.dkim_key_add(&key("example.org", "s1")).unwrap();
        s.domain_del("example.org").unwrap();
        assert!(s.dkim_keys(None).unwrap().is_empty());
        assert!(s.dkim_signing_keys("example.org").unwrap().is_empty());
    }
}
