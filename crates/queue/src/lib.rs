//! Outbound delivery (SPEC M2–M4): what the store's queue rows say must go to
//! other servers is routed (MX, RFC 5321 §5.1), delivered by the SMTP client,
//! retried with back-off, and bounced with delivery status notifications
//! (RFC 3464) when it cannot be delivered.
//!
//! The rows themselves, and the recording of each attempt, are the store's
//! (`postern_store::outbound`, reached through `QueueStore`): they are
//! written in the store's own commits, so this crate holds no SQL.

mod archive;
pub mod clock;
mod conn_cache;
mod connect;
mod deliver;
pub mod dns;
mod downgrade;
pub mod dsn;
mod inflight;
mod log;
pub mod notice;
pub mod outcome;
pub mod policy;
mod recorder;
pub mod route;
mod scheduler;

use clock::Clock;
use conn_cache::ConnCache;
use dns::Dns;
use policy::RetryPolicy;
use postern_config::Config;
use postern_logs::Logs;
use postern_net::tls_client::TlsClient;
use postern_store::{QueueStore, Store};
use recorder::Recorder;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// How the server tells the outbound side to stop: `None` while serving,
/// then the deadline by which runs in flight must have finished.
pub type Stop = watch::Receiver<Option<tokio::time::Instant>>;

/// The outbound side of the server: owns the scheduler's handles.
pub struct Outbound {
    /// The queue and the bodies in it: the only way to stored mail.
    queue: Arc<dyn QueueStore>,
    /// Where senders of notices are looked up (the directory; the SQLite
    /// store until it is split out, issue 14 item 2).
    directory: Store,
    logs: Logs,
    config: watch::Receiver<Arc<Config>>,
    clock: Arc<dyn Clock>,
    data_dir: PathBuf,
    /// Rebuilt when the settings they come from change.
    cache: Mutex<Option<Cached>>,
    /// Connections left open between runs.
    conns: ConnCache,
    /// The server's one resolver (shared with message authentication).
    resolver: postern_net::dns::SharedResolver,
    /// Started with the first delivery run (it needs the runtime).
    recorder: std::sync::OnceLock<Recorder>,
}

struct Cached {
    resolver: Option<SocketAddr>,
    ca_file: Option<String>,
    dns: Dns,
    tls: Arc<TlsClient>,
}

/// What one delivery run needs, fixed for the run.
pub(crate) struct Shared {
    pub queue: Arc<dyn QueueStore>,
    pub directory: Store,
    pub logs: Logs,
    pub cfg: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub policy: RetryPolicy,
    pub dns: Dns,
    pub tls: Arc<TlsClient>,
    pub conns: ConnCache,
    pub recorder: Recorder,
    /// Shutdown began once this holds a deadline: start no new message.
    pub stop: Stop,
}

impl Shared {
    pub fn stopping(&self) -> bool {
        self.stop.borrow().is_some()
    }
}

impl Outbound {
    pub fn new(
        store: Store,
        logs: Logs,
        config: watch::Receiver<Arc<Config>>,
        clock: Arc<dyn Clock>,
        data_dir: PathBuf,
    ) -> Outbound {
        Outbound {
            queue: Arc::new(store.clone()),
            directory: store,
            logs,
            config,
            clock,
            data_dir,
            cache: Mutex::new(None),
            conns: ConnCache::default(),
            resolver: Default::default(),
            recorder: std::sync::OnceLock::new(),
        }
    }

    /// Uses the server's shared resolver instead of one of its own.
    pub fn with_resolver(mut self, resolver: postern_net::dns::SharedResolver) -> Outbound {
        self.resolver = resolver;
        self
    }

    fn shared(&self, cfg: Arc<Config>, stop: Stop) -> Result<Shared, String> {
        let d = &cfg.delivery;
        let resolver = cfg.dns_resolver()?;
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let stale = cache
            .as_ref()
            .is_none_or(|c| c.resolver != resolver || c.ca_file != d.ca_file);
        if stale {
            let ca = d.ca_file.as_ref().map(|f| self.data_dir.join(f));
            let tls =
                TlsClient::new(ca.as_deref()).map_err(|e| format!("delivery.ca_file: {e}"))?;
            *cache = Some(Cached {
                resolver,
                ca_file: d.ca_file.clone(),
                dns: Dns::new(self.resolver.get(resolver)?),
                tls: Arc::new(tls),
            });
        }
        let c = cache.as_ref().ok_or("no resolver")?;
        Ok(Shared {
            queue: self.queue.clone(),
            directory: self.directory.clone(),
            logs: self.logs.clone(),
            policy: RetryPolicy::from_config(d),
            clock: self.clock.clone(),
            dns: c.dns.clone(),
            tls: c.tls.clone(),
            conns: self.conns.clone(),
            recorder: self
                .recorder
                .get_or_init(|| Recorder::new(self.queue.clone()))
                .clone(),
            cfg,
            stop,
        })
    }
}
