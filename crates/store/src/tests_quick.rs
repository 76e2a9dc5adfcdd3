//! Quick reads and relaxed writes (quick.rs): on the calling thread when a
//! connection is free at once, on the blocking pool otherwise, and the same
//! answer either way.

use crate::api::MailStore;
use crate::quick::QUICK_ROWS;
use crate::tests_readers::{deliver, setup};
use crate::*;
use std::thread::{self, ThreadId};

/// Where a quick read of `inbox`'s state ran, and what it read.
async fn state_from(store: &Store, inbox: MailboxId) -> (ThreadId, (u32, u32, u64)) {
    store
        .quick_call(move |s| Ok((thread::current().id(), Store::mailbox_state(s, inbox)?)))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_read_runs_on_the_calling_thread_when_a_connection_is_free() {
    let (_d, store, a, inbox) = setup();
    deliver(&store, a).await;
    let expected = store.mailbox_state(inbox).unwrap();
    let (ran_on, state) = state_from(&store, inbox).await;
    assert_eq!(ran_on, thread::current().id());
    assert_eq!(state, expected);
    assert_eq!(
        store.inner.readers.opened(),
        0,
        "the shared connection served it"
    );
}

#[tokio::test]
async fn with_no_connection_free_at_once_a_read_goes_to_the_pool_and_never_waits_here() {
    let (_d, store, a, inbox) = setup();
    deliver(&store, a).await;
    let expected = store.mailbox_state(inbox).unwrap();
    let here = thread::current().id();
    let held = store.conn(); // the write connection, busy
                             // No pooled reader is open yet, and opening one is not quick: the pool's
                             // thread opens it and answers.
    let (ran_on, state) = state_from(&store, inbox).await;
    assert_ne!(ran_on, here);
    assert_eq!(state, expected);
    // That reader is idle now: taken at once, so read here.
    let (ran_on, state) = state_from(&store, inbox).await;
    assert_eq!(ran_on, here);
    assert_eq!(state, expected);
    drop(held);
}

#[tokio::test]
async fn a_list_longer_than_the_quick_bound_is_read_whole_on_the_pool() {
    let (_d, store, _a, inbox) = setup();
    {
        let mut conn = store.conn();
        let tx = conn.transaction().unwrap();
        for uid in 1..=QUICK_ROWS as i64 + 1 {
            let blob = format!("{uid:032}");
            tx.execute(
                "INSERT INTO blobs (id, size, refs) VALUES (?1, 10, 1)",
                [&blob],
            )
            .unwrap();
            tx.execute(
                "INSERT INTO messages (mailbox_id, uid, guid, blob_id, size, internaldate, modseq)
                 VALUES (?1, ?2, ?3, ?4, 10, 0, ?2)",
                rusqlite::params![inbox.0, uid, format!("g{uid}"), blob],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let (msgs, _) = MailStore::snapshot(&store, inbox).await.unwrap();
    assert_eq!(msgs.len(), QUICK_ROWS + 1);
    let changes = MailStore::changes_since(&store, inbox, 0).await.unwrap();
    assert_eq!(changes.changed.len(), QUICK_ROWS + 1);
}

#[tokio::test]
async fn a_body_reads_the_same_quick_or_not() {
    let (_d, store, a, inbox) = setup();
    crate::tests_imap::deliver(&store, a, b"Subject: quick\r\n\r\nthe body\r\n").await;
    let blob = store.messages(inbox).unwrap()[0].blob.clone();
    let quick = MailStore::read_body(&store, &blob).await.unwrap().unwrap();
    let pooled = crate::api::BodyFiles::read(&store, &blob).unwrap().unwrap();
    assert_eq!(quick, pooled);
    assert!(quick.ends_with(b"the body\r\n"));
}

/// A relaxed write (STORE here) made through `quick_call`: which thread ran
/// it, and the flags it left.
async fn seen_from(store: &Store, inbox: MailboxId, uid: u32) -> ThreadId {
    let ran_on = store
        .quick_call(move |s| {
            s.store_flags(inbox, &[uid], FlagOp::Add, &["\\Seen".into()], None)?;
            Ok(thread::current().id())
        })
        .await
        .unwrap();
    let flags = &store.messages(inbox).unwrap()[0].flags;
    assert_eq!(flags, "\\Seen");
    ran_on
}

#[tokio::test]
async fn a_relaxed_write_runs_here_when_the_write_connection_is_free_else_on_the_pool() {
    let (_d, store, a, inbox) = setup();
    deliver(&store, a).await;
    let uid = store.messages(inbox).unwrap()[0].uid;
    assert_eq!(seen_from(&store, inbox, uid).await, thread::current().id());
    let held = store.conn();
    // join! polls the write first: its quick attempt meets the held
    // connection, so it must go to the pool and leave this thread free to
    // let the connection go (were it waiting here, this would never end).
    let (ran_on, ()) = tokio::join!(seen_from(&store, inbox, uid), async move {
        tokio::task::yield_now().await;
        drop(held);
    });
    assert_ne!(ran_on, thread::current().id());
}

#[test]
fn a_quick_write_does_not_wait_for_another_connections_write_lock() {
    let (d, store, a, inbox) = setup();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(deliver(&store, a));
    let uid = store.messages(inbox).unwrap()[0].uid;
    // Another process's connection (the CLI, say) in a write transaction.
    let other = rusqlite::Connection::open(d.path().join("db").join("postern.db")).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let t0 = std::time::Instant::now();
    let quick = crate::quick::attempt(|| {
        store.store_flags(inbox, &[uid], FlagOp::Add, &["\\Seen".into()], None)
    });
    assert!(matches!(quick, Err(StoreError::WouldWait)), "{quick:?}");
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(1),
        "it waited"
    );
    // Outside quick mode the busy timeout is back: the same write waits for
    // the lock and is made once the other connection commits.
    let waiting = {
        let store = store.clone();
        thread::spawn(move || {
            store.store_flags(inbox, &[uid], FlagOp::Add, &["\\Seen".into()], None)
        })
    };
    // Only makes the wait likely; the outcome is the same either way.
    thread::sleep(std::time::Duration::from_millis(100));
    other.execute_batch("COMMIT").unwrap();
    let (updates, _) = waiting.join().unwrap().unwrap();
    assert_eq!(updates.len(), 1);
    assert_eq!(store.messages(inbox).unwrap()[0].flags, "\\Seen");
}

#[tokio::test]
async fn quick_writes_never_checkpoint_and_leave_one_in_so_many_to_the_pool() {
    let (_d, store, a, inbox) = setup();
    deliver(&store, a).await;
    let uid = store.messages(inbox).unwrap()[0].uid;
    let flip = |n: usize| vec![if n.is_multiple_of(2) { "$A" } else { "$B" }.to_string()];
    let quick = |n: usize| {
        crate::quick::attempt(|| store.store_flags(inbox, &[uid], FlagOp::Replace, &flip(n), None))
    };
    let autocheckpoint = |s: &Store| -> i64 {
        s.conn()
            .pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0))
            .unwrap()
    };
    store
        .store_flags(inbox, &[uid], FlagOp::Replace, &flip(1), None)
        .unwrap(); // on the pool
    for n in 0..crate::lazy_sync::QUICK_COMMITS as usize {
        assert!(quick(n).is_ok(), "quick write {n}");
        assert_eq!(
            autocheckpoint(&store),
            crate::db::WAL_AUTOCHECKPOINT as i64,
            "put back after each"
        );
    }
    assert!(
        matches!(quick(0), Err(StoreError::WouldWait)),
        "this one is the pool's"
    );
    store
        .store_flags(inbox, &[uid], FlagOp::Replace, &flip(0), None)
        .unwrap();
    assert!(quick(1).is_ok(), "quick again after the pool's turn");
    assert_eq!(store.messages(inbox).unwrap()[0].flags, "$B");
}
