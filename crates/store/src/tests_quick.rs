//! Quick reads (quick.rs): on the calling thread when a connection is free
//! at once, on the blocking pool otherwise, and the same answer either way.

use crate::api::MailStore;
use crate::quick::QUICK_ROWS;
use crate::tests_readers::{deliver, setup};
use crate::*;
use std::thread::{self, ThreadId};

/// Where a quick read of `inbox`'s state ran, and what it read.
async fn state_from(store: &Store, inbox: MailboxId) -> (ThreadId, (u32, u32, u64)) {
    store
        .quick_read(move |s| Ok((thread::current().id(), Store::mailbox_state(s, inbox)?)))
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
