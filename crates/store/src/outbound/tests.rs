//! The outbound queue's store side: due recipients, recording results with a
//! notice in one transaction, the body's life, and the admin commands.

use crate::tests::{deliver, setup};
use crate::*;

fn update(id: i64, status: RecipientStatus, next: i64) -> RecipientUpdate {
    RecipientUpdate {
        id,
        status,
        next_attempt: next,
        last_error: (status != RecipientStatus::Delivered).then(|| "451 4.3.0 later".to_string()),
        remote_mta: Some("mx.remote.test".into()),
        attempted: true,
        attempt_time: 5,
        warned: false,
    }
}

async fn notice(store: &Store, to: UserId) -> Delivery {
    let mut w = store.create_blob().await.unwrap();
    w.write(b"Subject: Undelivered\r\n\r\nsorry\r\n")
        .await
        .unwrap();
    Delivery {
        blob: w.finish().await.unwrap(),
        sender: String::new(),
        local: vec![to],
        remote: vec![],
        env_id: None,
        ret: None,
        smtputf8: false,
        internal_date: 0,
        prepend: vec![],
        junk: false,
    }
}

#[tokio::test]
async fn results_are_recorded_and_a_finished_message_leaves_with_its_body() {
    let (_d, store, alice, _) = setup();
    let c = deliver(
        &store,
        b"Subject: out\r\n\r\nbody\r\n",
        vec![],
        vec!["a@Remote.TEST", "b@other.test"],
    )
    .await
    .unwrap();
    let due = store.queue_due(i64::MAX, 100).unwrap();
    assert_eq!(due.len(), 2);
    assert_eq!(
        due[0].domain, "remote.test",
        "domain lowercased for grouping"
    );
    let msg = store.queue_message(c.id.as_str()).unwrap().unwrap();
    assert_eq!(msg.recipients.len(), 2);
    let (a, b) = (msg.recipients[0].id, msg.recipients[1].id);

    let r = store
        .queue_record(vec![QueueReport {
            queue_id: msg.id.clone(),
            updates: vec![
                update(a, RecipientStatus::Delivered, 0),
                update(b, RecipientStatus::Deferred, 1000),
            ],
            notice: None,
            archive: None,
        }])
        .unwrap();
    assert!(!r[0].finished);
    assert!(
        store.queue_due(999, 100).unwrap().is_empty(),
        "deferred until 1000, delivered never again"
    );
    assert_eq!(store.queue_due(1000, 100).unwrap().len(), 1);
    assert_eq!(store.queue_next_due().unwrap(), Some(1000));
    // A final recipient cannot be moved back.
    store
        .queue_record(vec![QueueReport {
            queue_id: msg.id.clone(),
            updates: vec![update(a, RecipientStatus::Deferred, 7)],
            notice: None,
            archive: None,
        }])
        .unwrap();
    assert_eq!(
        store.queue_message(&msg.id).unwrap().unwrap().recipients[0].status,
        RecipientStatus::Delivered
    );

    let n = notice(&store, alice).await;
    let r = store
        .queue_record(vec![QueueReport {
            queue_id: msg.id.clone(),
            updates: vec![update(b, RecipientStatus::Bounced, 0)],
            notice: Some(n),
            archive: Some(archive::ArchiveEnvelope {
                direction: archive::Direction::Local,
                sender: String::new(),
                recipients: vec!["alice@example.org".into()],
                client_ip: String::new(),
                period: "2026-12".into(),
            }),
        }])
        .unwrap();
    assert_eq!(
        r[0],
        Recorded {
            missing: false,
            finished: true,
            noticed: true
        }
    );
    assert!(store.queue_message(&msg.id).unwrap().is_none());
    assert!(
        !store.blob_path(&c.id).exists(),
        "nothing else held the body"
    );
    let inbox = store.mailbox(alice, "INBOX").unwrap().unwrap();
    assert_eq!(
        store.messages(inbox).unwrap().len(),
        1,
        "the notice reached the sender"
    );
    let archived = store
        .archive_entries(&archive::ArchiveQuery::default())
        .unwrap();
    assert_eq!(archived.len(), 1, "the notice is archived with it");
    assert_eq!(
        (archived[0].direction.as_str(), archived[0].sender.as_str()),
        ("local", "")
    );
    assert_eq!(archived[0].recipients, ["alice@example.org"]);
}

