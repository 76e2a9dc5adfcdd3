//! The reader pool (readers.rs): reads see commits at once, a reader left in
//! a transaction is reset, exhaustion cannot deadlock, and a read does not
//! wait for a write transaction held on another thread.

use crate::readers::{POOL_SIZE, POOL_WAIT, READER_CACHE_KIB, STATEMENT_CACHE};
use crate::*;
use std::sync::mpsc;
use std::time::Duration;

/// How long a read that must not block may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(10);

/// A store with alice and her INBOX (also used by tests_read_latency).
pub(crate) fn setup() -> (tempfile::TempDir, Store, UserId, MailboxId) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = crate::tests::add_user(&store, "alice@example.org", 0);
    let inbox = store.mailbox(a, "INBOX").unwrap().unwrap();
    (dir, store, a, inbox)
}

pub(crate) async fn deliver(store: &Store, user: UserId) {
    crate::tests_imap::deliver(store, user, b"Subject: x\r\n\r\nbody\r\n").await;
}

/// Runs `f` on another thread; `None` if it does not finish within DEADLINE.
fn within_deadline<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(DEADLINE).ok()
}

#[tokio::test]
async fn reads_see_every_finished_commit_at_once() {
    let (_d, store, a, inbox) = setup();
    assert!(store.messages(inbox).unwrap().is_empty());
    deliver(&store, a).await; // committer's own connection
    let (msgs, _) = store.snapshot(inbox).unwrap();
    assert_eq!(msgs.len(), 1);
    let uid = msgs[0].uid;
    store
        .store_flags(inbox, &[uid], FlagOp::Add, &["\\Seen".into()], None)
        .unwrap(); // the shared connection
    assert_eq!(store.messages(inbox).unwrap()[0].flags, "\\Seen");
    store.create_folder(a, "Later").unwrap();
    assert!(store.mailbox(a, "Later").unwrap().is_some());
}

#[tokio::test]
async fn a_reader_left_in_a_transaction_is_reset_when_returned() {
    let (_d, store, a, inbox) = setup();
    {
        let r = store.inner.readers.take().unwrap();
        r.execute_batch("BEGIN").unwrap();
        let n: i64 = r
            .query_row("SELECT COUNT(*) FROM messages", [], |row| row.get(0))
            .unwrap();
        assert_eq!(n, 0);
        assert!(!r.is_autocommit());
    } // returned with its read snapshot still open
    deliver(&store, a).await;
    let r = store.inner.readers.take().unwrap(); // the same one: the pool opened only it
    assert!(r.is_autocommit());
    drop(r);
    assert_eq!(store.messages(inbox).unwrap().len(), 1);
}

#[test]
fn readers_are_read_only_with_a_small_page_cache() {
    let (_d, store, _, _) = setup();
    let r = store.inner.readers.take().unwrap();
    assert!(r.execute("DELETE FROM users", []).is_err());
    let cache: i64 = r
        .pragma_query_value(None, "cache_size", |row| row.get(0))
        .unwrap();
    assert_eq!(cache, -READER_CACHE_KIB);
}

/// For each statement SQLite holds prepared on `conn` (the cached ones,
/// when no statement is in use): its SQL and how often it was re-prepared.
fn statements(conn: &rusqlite::Connection) -> Vec<(String, i32)> {
    use rusqlite::ffi;
    let mut out = Vec::new();
    // SAFETY: the handle is valid for `conn`'s life and only walked here,
    // on this thread; sqlite3_next_stmt reads the list without changing it,
    // and each statement's SQL lives as long as the statement.
    unsafe {
        let db = conn.handle();
        let mut st = ffi::sqlite3_next_stmt(db, std::ptr::null_mut());
        while !st.is_null() {
            let sql = std::ffi::CStr::from_ptr(ffi::sqlite3_sql(st));
            let n = ffi::sqlite3_stmt_status(st, ffi::SQLITE_STMTSTATUS_REPREPARE, 0);
            out.push((sql.to_string_lossy().into_owned(), n));
            st = ffi::sqlite3_next_stmt(db, st);
        }
    }
    out
}

fn live_statements(conn: &rusqlite::Connection) -> usize {
    statements(conn).len()
}

#[test]
fn readers_and_the_shared_connection_keep_statement_cache_statements_prepared() {
    let (_d, store, _a, _inbox) = setup();
    let r = store.inner.readers.take().unwrap();
    let shared = store.conn();
    for conn in [&*r, &*shared] {
        conn.flush_prepared_statement_cache();
        // More distinct statements than rusqlite's default cache of 16,
        // and then more than the limit: the cache keeps exactly the limit.
        for n in 0..STATEMENT_CACHE + 10 {
            let sql = format!("SELECT {n}");
            let v: i64 = conn
                .prepare_cached(&sql)
                .unwrap()
                .query_row([], |row| row.get(0))
                .unwrap();
            assert_eq!(v, n as i64);
        }
        assert_eq!(live_statements(conn), STATEMENT_CACHE);
    }
}

#[test]
fn an_exhausted_pool_opens_a_spare_instead_of_deadlocking() {
    let (_d, store, a, inbox) = setup();
    // Break the leaf rule on purpose: hold every pooled reader and the
    // shared connection, then read from another thread.
    let held: Vec<_> = (0..POOL_SIZE)
        .map(|_| store.inner.readers.take().unwrap())
        .collect();
    assert_eq!(store.inner.readers.spares_opened(), 0);
    let writer = store.conn();
    let s = store.clone();
    let started = std::time::Instant::now();
    let read = within_deadline(move || s.messages(inbox).map(|m| m.len()));
    assert_eq!(read.expect("read finished").unwrap(), 0);
    assert!(started.elapsed() >= POOL_WAIT);
    assert_eq!(store.inner.readers.spares_opened(), 1);
    drop(writer);
    drop(held);
    // The pool is whole again: these reuse pooled readers, no more spares.
    for _ in 0..POOL_SIZE * 2 {
        store.mailbox_list(a).unwrap();
    }
    assert_eq!(store.inner.readers.spares_opened(), 1);
}

