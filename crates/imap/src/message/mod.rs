//! A stored message seen as IMAP sees it (RFC 3501 §6.4.5, §7.4.2): a tree
//! of MIME parts located by byte offsets in the raw message, with each
//! part's MIME header fields parsed. Nothing is decoded or copied: a body
//! section is a slice of the message, a BINARY section is decoded as it is
//! sent (see [`binary`]).
//!
//! Header fields are split and parsed by mail-parser (its `MessageStream`,
//! with Content-Type, Content-Disposition and RFC 2231 parameters); the
//! boundaries are found here, so that each part's extent is exact, nesting
//! is bounded by [`MAX_MIME_DEPTH`] and bodies are never decoded just to
//! describe them.

pub mod binary;
pub mod bodystructure;
pub mod encoded_words;
pub mod envelope;
mod fields;
pub mod nul;
pub mod reencode;
pub mod section;
#[cfg(test)]
mod tests;
mod walk;

use std::ops::Range;

pub use fields::Mime;
pub use walk::walk_message;

/// Containers (multipart or message/rfc822 parts) nested deeper than this
/// are not parsed: such a part is described as an opaque
/// application/octet-stream, its content still fetchable as one section.
/// It bounds recursion (and so the stack) on hostile input.
pub const MAX_MIME_DEPTH: usize = 32;

/// One MIME part, or a whole (possibly encapsulated) message.
#[derive(Debug)]
pub struct Part {
    /// The header fields and the blank line ending them (the MIME header of
    /// a part; the RFC 5322 header of a message).
    pub header: Range<usize>,
    /// The content after the blank line; for a multipart part it includes
    /// the preamble, the boundaries and the epilogue.
    pub body: Range<usize>,
    pub mime: Mime,
    pub kind: Kind,
}

#[derive(Debug)]
pub enum Kind {
    /// A single part (or a container treated as opaque).
    Leaf,
    /// multipart/*: the parts between the boundaries, in order.
    Multipart(Vec<Part>),
    /// message/rfc822: the encapsulated message (its header and body lie
    /// within this part's body).
    Message(Box<Part>),
}

/// Parses the structure of a whole message.
pub fn parse(raw: &[u8]) -> Part {
    parse_part(raw, 0..raw.len(), false, 0)
}

/// The part occupying `range` of `raw`. `in_digest`: the parent is a
/// multipart/digest, whose parts default to message/rfc822 (RFC 2046 §5.1.5).
fn parse_part(raw: &[u8], range: Range<usize>, in_digest: bool, depth: usize) -> Part {
    let split = range.start + header_end(&raw[range.clone()]);
    let header = range.start..split;
    let body = split..range.end;
    let mut mime = Mime::parse(&raw[header.clone()], in_digest);
    let container = mime.is_multipart() || mime.is_message();
    if container && depth >= MAX_MIME_DEPTH {
        mime.make_opaque();
        return Part {
            header,
            body,
            mime,
            kind: Kind::Leaf,
        };
    }
    let kind = if mime.is_multipart() {
        let digest = mime.subtype.eq_ignore_ascii_case("DIGEST");
        let ranges = mime
            .param("BOUNDARY")
            .map(|b| split_multipart(&raw[body.clone()], b.as_bytes()))
            .unwrap_or_default();
        if ranges.is_empty() {
            // No boundary, or never found: RFC 2045 §5.2, treat as plain text.
            mime.make_plain_text();
            Kind::Leaf
        } else {
            let children = ranges
                .into_iter()
                .map(|r| {
                    parse_part(
                        raw,
                        body.start + r.start..body.start + r.end,
                        digest,
                        depth + 1,
                    )
                })
                .collect();
            Kind::Multipart(children)
        }
    } else if mime.is_message() {
        let inner = parse_part(raw, body.clone(), false, depth + 1);
        Kind::Message(Box::new(inner))
    } else {
        Kind::Leaf
    };
    Part {
        header,
        body,
        mime,
        kind,
    }
}

/// Where the header of `buf` ends: just after the first empty line, or at
/// the end when there is none (a message with no body and no blank line).
pub fn header_end(buf: &[u8]) -> usize {
    let mut at = 0;
    while at < buf.len() {
        if buf[at..].starts_with(b"\r\n") {
            return at + 2;
        }
        if buf[at] == b'\n' {
            return at + 1;
        }
        match buf[at..].iter().position(|&b| b == b'\n') {
            Some(i) => at += i + 1,
            None => return buf.len(),
        }
    }
    buf.len()
}

/// The parts of a multipart body, as ranges of `body` (RFC 2046 §5.1.1):
/// each runs from after a boundary line to before the line break that
/// precedes the next one. Preamble and epilogue are left out. A missing
/// close delimiter ends the last part at the end of the body.
fn split_multipart(body: &[u8], boundary: &[u8]) -> Vec<Range<usize>> {
    let mut parts = Vec::new();
    let mut open: Option<usize> = None;
    let mut at = 0;
    while at < body.len() {
        let eol = body[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| at + i + 1);
        let next = eol.unwrap_or(body.len());
        if let Some(close) = delimiter(&body[at..next], boundary) {
            if let Some(start) = open.take() {
                parts.push(start..line_break_before(body, at).max(start));
            }
            if close {
                return parts;
            }
            open = Some(next);
        }
        at = next;
    }
    if let Some(start) = open {
        parts.push(start..body.len());
    }
    parts
}

/// Whether `line` is a boundary delimiter line: `Some(true)` for the close
/// delimiter. Only transport padding (spaces, tabs) may follow the boundary.
fn delimiter(line: &[u8], boundary: &[u8]) -> Option<bool> {
    let rest = line.strip_prefix(b"--")?.strip_prefix(boundary)?;
    let (close, rest) = match rest.strip_prefix(b"--") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    rest.iter()
        .all(|&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .then_some(close)
}

/// The offset of the CR LF (or LF) ending just before `at`: it belongs to
/// the boundary that follows, not to the part before it.
fn line_break_before(buf: &[u8], at: usize) -> usize {
    if at >= 2 && &buf[at - 2..at] == b"\r\n" {
        at - 2
    } else if at >= 1 && buf[at - 1] == b'\n' {
        at - 1
    } else {
        at
    }
}

/// The number of lines of a text (RFC 3501 body-fld-lines): line breaks,
/// plus one for a last line without one.
pub fn count_lines(text: &[u8]) -> u32 {
    let breaks = text.iter().filter(|&&b| b == b'\n').count();
    let partial = usize::from(!text.is_empty() && !text.ends_with(b"\n"));
    u32::try_from(breaks + partial).unwrap_or(u32::MAX)
}
