//! The antivirus stage (issue 17 items 4, 5 and 9): the message read once
//! for the verdict pipeline is scanned on the blocking pool by the
//! integrated engine (`ctx.av`, swapped whole on `postern av update`).
//! An infected message gets `av.action`: refused `554 5.7.1 Virus found:
//! NAME` at the end of DATA/BDAT, accepted and thrown away, or delivered
//! with the infected part replaced by a text warning (postern_av::replace).
//! An unscannable one is delivered with an `X-Postern-Virus-Scan` header,
//! or treated as infected (`av.unscannable`). Every finding is a mail.log
//! field, a security.log line and a counter.

use super::av_notify::{forwarded, Notice};
use super::{Session, Transaction};
use crate::reply::{self, Reply};
use postern_av::clamd::Answer;
use postern_av::{Limits, Location, ScanReport, Verdict};
use postern_config::{EngineFailure, UnscannableAction, VirusAction};
use postern_store::counters::Counter;
use postern_store::quarantine::QuarantineEnvelope;
use postern_store::BlobWriter;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};

/// The header an unscannable message delivered anyway carries.
pub(super) const SCAN_HEADER: &str = "X-Postern-Virus-Scan";

/// An engine failed and `av.engine_failure = "tempfail"` (issue 17 item 3).
const ENGINE_FAILED: Reply = Reply::new(
    451,
    "4.7.1",
    "Virus scanner temporarily unavailable, try again later",
);

/// What the stage does to an accepted message.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct AvOutcome {
    /// Accepted with a 250 and not kept (`av.action = "discard"`).
    pub discard: bool,
    /// Header fields (without CR LF) to put on top.
    pub headers: Vec<String>,
    /// The message to deliver instead (`av.action = "replace"`).
    pub replaced: Option<Vec<u8>>,
    /// The message came with X-Postern-Virus-Scan fields: they go.
    pub forged: bool,
}

