//! `/api/v1/queue`: the outbound queue as `postern queue` shows and changes
//! it — list, show, retry, hold, release, delete. Server-wide, so not for
//! domain admins; auditors read.

use crate::problem::{blocking, ApiError, ApiResult, Problem};
use crate::roles::Caller;
use crate::Ctx;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use postern_store::outbound::QueueEntry;
use postern_store::outbound::QueueSelect;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct QueuedRecipient {
    pub address: String,
    /// `pending`, `deferred`, …
    pub status: String,
    pub attempts: u32,
    /// Unix seconds.
    pub next_attempt: i64,
    pub last_error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct QueuedMessage {
    pub id: String,
    pub sender: String,
    /// Unix seconds.
    pub created: i64,
    pub size: u64,
    pub held: bool,
    pub recipients: Vec<QueuedRecipient>,
}

fn message(e: QueueEntry) -> QueuedMessage {
    let recipients = e.recipients.into_iter().map(|r| QueuedRecipient {
        address: r.address,
        status: r.status,
        attempts: r.attempts,
        next_attempt: r.next_attempt,
        last_error: r.last_error,
    });
    QueuedMessage {
        id: e.id,
        sender: e.sender,
        created: e.created,
        size: e.size,
        held: e.held,
        recipients: recipients.collect(),
    }
}

#[utoipa::path(get, path = "/api/v1/queue", tag = "queue",
    responses((status = 200, body = [QueuedMessage]), (status = 403, body = Problem)))]
pub async fn list(
    State(ctx): State<Ctx>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<QueuedMessage>>> {
    caller.require_server_wide()?;
    let store = ctx.store.clone();
    let all = blocking(move || store.queue_list()).await?;
    Ok(axum::Json(all.into_iter().map(message).collect()))
}

#[utoipa::path(get, path = "/api/v1/queue/{id}", tag = "queue", params(("id" = String, Path)),
    responses((status = 200, body = QueuedMessage), (status = 404, body = Problem)))]
pub async fn show(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<QueuedMessage>> {
    caller.require_server_wide()?;
    let (store, i) = (ctx.store.clone(), id.clone());
    match blocking(move || store.queue_get(&i)).await? {
        Some(e) => Ok(axum::Json(message(e))),
        None => Err(ApiError::NotFound(format!(
            "queued message {id} does not exist"
        ))),
    }
}

#[utoipa::path(post, path = "/api/v1/queue/{id}/retry", tag = "queue", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn retry(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require_admin()?;
    let store = ctx.store.clone();
    blocking(move || store.queue_retry(QueueSelect::One(&id))).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/queue/{id}/hold", tag = "queue", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn hold(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    set_held(ctx, caller, id, true).await
}

#[utoipa::path(post, path = "/api/v1/queue/{id}/release", tag = "queue", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn release(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    set_held(ctx, caller, id, false).await
}

async fn set_held(ctx: Ctx, caller: Caller, id: String, held: bool) -> ApiResult<StatusCode> {
    caller.require_admin()?;
    let store = ctx.store.clone();
    blocking(move || store.queue_hold(&id, held)).await?;
    if !held {
        ctx.store.queue_wakeup().notify_one();
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/queue/{id}", tag = "queue", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require_admin()?;
    let store = ctx.store.clone();
    blocking(move || store.queue_delete(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
