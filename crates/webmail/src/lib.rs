//! Webmail (issue 20, SPEC S8/A4): the `https` listener serves a small
//! single-page app (static assets compiled in, no build step, no CDN) and
//! its JSON API under `/api`; the `http` listener only redirects to https,
//! except for clients in `access.http.exempt`. Mail is reached through the
//! store's async API ([`MailStore`]) only: no SQL, no body paths here.

mod acme;
mod assets;
mod conn;
mod contacts;
mod error;
mod events;
mod headers;
mod mail;
mod redirect;
mod routes;
mod session;
mod settings;

pub use conn::{serve_http, serve_https};
/// The vCard decoder and encoder, public for its fuzz target.
pub use contacts::vcard;

use postern_config::Config;
use postern_logs::Logs;
use postern_store::{MailStore, Store};
use std::sync::Arc;
use tokio::sync::watch;

/// What every request handler may reach.
pub struct Webmail {
    /// The directory and the webmail sessions (not behind the seam yet).
    pub store: Store,
    /// Mailboxes and bodies.
    pub mail: Arc<dyn MailStore>,
    pub config: watch::Receiver<Arc<Config>>,
    pub clock: Arc<dyn postern_net::clock::Clock>,
    pub logs: Logs,
    /// Set when the server stops: open connections finish and close.
    pub shutdown: watch::Receiver<bool>,
    /// The port the https listener is bound to, once bound (the redirect's
    /// target; the configured one may be 0, "any").
    pub https_port: std::sync::OnceLock<u16>,
    /// The SMTP service: what the user sends goes through a submission
    /// session of it (mail/submit.rs).
    pub smtp: Arc<postern_smtp::Context>,
    /// The mechanism secrets a new password makes (as the CLI's).
    pub secret_spec: fn(&Config) -> postern_directory::SecretSpec,
    /// The pending ACME HTTP-01 answers, served on the `http` listener.
    pub acme_http01: Arc<postern_net::certs::acme::http01::Http01>,
}

/// Shared handle the routes carry.
pub type Ctx = Arc<Webmail>;

/// The user's own data besides mail (address book, settings), through the
/// store's async seam.
pub(crate) fn book(ctx: &Ctx) -> &dyn postern_store::WebmailStore {
    &ctx.store
}
