//! The security policy (SPEC X4, postern_net::policy) at the command gate:
//! under "require encrypted connection" an unencrypted session may only
//! greet, start TLS, NOOP, RSET and QUIT; everything else — on port 25 too —
//! is answered `530 5.7.0 Must issue a STARTTLS command first` (RFC 3207 §4).
//! Plaintext AUTH under "require secure authentication" is refused in
//! auth.rs with the same reply.

use super::Session;
use crate::reply::{self, Reply};
use postern_net::policy::{self, Gate};
use smtp_proto::Request;
use tokio::io::{AsyncRead, AsyncWrite};

/// RFC 3207 §4: what a server that requires TLS still accepts before it.
fn allowed_before_tls(request: &Request<String>) -> bool {
    matches!(
        request,
        Request::Ehlo { .. }
            | Request::Helo { .. }
            | Request::StartTls
            | Request::Noop { .. }
            | Request::Rset
            | Request::Quit
    )
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// What the policy lets this session do now: from the live config (a
    /// reload while the session waited for this command counts), and the
    /// exempt group.
    pub(super) fn gate(&self) -> Gate {
        let encrypted = self.conn.is_tls() || self.in_process;
        policy::gate(&self.ctx.config.borrow(), encrypted)
    }

    /// Refuses `request` when the policy wants TLS first.
    pub(super) fn policy_check(&self, request: &Request<String>) -> Result<(), Reply> {
        if self.gate().commands() || allowed_before_tls(request) {
            return Ok(());
        }
        self.policy_refused(request.name(), policy::REASON_TLS);
        Err(reply::TLS_REQUIRED)
    }

    /// The security-log line of a policy refusal (SPEC X10).
    pub(super) fn policy_refused(&self, command: &str, reason: &str) {
        self.security_log(
            "policy-refused",
            &[("command", command), ("reason", reason)],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_upgrade_and_harmless_commands() {
        let ok = [
            Request::Ehlo { host: "a".into() },
            Request::Helo { host: "a".into() },
            Request::StartTls,
            Request::Noop {
                value: String::new(),
            },
            Request::Rset,
            Request::Quit,
        ];
        assert!(ok.iter().all(allowed_before_tls));
        let refused = [
            Request::Mail {
                from: smtp_proto::MailFrom {
                    address: String::new(),
                    ..Default::default()
                },
            },
            Request::Auth {
                mechanism: smtp_proto::AUTH_PLAIN,
                initial_response: String::new(),
            },
            Request::Vrfy { value: "a".into() },
            Request::Data,
        ];
        assert!(!refused.iter().any(allowed_before_tls));
    }
}
