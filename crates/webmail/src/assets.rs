//! The app's static files, compiled into the binary (no build step, no
//! CDN): one page, one script, one style sheet. The page has no inline
//! script or style, so the app's CSP needs no 'unsafe-inline'.

use axum::http::header;
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const APP_CSS: &str = include_str!("../assets/app.css");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

pub async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX)
}

pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

pub async fn style() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_no_inline_script_or_style() {
        assert!(INDEX.contains("<script src=\"/app.js\" defer></script>"));
        assert_eq!(INDEX.matches("<script").count(), 1);
        assert!(!INDEX.contains("<style"));
        assert!(!INDEX.contains("style=\""));
        assert!(!INDEX.contains(" on"), "no inline event handlers");
        assert!(
            !APP_JS.contains("innerHTML"),
            "user data goes in with textContent"
        );
    }
}
