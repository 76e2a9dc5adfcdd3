//! Reading one message: `GET /api/message` (header fields, the plain text,
//! whether there is HTML and how many remote images it would load, the
//! attachments), `/api/message/html` (the sanitised HTML as the document of
//! a sandboxed frame, under [`FRAME_CSP`]), `/api/message/raw` (the source
//! as text/plain) and `/api/message/part` (an attachment, always as a
//! download: `Content-Disposition: attachment`, octet-stream, nosniff).
//! Every name and header field goes to the app as JSON text, which the app
//! inserts with textContent.

use super::sanitize::{document, sanitise};
use super::summary::addresses;
use crate::error::{WebError, WebResult};
use crate::headers::{FRAME_CSP, FRAME_CSP_IMAGES};
use crate::session::User;
use crate::Ctx;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
pub struct Which {
    pub folder: String,
    pub uid: u32,
    /// `/html`: 1 once the user allowed remote images for this message.
    #[serde(default)]
    pub images: u8,
    /// `/part`: the attachment's index in the message's list.
    #[serde(default)]
    pub n: usize,
}

#[derive(Serialize)]
pub struct Attachment {
    pub n: usize,
    pub name: String,
    pub content_type: String,
    pub size: usize,
    /// "image" or "pdf" when it can be previewed (preview.rs), else "".
    pub preview: &'static str,
}

#[derive(Serialize)]
pub struct View {
    pub uid: u32,
    pub subject: String,
    pub from: String,
    pub to: String,
    pub cc: String,
    pub reply_to: String,
    pub date: String,
    pub message_id: String,
    pub references: Vec<String>,
    pub text: String,
    pub has_html: bool,
    pub blocked_images: usize,
    /// The user always allows remote images from this sender.
    pub images_allowed: bool,
    pub attachments: Vec<Attachment>,
    pub flags: String,
    /// A draft written in rich text, for the editor to resume (rich_tokens.rs);
    /// empty for other messages.
    pub rich: Vec<super::rich_tokens::Token>,
}

pub(crate) fn parse(raw: &[u8]) -> WebResult<Message<'_>> {
    MessageParser::default()
        .parse(raw)
        .ok_or_else(|| WebError::Invalid("the message cannot be parsed".into()))
}

/// The first HTML part, when the message has a real one (mail-parser turns
/// plain text into HTML when there is none).
fn html_of<'a>(m: &'a Message<'a>) -> Option<&'a str> {
    match &m.html_part(0)?.body {
        PartType::Html(h) => Some(h.as_ref()),
        _ => None,
    }
}

fn attachments(m: &Message<'_>) -> Vec<Attachment> {
    m.attachments()
        .enumerate()
        .map(|(n, p)| Attachment {
            n,
            name: p
                .attachment_name()
                .map(str::to_string)
                .unwrap_or_else(|| format!("attachment-{}", n + 1)),
            content_type: p
                .content_type()
                .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("octet-stream")))
                .unwrap_or_else(|| "application/octet-stream".into()),
            size: p.len(),
            preview: match super::preview::previewable(p.contents()) {
                Some("application/pdf") => "pdf",
                Some(_) => "image",
                None => "",
            },
        })
        .collect()
}

fn ids(v: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    v.as_text_list()
        .map(|l| l.iter().map(|s| s.to_string()).collect())
        .unwrap_or_default()
}

pub async fn view(
    State(ctx): State<Ctx>,
    user: User,
    Query(w): Query<Which>,
) -> WebResult<Json<View>> {
    let folder = super::folder(&ctx, &user, &w.folder).await?;
    let info = super::message(&ctx, folder.id, w.uid).await?;
    let raw = super::raw(&ctx, folder.id, w.uid).await?;
    let m = parse(&raw)?;
    let html = html_of(&m);
    let text = m.body_text(0).map(|t| t.into_owned()).unwrap_or_default();
    let sender = m.from().and_then(|a| a.first()).and_then(|a| a.address());
    let images_allowed = match (sender, html) {
        (Some(s), Some(_)) => {
            crate::book(&ctx)
                .image_sender_allowed(user.id, s.to_string())
                .await?
        }
        _ => false,
    };
    Ok(Json(View {
        uid: w.uid,
        subject: m.subject().unwrap_or_default().to_string(),
        from: addresses(m.from()),
        to: addresses(m.to()),
        cc: addresses(m.cc()),
        reply_to: addresses(m.reply_to()),
        date: m.date().map(|d| d.to_rfc3339()).unwrap_or_default(),
        message_id: m.message_id().unwrap_or_default().to_string(),
        references: ids(m.references()),
        text,
        has_html: html.is_some(),
        blocked_images: html.map_or(0, |h| sanitise(h, false).blocked_images),
        images_allowed,
        attachments: attachments(&m),
        rich: match info.flags.contains("\\Draft") {
            true => html.and_then(draft_tokens).unwrap_or_default(),
            false => Vec::new(),
        },
        flags: info.flags,
    }))
}

