//! The `admin` listener (issue 19): HTTPS, HTTP/1.1 and HTTP/2, serving the
//! REST API under `/api/v1`, its OpenAPI 3.1 document, and the console in the
//! browser at `/` ([`console`]). The binary hands
//! each admitted TLS connection to [`serve_connection`]; admission (IP group,
//! per-IP cap, blocks) happened before, in `postern_net::security`.

mod api;
mod auth;
mod body;
mod conn;
mod console;
mod disk_use;
mod headers;
mod idle;
mod logcount;
mod logread;
mod logtail;
pub mod metrics;
mod openapi;
mod problem;
mod roles;
mod session;
pub mod token;
mod traffic;

pub use conn::{serve_connection, tls_acceptor};
pub use idle::{HEADER_READ_TIMEOUT, IDLE_TIMEOUT};
pub use openapi::document as openapi_document;

use postern_config::Config;
use postern_directory::SecretSpec;
use postern_store::Store;
use std::sync::Arc;
use tokio::sync::watch;

/// What every request handler may reach.
pub struct Admin {
    pub store: Store,
    /// The data directory (postern.toml for `/api/v1/config`).
    pub data_dir: std::path::PathBuf,
    pub config: watch::Receiver<Arc<Config>>,
    pub clock: Arc<dyn postern_net::clock::Clock>,
    /// When the server started (status: uptime).
    pub started: std::time::Instant,
    /// `(name, address)` of every bound listener (status).
    pub listeners: std::sync::OnceLock<Vec<(String, String)>>,
    /// The mechanism secrets a new password makes (as the CLI's).
    pub secret_spec: fn(&Config) -> SecretSpec,
    /// Set when the server stops: open connections finish their request and close.
    pub shutdown: watch::Receiver<bool>,
}

/// Shared handle the routes carry.
pub type Ctx = Arc<Admin>;
