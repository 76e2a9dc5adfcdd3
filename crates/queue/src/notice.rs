//! Turns notices into a DSN message (dsn.rs) addressed to the envelope
//! sender, from the null sender, ready to commit with the recipient updates.

use crate::dsn::{self, Action, DsnRecipient, DsnRequest};
use crate::outcome::{Notice, NoticeKind};
use postern_directory::prelude::*;
use postern_store::{
    scan_bodies, Delivery, MailStore, OutboundMessage, QueueStore, RemoteRecipient, Store,
    StoreError, UserId,
};

/// Most of the original returned in a DSN; beyond it, headers only.
pub const RETURN_LIMIT: usize = 256 * 1024;

/// Why no notice could be made.
#[derive(Debug, thiserror::Error)]
pub enum NoticeError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("reading the queued message: {0}")]
    Io(#[from] std::io::Error),
    #[error("sender {0} is a local address without a mailbox")]
    NoMailbox(String),
    #[error("DKIM: {0}")]
    Dkim(#[from] postern_dkim::DkimError),
}

/// Builds and spools the DSN for `notices` of `msg`; None when there is nothing to say.
pub async fn build(
    directory: &Store,
    store: &dyn QueueStore,
    hostname: &str,
    msg: &OutboundMessage,
    notices: &[Notice],
    now: i64,
) -> Result<Option<Delivery>, NoticeError> {
    if notices.is_empty() || msg.sender.is_empty() {
        return Ok(None);
    }
    let (local, remote) = route_sender(directory, &msg.sender)?;
    let bytes = render(store, hostname, msg, notices, now).await?;
    let mut blob = store.create_blob().await?;
    if remote.is_empty() {
        // Delivered here: the final delivery records the (null) envelope sender (RFC 5321 §4.4).
        blob.write(b"Return-Path: <>\r\n").await?;
    }
    blob.write(&bytes).await?;
    let blob = blob.finish().await?;
    let prepend = match remote.is_empty() {
        true => vec![],
        false => sign(directory, hostname, bytes).await?,
    };
    Ok(Some(Delivery {
        blob,
        sender: String::new(),
        local,
        remote,
        env_id: None,
        ret: None,
        smtputf8: !msg.sender.is_ascii(),
        internal_date: now,
        prepend,
        junk: false,
    }))
}

/// A DSN that leaves is signed like any other mail (SPEC P8): it comes from
/// MAILER-DAEMON at our host name, so the host's domain, or the nearest
/// parent with keys, signs it.
async fn sign(store: &Store, hostname: &str, bytes: Vec<u8>) -> Result<Vec<u8>, NoticeError> {
    let (store, from) = (store.clone(), format!("MAILER-DAEMON@{hostname}"));
    let signed = tokio::task::spawn_blocking(move || {
        postern_dkim::outbound::sign_own(&store, &from, &bytes)
    })
    .await
    .map_err(|e| std::io::Error::other(e.to_string()))??;
    Ok(signed.fields)
}

async fn render(
    store: &dyn MailStore,
    hostname: &str,
    msg: &OutboundMessage,
    notices: &[Notice],
    now: i64,
) -> Result<Vec<u8>, NoticeError> {
    let blob = msg.blob.clone();
    let hostname = hostname.to_string();
    let sender = msg.sender.clone();
    let env_id = msg.env_id.clone();
    let (arrival, return_full) = (
        msg.created,
        msg.ret
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case("FULL")),
    );
    let recipients: Vec<DsnRecipient> = notices.iter().map(|n| dsn_recipient(n, now)).collect();
    // On the store's pool: the DSN is built as the original is read.
    let built = scan_bodies(store, move |bodies| {
        let req = DsnRequest {
            reporting_mta: &hostname,
            recipient: &sender,
            env_id: env_id.as_deref(),
            arrival,
            now,
            return_full,
            recipients,
        };
        let Some(mut file) = bodies.open(&blob)? else {
            let gone = std::io::Error::from(std::io::ErrorKind::NotFound);
            return Err(NoticeError::Io(gone));
        };
        Ok(dsn::build(&req, &mut file, RETURN_LIMIT)?)
    })
    .await??;
    Ok(built)
}

fn dsn_recipient(n: &Notice, now: i64) -> DsnRecipient {
    let (action, will_retry_until) = match n.kind {
        NoticeKind::Failed => (Action::Failed, None),
        NoticeKind::Delayed { until } => (Action::Delayed, Some(until)),
        NoticeKind::Relayed => (Action::Relayed, None),
    };
    DsnRecipient {
        address: n.recipient.address.clone(),
        orcpt: n.recipient.orcpt.as_ref().map(|a| {
            if a.contains(';') {
                a.clone()
            } else {
                format!("rfc822;{a}")
            }
        }),
        action,
        status: n.status.clone(),
        remote_mta: n.mta.clone(),
        diagnostic: n.diagnostic.clone(),
        last_attempt: Some(now),
        will_retry_until,
    }
}

/// The sender's mailbox here, or the queue for a remote sender.
fn route_sender(
    store: &Store,
    sender: &str,
) -> Result<(Vec<UserId>, Vec<RemoteRecipient>), NoticeError> {
    let domain = sender.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
    if !store.is_local_domain(domain)? {
        // RFC 3461 §6.2: a DSN never asks for a DSN.
        let to = RemoteRecipient {
            address: sender.to_string(),
            orcpt: None,
            notify: smtp_proto::RCPT_NOTIFY_NEVER,
        };
        return Ok((vec![], vec![to]));
    }
    let found = store.expand(sender)?;
    if found.is_empty() {
        return Err(NoticeError::NoMailbox(sender.to_string()));
    }
    let never = smtp_proto::RCPT_NOTIFY_NEVER;
    let remote = found
        .remote
        .into_iter()
        .map(|address| RemoteRecipient {
            address,
            orcpt: None,
            notify: never,
        })
        .collect();
    Ok((found.local.into_iter().collect(), remote))
}
