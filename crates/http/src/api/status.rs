//! `GET /api/v1/status`: version, uptime, listeners, messages queued.

use crate::problem::{blocking, ApiResult, Problem};
use crate::roles::Caller;
use crate::Ctx;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Listener {
    pub name: String,
    pub address: String,
}

#[derive(Serialize, ToSchema)]
pub struct Status {
    pub version: String,
    pub uptime_seconds: u64,
    pub listeners: Vec<Listener>,
    /// Messages in the outbound queue.
    pub queue_size: usize,
}

#[utoipa::path(get, path = "/api/v1/status", tag = "status",
    responses((status = 200, body = Status), (status = 401, body = Problem)))]
pub async fn status(State(ctx): State<Ctx>, _caller: Caller) -> ApiResult<axum::Json<Status>> {
    let store = ctx.store.clone();
    let queue_size = blocking(move || store.queue_list()).await?.len();
    let listeners = ctx
        .listeners
        .get()
        .into_iter()
        .flatten()
        .map(|(name, address)| Listener {
            name: name.clone(),
            address: address.clone(),
        })
        .collect();
    Ok(axum::Json(Status {
        version: env!("CARGO_PKG_VERSION").into(),
        uptime_seconds: ctx.started.elapsed().as_secs(),
        listeners,
        queue_size,
    }))
}
