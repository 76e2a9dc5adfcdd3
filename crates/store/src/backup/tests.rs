//! Backup, verify, incremental and restore on a real store.

use super::*;
use crate::api::MailStore;
use crate::{FinishedBlob, Store, UserId};

fn setup() -> (tempfile::TempDir, Store, UserId) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = Store::open(&data).unwrap();
    let a = crate::tests::add_user(&store, "alice@example.org", 0);
    // As adding a user with a password does (its mechanism secrets are sealed).
    store.sasl_server_secret().unwrap();
    std::fs::write(data.join("postern.toml"), b"# settings\n").unwrap();
    (dir, store, a)
}

async fn body(store: &Store, bytes: &[u8]) -> FinishedBlob {
    let mut w = store.create_blob().await.unwrap();
    w.write(bytes).await.unwrap();
    w.finish().await.unwrap()
}

async fn append(store: &Store, user: UserId, text: &str, flags: &[&str]) -> u32 {
    let inbox = store.mailbox(user, "INBOX").unwrap().unwrap();
    let flags: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
    let b = body(store, text.as_bytes()).await;
    store.append(inbox, b, &flags, 1_700_000_000).unwrap().1
}

fn opts(now: i64, incremental: bool) -> Options {
    Options { incremental, now }
}

#[tokio::test]
async fn backup_verify_and_restore_keep_uids_and_flags() {
    let (d, store, alice) = setup();
    append(&store, alice, "Subject: one\r\n\r\n1\r\n", &["\\Seen"]).await;
    append(&store, alice, "Subject: two\r\n\r\n2\r\n", &["$Work"]).await;
    let dest = d.path().join("bk");
    let s = store
        .backup(&dest, &opts(1_800_000_000, false), &mut |_| {})
        .unwrap();
    assert_eq!(s.id, "20270115T080000Z");
    // db + 2 bodies + postern.toml + keys/server.key (made at the first seal)
    assert_eq!(s.files, 5, "{s:?}");
    assert!(s.dir.join("keys/server.key").is_file());
    assert_eq!(s.linked, 2);
    let report = verify::verify(&dest, &mut |_| {}).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);

    let target = d.path().join("restored");
    restore::restore(&dest, &target, &mut |_| {}).unwrap();
    let back = Store::open(&target).unwrap();
    let user = back.account_id("alice@example.org").unwrap().unwrap();
    let (i0, i1) = (
        store.mailbox(alice, "INBOX").unwrap().unwrap(),
        back.mailbox(user, "INBOX").unwrap().unwrap(),
    );
    assert_eq!(
        store.mailbox_state(i0).unwrap(),
        back.mailbox_state(i1).unwrap()
    );
    let (a, b) = (store.messages(i0).unwrap(), back.messages(i1).unwrap());
    let key = |m: &crate::mailbox::MessageInfo| (m.uid, m.guid.clone(), m.flags.clone());
    assert_eq!(
        a.iter().map(key).collect::<Vec<_>>(),
        b.iter().map(key).collect::<Vec<_>>()
    );
    assert_eq!(
        MailStore::read_body(&back, &b[1].blob)
            .await
            .unwrap()
            .unwrap(),
        b"Subject: two\r\n\r\n2\r\n"
    );
    // A target that holds anything is refused.
    let e = restore::restore(&dest, &target, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("not empty"), "{e}");
}

#[tokio::test]
async fn verify_names_a_damaged_file() {
    let (d, store, alice) = setup();
    append(&store, alice, "Subject: one\r\n\r\n1\r\n", &[]).await;
    let dest = d.path().join("bk");
    let s = store
        .backup(&dest, &opts(1_800_000_000, false), &mut |_| {})
        .unwrap();
    let db = s.dir.join("db/postern.db");
    let mut bytes = std::fs::read(&db).unwrap();
    bytes[200] ^= 1;
    std::fs::write(&db, bytes).unwrap();
    std::fs::write(s.dir.join("stray"), b"x").unwrap();
    let report = verify::verify(&dest, &mut |_| {}).unwrap();
    let said: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(
        said[0].starts_with("20270115T080000Z/db/postern.db: checksum"),
        "{said:?}"
    );
    assert_eq!(said[1], "20270115T080000Z/stray: not in the manifest");
    let e = restore::restore(&dest, &d.path().join("r"), &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("damaged"), "{e}");
}

