//! Who may connect, and who is shut out after failing to log in: the
//! per-listener IP group and connection limits (SPEC Services table), the
//! brute-force guard (X7) and their security-log lines (X10), in one shared
//! handle the accept loop consults before a protocol sees the connection.
//!
//! IP groups and blocks live in the store so the CLI can change them while
//! the server runs; [`Security::refresh`] copies them into memory
//! ([`live`]) every [`REFRESH`], so a lookup never waits for the database.

mod admit;
pub mod harvest;
mod live;
mod login;
mod loglimit;
mod recent;
mod refuse;

pub use admit::{Refusal, Ticket};
pub use login::{current_connection, rfc3339};
pub use loglimit::LogLimitContext;

use crate::bruteforce::Tracker;
use crate::clock::Clock;
use postern_config::Config;
use postern_logs::Logs;
use postern_store::Store;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// The `reason` of a block set by `postern security block` (SPEC X7).
pub const MANUAL_BLOCK: &str = "manual";

/// How often groups and blocks are re-read from the store.
pub const REFRESH: Duration = Duration::from_secs(1);

/// Shared by every listener; cheap to clone behind its `Arc`.
pub struct Security {
    store: Store,
    logs: Logs,
    config: watch::Receiver<Arc<Config>>,
    clock: Arc<dyn Clock>,
    live: live::Live,
    tracker: Mutex<Tracker>,
    /// Unknown recipients per client (harvest.rs): the same bookkeeping.
    probes: Mutex<Tracker>,
    counts: Mutex<admit::Counts>,
    recent: Mutex<recent::RecentLogins>,
    /// Held by a refresh and by a new block, so neither undoes the other.
    writes: tokio::sync::Mutex<()>,
}

impl Security {
    /// Loads groups and blocks once, so the first connection is judged on them.
    pub async fn new(
        store: Store,
        logs: Logs,
        config: watch::Receiver<Arc<Config>>,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Security>, postern_store::StoreError> {
        let security = Arc::new(Security {
            store,
            logs,
            config,
            clock,
            live: live::Live::default(),
            tracker: Mutex::default(),
            probes: Mutex::default(),
            counts: Mutex::default(),
            recent: Mutex::default(),
            writes: tokio::sync::Mutex::default(),
        });
        security.refresh().await?;
        Ok(security)
    }

    /// Re-reads the store every [`REFRESH`] until `stop` turns true, and
    /// writes the security log's `log-suppressed` lines that are due.
    pub async fn refresh_every(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(REFRESH) => {}
                _ = stop.changed() => return,
            }
            self.logs.flush_suppressed(false);
            if let Err(e) = self.refresh().await {
                eprintln!("postern: cannot read IP groups and blocks: {e}");
            }
        }
    }

    /// True when `ip` is in the IP group `name` (a missing group holds nobody).
    pub fn in_group(&self, name: &str, ip: IpAddr) -> bool {
        self.live.in_group(name, ip)
    }

    /// When the block of `ip` ends, if it is blocked now.
    pub fn blocked_until(&self, ip: IpAddr) -> Option<i64> {
        self.live.block_of(ip, self.clock.now()).map(|b| b.0)
    }

    /// One security-log line about a connection to `service` from `ip`.
    pub fn security_log(&self, event: &str, service: &str, ip: IpAddr, fields: &[(&str, &str)]) {
        let ip = ip.to_canonical().to_string();
        let mut all = vec![("event", event), ("service", service), ("client", &ip)];
        all.extend_from_slice(fields);
        self.logs.security(&all);
    }
}

#[cfg(test)]
mod tests;
