//! `/api/v1/ipgroups`: named sets of addresses, networks and ranges for
//! `allow` and `exempt` rules, as `postern ipgroup` keeps them: entries are
//! checked and stored in canonical form; a group without entries is gone.
//! Server-wide: admins change, auditors read, domain admins neither.

use crate::body::Json;
use crate::problem::{blocking, ApiError, ApiResult, Problem};
use crate::roles::Caller;
use crate::Ctx;
use axum::extract::{Path, State};
use postern_directory::prelude::*;
use postern_net::ipgroup::{check_name, Entry};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct IpGroup {
    pub name: String,
    pub entries: Vec<String>,
}

/// Entries to add to (POST) or take from (DELETE) a group.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IpGroupEntries {
    pub entries: Vec<String>,
}

/// Checks the name and every entry, naming the first that is wrong.
fn canonical(name: &str, entries: &[String]) -> ApiResult<Vec<String>> {
    check_name(name).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let parse = |e: &String| {
        e.parse::<Entry>()
            .map(|e| e.to_string())
            .map_err(|err| ApiError::BadRequest(format!("ipgroup {name}: {err}")))
    };
    entries.iter().map(parse).collect()
}

#[utoipa::path(get, path = "/api/v1/ipgroups", tag = "ipgroups",
    responses((status = 200, body = [IpGroup]), (status = 403, body = Problem)))]
pub async fn ipgroups(
    State(ctx): State<Ctx>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<IpGroup>>> {
    caller.require_server_wide()?;
    let store = ctx.store.clone();
    let all = blocking(move || store.ipgroup_list()).await?;
    let shown = all
        .into_iter()
        .map(|(name, entries)| IpGroup { name, entries });
    Ok(axum::Json(shown.collect()))
}

#[utoipa::path(post, path = "/api/v1/ipgroups/{name}", tag = "ipgroups", params(("name" = String, Path)),
    request_body = IpGroupEntries,
    responses((status = 200, body = IpGroup), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn add(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(name): Path<String>,
    Json(body): Json<IpGroupEntries>,
) -> ApiResult<axum::Json<IpGroup>> {
    caller.require_admin()?;
    let entries = canonical(&name, &body.entries)?;
    let store = ctx.store.clone();
    let (name, entries) = blocking(move || store.ipgroup_add(&name, &entries)).await?;
    Ok(axum::Json(IpGroup { name, entries }))
}

#[utoipa::path(delete, path = "/api/v1/ipgroups/{name}", tag = "ipgroups", params(("name" = String, Path)),
    request_body = IpGroupEntries,
    responses((status = 200, body = IpGroup), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn remove(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(name): Path<String>,
    Json(body): Json<IpGroupEntries>,
) -> ApiResult<axum::Json<IpGroup>> {
    caller.require_admin()?;
    let entries = canonical(&name, &body.entries)?;
    let store = ctx.store.clone();
    let (name, entries) = blocking(move || store.ipgroup_del(&name, &entries)).await?;
    Ok(axum::Json(IpGroup { name, entries }))
}
