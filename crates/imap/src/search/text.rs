//! What the text keys of SEARCH look at: header values and body text,
//! decoded (RFC 2047 words, transfer encodings, charsets) by mail-parser and
//! lowercased once, so each key is one case-insensitive substring test.

use std::borrow::Cow;

use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::decoders::html::html_to_text;
use mail_parser::{Address, Header, HeaderValue, Message, MessageParser};

use crate::message::binary::{Cte, Decoder, CHUNK};
use crate::message::{Kind, Part};

/// Nested messages (message/rfc822 parts) searched into, at most this deep.
const MAX_NESTING: usize = 4;

/// Separates pieces of text so a needle never matches across two of them
/// (no IMAP string can contain NUL).
const SEP: char = '\0';

/// A message's top-level header fields as the header keys see them,
/// lowercased. Parsed from the header alone, so a search on header keys
/// never reads or decodes a body; kept in the header cache.
#[derive(Debug, Default)]
pub struct Headers {
    /// (field name, value): the value as written (unfolded) and decoded.
    fields: Vec<(String, String)>,
    /// The Date: field's day as written (time and zone disregarded), in days since 1970-01-01.
    sent_day: Option<i64>,
}

impl Headers {
    /// From a message's header block (or the whole message: the body is ignored).
    pub fn parse(header: &[u8]) -> Headers {
        match MessageParser::default().parse_headers(header) {
            Some(msg) => Headers::of(&msg, header),
            None => Headers::default(),
        }
    }

    fn of(msg: &Message<'_>, raw: &[u8]) -> Headers {
        let fields = msg
            .root_part()
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.as_str().to_ascii_lowercase(),
                    header_text(h, raw).to_lowercase(),
                )
            })
            .collect();
        Headers {
            fields,
            sent_day: msg.date().and_then(|d| day(d.year as i64, d.month, d.day)),
        }
    }

    /// A field named `name` (lowercase) whose value contains `needle` (lowercase).
    pub fn header_has(&self, name: &str, needle: &str) -> bool {
        self.fields
            .iter()
            .any(|(n, v)| n == name && v.contains(needle))
    }

    /// Names or values containing `needle` (TEXT's header half).
    fn any_has(&self, needle: &str) -> bool {
        self.fields
            .iter()
            .any(|(n, v)| n.contains(needle) || v.contains(needle))
    }

    pub fn sent_day(&self) -> Option<i64> {
        self.sent_day
    }

    /// Roughly the memory this takes, for the cache's budget.
    pub fn weight(&self) -> usize {
        self.fields
            .iter()
            .map(|(n, v)| n.len() + v.len() + 48)
            .sum::<usize>()
            + 64
    }
}

/// One message's searchable text, lowercased: its header fields and body.
#[derive(Debug, Default)]
pub struct Content {
    pub head: Headers,
    body: String,
}

impl Content {
    /// Walks the message's MIME structure as [`crate::message::parse`] bounds
    /// it (depth at most `MAX_MIME_DEPTH`, no recursion beyond), decoding
    /// only text leaves. mail-parser's whole-message parse is never used
    /// here: it nests message/rfc822 parts without limit, and dropping a tree
    /// 40,000 levels deep overflowed the stack (issue 13).
    pub fn parse(raw: &[u8]) -> Content {
        let tree = crate::message::parse(raw);
        let mut body = String::new();
        body_text(raw, &tree, &mut body, 0);
        Content {
            head: Headers::parse(raw),
            body: body.to_lowercase(),
        }
    }

    pub fn body_has(&self, needle: &str) -> bool {
        self.body.contains(needle)
    }

    /// RFC 3501 §6.4.4 TEXT: the header (names and values) or the body.
    pub fn text_has(&self, needle: &str) -> bool {
        self.head.any_has(needle) || self.body_has(needle)
    }
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian); `None` when
/// the month or day is out of range.
pub fn day(year: i64, month: u8, day: u8) -> Option<i64> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let (m, d) = (month as i64, day as i64);
    let y = if m <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// A header's value as written, unfolded, then its decoded form when that differs.
