//! Header fields of one header block, split by mail-parser, and the MIME
//! fields of a part (RFC 2045, RFC 2183 disposition, RFC 3066 language,
//! RFC 2557 location) as BODYSTRUCTURE reports them.

use mail_parser::parsers::MessageStream;
use mail_parser::{ContentType, Header, HeaderName, HeaderValue, MessageParser};
use std::sync::LazyLock;

/// Parses the structured MIME fields; every other field is kept raw (no
/// RFC 2047 decoding: IMAP reports header values as they are written).
static PARSER: LazyLock<MessageParser> = LazyLock::new(|| {
    MessageParser::new()
        .header_content_type(HeaderName::ContentType)
        .header_content_type(HeaderName::ContentDisposition)
        .header_comma_separated(HeaderName::ContentLanguage)
});

/// The fields of a header block, in order.
pub struct Fields<'h> {
    raw: &'h [u8],
    headers: Vec<Header<'h>>,
}

impl<'h> Fields<'h> {
    pub fn parse(raw: &'h [u8]) -> Fields<'h> {
        let mut headers = Vec::new();
        MessageStream::new(raw).parse_headers(&PARSER, &mut headers);
        Fields { raw, headers }
    }

    /// The first field with this name (RFC 5322 allows one of most).
    pub fn first(&self, name: &str) -> Option<&Header<'h>> {
        self.headers
            .iter()
            .find(|h| h.name.as_str().eq_ignore_ascii_case(name))
    }

    /// The value of the first field with this name as written: unfolded,
    /// trimmed, encoded words left as they are.
    pub fn raw(&self, name: &str) -> Option<Vec<u8>> {
        let h = self.first(name)?;
        let value = self
            .raw
            .get(h.offset_start as usize..h.offset_end as usize)
            .unwrap_or_default();
        Some(unfold(value))
    }

    fn value(&self, name: &str) -> Option<&HeaderValue<'h>> {
        self.first(name).map(|h| &h.value)
    }
}

/// RFC 5322 §2.2.3: removes the line breaks of a folded value (keeping the
/// white space after them) and the white space around it; drops NULs,
/// which no IMAP string may carry.
pub fn unfold(value: &[u8]) -> Vec<u8> {
    let kept: Vec<u8> = value
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n' && b != 0)
        .collect();
    kept.trim_ascii().to_vec()
}

/// The MIME description of a part. Types, subtypes, encodings and
/// parameter names are upper-cased, as in RFC 3501's examples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mime {
    pub ctype: String,
    pub subtype: String,
    pub params: Vec<(String, String)>,
    pub id: Option<Vec<u8>>,
    pub description: Option<Vec<u8>>,
    pub encoding: String,
    pub disposition: Option<(String, Vec<(String, String)>)>,
    pub language: Vec<String>,
    pub location: Option<Vec<u8>>,
}

