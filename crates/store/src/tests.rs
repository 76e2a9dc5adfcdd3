//! Store tests across modules: directory expansion, group commit, export.

use crate::*;
use std::collections::BTreeSet;

fn pw(s: &str) -> Secret<String> {
    Secret::new(s.to_string())
}

pub(crate) fn setup() -> (tempfile::TempDir, Store, UserId, UserId) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.domain_add("Example.ORG").unwrap();
    let a = store
        .user_add("alice@example.org", &pw("alice-pass-1"), "Alice", 0)
        .unwrap();
    let b = store
        .user_add("bob@example.org", &pw("bob-pass-1"), "", 1000)
        .unwrap();
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

#[test]
fn directory_rules() {
    let (_d, store, a, b) = setup();
    assert_eq!(store.domain_list().unwrap(), vec!["example.org"]);
    assert!(store
        .user_add("carol@nowhere.test", &pw("x"), "", 0)
        .unwrap_err()
        .to_string()
        .contains("domain add"));
    assert!(matches!(
        store.user_add("ALICE@example.org", &pw("x"), "", 0),
        Err(StoreError::Exists(_))
    ));
    assert!(store
        .user_add("bad address@example.org", &pw("x"), "", 0)
        .is_err());
    assert_eq!(store.mailbox_list(a).unwrap().len(), SPECIAL_FOLDERS.len());

    store
        .alias_add(
            "info@example.org",
            &["alice@example.org".into(), "ext@remote.test".into()],
        )
        .unwrap();
    store
        .group_add(
            "team@example.org",
            &["alice@example.org".into(), "bob@example.org".into()],
        )
        .unwrap();
    store
        .alias_add("@example.org", &["bob@example.org".into()])
        .unwrap();

    let e = store.expand("info@example.org").unwrap();
    assert_eq!(e.local, BTreeSet::from([a]));
    assert_eq!(e.remote, BTreeSet::from(["ext@remote.test".to_string()]));
    assert_eq!(
        store.expand("team@example.org").unwrap().local,
        BTreeSet::from([a, b])
    );
    assert_eq!(
        store.expand("whoever@example.org").unwrap().local,
        BTreeSet::from([b])
    );
    assert_eq!(
        store.expand("Alice@EXAMPLE.org").unwrap().local,
        BTreeSet::from([a])
    );
    assert_eq!(store.expand("x@remote.test").unwrap().remote.len(), 1);

    store.alias_del("@example.org", &[]).unwrap();
    assert!(store.expand("whoever@example.org").unwrap().is_empty());
    assert!(store.domain_del("example.org").is_err());
}

#[test]
fn alias_loops_terminate() {
    let (_d, store, _, _) = setup();
    store
        .alias_add("l1@example.org", &["l2@example.org".into()])
        .unwrap();
    store
        .alias_add(
            "l2@example.org",
            &["l1@example.org".into(), "alice@example.org".into()],
        )
        .unwrap();
    assert_eq!(store.expand("l1@example.org").unwrap().local.len(), 1);
}

#[test]
fn authentication() {
    let (_d, store, a, _) = setup();
    assert_eq!(
        store
            .authenticate("alice@example.org", &pw("alice-pass-1"))
            .unwrap()
            .unwrap()
            .id,
        a
    );
    assert!(store
        .authenticate("alice@example.org", &pw("wrong"))
        .unwrap()
        .is_none());
    assert!(store
        .authenticate("nobody@example.org", &pw("alice-pass-1"))
        .unwrap()
        .is_none());
    store
        .user_passwd("alice@example.org", &pw("new-pass-2"))
        .unwrap();
    assert!(store
        .authenticate("alice@example.org", &pw("new-pass-2"))
        .unwrap()
        .is_some());
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
    w.write(b"partial").await.unwrap();
    let path = d.path().join("queue/incoming").join(w.id().as_str());
    assert!(path.exists());
    drop(w);
    assert!(!path.exists());
    drop(d);
}

#[tokio::test]
async fn user_del_removes_unshared_bodies() {
    let (_d, store, a, b) = setup();
    let shared = deliver(&store, b"x\r\n", vec![a, b], vec![]).await.unwrap();
    let own = deliver(&store, b"y\r\n", vec![a], vec![]).await.unwrap();
    store.user_del("alice@example.org").unwrap();
    assert!(store.blob_path(&shared.id).exists());
    assert!(!store.blob_path(&own.id).exists());
    assert!(store
        .user_by_address("alice@example.org")
        .unwrap()
        .is_none());
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
    // A body that was being received when the server died.
    let mut w = store.create_blob().await.unwrap();
    w.write(b"partial").await.unwrap();
    std::mem::forget(w);
    assert_eq!(store.recover().unwrap(), (1, 1));
    assert!(store.blob_path(&c.id).exists());
    assert_eq!(std::fs::read_dir(&incoming).unwrap().count(), 0);
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
    let path = store.root().join("queue/incoming").join(id.as_str());
    assert_eq!(std::fs::read(path).unwrap(), b"X: 1\r\n\r\nnew!");
}
