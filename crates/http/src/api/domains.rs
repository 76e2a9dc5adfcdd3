//! `/api/v1/domains`: list (a domain admin sees theirs), add and delete (admins).

use crate::body::Json;
use crate::problem::{blocking, ApiResult, Problem};
use crate::roles::Caller;
use crate::Ctx;
use axum::extract::{Path, State};
use axum::http::StatusCode;
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
