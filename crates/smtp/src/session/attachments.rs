//! The attachment filter stage (SPEC V4, issue 17 item 6): the parts the
//! antivirus scan listed (names and archive members, one pass) matched
//! against the rules (`ctx.attachment_rules`, reloaded on change). A
//! blocked attachment is replaced by a text part naming it, or the message
//! refused `554 5.7.1` (`attachment.action`). Each block is a mail.log
//! field (`attachment=blocked:NAME`), a security.log line and a counter.

use super::av_notify::{forwarded, Notice};
use super::{Session, Transaction};
use crate::reply::Reply;
use postern_av::attachment::check;
use postern_av::PartInfo;
use postern_config::AttachmentAction;
use postern_store::counters::Counter;
use tokio::io::{AsyncRead, AsyncWrite};

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// Whether any rule is in force (then every message's parts are listed).
    pub(super) fn attachment_rules_apply(&self) -> bool {
        !self.ctx.attachment_rules.borrow().is_empty()
    }

    /// The parts to replace, each with its warning; or the refusal.
    pub(super) async fn attachment_stage(
        &self,
        raw: &[u8],
        parts: &[PartInfo],
        tx: &Transaction,
        log: &mut Vec<(&'static str, String)>,
    ) -> Result<Vec<(usize, String)>, Reply> {
        let rules = self.ctx.attachment_rules.borrow().clone();
        let blocked = check(&rules, parts);
        let Some(first) = blocked.first() else {
            return Ok(Vec::new());
        };
        self.ctx.counters.bump(Counter::AttachmentBlocked);
        let names: Vec<&str> = blocked.iter().map(|b| b.name.as_str()).collect();
        log.push(("attachment", format!("blocked:{}", names.join(","))));
        let reject = self.cfg.attachment.action == AttachmentAction::Reject;
        let event = if reject {
            "attachment-rejected"
        } else {
            "attachment-replaced"
        };
        self.security_log(event, &[("from", &tx.sender), ("name", &names.join(","))]);
        let targets: Vec<(usize, String)> =
            blocked.iter().map(|b| (b.part, warning(&b.name))).collect();
        let what = match reject {
            true => "refused",
            false => "delivered without it",
        };
        self.attachment_notices(raw, &names.join(", "), what, &targets, tx)
            .await;
        if reject {
            let text = format!("Attachment blocked: {}", first.name);
            return Err(Reply::owned(554, "5.7.1", text));
        }
        Ok(targets)
    }

    /// `attachment.notify_admin` and `attachment.warn_sender` (the latter
    /// only for an authenticated sender: no backscatter).
    async fn attachment_notices(
        &self,
        raw: &[u8],
        names: &str,
        what: &str,
        targets: &[(usize, String)],
        tx: &Transaction,
    ) {
        let cfg = &self.cfg.attachment;
        let to = tx.recipients.join(", ");
        if !cfg.notify_admin.is_empty() {
            let text = format!(
                "Attachment blocked: {names}\nFrom: {}\nTo: {to}\nClient: {}\nThe message was {what}.\n",
                tx.sender,
                self.client_ip()
            );
            self.send_notice(Notice {
                to: cfg.notify_admin.clone(),
                subject: format!("Attachment blocked: {names}"),
                text,
                attached: forwarded(raw, cfg.forward, targets),
            })
            .await;
        }
        if cfg.warn_sender && self.auth.is_some() && !tx.sender.is_empty() {
            let text = format!(
                "Your message to {to} contained an attachment this server does not accept: {names}\n\
                 The message was {what}.\n"
            );
            self.send_notice(Notice {
                to: tx.sender.clone(),
                subject: format!("Attachment blocked: {names}"),
                text,
                attached: None,
            })
            .await;
        }
    }
}

/// The text that takes the place of a blocked attachment.
fn warning(name: &str) -> String {
    format!(
        "This attachment was removed by the mail server's attachment filter.\n\
         Blocked: {name}\n"
    )
}
