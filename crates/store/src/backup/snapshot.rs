//! The database's snapshot through SQLite's online backup API: one step
//! over every page under one read transaction, so the copy is the database
//! as of one instant while the server goes on writing (WAL: the writer is
//! never blocked). An encrypted database is copied into a destination keyed
//! with the same key (SQLCipher copies pages as they are), so the backup
//! stays encrypted.

use crate::{Store, StoreError};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::Connection;
use std::path::Path;
use std::time::Duration;

/// Pause between retries when a step meets a lock (the committer's checkpoint).
const BUSY_PAUSE: Duration = Duration::from_millis(50);
/// How many busy steps before giving up (≈ 30 s).
const BUSY_RETRIES: u32 = 600;

impl Store {
    /// Writes the database as of now to `dest` (a new file); returns the
    /// blob ids the snapshot references.
    pub(crate) fn snapshot_db(&self, dest: &Path) -> Result<Vec<String>, StoreError> {
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        }
        let mut dst = Connection::open(dest)?;
        let encrypted = !crate::crypt::db_is_plaintext(&self.db_path());
        if let (true, Some(keys)) = (encrypted, self.read_keys()) {
            crate::crypt::apply_db_key(&dst, keys)?;
        }
        {
            let src = self.conn();
            copy_all(&src, &mut dst)?;
        }
        let ids = blob_ids(&dst)?;
        dst.close().map_err(|(_, e)| e)?;
        std::fs::File::open(dest)
            .and_then(|f| f.sync_all())
            .map_err(|e| StoreError::io(dest, e))?;
        Ok(ids)
    }
}

/// Every page in one step (-1), retried while the source is busy.
fn copy_all(src: &Connection, dst: &mut Connection) -> Result<(), StoreError> {
    let backup = Backup::new(src, dst)?;
    for _ in 0..BUSY_RETRIES {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            StepResult::More | StepResult::Busy | StepResult::Locked => {
                std::thread::sleep(BUSY_PAUSE)
            }
            _ => std::thread::sleep(BUSY_PAUSE),
        }
    }
    Err(StoreError::Invalid(
        "the database stayed busy; the backup did not finish".into(),
    ))
}

/// The bodies the snapshot references that have a file: not those kept in
/// the database itself (inline.rs), which the snapshot carries.
fn blob_ids(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut st = conn.prepare(
        "SELECT id FROM blobs WHERE id NOT IN (SELECT id FROM inline_bodies) ORDER BY id",
    )?;
    let ids = st
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ids)
}
