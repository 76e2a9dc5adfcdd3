//! Where the server's nonces and challenges come from; tests fix them.

use rand::distr::{Alphanumeric, SampleString};
use rand::Rng;

/// Length of the printable nonces [`OsNonce`] makes (about 142 bits).
pub const TEXT_NONCE_LEN: usize = 24;

pub trait NonceSource {
    /// A fresh printable nonce: ASCII letters and digits in practice; it
    /// must not contain `,` (SCRAM, RFC 5802 §7) nor `"` or `\`.
    fn text(&mut self) -> String;
    /// A fresh 8-byte NTLM server challenge ([MS-NLMP] §2.2.1.2).
    fn challenge(&mut self) -> [u8; 8];
}

/// Nonces from the operating system's random generator.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsNonce;

impl NonceSource for OsNonce {
    fn text(&mut self) -> String {
        Alphanumeric.sample_string(&mut rand::rng(), TEXT_NONCE_LEN)
    }

    fn challenge(&mut self) -> [u8; 8] {
        rand::rng().random()
    }
}

/// The same nonce every time, for test vectors.
#[derive(Debug, Clone)]
pub struct FixedNonce {
    pub text: String,
    pub challenge: [u8; 8],
}

impl FixedNonce {
    pub fn new(text: &str) -> Self {
        FixedNonce {
            text: text.to_string(),
            challenge: [0; 8],
        }
    }
}

impl NonceSource for FixedNonce {
    fn text(&mut self) -> String {
        self.text.clone()
    }

    fn challenge(&mut self) -> [u8; 8] {
        self.challenge
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_nonces_are_printable_and_fresh() {
        let (a, b) = (OsNonce.text(), OsNonce.text());
        assert_eq!(a.len(), TEXT_NONCE_LEN);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
        assert_ne!(OsNonce.challenge(), OsNonce.challenge());
    }
}
