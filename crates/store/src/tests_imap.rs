//! Store tests for what IMAP needs: folders and flags.

use crate::*;

fn setup() -> (tempfile::TempDir, Store, UserId, UserId) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = crate::tests::add_user(&store, "alice@example.org", 0);
    let b = crate::tests::add_user(&store, "bob@example.org", 0);
    (dir, store, a, b)
}

/// Delivers `body` to `user`'s INBOX through the committer (also used by
/// the reader-pool tests).
pub(crate) async fn deliver(store: &Store, user: UserId, body: &[u8]) {
    let mut w = store.create_blob().await.unwrap();
    w.write(body).await.unwrap();
    let blob = w.finish().await.unwrap();
    store
        .commit(Delivery {
            blob,
            sender: "s@x.test".into(),
            local: vec![user],
            remote: vec![],
            env_id: None,
            ret: None,
            smtputf8: false,
            internal_date: 1,
            prepend: vec![],
            junk: false,
        })
        .await
        .unwrap();
}

fn names(store: &Store, user: UserId) -> Vec<String> {
    store
        .folders(user)
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect()
}

#[test]
fn folder_names_are_checked() {
    use folders::validate_name as v;
    assert_eq!(v("inbox/Sub").unwrap(), "INBOX/Sub");
    assert_eq!(v("Projects/2024").unwrap(), "Projects/2024");
    for bad in [
        "", "a\r\nb", "a\0", "../x", "a/../b", "a//b", "/a", "a/", "a*", "%", "./a",
    ] {
        assert!(v(bad).is_err(), "{bad:?} accepted");
    }
    let deep = vec!["d"; folders::MAX_FOLDER_DEPTH + 1].join("/");
    assert!(v(&deep).is_err());
    assert!(v(&"x".repeat(folders::MAX_FOLDER_NAME + 1)).is_err());
}

