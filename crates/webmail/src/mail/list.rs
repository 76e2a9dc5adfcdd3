//! `GET /api/messages?folder=F&page=N&order=desc|asc&q=TEXT`: one page of a
//! folder, newest first by default, each row a [`Summary`]. With `q`, only
//! the messages whose header fields (subject, from, to, cc) or text contain
//! it, case-insensitively: searched on the server, on the store's pool as
//! IMAP SEARCH's TEXT key is (`scan_bodies`), never by the browser.

use super::summary::{addresses, read_all, Summary};
use crate::error::{WebError, WebResult};
use crate::session::User;
use crate::Ctx;
use axum::extract::{Query, State};
use axum::Json;
use mail_parser::MessageParser;
use postern_store::mailbox::MessageInfo;
use postern_store::{scan_bodies, BodyFiles};
use serde::{Deserialize, Serialize};
use std::io::Read;

/// Rows on one page of the list, unless the user chose another size
/// (`size`, 1 to [`MAX_PAGE_SIZE`]: Settings' display preferences).
pub const PAGE_SIZE: usize = 50;
pub const MAX_PAGE_SIZE: usize = postern_store::webmail_prefs::MAX_PAGE_SIZE as usize;
/// Bytes of a message searched; the rest (large attachments) is not.
pub const MAX_SEARCHED_BYTES: u64 = 2 * 1024 * 1024;
/// Longest search text taken.
pub const MAX_QUERY_CHARS: usize = 200;

#[derive(Deserialize)]
pub struct ListQuery {
    pub folder: String,
    #[serde(default)]
    pub page: usize,
    #[serde(default)]
    pub order: Option<String>,
    #[serde(default)]
    pub q: Option<String>,
    /// 1: grouped in threads by References (thread.rs), then paged.
    #[serde(default)]
    pub thread: u8,
    #[serde(default)]
    pub size: Option<usize>,
}

#[derive(Serialize)]
pub struct Page {
    pub folder: String,
    pub total: usize,
    pub page: usize,
    pub pages: usize,
    pub messages: Vec<Summary>,
}

/// True when `raw` mentions `needle` (already lowercase) in its main header
/// fields or its text parts.
pub fn mentions(raw: &[u8], needle: &str) -> bool {
    let Some(m) = MessageParser::default().parse(raw) else {
        return false;
    };
    let fields = [
        m.subject().unwrap_or_default().to_string(),
        addresses(m.from()),
        addresses(m.to()),
        addresses(m.cc()),
    ];
    if fields.iter().any(|f| f.to_lowercase().contains(needle)) {
        return true;
    }
    (0..m.text_body_count()).any(|i| {
        m.body_text(i)
            .is_some_and(|t| t.to_lowercase().contains(needle))
    })
}

fn search(files: &dyn BodyFiles, msgs: Vec<MessageInfo>, needle: &str) -> Vec<MessageInfo> {
    msgs.into_iter()
        .filter(|m| {
            let mut raw = Vec::new();
            let read = match files.open(&m.blob) {
                Ok(Some(r)) => r.take(MAX_SEARCHED_BYTES).read_to_end(&mut raw).is_ok(),
                _ => false,
            };
            read && mentions(&raw, needle)
        })
        .collect()
}

/// Page `page` of `msgs` grouped in threads. Threads need every message's
/// ids, so the whole folder's headers are read (on the store's pool).
async fn threaded(
    ctx: &Ctx,
    msgs: Vec<MessageInfo>,
    newest_first: bool,
    page: usize,
    size: usize,
) -> WebResult<Vec<Summary>> {
    let mut all = scan_bodies(&*ctx.mail, move |files| read_all(files, &msgs)).await?;
    let ids: Vec<Vec<String>> = all
        .iter_mut()
        .map(|s| std::mem::take(&mut s.thread_ids))
        .collect();
    let dates: Vec<(i64, u32)> = all.iter().map(|s| (s.arrived, s.uid)).collect();
    let order = super::thread::order(&ids, &dates, newest_first);
    let mut slots: Vec<Option<Summary>> = all.into_iter().map(Some).collect();
    Ok(order
        .into_iter()
        .skip(page * size)
        .take(size)
        .filter_map(|(i, depth)| slots[i].take().map(|s| Summary { depth, ..s }))
        .collect())
}

pub async fn list(
    State(ctx): State<Ctx>,
    user: User,
    Query(q): Query<ListQuery>,
) -> WebResult<Json<Page>> {
    let folder = super::folder(&ctx, &user, &q.folder).await?;
    let mut msgs = ctx.mail.messages(folder.id).await?;
    let needle =
        q.q.as_deref()
            .map(str::trim)
            .unwrap_or_default()
            .to_lowercase();
    if needle.chars().count() > MAX_QUERY_CHARS {
        return Err(WebError::Invalid(format!(
            "search for at most {MAX_QUERY_CHARS} characters"
        )));
    }
    if !needle.is_empty() {
        msgs = scan_bodies(&*ctx.mail, move |files| search(files, msgs, &needle)).await?;
    }
    let newest_first = q.order.as_deref() != Some("asc");
    msgs.sort_by_key(|m| (m.internal_date, m.uid));
    if newest_first {
        msgs.reverse();
    }
    let size = q.size.unwrap_or(PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&size) {
        return Err(WebError::Invalid(format!(
            "a page holds 1 to {MAX_PAGE_SIZE} messages"
        )));
    }
    let total = msgs.len();
    let pages = total.div_ceil(size).max(1);
    let page = q.page.min(pages - 1);
    let messages = if q.thread == 1 {
        threaded(&ctx, msgs, newest_first, page, size).await?
    } else {
        let rows: Vec<MessageInfo> = msgs.into_iter().skip(page * size).take(size).collect();
        scan_bodies(&*ctx.mail, move |files| read_all(files, &rows)).await?
    };
    Ok(Json(Page {
        folder: folder.name,
        total,
        page,
        pages,
        messages,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_finds_header_fields_and_text_not_markup() {
        let raw = b"From: Carol <carol@example.org>\r\nSubject: Quarterly Figures\r\nContent-Type: text/plain\r\n\r\nThe walrus said hello.\r\n";
        assert!(mentions(raw, "quarterly"));
        assert!(mentions(raw, "carol@"));
        assert!(mentions(raw, "walrus"));
        assert!(!mentions(raw, "penguin"));
    }
}
