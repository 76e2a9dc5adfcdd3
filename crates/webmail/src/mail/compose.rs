//! Writing mail: `POST /api/send` builds the message (mail-builder: MIME,
//! RFC 2047 header words), submits it (submit.rs), then files a copy in
//! Sent and drops the draft it came from; `POST /api/draft` files the same
//! message in Drafts (`\Draft \Seen`) in place of the previous version,
//! whose UID it returns so the app can go on editing. A draft is resumed by
//! reading it (`GET /api/message`), as any message.

use super::submit::submit;
use crate::conn::Peer;
use crate::error::{blocking, WebError, WebResult};
use crate::session::User;
use crate::Ctx;
use axum::extract::State;
use axum::{Extension, Json};
use base64::Engine;
use mail_builder::headers::address::Address;
use mail_builder::MessageBuilder;
use postern_directory::prelude::*;
use postern_store::append::Upload;
use postern_store::MailboxId;
use serde::{Deserialize, Serialize};

/// Recipients of one message (To, Cc and Bcc together).
pub const MAX_RECIPIENTS: usize = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    pub name: String,
    #[serde(default)]
    pub content_type: String,
    /// The file's bytes, base64.
    pub data: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compose {
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub cc: String,
    #[serde(default)]
    pub bcc: String,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub in_reply_to: String,
    #[serde(default)]
    pub references: Vec<String>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// The draft this replaces (in Drafts), if any.
    #[serde(default)]
    pub draft_uid: Option<u32>,
    /// The identity to send as (Settings' list); empty: the user's own
    /// address. Not checked here: the submission session's sender-identity
    /// rules decide, as for any mail client.
    #[serde(default)]
    pub from: String,
    /// Rich text from the editor: sanitised (rich.rs), then sent as
    /// multipart/alternative with a text part made from it (`text` unused).
    #[serde(default)]
    pub html: String,
}

#[derive(Serialize)]
pub struct Filed {
    /// The message's UID in Drafts (a draft) or Sent (sent mail).
    pub uid: u32,
}

/// The addresses of a comma-separated list ("Name <a@b>", "a@b").
pub fn parse_list(list: &str) -> WebResult<Vec<String>> {
    let mut out = Vec::new();
    for item in list
        .split([',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if item.chars().any(char::is_control) {
            return Err(WebError::Invalid(
                "an address list has a control character".into(),
            ));
        }
        let addr = match (item.rfind('<'), item.rfind('>')) {
            (Some(a), Some(b)) if a < b => &item[a + 1..b],
            _ => item,
        };
        let addr = addr.trim();
        let ok = addr
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') || d == "localhost")
            && !addr
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\"".contains(c));
        if !ok {
            return Err(WebError::Invalid(format!("`{item}` is not an address")));
        }
        out.push(addr.to_string());
    }
    Ok(out)
}

fn address_list(v: &[String]) -> Address<'static> {
    Address::new_list(v.iter().map(|a| Address::from(a.clone())).collect())
}

/// Angle brackets off a message id, as mail-builder adds its own.
fn bare_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

/// The address `c` is sent from: the identity chosen, else `user`'s own.
pub fn sender(c: &Compose, user: &str) -> WebResult<String> {
    match parse_list(&c.from)?.as_slice() {
        [] => Ok(user.to_string()),
        [one] => Ok(one.clone()),
        _ => Err(WebError::Invalid("send from one address".into())),
    }
}

