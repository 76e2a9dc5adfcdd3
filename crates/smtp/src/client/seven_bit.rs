//! 8-bit mail for a server without 8BITMIME (RFC 6152 §3: the client must
//! convert the message to 7 bits or return it). Each MIME leaf whose body
//! has 8-bit octets is re-encoded — text as quoted-printable, anything else
//! as base64 — and its Content-Transfer-Encoding field rewritten; multipart
//! and message/rfc822 containers are walked (RFC 2046 §5.1.1, §5.2.1) and
//! marked 7bit; everything already 7-bit is kept octet for octet.
//!
//! What cannot be converted is refused, for the queue to bounce (5.6.3):
//! 8-bit header fields (they need SMTPUTF8 or RFC 2047 encoding the sender
//! should have done), and a body that claims base64 or quoted-printable yet
//! has 8-bit octets. A converted message no longer matches a DKIM body hash
//! made before; signers should sign the 7-bit form (RFC 6376 §5.3).

use super::transfer_encode::{base64_lines, quoted_printable};

/// Containers nested deeper than this are not walked (bounds recursion).
pub const MAX_DEPTH: usize = 32;

/// Why a message cannot be made 7-bit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unconvertible {
    #[error("it has 8-bit octets in header fields")]
    EightBitHeader,
    #[error("a part declared {0} has 8-bit octets")]
    BadlyEncoded(String),
    #[error("its MIME structure is nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// The message with every 8-bit body re-encoded; `raw` itself when it is 7-bit.
pub fn to_seven_bit(raw: &[u8]) -> Result<Vec<u8>, Unconvertible> {
    if raw.is_ascii() {
        return Ok(raw.to_vec());
    }
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 3);
    entity(raw, 0, true, &mut out)?;
    Ok(out)
}

/// One entity (a message or a body part): header, blank line, body.
fn entity(raw: &[u8], depth: usize, top: bool, out: &mut Vec<u8>) -> Result<(), Unconvertible> {
    let (header, sep, body) = split(raw);
    if !header.is_ascii() {
        return Err(Unconvertible::EightBitHeader);
    }
    if body.is_ascii() {
        out.extend_from_slice(raw);
        return Ok(());
    }
    if depth >= MAX_DEPTH {
        return Err(Unconvertible::TooDeep);
    }
    let fields = Fields(header);
    let ctype = fields.content_type();
    let cte = fields
        .value("content-transfer-encoding")
        .map(|v| v.trim().to_ascii_lowercase());
    let (new_cte, new_body) = match (ctype.as_str(), fields.boundary()) {
        (t, Some(boundary)) if t.starts_with("multipart/") => (
            "7bit",
            multipart(body, &boundary, depth, out_capacity(body))?,
        ),
        ("message/rfc822", _) => {
            let mut inner = Vec::with_capacity(out_capacity(body));
            entity(body, depth + 1, false, &mut inner)?;
            ("7bit", inner)
        }
        (t, _) => {
            if let Some(cte @ ("base64" | "quoted-printable")) = cte.as_deref() {
                return Err(Unconvertible::BadlyEncoded(cte.to_string()));
            }
            if t.starts_with("text/") {
                ("quoted-printable", quoted_printable(body))
            } else {
                ("base64", base64_lines(body))
            }
        }
    };
    rewrite_header(
        header,
        new_cte,
        top && fields.value("content-type").is_none(),
        body,
        out,
    );
    out.extend_from_slice(sep);
    out.extend_from_slice(&new_body);
    Ok(())
}

fn out_capacity(body: &[u8]) -> usize {
    body.len() + body.len() / 3
}

/// Header (each field with its line end), the blank line, the body.
fn split(raw: &[u8]) -> (&[u8], &[u8], &[u8]) {
    for blank in [&b"\r\n"[..], b"\n"] {
        if raw.starts_with(blank) {
            return (&[], blank, &raw[blank.len()..]);
        }
    }
    let at = |pat: &[u8]| raw.windows(pat.len()).position(|w| w == pat);
    match (at(b"\r\n\r\n"), at(b"\n\n")) {
        (Some(p), q) if q.is_none_or(|q| p < q) => {
            (&raw[..p + 2], &raw[p + 2..p + 4], &raw[p + 4..])
        }
        (_, Some(q)) => (&raw[..q + 1], &raw[q + 1..q + 2], &raw[q + 2..]),
        _ => (raw, &[], &[]),
    }
}

/// The header with its Content-Transfer-Encoding fields replaced by one
/// saying `cte`; on a top-level message without Content-Type, MIME-Version
/// and a Content-Type (UTF-8 when the body is UTF-8) are added (RFC 2045 §4, §5.2).
fn rewrite_header(header: &[u8], cte: &str, add_type: bool, body: &[u8], out: &mut Vec<u8>) {
    let fields = Fields(header);
    for (name, field) in fields.iter() {
        if !name.eq_ignore_ascii_case(b"content-transfer-encoding") {
            out.extend_from_slice(field);
        }
    }
    if add_type {
        if fields.value("mime-version").is_none() {
            out.extend_from_slice(b"MIME-Version: 1.0\r\n");
        }
        if std::str::from_utf8(body).is_ok() {
            out.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\n");
        }
    }
    out.extend_from_slice(format!("Content-Transfer-Encoding: {cte}\r\n").as_bytes());
}

