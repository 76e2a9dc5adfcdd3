//! The attachment filter stage (SPEC V4, issue 17 item 6): the parts the
//! antivirus scan listed (names and archive members, one pass) matched
//! against the rules (`ctx.attachment_rules`, reloaded on change). A
//! blocked attachment is replaced by a text part naming it, or the message
//! refused `554 5.7.1` (`attachment.action`). Each block is a mail.log
//! field (`attachment=blocked:NAME`), a security.log line and a counter.

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
    pub(super) fn attachment_stage(
        &self,
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
        if reject {
            let text = format!("Attachment blocked: {}", first.name);
            return Err(Reply::owned(554, "5.7.1", text));
        }
        Ok(blocked.iter().map(|b| (b.part, warning(&b.name))).collect())
    }
}

/// The text that takes the place of a blocked attachment.
fn warning(name: &str) -> String {
    format!(
        "This attachment was removed by the mail server's attachment filter.\n\
         Blocked: {name}\n"
    )
}
