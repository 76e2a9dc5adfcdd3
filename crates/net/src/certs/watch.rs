//! The running server's view of the certificate files: looked at every
//! [`RELOAD_EVERY`]; when a file changed (an import, a renewal, a replaced
//! default), all are read again and new handshakes get them. Connections
//! already open keep the certificate they were made with.

use super::{CertDir, SniResolver};
use postern_logs::Logs;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub const RELOAD_EVERY: Duration = Duration::from_secs(1);

pub async fn watch(
    dir: CertDir,
    resolver: Arc<SniResolver>,
    logs: Logs,
    mut stop: watch::Receiver<bool>,
) {
    let dir = Arc::new(dir);
    let mut seen = dir.fingerprint();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(RELOAD_EVERY) => {}
            _ = stop.changed() => return,
        }
        let d = dir.clone();
        let Ok(now) = tokio::task::spawn_blocking(move || d.fingerprint()).await else {
            continue;
        };
        if now == seen {
            continue;
        }
        seen = now;
        let d = dir.clone();
        match tokio::task::spawn_blocking(move || d.load()).await {
            Ok(Ok((table, problems))) => {
                let hosts = table.by_host.len().to_string();
                resolver.replace(table);
                logs.mail(&[("event", "tls-reloaded"), ("hosts", &hosts)]);
                for p in problems {
                    logs.mail(&[("event", "tls-skipped"), ("reason", &p)]);
                }
            }
            Ok(Err(e)) => {
                let reason = e.to_string();
                logs.mail(&[("event", "tls-reload-failed"), ("reason", &reason)]);
            }
            Err(_) => {}
        }
    }
}
