//! Rich text the user writes (issue 20 item 3): the HTML of the compose
//! editor is sanitised on the server with ammonia before it is sent, to a
//! small allow-list (bold, italic, underline, lists, links, paragraphs,
//! quotes); the text/plain alternative (RFC 2046 §5.1.4) is made here from
//! that sanitised HTML, so the two parts say the same.

use crate::error::{WebError, WebResult};
use ammonia::{Builder, UrlRelative};
use std::collections::{HashMap, HashSet};

/// Largest HTML body a message may be written with.
pub const MAX_COMPOSE_HTML: usize = 2 * 1024 * 1024;

pub(crate) const TAGS: [&str; 13] = [
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ul",
    "ol",
    "li",
    "p",
    "br",
    "div",
    "a",
    "blockquote",
];

/// `html` reduced to the editor's allow-list; links keep http, https and
/// mailto targets only, and open apart without a referrer.
pub fn clean(html: &str) -> WebResult<String> {
    if html.len() > MAX_COMPOSE_HTML {
        return Err(WebError::Invalid(format!(
            "a message's HTML is at most {MAX_COMPOSE_HTML} bytes"
        )));
    }
    let tags: HashSet<&str> = TAGS.into();
    let attrs: HashMap<&str, HashSet<&str>> = [("a", ["href"].into())].into();
    Ok(Builder::empty()
        .tags(tags)
        .tag_attributes(attrs)
        .url_schemes(["http", "https", "mailto"].into())
        .url_relative(UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer"))
        .clean(html)
        .to_string())
}

/// The entities html5ever's serializer writes (and the common numeric ones).
pub(crate) fn decode(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// The plain text of sanitised HTML.
pub struct Text {
    out: String,
    lists: Vec<Option<usize>>,
    href: Option<(String, usize)>,
}

impl Text {
    fn line_break(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.push('\n');
        }
    }

    fn tag(&mut self, tag: &str) {
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        match (name.as_str(), closing) {
            ("br", _) => self.out.push('\n'),
            ("p" | "div" | "blockquote", _) => self.line_break(),
            ("ul", false) => self.lists.push(None),
            ("ol", false) => self.lists.push(Some(0)),
            ("ul" | "ol", true) => {
                self.lists.pop();
                self.line_break();
            }
            ("li", false) => {
                self.line_break();
                let depth = self.lists.len().saturating_sub(1);
                self.out.push_str(&"  ".repeat(depth));
                match self.lists.last_mut() {
                    Some(Some(n)) => {
                        *n += 1;
                        self.out.push_str(&format!("{n}. "));
                    }
                    _ => self.out.push_str("- "),
                }
            }
            ("a", false) => {
                let href = tag
                    .split_once("href=\"")
                    .and_then(|(_, rest)| rest.split_once('"'))
                    .map(|(h, _)| decode(h));
                self.href = href.map(|h| (h, self.out.len()));
            }
            ("a", true) => {
                if let Some((href, at)) = self.href.take() {
                    let shown = self.out[at..].trim().to_string();
                    let bare = href.trim_start_matches("mailto:");
                    if shown != href && shown != bare {
                        self.out.push_str(&format!(" <{href}>"));
                    }
                }
            }
            _ => {}
        }
    }

    fn text(&mut self, raw: &str) {
        let decoded = decode(raw);
        let mut last_space = self.out.ends_with([' ', '\n']) || self.out.is_empty();
        for c in decoded.chars() {
            if c.is_whitespace() && c != '\u{a0}' {
                if !last_space {
                    self.out.push(' ');
                }
                last_space = true;
            } else {
                self.out.push(if c == '\u{a0}' { ' ' } else { c });
                last_space = false;
            }
        }
    }
}

/// The text/plain alternative of `clean` (output of [`clean`]): line
/// breaks for blocks, "- " and "1. " for list items, a link's target after
/// its text.
pub fn to_text(clean: &str) -> String {
    let mut t = Text {
        out: String::new(),
        lists: Vec::new(),
        href: None,
    };
    let mut rest = clean;
    while let Some(lt) = rest.find('<') {
        t.text(&rest[..lt]);
        let Some(gt) = rest[lt..].find('>') else {
            break;
        };
        t.tag(&rest[lt + 1..lt + gt]);
        rest = &rest[lt + gt + 1..];
    }
    t.text(rest);
    // Trailing spaces go, except the signature separator's (RFC 3676 §4.3).
    let lines: Vec<&str> = t
        .out
        .lines()
        .map(|l| match l.trim_end() {
            "--" => "-- ",
            trimmed => trimmed,
        })
        .collect();
    let mut text = lines.join("\n");
    while text.contains("\n\n\n") {
        text = text.replace("\n\n\n", "\n\n");
    }
    text.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_editor_allow_list_is_all_that_survives() {
        let out = clean(concat!(
            "<div><b>bold</b> <i>it</i> <u>u</u></div><script>alert(1)</script>",
            "<img src=\"http://trap.test/x\" onerror=\"alert(2)\"><p style=\"color:red\" onclick=\"x()\">p</p>",
            "<a href=\"javascript:alert(3)\">j</a><a href=\"https://example.org/\" target=\"_top\">ok</a>",
            "<a href=\"/api/session\">rel</a><iframe src=\"https://trap.test/\"></iframe><style>p{}</style>",
        ))
        .unwrap();
        for bad in [
            "script",
            "alert",
            "<img",
            "style",
            "onclick",
            "javascript",
            "/api/session",
            "iframe",
            "trap",
            "_top",
        ] {
            assert!(!out.contains(bad), "{bad} survived: {out}");
        }
        assert!(
            out.contains("<b>bold</b>") && out.contains("<i>it</i>"),
            "{out}"
        );
        assert!(
            out.contains("<a href=\"https://example.org/\" rel=\"noopener noreferrer\">ok</a>"),
            "{out}"
        );
    }

    #[test]
    fn html_past_the_limit_is_refused() {
        let big = "x".repeat(MAX_COMPOSE_HTML + 1);
        assert!(clean(&big).is_err());
        assert!(clean(&big[1..]).is_ok());
    }

    #[test]
    fn the_text_part_follows_the_html() {
        let html = clean(concat!(
            "<div>Hello <b>Bob</b> &amp; co,</div><div><br></div>",
            "<ul><li>one</li><li>two &lt;2&gt;</li></ul><ol><li>first</li><li>second</li></ol>",
            "<div>See <a href=\"https://example.org/x?a=1&amp;b=2\">the page</a> or ",
            "<a href=\"https://example.org/\">https://example.org/</a>.</div><p>Bye</p>",
            "<div>-- </div><div>Alice  </div>",
        ))
        .unwrap();
        assert_eq!(
            to_text(&html),
            "Hello Bob & co,\n\n- one\n- two <2>\n1. first\n2. second\nSee the page <https://example.org/x?a=1&b=2> or https://example.org/.\nBye\n-- \nAlice"
        );
    }
}
