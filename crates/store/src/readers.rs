//! A small pool of read-only SQLite connections, so reads (IMAP SELECT,
//! FETCH, SEARCH, STATUS, POP3 listings, directory lookups at login and RCPT)
//! do not queue behind a write that holds the shared connection through its
//! commit and fsync. In WAL mode a reader runs beside the one writer and sees
//! every transaction committed before its read transaction began.
//!
//! Rules for using [`Store::reader`] (they keep the pool deadlock-free):
//!
//! 1. Take a reader only in a leaf method: one that, while holding it, calls
//!    no other store method and takes no other connection (reader or the
//!    shared one). Drop it before calling anything else.
//! 2. Only reads go through a reader. Anything that writes, or must read in
//!    the same transaction as a write, stays on the shared connection
//!    (`Store::conn`). The pooled connections are opened read-only, so a
//!    stray write fails there; but `Store::reader` hands out the shared
//!    connection itself when it is free (its page cache is the warm one),
//!    where a stray write would succeed: the rule is not enforced there.
//! 3. A read that needs several statements to agree opens a DEFERRED
//!    transaction on the reader (see changes.rs) and ends it before
//!    returning. A transaction left open is rolled back when the reader
//!    is dropped (pooled or shared), so the next user never reads a stale
//!    snapshot nor finds the shared connection inside a transaction.
//!
//! Should rule 1 be broken anyway, the pool still cannot deadlock: a taker
//! waits at most [`POOL_WAIT`] for a free connection and then opens a spare
//! one (closed again after use). The pool never waits for the shared
//! connection, and the shared connection's holders never wait for the pool.

use crate::crypt::AtRestKeys;
use crate::StoreError;
use rusqlite::{Connection, OpenFlags};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Read-only connections kept open (opened on first need).
pub(crate) const POOL_SIZE: usize = 4;
/// Page cache per reader, in KiB (negative `cache_size` means KiB): 2 MiB.
pub(crate) const READER_CACHE_KIB: i64 = 2048;
/// Prepared statements kept per connection (readers and the shared one).
/// rusqlite's default of 16 is fewer than the distinct queries an IMAP
/// session alone runs, so the least recently used were evicted and parsed
/// again on nearly every call (issue 18: SQL parsing was ~15 % of the CPU).
pub(crate) const STATEMENT_CACHE: usize = 256;
/// How long a taker waits for a pooled reader before opening a spare.
pub(crate) const POOL_WAIT: Duration = Duration::from_millis(100);

pub(crate) struct Readers {
    /// The database's key when it is encrypted (crypt/db_key.rs).
    keys: Option<Arc<AtRestKeys>>,
    path: PathBuf,
    slots: Mutex<Slots>,
    returned: Condvar,
    /// Off: every read uses the shared connection (measurements, tests).
    enabled: AtomicBool,
    /// Spare connections opened because the pool was exhausted.
    spares: AtomicU64,
}

#[derive(Default)]
struct Slots {
    idle: Vec<Connection>,
    /// Pooled connections in existence (idle or lent out).
    open: usize,
}

/// A read-only connection on loan; goes back to the pool when dropped.
pub(crate) struct Reader<'a> {
    conn: Option<Connection>,
    /// `None` for a spare: closed instead of returned.
    pool: Option<&'a Readers>,
}

