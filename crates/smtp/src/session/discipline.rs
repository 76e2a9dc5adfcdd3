//! Protocol discipline on port 25 (issue 13 item 7, P5): clients that do not
//! wait for our replies are spam engines, not MTAs. The early talker (before
//! the greeting) is caught in greet.rs; here, after a command line is read and
//! before it runs, a client with more input already sent is refused when
//! - it pipelines without EHLO (after HELO, or before any greeting): the
//!   PIPELINING extension exists only in EHLO sessions (RFC 2920 §3.1), as
//!   Postfix's `smtpd_forbid_unauth_pipelining`. The EHLO line itself may
//!   have company: what follows it is judged once its reply is decided;
//! - the command is DATA: the message came before the 354 (RFC 2920 §3.1:
//!   DATA ends a group; RFC 5321 §4.1.1.4), Sendmail's "transaction stuffing".
//!
//! STARTTLS has its own rule (starttls.rs: what follows is discarded), and
//! what follows QUIT is never read.

use super::{Flow, Kind, Session};
use crate::reply::Reply;
use smtp_proto::Request;
use tokio::io::{AsyncRead, AsyncWrite};

/// Why the client's pipelined input is not allowed after `request`, if it is not.
fn forbidden(
    request: &Request<String>,
    esmtp: bool,
    pipelining: bool,
    early_body: bool,
) -> Option<&'static str> {
    match request {
        Request::Quit | Request::StartTls | Request::Ehlo { .. } => None,
        Request::Data if early_body => Some("message sent before the 354"),
        _ if pipelining && !esmtp => Some("commands pipelined without EHLO"),
        _ => None,
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// Refuses and closes when the client sent more than `request` allows
    /// without waiting for its reply.
    pub(super) async fn check_discipline(&mut self, request: &Request<String>) -> Result<(), Flow> {
        let smtp = &self.cfg.smtp;
        if self.kind != Kind::Mx {
            return Ok(());
        }
        let Some(reason) = forbidden(
            request,
            self.esmtp,
            smtp.forbid_unauth_pipelining,
            smtp.forbid_early_body,
        ) else {
            return Ok(());
        };
        if !self.conn.input_pending().await {
            return Ok(());
        }
        let discarded = self.conn.discard_buffered();
        self.security_log(
            "protocol-violation",
            &[
                ("command", request.name()),
                ("bytes", &discarded.to_string()),
                ("reason", reason),
            ],
        );
        self.tx = None;
        let text = format!(
            "{} Error: SMTP protocol synchronization ({reason})",
            self.cfg.server.hostname
        );
        self.send(&Reply::owned(554, "5.5.0", text));
        Err(Flow::Close)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_may_not_be_pipelined() {
        let helo = Request::Helo { host: "a".into() };
        let ehlo = Request::Ehlo { host: "a".into() };
        let mail = Request::Mail {
            from: smtp_proto::MailFrom {
                address: String::new(),
                ..Default::default()
            },
        };
        // After EHLO, anything but the message before its 354.
        assert_eq!(forbidden(&mail, true, true, true), None);
        assert_eq!(
            forbidden(&Request::Data, true, true, true),
            Some("message sent before the 354")
        );
        // Without EHLO nothing, HELO included; EHLO's own line may be followed.
        assert!(forbidden(&mail, false, true, true).is_some());
        assert!(forbidden(&helo, false, true, true).is_some());
        assert_eq!(forbidden(&ehlo, false, true, true), None);
        // Each setting off turns its check off.
        assert_eq!(forbidden(&mail, false, false, true), None);
        assert_eq!(forbidden(&Request::Data, true, true, false), None);
        assert!(forbidden(&Request::Data, false, true, false).is_some());
        assert_eq!(forbidden(&Request::Quit, false, true, true), None);
        assert_eq!(forbidden(&Request::StartTls, false, true, true), None);
    }
}
