//! `GET /api/v1/config`: every key of postern.toml with its effective value
//! (defaults included), as `GET /api/v1/config/{key}` shows each one, so the
//! console's settings page can offer every setting. Server-wide.

use crate::api::ConfigValue;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::roles::Caller;
use crate::Ctx;
use axum::extract::State;
use postern_config::Config;

/// Every leaf of `value` under `prefix`, sorted by key; arrays are leaves.
pub fn leaves(prefix: &str, value: &toml::Value, out: &mut Vec<ConfigValue>) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(&key, v, out);
            }
        }
        toml::Value::String(s) => out.push(ConfigValue {
            key: prefix.into(),
            value: s.clone(),
        }),
        other => out.push(ConfigValue {
            key: prefix.into(),
            value: other.to_string(),
        }),
    }
}

fn all(dir: &std::path::Path) -> Result<Vec<ConfigValue>, ApiError> {
    let config = Config::load(dir).map_err(|e| ApiError::Internal(e.to_string()))?;
    let tree = toml::Value::try_from(&config).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut out = Vec::new();
    leaves("", &tree, &mut out);
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

#[utoipa::path(get, path = "/api/v1/config", tag = "config",
    responses((status = 200, body = [ConfigValue]), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn config_all(
    State(ctx): State<Ctx>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<ConfigValue>>> {
    caller.require_server_wide()?;
    let dir = ctx.data_dir.clone();
    let out = tokio::task::spawn_blocking(move || all(&dir))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(axum::Json(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_key_is_listed_with_dotted_names() {
        let d = tempfile::tempdir().unwrap();
        let keys = all(d.path()).unwrap();
        let get = |k: &str| keys.iter().find(|c| c.key == k).map(|c| c.value.as_str());
        assert_eq!(get("security.policy"), Some("secure-auth"));
        assert!(keys.iter().all(|c| !c.key.starts_with('.')));
        assert!(keys.windows(2).all(|w| w[0].key < w[1].key));
        assert!(keys.len() > 50, "{}", keys.len());
    }
}
