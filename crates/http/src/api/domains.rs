//! `/api/v1/domains`: list (a domain admin sees theirs), add and delete (admins).

use crate::body::Json;
use crate::problem::{blocking, ApiResult, Problem};
use crate::roles::Caller;
use crate::Ctx;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use postern_directory::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Domain {
    pub name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDomain {
    pub name: String,
}

/// Only the fields sent change; `null` clears.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainChange {
    /// Bytes, for the domain's users; never above smtp.max_message_size.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u64>)]
    pub max_message_size: Option<Option<u64>>,
    /// Where its DMARC aggregate reports go (a local address).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub dmarc_rua: Option<Option<String>>,
}

/// A field that is present: `null` is `Some(None)`, absent stays `None`.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[utoipa::path(patch, path = "/api/v1/domains/{name}", tag = "domains", params(("name" = String, Path)),
    request_body = DomainChange,
    responses((status = 204), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn change_domain(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(name): Path<String>,
    Json(change): Json<DomainChange>,
) -> ApiResult<StatusCode> {
    if !caller.sees_domain(&name) {
        return Err(crate::problem::ApiError::NotFound(format!(
            "domain {name} does not exist"
        )));
    }
    let store = ctx.store.clone();
    blocking(move || {
        if let Some(limit) = change.max_message_size {
            store.domain_set_max_message_size(&name, limit)?;
        }
        if let Some(rua) = change.dmarc_rua {
            store.domain_set_dmarc_rua(&name, rua.as_deref())?;
        }
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/domains", tag = "domains",
    responses((status = 200, body = [Domain]), (status = 401, body = Problem)))]
pub async fn domains(State(ctx): State<Ctx>, caller: Caller) -> ApiResult<axum::Json<Vec<Domain>>> {
    let store = ctx.store.clone();
    let all = blocking(move || store.domain_list()).await?;
    let mine = all.into_iter().filter(|d| caller.sees_domain(d));
    Ok(axum::Json(mine.map(|name| Domain { name }).collect()))
}

#[utoipa::path(post, path = "/api/v1/domains", tag = "domains", request_body = NewDomain,
    responses((status = 201, body = Domain), (status = 400, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn add_domain(
    State(ctx): State<Ctx>,
    caller: Caller,
    Json(new): Json<NewDomain>,
) -> ApiResult<(StatusCode, axum::Json<Domain>)> {
    caller.require_admin()?;
    let (store, name) = (ctx.store.clone(), new.name.to_ascii_lowercase());
    let n = name.clone();
    blocking(move || store.domain_add(&n)).await?;
    Ok((StatusCode::CREATED, axum::Json(Domain { name })))
}

#[utoipa::path(delete, path = "/api/v1/domains/{name}", tag = "domains",
    params(("name" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn del_domain(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    if !caller.sees_domain(&name) {
        return Err(crate::problem::ApiError::NotFound(format!(
            "domain {name} does not exist"
        )));
    }
    caller.require_admin()?;
    let store = ctx.store.clone();
    blocking(move || store.domain_del(&name)).await?;
    Ok(StatusCode::NO_CONTENT)
}
