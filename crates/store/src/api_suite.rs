//! The [`MailStore`] and [`QueueStore`] contract as tests, written against the traits only, so
//! every backend runs the same suite: `mail_store_suite!(module, constructor)`
//! makes one `#[tokio::test]` per case, each on a fresh backend built by the
//! constructor (a `fn(&Path) -> Fixture`: a store with one user, "alice",
//! whose special folders exist). The SQLite backend runs it at the end of
//! this file; the PostgreSQL one is to add one line.

use crate::api::{scan_bodies, MailStore};
use crate::append::Upload;
use crate::{
    Delivery, FlagOp, MailboxId, QueueReport, QueueSelect, QueueStore, RecipientStatus,
    RecipientUpdate, RemoteRecipient, StoreError, UserId,
};
use std::any::Any;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// A backend under test, with the user the cases work as.
pub(crate) struct Fixture {
    pub store: Arc<dyn QueueStore>,
    pub user: UserId,
    /// Whatever must live as long as the store (a temporary directory…).
    pub _keep: Box<dyn Any + Send>,
}

/// Appends `bodies` to `mailbox` as one APPEND command; their UIDs.
async fn append(store: &dyn MailStore, mailbox: MailboxId, bodies: &[&[u8]]) -> Vec<u32> {
    let mut uploads = Vec::new();
    for body in bodies {
        let mut w = store.create_blob().await.unwrap();
        w.write(body).await.unwrap();
        uploads.push(Upload {
            body: w.finish().await.unwrap(),
            flags: vec![],
            internal_date: 1,
        });
    }
    let mut results = store.append_batch(vec![(mailbox, uploads)]).await.unwrap();
    results.pop().unwrap().unwrap().1
}

async fn inbox(f: &Fixture) -> MailboxId {
    f.store.mailbox(f.user, "INBOX").await.unwrap().unwrap()
}

pub(crate) async fn bodies_are_read_by_id(f: Fixture) {
    let inbox = inbox(&f).await;
    let text = b"Subject: hi\r\n\r\nhello\r\n";
    append(&*f.store, inbox, &[text]).await;
    let m = f.store.messages(inbox).await.unwrap().remove(0);
    assert_eq!(m.size, text.len() as u64);
    let mut body = f.store.open_body(&m.blob).await.unwrap().unwrap();
    assert_eq!(body.len(), m.size);
    let mut got = Vec::new();
    body.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, text);
    // Rewound, the reader gives the body again (FETCH RFC822 BODY[]).
    body.rewind().await.unwrap();
    got.clear();
    body.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, text);
    assert_eq!(f.store.read_body(&m.blob).await.unwrap().unwrap(), text);
    let blob = m.blob.clone();
    let scanned = scan_bodies(&*f.store, move |files| {
        let mut start = [0u8; 7];
        let mut r = files.open(&blob).unwrap().unwrap();
        r.read_exact(&mut start).unwrap();
        (files.read(&blob).unwrap().unwrap(), start)
    });
    let (whole, start) = scanned.await.unwrap();
    assert_eq!(whole, text);
    assert_eq!(&start, b"Subject");
}

pub(crate) async fn expunged_bodies_are_gone(f: Fixture) {
    let inbox = inbox(&f).await;
    let uids = append(&*f.store, inbox, &[b"a\r\n\r\n1\r\n", b"b\r\n\r\n2\r\n"]).await;
    let msgs = f.store.messages(inbox).await.unwrap();
    assert_eq!(
        f.store.expunge(inbox, &uids[..1]).await.unwrap(),
        &uids[..1]
    );
    let gone = &msgs[0].blob;
    assert!(f.store.open_body(gone).await.unwrap().is_none());
    assert!(f.store.read_body(gone).await.unwrap().is_none());
    let g = gone.clone();
    let scanned = scan_bodies(&*f.store, move |files| files.read(&g).unwrap());
    assert!(scanned.await.unwrap().is_none());
    assert!(f.store.open_body(&msgs[1].blob).await.unwrap().is_some());
}

pub(crate) async fn uids_and_modseqs_advance(f: Fixture) {
    let inbox = inbox(&f).await;
    let (validity, next, m0) = f.store.mailbox_state(inbox).await.unwrap();
    let uids = append(&*f.store, inbox, &[b"a\r\n\r\n1\r\n", b"b\r\n\r\n2\r\n"]).await;
    assert_eq!(uids, [next, next + 1]);
    let (validity2, next2, m1) = f.store.mailbox_state(inbox).await.unwrap();
    assert_eq!((validity2, next2), (validity, next + 2));
    assert!(m1 > m0);
    let (msgs, modseq) = f.store.snapshot(inbox).await.unwrap();
    assert_eq!(msgs.iter().map(|m| m.uid).collect::<Vec<_>>(), uids);
    assert_eq!(modseq, m1);
    assert_eq!(f.store.usage(f.user).await.unwrap().0, 16);
}

