//! The mail half of the API: folders, message lists, reading, and what a
//! user does to messages. Everything goes through [`postern_store::MailStore`].

pub mod actions;
pub mod compose;
pub mod folders;
pub mod list;
pub mod preview;
pub mod read;
pub mod rich;
pub mod rich_tokens;
pub mod sanitize;
pub mod submit;
pub mod summary;
pub mod thread;

use crate::error::{WebError, WebResult};
use crate::session::User;
use crate::Ctx;
use postern_store::mailbox::MessageInfo;
use postern_store::{Folder, MailboxId};

/// The user's folder called `name`.
pub async fn folder(ctx: &Ctx, user: &User, name: &str) -> WebResult<Folder> {
    let folders = ctx.mail.folders(user.id).await?;
    folders
        .into_iter()
        .find(|f| f.name == name || (name.eq_ignore_ascii_case("INBOX") && f.name == "INBOX"))
        .ok_or_else(|| WebError::NotFound(format!("folder {name}")))
}

/// The user's folder with special use `attr` (RFC 6154), e.g. `\Trash`.
pub async fn special(ctx: &Ctx, user: &User, attr: &str) -> WebResult<Folder> {
    let folders = ctx.mail.folders(user.id).await?;
    folders
        .into_iter()
        .find(|f| f.special_use.as_deref() == Some(attr))
        .ok_or_else(|| WebError::NotFound(format!("the {attr} folder")))
}

/// One message of a mailbox by UID.
pub async fn message(ctx: &Ctx, mailbox: MailboxId, uid: u32) -> WebResult<MessageInfo> {
    let msgs = ctx.mail.messages(mailbox).await?;
    msgs.into_iter()
        .find(|m| m.uid == uid)
        .ok_or_else(|| WebError::NotFound(format!("message {uid}")))
}

/// The whole stored message.
pub async fn raw(ctx: &Ctx, mailbox: MailboxId, uid: u32) -> WebResult<Vec<u8>> {
    let m = message(ctx, mailbox, uid).await?;
    ctx.mail
        .read_body(&m.blob)
        .await?
        .ok_or_else(|| WebError::NotFound(format!("message {uid}")))
}

/// True when the space-separated flag list holds `flag` (case-insensitive, RFC 3501 §2.3.2).
pub fn has_flag(flags: &str, flag: &str) -> bool {
    flags
        .split_whitespace()
        .any(|f| f.eq_ignore_ascii_case(flag))
}
