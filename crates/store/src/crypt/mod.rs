//! Encryption at rest (SPEC X9): message bodies and the queue's spool in the
//! chunked format of stream.rs, the database with SQLCipher; both keyed from
//! one random data key, wrapped in `DIR/encryption.json` (keyfile.rs) under
//! the admin's passphrase or key file. Conversion both ways: convert.rs.

mod async_body;
mod body_file;
pub mod convert;
mod convert_db;
mod db_key;
pub mod keyfile;
pub mod manage;
mod passphrase;
pub mod reader;
pub mod stream;

pub(crate) use async_body::AsyncBodyFile;
pub(crate) use body_file::{BodyFile, Forms};
pub use convert_db::convert_db;
pub(crate) use db_key::key_if_encrypted;
pub use db_key::{apply_db_key, db_is_plaintext, NEW_HMAC, OLD_HMAC};
pub use keyfile::{KeyFile, Mode};
pub use passphrase::{read_passphrase, set_key_file};

use crate::{Secret, StoreError};
use ring::hkdf;
use std::path::Path;
use std::sync::Arc;

/// The keys derived from the data key (HKDF-SHA256, RFC 5869): one for
/// bodies, one for the database, so neither cipher ever sees the other's key.
#[derive(Debug)]
pub struct AtRestKeys {
    pub(crate) blobs: Secret<[u8; 32]>,
    pub(crate) db: Secret<[u8; 32]>,
}

struct Len32;
impl hkdf::KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

fn derive(data_key: &[u8; 32], label: &[u8]) -> Secret<[u8; 32]> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"postern-at-rest-v1").extract(data_key);
    let mut out = [0u8; 32];
    prk.expand(&[label], Len32)
        .and_then(|okm| okm.fill(&mut out))
        .expect("32 octets is a valid HKDF length");
    let s = Secret::new(out);
    zeroize::Zeroize::zeroize(&mut out);
    s
}

impl AtRestKeys {
    pub fn from_data_key(data_key: &Secret<[u8; 32]>) -> AtRestKeys {
        AtRestKeys {
            blobs: derive(data_key.expose(), b"bodies"),
            db: derive(data_key.expose(), b"database"),
        }
    }
}

/// The keys of the store in `data_dir` and its mode, or None when it is not
/// encrypted. Asks for the passphrase (passphrase.rs) only when it is.
pub fn unlock(data_dir: &Path) -> Result<Option<(Arc<AtRestKeys>, Mode)>, StoreError> {
    let Some(file) = KeyFile::load(data_dir)? else {
        return Ok(None);
    };
    let pass = read_passphrase()?;
    let data_key = file.unwrap_key(pass.expose())?;
    Ok(Some((
        Arc::new(AtRestKeys::from_data_key(&data_key)),
        file.mode,
    )))
}

#[cfg(test)]
mod tests;
