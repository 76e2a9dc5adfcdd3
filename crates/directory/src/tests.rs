//! Directory tests across modules: the rules of names, expansion, logins,
//! and what deleting a user does to their mail.

use crate::prelude::*;
use postern_store::{
    Committed, Delivery, MailStore, Secret, Store, StoreError, UserId, SPECIAL_FOLDERS,
};
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

async fn deliver(store: &Store, body: &[u8], local: Vec<UserId>) -> Committed {
    let mut w = MailStore::create_blob(store).await.unwrap();
    w.write(body).await.unwrap();
    let blob = w.finish().await.unwrap();
    let delivery = Delivery {
        blob,
        sender: "s@x.test".into(),
        local,
        remote: vec![],
        env_id: None,
        ret: None,
        smtputf8: false,
        internal_date: 0,
        prepend: vec![],
        junk: false,
    };
    MailStore::commit(store, delivery).await.unwrap()
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
async fn user_del_removes_unshared_bodies() {
    let (_d, store, a, b) = setup();
    let shared = deliver(&store, b"x\r\n", vec![a, b]).await;
    let own = deliver(&store, b"y\r\n", vec![a]).await;
    store.user_del("alice@example.org").unwrap();
    let kept = MailStore::read_body(&store, &shared.id).await.unwrap();
    assert!(kept.is_some());
    let gone = MailStore::read_body(&store, &own.id).await.unwrap();
    assert!(gone.is_none(), "the file is gone");
    assert!(store
        .user_by_address("alice@example.org")
        .unwrap()
        .is_none());
    assert_eq!(store.account_id("alice@example.org").unwrap(), None);
}
