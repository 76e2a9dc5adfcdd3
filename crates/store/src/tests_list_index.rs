//! A mailbox's message list comes from its own index (db.rs SCHEMA_V21):
//! reading one mailbox of a store whose mailboxes were filled together
//! touches that mailbox's few index pages, not the table page of each of
//! its messages (issue 14: on an encrypted store every page read is a
//! decryption and an HMAC).

use crate::*;
use rusqlite::{ffi, params};

/// Mailboxes filled together, a message to each in turn, as deliveries do.
const MAILBOXES: usize = 10;
const PER_MAILBOX: usize = 200;

/// Pages the connection read from disk since the last call.
fn pages_read(conn: &rusqlite::Connection) -> i32 {
    let (mut now, mut peak) = (0, 0);
    // SAFETY: a valid handle, two out-pointers; reset = 1 zeroes the counter.
    let rc = unsafe {
        ffi::sqlite3_db_status(
            conn.handle(),
            ffi::SQLITE_DBSTATUS_CACHE_MISS,
            &mut now,
            &mut peak,
            1,
        )
    };
    assert_eq!(rc, ffi::SQLITE_OK);
    now
}

/// A store with MAILBOXES users whose INBOX rows interleave in `messages`.
fn interleaved() -> (tempfile::TempDir, Store, Vec<MailboxId>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let boxes: Vec<MailboxId> = (0..MAILBOXES)
        .map(|n| {
            let user = crate::tests::add_user(&store, &format!("u{n}@example.org"), 0);
            store.mailbox(user, "INBOX").unwrap().unwrap()
        })
        .collect();
    let mut conn = store.conn();
    let tx = conn.transaction().unwrap();
    for uid in 1..=PER_MAILBOX {
        for (n, mailbox) in boxes.iter().enumerate() {
            let blob = format!("{n:02}{uid:030}");
            tx.execute(
                "INSERT INTO blobs (id, size, refs) VALUES (?1, 2000, 1)",
                [&blob],
            )
            .unwrap();
            tx.execute(
                "INSERT INTO messages (mailbox_id, uid, guid, blob_id, size, internaldate, flags, modseq)
                 VALUES (?1, ?2, ?3, ?4, 2000, 1700000000, '\\Seen', ?2)",
                params![mailbox.0, uid as i64, format!("guid-{n}-{uid:027}"), blob],
            )
            .unwrap();
        }
    }
    tx.commit().unwrap();
    drop(conn);
    (dir, store, boxes)
}

#[test]
fn a_mailbox_list_reads_its_own_pages_not_the_whole_table() {
    let (_d, store, boxes) = interleaved();
    let table_pages: i32 = {
        let conn = store.conn();
        conn.execute_batch("PRAGMA shrink_memory").unwrap(); // an empty page cache
        pages_read(&conn);
        conn.query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap()
    };
    // The shared connection is free, so the snapshot is read on it.
    let (msgs, _) = store.snapshot(boxes[3]).unwrap();
    assert_eq!(msgs.len(), PER_MAILBOX);
    assert!(msgs.windows(2).all(|w| w[0].uid < w[1].uid));
    assert!(msgs.iter().all(|m| m.blob.as_str().starts_with("03")));
    let read = pages_read(&store.conn());
    assert!(
        read * 10 < table_pages,
        "one mailbox's list read {read} of the database's {table_pages} pages"
    );
}

/// Virtual-machine steps the connection's cached statement containing every
/// one of `needles` ran since the last call: rows visited, not pages.
fn steps_of(conn: &rusqlite::Connection, needles: &[&str]) -> i32 {
    let mut found = None;
    // SAFETY: walks the connection's own statements; each pointer is live
    // while no statement is finalized, and none is meanwhile.
    unsafe {
        let db = conn.handle();
        let mut st = ffi::sqlite3_next_stmt(db, std::ptr::null_mut());
        while !st.is_null() {
            let sql = std::ffi::CStr::from_ptr(ffi::sqlite3_sql(st)).to_string_lossy();
            if needles.iter().all(|n| sql.contains(n)) {
                found = Some(ffi::sqlite3_stmt_status(
                    st,
                    ffi::SQLITE_STMTSTATUS_VM_STEP,
                    1,
                ));
            }
            st = ffi::sqlite3_next_stmt(db, st);
        }
    }
    found.unwrap_or_else(|| panic!("no cached statement has {needles:?}"))
}

#[test]
fn changes_since_a_modseq_visit_only_the_changed_rows() {
    let (_d, store, boxes) = interleaved();
    let before = store
        .changes_since(boxes[5], PER_MAILBOX as u64 - 2)
        .unwrap();
    assert_eq!(
        before.changed.iter().map(|m| m.uid).collect::<Vec<_>>(),
        [PER_MAILBOX as u32 - 1, PER_MAILBOX as u32]
    );
    let needle = ["FROM messages", "modseq > ?2"];
    steps_of(&store.conn(), &needle);
    let after = store.changes_since(boxes[5], PER_MAILBOX as u64).unwrap();
    assert!(after.changed.is_empty() && after.vanished.is_empty());
    let steps = steps_of(&store.conn(), &needle);
    assert!(
        steps < PER_MAILBOX as i32 / 4,
        "an empty change set took {steps} steps"
    );
}
