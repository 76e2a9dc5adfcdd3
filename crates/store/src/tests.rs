//! Store tests across modules: group commit, recovery, export.

use crate::*;
use rusqlite::params;

/// An account as postern-directory makes one (its domain, its row, its
/// folders), without the directory, which sits above the store
/// (shared_db.rs). The password hash is one no password matches.
pub(crate) fn add_user(store: &Store, address: &str, quota: u64) -> UserId {
    let domain = address.rsplit_once('@').expect("an address").1;
    let mut conn = store.conn();
    let tx = conn.transaction().unwrap();
    tx.execute(
        "INSERT OR IGNORE INTO domains (name, created) VALUES (?1, 0)",
        [domain.to_ascii_lowercase()],
    )
    .unwrap();
    tx.execute(
        "INSERT INTO users (address, domain_id, name, password_hash, quota, created)
         VALUES (?1, (SELECT id FROM domains WHERE name = ?2), '', '!', ?3, 0)",
        params![address, domain.to_ascii_lowercase(), quota as i64],
    )
    .unwrap();
    let id = UserId(tx.last_insert_rowid());
    shared_db::open_account(&tx, id).unwrap();
    tx.commit().unwrap();
    id
}

/// Deletes an account as postern-directory's `user_del` does.
pub(crate) fn del_user(store: &Store, user: UserId) {
    let mut conn = store.conn();
    let tx = conn.transaction().unwrap();
    let dead = shared_db::close_account(&tx, user).unwrap();
    tx.execute("DELETE FROM users WHERE id = ?1", [user.0])
        .unwrap();
    tx.commit().unwrap();
    drop(conn);
    store.remove_dead(dead);
}

pub(crate) fn setup() -> (tempfile::TempDir, Store, UserId, UserId) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = add_user(&store, "alice@example.org", 0);
    let b = add_user(&store, "bob@example.org", 1000);
    (dir, store, a, b)
}

pub(crate) async fn deliver(
    store: &Store,
    body: &[u8],
    local: Vec<UserId>,
    remote: Vec<&str>,
) -> Result<Committed, StoreError> {
    let mut w = store.create_blob().await.unwrap();
    w.write(body).await.unwrap();
    let blob = w.finish().await.unwrap();
    store
        .commit(Delivery {
            blob,
            sender: "s@x.test".into(),
            local,
            remote: remote
                .into_iter()
                .map(|a| RemoteRecipient {
                    address: a.into(),
                    ..Default::default()
                })
                .collect(),
            env_id: None,
            ret: None,
            smtputf8: false,
            internal_date: 0,
            prepend: vec![],
            junk: false,
        })
        .await
}

#[tokio::test]
async fn commit_assigns_uids_and_counts_usage() {
    let (_d, store, a, b) = setup();
    let mut changes = store.subscribe();
    let c1 = deliver(&store, b"Subject: one\r\n\r\nhi\r\n", vec![a, b], vec![])
        .await
        .unwrap();
    assert_eq!(c1.delivered, 2);
    let c2 = deliver(
        &store,
        b"Subject: two\r\n\r\nhi\r\n",
        vec![a],
        vec!["r@remote.test"],
    )
    .await
    .unwrap();
    assert_eq!(c2.queued, 1);
    let inbox = store.mailbox(a, "inbox").unwrap().unwrap();
    let msgs = store.messages(inbox).unwrap();
    assert_eq!(msgs.iter().map(|m| m.uid).collect::<Vec<_>>(), vec![1, 2]);
    assert!(msgs[0].modseq < msgs[1].modseq);
    assert_ne!(msgs[0].guid, msgs[1].guid);
    assert_eq!(store.usage(b).unwrap().0, 20);
    assert!(store.blob_path(&c1.id).exists());
    assert_eq!(changes.recv().await.unwrap().user, a);
    let q = store.queue_list().unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].recipients[0].status, "pending");
}