/// CRLF line ends (RFC 5322 §2.3).
fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// The RFC 5322 message of `c` from `from`, with a fresh Message-ID.
pub fn build(c: &Compose, from: &str, hostname: &str, now: i64) -> WebResult<Vec<u8>> {
    let (to, cc) = (parse_list(&c.to)?, parse_list(&c.cc)?);
    let id = format!("{}@{hostname}", crate::session::random_secret());
    let mut m = MessageBuilder::new()
        .from(Address::from(from.to_string()))
        .subject(c.subject.clone())
        .message_id(id)
        .date(now);
    m = if c.html.trim().is_empty() {
        m.text_body(crlf(&c.text))
    } else {
        let html = super::rich::clean(&c.html)?;
        m.text_body(crlf(&super::rich::to_text(&html)))
            .html_body(crlf(&html))
    };
    if !to.is_empty() {
        m = m.to(address_list(&to));
    }
    if !cc.is_empty() {
        m = m.cc(address_list(&cc));
    }
    if !c.in_reply_to.is_empty() {
        m = m.in_reply_to(bare_id(&c.in_reply_to));
    }
    if !c.references.is_empty() {
        let refs: Vec<String> = c.references.iter().map(|r| bare_id(r)).collect();
        m = m.references(mail_builder::headers::message_id::MessageId::from(refs));
    }
    for a in &c.attachments {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(a.data.as_bytes())
            .map_err(|_| WebError::Invalid(format!("attachment {} is not base64", a.name)))?;
        let ctype = if a.content_type.is_empty() || a.content_type.contains(['\r', '\n']) {
            "application/octet-stream".to_string()
        } else {
            a.content_type.clone()
        };
        m = m.attachment(ctype, a.name.replace(['\r', '\n'], " "), bytes);
    }
    m.write_to_vec()
        .map_err(|e| WebError::Invalid(format!("cannot build the message: {e}")))
}

/// Files `raw` in `mailbox` with `flags`; its new UID.
async fn file(ctx: &Ctx, mailbox: MailboxId, raw: &[u8], flags: &[&str]) -> WebResult<u32> {
    let mut blob = ctx.mail.create_blob().await?;
    blob.write(raw).await?;
    let body = blob.finish().await?;
    let upload = Upload {
        body,
        flags: flags.iter().map(|f| f.to_string()).collect(),
        internal_date: ctx.clock.now(),
    };
    let mut results = ctx.mail.append_batch(vec![(mailbox, vec![upload])]).await?;
    let (_, uids) = results
        .pop()
        .ok_or(WebError::Invalid("not filed".into()))??;
    uids.first()
        .copied()
        .ok_or(WebError::Invalid("not filed".into()))
}

/// Removes the draft `uid` from Drafts (it was sent or saved anew).
async fn drop_draft(ctx: &Ctx, drafts: MailboxId, uid: Option<u32>) -> WebResult<()> {
    if let Some(uid) = uid {
        ctx.mail.expunge(drafts, &[uid]).await?;
    }
    Ok(())
}

pub async fn save_draft(
    State(ctx): State<Ctx>,
    user: User,
    Json(c): Json<Compose>,
) -> WebResult<Json<Filed>> {
    let hostname = ctx.config.borrow().server.hostname.clone();
    let from = sender(&c, &user.address)?;
    let raw = build(&c, &from, &hostname, ctx.clock.now())?;
    let drafts = super::special(&ctx, &user, "\\Drafts").await?;
    let uid = file(&ctx, drafts.id, &raw, &["\\Draft", "\\Seen"]).await?;
    drop_draft(&ctx, drafts.id, c.draft_uid).await?;
    Ok(Json(Filed { uid }))
}

