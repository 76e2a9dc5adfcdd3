//! `/api/v1/aliases` and `/api/v1/groups`: an address and its targets or
//! members, within the caller's domains.

use crate::body::Json;
use crate::problem::{blocking, ApiResult, Problem};
use crate::roles::Caller;
use crate::Ctx;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use postern_directory::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An alias with its targets, or a group with its members.
#[derive(Serialize, ToSchema)]
pub struct AddressList {
    pub address: String,
    pub targets: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewList {
    pub address: String,
    pub targets: Vec<String>,
}

fn visible(caller: &Caller, all: Vec<(String, Vec<String>)>) -> Vec<AddressList> {
    all.into_iter()
        .filter(|(a, _)| caller.sees_address(a))
        .map(|(address, targets)| AddressList { address, targets })
        .collect()
}

#[utoipa::path(get, path = "/api/v1/aliases", tag = "aliases", responses((status = 200, body = [AddressList])))]
pub async fn aliases(
    State(ctx): State<Ctx>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<AddressList>>> {
    let store = ctx.store.clone();
    Ok(axum::Json(visible(
        &caller,
        blocking(move || store.alias_list()).await?,
    )))
}

#[utoipa::path(post, path = "/api/v1/aliases", tag = "aliases", request_body = NewList,
    responses((status = 201), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn add_alias(
    State(ctx): State<Ctx>,
    caller: Caller,
    Json(new): Json<NewList>,
) -> ApiResult<StatusCode> {
    caller.require_address(&new.address)?;
    let store = ctx.store.clone();
    blocking(move || store.alias_add(&new.address, &new.targets)).await?;
    Ok(StatusCode::CREATED)
}

#[utoipa::path(delete, path = "/api/v1/aliases/{address}", tag = "aliases", params(("address" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn del_alias(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(address): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require_address(&address)?;
    let store = ctx.store.clone();
    blocking(move || store.alias_del(&address, &[])).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/groups", tag = "groups", responses((status = 200, body = [AddressList])))]
pub async fn groups(
    State(ctx): State<Ctx>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<AddressList>>> {
    let store = ctx.store.clone();
    Ok(axum::Json(visible(
        &caller,
        blocking(move || store.group_list()).await?,
    )))
}

#[utoipa::path(post, path = "/api/v1/groups", tag = "groups", request_body = NewList,
    responses((status = 201), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn add_group(
    State(ctx): State<Ctx>,
    caller: Caller,
    Json(new): Json<NewList>,
) -> ApiResult<StatusCode> {
    caller.require_address(&new.address)?;
    let store = ctx.store.clone();
    blocking(move || store.group_add(&new.address, &new.targets)).await?;
    Ok(StatusCode::CREATED)
}

#[utoipa::path(delete, path = "/api/v1/groups/{address}", tag = "groups", params(("address" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn del_group(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(address): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require_address(&address)?;
    let store = ctx.store.clone();
    blocking(move || store.group_del(&address)).await?;
    Ok(StatusCode::NO_CONTENT)
}
