//! Converting the database (convert.rs for the rest): SQLCipher's
//! `sqlcipher_export` copies it whole into `db/postern.db.crypt-tmp` in the
//! other form; that file is fsync'd and renamed over `postern.db`. The WAL
//! is checkpointed into the database first and is gone when the last
//! connection closes, so no old log is ever replayed into the new file.

use super::convert::TMP_SUFFIX;
use super::db_key::{apply_db_key, db_is_plaintext, raw_key, NEW_HMAC};
use super::AtRestKeys;
use crate::StoreError;
use rusqlite::Connection;
use std::path::Path;

/// Converts `db/postern.db` to the form asked for (nothing when it is in it).
pub fn convert_db(root: &Path, keys: &AtRestKeys, encrypt: bool) -> Result<(), StoreError> {
    let dir = root.join("db");
    let path = dir.join("postern.db");
    let tmp = dir.join(format!("postern.db{TMP_SUFFIX}"));
    for leftover in ["", "-journal", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{leftover}", tmp.display()));
    }
    if !path.exists() || db_is_plaintext(&path) != encrypt {
        return Ok(());
    }
    {
        let conn = Connection::open(&path)?;
        if !encrypt {
            apply_db_key(&conn, keys)?;
        }
        conn.busy_timeout(crate::db::BUSY_TIMEOUT)?;
        // No plaintext page may spill into a temporary file outside the directory.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        let key = match encrypt {
            true => raw_key(keys),
            false => zeroize::Zeroizing::new(String::new()),
        };
        // The new file gets this version's page HMAC (db_key.rs).
        let hmac = match encrypt {
            true => format!("PRAGMA conv.cipher_hmac_algorithm = {NEW_HMAC};"),
            false => String::new(),
        };
        let attach = zeroize::Zeroizing::new(format!(
            "ATTACH DATABASE '{}' AS conv KEY \"{}\"; {hmac}",
            tmp.display().to_string().replace('\'', "''"),
            *key
        ));
        conn.execute_batch(&attach)?;
        conn.query_row("SELECT sqlcipher_export('conv')", [], |_| Ok(()))?;
        conn.pragma_update(Some("conv"), "user_version", version)?;
        conn.execute_batch("DETACH DATABASE conv;")?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    }
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::io(&tmp, e))?;
    let wal = dir.join("postern.db-wal");
    if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
        let _ = std::fs::remove_file(&tmp);
        return Err(StoreError::Invalid(format!(
            "{}: the log is still in use; is the server running?",
            wal.display()
        )));
    }
    let _ = std::fs::remove_file(&wal);
    let _ = std::fs::remove_file(dir.join("postern.db-shm"));
    std::fs::rename(&tmp, &path).map_err(|e| StoreError::io(&path, e))?;
    crate::blob::sync_dir(&dir)
}
