//! MAIL and RCPT: who sends, who receives, and whether we take it.

use super::{Flow, Kind, Session, Transaction};
use crate::reply::{self, Reply};
use postern_store::directory::split_address;
use postern_store::{Expansion, RemoteRecipient, Store, StoreError, UserId};
use smtp_proto::{MailFrom, RcptTo, MAIL_RET_FULL, MAIL_RET_HDRS, MAIL_SMTPUTF8};
use tokio::io::{AsyncRead, AsyncWrite};

/// RFC 5321 §4.5.1: "postmaster" without a domain must be accepted.
const BARE_POSTMASTER: &str = "postmaster";

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) async fn mail(&mut self, from: MailFrom<String>) -> Flow {
        if self.helo.is_none() {
            return self.error(reply::NEED_HELO);
        }
        if self.tx.is_some() {
            return self.error(reply::NESTED_MAIL);
        }
        if self.kind != Kind::Mx && self.auth.is_none() {
            return self.error(reply::AUTH_REQUIRED);
        }
        if from.size as u64 > self.cfg.smtp.max_message_size.0 {
            return self.error(reply::TOO_BIG);
        }
        let smtputf8 = from.flags & MAIL_SMTPUTF8 != 0;
        if !smtputf8 && !from.address.is_ascii() {
            return self.error(reply::NEED_SMTPUTF8);
        }
        if let Err(r) = self.check_sender(&from.address).await {
            return self.error(r);
        }
        let size_limit = match self.sender_size_limit().await {
            Ok(l) => l,
            Err(r) => return self.error(r),
        };
        // RFC 1870 §6.2: a declared size over the limit is refused at MAIL.
        if let Err(r) = size_limit.check(from.size as u64) {
            return self.error(r);
        }
        if let Err(r) = self.check_rate() {
            return self.error(r);
        }
        let (marked, spf) = match self.check_local_sender(&from.address).await {
            Ok(m) => m,
            Err(r) => return self.error(r),
        };
        let ret = match (
            from.flags & MAIL_RET_FULL != 0,
            from.flags & MAIL_RET_HDRS != 0,
        ) {
            (true, _) => Some("FULL".to_string()),
            (_, true) => Some("HDRS".to_string()),
            _ => None,
        };
        self.tx = Some(Transaction {
            marked,
            spf,
            sender: from.address,
            smtputf8,
            env_id: from.env_id,
            ret,
            declared_size: from.size as u64,
            size_limit,
            ..Default::default()
        });
        self.reply(Reply::new(250, "2.1.0", "Sender OK"))
    }

    pub(super) async fn rcpt(&mut self, to: RcptTo<String>) -> Flow {
        let Some(tx) = self.tx.as_ref() else {
            return self.error(reply::NEED_MAIL);
        };
        if tx.recipients.len() >= self.cfg.smtp.max_recipients as usize {
            return self.error(reply::TOO_MANY_RCPTS);
        }
        if !tx.smtputf8 && !to.address.is_ascii() {
            return self.error(reply::NEED_SMTPUTF8);
        }
        let store = self.ctx.store.clone();
        let given = to.address.clone();
        // Directory lookups touch SQLite: keep them off the async workers.
        let looked_up = tokio::task::spawn_blocking(move || lookup(&store, &given)).await;
        let Ok(Ok(found)) = looked_up else {
            return self.error(reply::TEMP_FAILURE);
        };
        let address = found.address.clone();
        match self.route(found, &to) {
            Ok(()) => {
                if let Some(tx) = self.tx.as_mut() {
                    tx.recipients.push(address);
                }
                self.reply(Reply::new(250, "2.1.5", "Recipient OK"))
            }
            Err(r) => {
                self.log_refused(&address, &r);
                if r == reply::USER_UNKNOWN {
                    return self.unknown_recipient(r);
                }
                self.error(r)
            }
        }
    }

    /// Adds a recipient's local users and external addresses to the transaction, or says why not.
    fn route(&mut self, found: Lookup, to: &RcptTo<String>) -> Result<(), Reply> {
        if found.bad_syntax {
            return Err(reply::BAD_ADDRESS);
        }
        if !found.is_local && !self.may_relay() {
            let from = self
                .tx
                .as_ref()
                .map(|t| t.sender.clone())
                .unwrap_or_default();
            self.security_log("relay-denied", &[("from", &from), ("to", &found.address)]);
            return Err(reply::RELAY_DENIED);
        }
        if found.expansion.is_empty() {
            return Err(reply::USER_UNKNOWN);
        }
        if found.with_room.is_empty() && found.expansion.remote.is_empty() {
            return Err(reply::MAILBOX_FULL);
        }
        let tx = self.tx.as_mut().ok_or(reply::NEED_MAIL)?;
        // RFC 1870 §6.2: a recipient whose limit is below the declared size
        // is refused; the others may still take the message.
        if found.size_limit.is_some_and(|l| tx.declared_size > l) {
            return Err(reply::TOO_BIG_FOR_RECIPIENT);
        }
        tx.size_limit
            .narrow(found.size_limit, reply::TOO_BIG_FOR_RECIPIENT);
        tx.local.extend(found.with_room);
        for remote in found.expansion.remote {
            if !tx
                .remote
                .iter()
                .any(|r| r.address.eq_ignore_ascii_case(&remote))
            {
                tx.remote.push(RemoteRecipient {
                    address: remote,
                    orcpt: to.orcpt.clone(),
                    notify: to.flags,
                });
            }
        }
        Ok(())
    }

    fn log_refused(&self, to: &str, r: &Reply) {
        let ip = self.client_ip();
        let from = self.tx.as_ref().map(|t| t.sender.as_str()).unwrap_or("");
        let status = r.status();
        self.ctx.logs.mail(&[
            ("event", "refused"),
            ("service", self.kind.name()),
            ("client", &ip),
            ("user", self.auth_name()),
            ("from", from),
            ("to", to),
            ("result", &status),
        ]);
    }
}