#[tokio::test]
async fn local_copy_keeps_the_body_when_the_queue_lets_go() {
    let (_d, store, alice, _) = setup();
    let c = deliver(&store, b"x\r\n", vec![alice], vec!["r@remote.test"])
        .await
        .unwrap();
    let msg = store.queue_message(c.id.as_str()).unwrap().unwrap();
    store.queue_delete(&msg.id).unwrap();
    assert!(
        store.blob_path(&c.id).exists(),
        "alice's copy still uses it"
    );
    assert!(matches!(
        store.queue_delete(&msg.id),
        Err(StoreError::NotFound(_))
    ));
    // Recording for a deleted message records nothing.
    let r = store
        .queue_record(vec![QueueReport {
            queue_id: msg.id.clone(),
            updates: vec![update(msg.recipients[0].id, RecipientStatus::Delivered, 0)],
            notice: None,
            archive: None,
        }])
        .unwrap();
    assert!(r[0].missing);
}

#[tokio::test]
async fn hold_release_and_retry() {
    let (_d, store, _, _) = setup();
    let c = deliver(&store, b"x\r\n", vec![], vec!["r@remote.test"])
        .await
        .unwrap();
    let id = c.id.as_str().to_string();
    let rid = store.queue_message(&id).unwrap().unwrap().recipients[0].id;
    store
        .queue_record(vec![QueueReport {
            queue_id: id.clone(),
            updates: vec![update(rid, RecipientStatus::Deferred, i64::MAX / 2)],
            notice: None,
            archive: None,
        }])
        .unwrap();
    assert!(store.queue_due(i64::MAX / 4, 10).unwrap().is_empty());
    assert_eq!(store.queue_retry(QueueSelect::One(&id)).unwrap(), 1);
    assert_eq!(store.queue_due(i64::MAX / 4, 10).unwrap().len(), 1);
    store.queue_hold(&id, true).unwrap();
    assert!(
        store.queue_due(i64::MAX, 10).unwrap().is_empty(),
        "held messages are not due"
    );
    assert!(store.queue_list().unwrap()[0].held);
    store.queue_hold(&id, false).unwrap();
    assert_eq!(store.queue_due(i64::MAX, 10).unwrap().len(), 1);
    assert_eq!(store.queue_retry(QueueSelect::All).unwrap(), 1);
    assert!(matches!(
        store.queue_hold("abcdef", true),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.queue_retry(QueueSelect::One("abcdef")),
        Err(StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn the_prepended_fields_stay_with_the_queued_copy_only() {
    let (_d, store, alice, _) = setup();
    let mut w = store.create_blob().await.unwrap();
    w.write(b"Subject: signed\r\n\r\nbody\r\n").await.unwrap();
    let c = store
        .commit(Delivery {
            blob: w.finish().await.unwrap(),
            sender: "alice@example.org".into(),
            local: vec![alice],
            remote: vec![RemoteRecipient {
                address: "x@remote.test".into(),
                ..Default::default()
            }],
            env_id: None,
            ret: None,
            smtputf8: false,
            internal_date: 0,
            junk: false,
            prepend: b"DKIM-Signature: v=1\r\n".to_vec(),
        })
        .await
        .unwrap();
    let msg = store.queue_message(c.id.as_str()).unwrap().unwrap();
    assert_eq!(msg.prepend, b"DKIM-Signature: v=1\r\n");
    assert_eq!(msg.size, 25, "the body file's size, without the fields");
    let inbox = store.mailbox(alice, "INBOX").unwrap().unwrap();
    let (msgs, _) = store.snapshot(inbox).unwrap();
    assert_eq!(msgs[0].size, 25, "the local copy has no signature");
}
