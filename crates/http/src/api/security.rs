//! `/api/v1/security/blocked`: the addresses the brute-force guard or an
//! admin blocked — list, block, unblock — as `postern security` does. An
//! IPv6 address stands for its /64. Changes go to security.log with the
//! admin who made them; the server applies them within a second.

use crate::body::Json;
use crate::conn::Peer;
use crate::problem::{blocking, ApiError, ApiResult, Problem};
use crate::roles::Caller;
use crate::Ctx;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Extension;
use postern_directory::ipgroups::Block;
use postern_directory::prelude::*;
use postern_net::security::{rfc3339, MANUAL_BLOCK};
use postern_net::ClientKey;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Blocked {
    /// The address, or an IPv6 /64.
    pub ip: String,
    /// RFC 3339 UTC.
    pub since: String,
    pub until: String,
    pub failures: u32,
    pub reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBlock {
    pub ip: String,
    /// e.g. `1h`, `7d`; `security.block_for` when absent.
    pub duration: Option<String>,
}

fn key(ip: &str) -> ApiResult<ClientKey> {
    ip.parse::<ClientKey>()
        .map_err(|e| ApiError::BadRequest(e.to_string()))
}

fn log(peer: &Peer, event: &str, caller: &Caller, blocked: &str, extra: &[(&str, &str)]) {
    if let Some(security) = &peer.security {
        let mut fields = vec![("blocked", blocked), ("by", caller.user.as_str())];
        fields.extend_from_slice(extra);
        security.security_log(event, peer.listener, peer.ip, &fields);
    }
}

#[utoipa::path(get, path = "/api/v1/security/blocked", tag = "security",
    responses((status = 200, body = [Blocked]), (status = 403, body = Problem)))]
pub async fn blocked(
    State(ctx): State<Ctx>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<Blocked>>> {
    caller.require_server_wide()?;
    let (store, now) = (ctx.store.clone(), ctx.clock.now());
    let all = blocking(move || store.block_list(now)).await?;
    let shown = all.into_iter().map(|b| Blocked {
        ip: b.ip,
        since: rfc3339(b.since),
        until: rfc3339(b.until),
        failures: b.failures,
        reason: b.reason,
    });
    Ok(axum::Json(shown.collect()))
}

#[utoipa::path(post, path = "/api/v1/security/blocked", tag = "security", request_body = NewBlock,
    responses((status = 201), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn block(
    State(ctx): State<Ctx>,
    Extension(peer): Extension<Peer>,
    caller: Caller,
    Json(new): Json<NewBlock>,
) -> ApiResult<StatusCode> {
    caller.require_admin()?;
    let ip = key(&new.ip)?.to_string();
    let secs = match new.duration.as_deref() {
        Some(d) => postern_config::parse_duration(d).map_err(ApiError::BadRequest)?,
        None => ctx.config.borrow().security.block_for.0,
    }
    .as_secs();
    let now = ctx.clock.now();
    let until = i64::try_from(secs).ok().and_then(|s| now.checked_add(s));
    let until = until
        .filter(|_| secs > 0)
        .ok_or_else(|| ApiError::BadRequest(format!("a block lasts from 1s; {secs}s given")))?;
    let b = Block {
        ip: ip.clone(),
        since: now,
        until,
        failures: 0,
        reason: MANUAL_BLOCK.into(),
    };
    let store = ctx.store.clone();
    blocking(move || store.block_put(&b)).await?;
    log(
        &peer,
        "blocked",
        &caller,
        &ip,
        &[("until", &rfc3339(until)), ("reason", MANUAL_BLOCK)],
    );
    Ok(StatusCode::CREATED)
}

#[utoipa::path(delete, path = "/api/v1/security/blocked/{ip}", tag = "security", params(("ip" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn unblock(
    State(ctx): State<Ctx>,
    Extension(peer): Extension<Peer>,
    caller: Caller,
    Path(ip): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require_admin()?;
    let addr = key(&ip)?.to_string();
    let (store, a, now) = (ctx.store.clone(), addr.clone(), ctx.clock.now());
    if !blocking(move || store.block_del(&a, now)).await? {
        return Err(ApiError::NotFound(format!("{addr} is not blocked")));
    }
    log(
        &peer,
        "unblocked",
        &caller,
        &addr,
        &[("reason", "lifted by admin")],
    );
    Ok(StatusCode::NO_CONTENT)
}
