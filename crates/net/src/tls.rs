//! TLS: generating a self-signed certificate unique to this installation
//! (X6), and loading a certificate + key into a rustls acceptor (TLS 1.2+).

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot generate certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{path}: no {what} found in PEM")]
    Missing { path: PathBuf, what: &'static str },
    #[error("certificate and key do not fit together or are unusable: {0}")]
    Rustls(#[from] rustls::Error),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The subject's organization of the certificate [`generate_self_signed`]
/// makes: how the server tells its own stand-in from an imported default.
pub const SELF_SIGNED_ORG: &str = "Postern self-signed";

/// Generates a fresh key pair and a self-signed certificate for `hostname`,
/// writing PEM files (key readable by the owner only). Never reuses a key.
pub fn generate_self_signed(
    hostname: &str,
    cert_path: &Path,
    key_path: &Path,
) -> Result<(), TlsError> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec![hostname.to_string()])?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, hostname);
    dn.push(DnType::OrganizationName, SELF_SIGNED_ORG);
    params.distinguished_name = dn;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(3650);
    let cert = params.self_signed(&key)?;
    for dir in [key_path.parent(), cert_path.parent()]
        .into_iter()
        .flatten()
    {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    write_private(key_path, key.serialize_pem().as_bytes())?;
    std::fs::write(cert_path, cert.pem()).map_err(io_err(cert_path))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io_err(path))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(io_err(path))
}

/// Loads PEM files into an acceptor offering TLS 1.2 and 1.3 with rustls' modern suites.
pub fn acceptor(cert_path: &Path, key_path: &Path) -> Result<TlsAcceptor, TlsError> {
    let certs = load_certs(cert_path)?;
    let key = load_key(key_path)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// An acceptor that picks the certificate per connection by SNI
/// ([`crate::certs::SniResolver`]), so imports reach new connections
/// without a restart.
pub fn acceptor_with(resolver: Arc<crate::certs::SniResolver>) -> Result<TlsAcceptor, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The same certificate, accepting only `protocol` in ALPN: a client that
/// offers ALPN without it (an HTTPS client sent to a mail port, ALPACA) is
/// refused with no_application_protocol (RFC 7301 §3.2). Clients that offer
/// no ALPN, as most mail clients, are unaffected.
pub fn with_alpn(
    acceptor: &TlsAcceptor,
    protocol: crate::cross_protocol::MailProtocol,
) -> TlsAcceptor {
    let mut config = (**acceptor.config()).clone();
    config.alpn_protocols = crate::cross_protocol::alpn_ids(protocol);
    TlsAcceptor::from(Arc::new(config))
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let data = std::fs::read(path).map_err(io_err(path))?;
    let certs = rustls_pemfile::certs(&mut data.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(io_err(path))?;
    if certs.is_empty() {
        return Err(TlsError::Missing {
            path: path.into(),
            what: "certificate",
        });
    }
    Ok(certs)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let data = std::fs::read(path).map_err(io_err(path))?;
    rustls_pemfile::private_key(&mut data.as_slice())
        .map_err(io_err(path))?
        .ok_or(TlsError::Missing {
            path: path.into(),
            what: "private key",
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_pairs_load_and_differ() {
        let d = tempfile::tempdir().unwrap();
        let (c1, k1) = (d.path().join("a/cert.pem"), d.path().join("a/key.pem"));
        let (c2, k2) = (d.path().join("b/cert.pem"), d.path().join("b/key.pem"));
        generate_self_signed("mx.example.org", &c1, &k1).unwrap();
        generate_self_signed("mx.example.org", &c2, &k2).unwrap();
        acceptor(&c1, &k1).unwrap();
        assert_ne!(std::fs::read(&k1).unwrap(), std::fs::read(&k2).unwrap());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&k1).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(matches!(acceptor(&c1, &c1), Err(TlsError::Missing { .. })));
    }
}
