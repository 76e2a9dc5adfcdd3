//! `postern tls csr`: a new private key and a certificate signing request
//! (PKCS #10, RFC 2986) naming the host names in subjectAltName, for a CA
//! to sign. ECDSA P-256 by default; RSA keys of 2048 or 4096 bits for CAs
//! or clients that need RSA (generated with the `rsa` crate, since ring
//! cannot make RSA keys, then signed with through rcgen/ring).

use super::CertError;
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};

/// RSA sizes offered: below 2048 is refused by CAs (CA/B Baseline
/// Requirements §6.1.5), above 4096 only makes handshakes slower.
pub const RSA_BITS: [usize; 2] = [2048, 4096];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    EcdsaP256,
    Rsa(usize),
}

pub struct Request {
    /// PKCS #8 PEM.
    pub key_pem: String,
    pub csr_pem: String,
}

/// A fresh key and a CSR for `hosts` (the first is also the subject's CN).
pub fn request(hosts: &[String], kind: KeyKind) -> Result<Request, CertError> {
    let first = hosts
        .first()
        .ok_or_else(|| CertError::Invalid("give at least one --host".into()))?;
    let key = match kind {
        KeyKind::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        KeyKind::Rsa(bits) if RSA_BITS.contains(&bits) => rsa_key(bits),
        KeyKind::Rsa(bits) => {
            return Err(CertError::Invalid(format!(
                "--rsa {bits}: choose 2048 or 4096"
            )))
        }
    }
    .map_err(|e| CertError::Invalid(format!("cannot make the key: {e}")))?;
    let mut params = CertificateParams::new(hosts.to_vec())
        .map_err(|e| CertError::Invalid(format!("a host name is not valid: {e}")))?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, first.as_str());
    params.distinguished_name = dn;
    let csr = params
        .serialize_request(&key)
        .and_then(|r| r.pem())
        .map_err(|e| CertError::Invalid(format!("cannot make the request: {e}")))?;
    Ok(Request {
        key_pem: key.serialize_pem(),
        csr_pem: csr,
    })
}

fn rsa_key(bits: usize) -> Result<KeyPair, rcgen::Error> {
    use rsa::pkcs8::EncodePrivateKey;
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits)
        .map_err(|_| rcgen::Error::KeyGenerationUnavailable)?;
    let der = private
        .to_pkcs8_der()
        .map_err(|_| rcgen::Error::KeyGenerationUnavailable)?;
    let pkcs8 = rustls::pki_types::PrivatePkcs8KeyDer::from(der.as_bytes().to_vec());
    KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &rcgen::PKCS_RSA_SHA256)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ecdsa_request_names_every_host() {
        let hosts = vec!["mail.a.test".to_string(), "imap.a.test".to_string()];
        let r = request(&hosts, KeyKind::EcdsaP256).unwrap();
        assert!(r.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        use x509_parser::prelude::FromDer;
        let der = rustls_pemfile::csr(&mut r.csr_pem.as_bytes())
            .unwrap()
            .unwrap();
        let (_, csr) =
            x509_parser::certification_request::X509CertificationRequest::from_der(der.as_ref())
                .unwrap();
        let text = format!(
            "{:?}",
            csr.requested_extensions().map(|e| e.collect::<Vec<_>>())
        );
        assert!(
            text.contains("mail.a.test") && text.contains("imap.a.test"),
            "{text}"
        );
    }

    #[test]
    fn rsa_sizes_are_limited() {
        let hosts = vec!["a.test".to_string()];
        assert!(matches!(
            request(&hosts, KeyKind::Rsa(1024)),
            Err(CertError::Invalid(_))
        ));
        assert!(matches!(
            request(&[], KeyKind::EcdsaP256),
            Err(CertError::Invalid(_))
        ));
        let r = request(&hosts, KeyKind::Rsa(2048)).unwrap();
        assert!(r.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(r.csr_pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
    }
}
