//! API tokens and session ids: 32 random bytes, base64url; only their
//! SHA-256 digest is stored ([`crate::auth::digest`]).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;

/// What every API token starts with, so a leaked one is recognisable.
pub const TOKEN_PREFIX: &str = "pst_";

/// 256 random bits, base64url without padding.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new API token and the digest to store.
pub fn new_token() -> (String, Vec<u8>) {
    let token = format!("{TOKEN_PREFIX}{}", random_secret());
    let digest = crate::auth::digest(&token);
    (token, digest)
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_long_and_distinct() {
        let (a, da) = super::new_token();
        let (b, _) = super::new_token();
        assert!(a.starts_with("pst_") && a.len() == 4 + 43, "{a}");
        assert_ne!(a, b);
        assert_eq!(da.len(), 32);
    }
}
