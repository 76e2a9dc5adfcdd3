//! The message-authentication part of `[auth]` (issue 15, SPEC P4): which
//! checks run on inbound mail (SPF, DKIM, DMARC, ARC), how a DMARC failure is
//! acted on, and the authserv-id of our Authentication-Results header.

use serde::{Deserialize, Serialize};

/// What a DMARC failure leads to when the policy is applied (RFC 7489 §6.3 p=).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DmarcAction {
    /// Delivered (the result is still recorded).
    None,
    /// Delivered into the recipient's Junk folder.
    Quarantine,
    /// 550 5.7.1 at the end of DATA.
    Reject,
}

/// What a DMARC temperror (the policy could not be looked up) leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TempErrorAction {
    /// Delivered, with dmarc=temperror recorded.
    Accept,
    /// 451 4.7.5: the sender tries again later.
    Defer,
}

/// Longest `auth.check_timeout` accepted: past it a sender's DATA times out anyway.
pub const MAX_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// Shortest `auth.dmarc_report_interval`: RFC 7489 §7.2 expects about a
/// day; an hour is the least a receiver should have to cope with.
pub const MIN_DMARC_REPORT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);
/// Longest `auth.dmarc_report_interval`: a week of rows is plenty to keep.
pub const MAX_DMARC_REPORT_INTERVAL: std::time::Duration =
    std::time::Duration::from_secs(7 * 86400);

/// Checks the message-authentication keys of `[auth]`.
pub(crate) fn validate(a: &crate::Auth) -> Result<(), String> {
    if a.check_timeout.0.is_zero() || a.check_timeout.0 > MAX_CHECK_TIMEOUT {
        return Err("auth.check_timeout: must be longer than zero and at most 5m".into());
    }
    if a.authserv_id
        .contains(|c: char| c.is_whitespace() || c == ';')
    {
        return Err("auth.authserv_id: a host name without spaces or ';'".into());
    }
    let every = a.dmarc_report_interval.0;
    if !(MIN_DMARC_REPORT_INTERVAL..=MAX_DMARC_REPORT_INTERVAL).contains(&every) {
        return Err("auth.dmarc_report_interval: must be between 1h and 7d".into());
    }
    if !a.dmarc_report_from.is_empty() && !a.dmarc_report_from.contains('@') {
        return Err("auth.dmarc_report_from: an address (local@domain)".into());
    }
    for d in a.dmarc_overrides.keys().chain(a.arc_trusted_sealers.iter()) {
        if d.is_empty() || d.contains(|c: char| c.is_whitespace() || c == '@') {
            return Err(format!("auth: `{d}` is not a domain name"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::Config;

    #[test]
    fn defaults_check_everything_and_enforce() {
        let a = Config::default().auth;
        assert!(a.spf && a.dkim && a.dmarc && a.arc && a.dmarc_enforce);
        assert_eq!(a.dmarc_temperror, super::TempErrorAction::Accept);
        assert_eq!(a.check_timeout.0, std::time::Duration::from_secs(20));
    }

    #[test]
    fn overrides_and_sealers_parse() {
        let c = Config::parse(
            "[auth]\ndmarc_overrides = { \"lists.example\" = \"none\" }\narc_trusted_sealers = [\"lists.example\"]\ndmarc_temperror = \"defer\"\n",
        )
        .unwrap();
        assert_eq!(
            c.auth.dmarc_overrides.get("lists.example"),
            Some(&super::DmarcAction::None)
        );
        assert!(Config::parse("[auth]\ndmarc_overrides = { \"a.example\" = \"drop\" }\n").is_err());
        assert!(Config::parse("[auth]\narc_trusted_sealers = [\"a b\"]\n").is_err());
    }

    #[test]
    fn dmarc_report_interval_limits_are_crossed() {
        assert!(!Config::default().auth.dmarc_reports, "off by default");
        for ok in ["1h", "7d", "24h"] {
            let c = format!("[auth]\ndmarc_report_interval = \"{ok}\"\n");
            assert!(Config::parse(&c).is_ok(), "{ok}");
        }
        for bad in ["59m", "169h"] {
            let c = format!("[auth]\ndmarc_report_interval = \"{bad}\"\n");
            let e = Config::parse(&c).unwrap_err();
            assert!(e.contains("auth.dmarc_report_interval"), "{bad}: {e}");
        }
        assert!(Config::parse("[auth]\ndmarc_report_from = \"nobody\"\n").is_err());
    }

    #[test]
    fn check_timeout_limit_is_crossed() {
        assert!(Config::parse("[auth]\ncheck_timeout = \"5m\"\n").is_ok());
        let e = Config::parse("[auth]\ncheck_timeout = \"301s\"\n").unwrap_err();
        assert!(e.contains("auth.check_timeout"), "{e}");
        assert!(Config::parse("[auth]\ncheck_timeout = \"0s\"\n").is_err());
    }
}