pub async fn send(
    State(ctx): State<Ctx>,
    Extension(peer): Extension<Peer>,
    user: User,
    Json(c): Json<Compose>,
) -> WebResult<Json<Filed>> {
    let mut recipients = parse_list(&c.to)?;
    recipients.extend(parse_list(&c.cc)?);
    recipients.extend(parse_list(&c.bcc)?);
    if recipients.is_empty() || recipients.len() > MAX_RECIPIENTS {
        return Err(WebError::Invalid(format!(
            "name between 1 and {MAX_RECIPIENTS} recipients"
        )));
    }
    let hostname = ctx.config.borrow().server.hostname.clone();
    let from = sender(&c, &user.address)?;
    let raw = build(&c, &from, &hostname, ctx.clock.now())?;
    let (store, who) = (ctx.store.clone(), user.address.clone());
    let info = blocking(move || store.user_by_address(&who))
        .await?
        .ok_or(WebError::Unauthenticated)?;
    submit(&ctx, &peer, info, &from, &recipients, &raw).await?;
    let sent = super::special(&ctx, &user, "\\Sent").await?;
    let uid = file(&ctx, sent.id, &raw, &["\\Seen"]).await?;
    if c.draft_uid.is_some() {
        let drafts = super::special(&ctx, &user, "\\Drafts").await?;
        drop_draft(&ctx, drafts.id, c.draft_uid).await?;
    }
    Ok(Json(Filed { uid }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_lists_take_names_and_refuse_junk() {
        assert_eq!(
            parse_list("Bob <bob@example.org>, carol@example.net;").unwrap(),
            ["bob@example.org", "carol@example.net"]
        );
        assert!(parse_list("bob").is_err());
        assert!(parse_list("<a@b.c>\r\nBcc: x@y.z").is_err());
        assert!(parse_list("").unwrap().is_empty());
    }

    fn compose(subject: &str, name: &str) -> Compose {
        Compose {
            to: "bob@example.org".into(),
            cc: String::new(),
            bcc: "hidden@example.net".into(),
            subject: subject.into(),
            text: "Hi\n.\nBye".into(),
            in_reply_to: "<orig@x.test>".into(),
            references: vec!["<a@x.test>".into(), "<orig@x.test>".into()],
            attachments: vec![Attachment {
                name: name.into(),
                content_type: "text/plain".into(),
                data: "aGVsbG8=".into(),
            }],
            draft_uid: None,
            from: String::new(),
            html: String::new(),
        }
    }

    #[test]
    fn a_built_message_has_threading_headers_and_no_bcc() {
        let raw = build(
            &compose("Re: Hé\r\nBcc: x@y.z", "n\r\name.txt"),
            "a@example.org",
            "mx.test",
            0,
        )
        .unwrap();
        let text = String::from_utf8_lossy(&raw);
        assert!(text.contains("In-Reply-To: <orig@x.test>"), "{text}");
        assert!(text.contains("References: <a@x.test>"), "{text}");
        assert!(!text.contains("hidden@example.net"), "{text}");
        assert!(!text.contains("\r\nBcc:"), "header injection: {text}");
        let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
        assert!(
            m.subject().unwrap().starts_with("Re: Hé"),
            "{:?}",
            m.subject()
        );
        assert_eq!(m.attachments().count(), 1);
        assert_eq!(m.attachments().next().unwrap().contents(), b"hello");
    }

    #[test]
    fn rich_text_goes_as_alternative_with_its_text_and_attachment() {
        let mut c = compose("rich", "a.txt");
        c.html = "<div><b>Bold</b> move<script>alert(1)</script></div><ul><li>x</li></ul>".into();
        let raw = build(&c, "a@example.org", "mx.test", 0).unwrap();
        let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
        assert_eq!(m.body_text(0).unwrap(), "Bold move\r\n- x");
        let html = m.body_html(0).unwrap();
        assert!(
            html.contains("<b>Bold</b>") && !html.contains("script"),
            "{html}"
        );
        let text = String::from_utf8_lossy(&raw);
        assert!(text.contains("multipart/alternative"), "{text}");
        assert!(text.contains("multipart/mixed"), "{text}");
        assert_eq!(m.attachments().count(), 1);
    }

    #[test]
    fn the_sender_is_the_chosen_identity_or_the_user() {
        let mut c = compose("x", "a.txt");
        assert_eq!(sender(&c, "a@example.org").unwrap(), "a@example.org");
        c.from = "Info <info@example.org>".into();
        assert_eq!(sender(&c, "a@example.org").unwrap(), "info@example.org");
        c.from = "a@x.test, b@x.test".into();
        assert!(sender(&c, "a@example.org").is_err());
    }
}
