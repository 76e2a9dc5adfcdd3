//! What a user does to selected messages: flags, move or copy to a folder,
//! delete (to Trash; from Trash, for good), and mark as spam or not spam —
//! a move into or out of Junk that teaches the classifier exactly as an
//! IMAP MOVE does (crates/imap/src/session/junk.rs, SPEC P7).

use crate::error::{WebError, WebResult};
use crate::session::User;
use crate::Ctx;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use postern_spam::{Class, Classifier, Tokens};
use postern_store::{scan_bodies, BlobId, FlagOp, Folder, SpamTraining};
use serde::Deserialize;
use std::io::Read;

/// Messages one request may act on (a select-all of a page is 50).
pub const MAX_SELECTED: usize = 1000;
/// Messages learned from one move, as IMAP's MAX_LEARNED_PER_COMMAND.
pub const MAX_LEARNED: usize = 500;
/// Bytes of a message read for learning, as IMAP's MAX_LEARNED_BYTES.
pub const MAX_LEARNED_BYTES: u64 = 1024 * 1024;
/// Flags the app sets; keywords are not offered.
const FLAGS: [&str; 4] = ["\\Seen", "\\Flagged", "\\Answered", "\\Draft"];

#[derive(Deserialize)]
pub struct Selection {
    pub folder: String,
    pub uids: Vec<u32>,
}

fn checked(sel: &Selection) -> WebResult<()> {
    if sel.uids.is_empty() || sel.uids.len() > MAX_SELECTED {
        return Err(WebError::Invalid(format!(
            "select between 1 and {MAX_SELECTED} messages"
        )));
    }
    Ok(())
}

#[derive(Deserialize)]
pub struct SetFlag {
    #[serde(flatten)]
    pub sel: Selection,
    pub flag: String,
    pub on: bool,
}