pub(crate) async fn flags_and_changes(f: Fixture) {
    let inbox = inbox(&f).await;
    let uids = append(&*f.store, inbox, &[b"a\r\n\r\n1\r\n", b"b\r\n\r\n2\r\n"]).await;
    let (_, _, before) = f.store.mailbox_state(inbox).await.unwrap();
    let seen = vec!["\\Seen".to_string()];
    let (updates, refused) = f
        .store
        .store_flags(inbox, &uids[..1], FlagOp::Add, &seen, None)
        .await
        .unwrap();
    assert!(refused.is_empty());
    assert_eq!(updates[0].flags, "\\Seen");
    let ch = f.store.changes_since(inbox, before).await.unwrap();
    assert_eq!(ch.changed.len(), 1);
    assert_eq!(ch.changed[0].uid, uids[0]);
    // RFC 7162 §3.1.3: UNCHANGEDSINCE below the message's MODSEQ refuses it.
    let (_, refused) = f
        .store
        .store_flags(inbox, &uids[..1], FlagOp::Remove, &seen, Some(before))
        .await
        .unwrap();
    assert_eq!(refused, &uids[..1]);
    f.store.expunge(inbox, &uids[1..]).await.unwrap();
    let ch = f.store.changes_since(inbox, before).await.unwrap();
    assert_eq!(ch.vanished, &uids[1..]);
}

pub(crate) async fn copy_and_move(f: Fixture) {
    let inbox = inbox(&f).await;
    let archive = f.store.mailbox(f.user, "Archive").await.unwrap().unwrap();
    let uids = append(&*f.store, inbox, &[b"a\r\n\r\n1\r\n", b"b\r\n\r\n2\r\n"]).await;
    let copied = f.store.copy(inbox, archive, &uids[..1]).await.unwrap();
    assert_eq!(copied.uids.len(), 1);
    assert_eq!(f.store.messages(inbox).await.unwrap().len(), 2);
    let moved = f
        .store
        .move_messages(inbox, archive, &uids[1..])
        .await
        .unwrap();
    assert_eq!(moved.uids[0].0, uids[1]);
    assert_eq!(f.store.messages(inbox).await.unwrap().len(), 1);
    let there = f.store.messages(archive).await.unwrap();
    assert_eq!(there.len(), 2);
    // Copies share the body: both read back.
    for m in there {
        assert!(f.store.read_body(&m.blob).await.unwrap().is_some());
    }
}

pub(crate) async fn folders_are_managed(f: Fixture) {
    let (s, u) = (&f.store, f.user);
    let id = s.create_folder(u, "Projects").await.unwrap();
    assert_eq!(s.mailbox(u, "Projects").await.unwrap(), Some(id));
    assert!(matches!(
        s.create_folder(u, "Projects").await,
        Err(StoreError::Exists(_))
    ));
    s.rename_folder(u, "Projects", "Work").await.unwrap();
    assert_eq!(s.mailbox(u, "Projects").await.unwrap(), None);
    s.set_subscribed(u, "Work", true).await.unwrap();
    assert!(s
        .subscriptions(u)
        .await
        .unwrap()
        .contains(&"Work".to_string()));
    let names: Vec<String> = s
        .folders(u)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert!(names.contains(&"Work".to_string()) && names.contains(&"INBOX".to_string()));
    s.delete_folder(u, "Work").await.unwrap();
    assert_eq!(s.mailbox(u, "Work").await.unwrap(), None);
    let inbox = s.mailbox(u, "INBOX").await.unwrap().unwrap();
    append(&**s, inbox, &[b"a\r\n\r\n1\r\n"]).await;
    let renamed = s.rename_inbox(u, "Old").await.unwrap();
    let old = s.mailbox(u, "Old").await.unwrap().unwrap();
    assert_eq!(s.messages(old).await.unwrap().len(), 1, "{renamed:?}");
    let fresh = s.mailbox(u, "INBOX").await.unwrap().unwrap();
    assert!(s.messages(fresh).await.unwrap().is_empty());
}

pub(crate) async fn recent_is_claimed_once(f: Fixture) {
    let inbox = inbox(&f).await;
    let uids = append(&*f.store, inbox, &[b"a\r\n\r\n1\r\n", b"b\r\n\r\n2\r\n"]).await;
    assert_eq!(f.store.recent_count(inbox).await.unwrap(), 2);
    let from = f.store.claim_recent(inbox, uids[1] + 1).await.unwrap();
    assert!(from <= uids[0]);
    assert_eq!(f.store.recent_from(inbox).await.unwrap(), uids[1] + 1);
    assert_eq!(
        f.store.claim_recent(inbox, uids[1] + 1).await.unwrap(),
        uids[1] + 1
    );
}