#[tokio::test]
async fn incremental_takes_only_new_bodies_and_prune_keeps_n() {
    let (d, store, alice) = setup();
    append(&store, alice, "Subject: one\r\n\r\n1\r\n", &[]).await;
    append(&store, alice, "Subject: two\r\n\r\n2\r\n", &[]).await;
    let dest = d.path().join("bk");
    store
        .backup(&dest, &opts(1_800_000_000, false), &mut |_| {})
        .unwrap();
    append(&store, alice, "Subject: three\r\n\r\n3\r\n", &[]).await;
    let s = store
        .backup(&dest, &opts(1_800_000_060, true), &mut |_| {})
        .unwrap();
    assert_eq!(s.previous.as_deref(), Some("20270115T080000Z"));
    assert_eq!(s.reused, 2, "{s:?}");
    // The new body, the database, postern.toml and keys/server.key.
    assert_eq!(s.new_files, 4, "{s:?}");
    assert!(verify::verify(&dest, &mut |_| {})
        .unwrap()
        .problems
        .is_empty());
    assert_eq!(prune(&dest, 1).unwrap(), ["20270115T080000Z"]);
    // The newer backup is complete by itself.
    assert!(verify::verify(&dest, &mut |_| {})
        .unwrap()
        .problems
        .is_empty());
    assert_eq!(list(&dest).unwrap(), ["20270115T080100Z"]);
}

#[tokio::test]
async fn a_body_deleted_after_the_snapshot_is_still_in_the_backup() {
    let (d, store, alice) = setup();
    let uid = append(&store, alice, "Subject: gone\r\n\r\nx\r\n", &["\\Deleted"]).await;
    let dest = d.path().join("bk");
    // Step 1 links the body; the expunge that deletes its file must not take it.
    let inbox = store.mailbox(alice, "INBOX").unwrap().unwrap();
    let work = dest.join("w");
    let placed = store.link_bodies_now(&work, None, &mut |_| {}).unwrap();
    store.expunge(inbox, &[uid]).unwrap();
    let (rel, _) = placed.iter().next().unwrap();
    // The file goes once the expunge is fsync'd: the WAL flusher does that
    // within LazySync's delay (lazy_sync.rs), so wait for it with a deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.root().join(rel).exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        !store.root().join(rel).exists(),
        "the store deleted its copy"
    );
    assert_eq!(
        std::fs::read(work.join(rel)).unwrap(),
        b"Subject: gone\r\n\r\nx\r\n"
    );
}

#[tokio::test]
async fn a_backup_removes_what_a_killed_backup_left_behind() {
    let (d, store, alice) = setup();
    append(&store, alice, "Subject: one\r\n\r\n1\r\n", &[]).await;
    let dest = d.path().join("bk");
    // What a backup killed mid-way leaves: a partial directory with bodies.
    let dead = dest.join(".partial-20270115T070000Z/blobs/00");
    std::fs::create_dir_all(&dead).unwrap();
    std::fs::write(dead.join("half"), b"half a body").unwrap();
    let mut said = Vec::new();
    let s = store
        .backup(&dest, &opts(1_800_000_000, false), &mut |m| {
            said.push(m.to_string())
        })
        .unwrap();
    assert!(!dest.join(".partial-20270115T070000Z").exists(), "{said:?}");
    assert!(said.iter().any(|m| m.contains(".partial-20270115T070000Z")));
    assert_eq!(list(&dest).unwrap(), std::slice::from_ref(&s.id));
    let report = verify::verify(&dest, &mut |_| {}).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}
