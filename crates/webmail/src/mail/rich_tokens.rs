//! A rich-text draft taken back into the compose editor (issue 20 item 3).
//!
//! The app never writes markup into the page (assets.rs checks it), so a
//! draft's HTML goes to it as data: the HTML reduced by [`super::rich::clean`]
//! to the editor's allow-list, then cut here into open, close and text
//! tokens, which the app turns into elements with createElement and text
//! nodes with textContent. Only names of the allow-list and an `a`'s href
//! (already limited to http, https and mailto by `clean`) come through.

use serde::Serialize;

/// At most this many tokens are sent; a longer draft resumes as plain text.
pub const MAX_TOKENS: usize = 50_000;

/// One piece of the editor's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Token {
    /// "open", "close" or "text".
    pub kind: &'static str,
    /// The element's name (open, close); empty for text.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tag: String,
    /// An `a`'s target; empty otherwise.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub href: String,
    /// The text, entities decoded; empty otherwise.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
}

/// The tokens of `clean` (output of [`super::rich::clean`]), or None when
/// there are more than [`MAX_TOKENS`].
pub fn tokens(clean: &str) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    let mut rest = clean;
    while let Some(lt) = rest.find('<') {
        push_text(&mut out, &rest[..lt]);
        let Some(len) = tag_len(&rest[lt..]) else {
            break;
        };
        push_tag(&mut out, &rest[lt + 1..lt + len - 1]);
        rest = &rest[lt + len..];
        if out.len() > MAX_TOKENS {
            return None;
        }
    }
    push_text(&mut out, rest);
    (out.len() <= MAX_TOKENS).then_some(out)
}

/// The length of the tag at the start of `s` through its `>`, quoted
/// attribute values skipped (a mailto: target may hold a `>`).
fn tag_len(s: &str) -> Option<usize> {
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '>' if !quoted => return Some(i + 1),
            _ => {}
        }
    }
    None
}

fn push_text(out: &mut Vec<Token>, raw: &str) {
    if raw.is_empty() {
        return;
    }
    out.push(Token {
        kind: "text",
        tag: String::new(),
        href: String::new(),
        text: super::rich::decode(raw),
    });
}

fn push_tag(out: &mut Vec<Token>, inside: &str) {
    let closing = inside.starts_with('/');
    let name: String = inside
        .trim_start_matches('/')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    if !super::rich::TAGS.contains(&name.as_str()) {
        return;
    }
    let href = match (name.as_str(), closing) {
        ("a", false) => inside
            .split_once("href=\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(h, _)| super::rich::decode(h))
            .unwrap_or_default(),
        _ => String::new(),
    };
    out.push(Token {
        kind: if closing { "close" } else { "open" },
        tag: name,
        href,
        text: String::new(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::rich::clean;

    fn open(tag: &str) -> Token {
        Token {
            kind: "open",
            tag: tag.into(),
            href: String::new(),
            text: String::new(),
        }
    }

    fn close(tag: &str) -> Token {
        Token {
            kind: "close",
            ..open(tag)
        }
    }

    fn text(t: &str) -> Token {
        Token {
            kind: "text",
            tag: String::new(),
            href: String::new(),
            text: t.into(),
        }
    }

    #[test]
    fn a_draft_comes_back_as_its_elements_and_text() {
        let html = clean(concat!(
            "<div><b>Bold &amp; &lt;brave&gt;</b> then <i>it</i></div>",
            "<ul><li>one</li></ul><a href=\"mailto:a@b.test?subject=x>y\">mail</a><br>",
        ))
        .unwrap();
        let got = tokens(&html).unwrap();
        assert_eq!(
            &got[..7],
            [
                open("div"),
                open("b"),
                text("Bold & <brave>"),
                close("b"),
                text(" then "),
                open("i"),
                text("it"),
            ]
        );
        let a = got
            .iter()
            .find(|t| t.tag == "a" && t.kind == "open")
            .unwrap();
        assert!(a.href.starts_with("mailto:a@b.test"), "{a:?}");
        assert!(
            got.contains(&text("mail")) && got.contains(&open("br")),
            "{got:?}"
        );
    }

    #[test]
    fn nothing_outside_the_allow_list_comes_through() {
        let html = clean("<p onclick=\"x()\">p<script>alert(1)</script><img src=x onerror=y></p>")
            .unwrap();
        let got = tokens(&html).unwrap();
        assert_eq!(got, [open("p"), text("p"), close("p")]);
        // Even if handed markup `clean` never makes, unknown names are dropped.
        let got = tokens("<script>alert(1)</script><svg onload=x>").unwrap();
        assert_eq!(got, [text("alert(1)")]);
    }

    #[test]
    fn too_many_tokens_resume_as_plain_text() {
        let at_limit = "<br>".repeat(MAX_TOKENS);
        assert_eq!(tokens(&at_limit).unwrap().len(), MAX_TOKENS);
        assert_eq!(tokens(&format!("{at_limit}<br>")), None);
    }
}
