//! Bodies kept in the database (inline.rs): written with their row, read
//! through every door a file body is, freed with their last reference,
//! carried by backups.

use crate::api::{BodyFiles, MailStore};
use crate::backup::{restore, restore_user, verify, Options};
use crate::blob::HOLD;
use crate::*;
use tokio::io::AsyncReadExt;

fn setup() -> (tempfile::TempDir, Store, UserId, MailboxId) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("data")).unwrap();
    let a = crate::tests::add_user(&store, "alice@example.org", 0);
    store.sasl_server_secret().unwrap();
    let inbox = store.mailbox(a, "INBOX").unwrap().unwrap();
    (dir, store, a, inbox)
}

async fn inline_body(store: &Store, bytes: &[u8]) -> FinishedBlob {
    let mut w = store.create_blob().await.unwrap();
    w.write(bytes).await.unwrap();
    w.finish_inline().await.unwrap()
}

fn inline_rows(store: &Store) -> i64 {
    store
        .conn()
        .query_row("SELECT COUNT(*) FROM inline_bodies", [], |r| r.get(0))
        .unwrap()
}

/// Files under `blobs/` and in the spool.
fn body_files(store: &Store) -> usize {
    let blobs = store.root().join("blobs");
    let placed: usize = std::fs::read_dir(&blobs)
        .map(|shards| {
            shards
                .flatten()
                .map(|s| std::fs::read_dir(s.path()).map(|f| f.count()).unwrap_or(0))
                .sum()
        })
        .unwrap_or(0);
    placed
        + crate::spool::files(&store.root().join("queue/incoming"))
            .unwrap()
            .len()
}

#[tokio::test]
async fn a_held_body_appended_has_no_file_and_reads_the_same_every_way() {
    let (_d, store, _a, inbox) = setup();
    let text = b"Subject: inline\r\n\r\nkept with its row\r\n";
    let blob = inline_body(&store, text).await;
    assert_eq!(blob.dir(), None, "no spool directory to fsync");
    let id = blob.id().clone();
    let (_, uid) = store.append(inbox, blob, &[], 1_700_000_000).unwrap();
    assert_eq!(uid, 1);
    assert_eq!((body_files(&store), inline_rows(&store)), (0, 1));
    let info = &store.messages(inbox).unwrap()[0];
    assert_eq!(
        (info.blob.clone(), info.size),
        (id.clone(), text.len() as u64)
    );

    // Quick (on this thread), on the pool, as a reader, and opened async.
    let quick = MailStore::read_body(&store, &id).await.unwrap().unwrap();
    assert_eq!(quick, text);
    assert_eq!(BodyFiles::read(&store, &id).unwrap().unwrap(), text);
    let mut start = [0u8; 8];
    BodyFiles::open(&store, &id)
        .unwrap()
        .unwrap()
        .read_exact(&mut start)
        .unwrap();
    assert_eq!(&start, b"Subject:");
    let mut body = MailStore::open_body(&store, &id).await.unwrap().unwrap();
    assert_eq!(body.len(), text.len() as u64);
    let mut all = Vec::new();
    body.read_to_end(&mut all).await.unwrap();
    assert_eq!(all, text);
}

#[tokio::test]
async fn a_body_larger_than_hold_still_gets_a_file() {
    let (_d, store, _a, inbox) = setup();
    let text = vec![b'x'; HOLD + 1];
    let blob = inline_body(&store, &text).await;
    assert!(blob.dir().is_some());
    let id = blob.id().clone();
    store.append(inbox, blob, &[], 1).unwrap();
    assert_eq!((body_files(&store), inline_rows(&store)), (1, 0));
    assert!(store.blob_path(&id).is_file());
    assert_eq!(BodyFiles::read(&store, &id).unwrap().unwrap(), text);
}

/// A copy shares the body: it stays until the last message using it is
/// expunged, and then goes with that expunge's transaction.
#[tokio::test]
async fn an_inline_body_is_freed_with_its_last_reference() {
    let (_d, store, a, inbox) = setup();
    let other = store.create_folder(a, "Other").unwrap();
    let blob = inline_body(&store, b"Subject: shared\r\n\r\nx\r\n").await;
    let id = blob.id().clone();
    store.append(inbox, blob, &[], 1).unwrap();
    store.copy(inbox, other, &[1]).unwrap();
    store.expunge(inbox, &[1]).unwrap();
    assert_eq!(inline_rows(&store), 1, "still in Other");
    assert!(BodyFiles::read(&store, &id).unwrap().is_some());
    store.expunge(other, &[1]).unwrap();
    assert_eq!(inline_rows(&store), 0);
    assert!(BodyFiles::read(&store, &id).unwrap().is_none());
    assert!(MailStore::open_body(&store, &id).await.unwrap().is_none());
}

