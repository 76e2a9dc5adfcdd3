//! MAIL and RCPT: who sends, who receives, and whether we take it.

use super::{Flow, Kind, Session, Transaction};
use crate::reply::{self, Reply};
use postern_store::directory::split_address;
use postern_store::RemoteRecipient;
use smtp_proto::{MailFrom, RcptTo, MAIL_RET_FULL, MAIL_RET_HDRS, MAIL_SMTPUTF8};
use tokio::io::{AsyncRead, AsyncWrite};

/// RFC 5321 §4.5.1: "postmaster" without a domain must be accepted.
const BARE_POSTMASTER: &str = "postmaster";

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) fn mail(&mut self, from: MailFrom<String>) -> Flow {
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
        let ret = match (
            from.flags & MAIL_RET_FULL != 0,
            from.flags & MAIL_RET_HDRS != 0,
        ) {
            (true, _) => Some("FULL".to_string()),
            (_, true) => Some("HDRS".to_string()),
            _ => None,
        };
        self.tx = Some(Transaction {
            sender: from.address,
            smtputf8,
            env_id: from.env_id,
            ret,
            ..Default::default()
        });
        self.reply(Reply::new(250, "2.1.0", "Sender OK"))
    }

    pub(super) fn rcpt(&mut self, to: RcptTo<String>) -> Flow {
        let Some(tx) = self.tx.as_ref() else {
            return self.error(reply::NEED_MAIL);
        };
        if tx.recipients.len() >= self.cfg.smtp.max_recipients as usize {
            return self.error(reply::TOO_MANY_RCPTS);
        }
        if !tx.smtputf8 && !to.address.is_ascii() {
            return self.error(reply::NEED_SMTPUTF8);
        }
        let address = self.qualify(&to.address);
        let Some((local_part, _)) = split_address(&address) else {
            return self.error(reply::BAD_ADDRESS);
        };
        if local_part.is_empty() {
            return self.error(reply::BAD_ADDRESS);
        }
        match self.route(&address, &to) {
            Ok(()) => {
                if let Some(tx) = self.tx.as_mut() {
                    tx.recipients.push(address);
                }
                self.reply(Reply::new(250, "2.1.5", "Recipient OK"))
            }
            Err(r) => {
                self.log_refused(&address, &r);
                self.error(r)
            }
        }
    }

    /// Adds a recipient's local users and external addresses to the transaction, or says why not.
    fn route(&mut self, address: &str, to: &RcptTo<String>) -> Result<(), Reply> {
        let expansion = self
            .ctx
            .store
            .expand(address)
            .map_err(|_| reply::TEMP_FAILURE)?;
        let (_, domain) = split_address(address).ok_or(reply::BAD_ADDRESS)?;
        let is_local = self
            .ctx
            .store
            .is_local_domain(&domain)
            .map_err(|_| reply::TEMP_FAILURE)?;
        if !is_local && self.auth.is_none() {
            self.security_log(
                "relay-denied",
                &[
                    (
                        "from",
                        &self
                            .tx
                            .as_ref()
                            .map(|t| t.sender.clone())
                            .unwrap_or_default(),
                    ),
                    ("to", address),
                ],
            );
            return Err(reply::RELAY_DENIED);
        }
        if expansion.is_empty() {
            return Err(reply::USER_UNKNOWN);
        }
        let mut room = Vec::new();
        for user in &expansion.local {
            let (used, quota) = self
                .ctx
                .store
                .usage(*user)
                .map_err(|_| reply::TEMP_FAILURE)?;
            if quota == 0 || used < quota {
                room.push(*user);
            }
        }
        if room.is_empty() && expansion.remote.is_empty() {
            return Err(reply::MAILBOX_FULL);
        }
        let tx = self.tx.as_mut().ok_or(reply::NEED_MAIL)?;
        tx.local.extend(room);
        for remote in expansion.remote {
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

    /// "postmaster" alone means the postmaster of our first domain.
    fn qualify(&self, address: &str) -> String {
        if address.eq_ignore_ascii_case(BARE_POSTMASTER) {
            if let Ok(domains) = self.ctx.store.domain_list() {
                if let Some(d) = domains.first() {
                    return format!("postmaster@{d}");
                }
            }
        }
        address.to_string()
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
