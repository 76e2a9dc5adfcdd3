//! MAIL and RCPT: who sends, who receives, and whether we take it.

use super::{Flow, Kind, Session, Transaction};
use crate::reply::{self, Reply};
use postern_directory::prelude::*;
use postern_directory::split_address;
use postern_directory::Expansion;
use postern_store::{RemoteRecipient, Store, StoreError, UserId};
use smtp_proto::{MailFrom, RcptTo, MAIL_RET_FULL, MAIL_RET_HDRS, MAIL_SMTPUTF8};
use tokio::io::{AsyncRead, AsyncWrite};

/// RFC 5321 §4.5.1: "postmaster" without a domain must be accepted.
const BARE_POSTMASTER: &str = "postmaster";
/// RFC 5321 §4.5.3.1.1: the longest local part, in octets.
pub(super) const MAX_LOCAL_PART: usize = 64;

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) async fn mail(&mut self, from: MailFrom<String>) -> Flow {
        if self.helo.is_none() {
            return self.error(reply::NEED_HELO);
        }
        if self.tx.is_some() {
            return self.error(reply::NESTED_MAIL);
        }
        if !matches!(self.kind, Kind::Mx | Kind::Fetch) && self.auth.is_none() {
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
        if let Err(r) = self.check_space(from.size as u64) {
            return self.error(r);
        }
        let (marked, spf) = match self.check_local_sender(&from.address).await {
            Ok(m) => m,
            Err(r) => return self.error(r),
        };
        let (lists, spf) = match self.sender_lists(&from.address, spf).await {
            Ok(l) => l,
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
            lists,
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
        // Refused before the directory is asked, and logged like the refusals after it.
        let early = if tx.recipients.len() >= self.cfg.smtp.max_recipients as usize {
            Some(reply::TOO_MANY_RCPTS)
        } else if !tx.smtputf8 && !to.address.is_ascii() {
            Some(reply::NEED_SMTPUTF8)
        } else {
            None
        };
        if let Some(r) = early {
            self.log_refused(&to.address, &r);
            return self.error(r);
        }
        if local_part_too_long(&to.address) {
            return self.error(reply::LOCAL_PART_TOO_LONG);
        }
        let store = self.ctx.directory.clone();
        let given = to.address.clone();
        let postmaster = self.cfg.smtp.postmaster.clone();
        // Directory lookups touch SQLite: keep them off the async workers.
        let looked_up =
            tokio::task::spawn_blocking(move || lookup(&store, &given, &postmaster)).await;
        let Ok(Ok(found)) = looked_up else {
            return self.error(reply::TEMP_FAILURE);
        };
        let address = found.address.clone();
        let users: Vec<UserId> = found.expansion.local.iter().copied().collect();
        // Refusals by the lists are logged there (with the list).
        if let Err(r) = self.rcpt_lists(&address, &users).await {
            return self.error(r);
        }
        if found.is_local && !found.expansion.is_empty() {
            // A deferral is policy, not the client's error: not counted toward max_errors.
            if let Err(r) = self.greylist(&address).await {
                self.send(&r);
                return Flow::Continue;
            }
        }
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
                    return self.unknown_recipient(r, &address).await;
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
        if found.is_local && !found.expansion.remote.is_empty() && tx.forwarded_by.is_none() {
            tx.forwarded_by = split_address(&found.address).map(|(_, d)| d);
        }
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

/// A syntax error, not an unknown user: it does not count as a probe.
fn local_part_too_long(address: &str) -> bool {
    address
        .rsplit_once('@')
        .is_some_and(|(local, _)| local.len() > MAX_LOCAL_PART)
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
fn lookup(store: &Store, given: &str, postmaster: &str) -> Result<Lookup, StoreError> {
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
    let mut expansion = store.expand(&address)?;
    if expansion.is_empty() && is_local && local_part.eq_ignore_ascii_case(BARE_POSTMASTER) {
        expansion = postmaster_expansion(store, postmaster)?;
    }
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

/// RFC 5321 §4.5.1: postmaster@ a local domain without its own address
/// reaches `smtp.postmaster`, or the first user created when that is empty.
fn postmaster_expansion(store: &Store, configured: &str) -> Result<Expansion, StoreError> {
    if !configured.is_empty() {
        return store.expand(configured);
    }
    let first = store
        .user_list()?
        .into_iter()
        .filter(|u| u.enabled)
        .min_by_key(|u| u.id);
    match first {
        Some(user) => store.expand(&user.address),
        None => Ok(Expansion::default()),
    }
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

#[cfg(test)]
mod tests {
    #[test]
    fn local_part_limit_is_crossed_at_65_octets() {
        let at = |n: usize| format!("{}@example.org", "a".repeat(n));
        assert!(!super::local_part_too_long(&at(super::MAX_LOCAL_PART)));
        assert!(super::local_part_too_long(&at(super::MAX_LOCAL_PART + 1)));
        assert!(!super::local_part_too_long("postmaster"));
        // Octets, not characters: 33 two-octet characters are 66 octets.
        assert!(super::local_part_too_long(&format!(
            "{}@x.org",
            "é".repeat(33)
        )));
    }
}