/// A finding the action applies to: a virus, or an unscannable part
/// counted as one.
struct Finding {
    name: String,
    at: Location,
    /// The leaf to replace (0: the whole body).
    leaf: usize,
    /// The attachment's name, when it has one.
    file: Option<String>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// Scans `raw` and decides, for viruses (when `av.enabled`) and for
    /// attachments (attachments.rs); a refusal is the reply to send.
    pub(super) async fn av_stage(
        &self,
        raw: &Arc<Vec<u8>>,
        tx: &Transaction,
        log: &mut Vec<(&'static str, String)>,
    ) -> Result<AvOutcome, Reply> {
        let ((report, leaf), clamd) = tokio::join!(self.av_scan(raw), self.clamd_scan(raw));
        let parts = report.parts.clone();
        let mut out = AvOutcome {
            forged: tx.header.mentions(b"x-postern-virus-scan"),
            ..Default::default()
        };
        let mut targets = Vec::new();
        if self.cfg.av.enabled {
            let finding = self.virus_verdict(report, leaf, clamd, &mut out.headers, tx, log)?;
            if let Some(f) = finding {
                if self.cfg.av.quarantine {
                    self.quarantine(raw, &f, tx, log).await?;
                }
                self.notify_virus(raw, &f, tx).await;
                self.av_action(f, tx, &mut out, &mut targets)?;
            }
            if out.discard {
                return Ok(out);
            }
        }
        targets.extend(self.attachment_stage(raw, &parts, tx, log).await?);
        if !targets.is_empty() {
            out.replaced = Some(postern_av::replace::replace_parts(raw, &targets));
        }
        Ok(out)
    }

    /// Both engines' verdicts as one finding for `av.action`, or none (with
    /// a warning header for an unscannable message delivered anyway).
    fn virus_verdict(
        &self,
        mut report: ScanReport,
        leaf: Option<usize>,
        clamd: Option<Answer>,
        headers: &mut Vec<String>,
        tx: &Transaction,
        log: &mut Vec<(&'static str, String)>,
    ) -> Result<Option<Finding>, Reply> {
        let infected = matches!(report.verdict, Verdict::Infected { .. });
        // Both engines at once: infected if either says so (issue 17 item 3).
        match clamd {
            Some(Answer::Infected(name)) if !infected => {
                let at = Location::default();
                report.verdict = Verdict::Infected { name, at };
            }
            Some(Answer::Unscannable(reason)) if report.verdict == Verdict::Clean => {
                let at = Location::default();
                report.verdict = Verdict::Unscannable { reason, at };
            }
            Some(Answer::Error(e)) if !infected => headers.push(self.engine_failed(&e, tx, log)?),
            _ => {}
        }
        let (name, at, leaf) = match report.verdict {
            Verdict::Clean => return Ok(None),
            Verdict::Infected { name, at } => {
                self.ctx.counters.bump(Counter::VirusFound);
                log.push(("virus", name.clone()));
                let leaf = leaf.unwrap_or(at.part);
                (name, at, leaf)
            }
            Verdict::Unscannable { reason, at } => {
                self.ctx.counters.bump(Counter::AvUnscannable);
                let reason = reason.to_string();
                log.push(("unscannable", reason.clone()));
                if self.cfg.av.unscannable == UnscannableAction::Deliver {
                    let at_s = at.to_string();
                    self.security_log(
                        "av-unscannable",
                        &[("from", &tx.sender), ("reason", &reason), ("at", &at_s)],
                    );
                    headers.push(format!("{SCAN_HEADER}: unscannable ({reason})"));
                    return Ok(None);
                }
                let leaf = at.part;
                (format!("Unscannable ({reason})"), at, leaf)
            }
        };
        let file = file_name(&report.parts, leaf);
        Ok(Some(Finding {
            name,
            at,
            leaf,
            file,
        }))
    }

    /// clamd's answer, when `av.clamd` is set.
    async fn clamd_scan(&self, raw: &[u8]) -> Option<Answer> {
        let cfg = &self.cfg.av;
        if !cfg.enabled || cfg.clamd.is_empty() {
            return None;
        }
        Some(super::av_clamd::scan(&cfg.clamd, raw, cfg.clamd_timeout.0).await)
    }

    /// An engine that could not answer: `451 4.7.1` with
    /// `av.engine_failure = "tempfail"`, else the warning header to add.
    fn engine_failed(
        &self,
        error: &str,
        tx: &Transaction,
        log: &mut Vec<(&'static str, String)>,
    ) -> Result<String, Reply> {
        self.ctx.counters.bump(Counter::AvEngineFailed);
        log.push(("av-engine-failed", format!("clamd: {error}")));
        self.security_log(
            "av-engine-failed",
            &[("from", &tx.sender), ("engine", "clamd"), ("error", error)],
        );
        match self.cfg.av.engine_failure {
            EngineFailure::Tempfail => Err(ENGINE_FAILED),
            EngineFailure::Deliver => Ok(format!("{SCAN_HEADER}: not scanned by clamd ({error})")),
        }
    }

    /// The scan on the blocking pool; with `av.action = "replace"` and a
    /// find in the raw message only, also the leaf that holds it.
    async fn av_scan(&self, raw: &Arc<Vec<u8>>) -> (ScanReport, Option<usize>) {
        let engine = self.ctx.av.engine();
        let limits = limits(&self.cfg.av);
        let locate = self.cfg.av.action == VirusAction::Replace;
        let raw = raw.clone();
        let job = tokio::task::spawn_blocking(move || {
            let report = engine.scan_message(&raw, &limits);
            let leaf = match &report.verdict {
                Verdict::Infected { at, .. } if locate && at.part == 0 => {
                    engine.infected_leaf(&raw, &limits)
                }
                _ => None,
            };
            (report, leaf)
        });
        match job.await {
            Ok(done) => done,
            // As if it had panicked here: the session ends, the server goes on.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    /// `av.action` applied: the refusal, or the outcome and the part to replace.
    fn av_action(
        &self,
        f: Finding,
        tx: &Transaction,
        out: &mut AvOutcome,
        targets: &mut Vec<(usize, String)>,
    ) -> Result<(), Reply> {
        let action = self.cfg.av.action;
        let what = match action {
            VirusAction::Reject => "rejected",
            VirusAction::Discard => "discarded",
            VirusAction::Replace => "replaced",
        };
        let at = f.at.to_string();
        self.security_log(
            &format!("virus-{what}"),
            &[("from", &tx.sender), ("virus", &f.name), ("at", &at)],
        );
        match action {
            // Issue 17 item 4: refused at the end of DATA, naming the virus.
            VirusAction::Reject => {
                let text = format!("Virus found: {}", f.name);
                return Err(Reply::owned(554, "5.7.1", text));
            }
            VirusAction::Discard => out.discard = true,
            VirusAction::Replace => targets.push((f.leaf, warning(&f))),
        }
        Ok(())
    }

    /// `av.notify_admin`: the admin told, with the message per `av.forward`.
    async fn notify_virus(&self, raw: &[u8], f: &Finding, tx: &Transaction) {
        let cfg = &self.cfg.av;
        if cfg.notify_admin.is_empty() {
            return;
        }
        let action = match cfg.action {
            VirusAction::Reject => "refused",
            VirusAction::Discard => "discarded",
            VirusAction::Replace => "delivered with the part replaced",
        };
        let text = format!(
            "Virus found: {}\nFrom: {}\nTo: {}\nClient: {}\nWhere: {}\nThe message was {action}.\n",
            f.name,
            tx.sender,
            tx.recipients.join(", "),
            self.client_ip(),
            f.at
        );
        let attached = forwarded(raw, cfg.forward, &[(f.leaf, warning(f))]);
        self.send_notice(Notice {
            to: cfg.notify_admin.clone(),
            subject: format!("Virus found: {}", f.name),
            text,
            attached,
        })
        .await;
    }

    /// Keeps the message as received in the quarantine, before the action
    /// (a refusal included) is answered: a failure to keep it is a 451.
    async fn quarantine(
        &self,
        raw: &[u8],
        f: &Finding,
        tx: &Transaction,
        log: &mut Vec<(&'static str, String)>,
    ) -> Result<(), Reply> {
        let mut blob = self
            .ctx
            .store
            .create_blob()
            .await
            .map_err(|_| reply::TEMP_FAILURE)?;
        blob.write(raw).await.map_err(|_| reply::TEMP_FAILURE)?;
        let blob = blob.finish().await.map_err(|_| reply::TEMP_FAILURE)?;
        // Signed now, as it would have been (dkim.rs): a release sends it on
        // without the session that alone could judge its From.
        let prepend = self.dkim_sign(&blob, tx).await?;
        let env = QuarantineEnvelope {
            sender: tx.sender.clone(),
            recipients: tx.recipients.clone(),
            local: tx.local.iter().copied().collect(),
            remote: tx.remote.clone(),
            reason: f.name.clone(),
            received: time::OffsetDateTime::now_utc().unix_timestamp(),
            smtputf8: tx.smtputf8,
            prepend,
        };
        let store = self.ctx.directory.clone();
        let kept = tokio::task::spawn_blocking(move || store.quarantine_add(blob, &env)).await;
        match kept {
            Ok(Ok(id)) => {
                log.push(("quarantine", id.to_string()));
                Ok(())
            }
            Ok(Err(e)) => {
                self.security_log("quarantine-failed", &[("error", &e.to_string())]);
                Err(reply::TEMP_FAILURE)
            }
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    /// Applies an outcome to the body file; returns the bytes now in it.
    pub(super) async fn av_apply(
        &self,
        blob: &mut BlobWriter,
        raw: Arc<Vec<u8>>,
        out: AvOutcome,
    ) -> Result<Arc<Vec<u8>>, Reply> {
        if out.headers.is_empty() && out.replaced.is_none() && !out.forged {
            return Ok(raw);
        }
        let mut body = out.replaced.map(Arc::new).unwrap_or(raw);
        if out.forged {
            body = Arc::new(postern_av::replace::without_field(&body, SCAN_HEADER));
        }
        let mut new = Vec::with_capacity(body.len() + 128);
        for h in out.headers {
            new.extend_from_slice(h.as_bytes());
            new.extend_from_slice(b"\r\n");
        }
        new.extend_from_slice(&body);
        blob.rewrite(&[&new])
            .await
            .map_err(|_| reply::TEMP_FAILURE)?;
        Ok(Arc::new(new))
    }
}

/// `[av]`'s limits for the engine.
fn limits(cfg: &postern_config::Av) -> Limits {
    Limits {
        max_depth: cfg.max_depth,
        max_files: cfg.max_files,
        max_scan_bytes: cfg.max_scan_bytes.0,
        max_ratio: cfg.max_ratio,
    }
}

/// The declared file name of leaf `index`.
fn file_name(parts: &[postern_av::PartInfo], index: usize) -> Option<String> {
    parts.iter().find(|p| p.index == index)?.filename.clone()
}

/// The text that takes the place of an infected part.
fn warning(f: &Finding) -> String {
    let mut names: Vec<&str> = f.file.iter().map(String::as_str).collect();
    names.extend(f.at.path.iter().map(String::as_str));
    let file = match names.is_empty() {
        true => String::new(),
        false => format!(" in {}", names.join(" > ")),
    };
    format!(
        "This part of the message was removed by the mail server.\n\
         Virus found: {}{file}\n",
        f.name
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warning_names_the_virus_and_the_file() {
        let f = Finding {
            name: "Eicar-Test-Signature".into(),
            at: Location {
                part: 2,
                path: vec!["eicar.com".into()],
            },
            leaf: 2,
            file: Some("a.zip".into()),
        };
        let w = warning(&f);
        assert!(w.contains("Virus found: Eicar-Test-Signature in a.zip > eicar.com"));
    }

    #[test]
    fn limits_follow_the_config() {
        let mut c = postern_config::Av::default();
        assert_eq!(limits(&c), Limits::default());
        c.max_depth = 2;
        assert_eq!(limits(&c).max_depth, 2);
    }
}
