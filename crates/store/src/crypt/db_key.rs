//! Keying the database: SQLCipher with a raw 256-bit key (no PBKDF of its
//! own: the key is already derived), its WAL encrypted with it. Each
//! connection is keyed before its first statement; a database file that
//! still starts with SQLite's plaintext header is opened without a key
//! (a store half-way through a conversion).

use super::AtRestKeys;
use crate::StoreError;
use rusqlite::Connection;
use std::io::Read;
use std::path::Path;

/// The first 16 octets of every plaintext SQLite database (fileformat2 §1.3.1).
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// True when `path` is a plaintext database. A missing or empty file is
/// not: it is created keyed when the store is encrypted.
pub fn db_is_plaintext(path: &Path) -> bool {
    let mut head = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| &head == SQLITE_HEADER)
}

/// `PRAGMA key` with the raw key; must be the connection's first statement.
pub fn apply_db_key(conn: &Connection, keys: &AtRestKeys) -> Result<(), StoreError> {
    let sql = zeroize::Zeroizing::new(format!(
        "PRAGMA key = \"x'{}'\";",
        super::keyfile::hex_encode(keys.db.expose())
    ));
    conn.execute_batch(&sql)?;
    Ok(())
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
