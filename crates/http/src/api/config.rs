//! `/api/v1/config/{key}`: one key of postern.toml, read (the effective
//! value, default included) and set as `postern config get|set` does —
//! comments kept, refused unless the whole file still validates, the error
//! naming the key. The server picks the change up as it does the CLI's.
//! Server-wide: admins set, auditors read.

use crate::body::Json;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::roles::Caller;
use crate::Ctx;
use axum::extract::{Path, State};
use postern_config::{edit, ConfigError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct ConfigValue {
    pub key: String,
    /// As `postern config get` prints it: strings bare, others in TOML.
    pub value: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConfigValue {
    /// A TOML value; bare words are taken as strings (`postern config set`).
    pub value: String,
}

fn problem(e: ConfigError) -> ApiError {
    match e {
        ConfigError::Read { .. } | ConfigError::Write { .. } => ApiError::Internal(e.to_string()),
        ConfigError::UnknownKey(_) => ApiError::NotFound(e.to_string()),
        other => ApiError::BadRequest(other.to_string()),
    }
}

async fn read(ctx: &Ctx, key: String) -> ApiResult<ConfigValue> {
    let dir = ctx.data_dir.clone();
    let k = key.clone();
    let value = tokio::task::spawn_blocking(move || edit::get(&dir, &k))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(problem)?;
    Ok(ConfigValue { key, value })
}

#[utoipa::path(get, path = "/api/v1/config/{key}", tag = "config", params(("key" = String, Path)),
    responses((status = 200, body = ConfigValue), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(key): Path<String>,
) -> ApiResult<axum::Json<ConfigValue>> {
    caller.require_server_wide()?;
    Ok(axum::Json(read(&ctx, key).await?))
}

#[utoipa::path(put, path = "/api/v1/config/{key}", tag = "config", params(("key" = String, Path)),
    request_body = NewConfigValue,
    responses((status = 200, body = ConfigValue), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn set(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(key): Path<String>,
    Json(new): Json<NewConfigValue>,
) -> ApiResult<axum::Json<ConfigValue>> {
    caller.require_admin()?;
    let (dir, k) = (ctx.data_dir.clone(), key.clone());
    tokio::task::spawn_blocking(move || edit::set(&dir, &k, &new.value))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(problem)?;
    Ok(axum::Json(read(&ctx, key).await?))
}
