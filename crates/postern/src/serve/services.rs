//! Which protocol answers on which listener: the one place a new service is
//! wired in. Each entry says whether the port speaks TLS from the first byte
//! and how a connection is served.

use super::accept::Handler;
use postern_net::cross_protocol::MailProtocol;
use postern_smtp::Kind;
use std::sync::Arc;

/// Everything the services share.
pub struct Shared {
    pub smtp: Arc<postern_smtp::Context>,
    pub imap: Arc<postern_imap::Context>,
    pub pop3: Arc<postern_pop3::Context>,
    pub admin: Arc<postern_http::Admin>,
    pub webmail: Arc<postern_webmail::Webmail>,
}

/// A listener's protocol: implicit TLS or not, and its handler. `None` for
/// services this build does not serve yet (their listeners are not started).
pub fn service(name: &str, shared: &Shared) -> Option<(bool, Handler)> {
    match name {
        "smtp" => Some((false, smtp(shared, Kind::Mx))),
        "submission" => Some((false, smtp(shared, Kind::Submission))),
        "smtps" => Some((true, smtp(shared, Kind::Smtps))),
        "pop3" => Some((false, pop3(shared))),
        "pop3s" => Some((true, pop3(shared))),
        "imap" => Some((false, imap(shared))),
        "imaps" => Some((true, imap(shared))),
        "admin" => Some((true, admin(shared))),
        "https" => Some((true, webmail(shared))),
        "http" => Some((false, webmail_plain(shared))),
        _ => None,
    }
}

/// The mail protocol a listener speaks (for its TLS ALPN protocol ID).
pub fn protocol(name: &str) -> MailProtocol {
    match name {
        "imap" | "imaps" => MailProtocol::Imap,
        "pop3" | "pop3s" => MailProtocol::Pop3,
        _ => MailProtocol::Smtp,
    }
}

fn smtp(shared: &Shared, kind: Kind) -> Handler {
    let ctx = shared.smtp.clone();
    Arc::new(move |stream, peer| {
        let ctx = ctx.clone();
        Box::pin(async move {
            postern_smtp::Session::new(ctx, kind, stream, peer)
                .run()
                .await
        })
    })
}

fn pop3(shared: &Shared) -> Handler {
    let ctx = shared.pop3.clone();
    Arc::new(move |stream, peer| {
        let ctx = ctx.clone();
        Box::pin(async move { postern_pop3::Session::new(ctx, stream, peer).run().await })
    })
}

fn admin(shared: &Shared) -> Handler {
    let ctx = shared.admin.clone();
    Arc::new(move |stream, peer| {
        Box::pin(postern_http::serve_connection(ctx.clone(), stream, peer))
    })
}

/// Webmail over HTTPS (issue 20).
fn webmail(shared: &Shared) -> Handler {
    let ctx = shared.webmail.clone();
    Arc::new(move |stream, peer| Box::pin(postern_webmail::serve_https(ctx.clone(), stream, peer)))
}

/// Plain HTTP: a redirect to https, or webmail for `access.http.exempt`.
fn webmail_plain(shared: &Shared) -> Handler {
    let ctx = shared.webmail.clone();
    Arc::new(move |stream, peer| Box::pin(postern_webmail::serve_http(ctx.clone(), stream, peer)))
}

fn imap(shared: &Shared) -> Handler {
    let ctx = shared.imap.clone();
    Arc::new(move |stream, peer| {
        let ctx = ctx.clone();
        Box::pin(async move { postern_imap::Session::new(ctx, stream, peer).run().await })
    })
}
