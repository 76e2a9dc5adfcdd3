//! The security policy (SPEC X4, postern_net::policy) at the command gate:
//! under "require encrypted connection" an unencrypted session may only run
//! CAPA, STLS and QUIT; anything else gets `-ERR [SYS/PERM]` (RFC 2449
//! §8.1.2). USER/PASS and plaintext AUTH under "require secure
//! authentication" are refused in auth.rs with `-ERR [AUTH]` (RFC 3206 §4).

use super::Session;
use crate::command::Command;
use crate::reply::{self, Reply};
use postern_net::policy::{self, Gate};
use tokio::io::{AsyncRead, AsyncWrite};

/// RFC 2595 §4: what may run before STLS when the policy wants TLS.
fn allowed_before_tls(command: &Command) -> bool {
    matches!(command, Command::Capa | Command::Stls | Command::Quit)
}

/// The keyword of a command, for the security log.
fn keyword(command: &Command) -> &'static str {
    match command {
        Command::User(_) => "USER",
        Command::Pass(_) => "PASS",
        Command::Apop { .. } => "APOP",
        Command::Auth { .. } => "AUTH",
        Command::Stls => "STLS",
        Command::Capa => "CAPA",
        Command::Quit => "QUIT",
        Command::Noop => "NOOP",
        Command::Stat => "STAT",
        Command::List(_) => "LIST",
        Command::Retr(_) => "RETR",
        Command::Dele(_) => "DELE",
        Command::Rset => "RSET",
        Command::Top(..) => "TOP",
        Command::Uidl(_) => "UIDL",
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// What the policy lets this session do now: from the live config (a
    /// reload while the session waited for this command counts), and the
    /// exempt group.
    pub(super) fn gate(&self) -> Gate {
        policy::gate(&self.ctx.config.borrow(), self.conn.is_tls())
    }

    /// Whether USER/PASS may be used on this connection now: the policy
    /// allows passwords in the clear here, and PLAIN or LOGIN is enabled.
    pub(super) fn login_allowed(&self) -> bool {
        self.gate().plaintext_auth() && self.cfg.auth.plaintext_login()
    }

    /// Refuses `command` when the policy wants TLS first.
    pub(super) fn policy_check(&self, command: &Command) -> Result<(), Reply> {
        if self.gate().commands() || allowed_before_tls(command) {
            return Ok(());
        }
        self.policy_refused(keyword(command), policy::REASON_TLS);
        Err(reply::TLS_REQUIRED)
    }

    /// A plaintext login refused: logged, answered `-ERR [AUTH]` where the
    /// policy wants TLS, plain `-ERR` where no plaintext mechanism is enabled.
    pub(super) fn plaintext_refused(&self, command: &str) -> Reply {
        if !self.cfg.auth.plaintext_login() {
            self.policy_refused(command, "no plaintext mechanism enabled");
            return reply::USER_DISABLED;
        }
        self.policy_refused(command, self.gate().auth_reason());
        reply::PLAINTEXT_REFUSED
    }

    /// The security-log line of a policy refusal (SPEC X10).
    fn policy_refused(&self, command: &str, reason: &str) {
        self.security_log(
            "policy-refused",
            &[("command", command), ("reason", reason)],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_store::Secret;

    #[test]
    fn only_capa_stls_and_quit_before_tls() {
        assert!([Command::Capa, Command::Stls, Command::Quit]
            .iter()
            .all(allowed_before_tls));
        let refused = [
            Command::User("a".into()),
            Command::Pass(Secret::new("p".into())),
            Command::Noop,
            Command::Stat,
        ];
        assert!(!refused.iter().any(allowed_before_tls));
        assert_eq!(keyword(&refused[1]), "PASS");
    }
}