/// A multipart body with each part converted. Delimiter lines, and the
/// line ends before them, are kept; 8-bit octets in the preamble and
/// epilogue, which no reader shows (RFC 2046 §5.1.1), become '?'.
fn multipart(
    body: &[u8],
    boundary: &str,
    depth: usize,
    cap: usize,
) -> Result<Vec<u8>, Unconvertible> {
    let delimiters = delimiter_lines(body, boundary);
    let mut out = Vec::with_capacity(cap);
    let Some(&(first, mut after)) = delimiters.first() else {
        out.extend(body.iter().map(|&b| if b.is_ascii() { b } else { b'?' }));
        return Ok(out);
    };
    out.extend(
        body[..first]
            .iter()
            .map(|&b| if b.is_ascii() { b } else { b'?' }),
    );
    out.extend_from_slice(&body[first..after]);
    for &(start, end) in &delimiters[1..] {
        // The line end before a delimiter belongs to the delimiter (§5.1.1).
        // (A delimiter right after another: an empty part, the line end the previous one's.)
        let part_end = (start - line_end_before(body, start)).max(after);
        entity(&body[after..part_end], depth + 1, false, &mut out)?;
        out.extend_from_slice(&body[part_end..end]);
        after = end;
    }
    let closed = delimiters
        .last()
        .is_some_and(|&(s, e)| is_closing(&body[s..e], boundary));
    if closed {
        out.extend(
            body[after..]
                .iter()
                .map(|&b| if b.is_ascii() { b } else { b'?' }),
        );
    } else {
        // No closing delimiter: what follows the last one is a part, not an epilogue.
        entity(&body[after..], depth + 1, false, &mut out)?;
    }
    Ok(out)
}

fn is_closing(line: &[u8], boundary: &str) -> bool {
    line.trim_ascii_end()
        .strip_prefix(b"--")
        .and_then(|l| l.strip_prefix(boundary.as_bytes()))
        .is_some_and(|rest| rest.starts_with(b"--"))
}

/// (start, end after its line end) of each `--boundary` line, up to and
/// including the closing `--boundary--`.
fn delimiter_lines(body: &[u8], boundary: &str) -> Vec<(usize, usize)> {
    let dash = format!("--{boundary}");
    let mut found = Vec::new();
    let mut at = 0;
    while at < body.len() {
        let end = body[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(body.len(), |p| at + p + 1);
        let line = body[at..end].trim_ascii_end();
        if let Some(rest) = line.strip_prefix(dash.as_bytes()) {
            let closing = rest.starts_with(b"--");
            if closing || rest.trim_ascii().is_empty() {
                found.push((at, end));
                if closing {
                    break;
                }
            }
        }
        at = end;
    }
    found
}

fn line_end_before(body: &[u8], at: usize) -> usize {
    match &body[..at] {
        [.., b'\r', b'\n'] => 2,
        [.., b'\n'] => 1,
        _ => 0,
    }
}

/// A header block's fields, read without copying.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    /// (name, the whole field with its folded lines and line end).
    fn iter(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> {
        let raw = self.0;
        let mut at = 0;
        std::iter::from_fn(move || {
            if at >= raw.len() {
                return None;
            }
            let start = at;
            loop {
                at = raw[at..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(raw.len(), |p| at + p + 1);
                if at >= raw.len() || !matches!(raw[at], b' ' | b'\t') {
                    break;
                }
            }
            let field = &raw[start..at];
            let name = field.split(|&b| b == b':').next().unwrap_or_default();
            Some((name.trim_ascii(), field))
        })
    }

    /// The unfolded value of the first field called `name` (any case).
    fn value(&self, name: &str) -> Option<String> {
        let (_, field) = self
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))?;
        let colon = field.iter().position(|&b| b == b':')?;
        let value: Vec<u8> = field[colon + 1..]
            .iter()
            .copied()
            .filter(|&b| b != b'\r' && b != b'\n')
            .collect();
        Some(String::from_utf8_lossy(&value).trim().to_string())
    }

    /// `type/subtype` in lower case; text/plain when absent (RFC 2045 §5.2).
    fn content_type(&self) -> String {
        let value = self.value("content-type").unwrap_or_default();
        let t = value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if t.contains('/') {
            t
        } else {
            "text/plain".into()
        }
    }

    /// The `boundary` parameter of Content-Type, unquoted.
    fn boundary(&self) -> Option<String> {
        let value = self.value("content-type")?;
        let lower = value.to_ascii_lowercase();
        let at = lower.find("boundary=")? + "boundary=".len();
        let rest = &value[at..];
        let b = match rest.strip_prefix('"') {
            Some(q) => q.split('"').next()?,
            None => rest.split([';', ' ', '\t']).next()?,
        };
        (!b.is_empty()).then(|| b.to_string())
    }
}

#[cfg(test)]
#[path = "seven_bit_tests.rs"]
mod tests;
