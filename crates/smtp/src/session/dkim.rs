//! DKIM signing (issue 15, SPEC P8): a message for other domains is signed
//! once, here, before it is queued — by the domain of its From when the
//! sender may use it, or by the local domain whose alias forwards it
//! (postern-dkim's `Origin`). The signatures go with the queued copy only;
//! local recipients get the message as it came.

use super::{Session, Transaction};
use crate::reply::{self, Reply};
use postern_dkim::outbound::sign_message;
use postern_dkim::Origin;
use postern_store::FinishedBlob;
use tokio::io::{AsyncRead, AsyncWrite};

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// The DKIM-Signature fields for the remote copy; empty when unsigned.
    /// A key that cannot sign defers the message (451): it must not leave
    /// unsigned by surprise.
    pub(super) async fn dkim_sign(
        &self,
        blob: &FinishedBlob,
        tx: &Transaction,
    ) -> Result<Vec<u8>, Reply> {
        if tx.remote.is_empty() {
            return Ok(vec![]);
        }
        let origin = Origin {
            from: super::identity::from_addresses(tx.header.bytes())
                .into_iter()
                .next(),
            from_checked: self.may_relay(),
            forwarded_by: tx.forwarded_by.clone(),
        };
        let store = self.ctx.directory.clone();
        // The store's reader: the spool file may be encrypted (issue 14 item 3).
        let file = blob.reader();
        let signed = tokio::task::spawn_blocking(move || {
            let mut file = file?;
            sign_message(&store, &origin, &mut file)
        })
        .await
        .map_err(|e| postern_dkim::DkimError::Sign(e.to_string()));
        let id = blob.id().to_string();
        match signed.and_then(|r| r) {
            Ok(s) if s.fields.is_empty() => Ok(vec![]),
            Ok(s) => {
                let selectors = s.selectors.join(",");
                self.ctx.logs.mail(&[
                    ("event", "dkim-signed"),
                    ("id", &id),
                    ("domain", &s.domain),
                    ("selectors", &selectors),
                ]);
                Ok(s.fields)
            }
            Err(e) => {
                let reason = e.to_string();
                self.ctx
                    .logs
                    .mail(&[("event", "dkim-failed"), ("id", &id), ("reason", &reason)]);
                Err(reply::TEMP_FAILURE)
            }
        }
    }
}