#[tokio::test]
async fn a_read_does_not_wait_for_a_write_transaction_on_another_thread() {
    let (_d, store, a, inbox) = setup();
    deliver(&store, a).await;
    let (locked_tx, locked) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let s = store.clone();
    let writer = std::thread::spawn(move || {
        let mut conn = s.conn();
        let tx = conn.transaction().unwrap(); // IMMEDIATE: holds the write lock
        tx.execute("UPDATE messages SET flags = '\\Seen'", [])
            .unwrap();
        locked_tx.send(()).unwrap();
        let _ = released.recv_timeout(DEADLINE);
        tx.commit().unwrap();
    });
    locked.recv_timeout(DEADLINE).unwrap();
    let s = store.clone();
    let seen = within_deadline(move || {
        let (msgs, _) = s.snapshot(inbox).unwrap();
        (msgs[0].flags.clone(), s.mailbox_state(inbox).unwrap())
    });
    let (flags, _) = seen.expect("read finished while the write was open");
    assert_eq!(flags, "", "uncommitted changes are not visible");
    release.send(()).unwrap();
    writer.join().unwrap();
    assert_eq!(store.messages(inbox).unwrap()[0].flags, "\\Seen");
}

#[test]
fn with_the_pool_off_reads_use_the_shared_connection() {
    let (_d, store, a, inbox) = setup();
    let pooled = store.folders(a).unwrap();
    store.set_read_pool(false);
    assert_eq!(store.mailbox_state(inbox).unwrap().1, 1);
    assert_eq!(store.folders(a).unwrap(), pooled);
    assert!(store.snapshot(inbox).unwrap().0.is_empty());
    assert_eq!(store.inner.readers.spares_opened(), 0);
}

/// Re-preparations SQLite made of the statements held on `conn`, but for
/// PRAGMAs (lazy_sync's, which SQLite always prepares again: cheap).
fn reprepares(conn: &rusqlite::Connection) -> i32 {
    statements(conn)
        .iter()
        .filter(|(sql, _)| !sql.starts_with("PRAGMA"))
        .map(|(_, n)| n)
        .sum()
}

/// Issue 18: `changes_since` runs on every IMAP command of a CONDSTORE
/// session with a new MODSEQ bound; each new binding made SQLite parse and
/// plan its statements again, so the cache saved nothing. With the planner's
/// stability guarantee on, no statement is prepared again, on a reader or on
/// the shared connection, however the values bound change.
#[tokio::test]
async fn a_new_bound_value_does_not_prepare_a_cached_statement_again() {
    let (_d, store, a, inbox) = setup();
    for _ in 0..3 {
        deliver(&store, a).await;
    }
    for m in 0..10u64 {
        store.changes_since(inbox, m).unwrap();
        let kw = [format!("k{m}")];
        store
            .store_flags(inbox, &[1 + m as u32 % 3], FlagOp::Add, &kw, None)
            .unwrap();
        store.expunge(inbox, &[]).unwrap();
    }
    // Those reads took the shared connection (free); now the same reads on
    // a pooled reader, the shared connection held meanwhile.
    let held = store.conn();
    for m in 0..10u64 {
        store.changes_since(inbox, m).unwrap();
    }
    assert_eq!(reprepares(&held), 0);
    drop(held);
    let r = store.inner.readers.take().unwrap();
    assert!(live_statements(&r) >= 3);
    assert_eq!(reprepares(&r), 0);
}

/// Uncontended, a read takes the shared connection, whose page cache the
/// IMAP writes leave warm; the pool opens nothing. Held by another thread
/// (a write in progress), the shared connection is passed over for a pooled
/// reader instead of waited for.
#[tokio::test]
async fn a_read_uses_the_shared_connection_when_free_and_a_pooled_one_when_not() {
    let (_d, store, a, inbox) = setup();
    deliver(&store, a).await;
    let seen = vec!["\\Seen".to_string()];
    store
        .store_flags(inbox, &[1], FlagOp::Add, &seen, None)
        .unwrap();
    assert_eq!(store.messages(inbox).unwrap()[0].flags, "\\Seen");
    store.changes_since(inbox, 0).unwrap();
    assert_eq!(store.inner.readers.opened(), 0);
    let held = store.conn();
    let s = store.clone();
    let read = within_deadline(move || s.messages(inbox).map(|m| m.len()));
    assert_eq!(read.expect("read did not wait").unwrap(), 1);
    assert_eq!(store.inner.readers.opened(), 1);
    drop(held);
}

/// A read that leaves its transaction open on the shared connection (taken
/// because it was free) does not leave the next writer inside it.
#[tokio::test]
async fn a_transaction_left_open_on_the_shared_connection_is_rolled_back() {
    let (_d, store, a, inbox) = setup();
    deliver(&store, a).await;
    {
        let r = store.reader().unwrap();
        assert!(matches!(r, crate::readers::ReadConn::Shared(_)));
        r.execute_batch("BEGIN").unwrap();
    }
    assert!(store.conn().is_autocommit());
    let seen = vec!["\\Seen".to_string()];
    store
        .store_flags(inbox, &[1], FlagOp::Add, &seen, None)
        .unwrap();
    assert_eq!(store.messages(inbox).unwrap()[0].flags, "\\Seen");
}
