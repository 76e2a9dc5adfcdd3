//! The body held in memory up to [`HOLD`] octets, then written through.

use super::HOLD;
use crate::tests::setup;

#[tokio::test]
async fn a_body_of_hold_octets_stays_in_memory_and_one_more_goes_to_the_file() {
    let (_d, store, _a, _b) = setup();
    let mut w = store.create_blob().await.unwrap();
    let path = crate::spool::path(&store.root().join("queue/incoming"), w.id());
    let body = vec![b'x'; HOLD];
    w.write(&body[..10]).await.unwrap();
    w.write(&body[10..]).await.unwrap();
    assert!(w.is_held());
    assert!(!path.exists(), "a held body touches no file");
    assert_eq!(w.contents().await.unwrap(), body);
    w.write(b"y").await.unwrap();
    assert!(!w.is_held());
    assert_eq!(w.written(), HOLD as u64 + 1);
    let mut want = body.clone();
    want.push(b'y');
    assert_eq!(w.contents().await.unwrap(), want);
    let blob = w.finish().await.unwrap();
    assert_eq!(blob.size(), HOLD as u64 + 1);
    assert_eq!(std::fs::read(&path).unwrap(), want);
}

#[tokio::test]
async fn a_rewrite_of_a_held_body_that_outgrows_hold_goes_to_the_file_whole() {
    let (_d, store, _a, _b) = setup();
    let mut w = store.create_blob().await.unwrap();
    let path = crate::spool::path(&store.root().join("queue/incoming"), w.id());
    let body = vec![b'x'; HOLD - 4];
    w.write(&body).await.unwrap();
    w.rewrite(&[b"Added: 1\r\n", &body]).await.unwrap();
    assert!(!w.is_held());
    let blob = w.finish().await.unwrap();
    let want = [&b"Added: 1\r\n"[..], &body].concat();
    assert_eq!(blob.size(), want.len() as u64);
    assert_eq!(std::fs::read(&path).unwrap(), want);
}

#[tokio::test]
async fn a_held_body_is_written_once_at_finish() {
    let (_d, store, _a, _b) = setup();
    let mut w = store.create_blob().await.unwrap();
    let path = crate::spool::path(&store.root().join("queue/incoming"), w.id());
    w.write(b"Subject: s\r\n\r\nbody\r\n").await.unwrap();
    w.rewrite(&[b"A: 1\r\n", b"Subject: s\r\n\r\nbody\r\n"])
        .await
        .unwrap();
    assert!(w.is_held());
    assert!(!path.exists());
    let blob = w.finish().await.unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"A: 1\r\nSubject: s\r\n\r\nbody\r\n"
    );
    assert_eq!(blob.size(), 26);
}

#[tokio::test]
async fn a_held_body_dropped_unfinished_leaves_nothing_and_a_spilled_one_is_removed() {
    let (_d, store, _a, _b) = setup();
    let incoming = store.root().join("queue/incoming");
    let mut held = store.create_blob().await.unwrap();
    held.write(b"Subject: s\r\n\r\nbody\r\n").await.unwrap();
    let mut spilled = store.create_blob().await.unwrap();
    spilled.write(&vec![b'x'; HOLD + 1]).await.unwrap();
    let spilled_path = crate::spool::path(&incoming, spilled.id());
    assert!(spilled_path.exists());
    drop(held);
    drop(spilled);
    let left = crate::spool::files(&incoming).unwrap().len();
    assert_eq!(left, 0);
}

/// Directories are no longer created before every body (blob.rs `in_dir`):
/// one removed under the store (or never made) is made again when a body
/// needs it, for a held body, a spilled one and the move into `blobs/`.
#[tokio::test]
async fn bodies_are_kept_when_their_directories_are_missing() {
    use crate::mailbox::MessageInfo;
    let (_d, store, a, _b) = setup();
    let inbox = store.mailbox(a, "INBOX").unwrap().unwrap();
    let spool = store.root().join("queue/incoming");
    for size in [100, HOLD + 1] {
        std::fs::remove_dir_all(&spool).unwrap();
        std::fs::remove_dir_all(store.root().join("blobs")).unwrap();
        let mut w = store.create_blob().await.unwrap();
        let body = vec![b'z'; size];
        w.write(&body).await.unwrap();
        let blob = w.finish().await.unwrap();
        let id = blob.id().clone();
        store.append(inbox, blob, &[], 1).unwrap();
        assert!(store.blob_path(&id).exists(), "moved into blobs/");
        let got = crate::BodyFiles::read(&store, &id).unwrap();
        assert_eq!(got.as_deref(), Some(&body[..]));
    }
    let listed: Vec<MessageInfo> = store.messages(inbox).unwrap();
    assert_eq!(listed.len(), 2);
}
