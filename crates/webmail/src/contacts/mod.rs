//! The address book (issue 20 item 4): `GET/POST/PUT/DELETE /api/contacts`,
//! `POST /api/contacts/sender` (add the sender of an open message),
//! `POST /api/contacts/import` (a vCard file as the body) and
//! `GET /api/contacts/export` (the whole book as vCard). Everything goes
//! through the store's [`WebmailStore`](postern_store::WebmailStore); a
//! user only ever reaches their own book.

pub mod suggest;
pub mod vcard;

use crate::error::{WebError, WebResult};
use crate::mail::summary::addresses;
use crate::session::User;
use crate::{book, Ctx};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use postern_store::Contact;
use serde::{Deserialize, Serialize};

/// The body limit of the import route: a little over the parser's own
/// limit, so a file just past it gets the parser's answer (400, which
/// names the limit) rather than a bare 413.
pub const MAX_IMPORT_BODY: usize = vcard::MAX_VCARD_BYTES + 64 * 1024;

#[derive(Serialize)]
pub struct Added {
    pub id: i64,
}

#[derive(Serialize)]
pub struct Imported {
    pub imported: usize,
}

pub async fn list(State(ctx): State<Ctx>, user: User) -> WebResult<Json<Vec<Contact>>> {
    Ok(Json(book(&ctx).contacts(user.id).await?))
}

pub async fn add(
    State(ctx): State<Ctx>,
    user: User,
    Json(c): Json<Contact>,
) -> WebResult<(StatusCode, Json<Added>)> {
    let ids = book(&ctx).contacts_add(user.id, vec![c]).await?;
    let id = ids.first().copied().unwrap_or_default();
    Ok((StatusCode::CREATED, Json(Added { id })))
}

pub async fn update(
    State(ctx): State<Ctx>,
    user: User,
    Json(c): Json<Contact>,
) -> WebResult<StatusCode> {
    book(&ctx).contact_update(user.id, c).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct Id {
    pub id: i64,
}

pub async fn delete(
    State(ctx): State<Ctx>,
    user: User,
    Query(q): Query<Id>,
) -> WebResult<StatusCode> {
    book(&ctx).contact_delete(user.id, q.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FromMessage {
    pub folder: String,
    pub uid: u32,
}

/// The From of a stored message as (name, address), parsed on the server:
/// what the app shows is never what it sends back.
fn sender_of(raw: &[u8]) -> WebResult<(String, String)> {
    let m = mail_parser::MessageParser::default()
        .parse(raw)
        .ok_or_else(|| WebError::Invalid("the message cannot be parsed".into()))?;
    let first = m.from().and_then(|a| a.first());
    let address = first
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_string();
    if address.is_empty() {
        return Err(WebError::Invalid(format!(
            "the message has no sender address ({})",
            addresses(m.from())
        )));
    }
    let name = first.and_then(|a| a.name()).unwrap_or_default().to_string();
    Ok((name, address))
}

/// Adds the sender of message `uid` in `folder`, unless already a contact.
pub async fn add_sender(
    State(ctx): State<Ctx>,
    user: User,
    Json(w): Json<FromMessage>,
) -> WebResult<Response> {
    let folder = crate::mail::folder(&ctx, &user, &w.folder).await?;
    let raw = crate::mail::raw(&ctx, folder.id, w.uid).await?;
    let (name, address) = sender_of(&raw)?;
    if let Some(id) = book(&ctx)
        .contact_by_email(user.id, address.clone())
        .await?
    {
        return Ok((StatusCode::OK, Json(Added { id })).into_response());
    }
    let c = Contact {
        name,
        emails: vec![address],
        ..Contact::default()
    };
    let ids = book(&ctx).contacts_add(user.id, vec![c]).await?;
    let id = ids.first().copied().unwrap_or_default();
    Ok((StatusCode::CREATED, Json(Added { id })).into_response())
}

pub async fn import(State(ctx): State<Ctx>, user: User, body: Bytes) -> WebResult<Json<Imported>> {
    let cards = vcard::parse(&body).map_err(|e| WebError::Invalid(e.to_string()))?;
    let imported = cards.len();
    book(&ctx).contacts_add(user.id, cards).await?;
    Ok(Json(Imported { imported }))
}

#[derive(Deserialize)]
pub struct Export {
    /// "3.0" or "4.0" (the default).
    #[serde(default)]
    pub version: Option<String>,
}

pub async fn export(
    State(ctx): State<Ctx>,
    user: User,
    Query(q): Query<Export>,
) -> WebResult<Response> {
    let version = match q.version.as_deref() {
        None | Some("4.0") => "4.0",
        Some("3.0") => "3.0",
        Some(other) => return Err(WebError::Invalid(format!("vCard {other} is not written"))),
    };
    let all = book(&ctx).contacts(user.id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/vcard; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"contacts.vcf\"",
            ),
        ],
        vcard::write(&all, version),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sender_comes_from_the_message() {
        let raw = b"From: \"Carol E.\" <carol@example.net>\r\nSubject: x\r\n\r\nhi\r\n";
        assert_eq!(
            sender_of(raw).unwrap(),
            ("Carol E.".to_string(), "carol@example.net".to_string())
        );
        assert!(sender_of(b"Subject: x\r\n\r\nhi\r\n").is_err());
    }
}
