//! `GET /metrics` on the admin listener (issue 19 item 5): Prometheus text.
//! A scraper in the IP group `access.metrics.allow` (default: the built-in
//! `loopback`) needs no credentials; anyone else sends a token (or session)
//! of an admin or auditor. Credentials that are sent are always checked.

mod render;
mod summary;

pub use render::{render, CONTENT_TYPE};
pub use summary::{Live, Summary};

use crate::conn::Peer;
use crate::problem::{blocking, ApiResult};
use crate::roles::Caller;
use crate::Ctx;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use postern_config::METRICS_ACCESS;

pub async fn metrics(
    State(ctx): State<Ctx>,
    Extension(peer): Extension<Peer>,
    request: Request,
) -> ApiResult<Response> {
    let (mut parts, _) = request.into_parts();
    if has_credentials(&parts.headers) || !allowed_by_address(&ctx, &peer) {
        Caller::from_request_parts(&mut parts, &ctx)
            .await?
            .require_server_wide()?;
    }
    let (store, now) = (ctx.store.clone(), ctx.clock.now());
    let mut summary = blocking(move || Summary::from_store(&store, now)).await?;
    let listeners: Vec<String> = ctx
        .listeners
        .get()
        .into_iter()
        .flatten()
        .map(|(name, _)| name.clone())
        .collect();
    let uptime = ctx.started.elapsed().as_secs();
    summary.live = Some(Live::now(peer.security.as_deref(), &listeners, uptime));
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], render(&summary)).into_response())
}

fn has_credentials(headers: &HeaderMap) -> bool {
    headers.contains_key(header::AUTHORIZATION)
        || crate::auth::cookie(headers, crate::session::COOKIE).is_some()
}

/// True when the client is in `access.metrics.allow` (an empty value lets
/// no address in without credentials).
fn allowed_by_address(ctx: &Ctx, peer: &Peer) -> bool {
    let group = ctx.config.borrow().access.get(METRICS_ACCESS).allow;
    match (&peer.security, group.is_empty()) {
        (Some(security), false) => security.in_group(&group, peer.ip),
        _ => false,
    }
}
