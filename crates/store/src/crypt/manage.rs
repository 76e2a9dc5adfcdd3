//! `encryption enable|disable|status`: the steps in an order that a kill
//! at any point resumes from. The mode is written to `encryption.json`
//! before the first file changes and cleared (or set to `on`) only after
//! the last one is durable.

use super::convert::{convert_bodies, count_encrypted};
use super::{convert_db, db_is_plaintext, read_passphrase, AtRestKeys, KeyFile, Mode};
use crate::{Store, StoreError};
use std::path::Path;
use std::sync::Arc;

/// Encrypts the store (or finishes an interrupted run, either way).
pub fn enable(root: &Path, progress: &mut dyn FnMut(usize, usize)) -> Result<(), StoreError> {
    let pass = read_passphrase()?;
    let (mut file, data_key) = match KeyFile::load(root)? {
        None => KeyFile::create(pass.expose(), Mode::Enabling)?,
        Some(f) => {
            let key = f.unwrap_key(pass.expose())?;
            (f, key)
        }
    };
    if file.mode != Mode::Enabling {
        file.mode = Mode::Enabling;
    }
    file.save(root)?;
    let keys = Arc::new(AtRestKeys::from_data_key(&data_key));
    convert_db(root, &keys, true)?;
    recover(root, &keys, Mode::Enabling)?;
    convert_bodies(root, &keys, true, progress)?;
    file.mode = Mode::On;
    file.save(root)
}

/// Decrypts the store back to plaintext; removes `encryption.json` at the end.
pub fn disable(root: &Path, progress: &mut dyn FnMut(usize, usize)) -> Result<(), StoreError> {
    let Some(mut file) = KeyFile::load(root)? else {
        return Err(StoreError::Invalid("the store is not encrypted".into()));
    };
    let pass = read_passphrase()?;
    let keys = Arc::new(AtRestKeys::from_data_key(&file.unwrap_key(pass.expose())?));
    file.mode = Mode::Disabling;
    file.save(root)?;
    recover(root, &keys, Mode::Disabling)?;
    convert_bodies(root, &keys, false, progress)?;
    convert_db(root, &keys, false)?;
    KeyFile::remove(root)
}

/// Bodies a crash left in `queue/incoming` are placed or removed first, so
/// every body the conversion sees is committed.
fn recover(root: &Path, keys: &Arc<AtRestKeys>, mode: Mode) -> Result<(), StoreError> {
    let store = Store::open_with_keys(root, Some((keys.clone(), mode)))?;
    store.recover()?;
    Ok(())
}

/// What `encryption status` prints; needs no passphrase.
pub fn status(root: &Path) -> Result<Vec<String>, StoreError> {
    let file = KeyFile::load(root)?;
    let (enc, total) = count_encrypted(root)?;
    let db = match db_is_plaintext(&root.join("db").join("postern.db")) {
        true => "plaintext",
        false => {
            "encrypted (SQLCipher 4: AES-256-CBC, HMAC-SHA256 per page, or HMAC-SHA512 \
             if encrypted before 2026-12; raw key)"
        }
    };
    let mut out = vec![match file.as_ref().map(|f| f.mode) {
        None => "encryption: off".to_string(),
        Some(Mode::On) => "encryption: on".to_string(),
        Some(Mode::Enabling) => format!(
            "encryption: converting to encrypted ({enc} of {total} bodies done); \
             run `encryption enable` to finish"
        ),
        Some(Mode::Disabling) => format!(
            "encryption: converting to plaintext ({} of {total} bodies done); \
             run `encryption disable` to finish",
            total - enc
        ),
    }];
    if let Some(f) = &file {
        out.push(format!("cipher: {} (bodies, 64 KiB chunks)", f.cipher));
        out.push(format!(
            "kdf: {} m={} KiB t={} p={}",
            f.kdf, f.kdf_memory_kib, f.kdf_passes, f.kdf_lanes
        ));
    }
    out.push(format!("bodies: {enc} of {total} encrypted"));
    out.push(format!("database: {db}"));
    Ok(out)
}