/// A rich draft's HTML as the editor's tokens; None (resume as plain text)
/// when it is too large for the editor.
fn draft_tokens(html: &str) -> Option<Vec<super::rich_tokens::Token>> {
    super::rich_tokens::tokens(&super::rich::clean(html).ok()?)
}

pub async fn html(
    State(ctx): State<Ctx>,
    user: User,
    Query(w): Query<Which>,
) -> WebResult<Response> {
    let folder = super::folder(&ctx, &user, &w.folder).await?;
    let raw = super::raw(&ctx, folder.id, w.uid).await?;
    let m = parse(&raw)?;
    let images = w.images == 1;
    let body = html_of(&m)
        .map(|h| sanitise(h, images).html)
        .unwrap_or_default();
    let csp = if images { FRAME_CSP_IMAGES } else { FRAME_CSP };
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, csp),
            (header::X_FRAME_OPTIONS, "SAMEORIGIN"),
        ],
        document(&body),
    )
        .into_response())
}

pub async fn source(
    State(ctx): State<Ctx>,
    user: User,
    Query(w): Query<Which>,
) -> WebResult<Response> {
    let folder = super::folder(&ctx, &user, &w.folder).await?;
    let raw = super::raw(&ctx, folder.id, w.uid).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox",
            ),
        ],
        raw,
    )
        .into_response())
}

pub async fn part(
    State(ctx): State<Ctx>,
    user: User,
    Query(w): Query<Which>,
) -> WebResult<Response> {
    let folder = super::folder(&ctx, &user, &w.folder).await?;
    let raw = super::raw(&ctx, folder.id, w.uid).await?;
    let m = parse(&raw)?;
    let list = attachments(&m);
    let (Some(a), Some(p)) = (list.get(w.n), m.attachments().nth(w.n)) else {
        return Err(WebError::NotFound(format!("attachment {}", w.n)));
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_DISPOSITION, disposition(&a.name)),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox".to_string(),
            ),
        ],
        p.contents().to_vec(),
    )
        .into_response())
}

/// `attachment` with the name twice (RFC 6266 §4.3): an ASCII fallback with
/// anything unsafe replaced, and the UTF-8 name percent-encoded (RFC 8187).
pub fn disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| match c {
            ' ' | '.' | '-' | '_' => c,
            c if c.is_ascii_alphanumeric() => c,
            _ => '_',
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => {
                encoded.push(b as char)
            }
            _ => encoded.push_str(&format!("%{b:02X}")),
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_file_names_stay_inside_the_header() {
        let d = disposition("a\"; x=\r\n<script>\u{e9}.txt");
        assert_eq!(
            d,
            "attachment; filename=\"a__ x____script__.txt\"; filename*=UTF-8''a%22%3B%20x%3D%0D%0A%3Cscript%3E%C3%A9.txt"
        );
        assert!(!d.contains('\r') && !d.contains('\n'));
    }

    #[test]
    fn plain_text_is_not_taken_for_html() {
        let raw = b"Subject: x\r\nContent-Type: text/plain\r\n\r\n<b>hi</b>\r\n";
        let m = parse(raw).unwrap();
        assert_eq!(html_of(&m), None);
        let raw = b"Subject: x\r\nContent-Type: text/html\r\n\r\n<b>hi</b>\r\n";
        let m = parse(raw).unwrap();
        assert_eq!(html_of(&m), Some("<b>hi</b>\r\n"));
    }
}
