//! What an import must pass before it is stored: the key is the leaf's
//! (rustls compares their public keys), the chain leads from the leaf
//! through the intermediates given to a trust anchor (rustls' webpki
//! verifier: issuer names, signatures, validity now, serverAuth), and the
//! leaf is valid for every host name it will be served for. The anchor is
//! the last certificate of the file (the top intermediate, or a root) or a
//! root of the system's store: a leaf whose issuer is in neither is missing
//! its intermediates, which clients would not find either.

use super::CertError;
use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;
use std::sync::Arc;

/// An import that passed.
pub struct Checked {
    pub certs: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    /// The names it is served for (lower case).
    pub hosts: Vec<String>,
}

/// Checks PEM `cert` (leaf first, then intermediates) and `key` for `hosts`
/// (empty: every DNS name of the leaf's subjectAltName) at `now`.
pub fn check(
    cert: &[u8],
    key: &[u8],
    hosts: &[String],
    now: UnixTime,
) -> Result<Checked, CertError> {
    let certs = parse_certs(cert)?;
    let key = parse_key(key)?;
    keys_match(&certs, &key)?;
    let hosts = match hosts {
        [] => super::dir::dns_names(&certs[0])?,
        given => given
            .iter()
            .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
            .collect(),
    };
    if hosts.is_empty() {
        return Err(CertError::Invalid(
            "the certificate names no host (no DNS name in subjectAltName): give --host".into(),
        ));
    }
    let verifier = verifier(&certs)?;
    for host in &hosts {
        let name = ServerName::try_from(probe_name(host))
            .map_err(|_| CertError::Invalid(format!("`{host}` is not a host name")))?;
        match verifier.verify_server_cert(&certs[0], &certs[1..], &name, &[], now) {
            Ok(_) => {}
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) => return Err(CertError::HostNotCovered(host.clone())),
            Err(
                e @ rustls::Error::InvalidCertificate(
                    rustls::CertificateError::Expired
                    | rustls::CertificateError::ExpiredContext { .. }
                    | rustls::CertificateError::NotValidYet
                    | rustls::CertificateError::NotValidYetContext { .. },
                ),
            ) => return Err(CertError::Validity(e.to_string())),
            Err(e) => return Err(CertError::Chain(e.to_string())),
        }
    }
    Ok(Checked { certs, key, hosts })
}

/// The name verified for `host`: a wildcard (`*.example.org`, served to
/// any one label there) is checked with a label standing in for the `*`.
fn probe_name(host: &str) -> String {
    match host.strip_prefix("*.") {
        Some(parent) => format!("wildcard-probe.{parent}"),
        None => host.to_string(),
    }
}

pub fn parse_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, CertError> {
    let certs = rustls_pemfile::certs(&mut &pem[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CertError::Pem(format!("the certificate file is not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(CertError::Pem(
            "no CERTIFICATE in the certificate file".into(),
        ));
    }
    Ok(certs)
}

pub fn parse_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, CertError> {
    rustls_pemfile::private_key(&mut &pem[..])
        .map_err(|e| CertError::Pem(format!("the key file is not PEM: {e}")))?
        .ok_or_else(|| CertError::Pem("no PRIVATE KEY in the key file".into()))
}

/// The signing key for `key`, if rustls can use it (RSA, ECDSA, Ed25519).
pub fn certified(
    certs: Vec<CertificateDer<'static>>,
    key: &PrivateKeyDer<'static>,
) -> Result<CertifiedKey, CertError> {
    let signer = rustls::crypto::ring::sign::any_supported_type(key)
        .map_err(|e| CertError::Pem(format!("unusable private key: {e}")))?;
    Ok(CertifiedKey::new(certs, signer))
}

fn keys_match(
    certs: &[CertificateDer<'static>],
    key: &PrivateKeyDer<'static>,
) -> Result<(), CertError> {
    certified(certs.to_vec(), key)?
        .keys_match()
        .map_err(|e| CertError::KeyMismatch(e.to_string()))
}

/// A verifier trusting the system's roots and the file's last certificate.
fn verifier(certs: &[CertificateDer<'static>]) -> Result<Arc<WebPkiServerVerifier>, CertError> {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let top = certs.last().expect("parse_certs returns at least one");
    roots
        .add(top.clone())
        .map_err(|e| CertError::Chain(format!("the last certificate: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| CertError::Chain(e.to_string()))
}

#[cfg(test)]
mod tests;
