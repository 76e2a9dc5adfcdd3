//! Store tests for APPEND, COPY and MOVE.

use crate::*;

fn setup(quota: u64) -> (tempfile::TempDir, Store, UserId, UserId) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = crate::tests::add_user(&store, "alice@example.org", quota);
    let b = crate::tests::add_user(&store, "bob@example.org", 0);
    (dir, store, a, b)
}

async fn body(store: &Store, bytes: &[u8]) -> FinishedBlob {
    let mut w = store.create_blob().await.unwrap();
    w.write(bytes).await.unwrap();
    w.finish().await.unwrap()
}

fn flags(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn incoming_count(d: &tempfile::TempDir) -> usize {
    crate::spool::files(&d.path().join("queue/incoming"))
        .unwrap()
        .len()
}

fn refs(store: &Store, blob: &BlobId) -> i64 {
    store
        .conn()
        .query_row(
            "SELECT refs FROM blobs WHERE id = ?1",
            [blob.as_str()],
            |r| r.get(0),
        )
        .unwrap()
}

#[tokio::test]
async fn append_is_durable_and_announced() {
    let (d, store, a, _) = setup(0);
    let inbox = store.mailbox(a, "INBOX").unwrap().unwrap();
    let mut changes = store.subscribe();
    let (v0, next0, m0) = store.mailbox_state(inbox).unwrap();
    let blob = body(&store, b"Subject: hi\r\n\r\nhello\r\n").await;
    let id = blob.id().clone();
    let (v, uid) = store
        .append(
            inbox,
            blob,
            &flags(&["\\seen", "$Work", "\\Seen"]),
            1_700_000_000,
        )
        .unwrap();
    assert_eq!((v, uid), (v0, next0));
    let msgs = store.messages(inbox).unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].flags, "$Work \\Seen");
    assert_eq!(msgs[0].internal_date, 1_700_000_000);
    assert_eq!(msgs[0].size, 22);
    assert!(msgs[0].modseq > m0);
    assert_eq!(
        std::fs::read(store.blob_path(&id)).unwrap(),
        b"Subject: hi\r\n\r\nhello\r\n"
    );
    assert_eq!(incoming_count(&d), 0, "moved out of the spool");
    assert_eq!(store.usage(a).unwrap().0, 22);
    assert_eq!(changes.try_recv().unwrap().mailbox, inbox);
    // A crash after the commit and before the move: recovery puts it in place.
    std::fs::rename(
        store.blob_path(&id),
        crate::spool::path(&d.path().join("queue/incoming"), &id),
    )
    .unwrap();
    assert_eq!(store.recover().unwrap(), (1, 0));
    assert!(store.blob_path(&id).exists());
}

