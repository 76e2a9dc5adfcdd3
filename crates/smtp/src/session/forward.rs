//! Forwarding (issue 15, item 9): mail from outside that a local alias
//! sends on to another domain leaves with an SRS envelope sender in the
//! forwarding domain (postern-directory's srs.rs), so SPF at the next hop checks
//! us, not the original sender who never sent to it. Bounces to that address
//! come back through the directory, which reverses it.

use super::{Session, Transaction};
use crate::reply::{self, Reply};
use postern_directory::prelude::*;
use tokio::io::{AsyncRead, AsyncWrite};

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// The envelope sender the queued copy goes out with.
    pub(super) fn queued_sender(&self, tx: &Transaction) -> Result<String, Reply> {
        // Our own users and trusted clients send as themselves; bounces have no sender.
        let forwarder = tx
            .forwarded_by
            .as_deref()
            .filter(|_| !tx.sender.is_empty() && !tx.remote.is_empty() && !self.may_relay());
        match forwarder {
            None => Ok(tx.sender.clone()),
            Some(domain) => self
                .ctx
                .directory
                .srs_forward(&tx.sender, domain)
                .map_err(|_| reply::TEMP_FAILURE),
        }
    }
}
