//! `/api/v1/users/{address}/delegates`: who may send as a user's own
//! address (SPEC X8), as `postern user delegate|undelegate|delegations`.
//! A domain admin must see both users.

use crate::body::Json;
use crate::problem::{blocking, ApiResult, Problem};
use crate::roles::Caller;
use crate::Ctx;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use postern_directory::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDelegate {
    pub delegate: String,
}

#[utoipa::path(get, path = "/api/v1/users/{address}/delegates", tag = "users", params(("address" = String, Path)),
    responses((status = 200, body = [String]), (status = 404, body = Problem)))]
pub async fn delegates(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(address): Path<String>,
) -> ApiResult<axum::Json<Vec<String>>> {
    caller.require_address(&address)?;
    let store = ctx.store.clone();
    let all = blocking(move || store.delegations(Some(&address))).await?;
    Ok(axum::Json(all.into_iter().map(|d| d.delegate).collect()))
}

#[utoipa::path(post, path = "/api/v1/users/{address}/delegates", tag = "users", params(("address" = String, Path)),
    request_body = NewDelegate,
    responses((status = 201), (status = 400, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delegate(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(address): Path<String>,
    Json(new): Json<NewDelegate>,
) -> ApiResult<StatusCode> {
    caller.require_address(&address)?;
    caller.require_address(&new.delegate)?;
    let store = ctx.store.clone();
    blocking(move || store.delegate(&address, &new.delegate)).await?;
    Ok(StatusCode::CREATED)
}

#[utoipa::path(delete, path = "/api/v1/users/{address}/delegates/{delegate}", tag = "users",
    params(("address" = String, Path), ("delegate" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn undelegate(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((address, delegate)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    caller.require_address(&address)?;
    caller.require_address(&delegate)?;
    let store = ctx.store.clone();
    blocking(move || store.undelegate(&address, &delegate)).await?;
    Ok(StatusCode::NO_CONTENT)
}
