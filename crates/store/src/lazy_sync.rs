//! Flag changes and expunges made durable within a second, not before
//! their reply (issue 18 item 2: an fsync per STORE and EXPUNGE, taken
//! under the one write connection, serialised every IMAP session).
//!
//! Such a transaction commits with `synchronous = NORMAL`: in WAL mode its
//! frames reach the WAL file but are not fsync'd. They become durable at
//! the first of: the next `synchronous = FULL` commit on the same database
//! (a delivery, an APPEND: its fsync of the WAL covers every earlier
//! frame), a checkpoint, or the flusher thread here, which fsyncs the WAL
//! at most [`LAZY_SYNC_DELAY`] after the first relaxed commit.
//!
//! What a crash (power loss; a killed process loses nothing, the page cache
//! keeps the WAL) can lose: the flag changes and expunges committed in the
//! last [`LAZY_SYNC_DELAY`] plus one fsync — they come back as they were
//! before. Never a message: deliveries and APPENDs still commit with FULL
//! before their 250 / OK. Bodies freed by a relaxed expunge are unlinked
//! only after the fsync that makes their rows' removal durable, so a crash
//! never leaves a row whose body file is gone (at worst, a crash between
//! that fsync and the unlink leaves an unreferenced file behind).

use crate::StoreError;
use rusqlite::Connection;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// The longest a relaxed commit waits for its fsync.
pub const LAZY_SYNC_DELAY: Duration = Duration::from_millis(500);

#[derive(Default)]
struct Pending {
    /// A relaxed commit since the last fsync.
    dirty: bool,
    /// Body files to unlink once the WAL is fsync'd; they read as gone.
    doomed: HashSet<PathBuf>,
    stop: bool,
}

struct Shared {
    wal: PathBuf,
    pending: Mutex<Pending>,
    wake: Condvar,
}

/// The flusher; stopped (after a last fsync) when dropped.
pub(crate) struct LazySync {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LazySync {
    /// For the database at `db` (its WAL is `db` + `-wal`).
    pub(crate) fn start(db: &std::path::Path) -> LazySync {
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        let shared = Arc::new(Shared {
            wal: PathBuf::from(wal),
            pending: Mutex::default(),
            wake: Condvar::new(),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("postern-lazysync".into())
            .spawn(move || run(&s))
            .ok();
        LazySync { shared, thread }
    }

    /// Records a relaxed commit, and the body files it freed.
    pub(crate) fn committed(&self, doomed: Vec<PathBuf>) {
        let mut p = self.pending();
        p.dirty = true;
        p.doomed.extend(doomed);
        drop(p);
        self.shared.wake.notify_one();
        if self.thread.is_none() {
            flush(&self.shared);
        }
    }

    /// Whether `path` is a body freed by an expunge and waiting to be
    /// unlinked: it reads as gone already.
    pub(crate) fn doomed(&self, path: &std::path::Path) -> bool {
        self.pending().doomed.contains(path)
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.shared
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for LazySync {
    fn drop(&mut self) {
        self.pending().stop = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        flush(&self.shared);
    }
}

/// Commits `f`'s transaction with `synchronous = NORMAL`, and always puts
/// FULL back, whatever `f` returns. Call [`LazySync::committed`] after.
pub(crate) fn relaxed<T>(
    conn: &mut Connection,
    f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    // Cached: parsed once, not twice for every STORE and EXPUNGE.
    conn.prepare_cached("PRAGMA synchronous = NORMAL")?
        .execute([])?;
    let r = f(conn);
    let restored = conn
        .prepare_cached("PRAGMA synchronous = FULL")
        .and_then(|mut st| st.execute([]));
    let r = r?;
    restored?;
    Ok(r)
}

fn run(s: &Shared) {
    loop {
        let mut p = s.pending.lock().unwrap_or_else(|p| p.into_inner());
        while !p.dirty && !p.stop {
            p = s.wake.wait(p).unwrap_or_else(|p| p.into_inner());
        }
        if p.stop {
            return;
        }
        drop(p);
        // Group the commits of the next moment into one fsync.
        std::thread::sleep(LAZY_SYNC_DELAY);
        flush(s);
    }
}

/// Fsyncs the WAL (any descriptor's fsync writes the file's dirty pages),
/// then unlinks the bodies whose removal is now durable.
fn flush(s: &Shared) {
    let doomed: Vec<PathBuf> = {
        let mut p = s.pending.lock().unwrap_or_else(|p| p.into_inner());
        if !p.dirty {
            return;
        }
        p.dirty = false;
        p.doomed.iter().cloned().collect()
    };
    let synced = match std::fs::File::open(&s.wal) {
        Ok(f) => f.sync_data().is_ok(),
        // No WAL: everything was checkpointed into the (synced) database.
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    };
    if !synced {
        // Keep them for the next try rather than unlink a body whose row may come back.
        s.pending.lock().unwrap_or_else(|p| p.into_inner()).dirty = true;
        return;
    }
    for path in &doomed {
        let _ = std::fs::remove_file(path);
    }
    let mut p = s.pending.lock().unwrap_or_else(|p| p.into_inner());
    for path in &doomed {
        p.doomed.remove(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn freed_bodies_are_unlinked_only_after_the_sync_and_within_the_delay() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        std::fs::write(dir.path().join("x.db-wal"), b"frames").unwrap();
        let body = dir.path().join("body");
        std::fs::write(&body, b"message").unwrap();
        let lazy = LazySync::start(&db);
        let t0 = Instant::now();
        lazy.committed(vec![body.clone()]);
        assert!(body.exists(), "unlinked before the WAL was synced");
        assert!(lazy.doomed(&body), "reads as gone at once");
        while body.exists() {
            assert!(t0.elapsed() < LAZY_SYNC_DELAY * 4, "not unlinked in time");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(t0.elapsed() >= LAZY_SYNC_DELAY, "synced before the delay");
    }

    #[test]
    fn relaxed_puts_full_back_even_when_the_transaction_fails() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "synchronous", "FULL").unwrap();
        let sync = |c: &Connection| -> i64 {
            c.pragma_query_value(None, "synchronous", |r| r.get(0))
                .unwrap()
        };
        let inside = relaxed(&mut conn, |c| Ok(sync(c))).unwrap();
        assert_eq!(inside, 1, "NORMAL inside");
        assert_eq!(sync(&conn), 2, "FULL after");
        let failed: Result<(), _> = relaxed(&mut conn, |_| Err(StoreError::Unavailable));
        assert!(failed.is_err());
        assert_eq!(sync(&conn), 2, "FULL after a failure");
    }

    #[test]
    fn dropping_flushes_what_is_pending() {
        let dir = tempfile::tempdir().unwrap();
        let body = dir.path().join("body");
        std::fs::write(&body, b"message").unwrap();
        let lazy = LazySync::start(&dir.path().join("x.db"));
        lazy.committed(vec![body.clone()]);
        drop(lazy);
        assert!(!body.exists());
    }
}
