//! The certificate a handshake gets: the one whose host names include the
//! client's SNI name (exactly, or `*.parent` for one label, RFC 6125 §6.4.3),
//! else the default. The table is swapped whole on reload, so a handshake
//! sees either the old set or the new one, and holds the lock only to clone
//! an `Arc`.

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Host name (lower case, `*.` for wildcards) → certificate, and the default.
#[derive(Debug)]
pub struct Table {
    pub by_host: HashMap<String, Arc<CertifiedKey>>,
    pub default: Arc<CertifiedKey>,
}

impl Table {
    pub fn lookup(&self, sni: Option<&str>) -> Arc<CertifiedKey> {
        let Some(name) = sni.map(|n| n.trim_end_matches('.').to_ascii_lowercase()) else {
            return self.default.clone();
        };
        let wildcard = name
            .split_once('.')
            .map(|(_, parent)| format!("*.{parent}"));
        self.by_host
            .get(&name)
            .or_else(|| wildcard.and_then(|w| self.by_host.get(&w)))
            .unwrap_or(&self.default)
            .clone()
    }
}

#[derive(Debug)]
pub struct SniResolver(
    RwLock<Arc<Table>>,
    RwLock<HashMap<String, Arc<CertifiedKey>>>,
);

impl SniResolver {
    pub fn new(table: Table) -> SniResolver {
        SniResolver(RwLock::new(Arc::new(table)), RwLock::default())
    }

    /// Answers an ACME TLS-ALPN-01 validation of `host` with `cert` (RFC 8737 §3).
    pub fn set_challenge(&self, host: &str, cert: CertifiedKey) {
        let mut c = self.1.write().unwrap_or_else(|p| p.into_inner());
        c.insert(host.to_ascii_lowercase(), Arc::new(cert));
    }

    pub fn clear_challenges(&self) {
        self.1.write().unwrap_or_else(|p| p.into_inner()).clear();
    }

    fn challenge(&self, sni: Option<&str>) -> Option<Arc<CertifiedKey>> {
        let name = sni?.trim_end_matches('.').to_ascii_lowercase();
        self.1
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&name)
            .cloned()
    }

    /// New connections get `table` from now on.
    pub fn replace(&self, table: Table) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(table);
    }

    pub fn table(&self) -> Arc<Table> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // RFC 8737 §3: a validation offers only acme-tls/1 and gets the
        // challenge certificate, or the handshake fails.
        let acme = super::acme::challenge::ACME_TLS_ALPN;
        if hello.alpn().is_some_and(|mut p| p.any(|p| p == acme)) {
            return self.challenge(hello.server_name());
        }
        Some(self.table().lookup(hello.server_name()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::CertificateDer;

    fn key(tag: u8) -> Arc<CertifiedKey> {
        let pair = rcgen::KeyPair::generate().unwrap();
        let der = rustls::pki_types::PrivateKeyDer::try_from(pair.serialize_der()).unwrap();
        let signer = rustls::crypto::ring::sign::any_supported_type(&der).unwrap();
        Arc::new(CertifiedKey::new(
            vec![CertificateDer::from(vec![tag])],
            signer,
        ))
    }

    fn tag(k: &CertifiedKey) -> u8 {
        k.cert[0].as_ref()[0]
    }

    #[test]
    fn exact_then_wildcard_then_default() {
        let table = Table {
            by_host: HashMap::from([("mail.a.test".into(), key(1)), ("*.b.test".into(), key(2))]),
            default: key(0),
        };
        assert_eq!(tag(&table.lookup(Some("MAIL.a.test."))), 1);
        assert_eq!(tag(&table.lookup(Some("imap.b.test"))), 2);
        // A wildcard covers one label only.
        assert_eq!(tag(&table.lookup(Some("x.imap.b.test"))), 0);
        assert_eq!(tag(&table.lookup(Some("b.test"))), 0);
        assert_eq!(tag(&table.lookup(Some("other.test"))), 0);
        assert_eq!(tag(&table.lookup(None)), 0);
    }

    #[test]
    fn a_replaced_table_serves_from_then_on() {
        let r = SniResolver::new(Table {
            by_host: HashMap::new(),
            default: key(0),
        });
        let before = r.table();
        r.replace(Table {
            by_host: HashMap::from([("a.test".into(), key(1))]),
            default: key(0),
        });
        assert_eq!(tag(&before.lookup(Some("a.test"))), 0);
        assert_eq!(tag(&r.table().lookup(Some("a.test"))), 1);
    }
}