pub async fn flag(
    State(ctx): State<Ctx>,
    user: User,
    Json(f): Json<SetFlag>,
) -> WebResult<StatusCode> {
    checked(&f.sel)?;
    let Some(flag) = FLAGS.iter().find(|x| x.eq_ignore_ascii_case(&f.flag)) else {
        return Err(WebError::Invalid(format!("unknown flag {}", f.flag)));
    };
    let folder = super::folder(&ctx, &user, &f.sel.folder).await?;
    let op = if f.on { FlagOp::Add } else { FlagOp::Remove };
    let given = [flag.to_string()];
    ctx.mail
        .store_flags(folder.id, &f.sel.uids, op, &given, None)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct MoveTo {
    #[serde(flatten)]
    pub sel: Selection,
    pub to: String,
    #[serde(default)]
    pub copy: bool,
}

pub async fn move_to(
    State(ctx): State<Ctx>,
    user: User,
    Json(m): Json<MoveTo>,
) -> WebResult<StatusCode> {
    checked(&m.sel)?;
    let src = super::folder(&ctx, &user, &m.sel.folder).await?;
    let dst = super::folder(&ctx, &user, &m.to).await?;
    transfer(&ctx, &user, &src, &dst, &m.sel.uids, m.copy).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Moves (or copies) and learns from it when it crosses Junk.
async fn transfer(
    ctx: &Ctx,
    user: &User,
    src: &Folder,
    dst: &Folder,
    uids: &[u32],
    copy: bool,
) -> WebResult<()> {
    if src.id == dst.id {
        return Ok(());
    }
    let blobs: Vec<BlobId> = ctx
        .mail
        .messages(src.id)
        .await?
        .into_iter()
        .filter(|m| uids.contains(&m.uid))
        .map(|m| m.blob)
        .collect();
    if copy {
        ctx.mail.copy(src.id, dst.id, uids).await?;
    } else {
        ctx.mail.move_messages(src.id, dst.id, uids).await?;
    }
    let class = learned_class(src.special_use.as_deref(), dst.special_use.as_deref());
    if let Some(class) = class {
        learn(ctx, user, class, blobs).await;
    }
    Ok(())
}

pub async fn delete(
    State(ctx): State<Ctx>,
    user: User,
    Json(sel): Json<Selection>,
) -> WebResult<StatusCode> {
    checked(&sel)?;
    let src = super::folder(&ctx, &user, &sel.folder).await?;
    if src.special_use.as_deref() == Some("\\Trash") {
        ctx.mail.expunge(src.id, &sel.uids).await?;
    } else {
        let trash = super::special(&ctx, &user, "\\Trash").await?;
        transfer(&ctx, &user, &src, &trash, &sel.uids, false).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct MarkSpam {
    #[serde(flatten)]
    pub sel: Selection,
    pub spam: bool,
}

/// Spam: into Junk. Not spam: out of Junk into INBOX.
pub async fn spam(
    State(ctx): State<Ctx>,
    user: User,
    Json(s): Json<MarkSpam>,
) -> WebResult<StatusCode> {
    checked(&s.sel)?;
    let src = super::folder(&ctx, &user, &s.sel.folder).await?;
    let dst = if s.spam {
        super::special(&ctx, &user, "\\Junk").await?
    } else {
        super::folder(&ctx, &user, "INBOX").await?
    };
    transfer(&ctx, &user, &src, &dst, &s.sel.uids, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What moving from special use `src` to `dst` teaches (as IMAP's
/// `learned_class`): into Junk is spam; out of Junk, except into Trash, ham.
pub fn learned_class(src: Option<&str>, dst: Option<&str>) -> Option<Class> {
    const JUNK: &str = "\\Junk";
    match (src == Some(JUNK), dst == Some(JUNK)) {
        (false, true) => Some(Class::Spam),
        (true, false) if dst != Some("\\Trash") => Some(Class::Ham),
        _ => None,
    }
}

/// Trains on the moved bodies unless `spam.learn_from_junk = false`; a
/// failure is logged and never undoes the move.
async fn learn(ctx: &Ctx, user: &User, class: Class, blobs: Vec<BlobId>) {
    if blobs.is_empty() || !ctx.config.borrow().spam.learn_from_junk {
        return;
    }
    let job = scan_bodies(&*ctx.mail, move |files| {
        let mut batch = Classifier::default();
        for b in blobs.iter().take(MAX_LEARNED) {
            let mut raw = Vec::new();
            if let Ok(Some(r)) = files.open(b) {
                if r.take(MAX_LEARNED_BYTES).read_to_end(&mut raw).is_ok() {
                    batch.train(class, &Tokens::from_message(&raw));
                }
            }
        }
        SpamTraining {
            spam_messages: batch.messages(Class::Spam),
            ham_messages: batch.messages(Class::Ham),
            tokens: batch.counts().map(|(h, c)| (h, c.spam, c.ham)).collect(),
        }
    });
    let done = match job.await {
        Ok(t) => {
            let n = t.spam_messages + t.ham_messages;
            ctx.mail.spam_train(t).await.map(|()| n)
        }
        Err(e) => Err(e),
    };
    let what = if class == Class::Spam { "spam" } else { "ham" };
    let (n, error) = match done {
        Ok(n) => (n.to_string(), None),
        Err(e) => ("0".to_string(), Some(e.to_string())),
    };
    let mut fields = vec![
        ("event", "spam-learned"),
        ("service", "webmail"),
        ("user", user.address.as_str()),
        ("class", what),
        ("messages", n.as_str()),
    ];
    if let Some(e) = &error {
        fields.push(("error", e.as_str()));
    }
    ctx.logs.mail(&fields);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk_moves_teach_like_imap() {
        assert_eq!(learned_class(None, Some("\\Junk")), Some(Class::Spam));
        assert_eq!(learned_class(Some("\\Junk"), None), Some(Class::Ham));
        assert_eq!(learned_class(Some("\\Junk"), Some("\\Trash")), None);
        assert_eq!(learned_class(Some("\\Sent"), Some("\\Trash")), None);
    }
}
