//! Body sections (RFC 3501 §6.4.5): part numbers, HEADER, HEADER.FIELDS
//! [.NOT], TEXT and MIME, resolved to bytes of the message. Every message
//! has a part 1: its body when it is not multipart. A part of type
//! message/rfc822 is numbered through: n.HEADER and n.TEXT are its
//! message's header and body, n.1 its message's first part.

use super::{Kind, Part};
use imap_codec::imap_types::core::AString;
use imap_codec::imap_types::fetch::Section;
use std::borrow::Cow;
use std::num::NonZeroU32;

/// Where a part number path leads.
#[derive(Debug, Clone, Copy)]
pub enum Place<'p> {
    /// A (possibly encapsulated) message: only the empty path names the top one.
    Message(&'p Part),
    /// A numbered part.
    Part(&'p Part),
}

/// Follows part numbers from the top-level message; None if there is no such part.
pub fn find<'p>(root: &'p Part, path: &[NonZeroU32]) -> Option<Place<'p>> {
    path.iter()
        .try_fold(Place::Message(root), |at, &n| step(at, n.get() as usize))
}

fn step(at: Place<'_>, n: usize) -> Option<Place<'_>> {
    match at {
        Place::Message(m) => match &m.kind {
            Kind::Multipart(children) => children.get(n - 1).map(Place::Part),
            // A message that is not multipart has one part: its body.
            _ => (n == 1).then_some(Place::Part(m)),
        },
        Place::Part(p) => match &p.kind {
            Kind::Multipart(children) => children.get(n - 1).map(Place::Part),
            Kind::Message(inner) => step(Place::Message(inner), n),
            Kind::Leaf => None,
        },
    }
}

/// The message a HEADER/TEXT specifier applies to: the top one, or the
/// one a message/rfc822 part holds.
fn message_at<'p>(root: &'p Part, path: Option<&[NonZeroU32]>) -> Option<&'p Part> {
    let Some(path) = path else {
        return Some(root);
    };
    match find(root, path)? {
        Place::Part(Part {
            kind: Kind::Message(inner),
            ..
        }) => Some(inner),
        _ => None,
    }
}

/// The bytes of `BODY[section]` (before any partial); None when the
/// section does not exist, answered as NIL.
pub fn body_section<'m>(
    raw: &'m [u8],
    root: &Part,
    section: Option<&Section<'_>>,
) -> Option<Cow<'m, [u8]>> {
    let path =
        |p: &Option<imap_codec::imap_types::fetch::Part>| p.as_ref().map(|p| p.0.as_ref().to_vec());
    let slice = |r: std::ops::Range<usize>| Some(Cow::Borrowed(&raw[r]));
    match section {
        None => Some(Cow::Borrowed(raw)),
        Some(Section::Part(p)) => match find(root, p.0.as_ref())? {
            Place::Part(part) => slice(part.body.clone()),
            Place::Message(m) => slice(m.header.start..m.body.end),
        },
        Some(Section::Mime(p)) => match find(root, p.0.as_ref())? {
            Place::Part(part) => slice(part.header.clone()),
            Place::Message(_) => None,
        },
        Some(Section::Header(p)) => slice(message_at(root, path(p).as_deref())?.header.clone()),
        Some(Section::Text(p)) => slice(message_at(root, path(p).as_deref())?.body.clone()),
        Some(Section::HeaderFields(p, names)) => {
            let m = message_at(root, path(p).as_deref())?;
            Some(Cow::Owned(header_fields(
                &raw[m.header.clone()],
                names.as_ref(),
                false,
            )))
        }
        Some(Section::HeaderFieldsNot(p, names)) => {
            let m = message_at(root, path(p).as_deref())?;
            Some(Cow::Owned(header_fields(
                &raw[m.header.clone()],
                names.as_ref(),
                true,
            )))
        }
    }
}

/// The content a BINARY section names and its transfer encoding (RFC 3516
/// §4.2): the empty section is the whole message, as it is.
pub fn binary_part<'m, 'p>(
    raw: &'m [u8],
    root: &'p Part,
    path: &[NonZeroU32],
) -> Option<(&'m [u8], &'p str)> {
    if path.is_empty() {
        return Some((raw, "BINARY"));
    }
    match find(root, path)? {
        Place::Part(p) => Some((&raw[p.body.clone()], p.mime.encoding.as_str())),
        Place::Message(_) => None,
    }
}

/// The header fields whose names are (or, with `not`, are not) in `names`,
/// then the blank line (RFC 3501 §6.4.5: it is always included).
pub fn header_fields(header: &[u8], names: &[AString<'_>], not: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut keep = false;
    for line in header.split_inclusive(|&b| b == b'\n') {
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        if !line.starts_with(b" ") && !line.starts_with(b"\t") {
            let name = line.split(|&b| b == b':').next().unwrap_or_default();
            let listed = names
                .iter()
                .any(|n| n.as_ref().eq_ignore_ascii_case(name.trim_ascii()));
            keep = listed != not;
        }
        if keep {
            out.extend_from_slice(line);
            if !line.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n"); // the last line of a header with no body
            }
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}
