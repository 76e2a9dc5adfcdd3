//! Which protocol answers on which listener: the one place a new service is
//! wired in. Each entry says whether the port speaks TLS from the first byte
//! and how a connection is served.

use super::accept::Handler;
use postern_smtp::Kind;
use std::sync::Arc;

/// Everything the services share.
pub struct Shared {
    pub smtp: Arc<postern_smtp::Context>,
}

/// A listener's protocol: implicit TLS or not, and its handler. `None` for
/// services this build does not serve yet (their listeners are not started).
pub fn service(name: &str, shared: &Shared) -> Option<(bool, Handler)> {
    match name {
        "smtp" => Some((false, smtp(shared, Kind::Mx))),
        "submission" => Some((false, smtp(shared, Kind::Submission))),
        "smtps" => Some((true, smtp(shared, Kind::Smtps))),
        _ => None,
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
