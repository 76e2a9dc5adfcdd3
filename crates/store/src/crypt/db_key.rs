//! Keying the database: SQLCipher with a raw 256-bit key (no PBKDF of its
//! own: the key is already derived), its WAL encrypted with it. Each
//! connection is keyed before its first statement; a database file that
//! still starts with SQLite's plaintext header is opened without a key
//! (a store half-way through a conversion).
//!
//! Pages are authenticated with HMAC-SHA256 ([`NEW_HMAC`]) in databases
//! encrypted by this version: the CPUs Postern runs on compute SHA-256 in
//! hardware (SHA-NI, ARMv8 SHA2), 2.4 times as fast as SHA-512 here, and
//! SQLCipher computes one per page read after any other connection wrote
//! (a reader's page cache is dropped on every commit), which made the
//! HMAC the largest cost of an encrypted IMAP load (bench/README.md).
//! Databases encrypted before keep SQLCipher 4's default, HMAC-SHA512:
//! which one a file uses is found by opening it (`hmac_of`).

use super::AtRestKeys;
use crate::StoreError;
use rusqlite::{Connection, ErrorCode, OpenFlags};
use std::io::Read;
use std::path::Path;

/// The first 16 octets of every plaintext SQLite database (fileformat2 §1.3.1).
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";
/// The page HMAC of databases created (or converted) by this version.
pub const NEW_HMAC: &str = "HMAC_SHA256";
/// SQLCipher 4's default, in databases encrypted before.
pub const OLD_HMAC: &str = "HMAC_SHA512";

/// True when `path` is a plaintext database. A missing or empty file is
/// not: it is created keyed when the store is encrypted.
pub fn db_is_plaintext(path: &Path) -> bool {
    let mut head = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| &head == SQLITE_HEADER)
}

/// `PRAGMA key` with the raw key, and the page HMAC of the database the
/// connection is on; must be the connection's first statement.
pub fn apply_db_key(conn: &Connection, keys: &AtRestKeys) -> Result<(), StoreError> {
    let hmac = match conn.path() {
        Some(p) if !p.is_empty() => hmac_of(Path::new(p), keys),
        _ => NEW_HMAC,
    };
    key_with(conn, keys, hmac)
}

/// The key as SQL: `x'…'`, SQLCipher's raw-key form (no key derivation).
pub(crate) fn raw_key(keys: &AtRestKeys) -> zeroize::Zeroizing<String> {
    zeroize::Zeroizing::new(format!(
        "x'{}'",
        super::keyfile::hex_encode(keys.db.expose())
    ))
}

fn key_with(conn: &Connection, keys: &AtRestKeys, hmac: &str) -> Result<(), StoreError> {
    let sql = zeroize::Zeroizing::new(format!(
        "PRAGMA key = \"{}\"; PRAGMA cipher_hmac_algorithm = {hmac};",
        *raw_key(keys)
    ));
    conn.execute_batch(&sql)?;
    Ok(())
}

/// The page HMAC the database at `path` was created with: [`NEW_HMAC`]
/// unless a read with it fails as "not a database" (a wrong key fails
/// with either; the connection then reports it on its first statement).
/// A missing or empty file is created with [`NEW_HMAC`].
pub(crate) fn hmac_of(path: &Path, keys: &AtRestKeys) -> &'static str {
    if std::fs::metadata(path).map_or(true, |m| m.len() == 0) {
        return NEW_HMAC;
    }
    let probe = || -> Result<(), StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let c = Connection::open_with_flags(path, flags)?;
        c.busy_timeout(crate::db::BUSY_TIMEOUT)?;
        key_with(&c, keys, NEW_HMAC)?;
        c.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
        Ok(())
    };
    match probe() {
        Err(StoreError::Db(rusqlite::Error::SqliteFailure(e, _)))
            if e.code == ErrorCode::NotADatabase =>
        {
            OLD_HMAC
        }
        _ => NEW_HMAC,
    }
}

/// Keys `conn` when the store has keys and the file at `path` is not plaintext.
pub(crate) fn key_if_encrypted(
    conn: &Connection,
    path: &Path,
    keys: Option<&AtRestKeys>,
) -> Result<(), StoreError> {
    match keys {
        Some(k) if !db_is_plaintext(path) => apply_db_key(conn, k),
        _ => Ok(()),
    }
}
