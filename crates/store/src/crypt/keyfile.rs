//! `DIR/encryption.json`: the data key, wrapped (ChaCha20-Poly1305, RFC 8439)
//! with a key-encryption key derived by Argon2id (RFC 9106) from the admin's
//! passphrase or key file, with the salt and cost parameters beside it; and
//! the store's mode. Written whole to a temporary file, fsync'd and renamed,
//! so a crash leaves the old file or the new one.
//!
//! A wrong passphrase fails the unwrap (the AEAD tag), before anything else
//! is read or written.

use crate::{Secret, StoreError};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "encryption.json";
const VERSION: u32 = 1;
const WRAP_AAD: &[u8] = b"postern-data-key-v1";
/// Argon2id costs for new files: OWASP's first recommendation (19 MiB, 2 passes).
pub const KDF_MEMORY_KIB: u32 = 19 * 1024;
pub const KDF_PASSES: u32 = 2;
pub const KDF_LANES: u32 = 1;

/// What the store is, or is becoming.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Everything encrypted.
    On,
    /// `encryption enable` was interrupted: run it again.
    Enabling,
    /// `encryption disable` was interrupted: run it again.
    Disabling,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyFile {
    pub version: u32,
    pub mode: Mode,
    pub cipher: String,
    pub kdf: String,
    pub kdf_memory_kib: u32,
    pub kdf_passes: u32,
    pub kdf_lanes: u32,
    /// Hex.
    pub salt: String,
    /// Hex: nonce ‖ wrapped data key ‖ tag.
    pub wrapped_key: String,
}

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

fn kek(passphrase: &[u8], f: &KeyFile) -> Result<Secret<[u8; 32]>, StoreError> {
    let salt = hex_decode(&f.salt).ok_or_else(|| bad(&f.salt))?;
    let params = argon2::Params::new(f.kdf_memory_kib, f.kdf_passes, f.kdf_lanes, Some(32))
        .map_err(|e| StoreError::Invalid(format!("{FILE_NAME}: KDF parameters: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    argon
        .hash_password_into(passphrase, &salt, &mut out)
        .map_err(|e| StoreError::Invalid(format!("{FILE_NAME}: KDF: {e}")))?;
    let key = Secret::new(out);
    zeroize::Zeroize::zeroize(&mut out);
    Ok(key)
}

fn bad(what: &str) -> StoreError {
    StoreError::Invalid(format!("{FILE_NAME}: damaged ({what:.16}…)"))
}

fn aead(kek: &Secret<[u8; 32]>) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, kek.expose()).expect("32-byte key"))
}

impl KeyFile {
    /// Wraps a new random data key under `passphrase`; returns both.
    pub fn create(
        passphrase: &[u8],
        mode: Mode,
    ) -> Result<(KeyFile, Secret<[u8; 32]>), StoreError> {
        let data_key = Secret::new(rand::random::<[u8; 32]>());
        let mut f = KeyFile {
            version: VERSION,
            mode,
            cipher: "chacha20-poly1305".into(),
            kdf: "argon2id".into(),
            kdf_memory_kib: KDF_MEMORY_KIB,
            kdf_passes: KDF_PASSES,
            kdf_lanes: KDF_LANES,
            salt: hex_encode(&rand::random::<[u8; 16]>()),
            wrapped_key: String::new(),
        };
        let nonce: [u8; NONCE_LEN] = rand::random();
        let mut body = data_key.expose().to_vec();
        aead(&kek(passphrase, &f)?)
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(WRAP_AAD),
                &mut body,
            )
            .map_err(|_| StoreError::Invalid("cannot wrap the data key".into()))?;
        f.wrapped_key = hex_encode(&[&nonce[..], &body].concat());
        Ok((f, data_key))
    }

    /// The data key, or an error saying the passphrase (or key file) is wrong.
    pub fn unwrap_key(&self, passphrase: &[u8]) -> Result<Secret<[u8; 32]>, StoreError> {
        let wrapped = hex_decode(&self.wrapped_key).ok_or_else(|| bad(&self.wrapped_key))?;
        let (nonce, body) = wrapped
            .split_at_checked(NONCE_LEN)
            .ok_or_else(|| bad("key"))?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| bad("nonce"))?;
        let mut body = zeroize::Zeroizing::new(body.to_vec());
        let plain = aead(&kek(passphrase, self)?)
            .open_in_place(nonce, Aad::from(WRAP_AAD), &mut body)
            .map_err(|_| {
                StoreError::Invalid(
                    "wrong passphrase or key file: the data key does not unwrap \
                     (nothing was read or changed)"
                        .into(),
                )
            })?;
        let key: [u8; 32] = plain.try_into().map_err(|_| bad("key length"))?;
        Ok(Secret::new(key))
    }

    /// Reads `DIR/encryption.json`; None when the store is not encrypted.
    pub fn load(data_dir: &Path) -> Result<Option<KeyFile>, StoreError> {
        let p = path(data_dir);
        let text = match std::fs::read_to_string(&p) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io(&p, e)),
        };
        let f: KeyFile = serde_json::from_str(&text)
            .map_err(|e| StoreError::Invalid(format!("{}: {e}", p.display())))?;
        if f.version != VERSION || f.cipher != "chacha20-poly1305" || f.kdf != "argon2id" {
            return Err(StoreError::Invalid(format!(
                "{}: version {}, {}, {} is not supported",
                p.display(),
                f.version,
                f.cipher,
                f.kdf
            )));
        }
        Ok(Some(f))
    }

    /// Writes the file atomically (temporary file, fsync, rename, fsync dir).
    pub fn save(&self, data_dir: &Path) -> Result<(), StoreError> {
        let p = path(data_dir);
        let tmp = data_dir.join(format!(".{FILE_NAME}.tmp"));
        let text = serde_json::to_string_pretty(self).expect("serializable") + "\n";
        write_synced(&tmp, text.as_bytes())?;
        std::fs::rename(&tmp, &p).map_err(|e| StoreError::io(&p, e))?;
        crate::blob::sync_dir(data_dir)
    }

    /// Removes the file (the store is plaintext again).
    pub fn remove(data_dir: &Path) -> Result<(), StoreError> {
        let p = path(data_dir);
        match std::fs::remove_file(&p) {
            Ok(()) => crate::blob::sync_dir(data_dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(&p, e)),
        }
    }
}

pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).map_err(|e| StoreError::io(path, e))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| StoreError::io(path, e))
}

pub(crate) fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}
