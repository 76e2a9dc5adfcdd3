//! JSON request bodies: `application/json` only (a cross-site form or a
//! `text/plain` fetch is refused before anything else, 415), at most
//! [`MAX_BODY`] bytes (413), nested no deeper than serde_json's recursion
//! limit (128; deeper is a 400), unknown fields named in the 400.

use crate::problem::ApiError;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;

/// Largest request body the API reads.
pub const MAX_BODY: usize = 1024 * 1024;
/// How much of an oversized body is read (and dropped) before the 413, so a
/// client still sending gets the answer rather than a reset.
pub const DRAIN_LIMIT: usize = 4 * MAX_BODY;

/// A JSON body of type `T`.
pub struct Json<T>(pub T);

fn is_json(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// The body's bytes, or TooLarge once past [`MAX_BODY`].
async fn read_limited(body: axum::body::Body) -> Result<Vec<u8>, ApiError> {
    let (mut body, mut out, mut seen) = (body, Vec::new(), 0usize);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ApiError::BadRequest(format!("reading the body: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len();
        if seen > DRAIN_LIMIT {
            break;
        }
        if seen <= MAX_BODY {
            out.extend_from_slice(&data);
        }
    }
    if seen > MAX_BODY {
        return Err(ApiError::TooLarge);
    }
    Ok(out)
}

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, ApiError> {
        if !is_json(&req) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > DRAIN_LIMIT) {
            return Err(ApiError::TooLarge);
        }
        let bytes = read_limited(req.into_body()).await?;
        // Into a Value first, so nesting is bounded (serde_json refuses more
        // than 128 levels) whatever `T` would skip or refuse on its own.
        let bad = |e: serde_json::Error| ApiError::BadRequest(format!("invalid JSON body: {e}"));
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(bad)?;
        T::deserialize(value).map(Json).map_err(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Named {
        name: String,
    }

    async fn parse(ct: &str, body: Vec<u8>) -> Result<Named, ApiError> {
        let req = Request::builder()
            .header("content-type", ct)
            .body(Body::from(body))
            .unwrap();
        Json::<Named>::from_request(req, &()).await.map(|j| j.0)
    }

    fn padded(len: usize) -> Vec<u8> {
        let pad = len - r#"{"name":""}"#.len();
        format!(r#"{{"name":"{}"}}"#, "a".repeat(pad)).into_bytes()
    }

    #[tokio::test]
    async fn the_size_limit_is_crossed_at_max_body() {
        assert!(parse("application/json", padded(MAX_BODY)).await.is_ok());
        let over = parse("application/json", padded(MAX_BODY + 1)).await;
        assert!(matches!(over, Err(ApiError::TooLarge)));
        let huge = parse("application/json", padded(DRAIN_LIMIT + 1)).await;
        assert!(matches!(huge, Err(ApiError::TooLarge)));
    }

    #[tokio::test]
    async fn nesting_media_type_and_unknown_fields() {
        let deep =
            |n| format!(r#"{{"name":"x","k":{}{}}}"#, "[".repeat(n), "]".repeat(n)).into_bytes();
        let Err(ApiError::BadRequest(e)) = parse("application/json", deep(200)).await else {
            panic!()
        };
        assert!(e.contains("recursion limit"), "{e}");
        let Err(ApiError::BadRequest(e)) = parse("application/json", deep(100)).await else {
            panic!()
        };
        assert!(e.contains("unknown field `k`"), "{e}");
        let plain = parse("text/plain", br#"{"name":"x"}"#.to_vec()).await;
        assert!(matches!(plain, Err(ApiError::UnsupportedMediaType)));
        assert!(parse(
            "application/json; charset=utf-8",
            br#"{"name":"x"}"#.to_vec()
        )
        .await
        .is_ok());
    }
}
