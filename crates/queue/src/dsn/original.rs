//! The returned content (RFC 3464 §2, RFC 3461 §4.3): the whole original as
//! message/rfc822 when RET=FULL asked for it and it fits, else its header block
//! as text/rfc822-headers (RFC 6522 §4). Line ends become CRLF either way.

use std::io::{self, Read};

/// The most of the original's header block returned, in octets.
pub const MAX_HEADER_BLOCK: usize = 64 * 1024;
/// How much is read at a time while looking for the end of the header block.
const CHUNK: usize = 8 * 1024;
/// RFC 5322 §2.1.1, RFC 2045 §2.8: the longest line, CRLF excluded.
const MAX_LINE: usize = 998;

/// What is returned of the original.
pub(super) enum Returned {
    Full(Vec<u8>),
    Headers(Vec<u8>),
}

/// The transfer encoding a content needs (RFC 2045 §2.7–§2.9), mildest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Transport {
    SevenBit,
    EightBit,
    /// NUL or a line over 998 octets: not even 8bit.
    Binary,
}

impl Transport {
    pub(super) fn of(bytes: &[u8]) -> Transport {
        let mut class = Transport::SevenBit;
        for line in bytes.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.len() > MAX_LINE || line.contains(&0) {
                return Transport::Binary;
            }
            if !line.is_ascii() {
                class = Transport::EightBit;
            }
        }
        class
    }

    /// The Content-Transfer-Encoding to declare; none for 7bit (RFC 2045 §6.1).
    pub(super) fn header_value(self) -> Option<&'static str> {
        match self {
            Transport::SevenBit => None,
            Transport::EightBit => Some("8bit"),
            Transport::Binary => Some("binary"),
        }
    }
}

/// Reads what is to be returned: with `full`, at most `limit + 1` octets; else
/// up to the end of the header block, at most `min(limit, MAX_HEADER_BLOCK) + 1`.
pub(super) fn read(original: &mut dyn Read, full: bool, limit: usize) -> io::Result<Returned> {
    let cap = limit.min(MAX_HEADER_BLOCK);
    if !full {
        return read_headers(original, cap).map(Returned::Headers);
    }
    let mut raw = Vec::new();
    Read::take(&mut *original, (limit as u64).saturating_add(1)).read_to_end(&mut raw)?;
    let complete = raw.len() <= limit;
    let whole = to_crlf(&raw);
    // RFC 2046 §5.2.1: message/rfc822 is 7bit, 8bit or binary only; binary
    // cannot cross SMTP without BINARYMIME, so such a message returns its headers.
    if complete && whole.len() <= limit && Transport::of(&whole) != Transport::Binary {
        return Ok(Returned::Full(whole));
    }
    let block = match blank_line(&whole, 0) {
        Some(end) => &whole[..end],
        None if complete => &whole[..],
        None => &whole[..whole.len().min(cap.saturating_add(1))],
    };
    Ok(Returned::Headers(whole_fields(block, cap)))
}

/// The header block, read a chunk at a time until its end, EOF or `cap` + 1 octets.
fn read_headers(original: &mut dyn Read, cap: usize) -> io::Result<Vec<u8>> {
    let mut src = Read::take(&mut *original, (cap as u64).saturating_add(1));
    let mut crlf = Crlf::default();
    let mut chunk = vec![0; CHUNK];
    loop {
        let searched = crlf.out.len().saturating_sub(3);
        let n = match src.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(whole_fields(&crlf.finish(), cap));
        }
        crlf.push(&chunk[..n]);
        if let Some(end) = blank_line(&crlf.out, searched) {
            return Ok(whole_fields(&crlf.out[..end], cap));
        }
    }
}

/// Where the header block of CRLF text ends (after its last CRLF), searching
/// from `from`: at the first empty line (RFC 5322 §2.1).
fn blank_line(text: &[u8], from: usize) -> Option<usize> {
    if text.starts_with(b"\r\n") {
        return Some(0);
    }
    let at = text
        .get(from..)?
        .windows(4)
        .position(|w| w == b"\r\n\r\n")?;
    Some(from + at + 2)
}