impl Mime {
    /// The MIME fields of a part's header. A missing or invalid
    /// Content-Type means text/plain; charset=us-ascii (RFC 2045 §5.2), or
    /// message/rfc822 inside a multipart/digest (RFC 2046 §5.1.5).
    pub fn parse(header: &[u8], in_digest: bool) -> Mime {
        let f = Fields::parse(header);
        let encoding = f
            .raw("Content-Transfer-Encoding")
            .and_then(|v| first_token(&v))
            .unwrap_or_else(|| "7BIT".into());
        let mut mime = Mime {
            ctype: String::new(),
            subtype: String::new(),
            params: Vec::new(),
            id: f.raw("Content-ID"),
            description: f.raw("Content-Description"),
            encoding,
            disposition: f
                .value("Content-Disposition")
                .and_then(HeaderValue::as_content_type)
                .map(|d| (d.ctype().to_ascii_uppercase(), params(d))),
            language: language(f.value("Content-Language")),
            location: f.raw("Content-Location").map(|mut v| {
                // RFC 2557 §4.4.1: a folded URI is read without its white space.
                v.retain(|b| !b.is_ascii_whitespace());
                v
            }),
        };
        let ct = f
            .value("Content-Type")
            .and_then(HeaderValue::as_content_type);
        match ct.and_then(|c| Some((c, c.subtype()?))) {
            Some((c, sub)) if !c.ctype().is_empty() && !sub.is_empty() => {
                mime.ctype = c.ctype().to_ascii_uppercase();
                mime.subtype = sub.to_ascii_uppercase();
                mime.params = params(c);
            }
            _ if in_digest => {
                mime.ctype = "MESSAGE".into();
                mime.subtype = "RFC822".into();
            }
            _ => mime.make_plain_text(),
        }
        if mime.is_rfc822() && !mime.identity_encoding() {
            // RFC 2046 §5.2.1 allows only 7bit, 8bit or binary here; an
            // encoded message cannot be described without decoding it.
            mime.make_opaque();
        }
        mime
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_multipart(&self) -> bool {
        self.ctype == "MULTIPART"
    }

    fn is_rfc822(&self) -> bool {
        self.ctype == "MESSAGE" && self.subtype == "RFC822"
    }

    /// message/rfc822 with a readable body: its message is parsed.
    pub fn is_message(&self) -> bool {
        self.is_rfc822() && self.identity_encoding()
    }

    pub fn is_text(&self) -> bool {
        self.ctype == "TEXT"
    }

    /// 7bit, 8bit and binary: the content is as it is written.
    pub fn identity_encoding(&self) -> bool {
        matches!(self.encoding.as_str(), "7BIT" | "8BIT" | "BINARY")
    }

    /// The RFC 2045 §5.2 default.
    pub fn make_plain_text(&mut self) {
        self.ctype = "TEXT".into();
        self.subtype = "PLAIN".into();
        self.params = vec![("CHARSET".into(), "us-ascii".into())];
    }

    /// A part described without looking inside it.
    pub fn make_opaque(&mut self) {
        self.ctype = "APPLICATION".into();
        self.subtype = "OCTET-STREAM".into();
        self.params.clear();
    }
}

/// The transfer encoding token, upper-cased (a comment after it is ignored).
fn first_token(value: &[u8]) -> Option<String> {
    let token: Vec<u8> = value
        .iter()
        .copied()
        .take_while(|&b| !b.is_ascii_whitespace() && b != b'(' && b != b';')
        .collect();
    (!token.is_empty()).then(|| String::from_utf8_lossy(&token).to_ascii_uppercase())
}

/// Parameters with RFC 2231 continuations joined and values decoded by mail-parser.
fn params(c: &ContentType<'_>) -> Vec<(String, String)> {
    c.attributes()
        .unwrap_or_default()
        .iter()
        .map(|a| (a.name.to_ascii_uppercase(), a.value.to_string()))
        .collect()
}

fn language(v: Option<&HeaderValue<'_>>) -> Vec<String> {
    match v {
        Some(HeaderValue::Text(t)) => vec![t.to_string()],
        Some(HeaderValue::TextList(l)) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

/// A header value as an IMAP string: quoted when it can be, a literal when
/// it holds 8-bit octets or is long (imap-codec chooses). NULs, which no
/// IMAP string may carry, are dropped.
pub fn istring(mut bytes: Vec<u8>) -> imap_codec::imap_types::core::IString<'static> {
    use imap_codec::imap_types::core::{IString, Literal};
    bytes.retain(|&b| b != 0);
    // Without NULs every octet string is valid; the fallback is unreachable.
    IString::try_from(bytes).unwrap_or_else(|_| IString::Literal(Literal::unvalidated(Vec::new())))
}

/// [`istring`], or NIL for an absent value.
pub fn nstring(v: Option<Vec<u8>>) -> imap_codec::imap_types::core::NString<'static> {
    imap_codec::imap_types::core::NString(v.map(istring))
}
