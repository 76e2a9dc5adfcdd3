//! Bodies kept in the database (inline.rs) written out to files once they
//! have lived [`SPILL_AFTER`], by a thread of the store's own, a batch at a
//! time: off every client's path, so the APPEND that brought the body paid
//! one fsync for body and row together.
//!
//! The order keeps every body readable and durable at every instant:
//! 1. each body is written into the spool and fsync'd (blob.rs
//!    `write_whole`, sealed on an encrypted store), the spool directories
//!    fsync'd, the files moved into `blobs/XX/` and those fsync'd;
//! 2. only then are the rows deleted from `inline_bodies`, in one
//!    transaction. A reader that missed the file and then the row finds the
//!    file on its second look (sqlite_api.rs `find_body`).
//!
//! A crash in 1 leaves both copies (recovery places a spool file whose body
//! is committed; the next spill writes the same bytes again). A body
//! expunged meanwhile has lost its row by the time of 2: its new file is
//! then removed.

use crate::blob::{place, sync_dir, write_whole, BlobId};
use crate::{Store, StoreError};
use rusqlite::params;
use std::collections::BTreeSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Seconds a body stays in the database before it is given a file.
pub const SPILL_AFTER: i64 = 60;
/// How often the spiller looks.
const SPILL_EVERY: Duration = Duration::from_secs(10);
/// Bodies written per batch (each batch: one transaction).
pub const SPILL_BATCH: usize = 256;

impl Store {
    /// Starts the spiller thread, once. It holds the store weakly and ends
    /// with it.
    pub(crate) fn start_spiller(&self) {
        self.inner.spiller.get_or_init(|| {
            let store = Arc::downgrade(&self.inner);
            std::thread::Builder::new()
                .name("postern-spill".into())
                .spawn(move || run(&store))
                .is_ok()
        });
    }

    /// Writes out to files at most `max` inline bodies recorded at or
    /// before `cutoff` (Unix seconds), oldest first; returns how many.
    pub fn spill_inline(&self, cutoff: i64, max: usize) -> Result<usize, StoreError> {
        let bodies = self.spill_candidates(cutoff, max)?;
        if bodies.is_empty() {
            return Ok(0);
        }
        let placed = self.write_out(&bodies)?;
        let gone = self.forget_inline(&placed)?;
        self.remove_blob_files(&gone);
        Ok(placed.len())
    }

    pub(crate) fn spill_candidates(
        &self,
        cutoff: i64,
        max: usize,
    ) -> Result<Vec<(BlobId, Vec<u8>)>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare_cached(
            "SELECT id, data FROM inline_bodies WHERE since <= ?1 ORDER BY rowid LIMIT ?2",
        )?;
        let rows = st
            .query_map(params![cutoff, max as i64], |r| {
                Ok((BlobId::from_db(r.get(0)?), r.get(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Step 1 of the module's order: every body durable in `blobs/XX/`.
    pub(crate) fn write_out(
        &self,
        bodies: &[(BlobId, Vec<u8>)],
    ) -> Result<Vec<BlobId>, StoreError> {
        let spool = self.root().join("queue").join("incoming");
        let blobs = self.root().join("blobs");
        let keys = self.blob_key_arc();
        let mut spool_dirs = BTreeSet::new();
        let mut written = Vec::new();
        for (id, data) in bodies {
            let path = crate::spool::path(&spool, id);
            // Left by a spill a crash interrupted: the same bytes again.
            let _ = std::fs::remove_file(&path);
            write_whole(&path, keys.as_deref(), data).map_err(|e| StoreError::io(&path, e))?;
            spool_dirs.insert(spool.join(id.spool_dir()));
            written.push((id.clone(), path));
        }
        for d in &spool_dirs {
            sync_dir(d)?;
        }
        let mut shards = BTreeSet::new();
        for (id, path) in &written {
            place(path, &blobs, id).map_err(|e| StoreError::io(path, e))?;
            shards.insert(self.blob_path(id).parent().map(|p| p.to_path_buf()));
        }
        for d in shards.into_iter().flatten() {
            sync_dir(&d)?;
        }
        Ok(written.into_iter().map(|(id, _)| id).collect())
    }

    /// Step 2: the rows deleted; returns the bodies expunged meanwhile,
    /// whose new files must go.
    pub(crate) fn forget_inline(&self, placed: &[BlobId]) -> Result<Vec<BlobId>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut gone = Vec::new();
        for id in placed {
            tx.prepare_cached("DELETE FROM inline_bodies WHERE id = ?1")?
                .execute([id.as_str()])?;
            let live: i64 = tx
                .prepare_cached("SELECT COUNT(*) FROM blobs WHERE id = ?1")?
                .query_row([id.as_str()], |r| r.get(0))?;
            if live == 0 {
                gone.push(id.clone());
            }
        }
        tx.commit()?;
        Ok(gone)
    }
}

fn run(store: &Weak<crate::Inner>) {
    loop {
        std::thread::sleep(SPILL_EVERY);
        let Some(inner) = store.upgrade() else {
            return;
        };
        let store = Store { inner };
        let cutoff = crate::ids::now() - SPILL_AFTER;
        // A full batch: more may be waiting, so go on at once.
        while let Ok(SPILL_BATCH) = store.spill_inline(cutoff, SPILL_BATCH) {}
    }
}
