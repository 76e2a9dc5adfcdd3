//! Errors carry the HTTP answer: a status and a short text the app shows
//! (as text, never HTML); the store's cause is logged once, here.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use postern_store::StoreError;

#[derive(Debug)]
pub enum WebError {
    /// No session, or it ended (logout, expiry, password change).
    Unauthenticated,
    /// A state change without this session's CSRF token or from another origin.
    Csrf(String),
    /// A password would travel in the clear (security.policy).
    InsecureLogin,
    NotFound(String),
    Invalid(String),
    Store(StoreError),
}

pub type WebResult<T> = Result<T, WebError>;

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => WebError::NotFound(what),
            StoreError::Invalid(why) => WebError::Invalid(why),
            StoreError::Exists(what) => WebError::Invalid(format!("{what} already exists")),
            StoreError::OverQuota => WebError::Invalid("over quota".into()),
            other => WebError::Store(other),
        }
    }
}

impl WebError {
    fn status_text(&self) -> (StatusCode, String) {
        match self {
            WebError::Unauthenticated => (StatusCode::UNAUTHORIZED, "please sign in".into()),
            WebError::Csrf(why) => (StatusCode::FORBIDDEN, why.clone()),
            WebError::InsecureLogin => (
                StatusCode::FORBIDDEN,
                "sign in over https: this server takes no password in the clear".into(),
            ),
            WebError::NotFound(what) => (StatusCode::NOT_FOUND, format!("not found: {what}")),
            WebError::Invalid(why) => (StatusCode::BAD_REQUEST, why.clone()),
            WebError::Store(e) => {
                eprintln!("postern: webmail: store: {e}");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the mail store is unavailable, try again".into(),
                )
            }
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, text) = self.status_text();
        (status, axum::Json(serde_json::json!({ "error": text }))).into_response()
    }
}

/// Runs blocking directory work (Argon2, SQLite) off the runtime's threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> WebResult<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(WebError::from),
        Err(_) => Err(WebError::Store(StoreError::Unavailable)),
    }
}
