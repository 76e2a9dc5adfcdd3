//! Maximum message size (SPEC X3, issue 6 item 6): the global
//! `smtp.max_message_size`, the authenticated sender's limit and each local
//! recipient's (a user's own, else their domain's). The smallest applies.
//!
//! RFC 1870 §6.2: a declared SIZE= over the sender's limit is refused at MAIL
//! and over a recipient's at that RCPT only (552 5.3.4); the body is counted
//! as it arrives and the whole message is refused at its end when it crosses
//! the smallest limit of the sender and the recipients accepted so far — one
//! reply for all recipients, so nobody gets it while another is told no.

use super::Session;
use crate::reply::{self, Reply};
use postern_directory::prelude::*;
use postern_store::{Store, StoreError, UserId};
use tokio::io::{AsyncRead, AsyncWrite};

/// The smallest limit met so far and the reply for crossing it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct SizeLimit {
    pub bytes: u64,
    pub reply: Reply,
}

/// No limit of its own: the global one still applies to the body.
impl Default for SizeLimit {
    fn default() -> Self {
        SizeLimit::global(u64::MAX)
    }
}

impl SizeLimit {
    pub fn global(bytes: u64) -> SizeLimit {
        SizeLimit {
            bytes,
            reply: reply::TOO_BIG,
        }
    }

    /// Narrows to `bytes` when it is smaller, with its reply.
    pub fn narrow(&mut self, bytes: Option<u64>, reply: Reply) {
        match bytes {
            Some(b) if b < self.bytes => *self = SizeLimit { bytes: b, reply },
            _ => {}
        }
    }

    /// Refuses `size` (declared or counted) above the limit.
    pub fn check(&self, size: u64) -> Result<(), Reply> {
        if size > self.bytes {
            return Err(self.reply.clone());
        }
        Ok(())
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// At MAIL: the global limit narrowed by the authenticated sender's.
    pub(super) async fn sender_size_limit(&self) -> Result<SizeLimit, Reply> {
        let mut limit = SizeLimit::global(self.cfg.smtp.max_message_size.0);
        let Some(user) = self.auth.as_ref().map(|u| u.address.clone()) else {
            return Ok(limit);
        };
        let store = self.ctx.directory.clone();
        match tokio::task::spawn_blocking(move || store.max_message_size_of(&user)).await {
            Ok(Ok(own)) => {
                limit.narrow(own, reply::TOO_BIG_FOR_SENDER);
                Ok(limit)
            }
            _ => Err(reply::TEMP_FAILURE),
        }
    }

    /// The limit the body is held to now: the transaction's, never above the
    /// global one (which a reload may have lowered since MAIL).
    pub(super) fn body_size_limit(&self) -> SizeLimit {
        let mut limit = SizeLimit::global(self.cfg.smtp.max_message_size.0);
        if let Some(tx) = &self.tx {
            limit.narrow(Some(tx.size_limit.bytes), tx.size_limit.reply.clone());
        }
        limit
    }
}

/// Blocking: the smallest limit among the local users a recipient reaches.
pub(super) fn recipients_limit(store: &Store, users: &[UserId]) -> Result<Option<u64>, StoreError> {
    let mut smallest: Option<u64> = None;
    for user in users {
        if let Some(b) = store.max_message_size_of_id(*user)? {
            smallest = Some(smallest.map_or(b, |s| s.min(b)));
        }
    }
    Ok(smallest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_limit_and_its_reply_win() {
        let mut l = SizeLimit::global(1000);
        assert_eq!(l.check(1000), Ok(()));
        assert_eq!(l.check(1001), Err(reply::TOO_BIG));
        l.narrow(None, reply::TOO_BIG_FOR_SENDER);
        l.narrow(Some(2000), reply::TOO_BIG_FOR_SENDER);
        assert_eq!(l.bytes, 1000);
        l.narrow(Some(500), reply::TOO_BIG_FOR_SENDER);
        l.narrow(Some(700), reply::TOO_BIG_FOR_RECIPIENT);
        assert_eq!(
            (l.bytes, l.check(501)),
            (500, Err(reply::TOO_BIG_FOR_SENDER))
        );
        l.narrow(Some(100), reply::TOO_BIG_FOR_RECIPIENT);
        assert_eq!(l.check(101), Err(reply::TOO_BIG_FOR_RECIPIENT));
        assert_eq!(l.check(0), Ok(()));
    }
}
