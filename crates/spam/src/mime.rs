//! A bounded walk over a message's MIME tree (RFC 2046 §5.1, §5.2.1),
//! iterative: an explicit stack, containers deeper than [`MAX_MIME_DEPTH`]
//! seen as one opaque part and at most [`MAX_PARTS`] parts visited, so no
//! nesting (issue 13: 40,000 levels of message/rfc822) or part count can
//! exhaust the stack or the time of a check.

use crate::header::{self, ContentType};
use std::ops::Range;

/// Containers nested deeper than this are opaque (as IMAP's MAX_MIME_DEPTH).
pub const MAX_MIME_DEPTH: usize = 32;
/// Parts (containers and leaves) visited in one message; the rest are skipped.
pub const MAX_PARTS: usize = 512;

/// One part of the tree as the walk meets it.
pub struct Part<'a> {
    /// 0 for the message itself.
    pub depth: usize,
    pub fields: Vec<(String, String)>,
    pub content_type: ContentType,
    /// The content after the header; `None` for a container walked into.
    pub body: Option<&'a [u8]>,
}

impl Part<'_> {
    /// Content-Transfer-Encoding, lowercased (RFC 2045 §6.1; default 7bit).
    pub fn encoding(&self) -> String {
        header::get(&self.fields, "content-transfer-encoding")
            .unwrap_or("7bit")
            .trim()
            .to_ascii_lowercase()
    }
}

/// Calls `visit` for each part, in document order, containers before their
/// children; returns how many parts were visited.
pub fn walk<'a>(raw: &'a [u8], mut visit: impl FnMut(Part<'a>)) -> usize {
    let mut stack: Vec<(Range<usize>, usize)> = vec![(0..raw.len(), 0)];
    let mut seen = 0;
    while let Some((range, depth)) = stack.pop() {
        if seen >= MAX_PARTS {
            break;
        }
        seen += 1;
        let slice = &raw[range.clone()];
        let split = header::header_end(slice);
        let fields = header::fields(&slice[..split]);
        let content_type = ContentType::parse(header::get(&fields, "content-type"));
        let body = range.start + split..range.end;
        let open = depth < MAX_MIME_DEPTH;
        let children: Vec<Range<usize>> = match (&content_type.boundary, open) {
            (Some(b), true) if content_type.is_multipart() => split_parts(&raw[body.clone()], b)
                .into_iter()
                .map(|r| body.start + r.start..body.start + r.end)
                .collect(),
            // RFC 2046 §5.2.1 allows message/rfc822 only unencoded; an
            // encoded one (it happens) is a leaf for the reader to decode.
            _ if open && content_type.is_message() && !encoded(&fields) => vec![body.clone()],
            _ => Vec::new(),
        };
        let container = !children.is_empty();
        visit(Part {
            depth,
            fields,
            content_type,
            body: (!container).then(|| &raw[body]),
        });
        stack.extend(children.into_iter().rev().map(|r| (r, depth + 1)));
    }
    seen
}

/// Whether a part's Content-Transfer-Encoding is base64 or quoted-printable.
fn encoded(fields: &[(String, String)]) -> bool {
    header::get(fields, "content-transfer-encoding").is_some_and(|v| {
        let v = v.trim();
        v.eq_ignore_ascii_case("base64") || v.eq_ignore_ascii_case("quoted-printable")
    })
}

/// The parts between the `--boundary` delimiter lines of a multipart body
/// (RFC 2046 §5.1.1); the preamble and epilogue are dropped.
fn split_parts(body: &[u8], boundary: &str) -> Vec<Range<usize>> {
    let delim = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut current: Option<usize> = None;
    let mut i = 0;
    while i < body.len() && parts.len() < MAX_PARTS {
        let end = body[i..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(body.len(), |n| i + n);
        let line = &body[i..end];
        if line.starts_with(delim.as_bytes()) {
            if let Some(start) = current {
                // The CRLF before the delimiter belongs to it (§5.1.1).
                parts.push(start..trim_eol(body, start, i));
            }
            if line[delim.len()..].starts_with(b"--") {
                return parts;
            }
            current = Some((end + 1).min(body.len()));
        }
        i = end + 1;
    }
    if let Some(start) = current {
        parts.push(start..body.len());
    }
    parts
}

fn trim_eol(body: &[u8], start: usize, mut end: usize) -> usize {
    if end > start && body[end - 1] == b'\n' {
        end -= 1;
    }
    if end > start && body[end - 1] == b'\r' {
        end -= 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(raw: &[u8]) -> Vec<(usize, String, Vec<u8>)> {
        let mut out = Vec::new();
        walk(raw, |p| {
            if let Some(b) = p.body {
                out.push((p.depth, p.content_type.mime.clone(), b.to_vec()));
            }
        });
        out
    }

    #[test]
    fn multipart_alternative() {
        let raw = b"Content-Type: multipart/alternative; boundary=x\r\n\r\npre\r\n--x\r\nContent-Type: text/plain\r\n\r\nhello\r\n--x\r\nContent-Type: text/html\r\n\r\n<b>hi</b>\r\n--x--\r\nepilogue";
        let got = leaves(raw);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], (1, "text/plain".into(), b"hello".to_vec()));
        assert_eq!(got[1], (1, "text/html".into(), b"<b>hi</b>".to_vec()));
    }

    fn nested_messages(levels: usize) -> Vec<u8> {
        let mut raw = Vec::new();
        for _ in 0..levels {
            raw.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
        }
        raw.extend_from_slice(b"Subject: inner\r\n\r\ninnermost");
        raw
    }

    #[test]
    fn nesting_is_bounded_without_recursion() {
        // issue 13: 40,000 levels overflowed mail-parser's stack.
        let raw = nested_messages(40_000);
        let got = leaves(&raw);
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].0, MAX_MIME_DEPTH,
            "the opaque part sits at the bound"
        );
        let shallow = leaves(&nested_messages(MAX_MIME_DEPTH - 1));
        assert_eq!(shallow[0].2, b"innermost", "just under the bound is walked");
    }

    #[test]
    fn encoded_message_part_is_a_leaf() {
        let raw = b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogaQ0KDQpoaQ==\r\n--x--\r\n";
        let got = leaves(raw);
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0],
            (
                1,
                "message/rfc822".into(),
                b"U3ViamVjdDogaQ0KDQpoaQ==".to_vec()
            )
        );
    }

    #[test]
    fn parts_are_capped() {
        let mut raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
        for _ in 0..MAX_PARTS * 4 {
            raw.extend_from_slice(b"--b\r\n\r\nx\r\n");
        }
        assert_eq!(walk(&raw, |_| {}), MAX_PARTS);
    }
}