#[tokio::test]
async fn append_over_quota_or_to_nowhere_keeps_nothing() {
    let (d, store, a, _) = setup(100);
    let inbox = store.mailbox(a, "INBOX").unwrap().unwrap();
    store
        .append(inbox, body(&store, &[b'x'; 60]).await, &[], 1)
        .unwrap();
    let state = store.mailbox_state(inbox).unwrap();
    let blob = body(&store, &[b'y'; 41]).await;
    assert!(matches!(
        store.append(inbox, blob, &[], 1),
        Err(StoreError::OverQuota)
    ));
    assert_eq!(store.usage(a).unwrap().0, 60);
    assert_eq!(store.mailbox_state(inbox).unwrap(), state, "no UID used");
    assert_eq!(incoming_count(&d), 0, "refused body removed");
    // Exactly up to the quota is fine.
    store
        .append(inbox, body(&store, &[b'z'; 40]).await, &[], 1)
        .unwrap();
    assert_eq!(store.usage(a).unwrap().0, 100);
    let blob = body(&store, b"x").await;
    assert!(matches!(
        store.append(MailboxId(9999), blob, &[], 1),
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(incoming_count(&d), 0);
}

#[tokio::test]
async fn copy_makes_new_messages_sharing_the_body() {
    let (_d, store, a, b) = setup(0);
    let inbox = store.mailbox(a, "INBOX").unwrap().unwrap();
    let archive = store.mailbox(a, "Archive").unwrap().unwrap();
    for i in 0..3 {
        let f = if i == 1 {
            flags(&["\\Flagged"])
        } else {
            vec![]
        };
        store
            .append(inbox, body(&store, b"m\r\n").await, &f, 5)
            .unwrap();
    }
    store.expunge(inbox, &[1]).unwrap();
    let mut changes = store.subscribe();
    let (av, anext, _) = store.mailbox_state(archive).unwrap();
    let c = store.copy(inbox, archive, &[3, 2, 1, 3]).unwrap();
    assert_eq!(c.uidvalidity, av);
    assert_eq!(
        c.uids,
        vec![(2, anext), (3, anext + 1)],
        "absent UID 1 skipped"
    );
    assert_eq!(changes.try_recv().unwrap().mailbox, archive);
    let src = store.messages(inbox).unwrap();
    let dst = store.messages(archive).unwrap();
    assert_eq!(dst.len(), 2);
    assert_eq!(dst[0].flags, "\\Flagged");
    assert_eq!(dst[0].internal_date, 5);
    assert_eq!(dst[0].blob, src[0].blob);
    assert_ne!(dst[0].guid, src[0].guid, "a copy is a new message");
    assert_eq!(refs(&store, &src[0].blob), 2);
    assert_eq!(store.usage(a).unwrap().0, 4 * 3);
    // The source can go; the copy keeps the body.
    store.expunge(inbox, &[2, 3]).unwrap();
    assert!(store.blob_path(&dst[0].blob).exists());
    // Another user's folder is out of reach.
    let theirs = store.mailbox(b, "INBOX").unwrap().unwrap();
    assert!(matches!(
        store.copy(archive, theirs, &[anext]),
        Err(StoreError::Invalid(_))
    ));
    assert!(store.messages(theirs).unwrap().is_empty());
}

#[tokio::test]
async fn copy_over_quota_is_refused_whole() {
    let (_d, store, a, _) = setup(100);
    let inbox = store.mailbox(a, "INBOX").unwrap().unwrap();
    let archive = store.mailbox(a, "Archive").unwrap().unwrap();
    for _ in 0..2 {
        store
            .append(inbox, body(&store, &[b'x'; 30]).await, &[], 1)
            .unwrap();
    }
    let state = store.mailbox_state(archive).unwrap();
    assert!(matches!(
        store.copy(inbox, archive, &[1, 2]),
        Err(StoreError::OverQuota)
    ));
    assert!(store.messages(archive).unwrap().is_empty());
    assert_eq!(store.mailbox_state(archive).unwrap(), state);
    assert_eq!(store.usage(a).unwrap().0, 60);
    assert_eq!(store.copy(inbox, archive, &[1]).unwrap().uids.len(), 1);
}

#[tokio::test]
async fn move_keeps_the_guid_and_leaves_tombstones() {
    let (_d, store, a, _) = setup(100);
    let inbox = store.mailbox(a, "INBOX").unwrap().unwrap();
    let archive = store.mailbox(a, "Archive").unwrap().unwrap();
    for _ in 0..3 {
        store
            .append(
                inbox,
                body(&store, &[b'x'; 30]).await,
                &flags(&["\\Seen"]),
                1,
            )
            .unwrap();
    }
    let before = store.messages(inbox).unwrap();
    let (_, _, m_src) = store.mailbox_state(inbox).unwrap();
    let (av, anext, m_dst) = store.mailbox_state(archive).unwrap();
    let mut changes = store.subscribe();
    // At the quota, a move still works: it takes no more room.
    let c = store.move_messages(inbox, archive, &[1, 3, 42]).unwrap();
    assert_eq!(c.uidvalidity, av);
    assert_eq!(c.uids, vec![(1, anext), (3, anext + 1)]);
    let seen: Vec<_> = [changes.try_recv().unwrap(), changes.try_recv().unwrap()]
        .iter()
        .map(|c| c.mailbox)
        .collect();
    assert!(seen.contains(&inbox) && seen.contains(&archive));
    let src = store.messages(inbox).unwrap();
    let dst = store.messages(archive).unwrap();
    assert_eq!(src.iter().map(|m| m.uid).collect::<Vec<_>>(), vec![2]);
    assert_eq!(dst.len(), 2);
    assert_eq!(dst[0].guid, before[0].guid, "GUID kept (POP3 UIDL)");
    assert_eq!(dst[1].guid, before[2].guid);
    assert_eq!(dst[0].flags, "\\Seen");
    assert!(dst[0].modseq > m_dst);
    assert_eq!(store.usage(a).unwrap().0, 90);
    assert_eq!(refs(&store, &dst[0].blob), 1);
    let (_, _, m_src2) = store.mailbox_state(inbox).unwrap();
    assert!(m_src2 > m_src);
    let tombs: Vec<(i64, i64)> = store
        .conn()
        .prepare("SELECT uid, modseq FROM expunged WHERE mailbox_id = ?1 ORDER BY uid")
        .unwrap()
        .query_map([inbox.0], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(tombs, vec![(1, m_src2 as i64), (3, m_src2 as i64)]);
    // And back: the same GUID once more, under a new UID in INBOX.
    let (_, inext, _) = store.mailbox_state(inbox).unwrap();
    let c = store.move_messages(archive, inbox, &[anext]).unwrap();
    assert_eq!(c.uids, vec![(anext, inext)]);
    let back = store.messages(inbox).unwrap();
    assert_eq!(back.last().unwrap().guid, before[0].guid);
    // Nothing to move: no change, no MODSEQ.
    let state = store.mailbox_state(inbox).unwrap();
    assert!(store
        .move_messages(inbox, archive, &[999])
        .unwrap()
        .uids
        .is_empty());
    assert_eq!(store.mailbox_state(inbox).unwrap(), state);
}
