//! Where a domain's aggregate DMARC reports go (RFC 7489 §6.3 `rua`), for
//! the record `postern dns` prints: an address that is delivered here, so
//! the reports do not bounce or leak.

use crate::db::Db;
use crate::domains::domain_id;
use crate::domains::Domains;
use crate::resolve::Resolve;
use postern_store::StoreError;
use rusqlite::{params, OptionalExtension};

pub trait DmarcRua: Db + Domains + Resolve {
    /// Sets (or with `None` clears) `domain`'s DMARC report address; it must
    /// be an address of a local domain that delivers somewhere.
    fn domain_set_dmarc_rua(&self, domain: &str, rua: Option<&str>) -> Result<(), StoreError> {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        if let Some(address) = rua {
            let local = crate::address::split_address(address)
                .map(|(_, d)| self.is_local_domain(&d))
                .transpose()?
                .unwrap_or(false);
            if !local || self.expand(address)?.is_empty() {
                return Err(StoreError::Invalid(format!(
                    "DMARC reports must go to a local address: {address} is not one"
                )));
            }
        }
        let n = self.conn().execute(
            "UPDATE domains SET dmarc_rua = ?2 WHERE name = ?1",
            params![domain, rua],
        )?;
        match n {
            0 => Err(StoreError::NotFound(format!("domain {domain}"))),
            _ => Ok(()),
        }
    }

    /// `domain`'s DMARC report address, if set; `NotFound` for an unknown domain.
    fn domain_dmarc_rua(&self, domain: &str) -> Result<Option<String>, StoreError> {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        let conn = self.reader()?;
        if domain_id(&conn, &domain)?.is_none() {
            return Err(StoreError::NotFound(format!("domain {domain}")));
        }
        Ok(conn
            .query_row(
                "SELECT dmarc_rua FROM domains WHERE name = ?1",
                [&domain],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()?
            .flatten())
    }
}

impl DmarcRua for postern_store::Store {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;
    use postern_store::{Secret, Store};

    #[test]
    fn set_read_clear_and_refusals() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        s.domain_add("example.org").unwrap();
        s.user_add(
            "alice@example.org",
            &Secret::new("pw-Long-enough-1".into()),
            "",
            0,
        )
        .unwrap();
        assert_eq!(s.domain_dmarc_rua("example.org").unwrap(), None);
        s.domain_set_dmarc_rua("Example.org", Some("alice@example.org"))
            .unwrap();
        assert_eq!(
            s.domain_dmarc_rua("example.org").unwrap().as_deref(),
            Some("alice@example.org")
        );
        for bad in ["nobody@example.org", "x@elsewhere.test", "no-at"] {
            let e = s
                .domain_set_dmarc_rua("example.org", Some(bad))
                .unwrap_err();
            assert!(
                e.to_string().contains("must go to a local address"),
                "{bad}: {e}"
            );
        }
        s.domain_set_dmarc_rua("example.org", None).unwrap();
        assert_eq!(s.domain_dmarc_rua("example.org").unwrap(), None);
        assert!(matches!(
            s.domain_dmarc_rua("other.test"),
            Err(StoreError::NotFound(_))
        ));
    }
}
