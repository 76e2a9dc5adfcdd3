//! The archive's entries: written with the delivery, once per message with
//! every recipient, holding the body past every mailbox copy, purged by age.

use crate::archive::{period_label, ArchiveEnvelope, ArchiveQuery, Direction, Period};
use crate::tests::setup;
use crate::*;

async fn deliver_archived(
    store: &Store,
    local: Vec<UserId>,
    when: i64,
) -> Result<Committed, StoreError> {
    let mut w = store.create_blob().await.unwrap();
    w.write(b"Subject: audit me\r\n\r\nhello\r\n")
        .await
        .unwrap();
    let blob = w.finish().await.unwrap();
    let env = ArchiveEnvelope {
        direction: Direction::Local,
        sender: "alice@example.org".into(),
        recipients: vec!["bob@example.org".into(), "alice@example.org".into()],
        client_ip: "127.0.0.1".into(),
        period: period_label(when, Period::Month),
    };
    let d = Delivery {
        blob,
        sender: "alice@example.org".into(),
        local,
        remote: vec![],
        env_id: None,
        ret: None,
        smtputf8: false,
        internal_date: when,
        prepend: vec![],
        junk: false,
    };
    store.commit_archived(d, Some(env)).await
}

#[test]
fn periods_are_labelled_by_month_iso_week_and_day() {
    let t = 1_796_601_600; // 2026-12-07 00:00:00 UTC, a Monday
    assert_eq!(period_label(t, Period::Month), "2026-12");
    assert_eq!(period_label(t, Period::Week), "2026-W50");
    assert_eq!(period_label(t, Period::Day), "2026-12-07");
    assert_eq!(period_label(t - 1, Period::Day), "2026-12-06");
}

#[tokio::test]
async fn one_entry_for_all_recipients_outlives_the_mailboxes_until_purged() {
    let (_d, store, a, b) = setup();
    let when = 1_796_601_600;
    let c = deliver_archived(&store, vec![a, b], when).await.unwrap();
    assert_eq!(c.delivered, 2);
    let all = store.archive_entries(&ArchiveQuery::default()).unwrap();
    assert_eq!(all.len(), 1, "one entry for two local recipients");
    let e = &all[0];
    assert_eq!(e.recipients, vec!["bob@example.org", "alice@example.org"]);
    assert_eq!(
        (e.period.as_str(), e.direction.as_str()),
        ("2026-12", "local")
    );
    // Both users expunge their copies: the archived body stays.
    for u in [a, b] {
        let inbox = store.mailbox(u, "INBOX").unwrap().unwrap();
        assert_eq!(store.expunge(inbox, &[1]).unwrap(), vec![1]);
    }
    let copy = store.archive_message(e).unwrap().unwrap();
    let text = String::from_utf8(copy).unwrap();
    assert!(text.starts_with(&format!("X-Postern-Archive-Id: {}\r\n", e.id)));
    assert!(text.contains("X-Postern-Archive-To: <bob@example.org>\r\n"));
    assert!(text.ends_with("Subject: audit me\r\n\r\nhello\r\n"));
    let q = ArchiveQuery {
        to: Some("BOB@".into()),
        ..Default::default()
    };
    assert_eq!(store.archive_entries(&q).unwrap().len(), 1);
    let q = ArchiveQuery {
        from: Some("carol".into()),
        ..Default::default()
    };
    assert!(store.archive_entries(&q).unwrap().is_empty());
    // Retention: an entry received at the cutoff stays, one before it goes.
    assert_eq!(store.archive_purge(when).unwrap(), 0);
    assert_eq!(store.archive_purge(when + 1).unwrap(), 1);
    assert!(store
        .archive_entries(&ArchiveQuery::default())
        .unwrap()
        .is_empty());
    assert_eq!(
        BodyFiles::read(&store, &e.blob).unwrap(),
        None,
        "body deleted"
    );
}

#[tokio::test]
async fn a_plain_commit_archives_nothing() {
    let (_d, store, a, _b) = setup();
    crate::tests::deliver(&store, b"x\r\n", vec![a], vec![])
        .await
        .unwrap();
    assert!(store
        .archive_entries(&ArchiveQuery::default())
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn only_auditors_see_the_period_folders_and_nobody_changes_them() {
    use crate::api::MailStore;
    use crate::archive_view::ArchiveView;
    let (_d, store, a, b) = setup();
    // As postern-directory's role_set writes it.
    store
        .conn()
        .execute(
            "INSERT INTO admin_roles (user_id, role, domains) VALUES (?1, 'auditor', '')",
            [b.0],
        )
        .unwrap();
    let when = 1_796_601_600;
    deliver_archived(&store, vec![a], when).await.unwrap();
    let view = ArchiveView::new(store.clone());
    let name = "Archive/2026-12";
    assert_eq!(view.mailbox(a, name).await.unwrap(), None, "not for alice");
    assert!(!view
        .folders(a)
        .await
        .unwrap()
        .iter()
        .any(|f| f.name == name));
    let m = view.mailbox(b, name).await.unwrap().expect("bob audits");
    assert!(m.is_archive());
    assert!(view
        .folders(b)
        .await
        .unwrap()
        .iter()
        .any(|f| f.name == name));
    let (validity, next, _) = view.mailbox_state(m).await.unwrap();
    assert_eq!(validity, 1_202_612, "fixed by the period");
    let (msgs, _) = view.snapshot(m).await.unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(next, msgs[0].uid + 1);
    let body = view.read_body(&msgs[0].blob).await.unwrap().unwrap();
    assert_eq!(body.len() as u64, msgs[0].size);
    assert!(body.starts_with(b"X-Postern-Archive-Id: "));
    let refused = |e: StoreError| assert!(matches!(e, StoreError::NoPerm(_)), "{e}");
    refused(view.expunge(m, &[msgs[0].uid]).await.unwrap_err());
    let given = vec!["\\Deleted".to_string()];
    refused(
        view.store_flags(m, &[msgs[0].uid], FlagOp::Add, &given, None)
            .await
            .unwrap_err(),
    );
    refused(view.delete_folder(b, name).await.unwrap_err());
    refused(view.rename_folder(b, name, "Mine").await.unwrap_err());
    let inbox = view.mailbox(b, "INBOX").await.unwrap().unwrap();
    refused(view.copy(inbox, m, &[1]).await.unwrap_err());
    assert_eq!(view.snapshot(m).await.unwrap().0.len(), 1, "still there");
}
