//! Sender identity (SPEC X8). Authenticated senders: the envelope sender
//! and every From: address must be the user's own, an alias that delivers
//! to them, a group they belong to, or the own address of a user who
//! delegated to them; anything else is 553 5.7.1.
//! Unauthenticated mail from outside that claims a local domain (MAIL FROM
//! or From:) is refused with 550 5.7.1 or marked, per `smtp.local_sender`.

use super::{Kind, Session, Transaction};
use crate::reply::{self, Reply};
use postern_config::LocalSender;
use postern_directory::prelude::*;
use postern_filter::{AuthResult, SpfOutcome};
use tokio::io::{AsyncRead, AsyncWrite};

/// Header bytes kept for the From: check; a header block beyond this is not examined further.
pub const MAX_HEADER_CAPTURE: usize = 64 * 1024;

/// Collects the message start until the blank line that ends the header block.
#[derive(Debug, Default)]
pub(super) struct HeaderCapture {
    bytes: Vec<u8>,
    done: bool,
}

impl HeaderCapture {
    pub fn feed(&mut self, data: &[u8]) {
        if self.done {
            return;
        }
        let room = MAX_HEADER_CAPTURE.saturating_sub(self.bytes.len());
        let start = self.bytes.len().saturating_sub(3);
        self.bytes.extend_from_slice(&data[..data.len().min(room)]);
        let tail = &self.bytes[start..];
        if tail.windows(4).any(|w| w == b"\r\n\r\n")
            || tail.windows(2).any(|w| w == b"\n\n")
            || self.bytes.len() >= MAX_HEADER_CAPTURE
        {
            self.done = true;
        }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether the header block may contain `needle` (lower case): true when
    /// it does, or when the block was too long to be captured whole.
    pub fn mentions(&self, needle: &[u8]) -> bool {
        self.bytes.len() >= MAX_HEADER_CAPTURE
            || self
                .bytes
                .windows(needle.len())
                .any(|w| w.eq_ignore_ascii_case(needle))
    }
}

/// The addresses in the From: fields of a header block (RFC 5322 §3.6.2).
pub fn from_addresses(header: &[u8]) -> Vec<String> {
    let Some(msg) = mail_parser::MessageParser::new().parse_headers(header) else {
        return vec![];
    };
    msg.from()
        .map(|a| {
            a.iter()
                .filter_map(|addr| addr.address().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The header added to marked messages (`smtp.local_sender = "mark"`).
pub const MARK_HEADER: &str = "X-Postern-Warning: unauthenticated sender in a local domain\r\n";

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// Unauthenticated MX mail only; None when the policy does not apply.
    fn local_sender_policy(&self) -> Option<LocalSender> {
        let policy = self.cfg.smtp.local_sender;
        let applies = self.auth.is_none() && self.kind == Kind::Mx && policy != LocalSender::Accept;
        // Trusted clients (smtp.trusted_group) may use local senders.
        (applies && !self.trusted_client()).then_some(policy)
    }

    /// The first of `senders` in a local domain, if any.
    async fn local_claim(&self, senders: Vec<String>) -> Result<Option<String>, Reply> {
        let store = self.ctx.directory.clone();
        let found = tokio::task::spawn_blocking(move || {
            for s in senders {
                let domain = s
                    .rsplit_once('@')
                    .map(|(_, d)| d.to_string())
                    .unwrap_or_default();
                if !domain.is_empty() && store.is_local_domain(&domain)? {
                    return Ok(Some(s));
                }
            }
            Ok::<_, postern_store::StoreError>(None)
        })
        .await;
        match found {
            Ok(Ok(v)) => Ok(v),
            _ => Err(reply::TEMP_FAILURE),
        }
    }

    /// At MAIL: refuses (or returns true = mark) a local envelope sender
    /// from outside, unless SPF passes for its domain (issue 15 item 7); the
    /// SPF result is returned for the end of data.
    pub(super) async fn check_local_sender(
        &self,
        sender: &str,
    ) -> Result<(bool, Option<SpfOutcome>), Reply> {
        let Some(policy) = self.local_sender_policy().filter(|_| !sender.is_empty()) else {
            return Ok((false, None));
        };
        let Some(s) = self.local_claim(vec![sender.to_string()]).await? else {
            return Ok((false, None));
        };
        let spf = self.spf_now(sender).await;
        if spf
            .as_ref()
            .is_some_and(|o| o.mail_from == AuthResult::Pass)
        {
            return Ok((false, spf));
        }
        self.local_verdict(policy, &s, "envelope").map(|m| (m, spf))
    }

    /// SPF of this client for `sender`, when SPF checks are on.
    pub(super) async fn spf_now(&self, sender: &str) -> Option<SpfOutcome> {
        if !self.cfg.auth.spf {
            return None;
        }
        let lookups = self.lookups().ok()?;
        let helo = self.helo.clone().unwrap_or_default();
        let ip = self.peer.ip().to_canonical();
        let host = &self.cfg.server.hostname;
        let check = postern_filter::check_spf(&lookups, ip, &helo, sender, host);
        tokio::time::timeout(self.cfg.auth.check_timeout.0, check)
            .await
            .ok()
    }

    /// At the end of data: the From: addresses of unauthenticated mail. A
    /// From: in the domain SPF passed for at MAIL FROM is not a spoof.
    async fn check_local_from(&self, tx: &Transaction) -> Result<(), Reply> {
        let Some(policy) = self.local_sender_policy() else {
            return Ok(());
        };
        let spf_domain = tx
            .spf
            .as_ref()
            .filter(|o| o.mail_from == AuthResult::Pass)
            .map(|o| o.mail_from_domain.clone());
        let froms: Vec<String> = from_addresses(tx.header.bytes())
            .into_iter()
            .filter(|a| {
                let domain = a.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
                spf_domain
                    .as_deref()
                    .is_none_or(|d| !d.eq_ignore_ascii_case(domain))
            })
            .collect();
        match self.local_claim(froms).await? {
            None => Ok(()),
            Some(s) => self.local_verdict(policy, &s, "from-header").map(|_| ()),
        }
    }

    fn local_verdict(&self, policy: LocalSender, sender: &str, what: &str) -> Result<bool, Reply> {
        let action = if policy == LocalSender::Reject {
            "refused"
        } else {
            "marked"
        };
        self.security_log(
            "local-sender-spoof",
            &[("sender", sender), ("where", what), ("action", action)],
        );
        match policy {
            LocalSender::Reject => Err(reply::LOCAL_SENDER_NEEDS_AUTH),
            _ => Ok(true),
        }
    }

    fn identity_user(&self) -> Option<String> {
        let enforce = self.cfg.smtp.sender_identity;
        self.auth
            .as_ref()
            .filter(|_| enforce)
            .map(|u| u.address.clone())
    }

    /// MAIL FROM of an authenticated session. The null sender stays allowed
    /// (clients send auto-replies with it).
    pub(super) async fn check_sender(&self, sender: &str) -> Result<(), Reply> {
        match self.identity_user() {
            Some(user) if !sender.is_empty() => {
                self.check_one(user, vec![sender.to_string()], "envelope")
                    .await
            }
            _ => Ok(()),
        }
    }

    /// Every From: address of the message an authenticated session sent.
    pub(super) async fn check_from_header(&self, tx: &Transaction) -> Result<(), Reply> {
        match self.identity_user() {
            Some(user) => {
                self.check_one(user, from_addresses(tx.header.bytes()), "from-header")
                    .await
            }
            // Unauthenticated: not a local domain's, per smtp.local_sender.
            None => self.check_local_from(tx).await,
        }
    }

    async fn check_one(&self, user: String, senders: Vec<String>, what: &str) -> Result<(), Reply> {
        let store = self.ctx.directory.clone();
        let (u, list) = (user.clone(), senders.clone());
        let verdict = tokio::task::spawn_blocking(move || {
            list.iter().find_map(|s| match store.may_send_as(&u, s) {
                Ok(true) => None,
                Ok(false) => Some(Ok(s.clone())),
                Err(e) => Some(Err(e)),
            })
        })
        .await;
        match verdict {
            Ok(None) => Ok(()),
            Ok(Some(Ok(bad))) => {
                self.security_log(
                    "spoofing-refused",
                    &[("user", &user), ("sender", &bad), ("where", what)],
                );
                Err(reply::NOT_YOUR_ADDRESS)
            }
            _ => Err(reply::TEMP_FAILURE),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_stops_at_the_header_end_and_the_limit() {
        let mut c = HeaderCapture::default();
        c.feed(b"From: a@b\r\nSubject: x\r");
        c.feed(b"\n\r\nbody body");
        c.feed(b"more body");
        assert!(c.bytes().ends_with(b"\r\n\r\nbody body"));
        let mut big = HeaderCapture::default();
        for _ in 0..100 {
            big.feed(&[b'x'; 1000]);
        }
        assert_eq!(big.bytes().len(), MAX_HEADER_CAPTURE);
    }

    #[test]
    fn from_addresses_are_parsed() {
        assert_eq!(
            from_addresses(b"From: \"A\" <a@x.org>, b@y.org\r\nTo: c@z\r\n\r\n"),
            ["a@x.org", "b@y.org"]
        );
        assert_eq!(
            from_addresses(b"Subject: none\r\n\r\n"),
            Vec::<String>::new()
        );
        assert_eq!(from_addresses(b""), Vec::<String>::new());
    }
}
