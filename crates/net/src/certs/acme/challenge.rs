//! The certificates of TLS-ALPN-01 (RFC 8737 §3): self-signed, naming the
//! host being validated, with the critical acmeIdentifier extension holding
//! the SHA-256 of the key authorization; and the CSR of the real one.

use crate::certs::CertError;
use rcgen::{CertificateParams, CustomExtension, DistinguishedName, KeyPair};
use rustls::sign::CertifiedKey;

/// The ALPN protocol ID a CA's validation handshake offers (RFC 8737 §6.2).
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

fn rc(e: rcgen::Error) -> CertError {
    CertError::Acme(format!("cannot make a certificate: {e}"))
}

/// The challenge certificate for `host` and the key authorization's digest.
pub fn certificate(host: &str, digest: &[u8]) -> Result<CertifiedKey, CertError> {
    let key = KeyPair::generate().map_err(rc)?;
    let mut params = CertificateParams::new(vec![host.to_string()]).map_err(rc)?;
    params.distinguished_name = DistinguishedName::new();
    params.custom_extensions = vec![CustomExtension::new_acme_identifier(digest)];
    let cert = params.self_signed(&key).map_err(rc)?;
    let der = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der())
        .map_err(|e| CertError::Acme(e.to_string()))?;
    super::super::check::certified(vec![cert.der().clone()], &der)
}

/// A fresh ECDSA P-256 key and the DER CSR naming `hosts`: (CSR, key PEM).
pub fn request(hosts: &[String]) -> Result<(Vec<u8>, String), CertError> {
    let key = KeyPair::generate().map_err(rc)?;
    let params = CertificateParams::new(hosts.to_vec()).map_err(rc)?;
    let csr = params.serialize_request(&key).map_err(rc)?;
    Ok((csr.der().to_vec(), key.serialize_pem()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_certificate_carries_the_digest_critically() {
        let c = certificate("mx.a.test", &[7u8; 32]).unwrap();
        let (_, x) = x509_parser::parse_x509_certificate(c.cert[0].as_ref()).unwrap();
        let ext = x
            .extensions()
            .iter()
            .find(|e| e.oid.to_id_string() == "1.3.6.1.5.5.7.1.31")
            .expect("acmeIdentifier");
        assert!(ext.critical);
        // OCTET STRING (0x04) of 32 octets.
        assert_eq!(&ext.value[..2], &[0x04, 32]);
        assert_eq!(&ext.value[2..], &[7u8; 32]);
    }
}
