//! The hook through which the `http` listener answers ACME HTTP-01
//! validations (RFC 8555 §8.3) from the server's pending orders, before the
//! redirect to https and for every client; the answers themselves live in
//! `postern_net::certs::acme::http01`.

use crate::Ctx;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use postern_net::certs::acme::http01::{CONTENT_TYPE, PATH_PREFIX};

/// `router` with `/.well-known/acme-challenge/TOKEN` answered first.
pub fn with_challenges(router: Router, ctx: &Ctx) -> Router {
    let pending = ctx.acme_http01.clone();
    let path = format!("{PATH_PREFIX}{{token}}");
    router.route(
        &path,
        get(move |uri: Uri| async move { answer(pending.answer(uri.path())) }),
    )
}

fn answer(body: Option<String>) -> Response {
    match body {
        Some(body) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response(),
        None => (StatusCode::NOT_FOUND, "no such ACME challenge\n").into_response(),
    }
}