/// `block` cut to at most `cap` octets before a field's first line, so no field
/// is returned in part (RFC 5322 §2.2.3: a line starting with WSP continues
/// one), and ending in CRLF.
fn whole_fields(block: &[u8], cap: usize) -> Vec<u8> {
    let starts_field =
        |i: usize| block[i - 1] == b'\n' && !matches!(block.get(i), Some(b' ' | b'\t'));
    let mut end = block.len();
    if end > cap {
        end = cap;
        while end > 0 && !starts_field(end) {
            end -= 1;
        }
    }
    let mut out = block[..end].to_vec();
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// `raw` with every line end — CRLF, bare LF, bare CR — as CRLF.
pub(super) fn to_crlf(raw: &[u8]) -> Vec<u8> {
    let mut crlf = Crlf::default();
    crlf.push(raw);
    crlf.finish()
}

/// A CRLF normaliser fed piece by piece; a CR at the end of a piece waits for
/// the next one to tell whether an LF follows.
#[derive(Default)]
struct Crlf {
    out: Vec<u8>,
    cr: bool,
}

impl Crlf {
    fn push(&mut self, bytes: &[u8]) {
        self.out.reserve(bytes.len());
        for &b in bytes {
            if std::mem::take(&mut self.cr) {
                self.out.extend_from_slice(b"\r\n");
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\r' => self.cr = true,
                b'\n' => self.out.extend_from_slice(b"\r\n"),
                _ => self.out.push(b),
            }
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.cr {
            self.out.extend_from_slice(b"\r\n");
        }
        self.out
    }
}

impl Returned {
    /// The third part — MIME header, blank line, content — and its transport.
    pub(super) fn part(&self) -> (Vec<u8>, Transport) {
        let (mut out, content, transport) = match self {
            Returned::Full(message) => {
                let transport = Transport::of(message);
                let head =
                    "Content-Type: message/rfc822\r\nContent-Description: Original message\r\n";
                (head.to_string(), message.clone(), transport)
            }
            Returned::Headers(block) => headers_part(block),
        };
        if let Some(cte) = transport.header_value() {
            out.push_str(&format!("Content-Transfer-Encoding: {cte}\r\n"));
        }
        out.push_str("\r\n");
        let mut out = out.into_bytes();
        out.extend_from_slice(&content);
        (out, transport)
    }
}

/// text/rfc822-headers (RFC 6522 §4) as is, or quoted-printable when it holds
/// NUL or over-long lines (a text type may be encoded, RFC 2045 §6.1).
fn headers_part(block: &[u8]) -> (String, Vec<u8>, Transport) {
    let head =
        "Content-Type: text/rfc822-headers\r\nContent-Description: Original message headers\r\n";
    match Transport::of(block) {
        Transport::Binary => {
            let head = format!("{head}Content-Transfer-Encoding: quoted-printable\r\n");
            (head, quoted_printable(block), Transport::SevenBit)
        }
        transport => (head.to_string(), block.to_vec(), transport),
    }
}

/// Quoted-printable (RFC 2045 §6.7) of CRLF-ended `text`: lines of at most 76
/// characters, soft-broken with "=" where longer.
pub(super) fn quoted_printable(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 8);
    let body = text.strip_suffix(b"\r\n").unwrap_or(text);
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        qp_line(line.strip_suffix(b"\r").unwrap_or(line), &mut out);
    }
    if text.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// One line: printable ASCII but "=" as itself, white space too unless it ends
/// the line (rule 3), everything else as =XX (rule 1); soft breaks (rule 5).
fn qp_line(line: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut col = 0;
    for (i, &b) in line.iter().enumerate() {
        let last = i + 1 == line.len();
        let literal =
            matches!(b, b'!'..=b'<' | b'>'..=b'~') || (matches!(b, b' ' | b'\t') && !last);
        let width = if literal { 1 } else { 3 };
        // Room for the token and a trailing "=", or, for the last one, the token.
        if col + width + usize::from(!last) > 76 {
            out.extend_from_slice(b"=\r\n");
            col = 0;
        }
        if literal {
            out.push(b);
        } else {
            out.extend_from_slice(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
        col += width;
    }
}
