//! The archive's retention task (SPEC M8, issue 21 item 4): while
//! `archive.enabled`, every [`PURGE_EVERY`] (and once at start) it removes
//! the entries older than `archive.retention`, as `postern archive purge`
//! does, with one mail.log line when any went. Time comes from the
//! injectable clock.

use postern_config::Config;
use postern_logs::Logs;
use postern_net::clock::Clock;
use postern_store::{Store, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often expired entries are looked for.
pub const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// Runs until `stop` changes, looking `every` ([`PURGE_EVERY`] in the server).
pub async fn purge_every(
    store: Store,
    logs: Logs,
    config: watch::Receiver<Arc<Config>>,
    clock: Arc<dyn Clock>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let cfg = config.borrow().clone();
        if cfg.archive.enabled {
            // SQLite and file removal block: off the runtime's threads.
            let (s, now) = (store.clone(), clock.now());
            let done = tokio::task::spawn_blocking(move || purge_at(&s, &cfg, now)).await;
            match done {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => logs.mail(&[("event", "archive-purged"), ("entries", &n.to_string())]),
                Ok(Err(e)) => {
                    logs.mail(&[("event", "archive-purge-error"), ("reason", &e.to_string())])
                }
                Err(e) => {
                    logs.mail(&[("event", "archive-purge-error"), ("reason", &e.to_string())])
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Removes what `cfg`'s retention lets go at `now`; how many entries went.
pub fn purge_at(store: &Store, cfg: &Config, now: i64) -> Result<usize, StoreError> {
    let keep = cfg.archive.retention.0.as_secs() as i64;
    store.archive_purge(now.saturating_sub(keep))
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_net::clock::ManualClock;
    use postern_store::archive::{ArchiveEnvelope, ArchiveQuery, Direction};
    use postern_store::{Delivery, RemoteRecipient};

    async fn archive_one(store: &Store, when: i64) {
        let mut w = store.create_blob().await.unwrap();
        w.write(b"Subject: x\r\n\r\nx\r\n").await.unwrap();
        let d = Delivery {
            blob: w.finish().await.unwrap(),
            sender: "a@example.org".into(),
            local: vec![],
            remote: vec![RemoteRecipient {
                address: "b@example.net".into(),
                ..Default::default()
            }],
            env_id: None,
            ret: None,
            smtputf8: false,
            internal_date: when,
            prepend: vec![],
            junk: false,
        };
        let env = ArchiveEnvelope {
            direction: Direction::Out,
            sender: "a@example.org".into(),
            recipients: vec!["b@example.net".into()],
            client_ip: "127.0.0.1".into(),
            period: "2026-12".into(),
        };
        store.commit_archived(d, Some(env)).await.unwrap();
    }

    fn entries(store: &Store) -> usize {
        store
            .archive_entries(&ArchiveQuery::default())
            .unwrap()
            .len()
    }

    /// Polls `f` until it holds, for at most 10 s (the task runs on its own).
    async fn eventually(f: impl Fn() -> bool, what: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !f() {
            assert!(tokio::time::Instant::now() < deadline, "{what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn the_task_purges_once_retention_has_passed_on_its_clock() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let start = 1_796_601_600;
        archive_one(&store, start).await;
        let mut cfg = Config::default();
        cfg.archive.enabled = true;
        cfg.archive.retention = postern_config::Duration(Duration::from_secs(2 * 86400));
        let clock = ManualClock::at(start + 2 * 86400);
        let (_cfg_tx, config) = watch::channel(Arc::new(cfg));
        let (stop_tx, stop) = watch::channel(false);
        let logs = Logs::open(dir.path(), false).unwrap();
        let task = tokio::spawn(purge_every(
            store.clone(),
            logs,
            config,
            Arc::new(clock.clone()),
            Duration::from_millis(10),
            stop,
        ));
        // Several rounds at exactly the retention: kept.
        let log = dir.path().join("logs").join("mail.log");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(entries(&store), 1, "exactly the retention: kept");
        clock.advance(1);
        eventually(|| entries(&store) == 0, "a second past it: purged").await;
        let read = || std::fs::read_to_string(&log).unwrap_or_default();
        eventually(
            || read().contains("event=archive-purged entries=1"),
            "logged",
        )
        .await;
        stop_tx.send(true).unwrap();
        task.await.unwrap();
    }
}
