//! `GET /api/settings`: the user's preferences (signature, page size,
//! threads, HTML or plain), the identities the sender-identity rules allow
//! (compose's From selector; the submission session still checks whatever
//! is sent), the size limit attachments must fit, and whether the filter
//! feature (vacation replies, filters) exists yet. `PUT /api/settings`
//! saves the preferences. `POST /api/images/allow` remembers "always show
//! remote images from this sender" for the sender of a stored message.

use crate::error::{blocking, WebError, WebResult};
use crate::session::User;
use crate::{book, Ctx};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use postern_directory::prelude::*;
use postern_store::webmail_prefs::WebmailPrefs;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
pub struct Settings {
    pub prefs: WebmailPrefs,
    pub identities: Vec<String>,
    /// `smtp.max_message_size` in bytes: the whole message must fit.
    pub max_message_size: u64,
    /// False until the filter feature exists: the app shows the vacation
    /// and filter section disabled (the hook issue 20 item 5 asks for).
    pub filters: bool,
}

pub async fn get(State(ctx): State<Ctx>, user: User) -> WebResult<Json<Settings>> {
    let prefs = book(&ctx).webmail_prefs(user.id).await?;
    let (store, address) = (ctx.store.clone(), user.address.clone());
    let identities = blocking(move || store.send_as_identities(&address)).await?;
    let max_message_size = ctx.config.borrow().smtp.max_message_size.0;
    Ok(Json(Settings {
        prefs,
        identities,
        max_message_size,
        filters: false,
    }))
}

pub async fn put(
    State(ctx): State<Ctx>,
    user: User,
    Json(prefs): Json<WebmailPrefs>,
) -> WebResult<StatusCode> {
    book(&ctx).webmail_prefs_set(user.id, prefs).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    pub folder: String,
    pub uid: u32,
}

/// The From address of a stored message (what the user saw, parsed here).
pub(crate) fn from_address(raw: &[u8]) -> Option<String> {
    let m = mail_parser::MessageParser::default().parse(raw)?;
    let a = m.from()?.first()?.address()?;
    Some(a.to_string())
}

pub async fn allow_images(
    State(ctx): State<Ctx>,
    user: User,
    Json(w): Json<Message>,
) -> WebResult<StatusCode> {
    let folder = crate::mail::folder(&ctx, &user, &w.folder).await?;
    let raw = crate::mail::raw(&ctx, folder.id, w.uid).await?;
    let sender = from_address(&raw)
        .ok_or_else(|| WebError::Invalid("the message has no sender address".into()))?;
    book(&ctx).image_sender_allow(user.id, sender).await?;
    Ok(StatusCode::NO_CONTENT)
}
