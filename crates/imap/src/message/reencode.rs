//! Binary content made storable (RFC 3516 §4.4, APPEND with `~{N}`): a
//! message whose parts carry NUL octets cannot be sent back as an ordinary
//! literal, so each such part is re-encoded as base64 (its
//! Content-Transfer-Encoding field rewritten) and everything else is kept
//! octet for octet. BINARY[part] then gives the original octets back.

use super::{parse, Kind, Part};
use base64::Engine;

/// Octets per base64 line (RFC 2045 §6.8: at most 76 characters).
const LINE: usize = 57;

/// `raw` with every part holding NUL re-encoded as base64; None when no part does.
pub fn binary_to_base64(raw: &[u8]) -> Option<Vec<u8>> {
    if !raw.contains(&0) {
        return None;
    }
    let tree = parse(raw);
    let mut out = Vec::with_capacity(raw.len() * 4 / 3 + 256);
    emit(raw, &tree, &mut out);
    Some(out)
}

fn emit(raw: &[u8], part: &Part, out: &mut Vec<u8>) {
    match &part.kind {
        Kind::Leaf if raw[part.body.clone()].contains(&0) => {
            rewrite_header(&raw[part.header.clone()], out);
            encode(&raw[part.body.clone()], out);
        }
        Kind::Leaf => out.extend_from_slice(&raw[part.header.start..part.body.end]),
        Kind::Multipart(children) => {
            let mut at = part.header.start;
            for c in children {
                out.extend_from_slice(&raw[at..c.header.start]);
                emit(raw, c, out);
                at = c.body.end;
            }
            out.extend_from_slice(&raw[at..part.body.end]);
        }
        Kind::Message(inner) => {
            out.extend_from_slice(&raw[part.header.start..inner.header.start]);
            emit(raw, inner, out);
            out.extend_from_slice(&raw[inner.body.end..part.body.end]);
        }
    }
}

/// The header without its Content-Transfer-Encoding field (and that field's
/// continuation lines), with `base64` declared before the blank line.
fn rewrite_header(header: &[u8], out: &mut Vec<u8>) {
    let mut skipping = false;
    let mut lines = header.split_inclusive(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let blank = line == b"\r\n" || line == b"\n";
        if blank && lines.peek().is_none() {
            break;
        }
        let continuation = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if !continuation {
            skipping = is_cte(line);
        }
        if !skipping {
            out.extend_from_slice(line);
        }
    }
    if !out.ends_with(b"\n") && !out.is_empty() {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Content-Transfer-Encoding: base64\r\n\r\n");
}

fn is_cte(line: &[u8]) -> bool {
    const NAME: &[u8] = b"content-transfer-encoding";
    line.len() > NAME.len()
        && line[..NAME.len()].eq_ignore_ascii_case(NAME)
        && line[NAME.len()..]
            .iter()
            .find(|b| **b != b' ' && **b != b'\t')
            == Some(&b':')
}

fn encode(body: &[u8], out: &mut Vec<u8>) {
    let engine = base64::engine::general_purpose::STANDARD;
    for chunk in body.chunks(LINE) {
        out.extend_from_slice(engine.encode(chunk).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::binary::{Cte, Decoder};

    #[test]
    fn nul_parts_become_base64_and_decode_back() {
        let raw = b"From: a@b\r\nContent-Transfer-Encoding:\r\n binary\r\nSubject: x\r\n\r\n\0-\xe4\n\r\n\n";
        let out = binary_to_base64(raw).unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text
            .starts_with("From: a@b\r\nSubject: x\r\nContent-Transfer-Encoding: base64\r\n\r\n"));
        let tree = parse(&out);
        let mut decoded = Vec::new();
        Decoder::new(Cte::Base64, &out[tree.body.clone()]).read(&mut decoded, 1 << 20);
        assert_eq!(decoded, b"\0-\xe4\n\r\n\n");
        assert!(binary_to_base64(b"Subject: clean\r\n\r\nhi\r\n").is_none());
    }

    #[test]
    fn only_the_binary_part_of_a_multipart_changes() {
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\n\r\ntext\r\n--b\r\nContent-Type: application/x\r\n\r\n\0\0\r\n--b--\r\nepi\r\n";
        let out = binary_to_base64(raw).unwrap();
        let want = b"Content-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\n\r\ntext\r\n--b\r\nContent-Type: application/x\r\nContent-Transfer-Encoding: base64\r\n\r\nAAA=\r\n\r\n--b--\r\nepi\r\n";
        assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(want));
    }
}
