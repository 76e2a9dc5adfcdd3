//! Every way the server reads a stored message, run over arbitrary bytes:
//! the structure parse, BODYSTRUCTURE (extended), ENVELOPE, each numbered
//! section with its MIME/HEADER/TEXT specifiers, BINARY decoding, and the
//! SEARCH text extraction. For the fuzz target `fuzz/fuzz_targets/mime_message.rs`
//! and the hostile-input unit tests: it must return for any input, never
//! panic, and never recurse deeper than [`MAX_MIME_DEPTH`] allows.

use super::binary::{Cte, Decoder, CHUNK};
use super::section::{binary_part, body_section, find};
use super::{bodystructure, envelope, parse, Kind, Part, MAX_MIME_DEPTH};
use crate::search::Content;
use imap_codec::imap_types::core::Vec1;
use imap_codec::imap_types::fetch::{Part as PartPath, Section};
use std::num::NonZeroU32;

/// Sections visited per message at most, so a message of a million tiny
/// parts stays a bounded amount of work for one fuzz input.
const MAX_SECTIONS: usize = 10_000;

/// Walks `raw` every way a session does; returns the bytes produced, so
/// nothing is optimised away.
pub fn walk_message(raw: &[u8]) -> usize {
    let root = parse(raw);
    let mut total = depth(&root, 0);
    let _ = bodystructure::body_structure(&root, raw, true);
    let _ = envelope::envelope(&raw[root.header.clone()]);
    let content = Content::parse(raw);
    total += usize::from(content.text_has("x"));
    let mut paths = Vec::new();
    collect_paths(&root, &mut Vec::new(), &mut paths);
    for path in paths {
        total += sections(raw, &root, path);
    }
    total
}

/// The deepest nesting under `part`; asserts the parse bound.
fn depth(part: &Part, at: usize) -> usize {
    assert!(at <= MAX_MIME_DEPTH + 1, "nesting past MAX_MIME_DEPTH");
    match &part.kind {
        Kind::Leaf => at,
        Kind::Multipart(c) => c.iter().map(|p| depth(p, at + 1)).max().unwrap_or(at),
        Kind::Message(inner) => depth(inner, at + 1),
    }
}

/// Part-number paths of every part, depth first, at most `MAX_SECTIONS`.
fn collect_paths(part: &Part, at: &mut Vec<NonZeroU32>, out: &mut Vec<Vec<NonZeroU32>>) {
    let children: Vec<&Part> = match &part.kind {
        Kind::Multipart(c) => c.iter().collect(),
        Kind::Message(inner) => match &inner.kind {
            Kind::Multipart(c) => c.iter().collect(),
            _ => vec![inner.as_ref()],
        },
        Kind::Leaf => Vec::new(),
    };
    for (i, child) in children.into_iter().enumerate() {
        if out.len() >= MAX_SECTIONS {
            return;
        }
        let Some(n) = NonZeroU32::new(i as u32 + 1) else {
            return;
        };
        at.push(n);
        out.push(at.clone());
        if !std::ptr::eq(child, part) {
            collect_paths(child, at, out);
        }
        at.pop();
    }
}

/// BODY[path], BODY[path.MIME], BODY[path.HEADER], BODY[path.TEXT] and
/// BINARY[path] (decoded in chunks as it is sent).
fn sections(raw: &[u8], root: &Part, path: Vec<NonZeroU32>) -> usize {
    let mut n = 0;
    if find(root, &path).is_none() {
        return 0;
    }
    let Ok(p) = Vec1::try_from(path.clone()).map(PartPath) else {
        return 0;
    };
    for section in [
        Section::Part(p.clone()),
        Section::Mime(p.clone()),
        Section::Header(Some(p.clone())),
        Section::Text(Some(p)),
    ] {
        n += body_section(raw, root, Some(&section)).map_or(0, |b| b.len());
    }
    if let Some((content, cte)) = binary_part(raw, root, &path) {
        if let Some(cte) = Cte::parse(cte) {
            let (size, _) = Decoder::measure(cte, content);
            let mut out = Vec::new();
            let mut d = Decoder::new(cte, content);
            while d.read(&mut out, CHUNK) > 0 {
                out.clear();
            }
            n += size as usize;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_nested_and_broken_messages() {
        let nested: String = (0..5_000)
            .map(|i| format!("Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n"))
            .collect();
        let cases: [&[u8]; 6] = [
            b"",
            b"Subject: x\r\n\r\nbody",
            b"Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n--\r\n",
            b"Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\n",
            b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n====",
            nested.as_bytes(),
        ];
        for raw in cases {
            walk_message(raw);
        }
    }
}
