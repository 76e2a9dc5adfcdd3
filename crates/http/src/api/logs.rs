//! `GET /api/v1/logs/{mail|security}`: log lines newest first, filtered by
//! time, IP, address and text, paged by a byte cursor (`before`); see
//! [`crate::logread`]. Server-wide: admins and auditors.

use crate::logread::{page, Filter, MAX_LIMIT};
use crate::problem::{ApiError, ApiResult, Problem};
use crate::roles::Caller;
use crate::Ctx;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Lines a page holds unless `limit` says otherwise.
const DEFAULT_LIMIT: usize = 100;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// RFC 3339 UTC: lines at or after.
    since: Option<String>,
    /// RFC 3339 UTC: lines before.
    until: Option<String>,
    /// A client (or blocked) address as logged.
    ip: Option<String>,
    /// A mail address the line mentions.
    address: Option<String>,
    /// Text the line contains.
    text: Option<String>,
    /// Lines per page (at most 1000).
    limit: Option<usize>,
    /// The `next` of the previous page.
    before: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct LogPage {
    pub lines: Vec<String>,
    /// Pass as `before` for older lines; absent at the start of the log.
    pub next: Option<u64>,
}

/// The file of log `mail` or `security`.
pub(super) fn log_path(ctx: &Ctx, log: &str) -> ApiResult<std::path::PathBuf> {
    let name = match log {
        "mail" => "mail.log",
        "security" => "security.log",
        _ => return Err(ApiError::NotFound(format!("log {log} does not exist"))),
    };
    Ok(ctx.data_dir.join("logs").join(name))
}

#[utoipa::path(get, path = "/api/v1/logs/{log}", tag = "logs",
    params(("log" = String, Path, description = "mail or security"), LogQuery),
    responses((status = 200, body = LogPage), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn logs(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(log): Path<String>,
    query: Result<Query<LogQuery>, QueryRejection>,
) -> ApiResult<axum::Json<LogPage>> {
    caller.require_server_wide()?;
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let path = log_path(&ctx, &log)?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::BadRequest(format!("limit: 1 to {MAX_LIMIT}")));
    }
    let filter = Filter {
        since: q.since,
        until: q.until,
        ip: q.ip,
        address: q.address,
        text: q.text,
    };
    let read = tokio::task::spawn_blocking(move || {
        let mut f = std::fs::File::open(&path)?;
        page(&mut f, q.before, limit, &filter)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let (lines, next) = read.map_err(|e| ApiError::Internal(format!("reading {log} log: {e}")))?;
    Ok(axum::Json(LogPage { lines, next }))
}
