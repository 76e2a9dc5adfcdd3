//! When accounts are fetched: each every `fetch.interval` (or its own
//! `--interval`) after its last run, at once when never run or when
//! `postern fetch run` asked; one account at a time. The time comes from the
//! injectable clock; the last run is kept in the store, so the schedule
//! holds across restarts.

use super::Fetcher;
use postern_store::fetch_accounts::FetchAccount;
use std::sync::Arc;
use std::time::Duration;

/// How often the scheduler looks at the accounts (and at `fetch run` requests).
pub const TICK: Duration = Duration::from_secs(1);

/// Whether `a` is due at `now` with the configured `interval` (seconds).
pub fn due(a: &FetchAccount, interval: u64, now: i64) -> bool {
    let every = a.interval_secs.unwrap_or(interval) as i64;
    a.run_pending()
        || a.last_run
            .is_none_or(|last| now >= last.saturating_add(every))
}

/// Runs until the server stops. A run in flight at shutdown ends after the
/// message in hand is delivered and recorded (the sink's `stopping`), so the
/// server waits for it (serve/mod.rs) rather than cutting it between a
/// delivery and its record.
pub async fn run(f: Arc<Fetcher>) {
    let mut shutdown = f.shutdown.clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        round(&f).await;
    }
}

/// Fetches every account that is due, one after another.
async fn round(f: &Fetcher) {
    let store = f.store.clone();
    let accounts = match tokio::task::spawn_blocking(move || store.fetch_accounts()).await {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => return eprintln!("postern: fetch: cannot read the accounts: {e}"),
        Err(_) => return,
    };
    for a in accounts {
        if *f.shutdown.borrow() {
            return;
        }
        let interval = f.config.borrow().fetch.interval.0.as_secs();
        if !due(&a, interval, f.clock.now()) {
            continue;
        }
        let result = f.run(&a).await;
        let (store, now) = (f.store.clone(), f.clock.now());
        let done = tokio::task::spawn_blocking(move || {
            store.fetch_finished(a.id, now, a.run_requested, &result)
        })
        .await;
        if let Ok(Err(e)) = done {
            eprintln!("postern: fetch: cannot record a run: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_store::fetch_accounts::FetchTls;

    fn account(last_run: Option<i64>, own: Option<u64>) -> FetchAccount {
        FetchAccount {
            id: 1,
            owner: "alice@example.org".into(),
            host: "pop.remote.test".into(),
            port: 110,
            tls: FetchTls::Starttls,
            tls_verify: true,
            ca_file: None,
            username: "alice".into(),
            apop: false,
            keep: true,
            delete_after_days: None,
            interval_secs: own,
            fallback: None,
            last_run,
            last_result: None,
            run_requested: 0,
            run_done: 0,
        }
    }

    #[test]
    fn due_after_the_interval_or_when_asked() {
        assert!(due(&account(None, None), 600, 0));
        assert!(!due(&account(Some(1000), None), 600, 1599));
        assert!(due(&account(Some(1000), None), 600, 1600));
        // Its own interval overrides fetch.interval.
        assert!(!due(&account(Some(1000), Some(3600)), 600, 1600));
        assert!(due(&account(Some(1000), Some(3600)), 600, 4600));
        let mut asked = account(Some(1000), None);
        asked.run_requested = 1;
        assert!(due(&asked, 600, 1001));
    }
}
