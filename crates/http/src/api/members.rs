//! One member of a group or one target of an alias at a time (issue 19:
//! API gaps): `POST /api/v1/groups/{address}/members` adds to an existing
//! group, `DELETE …/members/{member}` takes one out (the group stays), and
//! `DELETE /api/v1/aliases/{address}/targets/{target}` takes one target off
//! (the alias is gone with its last target). Within the caller's domains.

use crate::api::directory::AddressList;
use crate::body::Json;
use crate::problem::{blocking, ApiError, ApiResult, Problem};
use crate::roles::Caller;
use crate::Ctx;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use postern_directory::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMembers {
    pub members: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/groups/{address}/members", tag = "groups",
    params(("address" = String, Path)), request_body = NewMembers,
    responses((status = 200, body = AddressList), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn add_members(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(address): Path<String>,
    Json(new): Json<NewMembers>,
) -> ApiResult<axum::Json<AddressList>> {
    caller.require_address(&address)?;
    if new.members.is_empty() {
        return Err(ApiError::BadRequest("members: name at least one".into()));
    }
    let (store, a) = (ctx.store.clone(), address.clone());
    let groups = blocking(move || {
        let exists = store.group_list()?.iter().any(|(g, _)| *g == a);
        if exists {
            store.group_add(&a, &new.members)?;
        }
        store.group_list()
    })
    .await?;
    groups
        .into_iter()
        .find(|(g, _)| *g == address)
        .map(|(address, targets)| axum::Json(AddressList { address, targets }))
        .ok_or_else(|| ApiError::NotFound(format!("group {address} does not exist")))
}

#[utoipa::path(delete, path = "/api/v1/groups/{address}/members/{member}", tag = "groups",
    params(("address" = String, Path), ("member" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn remove_member(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((address, member)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    caller.require_address(&address)?;
    let store = ctx.store.clone();
    blocking(move || store.group_remove_member(&address, &member)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/aliases/{address}/targets/{target}", tag = "aliases",
    params(("address" = String, Path), ("target" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn remove_target(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((address, target)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    caller.require_address(&address)?;
    let store = ctx.store.clone();
    blocking(move || store.alias_del(&address, &[target])).await?;
    Ok(StatusCode::NO_CONTENT)
}
