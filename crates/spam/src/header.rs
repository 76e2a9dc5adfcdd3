//! Header fields of a message or a MIME part (RFC 5322 §2.2), unfolded, and
//! the Content-Type parameters the tokenizer needs (RFC 2045 §5.1). Tolerant:
//! spam is rarely well formed, and nothing here may fail.

/// Header fields read from one header block; the rest are ignored.
pub const MAX_FIELDS: usize = 256;

/// Where the header ends and the body begins (after the blank line), or the
/// whole input when there is no blank line.
pub fn header_end(raw: &[u8]) -> usize {
    let mut i = 0;
    while i < raw.len() {
        // A blank line at the very start: no header at all.
        if raw[i..].starts_with(b"\r\n") {
            return i + 2;
        }
        if raw[i] == b'\n' {
            return i + 1;
        }
        match raw[i..].iter().position(|&b| b == b'\n') {
            Some(n) => i += n + 1,
            None => return raw.len(),
        }
    }
    raw.len()
}

/// The fields of a header block: (name lowercased, value unfolded and trimmed).
pub fn fields(header: &[u8]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in header.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            // RFC 5322 §2.2.3: a continuation of the previous field.
            if let Some((_, v)) = out.last_mut() {
                v.push(' ');
                v.push_str(String::from_utf8_lossy(line).trim());
            }
            continue;
        }
        if out.len() >= MAX_FIELDS {
            break;
        }
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            let name = String::from_utf8_lossy(&line[..colon])
                .trim()
                .to_ascii_lowercase();
            let value = String::from_utf8_lossy(&line[colon + 1..])
                .trim()
                .to_string();
            out.push((name, value));
        }
    }
    out
}

/// The first value of field `name` (lowercase).
pub fn get<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// A Content-Type: `type/subtype` lowercased, and its parameters.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ContentType {
    pub mime: String,
    pub boundary: Option<String>,
    pub charset: Option<String>,
    pub name: Option<String>,
}

impl ContentType {
    /// RFC 2045 §5.2: absent or unreadable means text/plain.
    pub fn parse(value: Option<&str>) -> ContentType {
        let value = value.unwrap_or("text/plain");
        let mut parts = value.split(';');
        let mime = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mime = if mime.contains('/') {
            mime
        } else {
            "text/plain".into()
        };
        let mut ct = ContentType {
            mime,
            ..ContentType::default()
        };
        for p in parts {
            let Some((k, v)) = p.split_once('=') else {
                continue;
            };
            let v = v.trim().trim_matches('"').to_string();
            match k.trim().to_ascii_lowercase().as_str() {
                "boundary" if !v.is_empty() => ct.boundary = Some(v),
                "charset" => ct.charset = Some(v.to_ascii_lowercase()),
                "name" => ct.name = Some(v),
                _ => {}
            }
        }
        ct
    }

    pub fn is_multipart(&self) -> bool {
        self.mime.starts_with("multipart/") && self.boundary.is_some()
    }

    pub fn is_message(&self) -> bool {
        self.mime == "message/rfc822"
    }
}

/// Decodes RFC 2047 encoded words (`=?charset?B|Q?text?=`) in a field
/// value; anything malformed stays as written.
pub fn decode_words(value: &str) -> String {
    if !value.contains("=?") {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("=?") {
        out.push_str(&rest[..start]);
        match decode_word(&rest[start..]) {
            Some((text, used)) => {
                out.push_str(&text);
                rest = &rest[start + used..];
            }
            None => {
                out.push_str("=?");
                rest = &rest[start + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// One encoded word at the start of `s`: its text and the bytes it spans.
fn decode_word(s: &str) -> Option<(String, usize)> {
    let body = &s[2..];
    let q1 = body.find('?')?;
    let charset = &body[..q1];
    let enc = body.get(q1 + 1..q1 + 2)?;
    if body.get(q1 + 2..q1 + 3)? != "?" {
        return None;
    }
    let text_start = q1 + 3;
    let end = body[text_start..].find("?=")? + text_start;
    let text = &body[text_start..end];
    let bytes = match enc {
        "B" | "b" => mail_parser::decoders::base64::base64_decode(text.as_bytes())?,
        "Q" | "q" => q_decode(text),
        _ => return None,
    };
    Some((to_text(&bytes, Some(charset)), 2 + end + 2))
}

/// RFC 2047 §4.2: quoted-printable where `_` is a space.
fn q_decode(text: &str) -> Vec<u8> {
    let spaced = text.replace('_', " ");
    mail_parser::decoders::quoted_printable::quoted_printable_decode(spaced.as_bytes())
        .unwrap_or_else(|| spaced.into_bytes())
}

/// Bytes in `charset` as text (UTF-8, then lossily, when the charset is unknown).
pub fn to_text(bytes: &[u8], charset: Option<&str>) -> String {
    let charset = charset.unwrap_or("utf-8");
    let charset = charset.split('*').next().unwrap_or(charset);
    if !charset.eq_ignore_ascii_case("utf-8") && !charset.eq_ignore_ascii_case("us-ascii") {
        if let Some(decode) =
            mail_parser::decoders::charsets::map::charset_decoder(charset.as_bytes())
        {
            return decode(bytes);
        }
    }
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_unfold_and_lowercase() {
        let raw = b"Subject: hello\r\n  world\r\nFROM: a@b.c\r\n\r\nbody";
        let end = header_end(raw);
        assert_eq!(&raw[end..], b"body");
        let f = fields(&raw[..end]);
        assert_eq!(get(&f, "subject"), Some("hello world"));
        assert_eq!(get(&f, "from"), Some("a@b.c"));
    }

    #[test]
    fn fields_are_capped() {
        let raw: String = (0..MAX_FIELDS + 10)
            .map(|i| format!("X-{i}: v\n"))
            .collect();
        assert_eq!(fields(raw.as_bytes()).len(), MAX_FIELDS);
    }

    #[test]
    fn content_type_parameters() {
        let ct = ContentType::parse(Some("Multipart/Mixed; boundary=\"b1\"; charset=UTF-8"));
        assert_eq!(ct.mime, "multipart/mixed");
        assert_eq!(ct.boundary.as_deref(), Some("b1"));
        assert!(ct.is_multipart());
        assert_eq!(ContentType::parse(None).mime, "text/plain");
        assert!(!ContentType::parse(Some("multipart/mixed")).is_multipart());
    }

    #[test]
    fn encoded_words() {
        assert_eq!(decode_words("=?utf-8?B?aMOpbGxv?= you"), "héllo you");
        assert_eq!(decode_words("=?iso-8859-1?Q?caf=E9_au?="), "café au");
        assert_eq!(decode_words("=?broken"), "=?broken");
    }
}