/// What [`crate::Store::reader`] hands out: a pooled reader, or the shared
/// connection when the pool is switched off.
pub(crate) enum ReadConn<'a> {
    Pooled(Reader<'a>),
    Shared(MutexGuard<'a, Connection>),
}

impl Readers {
    pub(crate) fn new(path: &Path, keys: Option<Arc<AtRestKeys>>) -> Readers {
        Readers {
            path: path.to_path_buf(),
            keys,
            slots: Mutex::new(Slots::default()),
            returned: Condvar::new(),
            enabled: AtomicBool::new(true),
            spares: AtomicU64::new(0),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    #[cfg(test)]
    pub(crate) fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    /// Pooled connections opened so far (tests).
    #[cfg(test)]
    pub(crate) fn opened(&self) -> usize {
        self.slots().open
    }

    #[cfg(test)]
    pub(crate) fn spares_opened(&self) -> u64 {
        self.spares.load(Ordering::Relaxed)
    }

    fn slots(&self) -> MutexGuard<'_, Slots> {
        // Slots hold no invariant a panicking holder could break half-way.
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A reader: an idle pooled one, a newly opened one while the pool is
    /// below [`POOL_SIZE`], else one freed within [`POOL_WAIT`], else a spare.
    pub(crate) fn take(&self) -> Result<Reader<'_>, StoreError> {
        let deadline = Instant::now() + POOL_WAIT;
        let mut slots = self.slots();
        loop {
            if let Some(conn) = slots.idle.pop() {
                return Ok(self.lend(conn));
            }
            if slots.open < POOL_SIZE {
                slots.open += 1;
                drop(slots);
                return match open(&self.path, self.keys.as_deref()) {
                    Ok(conn) => Ok(self.lend(conn)),
                    Err(e) => {
                        self.slots().open -= 1;
                        Err(e)
                    }
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            slots = self
                .returned
                .wait_timeout(slots, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        drop(slots);
        self.spares.fetch_add(1, Ordering::Relaxed);
        Ok(Reader {
            conn: Some(open(&self.path, self.keys.as_deref())?),
            pool: None,
        })
    }

    /// An idle pooled reader, if one is idle now: no wait, no new connection.
    pub(crate) fn take_idle(&self) -> Option<Reader<'_>> {
        let conn = self.slots().idle.pop()?;
        Some(self.lend(conn))
    }

    fn lend(&self, conn: Connection) -> Reader<'_> {
        Reader {
            conn: Some(conn),
            pool: Some(self),
        }
    }

    fn give_back(&self, conn: Option<Connection>) {
        let mut slots = self.slots();
        match conn {
            Some(conn) => slots.idle.push(conn),
            None => slots.open -= 1,
        }
        drop(slots);
        self.returned.notify_one();
    }
}

/// Opens one read-only connection with its small page cache.
fn open(path: &Path, keys: Option<&AtRestKeys>) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    crate::crypt::key_if_encrypted(&conn, path, keys)?;
    // A WAL reader can meet SQLITE_BUSY briefly (a checkpoint restarting the log).
    conn.busy_timeout(crate::db::BUSY_TIMEOUT)?;
    conn.pragma_update(None, "cache_size", -READER_CACHE_KIB)?;
    keep_statements(&conn)?;
    Ok(conn)
}

/// Sets `conn` up so cached statements stay prepared: a cache of
/// [`STATEMENT_CACHE`], and the query planner's stability guarantee
/// (SQLITE_DBCONFIG_ENABLE_QPSG). Without it SQLite marks a statement whose
/// plan could depend on a bound value (`modseq > ?2`, `LIMIT ?`) to be
/// parsed and planned again on every new binding, inside `sqlite3_step`:
/// the statement cache saved nothing for them (issue 18: ~12 % of the CPU
/// under imaptest went to re-preparing CONDSTORE's `changes_since`).
pub(crate) fn keep_statements(conn: &Connection) -> Result<(), StoreError> {
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

/// Ends a transaction a borrower left open; `false` if the connection is unusable.
fn reset(conn: &Connection) -> bool {
    conn.is_autocommit() || conn.execute_batch("ROLLBACK").is_ok()
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        if let Some(pool) = self.pool {
            pool.give_back(reset(&conn).then_some(conn));
        }
    }
}

impl Deref for Reader<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("present until drop")
    }
}

impl DerefMut for Reader<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("present until drop")
    }
}

impl Drop for ReadConn<'_> {
    fn drop(&mut self) {
        // Pooled readers are reset when they go back (Reader's Drop).
        if let ReadConn::Shared(conn) = self {
            reset(conn);
        }
    }
}

impl Deref for ReadConn<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        match self {
            ReadConn::Pooled(r) => r,
            ReadConn::Shared(g) => g,
        }
    }
}

impl DerefMut for ReadConn<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        match self {
            ReadConn::Pooled(r) => r,
            ReadConn::Shared(g) => g,
        }
    }
}
