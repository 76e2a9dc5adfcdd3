//! `[auth]`: which SASL mechanisms the server offers (SPEC X5), APOP, the
//! SCRAM iteration count, and the password policy (SPEC D7, checked in
//! `password_policy.rs`).

use serde::{Deserialize, Serialize};

/// Every mechanism an admin may enable, strongest first (the order they are
/// advertised in).
pub const MECHANISMS: [&str; 7] = [
    "SCRAM-SHA-256",
    "SCRAM-SHA-1",
    "DIGEST-MD5",
    "CRAM-MD5",
    "NTLM",
    "PLAIN",
    "LOGIN",
];

/// RFC 7677 §4: SCRAM iteration counts SHOULD be at least 4096.
pub const MIN_SCRAM_ITERATIONS: u32 = 4096;
/// Above this a login costs more than the Argon2 check it stands beside.
pub const MAX_SCRAM_ITERATIONS: u32 = 1_000_000;
/// A password policy cannot ask for less than this.
pub const MIN_PASSWORD_LENGTH: u32 = 1;
/// Nor for more than the CLI accepts at all.
pub const MAX_PASSWORD_LENGTH: u32 = 1024;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Auth {
    /// SASL mechanisms offered by SMTP AUTH, IMAP AUTHENTICATE and POP3 AUTH.
    /// PLAIN and LOGIN only over TLS; the others also before it.
    pub mechanisms: Vec<String>,
    /// POP3 APOP (RFC 1939 §7): a timestamp in the greeting; needs the
    /// password kept (encrypted) per user.
    pub apop: bool,
    /// PBKDF2 iterations of new SCRAM keys (RFC 5802 §2.2).
    pub scram_iterations: u32,
    /// Shortest password `user add` and `user passwd` accept, in characters.
    pub password_min_length: u32,
    /// How many of the classes lower case, upper case, digit and other a
    /// password must mix (0 to 4).
    pub password_classes: u32,
    /// A password must not contain the user's local part or domain name.
    pub password_forbid_names: bool,
    /// SPF (RFC 7208) of HELO and MAIL FROM for unauthenticated, untrusted mail.
    pub spf: bool,
    /// DKIM verification (RFC 6376, 8463) of every signature.
    pub dkim: bool,
    /// DMARC (RFC 7489): alignment and the sender domain's policy.
    pub dmarc: bool,
    /// ARC chain verification (RFC 8617).
    pub arc: bool,
    /// ARC sealing (RFC 8617 §5.1) of mail from outside that a local alias or
    /// forward sends to another domain, by the forwarding domain's RSA DKIM key
    /// (needs `arc`: the seal's cv= is the incoming chain's result).
    pub arc_seal: bool,
    /// Apply DMARC policies (reject, quarantine); false: only record results.
    pub dmarc_enforce: bool,
    /// A DMARC temperror: accept, or defer with 451 4.7.5.
    pub dmarc_temperror: crate::msgauth::TempErrorAction,
    /// From: domain → the action taken on its DMARC failure instead of its policy.
    pub dmarc_overrides: std::collections::BTreeMap<String, crate::msgauth::DmarcAction>,
    /// ARC sealers (d= of ARC-Seal) whose chain may override a DMARC failure.
    pub arc_trusted_sealers: Vec<String>,
    /// authserv-id of our Authentication-Results (RFC 8601 §2.5); "" = server.hostname.
    pub authserv_id: String,
    /// Time allowed for all the DNS lookups of one message; past it: temperror.
    pub check_timeout: crate::Duration,
    /// DMARC aggregate reports (RFC 7489 §7.2) to the `rua` of the domains
    /// whose mail we checked; off by default.
    pub dmarc_reports: bool,
    /// The reporting period: results are collected per period and each
    /// period's report is sent after it ends.
    pub dmarc_report_interval: crate::Duration,
    /// The reporting organisation (report_metadata org_name); "" = server.hostname.
    pub dmarc_report_org: String,
    /// The From: address of the reports; "" = postmaster@server.hostname.
    pub dmarc_report_from: String,
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            mechanisms: ["PLAIN", "LOGIN", "SCRAM-SHA-256"]
                .map(String::from)
                .to_vec(),
            apop: false,
            scram_iterations: MIN_SCRAM_ITERATIONS,
            password_min_length: 10,
            password_classes: 3,
            password_forbid_names: true,
            spf: true,
            dkim: true,
            dmarc: true,
            arc: true,
            arc_seal: true,
            dmarc_enforce: true,
            dmarc_temperror: crate::msgauth::TempErrorAction::Accept,
            dmarc_overrides: Default::default(),
            arc_trusted_sealers: vec![],
            authserv_id: String::new(),
            check_timeout: crate::Duration(std::time::Duration::from_secs(20)),
            dmarc_reports: false,
            dmarc_report_interval: crate::Duration(std::time::Duration::from_secs(86400)),
            dmarc_report_org: String::new(),
            dmarc_report_from: String::new(),
        }
    }
}