/// What the directory says about one recipient.
struct Lookup {
    /// The address as routed ("postmaster" qualified with our first domain).
    address: String,
    bad_syntax: bool,
    is_local: bool,
    expansion: Expansion,
    /// The expansion's local users who are under quota.
    with_room: Vec<UserId>,
    /// The smallest maximum message size among `with_room`.
    size_limit: Option<u64>,
}

/// Blocking: resolves a recipient against the directory and quotas.
fn lookup(store: &Store, given: &str) -> Result<Lookup, StoreError> {
    let address = qualify(store, given)?;
    let Some((local_part, domain)) = split_address(&address) else {
        return Ok(Lookup {
            address,
            bad_syntax: true,
            is_local: false,
            expansion: Expansion::default(),
            with_room: vec![],
            size_limit: None,
        });
    };
    let bad_syntax = local_part.is_empty();
    let is_local = store.is_local_domain(&domain)?;
    let expansion = store.expand(&address)?;
    let mut with_room = Vec::new();
    for user in &expansion.local {
        let (used, quota) = store.usage(*user)?;
        if quota == 0 || used < quota {
            with_room.push(*user);
        }
    }
    let size_limit = super::size::recipients_limit(store, &with_room)?;
    Ok(Lookup {
        address,
        bad_syntax,
        is_local,
        expansion,
        with_room,
        size_limit,
    })
}

/// RFC 5321 §4.5.1: "postmaster" alone means the postmaster of our first domain.
fn qualify(store: &Store, address: &str) -> Result<String, StoreError> {
    if address.eq_ignore_ascii_case(BARE_POSTMASTER) {
        if let Some(d) = store.domain_list()?.first() {
            return Ok(format!("postmaster@{d}"));
        }
    }
    Ok(address.to_string())
}
