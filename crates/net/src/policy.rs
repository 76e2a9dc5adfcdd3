//! The security policy (SPEC X4, seeds 003 and 004): what a connection may
//! do before it is encrypted, decided in one place for SMTP, IMAP and POP3.
//! Each protocol says no in its standard words — SMTP `530 5.7.0` (RFC 3207
//! §4), IMAP `LOGINDISABLED` and `NO [PRIVACYREQUIRED]` (RFC 9051 §6.2.3,
//! §7.1), POP3 `-ERR [AUTH]` (RFC 3206 §4) — and offers only what is allowed
//! ([`crate::sasl::offered`]).
//!
//! The policy is read from the live config at each command, so a reload
//! applies to the next command of every open session.

use postern_config::{Config, SecurityPolicy};

/// What the policy lets one connection do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Everything, passwords in the clear included (TLS, an exempt client,
    /// or policy "none").
    Open,
    /// No password in the clear; challenge-response mechanisms are fine.
    NoPlaintextAuth,
    /// Only the TLS upgrade and harmless commands (CAPABILITY, NOOP, QUIT…).
    TlsOnly,
}

/// The `reason` of a `policy-refused` security-log line.
pub const REASON_PLAINTEXT: &str = "plaintext authentication requires TLS";
pub const REASON_TLS: &str = "security policy requires an encrypted connection";

impl Gate {
    /// Pure: the gate for `policy` on a connection with or without TLS,
    /// from a client in the exempt group or not.
    pub fn decide(policy: SecurityPolicy, tls: bool, exempt: bool) -> Gate {
        if tls || exempt {
            return Gate::Open;
        }
        match policy {
            SecurityPolicy::None => Gate::Open,
            SecurityPolicy::SecureAuth => Gate::NoPlaintextAuth,
            SecurityPolicy::Encrypted => Gate::TlsOnly,
        }
    }

    /// Whether a password may be sent in the clear (PLAIN, LOGIN, IMAP
    /// LOGIN, POP3 USER/PASS).
    pub fn plaintext_auth(self) -> bool {
        self == Gate::Open
    }

    /// Whether anything beyond the TLS upgrade and harmless commands may run.
    pub fn commands(self) -> bool {
        self != Gate::TlsOnly
    }

    /// The security-log reason for a login this gate refuses.
    pub fn auth_reason(self) -> &'static str {
        match self {
            Gate::TlsOnly => REASON_TLS,
            _ => REASON_PLAINTEXT,
        }
    }
}

/// The gate for the connection this task serves: its client is exempt when
/// it is in `security.policy_exempt` (outside a served connection, as in
/// protocol unit tests, nobody is).
pub fn gate(config: &Config, tls: bool) -> Gate {
    let security = &config.security;
    let exempt = !tls && is_exempt(&security.policy_exempt);
    Gate::decide(security.policy, tls, exempt)
}

fn is_exempt(group: &str) -> bool {
    if group.is_empty() {
        return false;
    }
    crate::security::current_connection().is_some_and(|(s, _, ip)| s.in_group(group, ip))
}

#[cfg(test)]
mod tests {
    use super::Gate;
    use postern_config::{Config, SecurityPolicy as P};

    #[test]
    fn tls_opens_every_policy() {
        for policy in [P::None, P::SecureAuth, P::Encrypted] {
            assert_eq!(Gate::decide(policy, true, false), Gate::Open);
        }
    }

    #[test]
    fn without_tls() {
        assert_eq!(Gate::decide(P::None, false, false), Gate::Open);
        assert_eq!(
            Gate::decide(P::SecureAuth, false, false),
            Gate::NoPlaintextAuth
        );
        assert_eq!(Gate::decide(P::Encrypted, false, false), Gate::TlsOnly);
    }

    #[test]
    fn exempt_clients_are_under_none() {
        assert_eq!(Gate::decide(P::SecureAuth, false, true), Gate::Open);
        assert_eq!(Gate::decide(P::Encrypted, false, true), Gate::Open);
    }

    #[test]
    fn what_each_gate_allows() {
        assert!(Gate::Open.plaintext_auth() && Gate::Open.commands());
        assert!(!Gate::NoPlaintextAuth.plaintext_auth() && Gate::NoPlaintextAuth.commands());
        assert!(!Gate::TlsOnly.plaintext_auth() && !Gate::TlsOnly.commands());
        assert_eq!(Gate::TlsOnly.auth_reason(), super::REASON_TLS);
        assert_eq!(Gate::NoPlaintextAuth.auth_reason(), super::REASON_PLAINTEXT);
    }

    #[test]
    fn default_config_outside_a_connection() {
        let mut config = Config::default();
        assert_eq!(super::gate(&config, false), Gate::NoPlaintextAuth);
        config.security.policy_exempt = "trusted".into();
        assert_eq!(super::gate(&config, false), Gate::NoPlaintextAuth);
        assert_eq!(super::gate(&config, true), Gate::Open);
    }
}