pub(crate) async fn changes_are_broadcast(f: Fixture) {
    let mut changes = f.store.subscribe();
    let inbox = inbox(&f).await;
    append(&*f.store, inbox, &[b"a\r\n\r\n1\r\n"]).await;
    let change = tokio::time::timeout(std::time::Duration::from_secs(5), changes.recv())
        .await
        .expect("no change announced")
        .unwrap();
    assert_eq!((change.user, change.mailbox), (f.user, inbox));
}

/// Commits `body` from s@x.test to these local users and remote addresses.
async fn commit(store: &dyn MailStore, body: &[u8], local: Vec<UserId>, remote: &[&str]) -> String {
    let mut w = store.create_blob().await.unwrap();
    w.write(body).await.unwrap();
    let delivery = Delivery {
        blob: w.finish().await.unwrap(),
        sender: "s@x.test".into(),
        local,
        remote: remote
            .iter()
            .map(|a| RemoteRecipient {
                address: a.to_string(),
                ..RemoteRecipient::default()
            })
            .collect(),
        env_id: None,
        ret: None,
        smtputf8: false,
        internal_date: 7,
        prepend: vec![],
        junk: false,
    };
    store.commit(delivery).await.unwrap().id.to_string()
}

pub(crate) async fn deliveries_are_committed(f: Fixture) {
    let text = b"Subject: in\r\n\r\nbody\r\n";
    commit(&*f.store, text, vec![f.user], &[]).await;
    let inbox = inbox(&f).await;
    let m = f.store.messages(inbox).await.unwrap().remove(0);
    assert_eq!(m.internal_date, 7);
    assert_eq!(f.store.read_body(&m.blob).await.unwrap().unwrap(), text);
}

pub(crate) async fn the_queue_is_worked_and_steered(f: Fixture) {
    let s = &f.store;
    let id = commit(&**s, b"Subject: out\r\n\r\nx\r\n", vec![], &["r@far.test"]).await;
    let due = s.queue_due(i64::MAX, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(
        (due[0].queue_id.as_str(), due[0].domain.as_str()),
        (id.as_str(), "far.test")
    );
    let msg = s.queue_message(&id).await.unwrap().unwrap();
    // The queued body is opened by id like a mailbox's.
    assert!(s.open_body(&msg.blob).await.unwrap().is_some());
    s.queue_hold(&id, true).await.unwrap();
    assert!(s.queue_get(&id).await.unwrap().unwrap().held);
    assert!(s.queue_due(i64::MAX, 10).await.unwrap().is_empty());
    s.queue_hold(&id, false).await.unwrap();
    assert_eq!(s.queue_retry(QueueSelect::One(&id)).await.unwrap(), 1);
    let update = RecipientUpdate {
        id: msg.recipients[0].id,
        status: RecipientStatus::Delivered,
        next_attempt: 0,
        last_error: None,
        remote_mta: Some("mx.far.test".into()),
        attempted: true,
        attempt_time: 1,
        warned: false,
    };
    let report = QueueReport {
        queue_id: id.clone(),
        updates: vec![update],
        notice: None,
        archive: None,
    };
    let recorded = s.queue_record(vec![report]).await.unwrap();
    assert!(recorded[0].finished);
    assert!(s.queue_list().await.unwrap().is_empty());
    assert!(s.queue_message(&id).await.unwrap().is_none());
    assert!(matches!(
        s.queue_delete(&id).await,
        Err(StoreError::NotFound(_))
    ));
}

/// One `#[tokio::test]` per case above, on backends from `$make`.
macro_rules! mail_store_suite {
    ($module:ident, $make:path) => {
        mod $module {
            use crate::api_suite as suite;
            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        suite::$name($make()).await;
                    }
                };
            }
            case!(bodies_are_read_by_id);
            case!(expunged_bodies_are_gone);
            case!(uids_and_modseqs_advance);
            case!(flags_and_changes);
            case!(copy_and_move);
            case!(folders_are_managed);
            case!(recent_is_claimed_once);
            case!(changes_are_broadcast);
            case!(deliveries_are_committed);
            case!(the_queue_is_worked_and_steered);
        }
    };
}

/// The SQLite backend in a temporary directory.
fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::Store::open(dir.path()).unwrap();
    let user = crate::tests::add_user(&store, "alice@example.org", 0);
    Fixture {
        store: Arc::new(store),
        user,
        _keep: Box::new(dir),
    }
}

mail_store_suite!(sqlite_backend, super::sqlite);