#[test]
fn create_rename_delete_subscribe() {
    let (_d, store, a, b) = setup();
    store.create_folder(a, "Work/Clients").unwrap();
    assert!(
        names(&store, a).contains(&"Work".to_string()),
        "parent created"
    );
    assert!(matches!(
        store.create_folder(a, "Work"),
        Err(StoreError::Exists(_))
    ));
    assert!(
        !names(&store, b).contains(&"Work".to_string()),
        "other users unaffected"
    );
    let before = store
        .mailbox_state(store.mailbox(a, "Work/Clients").unwrap().unwrap())
        .unwrap()
        .0;
    store.rename_folder(a, "Work", "Job").unwrap();
    let n = names(&store, a);
    assert!(
        n.contains(&"Job/Clients".to_string()) && !n.contains(&"Work".to_string()),
        "{n:?}"
    );
    let _ = before;
    assert!(store.rename_folder(a, "INBOX", "Old").is_err());
    assert!(store.rename_folder(a, "Job", "Job/Inner").is_err());
    assert!(
        matches!(store.delete_folder(a, "Job"), Err(StoreError::Exists(_))),
        "has children"
    );
    store.delete_folder(a, "Job/Clients").unwrap();
    store.delete_folder(a, "Job").unwrap();
    assert!(store.delete_folder(a, "INBOX").is_err());
    assert!(matches!(
        store.delete_folder(a, "Nope"),
        Err(StoreError::NotFound(_))
    ));
    store.set_subscribed(a, "Sent", false).unwrap();
    let sent = store
        .folders(a)
        .unwrap()
        .into_iter()
        .find(|f| f.name == "Sent")
        .unwrap();
    assert!(!sent.subscribed);
    // RFC 3501 §6.3.6: a name may be subscribed before it exists…
    store.set_subscribed(a, "Nope", true).unwrap();
    assert!(store
        .subscriptions(a)
        .unwrap()
        .contains(&"Nope".to_string()));
    assert!(matches!(
        store.set_subscribed(a, "Sent", false),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn subscriptions_outlive_folders_and_follow_renames() {
    let (_dir, store, a, _) = setup();
    let names = |s: &Store| s.subscriptions(a).unwrap();
    assert_eq!(
        names(&store),
        ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"]
    );
    store.create_folder(a, "P/Q").unwrap();
    assert!(
        !names(&store).contains(&"P/Q".to_string()),
        "CREATE does not subscribe"
    );
    store.set_subscribed(a, "P/Q", true).unwrap();
    store.set_subscribed(a, "P", true).unwrap();
    store.rename_folder(a, "P", "R").unwrap();
    let now = names(&store);
    assert!(now.contains(&"R".to_string()) && now.contains(&"R/Q".to_string()));
    assert!(!now.iter().any(|n| n.starts_with('P')));
    // …and stays subscribed after its folder is deleted.
    store.delete_folder(a, "R/Q").unwrap();
    assert!(names(&store).contains(&"R/Q".to_string()));
    let f = store.folders(a).unwrap();
    assert!(f.iter().find(|f| f.name == "R").unwrap().subscribed);
}

#[test]
fn recreated_folder_gets_a_new_uidvalidity() {
    let (_d, store, a, _) = setup();
    let id = store.create_folder(a, "Tmp").unwrap();
    let v1 = store.mailbox_state(id).unwrap().0;
    store.delete_folder(a, "Tmp").unwrap();
    let id = store.create_folder(a, "Tmp").unwrap();
    assert!(store.mailbox_state(id).unwrap().0 > v1);
}

#[tokio::test]
async fn deleting_a_folder_releases_quota_and_bodies() {
    let (_d, store, a, _) = setup();
    deliver(&store, a, b"Subject: x\r\n\r\nhello\r\n").await;
    let inbox = store.mailbox(a, "INBOX").unwrap().unwrap();
    let blob = store.messages(inbox).unwrap()[0].blob.clone();
    // Move the body's only reference into a folder by hand, then delete it.
    store.create_folder(a, "Box").unwrap();
    let bx = store.mailbox(a, "Box").unwrap().unwrap();
    store
        .conn()
        .execute("UPDATE messages SET mailbox_id = ?1", [bx.0])
        .unwrap();
    assert!(store.usage(a).unwrap().0 > 0);
    store.delete_folder(a, "Box").unwrap();
    assert_eq!(store.usage(a).unwrap().0, 0);
    assert!(!store.blob_path(&blob).exists());
}

#[test]
fn flag_arithmetic() {
    use flags::{apply_flags, canonical_flags};
    let f = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        canonical_flags(["\\seen", "$Label", "\\SEEN", "\\Flagged"]),
        "$Label \\Flagged \\Seen"
    );
    assert_eq!(
        apply_flags("\\Seen", FlagOp::Add, &f(&["\\Flagged"])),
        "\\Flagged \\Seen"
    );
    assert_eq!(
        apply_flags("\\Flagged \\Seen", FlagOp::Remove, &f(&["\\seen"])),
        "\\Flagged"
    );
    assert_eq!(apply_flags("\\Flagged", FlagOp::Replace, &f(&[])), "");
}

#[tokio::test]
async fn store_flags_bumps_modseq_and_honours_unchangedsince() {
    let (_d, store, a, _) = setup();
    // Subscribed first: the committer broadcasts a delivery after answering it.
    let mut changes = store.subscribe();
    deliver(&store, a, b"Subject: 1\r\n\r\none\r\n").await;
    deliver(&store, a, b"Subject: 2\r\n\r\ntwo\r\n").await;
    for _ in 0..2 {
        changes.recv().await.unwrap();
    }
    let inbox = store.mailbox(a, "INBOX").unwrap().unwrap();
    let (_, _, m0) = store.mailbox_state(inbox).unwrap();
    let seen = vec!["\\Seen".to_string()];
    let (up, refused) = store
        .store_flags(inbox, &[1, 2, 99], FlagOp::Add, &seen, None)
        .unwrap();
    assert!(refused.is_empty());
    assert_eq!(up.len(), 2);
    assert!(up
        .iter()
        .all(|u| u.changed && u.modseq == m0 + 1 && u.flags == "\\Seen"));
    assert_eq!(store.mailbox_state(inbox).unwrap().2, m0 + 1);
    assert_eq!(changes.try_recv().unwrap().mailbox, inbox);
    // Unchanged: no new MODSEQ, no broadcast.
    let (up, _) = store
        .store_flags(inbox, &[1], FlagOp::Add, &seen, None)
        .unwrap();
    assert!(!up[0].changed);
    assert_eq!(store.mailbox_state(inbox).unwrap().2, m0 + 1);
    assert!(changes.try_recv().is_err());
    // UNCHANGEDSINCE below the message's MODSEQ: refused (RFC 7162 §3.1.3).
    let flag = vec!["\\Flagged".to_string()];
    let (up, refused) = store
        .store_flags(inbox, &[1, 2], FlagOp::Add, &flag, Some(m0))
        .unwrap();
    assert!(up.is_empty());
    assert_eq!(refused, vec![1, 2]);
}

/// RFC 3501 §6.3.5: RENAME INBOX moves its messages (fresh UIDs, flags and
/// GUIDs kept) into a new folder; INBOX stays, empty, with its inferiors.
#[tokio::test]
async fn rename_inbox_moves_everything_in_one_step() {
    let (_d, store, a, _) = setup();
    for i in 0..5 {
        deliver(&store, a, format!("Subject: {i}\r\n\r\nx\r\n").as_bytes()).await;
    }
    let inbox = store.mailbox(a, "INBOX").unwrap().unwrap();
    let seen = vec!["\\Seen".to_string(), "$Work".to_string()];
    store
        .store_flags(inbox, &[2, 4], FlagOp::Add, &seen, None)
        .unwrap();
    store.create_folder(a, "INBOX/Sub").unwrap();
    let before = store.messages(inbox).unwrap();
    let done = store.rename_inbox(a, "Old/2024").unwrap();
    assert_eq!(done.uids, (1..=5).map(|u| (u, u)).collect::<Vec<_>>());
    assert!(store.messages(inbox).unwrap().is_empty());
    let moved = store.messages(done.folder).unwrap();
    assert_eq!(moved.len(), 5);
    for (b, m) in before.iter().zip(&moved) {
        assert_eq!((&b.guid, &b.flags), (&m.guid, &m.flags));
    }
    let (va, _, _) = store.mailbox_state(inbox).unwrap();
    let (vb, next, _) = store.mailbox_state(done.folder).unwrap();
    assert_ne!(va, vb);
    assert_eq!(next, 6);
    // Inferiors stay; parents of the new name are created.
    assert!(names(&store, a).iter().any(|n| n == "INBOX/Sub"));
    assert!(names(&store, a).iter().any(|n| n == "Old"));
    // INBOX expunges are visible to QRESYNC clients.
    let gone = store.changes_since(inbox, 0).unwrap().vanished;
    assert_eq!(gone, vec![1, 2, 3, 4, 5]);
    assert!(matches!(
        store.rename_inbox(a, "Old/2024"),
        Err(StoreError::Exists(_))
    ));
    assert!(matches!(
        store.rename_inbox(a, "inbox/x"),
        Err(StoreError::Invalid(_))
    ));
}

/// Deliveries racing a RENAME INBOX end up in INBOX or in the new folder,
/// each exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_inbox_loses_no_concurrent_delivery() {
    let (_d, store, a, _) = setup();
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..40 {
                deliver(&store, a, format!("Subject: {i}\r\n\r\nx\r\n").as_bytes()).await;
            }
        })
    };
    let mut folders = Vec::new();
    for i in 0..8 {
        folders.push(store.rename_inbox(a, &format!("R{i}")).unwrap().folder);
        tokio::task::yield_now().await;
    }
    writer.await.unwrap();
    folders.push(store.mailbox(a, "INBOX").unwrap().unwrap());
    let mut subjects = Vec::new();
    for f in folders {
        for m in store.messages(f).unwrap() {
            subjects.push(m.guid);
        }
    }
    let total = subjects.len();
    subjects.sort();
    subjects.dedup();
    assert_eq!((total, subjects.len()), (40, 40));
}
