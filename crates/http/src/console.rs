//! The admin console (issue 19 item 4): plain HTML, CSS and JavaScript
//! modules compiled into the binary, served at `/` and `/console/…` on the
//! admin listener. The pages talk only to `/api/v1` with the session cookie
//! and the CSRF token. Assets are found by exact name in [`ASSETS`], never
//! on disk, and the raw (still percent-encoded) path is what is looked up:
//! `..`, `%2e%2e` and `%2f` name nothing and answer 404.

use crate::problem::ApiError;
use axum::http::{header, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// Where the assets live in URLs.
pub const PREFIX: &str = "/console/";

macro_rules! asset {
    ($name:literal) => {
        ($name, include_str!(concat!("../console/", $name)))
    };
}

/// Every file the console serves, by its path under [`PREFIX`].
pub const ASSETS: &[(&str, &str)] = &[
    asset!("app.css"),
    asset!("js/main.js"),
    asset!("js/api.js"),
    asset!("js/ui.js"),
    asset!("js/pages/login.js"),
    asset!("js/pages/dashboard.js"),
    asset!("js/pages/domains.js"),
    asset!("js/pages/users.js"),
    asset!("js/pages/aliases.js"),
    asset!("js/pages/groups.js"),
    asset!("js/pages/ipgroups.js"),
    asset!("js/pages/security.js"),
    asset!("js/pages/certs.js"),
    asset!("js/pages/queue.js"),
    asset!("js/pages/logs.js"),
    asset!("js/pages/settings.js"),
];

const INDEX: &str = include_str!("../console/index.html");

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The asset at the raw request path, if it is one.
pub fn find(raw_path: &str) -> Option<(&'static str, &'static str)> {
    let name = raw_path.strip_prefix(PREFIX)?;
    ASSETS.iter().find(|(n, _)| *n == name).copied()
}

async fn index() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX).into_response()
}

async fn asset(uri: Uri) -> Response {
    match find(uri.path()) {
        Some((name, body)) => ([(header::CONTENT_TYPE, content_type(name))], body).into_response(),
        None => ApiError::NotFound("no such file".into()).into_response(),
    }
}

/// `/` and `/console/{*path}`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/console/{*path}", get(asset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_found_by_its_exact_path() {
        for (name, body) in ASSETS {
            assert_eq!(find(&format!("{PREFIX}{name}")).unwrap().1, *body);
            assert!(!body.is_empty(), "{name}");
        }
    }

    #[test]
    fn traversal_and_encodings_name_nothing() {
        for path in [
            "/console/../Cargo.toml",
            "/console/js/../app.css",
            "/console/%2e%2e/Cargo.toml",
            "/console/js%2fmain.js",
            "/console/js/pages%2Flogin.js",
            "/console/app.css/",
            "/console//app.css",
            "/console/",
        ] {
            assert!(find(path).is_none(), "{path}");
        }
    }

    #[test]
    fn no_inline_script_or_style_in_the_page() {
        // The CSP forbids them; the page must not need them.
        let lower = INDEX.to_ascii_lowercase();
        assert!(!lower.contains("<script>") && !lower.contains("style="));
        let handler = |w: &str| w.starts_with("on") && w.contains('=');
        assert!(!lower.split_whitespace().any(handler), "an inline handler");
        for (name, body) in ASSETS {
            assert!(!body.contains("innerHTML"), "{name} uses innerHTML");
        }
    }
}
