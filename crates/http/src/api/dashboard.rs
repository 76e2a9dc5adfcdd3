//! `GET /api/v1/dashboard`: what the console's first page shows (issue 19
//! item 4) in one request — listeners with their connections now, queue
//! size, messages in and out per hour over the last day and failed logins
//! (from the logs, [`crate::logcount`]), blocked addresses, and the disk the
//! data directory uses. Server-wide: admins and auditors.

use crate::conn::Peer;
use crate::disk_use::{cached_disk_use, DISK_USE};
use crate::logcount::{count, COUNTED};
use crate::problem::{blocking, ApiError, ApiResult, Problem};
use crate::roles::Caller;
use crate::traffic::Tally;
use crate::Ctx;
use axum::extract::State;
use axum::Extension;
use postern_directory::prelude::*;
use serde::Serialize;
use std::path::Path;
use std::time::Instant;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct ListenerNow {
    pub name: String,
    pub address: String,
    /// Connections open now.
    pub connections: u32,
}

#[derive(Serialize, ToSchema)]
pub struct Dashboard {
    pub version: String,
    pub uptime_seconds: u64,
    pub listeners: Vec<ListenerNow>,
    pub queue_size: usize,
    /// `YYYY-MM-DDTHH` (UTC) of each hour of the last day, oldest first.
    pub hours: Vec<String>,
    /// Messages accepted by SMTP in each of those hours.
    pub received: Vec<u64>,
    /// Recipients delivered to other servers in each of those hours.
    pub sent: Vec<u64>,
    /// Failed logins over the last day (security.log `auth-failed`).
    pub failed_logins: u64,
    /// Addresses blocked now.
    pub blocked: usize,
    /// Bytes of the files under the data directory (walked at most once
    /// per [`crate::disk_use::DISK_USE_TTL`]).
    pub disk_bytes: u64,
}

fn tally(dir: &Path, now: i64) -> std::io::Result<(Tally, u64)> {
    let t = count(&COUNTED, dir, now)?;
    Ok((t, cached_disk_use(&DISK_USE, dir, Instant::now())))
}

#[utoipa::path(get, path = "/api/v1/dashboard", tag = "status",
    responses((status = 200, body = Dashboard), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn dashboard(
    State(ctx): State<Ctx>,
    Extension(peer): Extension<Peer>,
    caller: Caller,
) -> ApiResult<axum::Json<Dashboard>> {
    caller.require_server_wide()?;
    let (store, now) = (ctx.store.clone(), ctx.clock.now());
    let (queue_size, blocked) =
        blocking(move || Ok((store.queue_list()?.len(), store.block_list(now)?.len()))).await?;
    let dir = ctx.data_dir.clone();
    let (t, disk_bytes) = tokio::task::spawn_blocking(move || tally(&dir, now))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(format!("reading the logs: {e}")))?;
    let connections = |name: &str| {
        peer.security
            .as_ref()
            .map_or(0, |s| s.connections(name, None))
    };
    let listeners = ctx.listeners.get().into_iter().flatten();
    let listeners = listeners.map(|(name, address)| ListenerNow {
        connections: connections(name),
        name: name.clone(),
        address: address.clone(),
    });
    Ok(axum::Json(Dashboard {
        version: env!("CARGO_PKG_VERSION").into(),
        uptime_seconds: ctx.started.elapsed().as_secs(),
        listeners: listeners.collect(),
        queue_size,
        hours: t.hours,
        received: t.received,
        sent: t.sent,
        failed_logins: t.failed_logins.iter().sum(),
        blocked,
        disk_bytes,
    }))
}
