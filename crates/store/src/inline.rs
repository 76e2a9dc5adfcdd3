//! Small bodies kept in the database instead of a file of their own (issue
//! 18 item 2).
//!
//! A body in a file costs an APPEND the file's create and fsync, its
//! directory's fsync, and later a rename and an unlink: under imaptest, the
//! body file's fsync alone was ~15 % of the command rate (measured by
//! skipping it in an experiment build), and every flush is a disk request
//! the client waits for. A body held whole in memory at the end of the
//! APPEND ([`crate::blob::HOLD`], 64 KiB) is instead written into
//! `inline_bodies` in the same transaction as its message row, so the one
//! WAL fsync the commit makes covers both: same durability, one flush.
//! An expunge that frees it deletes its row in the same transaction
//! (trigger `inline_bodies_freed`), so it leaves no file to unlink either.
//!
//! The database is a place to land, not to stay: a body that outlives
//! [`crate::spill::SPILL_AFTER`] is written out to a file of its own in the
//! background (spill.rs), off every client's path and many at a time, so
//! the database does not grow with the mail kept and incremental backups
//! keep hard-linking bodies instead of copying them with the database.
//! Mail expunged sooner (drafts, moves, a client's scratch copies) never
//! costs a file at all.
//!
//! At rest it is as protected as the rest of the database: encrypted with
//! it when the store is (SQLCipher), plaintext when it is not, like every
//! body file. Reads come through the same doors as files
//! ([`crate::api::BodyFiles`], [`crate::MailStore::open_body`]): a body is
//! looked for as a file, then here, then as a file again (sqlite_api.rs
//! `find_body`: a spill may move it in between). Backups carry these
//! bodies inside their database copy.

use crate::blob::FinishedBlob;
use crate::StoreError;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

/// The table, and the trigger that drops a body's row with its `blobs` row
/// (whatever deletes that: an expunge, a dequeue, a folder deletion).
pub(crate) const SCHEMA_V22: &str = r#"
BEGIN;
CREATE TABLE IF NOT EXISTS inline_bodies (
    id TEXT PRIMARY KEY,
    data BLOB NOT NULL,
    since INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS inline_bodies_freed AFTER DELETE ON blobs
BEGIN
    DELETE FROM inline_bodies WHERE id = old.id;
END;
PRAGMA user_version = 22;
COMMIT;
"#;

/// Records a finished body in `tx` (its `blobs` row with `refs`, and its
/// bytes when it is kept inline).
pub(crate) fn record(
    tx: &Transaction<'_>,
    blob: &FinishedBlob,
    refs: i64,
) -> Result<(), StoreError> {
    tx.prepare_cached("INSERT INTO blobs (id, size, refs) VALUES (?1, ?2, ?3)")?
        .execute(params![blob.id().as_str(), blob.size() as i64, refs])?;
    if let Some(bytes) = blob.inline_bytes() {
        tx.prepare_cached("INSERT INTO inline_bodies (id, data, since) VALUES (?1, ?2, ?3)")?
            .execute(params![blob.id().as_str(), bytes, crate::ids::now()])?;
    }
    Ok(())
}

/// The body `id` when it is kept inline; None when it is not (or is gone).
pub(crate) fn read(conn: &Connection, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT data FROM inline_bodies WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?)
}
