//! The journal archive's envelope for a committed message (SPEC M8, issue 21
//! item 4; the store's archive.rs keeps it). Built only when
//! `archive.enabled`; the committer writes it with the delivery, so the 250
//! covers the archive entry too.

use super::{Session, Transaction};
use postern_store::archive::{envelope_for, ArchiveEnvelope, Direction};
use tokio::io::{AsyncRead, AsyncWrite};

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// The envelope to archive with this message, or None when archiving is off.
    pub(super) fn archive_envelope(&self, tx: &Transaction, now: i64) -> Option<ArchiveEnvelope> {
        envelope_for(
            &self.cfg.archive,
            self.archive_direction(tx),
            &tx.sender,
            tx.recipients.clone(),
            self.client_ip(),
            now,
        )
    }

    /// Users and trusted clients send (out, or local when every recipient
    /// is here); everyone else's mail comes in.
    fn archive_direction(&self, tx: &Transaction) -> Direction {
        if self.auth.is_none() && !self.trusted_client() {
            Direction::In
        } else if tx.remote.is_empty() {
            Direction::Local
        } else {
            Direction::Out
        }
    }
}
