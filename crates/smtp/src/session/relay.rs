//! Relay control (SPEC X2, seed 004): mail for other domains is accepted
//! only from SMTP-authenticated users, from clients in `smtp.trusted_group`,
//! and — when `smtp.pop_before_smtp` is set — from an address that logged in
//! by POP3 or IMAP within that time. Everyone else may only send to local
//! domains (554 5.7.1 "Relay access denied", decided in envelope.rs).

use super::Session;
use tokio::io::{AsyncRead, AsyncWrite};

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// Whether this session may send to non-local domains.
    pub(super) fn may_relay(&self) -> bool {
        self.auth.is_some() || self.trusted_client() || self.recent_mailbox_login()
    }

    /// The client is in the trusted IP group.
    pub(super) fn trusted_client(&self) -> bool {
        let group = &self.cfg.smtp.trusted_group;
        !group.is_empty()
            && postern_net::security::current_connection()
                .is_some_and(|(sec, _, ip)| sec.in_group(group, ip))
    }

    fn recent_mailbox_login(&self) -> bool {
        postern_net::security::current_connection()
            .is_some_and(|(sec, _, ip)| sec.mailbox_login_recent(ip))
    }
}
