//! Sealing secrets at rest with the server key (server_key.rs):
//! ChaCha20-Poly1305 (RFC 8439), a random nonce each, and associated data
//! that names what the secret belongs to, so a sealed value cannot be moved
//! to another owner. Stored as nonce ‖ ciphertext ‖ tag.

use crate::server_key::ServerKeys;
use crate::StoreError;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use zeroize::Zeroizing;

fn key(keys: &ServerKeys) -> LessSafeKey {
    let unbound = UnboundKey::new(&CHACHA20_POLY1305, keys.seal.expose()).expect("32-byte key");
    LessSafeKey::new(unbound)
}

/// Seals `plain`, bound to `aad`.
pub(crate) fn seal(keys: &ServerKeys, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, StoreError> {
    let nonce: [u8; NONCE_LEN] = rand::random();
    let mut out = nonce.to_vec();
    let mut body = plain.to_vec();
    key(keys)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut body,
        )
        .map_err(|_| StoreError::Invalid("cannot seal a secret".into()))?;
    out.extend_from_slice(&body);
    Ok(out)
}

/// `None` when the seal does not open (another key file, a moved row).
pub(crate) fn open(keys: &ServerKeys, aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let (nonce, body) = sealed.split_at_checked(NONCE_LEN)?;
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut body = Zeroizing::new(body.to_vec());
    let len = key(keys)
        .open_in_place(nonce, Aad::from(aad), &mut body)
        .ok()?
        .len();
    body.truncate(len);
    Some(body)
}
