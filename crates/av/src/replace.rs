//! Replacing MIME parts by a text warning (issue 17 items 4 and 6:
//! `av.action = "replace"`, `attachment.action = "replace"`). Sans-I/O:
//! message bytes in, message bytes out. Leaves are numbered as in
//! [`crate::ScanReport`] (1-based, document order; an archive is one leaf,
//! so replacing it removes everything inside). The message's own header is
//! kept; a leaf's header and body become a `text/plain` part, so every
//! boundary stays where it was and the MIME structure stays valid
//! (RFC 2046 §5.1.1: the part between two delimiters is replaced whole).
//! Leaf 0, or a message that is itself one leaf, replaces the whole body.

use postern_spam::header;
use postern_spam::mime;
use std::ops::Range;

/// Fields of a message's own header that describe its body: dropped when
/// the body is replaced (RFC 2045 §3, §5, §6; RFC 2183).
const CONTENT_FIELDS: [&str; 4] = [
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
    "content-description",
];

/// One leaf's place in the message bytes.
struct Leaf {
    depth: usize,
    body: Range<usize>,
}

/// The message with each `(leaf, warning)` replaced; leaves that do not
/// exist are ignored. `warning` is plain text (UTF-8).
pub fn replace_parts(raw: &[u8], targets: &[(usize, String)]) -> Vec<u8> {
    let leaves = leaves(raw);
    let whole = |i: usize| i == 0 || leaves.get(i - 1).is_some_and(|l| l.depth == 0);
    if let Some((_, text)) = targets.iter().find(|(i, _)| whole(*i)) {
        return replace_body(raw, text);
    }
    let mut cuts: Vec<(Range<usize>, &str)> = Vec::new();
    let mut floor = 0;
    for (i, leaf) in leaves.iter().enumerate() {
        if let Some((_, text)) = targets.iter().find(|(t, _)| *t == i + 1) {
            let start = header_start(raw, leaf.body.start, floor);
            cuts.push((start..leaf.body.end, text.as_str()));
        }
        floor = leaf.body.end;
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut at = 0;
    for (range, text) in cuts {
        out.extend_from_slice(&raw[at..range.start]);
        out.extend_from_slice(&part(text));
        at = range.end;
    }
    out.extend_from_slice(&raw[at..]);
    out
}

/// Every leaf's depth and body range, in the walk's order.
fn leaves(raw: &[u8]) -> Vec<Leaf> {
    let base = raw.as_ptr() as usize;
    let mut out = Vec::new();
    mime::walk(raw, |p| {
        if let Some(body) = p.body {
            let start = body.as_ptr() as usize - base;
            out.push(Leaf {
                depth: p.depth,
                body: start..start + body.len(),
            });
        }
    });
    out
}

/// Where the header of the part whose body starts at `body` begins: just
/// after the delimiter line above it (a header line never starts with
/// `--`), and never before `floor`, the end of the previous leaf.
fn header_start(raw: &[u8], body: usize, floor: usize) -> usize {
    let mut pos = body;
    while pos > floor {
        let line_start = raw[floor..pos - 1]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(floor, |n| floor + n + 1);
        if raw[line_start..pos].starts_with(b"--") {
            return pos;
        }
        pos = line_start;
    }
    floor
}

/// A text/plain part (header and body) holding `text`.
fn part(text: &str) -> Vec<u8> {
    let mut out = String::from(
        "Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\
         Content-Disposition: inline\r\n\r\n",
    );
    out.push_str(&crlf(text));
    out.into_bytes()
}

/// The message's header without its content fields, then the warning as
/// its only body.
fn replace_body(raw: &[u8], text: &str) -> Vec<u8> {
    let end = header::header_end(raw);
    let head = &raw[..end];
    let mut out = Vec::with_capacity(end + text.len() + 128);
    let mut keep = true;
    let mut mime_version = false;
    for line in head.split_inclusive(|&b| b == b'\n') {
        let blank = line == b"\r\n" || line == b"\n";
        if blank {
            break;
        }
        if !matches!(line.first(), Some(b' ' | b'\t')) {
            let name = field_name(line);
            keep = !CONTENT_FIELDS.contains(&name.as_str());
            mime_version |= name == "mime-version";
        }
        if keep {
            out.extend_from_slice(line);
            if !line.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    if !mime_version {
        out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    }
    out.extend_from_slice(&part(text));
    out.extend_from_slice(b"\r\n");
    out
}

/// The message without its own header fields named `name` (any case),
/// continuation lines included; the body untouched. The SMTP stage removes
/// incoming `X-Postern-Virus-Scan` fields this way: only ours may be seen.
pub fn without_field(raw: &[u8], name: &str) -> Vec<u8> {
    let end = header::header_end(raw);
    let mut out = Vec::with_capacity(raw.len());
    let mut keep = true;
    for line in raw[..end].split_inclusive(|&b| b == b'\n') {
        let blank = line == b"\r\n" || line == b"\n";
        if blank || !matches!(line.first(), Some(b' ' | b'\t')) {
            keep = blank || !field_name(line).eq_ignore_ascii_case(name);
        }
        if keep {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(&raw[end..]);
    out
}

fn field_name(line: &[u8]) -> String {
    let colon = line.iter().position(|&b| b == b':').unwrap_or(0);
    String::from_utf8_lossy(&line[..colon])
        .trim()
        .to_ascii_lowercase()
}

/// Text with every line ending CR LF (RFC 5322 §2.3).
fn crlf(text: &str) -> String {
    text.lines().collect::<Vec<_>>().join("\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIXED: &[u8] = b"From: a@example.org\r\nSubject: hi\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\n\
Content-Type: text/plain\r\n\r\nHello there\r\n--b1\r\n\
Content-Type: application/zip; name=\"x.zip\"\r\nContent-Transfer-Encoding: base64\r\n\
Content-Disposition: attachment; filename=\"x.zip\"\r\n\r\nUEsDBAo=\r\n--b1\r\n\
Content-Type: text/plain\r\n\r\nthird\r\n--b1--\r\nepilogue\r\n";

    fn leaf_texts(raw: &[u8]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        mime::walk(raw, |p| {
            if let Some(b) = p.body {
                out.push((p.content_type.mime, String::from_utf8_lossy(b).into()));
            }
        });
        out
    }

    #[test]
    fn one_attachment_replaced_the_rest_kept() {
        let out = replace_parts(MIXED, &[(2, "Virus found: X in x.zip".into())]);
        let leaves = leaf_texts(&out);
        assert_eq!(leaves.len(), 3);
        assert_eq!(leaves[0], ("text/plain".into(), "Hello there".into()));
        assert_eq!(
            leaves[1],
            ("text/plain".into(), "Virus found: X in x.zip".into())
        );
        assert_eq!(leaves[2], ("text/plain".into(), "third".into()));
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("From: a@example.org\r\nSubject: hi\r\n"));
        assert!(!text.contains("x.zip\"") && !text.contains("UEsDBAo="));
        assert!(text.ends_with("--b1--\r\nepilogue\r\n"));
    }

    #[test]
    fn several_parts_and_missing_ones() {
        let out = replace_parts(
            MIXED,
            &[(1, "one".into()), (3, "three".into()), (9, "x".into())],
        );
        let texts: Vec<String> = leaf_texts(&out).into_iter().map(|l| l.1).collect();
        assert_eq!(texts, ["one", "UEsDBAo=", "three"]);
        assert_eq!(replace_parts(MIXED, &[]), MIXED);
    }

    #[test]
    fn a_single_part_message_keeps_its_header() {
        let raw = b"From: a@example.org\r\nContent-Type: application/octet-stream;\r\n name=x\r\nContent-Transfer-Encoding: base64\r\nSubject: s\r\n\r\nWDVPIVA=\r\n";
        for target in [0, 1] {
            let out = replace_parts(raw, &[(target, "gone\nreally".into())]);
            let text = String::from_utf8(out.clone()).unwrap();
            assert!(text.starts_with("From: a@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n"));
            assert!(!text.contains("name=x") && !text.contains("base64"));
            assert_eq!(
                leaf_texts(&out),
                [("text/plain".into(), "gone\r\nreally\r\n".into())]
            );
        }
    }

    #[test]
    fn a_field_removed_with_its_continuation() {
        let raw = b"A: 1\r\nX-Postern-Virus-Scan: forged\r\n  more\r\nB: 2\r\nx-postern-virus-scan: again\r\n\r\nX-Postern-Virus-Scan: body\r\n";
        assert_eq!(
            without_field(raw, "X-Postern-Virus-Scan"),
            b"A: 1\r\nB: 2\r\n\r\nX-Postern-Virus-Scan: body\r\n"
        );
        assert_eq!(without_field(b"A: 1\r\n\r\nb", "C"), b"A: 1\r\n\r\nb");
    }

    #[test]
    fn a_part_with_no_header() {
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nbare\r\n--b--\r\n";
        let out = replace_parts(raw, &[(1, "w".into())]);
        assert_eq!(leaf_texts(&out), [("text/plain".into(), "w".into())]);
    }

    #[test]
    fn nested_multipart() {
        let raw = b"Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n\
Content-Type: multipart/alternative; boundary=i\r\n\r\n--i\r\nContent-Type: text/plain\r\n\r\nA\r\n\
--i\r\nContent-Type: text/html\r\n\r\n<b>A</b>\r\n--i--\r\n--o\r\n\
Content-Type: application/x-msdownload\r\n\r\nMZ\r\n--o--\r\n";
        let out = replace_parts(raw, &[(3, "blocked".into())]);
        let leaves = leaf_texts(&out);
        assert_eq!(leaves.len(), 3);
        assert_eq!(leaves[1].0, "text/html");
        assert_eq!(leaves[2], ("text/plain".into(), "blocked".into()));
    }
}
