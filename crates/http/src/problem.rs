//! Errors as RFC 9457 problem details (`application/problem+json`): one
//! enum carrying the status and the text, turned into a response in one place.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use postern_store::StoreError;
use serde::Serialize;

#[derive(Debug)]
pub enum ApiError {
    /// No valid session or token.
    Unauthenticated,
    /// Authenticated, but the role does not allow it.
    Forbidden(String),
    /// A state change without its CSRF token or from another origin.
    Csrf(String),
    NotFound(String),
    BadRequest(String),
    Conflict(String),
    /// The resource exists but not with this method.
    MethodNotAllowed,
    /// Not `application/json`.
    UnsupportedMediaType,
    /// Body over [`crate::body::MAX_BODY`].
    TooLarge,
    /// The store failed; the cause is logged, not shown.
    Internal(String),
}

/// RFC 9457 §3.1 members.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        use ApiError::*;
        match self {
            Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "log in or send a bearer token".into(),
            ),
            Forbidden(d) => (StatusCode::FORBIDDEN, "forbidden", d.clone()),
            Csrf(d) => (StatusCode::FORBIDDEN, "csrf", d.clone()),
            NotFound(d) => (StatusCode::NOT_FOUND, "not-found", d.clone()),
            BadRequest(d) => (StatusCode::BAD_REQUEST, "bad-request", d.clone()),
            Conflict(d) => (StatusCode::CONFLICT, "conflict", d.clone()),
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "this resource does not take this method".into(),
            ),
            UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "the body must be application/json".into(),
            ),
            TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                format!("the body is over {} bytes", crate::body::MAX_BODY),
            ),
            Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error; see the server's log".into(),
            ),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::NotFound(format!("{what} does not exist")),
            StoreError::Exists(what) => ApiError::Conflict(format!("{what} already exists")),
            StoreError::Invalid(why) => ApiError::BadRequest(why),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            eprintln!("postern: admin API: {cause}");
        }
        let (status, slug, detail) = self.parts();
        let body = Problem {
            kind: format!("urn:postern:problem:{slug}"),
            title: status.canonical_reason().unwrap_or("error").into(),
            status: status.as_u16(),
            detail,
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            json,
        )
            .into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Runs store work on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> ApiResult<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(ApiError::from),
        Err(e) => Err(ApiError::Internal(format!("store task: {e}"))),
    }
}
