//! BODYSTRUCTURE and BODY (RFC 3501 §7.4.2) from a parsed message, as
//! imap-codec's types. BODY is the same without extension data; the
//! extension data here is MD5 (always NIL), disposition, language and
//! location, for single parts and multiparts alike.

use super::envelope::envelope;
use super::fields::{istring, nstring};
use super::{count_lines, Kind, Mime, Part};
use imap_codec::imap_types::body::{
    BasicFields, Body, BodyStructure, Disposition, Language, Location, MultiPartExtensionData,
    SinglePartExtensionData, SpecificFields,
};
use imap_codec::imap_types::core::{IString, NString, Vec1};

/// The structure of `part` (a whole message, or a part of one) in `raw`.
/// `extended`: BODYSTRUCTURE (with extension data) rather than BODY.
pub fn body_structure(part: &Part, raw: &[u8], extended: bool) -> BodyStructure<'static> {
    let mime = &part.mime;
    match &part.kind {
        Kind::Multipart(children) => {
            let bodies: Vec<_> = children
                .iter()
                .map(|c| body_structure(c, raw, extended))
                .collect();
            BodyStructure::Multi {
                // A multipart is parsed as such only when it has parts.
                bodies: Vec1::try_from(bodies).unwrap_or_else(|_| Vec1::from(empty_text())),
                subtype: text(&mime.subtype),
                extension_data: extended.then(|| MultiPartExtensionData {
                    parameter_list: params(&mime.params),
                    tail: Some(disposition(mime)),
                }),
            }
        }
        Kind::Message(inner) => single(
            part,
            extended,
            SpecificFields::Message {
                envelope: Box::new(envelope(&raw[inner.header.clone()])),
                body_structure: Box::new(body_structure(inner, raw, extended)),
                number_of_lines: count_lines(&raw[part.body.clone()]),
            },
        ),
        Kind::Leaf if mime.is_text() => single(
            part,
            extended,
            SpecificFields::Text {
                subtype: text(&mime.subtype),
                number_of_lines: count_lines(&raw[part.body.clone()]),
            },
        ),
        Kind::Leaf => single(
            part,
            extended,
            SpecificFields::Basic {
                r#type: text(&mime.ctype),
                subtype: text(&mime.subtype),
            },
        ),
    }
}

fn single(
    part: &Part,
    extended: bool,
    specific: SpecificFields<'static>,
) -> BodyStructure<'static> {
    let mime = &part.mime;
    let basic = BasicFields {
        parameter_list: params(&mime.params),
        id: nstring(mime.id.clone()),
        description: nstring(mime.description.clone()),
        content_transfer_encoding: text(&mime.encoding),
        size: u32::try_from(part.body.len()).unwrap_or(u32::MAX),
    };
    BodyStructure::Single {
        body: Body { basic, specific },
        extension_data: extended.then(|| SinglePartExtensionData {
            md5: NString(None),
            tail: Some(disposition(mime)),
        }),
    }
}

/// body-fld-dsp, then body-fld-lang and body-fld-loc.
fn disposition(mime: &Mime) -> Disposition<'static> {
    Disposition {
        disposition: mime
            .disposition
            .as_ref()
            .map(|(kind, p)| (text(kind), params(p))),
        tail: Some(Language {
            language: mime.language.iter().map(|l| text(l)).collect(),
            tail: Some(Location {
                location: nstring(mime.location.clone()),
                extensions: Vec::new(),
            }),
        }),
    }
}

fn params(p: &[(String, String)]) -> Vec<(IString<'static>, IString<'static>)> {
    p.iter().map(|(k, v)| (text(k), text(v))).collect()
}

fn text(s: &str) -> IString<'static> {
    istring(s.as_bytes().to_vec())
}

/// An empty text/plain part (never sent: multiparts always have a part).
fn empty_text() -> BodyStructure<'static> {
    let basic = BasicFields {
        parameter_list: Vec::new(),
        id: NString(None),
        description: NString(None),
        content_transfer_encoding: text("7BIT"),
        size: 0,
    };
    BodyStructure::Single {
        body: Body {
            basic,
            specific: SpecificFields::Text {
                subtype: text("PLAIN"),
                number_of_lines: 0,
            },
        },
        extension_data: None,
    }
}
