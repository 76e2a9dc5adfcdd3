//! The filter's verdict (crates/filter) computed and applied, in one place,
//! at the end of DATA/BDAT: refused with its reply (550 5.7.1 for a DMARC
//! reject, 451 4.7.5 for a deferral: never a bounce later), or accepted with
//! its Authentication-Results on top, forged ones removed, into INBOX or Junk.
//! The spam stage then scores it (issue 16): tagged into Junk from
//! `spam.tag_score`, refused 550 5.7.1 (or discarded) from `spam.reject_score`,
//! after the custom rules (item 5); and auto-learned (autolearn.rs).
//! DNS lists (lists.rs) add their points first; a URIBL block refuses 554 5.7.1;
//! whitelisted mail is not scored.

use super::{Kind, Session, Transaction};
use crate::reply::{self, Reply};
use postern_filter::SpamOutcome;
use postern_filter::{Action, Client, Context, Lookups, Settings};
use postern_spam::rules::Decision;
use postern_store::counters::Counter;
use postern_store::BlobWriter;
use std::sync::Arc;
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
        s.enabled && (s.scan_authenticated || self.checks_apply() || self.kind == Kind::Fetch)
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
        // Issue 17: every message is scanned (av.rs) and its attachments
        // checked (attachments.rs), over the bytes read once here.
        let mut read = None;
        if self.cfg.av.enabled || self.attachment_rules_apply() {
            let raw = Arc::new(blob.contents().await.map_err(|_| reply::TEMP_FAILURE)?);
            let out = self.av_stage(&raw, tx, log).await?;
            if out.discard {
                return Ok(Filtered {
                    blob,
                    junk: false,
                    discard: true,
                });
            }
            read = Some(self.av_apply(&mut blob, raw, out).await?);
        }
        let forged = self.cfg.spam.enabled && tx.header.mentions(b"x-spam-");
        if exempt && !scan && !forged && !tx.header.mentions(b"authentication-results") {
            return Ok(Filtered {
                blob,
                junk: false,
                discard: false,
            });
        }
        // Shared with the blocking pool, where the spam score is computed.
        let raw = match read {
            Some(raw) => raw,
            None => Arc::new(blob.contents().await.map_err(|_| reply::TEMP_FAILURE)?),
        };
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
        // SPEC P1 (lists.rs): whitelisted mail is not scored; DNS lists add tests.
        let list_exempt = self.list_exempt(tx, &verdict.results);
        let scan = scan && !list_exempt;
        if list_exempt {
            log.push(("whitelisted", "yes".into()));
        }
        let (tests, uribl_block) = match list_exempt {
            false => self.message_lists(ctx.raw, log).await,
            true => (vec![], None),
        };
        self.spam_stage(&ctx, &raw, &mut verdict, scan, tests, log)
            .await;
        let mut by = if verdict.action == decided {
            "dmarc"
        } else {
            "spam"
        };
        if let Some((r, why)) =
            uribl_block.filter(|_| !matches!(verdict.action, Action::Reject(_) | Action::Defer(_)))
        {
            let (code, enhanced, text) = (r.code, r.enhanced, r.text.into_owned());
            verdict.action = Action::Reject(postern_filter::Reply {
                code,
                enhanced,
                text,
            });
            verdict.reason = Some(why);
            by = "uribl";
        }
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
    async fn spam_stage(
        &self,
        ctx: &Context<'_>,
        raw: &Arc<Vec<u8>>,
        verdict: &mut postern_filter::Verdict,
        scan: bool,
        tests: Vec<postern_spam::Test>,
        log: &mut Vec<(&'static str, String)>,
    ) {
        let cfg = &self.cfg.spam;
        if !cfg.enabled {
            return;
        }
        // Issue 16: headers claiming a score from outside go first.
        verdict.remove_fields(postern_filter::spam::forged_headers(ctx));
        if scan {
            let (mut spam, decision) = self.spam_score(raw, &verdict.results).await;
            // A rule's accept or reject stands; otherwise the DNS lists' points add.
            if decision.is_none() {
                spam.add_tests(tests, cfg);
            }
            log.extend(spam.log_fields());
            verdict.add_spam_ruled(ctx, &spam, decision, cfg);
            let deferred = matches!(verdict.action, Action::Defer(_));
            match postern_filter::spam_rules::auto_learn(&spam, cfg) {
                Some(class) if !deferred => self.auto_learn(ctx.raw, class, &ctx.mail_from),
                _ => {}
            }
        }
    }

    /// The rules' and classifier's score: CPU work (about 0.6 ms, bounded by
    /// the tokenizer's and the rules' limits), so on the blocking pool, not on
    /// an async worker that other sessions share.
    async fn spam_score(
        &self,
        raw: &Arc<Vec<u8>>,
        results: &postern_filter::Results,
    ) -> (SpamOutcome, Option<Decision>) {
        let classifier = self.ctx.spam.borrow().clone();
        let rules = self.ctx.spam_rules.borrow().clone();
        let (raw, results, cfg) = (raw.clone(), results.clone(), self.cfg.spam.clone());
        let job = tokio::task::spawn_blocking(move || {
            postern_filter::spam_rules::score_with_rules(&raw, &results, &classifier, &rules, &cfg)
        });
        match job.await {
            Ok(scored) => scored,
            // As if it had panicked here: the session ends, the server goes on.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
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
        if let Some(c) = counter(&verdict.action, by) {
            self.ctx.counters.bump(c);
        }
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

/// The counter (issue 16 item 8, `postern spam stats`) a verdict's action
/// bumps, by the stage that decided it; none for acceptances and deferrals.
fn counter(action: &Action, by: &str) -> Option<Counter> {
    let spam = by == "spam";
    match action {
        Action::Reject(_) if by == "uribl" => Some(Counter::DnsblBlocked),
        Action::Junk if spam => Some(Counter::Tagged),
        Action::Junk => Some(Counter::DmarcQuarantined),
        Action::Discard => Some(Counter::Discarded),
        Action::Reject(_) if spam => Some(Counter::Rejected),
        Action::Reject(_) => Some(Counter::DmarcRejected),
        Action::Accept | Action::Defer(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_and_quarantine_has_its_counter() {
        let r = postern_filter::Reply {
            code: 550,
            enhanced: "5.7.1",
            text: String::new(),
        };
        assert_eq!(counter(&Action::Junk, "spam"), Some(Counter::Tagged));
        assert_eq!(
            counter(&Action::Junk, "dmarc"),
            Some(Counter::DmarcQuarantined)
        );
        assert_eq!(
            counter(&Action::Reject(r.clone()), "spam"),
            Some(Counter::Rejected)
        );
        assert_eq!(
            counter(&Action::Reject(r.clone()), "dmarc"),
            Some(Counter::DmarcRejected)
        );
        assert_eq!(
            counter(&Action::Reject(r.clone()), "uribl"),
            Some(Counter::DnsblBlocked)
        );
        assert_eq!(counter(&Action::Discard, "spam"), Some(Counter::Discarded));
        assert_eq!(counter(&Action::Defer(r), "dmarc"), None);
        assert_eq!(counter(&Action::Accept, "spam"), None);
    }
}
