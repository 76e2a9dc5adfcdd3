//! The server's DMARC report task (issue 15, item 12): while
//! `auth.dmarc_reports` is on, it looks every [`LOOK_EVERY`] for reporting
//! periods that have ended and sends their reports (postern-reports),
//! writing one mail.log line per destination. Time comes from the
//! injectable clock.

use postern_config::Config;
use postern_logs::Logs;
use postern_net::clock::Clock;
use postern_net::dns::SharedResolver;
use postern_reports::send::{send_due, Outcome, Settings};
use postern_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often ended periods are looked for.
pub const LOOK_EVERY: Duration = Duration::from_secs(60);

/// Runs until `stop` changes.
pub async fn send_every(
    store: Store,
    resolver: SharedResolver,
    logs: Logs,
    config: watch::Receiver<Arc<Config>>,
    clock: Arc<dyn Clock>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(LOOK_EVERY) => {}
            _ = stop.changed() => return,
        }
        let cfg = config.borrow().clone();
        if !cfg.auth.dmarc_reports {
            continue;
        }
        match send_now(&store, &resolver, &cfg, clock.now(), false).await {
            Ok(outcomes) => outcomes.iter().for_each(|o| log(&logs, o)),
            Err(e) => logs.mail(&[("event", "dmarc-report-error"), ("reason", &e)]),
        }
    }
}

/// Sends what is due at `now` (with `all`, also the running period).
pub async fn send_now(
    store: &Store,
    resolver: &SharedResolver,
    cfg: &Config,
    now: i64,
    all: bool,
) -> Result<Vec<Outcome>, String> {
    let hostname = &cfg.server.hostname;
    let a = &cfg.auth;
    let org = if a.dmarc_report_org.is_empty() {
        hostname.clone()
    } else {
        a.dmarc_report_org.clone()
    };
    let from = if a.dmarc_report_from.is_empty() {
        format!("postmaster@{hostname}")
    } else {
        a.dmarc_report_from.clone()
    };
    let resolver = resolver.get(cfg.dns_resolver()?)?;
    let settings = Settings {
        hostname,
        org: &org,
        from: &from,
        now,
        archive: &cfg.archive,
        all,
    };
    send_due(store, store, &resolver, &settings)
        .await
        .map_err(|e| e.to_string())
}

/// One mail.log line per destination.
pub fn log(logs: &Logs, o: &Outcome) {
    let (rows, messages) = (o.rows.to_string(), o.messages.to_string());
    let mut fields = vec![
        ("domain", o.policy_domain.as_str()),
        ("to", o.to.as_str()),
        ("rows", rows.as_str()),
        ("messages", messages.as_str()),
    ];
    match &o.result {
        Ok(id) => {
            fields.insert(0, ("event", "dmarc-report-sent"));
            fields.push(("id", id));
        }
        Err(why) => {
            fields.insert(0, ("event", "dmarc-report-skipped"));
            fields.push(("reason", why));
        }
    }
    logs.mail(&fields);
}
