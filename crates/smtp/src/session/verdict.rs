//! The filter's verdict (crates/filter) computed and applied, in one place,
//! at the end of DATA/BDAT: refused with its reply (550 5.7.1 for a DMARC
//! reject, 451 4.7.5 for a deferral: never a bounce later), or accepted with
//! its Authentication-Results on top, forged ones removed, into INBOX or Junk.

use super::{Kind, Session, Transaction};
use crate::reply::{self, Reply};
use postern_filter::{Action, Client, Context, Lookups, Settings};
use postern_store::BlobWriter;
use tokio::io::{AsyncRead, AsyncWrite};

/// The message after the filter: its body and whether it goes to Junk.
pub(super) struct Filtered {
    pub blob: BlobWriter,
    pub junk: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// Mail from outside: not authenticated, not a trusted client, on port 25.
    pub(super) fn checks_apply(&self) -> bool {
        self.kind == Kind::Mx && self.auth.is_none() && !self.trusted_client()
    }

    /// The filter's lookups, through the server's one resolver.
    pub(super) fn lookups(&self) -> Result<Lookups, Reply> {
        let addr = self.cfg.dns_resolver().map_err(|_| reply::TEMP_FAILURE)?;
        let resolver = self.ctx.resolver.get(addr).map_err(|e| {
            self.security_log("dns-unavailable", &[("error", &e)]);
            reply::TEMP_FAILURE
        })?;
        Ok(Lookups::new(resolver))
    }

    /// Runs the pipeline over the received message and applies its verdict.
    /// `log` receives the authentication results for the mail.log line.
    pub(super) async fn filter(
        &self,
        mut blob: BlobWriter,
        tx: &Transaction,
        log: &mut Vec<(&'static str, String)>,
    ) -> Result<Filtered, Reply> {
        let exempt = !self.checks_apply();
        if exempt && !tx.header.mentions(b"authentication-results") {
            return Ok(Filtered { blob, junk: false });
        }
        let raw = blob.contents().await.map_err(|_| reply::TEMP_FAILURE)?;
        let client = Client {
            ip: self.peer.ip().to_canonical(),
            helo: self.helo.clone().unwrap_or_default(),
            exempt,
        };
        let mut ctx = Context::new(client, &tx.sender, &raw, tx.spf.clone());
        let lookups = self.lookups()?;
        let settings = Settings {
            auth: &self.cfg.auth,
            hostname: &self.cfg.server.hostname,
        };
        let verdict = postern_filter::verdict(&mut ctx, &lookups, &settings).await;
        if !exempt {
            log.extend(verdict.results.log_fields());
        }
        let junk = match &verdict.action {
            Action::Accept => false,
            Action::Junk => true,
            Action::Reject(r) | Action::Defer(r) => {
                let why = verdict.reason.as_deref().unwrap_or("");
                let event = if r.code >= 500 {
                    "dmarc-rejected"
                } else {
                    "dmarc-deferred"
                };
                self.security_log(event, &[("from", &tx.sender), ("reason", why)]);
                return Err(Reply::owned(r.code, r.enhanced, r.text.clone()));
            }
        };
        if junk {
            let why = verdict.reason.as_deref().unwrap_or("");
            self.security_log(
                "dmarc-quarantined",
                &[("from", &tx.sender), ("reason", why)],
            );
        }
        if !verdict.add_headers.is_empty() || !verdict.remove.is_empty() {
            blob.rewrite(&verdict.pieces(&raw))
                .await
                .map_err(|_| reply::TEMP_FAILURE)?;
        }
        Ok(Filtered { blob, junk })
    }
}