#[tokio::test]
async fn concurrent_commits_all_land() {
    let (_d, store, a, _) = setup();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let s = store.clone();
            tokio::spawn(async move {
                deliver(
                    &s,
                    format!("Subject: {i}\r\n\r\nx\r\n").as_bytes(),
                    vec![a],
                    vec![],
                )
                .await
                .unwrap()
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let inbox = store.mailbox(a, "INBOX").unwrap().unwrap();
    let uids: Vec<u32> = store
        .messages(inbox)
        .unwrap()
        .iter()
        .map(|m| m.uid)
        .collect();
    assert_eq!(uids, (1..=50).collect::<Vec<_>>());
}

#[tokio::test]
async fn abandoned_bodies_leave_no_file() {
    let (d, store, _, _) = setup();
    let mut w = store.create_blob().await.unwrap();
    // Past what is held in memory: the body is in its file.
    w.write(&vec![b'x'; blob::HOLD + 1]).await.unwrap();
    let path = crate::spool::path(&d.path().join("queue/incoming"), w.id());
    assert!(path.exists());
    drop(w);
    assert!(!path.exists());
    drop(d);
}

#[tokio::test]
async fn export_is_mboxrd() {
    let (_d, store, a, _) = setup();
    deliver(
        &store,
        b"Return-Path: <s@x.test>\r\nSubject: hi\r\n\r\nFrom here\r\n>From there\r\n",
        vec![a],
        vec![],
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    let exported = export::export_mbox(&store, a, "INBOX", &mut out).await;
    assert_eq!(exported.unwrap(), 1);
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with("From s@x.test Thu Jan  1 00:00:00 1970\n"),
        "{text}"
    );
    assert!(text.contains("\n>From here\n>>From there\n"), "{text}");
    assert!(!text.contains('\r'));
}

#[tokio::test]
async fn recovery_places_committed_and_removes_unacknowledged() {
    let (d, store, a, _) = setup();
    let incoming = d.path().join("queue/incoming");
    // A body whose commit happened but whose move did not (crash in between).
    let c = deliver(&store, b"x\r\n", vec![a], vec![]).await.unwrap();
    std::fs::rename(store.blob_path(&c.id), incoming.join(c.id.as_str())).unwrap();
    // A body that was being received when the server died (past what is
    // held in memory, so it is in its file).
    let mut w = store.create_blob().await.unwrap();
    w.write(&vec![b'x'; blob::HOLD + 1]).await.unwrap();
    std::mem::forget(w);
    assert_eq!(store.recover().unwrap(), (1, 1));
    assert!(store.blob_path(&c.id).exists());
    assert_eq!(crate::spool::files(&incoming).unwrap().len(), 0);
}

#[tokio::test]
async fn expunge_frees_quota_and_bodies() {
    let (_d, store, a, b) = setup();
    let shared = deliver(&store, b"shared\r\n", vec![a, b], vec![])
        .await
        .unwrap();
    let own = deliver(&store, b"own\r\n", vec![a], vec![]).await.unwrap();
    let inbox = store.mailbox(a, "INBOX").unwrap().unwrap();
    let before = store.mailbox_state(inbox).unwrap().2;
    assert_eq!(store.expunge(inbox, &[2, 1, 99]).unwrap(), vec![1, 2]);
    assert!(store.messages(inbox).unwrap().is_empty());
    assert_eq!(store.usage(a).unwrap().0, 0);
    assert!(store.mailbox_state(inbox).unwrap().2 > before);
    assert!(store.blob_path(&shared.id).exists(), "bob still has it");
    // Unlinked once the expunge is durable (lazy_sync.rs), within a second.
    let t0 = std::time::Instant::now();
    while store.blob_path(&own.id).exists() {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(5),
            "body left behind"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // UIDs are never reused (RFC 3501 §2.3.1.1).
    deliver(&store, b"next\r\n", vec![a], vec![]).await.unwrap();
    assert_eq!(store.messages(inbox).unwrap()[0].uid, 3);
}

#[tokio::test]
async fn junk_deliveries_go_to_the_junk_folder() {
    let (_d, store, a, _b) = setup();
    let mut w = store.create_blob().await.unwrap();
    w.write(b"Subject: q\r\n\r\nx\r\n").await.unwrap();
    let blob = w.finish().await.unwrap();
    let delivery = Delivery {
        blob,
        sender: "s@x.test".into(),
        local: vec![a],
        remote: vec![],
        env_id: None,
        ret: None,
        smtputf8: false,
        internal_date: 0,
        prepend: vec![],
        junk: true,
    };
    store.commit(delivery).await.unwrap();
    let junk = store.mailbox(a, "Junk").unwrap().unwrap();
    let inbox = store.mailbox(a, "INBOX").unwrap().unwrap();
    assert_eq!(store.messages(junk).unwrap().len(), 1);
    assert_eq!(store.messages(inbox).unwrap().len(), 0);
}

#[tokio::test]
async fn blob_contents_are_read_back_before_finish() {
    let (_d, store, _a, _b) = setup();
    let mut w = store.create_blob().await.unwrap();
    w.write(b"Subject: r\r\n\r\n").await.unwrap();
    w.write(b"body\r\n").await.unwrap();
    assert_eq!(w.contents().await.unwrap(), b"Subject: r\r\n\r\nbody\r\n");
    w.write(b"more").await.unwrap();
    w.rewrite(&[b"X: 1\r\n", b"\r\nnew"]).await.unwrap();
    w.write(b"!").await.unwrap();
    let id = w.id().clone();
    let blob = w.finish().await.unwrap();
    assert_eq!((blob.id(), blob.size()), (&id, 12));
    let path = crate::spool::path(&store.root().join("queue/incoming"), &id);
    assert_eq!(std::fs::read(path).unwrap(), b"X: 1\r\n\r\nnew!");
}

/// Every connection, the committer's included, is closed once the store is
/// dropped (SQLite removes the WAL file with the last one): nothing of the
/// store's is still running when a CLI command returns from main.
#[tokio::test]
async fn dropping_the_store_closes_the_committers_connection_too() {
    let (dir, store, alice, _) = setup();
    deliver(&store, b"Subject: x\r\n\r\nx\r\n", vec![alice], vec![])
        .await
        .unwrap();
    let wal = dir.path().join("db").join("postern.db-wal");
    assert!(wal.exists(), "the committer's connection keeps the WAL");
    drop(store);
    assert!(!wal.exists(), "a connection was still open after the drop");
}
