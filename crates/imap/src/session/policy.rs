//! The security policy (SPEC X4, postern_net::policy) at the command gate:
//! under "require encrypted connection" an unencrypted session may only run
//! CAPABILITY, STARTTLS, NOOP and LOGOUT; anything else gets
//! `NO [PRIVACYREQUIRED]` (RFC 9051 §7.1). LOGIN and plaintext AUTHENTICATE
//! under "require secure authentication" are refused in auth.rs, with
//! LOGINDISABLED advertised (RFC 9051 §6.2.3).

use super::reply::Reply;
use super::Session;
use postern_net::policy::{self, Gate};
use tokio::io::{AsyncRead, AsyncWrite};

/// RFC 9051 §6.1, §6.2.1: what may run before TLS when the policy wants it.
const ALLOWED_BEFORE_TLS: [&str; 4] = ["CAPABILITY", "STARTTLS", "NOOP", "LOGOUT"];

/// The command name of a command line (`tag SP name …`), upper-cased.
fn command_name(line: &[u8]) -> String {
    let mut words = line.split(|&b| b == b' ' || b == b'\r' || b == b'\n');
    let name = words.nth(1).unwrap_or_default();
    String::from_utf8_lossy(name).to_ascii_uppercase()
}

/// The reply that refuses a command or login for lack of TLS.
pub(super) fn privacy_required(text: &'static str) -> Reply {
    Reply::no(text).code("PRIVACYREQUIRED")
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// What the policy lets this session do now (live config, exempt group).
    pub(super) fn gate(&self) -> Gate {
        policy::gate(&self.ctx.config.borrow(), self.conn.is_tls())
    }

    /// The refusal of the command on `line` when the policy wants TLS first.
    pub(super) fn policy_check(&self, line: &[u8]) -> Result<(), Reply> {
        if self.gate().commands() {
            return Ok(());
        }
        let name = command_name(line);
        if ALLOWED_BEFORE_TLS.contains(&name.as_str()) {
            return Ok(());
        }
        self.policy_refused(&name, policy::REASON_TLS);
        Err(privacy_required("Use STARTTLS first: TLS is required"))
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
    use super::command_name;

    #[test]
    fn names_of_command_lines() {
        assert_eq!(command_name(b"a1 capability"), "CAPABILITY");
        assert_eq!(command_name(b"a2 LOGIN alice {6}\r\nsecret"), "LOGIN");
        assert_eq!(command_name(b"a3 Noop\r\n"), "NOOP");
        assert_eq!(command_name(b"a4"), "");
    }
}