fn header_text(h: &Header<'_>, raw: &[u8]) -> String {
    let written = raw
        .get(h.offset_start as usize..h.offset_end as usize)
        .unwrap_or_default();
    let mut out: String = String::from_utf8_lossy(written)
        .chars()
        .filter(|&c| c != '\r' && c != '\n')
        .collect::<String>()
        .trim()
        .to_string();
    let decoded = value_text(&h.value);
    if !decoded.is_empty() && decoded != out {
        out.push(SEP);
        out.push_str(&decoded);
    }
    out
}

fn value_text(v: &HeaderValue<'_>) -> String {
    match v {
        HeaderValue::Text(t) => t.to_string(),
        HeaderValue::TextList(l) => l.join(", "),
        HeaderValue::Address(a) => address_text(a),
        _ => String::new(),
    }
}

/// `Name <addr>, …` (groups as `Group: members`).
fn address_text(a: &Address<'_>) -> String {
    let one = |name: Option<&str>, addr: Option<&str>| match (name, addr) {
        (Some(n), Some(a)) => format!("{n} <{a}>"),
        (Some(n), None) => n.to_string(),
        (None, Some(a)) => a.to_string(),
        (None, None) => String::new(),
    };
    match a {
        Address::List(list) => list
            .iter()
            .map(|x| one(x.name.as_deref(), x.address.as_deref()))
            .collect::<Vec<_>>()
            .join(", "),
        Address::Group(groups) => groups
            .iter()
            .map(|g| {
                let members = g
                    .addresses
                    .iter()
                    .map(|x| one(x.name.as_deref(), x.address.as_deref()))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("{}: {members}", g.name.as_deref().unwrap_or_default())
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The decoded text of every text part (HTML as text), nested messages
/// included (their header values too, as they are part of this body) down
/// to `MAX_NESTING`. The tree is at most `MAX_MIME_DEPTH` deep, so the
/// recursion is bounded; containers past that depth are opaque leaves.
fn body_text(raw: &[u8], part: &Part, out: &mut String, nesting: usize) {
    match &part.kind {
        Kind::Leaf => leaf_text(raw, part, out),
        Kind::Multipart(children) => {
            for child in children {
                body_text(raw, child, out, nesting);
            }
        }
        Kind::Message(inner) if nesting < MAX_NESTING => {
            if let Some(msg) = MessageParser::default().parse_headers(&raw[inner.header.clone()]) {
                for h in &msg.root_part().headers {
                    out.push_str(h.name.as_str());
                    out.push_str(": ");
                    out.push_str(&value_text(&h.value));
                    out.push(SEP);
                }
            }
            body_text(raw, inner, out, nesting + 1);
        }
        Kind::Message(_) => {}
    }
}

/// A text leaf's content with its transfer encoding undone and its charset
/// decoded (unknown charsets as UTF-8, lossily); other leaves add nothing.
fn leaf_text(raw: &[u8], part: &Part, out: &mut String) {
    if !part.mime.is_text() {
        return;
    }
    let content = &raw[part.body.clone()];
    let bytes = match Cte::parse(&part.mime.encoding).unwrap_or(Cte::Identity) {
        Cte::Identity => Cow::Borrowed(content),
        cte => {
            let mut decoded = Vec::new();
            let mut d = Decoder::new(cte, content);
            while d.read(&mut decoded, CHUNK) > 0 {}
            Cow::Owned(decoded)
        }
    };
    let text = match part
        .mime
        .param("CHARSET")
        .and_then(|c| charset_decoder(c.as_bytes()))
    {
        Some(decode) => decode(&bytes),
        None => String::from_utf8_lossy(&bytes).into_owned(),
    };
    if part.mime.subtype.eq_ignore_ascii_case("HTML") {
        out.push_str(&html_to_text(&text));
    } else {
        out.push_str(&text);
    }
    out.push(SEP);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_messages_are_searched_to_a_limit() {
        let nested = |depth: usize| {
            let mut m = "Subject: inner\r\n\r\ndeepword\r\n".to_string();
            for i in 0..depth {
                m = format!(
                    "Subject: level {i}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\nContent-Type: text/plain\r\n\r\nouter\r\n--b{i}\r\nContent-Type: message/rfc822\r\n\r\n{m}\r\n--b{i}--\r\n"
                );
            }
            Content::parse(m.as_bytes())
        };
        assert!(nested(1).body_has("deepword"));
        assert!(nested(1).body_has("subject: inner"));
        assert!(nested(MAX_NESTING).body_has("deepword"));
        assert!(!nested(MAX_NESTING + 1).body_has("deepword"));
        assert!(nested(MAX_NESTING + 1).body_has("outer"));
    }

    /// Issue 13: 40,000 nested message/rfc822 parts (1.9 MB on port 25)
    /// overflowed the stack when SEARCH TEXT parsed and dropped them. Run on a
    /// thread with a small stack so that any recursion over the nesting fails.
    #[test]
    fn hostile_nesting_is_bounded() {
        let depth = 40_000;
        let mut m = String::new();
        for i in 0..depth {
            m.push_str(&format!(
                "Subject: level {i}\r\nContent-Type: message/rfc822\r\n\r\n"
            ));
        }
        m.push_str("Subject: bottom\r\n\r\nbottomword\r\n");
        let outer = format!(
            "Subject: top\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\ntopword\r\n--x\r\nContent-Type: message/rfc822\r\n\r\n{m}\r\n--x--\r\n"
        );
        let found = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                let c = Content::parse(outer.as_bytes());
                (
                    c.body_has("topword"),
                    c.body_has("bottomword"),
                    c.head.header_has("subject", "top"),
                )
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(
            found,
            (true, false, true),
            "searchable to the bound, opaque beyond"
        );
    }

    #[test]
    fn encoded_and_charset_text_parts() {
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\n\
Content-Transfer-Encoding: base64\r\n\r\n\
U2No9m5lbiBUYWc=\r\n\
--b\r\n\
Content-Type: application/octet-stream\r\n\r\n\
binaryword\r\n\
--b\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\n\r\n\
gr\xfc\xdfe\r\n\
--b--\r\n";
        let c = Content::parse(raw);
        assert!(
            c.body_has("schönen tag"),
            "base64 in a charset: {:?}",
            c.body
        );
        assert!(c.body_has("grüße"), "8-bit latin-1");
        assert!(
            !c.body_has("binaryword"),
            "non-text parts are not body text"
        );
    }

    #[test]
    fn civil_days() {
        assert_eq!(day(1970, 1, 1), Some(0));
        assert_eq!(day(2000, 3, 1), Some(11_017));
        assert_eq!(day(2024, 2, 29), Some(19_782));
        assert_eq!(day(1969, 12, 31), Some(-1));
        assert_eq!(day(2024, 13, 1), None);
    }

    #[test]
    fn decoded_headers_and_bodies() {
        let raw = b"From: =?utf-8?q?J=C3=BCrgen?= <jurgen@example.org>\r\n\
Subject: =?utf-8?b?R3LDvMOfZQ==?=\r\n\x20continued\r\n\
Date: Tue, 5 Mar 2024 23:30:00 -0800\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=b\r\n\
\r\n\
--b\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
Caf=C3=A9 au lait\r\n\
--b\r\n\
Content-Type: text/html\r\n\
\r\n\
<p>Hello <b>World</b></p>\r\n\
--b--\r\n";
        let c = Content::parse(raw);
        assert!(c.head.header_has("from", "jürgen"));
        assert!(c.head.header_has("from", "jurgen@example.org"));
        assert!(c.head.header_has("subject", "grüße"));
        assert!(c.head.header_has("subject", "continued"));
        assert!(!c.head.header_has("to", ""));
        assert!(c.body_has("café au lait"));
        assert!(c.body_has("hello world"));
        assert!(!c.body_has("caf=c3"), "transfer encoding is undone");
        assert!(c.text_has("mime-version") && c.text_has("au lait"));
        assert_eq!(c.head.sent_day(), day(2024, 3, 5), "the date as written");
    }
}
