//! HTML mail made safe on the server (issue 20 item 6) with ammonia, before
//! it reaches the browser (where it is shown in a sandboxed frame under
//! `script-src 'none'`, a second line of defence, not the first).
//!
//! Only ammonia's allow-list of tags and attributes survives: no script,
//! style sheet, `style` attribute (so no CSS `url()` or `@import`), form,
//! `<base>`, SVG or event handler. Relative URLs are dropped (they would
//! reach this server). Remote images keep their `src` only once the user
//! allows them for this message; until then they are counted so the app can
//! offer to. Links get `rel="noopener noreferrer"` and open in a new tab.

use ammonia::{Builder, UrlRelative};
use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// HTML longer than this (after decoding) is cut before sanitising, so one
/// message cannot make the server parse an unbounded document.
pub const MAX_HTML_BYTES: usize = 4 * 1024 * 1024;

/// A message's HTML, safe to show.
pub struct Sanitised {
    pub html: String,
    /// Remote images whose source was removed (0 once allowed).
    pub blocked_images: usize,
}

fn is_remote(value: &str) -> bool {
    let v = value.trim_start().to_ascii_lowercase();
    v.starts_with("http:") || v.starts_with("https:") || v.starts_with("//")
}

/// What survives of one attribute value.
fn filter<'u>(
    element: &str,
    attribute: &str,
    value: &'u str,
    images: bool,
    blocked: &AtomicUsize,
) -> Option<Cow<'u, str>> {
    let lower = value.trim_start().to_ascii_lowercase();
    match (element, attribute) {
        ("img", "src") if is_remote(value) && !images => {
            blocked.fetch_add(1, Ordering::Relaxed);
            None
        }
        ("img", "src") if lower.starts_with("data:") && !lower.starts_with("data:image/") => None,
        // Links may not carry data: documents or cid: (meaningless here).
        (_, "href") if lower.starts_with("data:") || lower.starts_with("cid:") => None,
        _ => Some(Cow::Borrowed(value)),
    }
}

/// Sanitises `html`; remote images stay only when `images` is true.
pub fn sanitise(html: &str, images: bool) -> Sanitised {
    let html = cut(html, MAX_HTML_BYTES);
    let blocked = Arc::new(AtomicUsize::new(0));
    let counter = blocked.clone();
    let schemes: HashSet<&str> = ["http", "https", "mailto", "data", "cid"].into();
    let clean = Builder::default()
        .url_schemes(schemes)
        .url_relative(UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer"))
        .set_tag_attribute_value("a", "target", "_blank")
        .attribute_filter(move |e, a, v| filter(e, a, v, images, &counter))
        .clean(html)
        .to_string();
    Sanitised {
        html: clean,
        blocked_images: blocked.load(Ordering::Relaxed),
    }
}

/// `s` cut to at most `max` bytes, at a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The frame's whole document around sanitised `body`.
pub fn document(body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><style>\
         body{{font-family:system-ui,sans-serif;margin:8px;overflow-wrap:anywhere}}\
         img{{max-width:100%;height:auto}}</style></head><body>{body}</body></html>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(html: &str) -> String {
        sanitise(html, false).html
    }

    #[test]
    fn scripts_handlers_and_style_sheets_go() {
        let out = clean(concat!(
            "<p onclick=\"alert(1)\">hi</p><script>alert(2)</script>",
            "<style>@import url(http://trap/x.css); body{background:url(http://trap/b)}</style>",
            "<div style=\"background:url(http://trap/c)\">x</div>",
            "<base href=\"http://trap/\"><form action=\"http://trap/f\"><input></form>",
            "<svg><animate onbegin=\"alert(3)\" attributeName=x /></svg>",
            "<a href=\"javascript:alert(4)\">j</a><iframe src=\"http://trap/i\"></iframe>",
        ));
        for bad in [
            "onclick",
            "script",
            "alert(2)",
            "@import",
            "url(",
            "style",
            "<base",
            "<form",
            "<svg",
            "onbegin",
            "javascript:",
            "<iframe",
            "trap",
        ] {
            assert!(!out.contains(bad), "{bad} survived: {out}");
        }
        assert!(out.contains("<p>hi</p>"), "{out}");
    }

    #[test]
    fn mxss_nesting_comes_out_inert() {
        let out = clean("<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">");
        assert!(!out.contains("onerror"), "{out}");
        let out = clean("<svg><style><img src=x onerror=alert(1)></style></svg>");
        assert!(!out.contains("onerror"), "{out}");
        let out = clean("<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>");
        assert!(!out.contains("onerror"), "{out}");
    }

    #[test]
    fn remote_images_wait_for_leave_and_are_counted() {
        let html = "<img src=\"https://trap.test/p.gif\"><img src=\"//trap.test/q\"><img src=\"data:image/png;base64,AA==\">";
        let blocked = sanitise(html, false);
        // The protocol-relative one goes with the relative URLs, always.
        assert_eq!(blocked.blocked_images, 1);
        assert!(!blocked.html.contains("trap.test"), "{}", blocked.html);
        assert!(blocked.html.contains("data:image/png"), "{}", blocked.html);
        let allowed = sanitise(html, true);
        assert_eq!(allowed.blocked_images, 0);
        assert!(
            allowed.html.contains("https://trap.test/p.gif"),
            "{}",
            allowed.html
        );
        assert!(!allowed.html.contains("//trap.test/q"), "{}", allowed.html);
    }

    #[test]
    fn links_open_apart_and_relative_urls_go() {
        let out = clean("<a href=\"https://example.org/\">x</a><a href=\"/api/session\">y</a><a href=\"data:text/html,x\">z</a>");
        assert!(out.contains("rel=\"noopener noreferrer\""), "{out}");
        assert!(out.contains("target=\"_blank\""), "{out}");
        assert!(!out.contains("/api/session"), "{out}");
        assert!(!out.contains("data:text"), "{out}");
    }

    #[test]
    fn html_past_the_limit_is_cut() {
        let big = format!("<p>{}</p>", "é".repeat(MAX_HTML_BYTES));
        let out = sanitise(&big, false).html;
        assert!(out.len() <= MAX_HTML_BYTES + 16, "{}", out.len());
    }
}