impl Auth {
    /// True when `name` (any case) is enabled.
    pub fn enabled(&self, name: &str) -> bool {
        self.mechanisms.iter().any(|m| m.eq_ignore_ascii_case(name))
    }

    /// Whether plaintext-password logins outside SASL — IMAP LOGIN, POP3
    /// USER/PASS — are allowed: only when PLAIN or LOGIN is enabled, as they
    /// carry the same password in the clear (issue 6).
    pub fn plaintext_login(&self) -> bool {
        self.enabled("PLAIN") || self.enabled("LOGIN")
    }

    /// The enabled mechanisms in canonical spelling, strongest first.
    pub fn enabled_mechanisms(&self) -> Vec<&'static str> {
        MECHANISMS.into_iter().filter(|m| self.enabled(m)).collect()
    }

    pub fn validate(&self) -> Result<(), String> {
        if let Some(bad) = self
            .mechanisms
            .iter()
            .find(|m| !MECHANISMS.iter().any(|k| k.eq_ignore_ascii_case(m)))
        {
            return Err(format!(
                "auth.mechanisms: unknown mechanism `{bad}` (known: {})",
                MECHANISMS.join(", ")
            ));
        }
        if !(MIN_SCRAM_ITERATIONS..=MAX_SCRAM_ITERATIONS).contains(&self.scram_iterations) {
            return Err(format!(
                "auth.scram_iterations: must be between {MIN_SCRAM_ITERATIONS} and {MAX_SCRAM_ITERATIONS}"
            ));
        }
        if !(MIN_PASSWORD_LENGTH..=MAX_PASSWORD_LENGTH).contains(&self.password_min_length) {
            return Err(format!(
                "auth.password_min_length: must be between {MIN_PASSWORD_LENGTH} and {MAX_PASSWORD_LENGTH}"
            ));
        }
        if self.password_classes > 4 {
            return Err("auth.password_classes: must be between 0 and 4".into());
        }
        crate::msgauth::validate(self)
    }
}

#[cfg(test)]
mod tests {
    use crate::Config;

    #[test]
    fn defaults() {
        let c = Config::default();
        assert_eq!(
            c.auth.enabled_mechanisms(),
            ["SCRAM-SHA-256", "PLAIN", "LOGIN"]
        );
        assert!(!c.auth.apop);
        assert!(c.auth.plaintext_login());
        assert_eq!(c.auth.scram_iterations, 4096);
        c.auth.validate().unwrap();
    }

    #[test]
    fn plaintext_login_needs_plain_or_login() {
        let only = |m: &[&str]| {
            let mut c = Config::default();
            c.auth.mechanisms = m.iter().map(|s| s.to_string()).collect();
            c.auth.plaintext_login()
        };
        assert!(!only(&["SCRAM-SHA-256", "CRAM-MD5"]));
        assert!(only(&["login"]) && only(&["PLAIN"]));
    }

    #[test]
    fn mechanisms_any_case_known_only() {
        let c = Config::parse("[auth]\nmechanisms = [\"cram-md5\", \"NTLM\"]\n").unwrap();
        assert_eq!(c.auth.enabled_mechanisms(), ["CRAM-MD5", "NTLM"]);
        assert!(c.auth.enabled("Cram-Md5"));
        assert!(!c.auth.enabled("PLAIN"));
        let e = Config::parse("[auth]\nmechanisms = [\"GSSAPI\"]\n").unwrap_err();
        assert!(
            e.contains("auth.mechanisms: unknown mechanism `GSSAPI`"),
            "{e}"
        );
    }

    #[test]
    fn limits_are_crossed() {
        let it = |n: u32| Config::parse(&format!("[auth]\nscram_iterations = {n}\n"));
        assert!(it(4096).is_ok() && it(1_000_000).is_ok());
        assert!(it(4095).unwrap_err().contains("auth.scram_iterations"));
        assert!(it(1_000_001).is_err());
        let len = |n: u32| Config::parse(&format!("[auth]\npassword_min_length = {n}\n"));
        assert!(len(1).is_ok() && len(1024).is_ok());
        assert!(len(0).unwrap_err().contains("auth.password_min_length"));
        assert!(len(1025).is_err());
        let classes = |n: u32| Config::parse(&format!("[auth]\npassword_classes = {n}\n"));
        assert!(classes(0).is_ok() && classes(4).is_ok());
        assert!(classes(5).unwrap_err().contains("auth.password_classes"));
    }
}
