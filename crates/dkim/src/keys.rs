//! DKIM key pairs and the TXT record that publishes the public half
//! (RFC 6376 §3.6.1; Ed25519: RFC 8463 §4).

use crate::DkimError;
use base64::Engine;
use mail_auth::dkim::generate::DkimKeyPair;
use zeroize::Zeroizing;

/// RSA modulus size of generated keys: RFC 8301 §3.2 wants at least 1024
/// bits and recommends 2048; longer keys no longer fit one TXT string well.
pub const RSA_BITS: usize = 2048;

/// A TXT record string holds at most this many octets (RFC 1035 §3.3.14).
pub const TXT_STRING_MAX: usize = 255;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// rsa-sha256 (RFC 6376 §3.3.1, RFC 8301).
    Rsa,
    /// ed25519-sha256 (RFC 8463).
    Ed25519,
}

impl Algorithm {
    /// The name stored and shown, also the `k=` tag value.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Rsa => "rsa",
            Algorithm::Ed25519 => "ed25519",
        }
    }

    pub fn parse(name: &str) -> Option<Algorithm> {
        match name.to_ascii_lowercase().as_str() {
            "rsa" => Some(Algorithm::Rsa),
            "ed25519" => Some(Algorithm::Ed25519),
            _ => None,
        }
    }
}

/// A fresh key pair.
pub struct GeneratedKey {
    pub algorithm: Algorithm,
    /// What `p=` carries: RSA as SubjectPublicKeyInfo DER, Ed25519 as the raw 32 octets.
    pub public_key: Vec<u8>,
    /// RSA as PKCS#1 DER, Ed25519 as PKCS#8 DER.
    pub private_key: Zeroizing<Vec<u8>>,
}

/// Makes a key pair.
pub fn generate(algorithm: Algorithm) -> Result<GeneratedKey, DkimError> {
    let pair = match algorithm {
        Algorithm::Rsa => DkimKeyPair::generate_rsa(RSA_BITS),
        Algorithm::Ed25519 => DkimKeyPair::generate_ed25519(),
    }
    .map_err(|e| DkimError::Generate(e.to_string()))?;
    let (private, public) = pair.into_inner();
    let public_key = match algorithm {
        Algorithm::Rsa => rsa_spki(&public),
        Algorithm::Ed25519 => public,
    };
    Ok(GeneratedKey {
        algorithm,
        public_key,
        private_key: Zeroizing::new(private),
    })
}

/// The TXT record text: `v=DKIM1; k=rsa; p=…`.
pub fn txt_record(algorithm: Algorithm, public_key: &[u8]) -> String {
    let p = base64::engine::general_purpose::STANDARD.encode(public_key);
    format!("v=DKIM1; k={}; p={p}", algorithm.name())
}

/// Where the record lives: `SELECTOR._domainkey.DOMAIN` (RFC 6376 §3.6.2.1).
pub fn record_name(selector: &str, domain: &str) -> String {
    format!("{selector}._domainkey.{}", domain.trim_end_matches('.'))
}

/// `text` as zone-file character strings, each at most 255 octets, quoted:
/// `"…" "…"` (RFC 1035 §5.1; a TXT record's strings are joined, RFC 6376 §3.6.2.2).
pub fn zone_strings(text: &str) -> String {
    text.as_bytes()
        .chunks(TXT_STRING_MAX)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// PKCS#1 RSAPublicKey wrapped as SubjectPublicKeyInfo (RFC 5280 §4.1.2.7,
/// algorithm rsaEncryption with NULL parameters, RFC 3279 §2.3.1): the form
/// OpenDKIM and most verifiers read from `p=`.
fn rsa_spki(pkcs1: &[u8]) -> Vec<u8> {
    const RSA_ALGORITHM: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut bits = vec![0u8]; // no unused bits
    bits.extend_from_slice(pkcs1);
    let mut inner = RSA_ALGORITHM.to_vec();
    inner.extend(der(0x03, &bits));
    der(0x30, &inner)
}

/// One DER element: tag, definite length (X.690 §8.1.3), content.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_public_key_is_published_as_subject_public_key_info() {
        let k = generate(Algorithm::Rsa).unwrap();
        let txt = txt_record(k.algorithm, &k.public_key);
        // What `openssl rsa -pubout` prints for every 2048-bit key starts so.
        assert!(
            txt.starts_with("v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"),
            "{txt}"
        );
        assert_eq!(k.public_key.len(), 294);
    }

    #[test]
    fn ed25519_public_key_is_the_raw_32_octets() {
        let k = generate(Algorithm::Ed25519).unwrap();
        assert_eq!(k.public_key.len(), 32);
        assert!(txt_record(k.algorithm, &k.public_key).starts_with("v=DKIM1; k=ed25519; p="));
    }

    #[test]
    fn long_records_are_split_at_255_octets() {
        let text = "a".repeat(TXT_STRING_MAX + 10);
        let z = zone_strings(&text);
        assert_eq!(z, format!("\"{}\" \"{}\"", "a".repeat(255), "a".repeat(10)));
        assert_eq!(zone_strings("v=DKIM1"), "\"v=DKIM1\"");
    }

    #[test]
    fn der_lengths() {
        assert_eq!(der(0x04, &[1, 2]), [0x04, 2, 1, 2]);
        assert_eq!(&der(0x04, &[0; 200])[..3], [0x04, 0x81, 200]);
        assert_eq!(&der(0x04, &[0; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
    }

    #[test]
    fn algorithm_names() {
        assert_eq!(Algorithm::parse("RSA"), Some(Algorithm::Rsa));
        assert_eq!(Algorithm::parse("ed25519"), Some(Algorithm::Ed25519));
        assert_eq!(Algorithm::parse("dsa"), None);
        assert_eq!(
            record_name("s1", "example.org."),
            "s1._domainkey.example.org"
        );
    }
}
