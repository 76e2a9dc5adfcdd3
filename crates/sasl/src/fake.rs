//! Deterministic stand-ins for the secrets of users who do not exist (or
//! have no secret for the mechanism), so that an unknown user walks the same
//! steps, sees the same salt every time and fails with the same error as a
//! wrong password.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// `out.len()` bytes of HMAC-SHA-256(server secret, purpose ‖ 0 ‖ name ‖ 0 ‖ i).
pub(crate) fn fake_bytes(server_secret: &[u8; 32], purpose: &str, name: &str, out: &mut [u8]) {
    for (i, chunk) in out.chunks_mut(32).enumerate() {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(server_secret)
            .expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(name.as_bytes());
        mac.update(&[0, i as u8]);
        let block = mac.finalize().into_bytes();
        chunk.copy_from_slice(&block[..chunk.len()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_separated() {
        let k = [7u8; 32];
        let (mut a, mut b, mut c) = ([0u8; 40], [0u8; 40], [0u8; 40]);
        fake_bytes(&k, "salt", "nobody", &mut a);
        fake_bytes(&k, "salt", "nobody", &mut b);
        fake_bytes(&k, "salt", "nobody2", &mut c);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a[..32], a[8..]);
    }
}
