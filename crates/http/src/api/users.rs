//! `/api/v1/users`: accounts of the domains the caller may see. A new
//! password passes the `[auth]` policy and makes the enabled mechanisms'
//! secrets, as `postern user add|passwd` does; roles are for admins to give.

use crate::body::Json;
use crate::problem::{blocking, ApiError, ApiResult, Problem};
use crate::roles::Caller;
use crate::Ctx;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use postern_directory::admin_access::Role;
use postern_directory::prelude::*;
use postern_directory::UserInfo;
use postern_store::Secret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct User {
    pub address: String,
    pub name: String,
    /// Bytes; 0 is unlimited.
    pub quota: u64,
    pub used: u64,
    pub enabled: bool,
    /// `admin`, `auditor`, `domain-admin:DOMAIN[,DOMAIN]`, or absent.
    pub role: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub address: String,
    pub password: String,
    #[serde(default)]
    pub name: String,
    /// Bytes; 0 or absent is unlimited.
    #[serde(default)]
    pub quota: u64,
}

/// Only the fields sent change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    pub password: Option<String>,
    /// Mailbox quota in bytes; 0 is unlimited.
    pub quota: Option<u64>,
    /// Bytes; `null` clears the user's own limit.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u64>)]
    pub max_message_size: Option<Option<u64>>,
    /// `admin`, `auditor`, `domain-admin:DOMAIN[,DOMAIN]` or `none` (admins only).
    pub role: Option<String>,
}

/// A field that is present: `null` is `Some(None)`, absent stays `None`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
    Option::<u64>::deserialize(d).map(Some)
}

fn user(info: UserInfo, role: Option<Role>) -> User {
    User {
        address: info.address,
        name: info.name,
        quota: info.quota,
        used: info.used,
        enabled: info.enabled,
        role: role.map(|r| r.to_text()),
    }
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = [User]), (status = 401, body = Problem)))]
pub async fn users(State(ctx): State<Ctx>, caller: Caller) -> ApiResult<axum::Json<Vec<User>>> {
    let store = ctx.store.clone();
    let all = blocking(move || {
        let mut out = Vec::new();
        for u in store.user_list()? {
            let role = store.role_of(&u.address)?;
            out.push((u, role));
        }
        Ok(out)
    })
    .await?;
    let mine = all
        .into_iter()
        .filter(|(u, _)| caller.sees_address(&u.address));
    Ok(axum::Json(mine.map(|(u, r)| user(u, r)).collect()))
}

async fn fetch(ctx: &Ctx, caller: &Caller, address: &str) -> ApiResult<User> {
    caller.require_address(address)?;
    let (store, a) = (ctx.store.clone(), address.to_string());
    let found = blocking(move || Ok((store.user_by_address(&a)?, store.role_of(&a)?))).await?;
    match found {
        (Some(info), role) => Ok(user(info, role)),
        (None, _) => Err(ApiError::NotFound(format!("user {address} does not exist"))),
    }
}

#[utoipa::path(get, path = "/api/v1/users/{address}", tag = "users", params(("address" = String, Path)),
    responses((status = 200, body = User), (status = 404, body = Problem)))]
pub async fn get_user(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(address): Path<String>,
) -> ApiResult<axum::Json<User>> {
    Ok(axum::Json(fetch(&ctx, &caller, &address).await?))
}

fn check_password(ctx: &Ctx, address: &str, password: &str) -> ApiResult<()> {
    let config = ctx.config.borrow().clone();
    config
        .auth
        .check_password(address, password)
        .map_err(|e| ApiError::BadRequest(e.to_string()))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = User), (status = 400, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn add_user(
    State(ctx): State<Ctx>,
    caller: Caller,
    Json(new): Json<NewUser>,
) -> ApiResult<(StatusCode, axum::Json<User>)> {
    caller.require_address(&new.address)?;
    check_password(&ctx, &new.address, &new.password)?;
    let spec = (ctx.secret_spec)(&ctx.config.borrow());
    let (store, a) = (ctx.store.clone(), new.address.clone());
    let password = Secret::new(new.password);
    blocking(move || store.user_add_with(&a, &password, &new.name, new.quota, &spec)).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(fetch(&ctx, &caller, &new.address).await?),
    ))
}

#[utoipa::path(patch, path = "/api/v1/users/{address}", tag = "users", params(("address" = String, Path)),
    request_body = UserChange,
    responses((status = 200, body = User), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn change_user(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(address): Path<String>,
    Json(change): Json<UserChange>,
) -> ApiResult<axum::Json<User>> {
    fetch(&ctx, &caller, &address).await?;
    let role = match change.role.as_deref() {
        None => None,
        Some(text) => {
            caller.require_admin()?;
            Some(if text == "none" {
                None
            } else {
                Some(Role::parse(text)?)
            })
        }
    };
    if let Some(p) = &change.password {
        check_password(&ctx, &address, p)?;
    }
    let spec = (ctx.secret_spec)(&ctx.config.borrow());
    let (store, a) = (ctx.store.clone(), address.clone());
    blocking(move || {
        if let Some(p) = change.password {
            store.user_passwd_with(&a, &Secret::new(p), &spec)?;
        }
        if let Some(quota) = change.quota {
            store.user_set_quota(&a, quota)?;
        }
        if let Some(limit) = change.max_message_size {
            store.user_set_max_message_size(&a, limit)?;
        }
        if let Some(role) = role {
            store.role_set(&a, role.as_ref())?;
        }
        Ok(())
    })
    .await?;
    Ok(axum::Json(fetch(&ctx, &caller, &address).await?))
}

#[utoipa::path(delete, path = "/api/v1/users/{address}", tag = "users", params(("address" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn del_user(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(address): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require_address(&address)?;
    let store = ctx.store.clone();
    blocking(move || store.user_del(&address)).await?;
    Ok(StatusCode::NO_CONTENT)
}
