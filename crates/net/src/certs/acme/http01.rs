//! HTTP-01 (RFC 8555 §8.3): while an order is pending, the CA fetches
//! `http://HOST/.well-known/acme-challenge/TOKEN` on port 80 and expects the
//! key authorization as the body. The `http` listener asks [`Http01::answer`]
//! before anything else (its redirect to https included), for every client.

use std::collections::HashMap;
use std::sync::RwLock;

/// The path prefix the CA fetches (RFC 8555 §8.3).
pub const PATH_PREFIX: &str = "/.well-known/acme-challenge/";
/// The Content-Type of the answer (RFC 8555 §8.3: "application/octet-stream").
pub const CONTENT_TYPE: &str = "application/octet-stream";
/// The longest token accepted (RFC 8555 §8.3 asks for at least 128 bits of
/// entropy, 22 base64url characters; CAs use 43).
pub const MAX_TOKEN: usize = 128;

/// Token → key authorization of the orders in flight.
#[derive(Debug, Default)]
pub struct Http01(RwLock<HashMap<String, String>>);

impl Http01 {
    /// Answers `token` with `key_authorization` until [`Http01::clear`].
    pub fn set(&self, token: &str, key_authorization: &str) {
        let mut m = self.0.write().unwrap_or_else(|p| p.into_inner());
        m.insert(token.to_string(), key_authorization.to_string());
    }

    pub fn clear(&self) {
        self.0.write().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// The body for a request of `path`, when it is a pending challenge's.
    pub fn answer(&self, path: &str) -> Option<String> {
        let token = path.strip_prefix(PATH_PREFIX)?;
        if !valid_token(token) {
            return None;
        }
        let m = self.0.read().unwrap_or_else(|p| p.into_inner());
        m.get(token).cloned()
    }
}

/// RFC 8555 §8.3: the token is base64url without padding.
fn valid_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_TOKEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_token_is_answered_until_cleared() {
        let h = Http01::default();
        let path = "/.well-known/acme-challenge/abc-_9";
        assert_eq!(h.answer(path), None);
        h.set("abc-_9", "abc-_9.thumb");
        assert_eq!(h.answer(path).as_deref(), Some("abc-_9.thumb"));
        assert_eq!(h.answer("/.well-known/acme-challenge/other"), None);
        assert_eq!(h.answer("/abc-_9"), None);
        h.clear();
        assert_eq!(h.answer(path), None);
    }

    #[test]
    fn tokens_outside_base64url_or_too_long_are_not_looked_up() {
        let h = Http01::default();
        let long = "a".repeat(MAX_TOKEN + 1);
        h.set("a/b", "x");
        h.set(&long, "x");
        h.set(&long[1..], "y");
        assert_eq!(h.answer("/.well-known/acme-challenge/a/b"), None);
        assert_eq!(h.answer(&format!("{PATH_PREFIX}{long}")), None);
        let at_limit = format!("{PATH_PREFIX}{}", &long[1..]);
        assert_eq!(h.answer(&at_limit).as_deref(), Some("y"));
        assert_eq!(h.answer(PATH_PREFIX), None);
    }
}
