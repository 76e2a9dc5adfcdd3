//! What a rule reads from a message: the instances of a header field
//! (unfolded, RFC 2047-decoded) or the decoded text of the body, each cut to
//! [`MAX_TARGET_BYTES`] in all. The header block is read once per message,
//! the body only when a rule asks for it.

use super::MAX_TARGET_BYTES;
use crate::header;
use crate::mime;
use std::cell::OnceCell;

/// One message as the rules see it.
pub(super) struct Message<'a> {
    raw: &'a [u8],
    fields: Vec<(String, String)>,
    body: OnceCell<Option<Vec<String>>>,
    /// The body lowercased, once for every `contains` and `equals` rule.
    folded: OnceCell<Option<Vec<String>>>,
}

impl<'a> Message<'a> {
    pub fn new(raw: &'a [u8]) -> Self {
        let end = header::header_end(raw);
        Message {
            raw,
            fields: header::fields(&raw[..end]),
            body: OnceCell::new(),
            folded: OnceCell::new(),
        }
    }

    /// Every instance of field `name`, decoded (and lowercased when
    /// `fold`); None when there is none.
    pub fn header(&self, name: &str, fold: bool) -> Option<Vec<String>> {
        let mut room = MAX_TARGET_BYTES;
        let values: Vec<String> = self
            .fields
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| cut(header::decode_words(v), &mut room))
            .map(|v| if fold { v.to_lowercase() } else { v })
            .collect();
        (!values.is_empty()).then_some(values)
    }

    /// The decoded text parts in order (lowercased when `fold`); None when
    /// there is no text part.
    pub fn body(&self, fold: bool) -> Option<&[String]> {
        let body = self.body.get_or_init(|| body_text(self.raw));
        if !fold {
            return body.as_deref();
        }
        let lower = |b: &Vec<String>| b.iter().map(|t| t.to_lowercase()).collect();
        self.folded
            .get_or_init(|| body.as_ref().map(lower))
            .as_deref()
    }
}

/// `s` cut (on a character boundary) to what is left of `room`.
fn cut(mut s: String, room: &mut usize) -> String {
    let mut at = s.len().min(*room);
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    s.truncate(at);
    *room -= at;
    s
}

/// The text of each text/* leaf (HTML turned into text), decoded.
fn body_text(raw: &[u8]) -> Option<Vec<String>> {
    let mut room = MAX_TARGET_BYTES;
    let mut texts = Vec::new();
    mime::walk(raw, |part| {
        let Some(body) = part.body else { return };
        if room == 0 {
            return;
        }
        let mime = part.content_type.mime.as_str();
        if !mime.starts_with("text/") || part.depth > 0 && is_attachment(&part.fields) {
            return;
        }
        // Decoding reads at most a little more than the room left (base64
        // is 4 bytes for 3), so a 50 MB part costs no more than a small one.
        let take = body.len().min(room.saturating_mul(2).max(4096));
        let decoded = crate::tokenize::decode(&body[..take], &part.encoding());
        let text = header::to_text(&decoded, part.content_type.charset.as_deref());
        let text = if mime == "text/html" {
            mail_parser::decoders::html::html_to_text(&text)
        } else {
            text
        };
        texts.push(cut(text, &mut room));
    });
    (!texts.is_empty()).then_some(texts)
}

/// A part the sender marked as an attachment (RFC 2183) is not body text.
fn is_attachment(fields: &[(String, String)]) -> bool {
    header::get(fields, "content-disposition").is_some_and(|d| {
        d.trim_start()
            .to_ascii_lowercase()
            .starts_with("attachment")
    })
}
