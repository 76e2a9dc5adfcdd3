//! Headers on every response: the app's pages may load only what this
//! server serves and may not be framed; no sniffing, no referrer, no cache.
//! A sanitised message frame sets its own, stricter policy first
//! ([`FRAME_CSP`]) and keeps it.

use axum::http::{header, HeaderValue};
use axum::response::Response;

/// The app: scripts, styles, frames and fetches from here only.
pub const APP_CSP: &str = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";
/// A message's HTML: nothing loads, nothing runs; inline styles only.
/// Remote images stay blocked until the user allows them for the message.
pub const FRAME_CSP: &str = "default-src 'none'; img-src data: cid:; style-src 'unsafe-inline'; script-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";
/// [`FRAME_CSP`] once the user has allowed remote images (not CSS, fonts or anything else).
pub const FRAME_CSP_IMAGES: &str = "default-src 'none'; img-src data: cid: https: http:; style-src 'unsafe-inline'; script-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";
pub const HSTS: &str = "max-age=31536000";

pub async fn secure(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(APP_CSP),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static(HSTS),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}
