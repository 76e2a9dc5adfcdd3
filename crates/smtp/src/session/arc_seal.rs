//! ARC sealing of forwards (issue 15, item 9; RFC 8617 §5.1): mail from
//! outside that a local alias or forward sends on to another domain gets,
//! besides its SRS sender (forward.rs) and DKIM signature (dkim.rs), one ARC
//! set by the forwarding domain: our Authentication-Results as
//! ARC-Authentication-Results, an ARC-Message-Signature and an ARC-Seal
//! whose cv= is the incoming chain's result. Sealed once, before queueing,
//! with the domain's RSA key; the set goes with the queued copy only.
//!
//! ARC is advice to the next hop: a message that cannot be sealed (no RSA
//! key, an incoming chain already failed, a lookup that failed) leaves
//! unsealed, and mail.log says why.

use super::{Session, Transaction};
use mail_auth::{AuthenticatedMessage, DkimResult};
use postern_filter::claims_authserv_id;
use postern_store::FinishedBlob;
use tokio::io::{AsyncRead, AsyncWrite};

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// The forwarding domain that seals this message, if one does.
    fn arc_sealer(&self, tx: &Transaction) -> Option<String> {
        let a = &self.cfg.auth;
        let applies = a.arc && a.arc_seal && !tx.remote.is_empty() && self.checks_apply();
        tx.forwarded_by.clone().filter(|_| applies)
    }

    /// The ARC set for the remote copy (CRLF-terminated fields); empty when
    /// the message is not sealed.
    pub(super) async fn arc_seal(&self, blob: &FinishedBlob, tx: &Transaction) -> Vec<u8> {
        let Some(domain) = self.arc_sealer(tx) else {
            return vec![];
        };
        let id = blob.id().to_string();
        match self.try_arc_seal(blob, &domain).await {
            Ok(set) if !set.is_empty() => {
                self.ctx
                    .logs
                    .mail(&[("event", "arc-sealed"), ("id", &id), ("domain", &domain)]);
                set
            }
            Ok(_) => vec![],
            Err(reason) => {
                self.ctx.logs.mail(&[
                    ("event", "arc-not-sealed"),
                    ("id", &id),
                    ("domain", &domain),
                    ("reason", &reason),
                ]);
                vec![]
            }
        }
    }

    async fn try_arc_seal(&self, blob: &FinishedBlob, domain: &str) -> Result<Vec<u8>, String> {
        let store = self.ctx.directory.clone();
        let d = domain.to_string();
        let key = tokio::task::spawn_blocking(move || postern_dkim::arc::sealing_key(&store, &d))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        // A domain without keys does not sign or seal: nothing to say about it.
        let Some(key) = key else {
            return Ok(vec![]);
        };
        // The store's reader: the spool file may be encrypted (issue 14 item 3).
        let file = blob.reader();
        let raw = tokio::task::spawn_blocking(move || {
            let mut raw = Vec::new();
            std::io::Read::read_to_end(&mut file?, &mut raw).map(|_| raw)
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
        let msg = AuthenticatedMessage::parse(&raw).ok_or("no header to seal")?;
        let results = self
            .our_results(&msg)
            .ok_or("no Authentication-Results of ours")?;
        let lookups = self.lookups().map_err(|_| "no resolver".to_string())?;
        let within = self.cfg.auth.check_timeout.0;
        let seal = |chain: &mail_auth::ArcOutput<'_>| match chain.result() {
            DkimResult::TempError(_) => Err("the incoming ARC chain: temperror".to_string()),
            // RFC 8617 §5.1.2: a chain that failed before is not extended.
            _ if !chain.can_be_sealed() => Err("the incoming ARC chain has cv=fail".to_string()),
            _ => postern_dkim::arc::seal(domain, &key, &msg, &results, chain)
                .map_err(|e| e.to_string()),
        };
        tokio::time::timeout(
            within,
            postern_filter::verify_arc_chain(&lookups, &msg, seal),
        )
        .await
        .map_err(|_| "verifying the incoming ARC chain timed out".to_string())?
    }

    /// Our Authentication-Results value (the filter put it on top) as one string.
    fn our_results(&self, msg: &AuthenticatedMessage<'_>) -> Option<String> {
        let a = &self.cfg.auth;
        let id = if a.authserv_id.is_empty() {
            &self.cfg.server.hostname
        } else {
            &a.authserv_id
        };
        msg.headers
            .iter()
            .find(|(name, value)| {
                name.eq_ignore_ascii_case(b"Authentication-Results")
                    && claims_authserv_id(value, id)
            })
            .map(|(_, value)| String::from_utf8_lossy(value).trim().to_string())
    }
}