/// A backup holds inline bodies in its database copy: it verifies, a full
/// restore reads them, and a user's restore copies them back.
#[tokio::test]
async fn backups_carry_inline_bodies() {
    let (d, store, a, inbox) = setup();
    let texts: [&[u8]; 2] = [b"Subject: one\r\n\r\n1\r\n", b"Subject: two\r\n\r\n2\r\n"];
    for t in texts {
        let blob = inline_body(&store, t).await;
        store.append(inbox, blob, &["\\Seen".into()], 1).unwrap();
    }
    // And one with a file, as any delivery's.
    let mut w = store.create_blob().await.unwrap();
    w.write(b"Subject: file\r\n\r\n3\r\n").await.unwrap();
    store
        .append(inbox, w.finish().await.unwrap(), &[], 1)
        .unwrap();

    let dest = d.path().join("bk");
    let opts = Options {
        incremental: false,
        now: 1_800_000_000,
    };
    let s = store.backup(&dest, &opts, &mut |_| {}).unwrap();
    assert_eq!(s.linked, 1, "only the file body is linked: {s:?}");
    let report = verify::verify(&dest, &mut |_| {}).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);

    let target = d.path().join("restored");
    restore::restore(&dest, &target, &mut |_| {}).unwrap();
    let back = Store::open(&target).unwrap();
    let user = back.account_id("alice@example.org").unwrap().unwrap();
    let i1 = back.mailbox(user, "INBOX").unwrap().unwrap();
    let msgs = back.messages(i1).unwrap();
    assert_eq!(msgs.len(), 3);
    for (m, want) in msgs
        .iter()
        .zip([texts[0], texts[1], b"Subject: file\r\n\r\n3\r\n"])
    {
        assert_eq!(BodyFiles::read(&back, &m.blob).unwrap().unwrap(), want);
    }

    let done = restore_user::restore_user(
        &store,
        &s.dir,
        "alice@example.org",
        Some("INBOX"),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(done.messages, 3);
    let (name, _) = &done.folders[0];
    let copy = store.mailbox(a, name).unwrap().unwrap();
    let restored = store.messages(copy).unwrap();
    assert_eq!(restored.len(), 3);
    assert_eq!(
        BodyFiles::read(&store, &restored[1].blob).unwrap().unwrap(),
        texts[1]
    );
}

#[tokio::test]
async fn an_inline_body_old_enough_is_spilled_to_a_file_and_reads_the_same() {
    let (_d, store, _a, inbox) = setup();
    let text = b"Subject: spill\r\n\r\nto a file later\r\n";
    let blob = inline_body(&store, text).await;
    let id = blob.id().clone();
    store.append(inbox, blob, &[], 1).unwrap();
    let now = crate::ids::now();
    assert_eq!(
        store.spill_inline(now - 3600, 10).unwrap(),
        0,
        "not old enough"
    );
    assert_eq!(inline_rows(&store), 1);
    assert_eq!(store.spill_inline(now + 1, 10).unwrap(), 1);
    assert_eq!((body_files(&store), inline_rows(&store)), (1, 0));
    assert_eq!(std::fs::read(store.blob_path(&id)).unwrap(), text);
    assert_eq!(BodyFiles::read(&store, &id).unwrap().unwrap(), text);
    assert_eq!(store.spill_inline(now + 1, 10).unwrap(), 0, "nothing left");
    // Freed like any file body.
    store.expunge(inbox, &[1]).unwrap();
    assert!(BodyFiles::read(&store, &id).unwrap().is_none());
}

/// At most `max` a call, oldest first.
#[tokio::test]
async fn a_spill_takes_a_bounded_batch() {
    let (_d, store, _a, inbox) = setup();
    for n in 0..5 {
        let blob = inline_body(&store, format!("Subject: {n}\r\n\r\n{n}\r\n").as_bytes()).await;
        store.append(inbox, blob, &[], 1).unwrap();
    }
    let later = crate::ids::now() + 1;
    assert_eq!(store.spill_inline(later, 2).unwrap(), 2);
    assert_eq!(inline_rows(&store), 3);
    let msgs = store.messages(inbox).unwrap();
    assert!(
        store.blob_path(&msgs[0].blob).is_file(),
        "the oldest went first"
    );
    assert!(!store.blob_path(&msgs[4].blob).exists());
    assert_eq!(store.spill_inline(later, 10).unwrap(), 3);
    for (n, m) in msgs.iter().enumerate() {
        let want = format!("Subject: {n}\r\n\r\n{n}\r\n");
        assert_eq!(
            BodyFiles::read(&store, &m.blob).unwrap().unwrap(),
            want.as_bytes()
        );
    }
}

/// Expunged between the spill's read and its commit: the file it wrote is
/// removed, nothing is left behind.
#[tokio::test]
async fn a_body_expunged_during_its_spill_leaves_no_file() {
    let (_d, store, _a, inbox) = setup();
    let blob = inline_body(&store, b"Subject: gone\r\n\r\nx\r\n").await;
    let id = blob.id().clone();
    store.append(inbox, blob, &[], 1).unwrap();
    let bodies = store.spill_candidates(crate::ids::now() + 1, 10).unwrap();
    let placed = store.write_out(&bodies).unwrap();
    assert!(store.blob_path(&id).is_file());
    store.expunge(inbox, &[1]).unwrap();
    let gone = store.forget_inline(&placed).unwrap();
    assert_eq!(gone, vec![id.clone()]);
    store.remove_blob_files(&gone);
    assert_eq!((body_files(&store), inline_rows(&store)), (0, 0));
}
