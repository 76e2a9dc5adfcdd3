//! `[security]`: the brute-force guard (SPEC X7) and the security policy
//! (X4). Failed logins are counted per client address across every protocol
//! and listener; past `login_failures` within `login_window` the address is
//! refused on every listener for `block_for`. The policy says what an
//! unencrypted connection may do; clients in `policy_exempt` are held to
//! [`SecurityPolicy::None`].

use crate::access::check_group;
use crate::Duration;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Security {
    /// Failed logins from one address within `login_window` that block it (0: never block).
    pub login_failures: u32,
    pub login_window: Duration,
    /// How long a blocked address is refused.
    pub block_for: Duration,
    /// Unknown recipients asked for by one client within
    /// `unknown_recipients_window` that block it for `block_for` (0: never);
    /// from half of them on, each refusal is slowed (issue 13 item 4).
    pub unknown_recipients: u32,
    pub unknown_recipients_window: Duration,
    /// Addresses in this IP group are never blocked (empty: none).
    pub exempt: String,
    /// What an unencrypted connection may do (SPEC X4).
    pub policy: SecurityPolicy,
    /// Clients in this IP group are treated as under `policy = "none"` (empty: nobody).
    pub policy_exempt: String,
}

/// The security policy (SPEC X4, seeds 003 and 004).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecurityPolicy {
    /// Passwords in the clear are accepted without TLS too.
    None,
    /// "Require secure authentication": no plaintext-password login without
    /// TLS; challenge-response mechanisms still work before it.
    #[default]
    SecureAuth,
    /// "Require encrypted connection": without TLS, only the upgrade to it
    /// and harmless commands.
    Encrypted,
}

impl Default for Security {
    fn default() -> Self {
        Security {
            login_failures: 10,
            login_window: Duration(std::time::Duration::from_secs(60)),
            block_for: Duration(std::time::Duration::from_secs(300)),
            unknown_recipients: 50,
            unknown_recipients_window: Duration(std::time::Duration::from_secs(3600)),
            exempt: String::new(),
            policy: SecurityPolicy::default(),
            policy_exempt: String::new(),
        }
    }
}

impl Security {
    pub fn validate(&self) -> Result<(), String> {
        for (key, d) in [
            ("security.login_window", self.login_window),
            ("security.block_for", self.block_for),
            (
                "security.unknown_recipients_window",
                self.unknown_recipients_window,
            ),
        ] {
            if d.0.as_secs() == 0 {
                return Err(format!("{key}: must be at least one second"));
            }
        }
        check_group("security.exempt", &self.exempt)?;
        check_group("security.policy_exempt", &self.policy_exempt)
    }
}

#[cfg(test)]
mod tests {
    use super::SecurityPolicy;
    use crate::Config;

    #[test]
    fn defaults() {
        let s = Config::default().security;
        assert_eq!(s.login_failures, 10);
        assert_eq!(s.login_window.0.as_secs(), 60);
        assert_eq!(s.block_for.0.as_secs(), 300);
        assert_eq!(s.exempt, "");
        assert_eq!(s.unknown_recipients, 50);
        assert_eq!(s.unknown_recipients_window.0.as_secs(), 3600);
        assert_eq!(s.policy, SecurityPolicy::SecureAuth);
        assert_eq!(s.policy_exempt, "");
    }

    #[test]
    fn policy_names() {
        for (name, policy) in [
            ("none", SecurityPolicy::None),
            ("secure-auth", SecurityPolicy::SecureAuth),
            ("encrypted", SecurityPolicy::Encrypted),
        ] {
            let c = Config::parse(&format!("[security]\npolicy = \"{name}\"\n")).unwrap();
            assert_eq!(c.security.policy, policy);
        }
        assert!(Config::parse("[security]\npolicy = \"tls\"\n").is_err());
        let c = Config::parse("[security]\npolicy_exempt = \"trusted\"\n").unwrap();
        assert_eq!(c.security.policy_exempt, "trusted");
        let e = Config::parse("[security]\npolicy_exempt = \"a b\"\n").unwrap_err();
        assert!(e.contains("security.policy_exempt"), "{e}");
    }

    #[test]
    fn limits_are_crossed() {
        let c = Config::parse("[security]\nlogin_failures = 3\nlogin_window = \"1s\"\nblock_for = \"2m\"\nexempt = \"lan\"\n")
            .unwrap();
        assert_eq!(c.security.block_for.0.as_secs(), 120);
        let e = Config::parse("[security]\nlogin_window = \"0s\"\n").unwrap_err();
        assert!(e.contains("security.login_window"), "{e}");
        let e = Config::parse("[security]\nblock_for = \"500ms\"\n").unwrap_err();
        assert!(e.contains("security.block_for"), "{e}");
        assert!(Config::parse("[security]\nexempt = \"a b\"\n").is_err());
        assert!(Config::parse("[security]\nlogin_failures = 0\n").is_ok());
        assert!(Config::parse("[security]\nunknown_recipients = 0\n").is_ok());
        let e = Config::parse("[security]\nunknown_recipients_window = \"0s\"\n").unwrap_err();
        assert!(e.contains("security.unknown_recipients_window"), "{e}");
        // Issue 13: too large for the clock (as i64 seconds it went negative:
        // every block ended before it began).
        for key in ["block_for", "login_window"] {
            let e = Config::parse(&format!("[security]\n{key} = \"18446744073709551615s\"\n"))
                .unwrap_err();
            assert!(e.contains(key) && e.contains("100 years"), "{e}");
        }
    }
}
