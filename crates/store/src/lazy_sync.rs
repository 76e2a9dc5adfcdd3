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
use std::sync::atomic::{AtomicU32, Ordering};
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
    /// Relaxed commits made in quick mode since the last one on the pool.
    quick_commits: AtomicU32,
}

/// Quick relaxed commits between two made on the blocking pool. A quick one
/// never checkpoints (that would fsync on a runtime thread), so the next on
/// the pool does when the WAL is past `wal_autocheckpoint`
/// ([`crate::db::WAL_AUTOCHECKPOINT`] pages); a STORE or EXPUNGE writes a
/// few pages, so this keeps the WAL within a few times that.
pub(crate) const QUICK_COMMITS: u32 = 200;

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
        LazySync {
            shared,
            thread,
            quick_commits: AtomicU32::new(0),
        }
    }

    /// Records a relaxed commit, and the body files it freed.
    pub(crate) fn committed(&self, doomed: Vec<PathBuf>) {
        let mut p = self.pending();
        let was_dirty = std::mem::replace(&mut p.dirty, true);
        p.doomed.extend(doomed);
        drop(p);
        // Already dirty: the flusher is past its wait (it checks `dirty`
        // under the lock), so a wake-up would only cost a futex call.
        if !was_dirty {
            self.shared.wake.notify_one();
        }
        if self.thread.is_none() {
            flush(&self.shared);
        }
    }

    /// Whether a relaxed write may run in quick mode now; false once every
    /// [`QUICK_COMMITS`], so that one goes to the pool and checkpoints.
    pub(crate) fn quick_turn(&self) -> bool {
        self.quick_commits.fetch_add(1, Ordering::Relaxed) < QUICK_COMMITS
    }

    /// A relaxed write on the pool: it checkpoints if the WAL asks for it.
    pub(crate) fn pool_turn(&self) {
        self.quick_commits.store(0, Ordering::Relaxed);
    }

    /// Fsyncs the WAL now, on this thread: what every commit before this
    /// call wrote is durable when it returns Ok.
    pub(crate) fn sync_now(&self) -> std::io::Result<()> {
        sync_wal(&self.shared.wal)
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
///
/// In quick mode (quick.rs, on a runtime thread) it does not wait for
/// another connection's write lock either (the committer, the CLI): BEGIN
/// fails at once, nothing is written, and the write is made again on the
/// blocking pool (`WouldWait`). Nor does its commit checkpoint the WAL
/// (see [`QUICK_COMMITS`]).
pub(crate) fn relaxed<T>(
    conn: &mut Connection,
    f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let quick = crate::quick::active();
    let r = relax(conn, quick).and_then(|()| f(conn));
    // Put back whatever was set, whatever failed.
    let restored = conn
        .prepare_cached("PRAGMA synchronous = FULL")
        .and_then(|mut st| st.execute([]))
        .map(drop)
        .map_err(StoreError::from);
    let restored = match quick {
        true => restored.and(quick_settings(conn, false)),
        false => restored,
    };
    let r = r.map_err(|e| match quick && busy(&e) {
        true => StoreError::WouldWait,
        false => e,
    })?;
    restored?;
    Ok(r)
}

/// `synchronous = NORMAL`, and the quick settings in quick mode.
fn relax(conn: &Connection, quick: bool) -> Result<(), StoreError> {
    if quick {
        quick_settings(conn, true)?;
    }
    // Cached: parsed once, not twice for every STORE and EXPUNGE.
    conn.prepare_cached("PRAGMA synchronous = NORMAL")?
        .execute([])?;
    Ok(())
}

/// A quick relaxed write's settings (`on`), or every other write's: no
/// wait for another connection's write lock, and no checkpoint at commit;
/// else the busy timeout and [`crate::db::WAL_AUTOCHECKPOINT`].
fn quick_settings(conn: &Connection, on: bool) -> Result<(), StoreError> {
    let (busy, pages) = match on {
        true => (Duration::ZERO, 0),
        false => (crate::db::BUSY_TIMEOUT, crate::db::WAL_AUTOCHECKPOINT),
    };
    conn.busy_timeout(busy)?;
    // It answers with the value set, so a query, not an execute.
    conn.prepare_cached(&format!("PRAGMA wal_autocheckpoint = {pages}"))?
        .query_row([], |_| Ok(()))?;
    Ok(())
}

/// SQLite's "database is locked": another connection holds the write lock.
fn busy(e: &StoreError) -> bool {
    matches!(e, StoreError::Db(rusqlite::Error::SqliteFailure(f, _))
        if f.code == rusqlite::ErrorCode::DatabaseBusy)
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
    if sync_wal(&s.wal).is_err() {
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

/// Fsyncs the WAL (any descriptor's fsync writes the file's dirty pages).
fn sync_wal(wal: &std::path::Path) -> std::io::Result<()> {
    match std::fs::File::open(wal) {
        Ok(f) => f.sync_data(),
        // No WAL: everything was checkpointed into the (synced) database.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
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
    fn a_quick_relaxed_write_puts_every_setting_back_even_when_it_fails() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("x.db")).unwrap();
        conn.busy_timeout(crate::db::BUSY_TIMEOUT).unwrap();
        let value = |c: &Connection, pragma: &str| -> i64 {
            c.pragma_query_value(None, pragma, |r| r.get(0)).unwrap()
        };
        let inside = crate::quick::attempt(|| {
            relaxed(&mut conn, |c| {
                Ok((value(c, "busy_timeout"), value(c, "wal_autocheckpoint")))
            })
        });
        assert_eq!(inside.unwrap(), (0, 0), "no wait, no checkpoint inside");
        let failed: Result<(), _> =
            crate::quick::attempt(|| relaxed(&mut conn, |_| Err(StoreError::Unavailable)));
        assert!(failed.is_err());
        assert_eq!(value(&conn, "busy_timeout"), 10_000);
        assert_eq!(
            value(&conn, "wal_autocheckpoint"),
            crate::db::WAL_AUTOCHECKPOINT as i64
        );
        assert_eq!(value(&conn, "synchronous"), 2);
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
