//! `GET /api/folders` (the tree, with unread and total counts), and
//! create, rename, delete. Names are the store's (hierarchy with `/`);
//! the store checks them (validate_name).

use crate::error::WebResult;
use crate::session::User;
use crate::Ctx;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
pub struct FolderView {
    pub name: String,
    pub special_use: Option<String>,
    pub unread: usize,
    pub total: usize,
}

pub async fn list(State(ctx): State<Ctx>, user: User) -> WebResult<Json<Vec<FolderView>>> {
    let mut out = Vec::new();
    for f in ctx.mail.folders(user.id).await? {
        let counts = ctx.mail.mailbox_counts(f.id).await?;
        out.push(FolderView {
            name: f.name,
            special_use: f.special_use,
            unread: counts.unseen as usize,
            total: counts.messages as usize,
        });
    }
    // INBOX first, then by name, so children follow their parent.
    out.sort_by(|a, b| (a.name != "INBOX", &a.name).cmp(&(b.name != "INBOX", &b.name)));
    Ok(Json(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Create {
    pub name: String,
}

pub async fn create(
    State(ctx): State<Ctx>,
    user: User,
    Json(c): Json<Create>,
) -> WebResult<StatusCode> {
    ctx.mail.create_folder(user.id, &c.name).await?;
    ctx.mail.set_subscribed(user.id, &c.name, true).await?;
    Ok(StatusCode::CREATED)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    pub from: String,
    pub to: String,
}

pub async fn rename(
    State(ctx): State<Ctx>,
    user: User,
    Json(r): Json<Rename>,
) -> WebResult<StatusCode> {
    if r.from == "INBOX" {
        ctx.mail.rename_inbox(user.id, &r.to).await?;
    } else {
        ctx.mail.rename_folder(user.id, &r.from, &r.to).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct Named {
    pub name: String,
}

pub async fn delete(
    State(ctx): State<Ctx>,
    user: User,
    Query(n): Query<Named>,
) -> WebResult<StatusCode> {
    ctx.mail.delete_folder(user.id, &n.name).await?;
    Ok(StatusCode::NO_CONTENT)
}
