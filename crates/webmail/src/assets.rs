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
    }

    #[test]
    fn the_script_never_writes_markup() {
        // User data goes in with textContent and createElement, never as
        // markup; the one innerHTML is the compose editor's, read (not
        // written) to send, and the server sanitises it (mail/rich.rs).
        for sink in [
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "insertHTML",
            "DOMParser",
            "createContextualFragment",
            "srcdoc",
            "eval(",
            "new Function",
        ] {
            assert!(!APP_JS.contains(sink), "{sink} in app.js");
        }
        let uses: Vec<&str> = APP_JS.lines().filter(|l| l.contains("innerHTML")).collect();
        assert_eq!(uses.len(), 1, "{uses:?}");
        assert!(
            uses[0].contains("html: rich ? $('c-editor').innerHTML : ''"),
            "{uses:?}"
        );
        let assigned = APP_JS
            .split("innerHTML")
            .skip(1)
            .any(|rest| rest.trim_start().starts_with('=') && !rest.trim_start().starts_with("=="));
        assert!(!assigned, "innerHTML is never assigned");
    }

    #[test]
    fn the_editor_is_the_only_editable_and_shortcuts_skip_it() {
        assert_eq!(INDEX.matches("contenteditable").count(), 1);
        assert!(APP_JS.contains("'input, textarea, select, [contenteditable]'"));
    }
}
