//! The filter's verdict (crates/filter) computed and applied, in one place,
//! at the end of DATA/BDAT: refused with its reply (550 5.7.1 for a DMARC
//! reject, 451 4.7.5 for a deferral: never a bounce later), or accepted with
//! its Authentication-Results on top, forged ones removed, into INBOX or Junk.
//! The spam stage then scores it (issue 16): tagged into Junk from
//! `spam.tag_score`, refused 550 5.7.1 (or discarded) from `spam.reject_score`.

use super::{Kind, Session, Transaction};
use crate::reply::{self, Reply};
use postern_filter::{Action, Client, Context, Lookups, Settings};
use postern_store::BlobWriter;
use tokio::io::{AsyncRead, AsyncWrite};

/// The message after the filter: its body, whether it goes to Junk, and
/// whether it is thrown away after the 250 (`spam.reject_action = "discard"`).
pub(super) struct Filtered {
    pub blob: BlobWriter,
    pub junk: bool,
    pub discard: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// Mail from outside: not authenticated, not a trusted client, on port 25.
    pub(super) fn checks_apply(&self) -> bool {
        self.kind == Kind::Mx && self.auth.is_none() && !self.trusted_client()
    }

    /// Whether the message gets a spam score: mail from outside, and the
    /// rest too with `spam.scan_authenticated`.
    fn spam_scan(&self) -> bool {
        let s = &self.cfg.spam;
        s.enabled && (s.scan_authenticated || self.checks_apply())
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
    /// `log` receives the authentication results and the spam score for
    /// the mail.log line.
    pub(super) async fn filter(
        &self,
        mut blob: BlobWriter,
        tx: &Transaction,
        log: &mut Vec<(&'static str, String)>,
    ) -> Result<Filtered, Reply> {
        let exempt = !self.checks_apply();
        let scan = self.spam_scan();
        let forged = self.cfg.spam.enabled && tx.header.mentions(b"x-spam-");
        if exempt && !scan && !forged && !tx.header.mentions(b"authentication-results") {
            return Ok(Filtered {
                blob,
                junk: false,
                discard: false,
            });
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
        let mut verdict = postern_filter::verdict(&mut ctx, &lookups, &settings).await;
        if !exempt {
            log.extend(verdict.results.log_fields());
            self.dmarc_report_row(&verdict.results, tx).await;
        }
        let decided = verdict.action.clone();
        self.spam_stage(&ctx, &mut verdict, scan, log);
        let by = if verdict.action == decided {
            "dmarc"
        } else {
            "spam"
        };
        let (junk, discard) = self.disposition(&verdict, tx, by)?;
        if !verdict.add_headers.is_empty() || !verdict.remove.is_empty() {
            blob.rewrite(&verdict.pieces(&raw))
                .await
                .map_err(|_| reply::TEMP_FAILURE)?;
        }
        Ok(Filtered {
            blob,
            junk,
            discard,
        })
    }

    /// Incoming X-Spam-* fields removed, then (when `scan`) the spam score
    /// added to the verdict and to the mail.log fields.
    fn spam_stage(
        &self,
        ctx: &Context<'_>,
        verdict: &mut postern_filter::Verdict,
        scan: bool,
        log: &mut Vec<(&'static str, String)>,
    ) {
        let cfg = &self.cfg.spam;
        if !cfg.enabled {
            return;
        }
        // Issue 16: headers claiming a score from outside go first.
        verdict.remove_fields(postern_filter::spam::forged_headers(ctx));
        if scan {
            let classifier = self.ctx.spam.borrow().clone();
            let spam = postern_filter::spam::score(ctx.raw, &verdict.results, &classifier, cfg);
            log.extend(spam.log_fields());
            verdict.add_spam(ctx, &spam, cfg);
        }
    }

    /// Where the verdict sends the message, (junk, discard), or its refusal;
    /// each but a plain acceptance is a security.log line (`by`: the stage).
    fn disposition(
        &self,
        verdict: &postern_filter::Verdict,
        tx: &Transaction,
        by: &str,
    ) -> Result<(bool, bool), Reply> {
        let why = verdict.reason.as_deref().unwrap_or("");
        let (what, junk, discard) = match &verdict.action {
            Action::Accept => return Ok((false, false)),
            Action::Junk => ("quarantined", true, false),
            Action::Discard => ("discarded", false, true),
            Action::Reject(r) | Action::Defer(r) => {
                let what = if r.code >= 500 {
                    "rejected"
                } else {
                    "deferred"
                };
                let event = format!("{by}-{what}");
                self.security_log(&event, &[("from", &tx.sender), ("reason", why)]);
                return Err(Reply::owned(r.code, r.enhanced, r.text.clone()));
            }
        };
        let event = format!("{by}-{what}");
        self.security_log(&event, &[("from", &tx.sender), ("reason", why)]);
        Ok((junk, discard))
    }
}
